// CIFAR readers, torchvision-style transforms and the loader, on ../shared/data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCifar } from '../src/data/cifar.js';
import { toFloatBatch } from './random.js';
import { DataLoader, type Batch } from '../src/data/loader.js';
import { drawAugmentation, NORMALIZATIONS, transformImage } from '../src/data/transforms.js';
import { Rng } from '../src/util/rng.js';
import { sharedOpts, sharedPath } from './helpers.js';

test('CIFAR-10: counts, labels, class names and known pixels', sharedOpts, () => {
  const train = readCifar(sharedPath('data'), 'cifar10', 'train');
  assert.equal(train.count, 10000);
  assert.deepEqual(train.files.map((f) => [path.basename(f.file), f.records]), [['data_batch_1.bin', 10000]]);
  assert.equal(train.classNames[train.labels[0]], 'frog');
  assert.equal(train.classNames[train.labels[1]], 'truck');
  assert.deepEqual([...train.images.subarray(0, 5)], [59, 43, 50, 68, 98]); // record 0, red plane, first row
  assert.deepEqual([...train.images.subarray(3072, 3077)], [154, 126, 105, 102, 125]);
  const test_ = readCifar(sharedPath('data'), 'cifar10', 'test');
  assert.equal(test_.count, 10000);
  const perClass = new Array(10).fill(0);
  test_.labels.forEach((l) => perClass[l]++);
  assert.deepEqual(perClass, new Array(10).fill(1000));
});

test('CIFAR-100: fine labels by default, coarse on request, class names', sharedOpts, () => {
  const t = readCifar(sharedPath('data'), 'cifar100', 'test');
  assert.equal(t.count, 10000);
  assert.equal(t.classes, 100);
  assert.equal(t.classNames[t.labels[0]], 'mountain');
  assert.deepEqual([...t.images.subarray(0, 5)], [199, 196, 195, 195, 196]);
  const coarse = readCifar(sharedPath('data'), 'cifar100', 'test', { coarse: true });
  assert.equal(coarse.classes, 20);
  assert.equal(coarse.classNames[coarse.labels[0]], 'large_natural_outdoor_scenes');
  const train = readCifar(sharedPath('data'), 'cifar100', 'train', { limit: 3 });
  assert.equal(train.count, 3);
  assert.equal(train.classNames[train.labels[0]], 'cattle');
  assert.throws(() => readCifar(sharedPath('data'), 'cifar10', 'test', { coarse: true }), /cifar10 has no coarse labels/);
});

test('reader errors name the file, the problem and the fix', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-data-'));
  assert.throws(() => readCifar(root, 'cifar10', 'train'), /cifar-10-batches-bin: no such folder; run `googlenet download --dataset cifar10/);
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir);
  assert.throws(() => readCifar(root, 'cifar10', 'test'), /none of test_batch.bin found/);
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.alloc(3073 * 2 + 100));
  assert.throws(() => readCifar(root, 'cifar10', 'test'), /test_batch.bin: 6246 bytes is not a whole number of 3073-byte records; the file is truncated or corrupt, delete it and download again/);
  const bad = Buffer.alloc(3073 * 2);
  bad[3073] = 10;
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), bad);
  assert.throws(() => readCifar(root, 'cifar10', 'test'), /test_batch.bin: record 1 has label 10, out of range for 10 classes/);
});

test('transforms follow torchvision: crop with zero padding, then flip, then normalise', () => {
  const src = Uint8Array.from({ length: 3072 }, (_, i) => i % 251);
  const norm = NORMALIZATIONS.half;
  const v = (c: number, y: number, x: number) => (src[c * 1024 + y * 32 + x] / 255 - 0.5) / 0.5;
  const out = new Float32Array(3072);
  // no augmentation: ToTensor + Normalize
  transformImage(src, 0, out, 0, false, 0, 0, 0, norm);
  assert.equal(out[1024 + 33], Math.fround(v(1, 1, 1)));
  // flip only: out(y, x) = src(y, 31 - x)
  transformImage(src, 0, out, 0, true, 0, 0, 0, norm);
  assert.equal(out[2 * 1024 + 5 * 32 + 0], Math.fround(v(2, 5, 31)));
  // RandomCrop(32, padding=4) at (i, j) = (0, 8): out(y, x) = padded(y, x + 8) = src(y − 4, x + 4), 0 outside
  transformImage(src, 0, out, 0, false, 0, 8, 4, norm);
  assert.equal(out[3 * 32 + 10], Math.fround(-1)); // y − 4 < 0: padding (black) normalised
  assert.equal(out[4 * 32 + 10], Math.fround(v(0, 0, 14)));
  assert.equal(out[4 * 32 + 28], Math.fround(-1)); // x + 4 > 31
  // crop then flip: out(y, x) = cropped(y, 31 − x)
  transformImage(src, 0, out, 0, true, 8, 0, 4, norm);
  // (i, j) = (8, 0): out(y, x) = src(y + 4, 27 − x)
  assert.equal(out[0 * 32 + 27], Math.fround(v(0, 4, 0)));
  assert.equal(out[0 * 32 + 31], Math.fround(-1));
  // the random choices: flip with probability p, crop corners uniform over 0..2·padding
  const d = drawAugmentation(20000, { flip: 0.5, cropPadding: 4 }, new Rng(3));
  const flips = d.flip.reduce((s, f) => s + f, 0) / 20000;
  assert.ok(Math.abs(flips - 0.5) < 0.02, `flip rate ${flips}`);
  assert.equal(Math.max(...d.top), 8);
  assert.equal(Math.min(...d.left), 0);
});

async function collect(loader: DataLoader, epoch: number, from = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, from)) out.push(b);
  return out;
}

test('loader: the same seed gives the same batches with any number of workers, and resumes mid-epoch', sharedOpts, async () => {
  const data = readCifar(sharedPath('data'), 'cifar10', 'train', { limit: 1000 });
  const opts = { batchSize: 64, shuffle: true, seed: 7, augment: { flip: 0.5, cropPadding: 4 } };
  const loaders = [0, 1, 2].map((workers) => new DataLoader(data, { ...opts, workers }));
  const runs = await Promise.all(loaders.map((l) => collect(l, 1)));
  assert.equal(runs[0].length, 16);
  assert.equal(runs[0].at(-1)!.size, 1000 - 15 * 64);
  for (const r of runs.slice(1))
    r.forEach((b, i) => {
      assert.deepEqual(b.targets, runs[0][i].targets);
      assert.deepEqual(b.input, runs[0][i].input);
    });
  const resumed = await collect(loaders[1], 1, 10);
  assert.deepEqual(resumed.map((b) => b.index), [10, 11, 12, 13, 14, 15]);
  resumed.forEach((b, i) => assert.deepEqual(b.input, runs[0][10 + i].input));
  // another epoch or another seed: another order; an epoch is a permutation of the records
  const other = await collect(loaders[0], 2);
  assert.notDeepEqual(other[0].targets, runs[0][0].targets);
  const seen = new Set<number>();
  for (const i of loaders[0].order(1)) seen.add(i);
  assert.equal(seen.size, 1000);
  const otherSeed = new DataLoader(data, { ...opts, seed: 8, workers: 0 });
  assert.notDeepEqual((await collect(otherSeed, 1))[0].targets, runs[0][0].targets);
  await Promise.all(loaders.map((l) => l.close()));
});

test('loader: unshuffled, unaugmented batches are the records in order; drop_last', sharedOpts, async () => {
  const data = readCifar(sharedPath('data'), 'cifar100', 'test', { limit: 100 });
  const loader = new DataLoader(data, { batchSize: 16, dropLast: true, workers: 1 });
  assert.equal(loader.length, 6);
  const batches = await collect(loader, 0);
  assert.equal(batches.length, 6);
  assert.deepEqual(batches[0].input, toFloatBatch(data, Array.from({ length: 16 }, (_, i) => i)));
  assert.deepEqual([...batches[1].targets], [...data.labels.subarray(16, 32)]);
  await loader.close();
  assert.throws(() => new DataLoader(data, { batchSize: 101, dropLast: true }), /100 images make no batch of 101 with drop_last/);
  assert.throws(() => new DataLoader(data, { batchSize: 0 }), /batch size must be a positive integer/);
});
