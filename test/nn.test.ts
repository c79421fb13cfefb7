// Modules: PyTorch state_dict names and order, parameter counts, initialisation, strict
// loading, train/eval behaviour, and the seed's BatchNorm eps quirk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noGrad } from '../src/autograd/engine.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { createModel, GoogLeNet, Inception } from '../src/models/googlenet.js';
import { BatchNorm2d, Conv2d, Dropout2d, Linear } from '../src/nn/layers.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { manualSeed } from '../src/util/generator.js';
import { sharedOpts, sharedPath } from './helpers.js';

test('GoogLeNet state_dict names, order and shapes equal PyTorch\'s', sharedOpts, () => {
  const model = createModel('googlenet', 100);
  const ours = model.stateDict();
  const torch = readSafetensors(sharedPath('fixtures', 'googlenet-c100-init.safetensors'));
  assert.deepEqual([...ours.keys()], [...torch.keys()]);
  for (const [k, v] of torch) {
    assert.deepEqual(ours.get(k)!.shape, v.shape, k);
    assert.equal(ours.get(k)!.dtype, v.dtype, k);
  }
  model.dispose();
});

test('default initialisation follows PyTorch (kaiming-uniform a=√5, BN 1/0, running var 1)', () => {
  manualSeed(3);
  const conv = new Conv2d(16, 32, 3);
  const bound = 1 / Math.sqrt(16 * 9);
  const w = conv.weight.toArray();
  const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbs <= bound && maxAbs > 0.99 * bound, `conv weight bound ${maxAbs} vs ${bound}`);
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.03 * bound, `conv weight std ${std}`);
  assert.ok(conv.bias!.toArray().every((v) => Math.abs(v) <= bound));
  const bn = new BatchNorm2d(4);
  assert.deepEqual([...bn.weight.toArray()], [1, 1, 1, 1]);
  assert.deepEqual([...bn.bias.toArray()], [0, 0, 0, 0]);
  assert.deepEqual([...bn.runningVar.toArray()], [1, 1, 1, 1]);
  const lin = new Linear(50, 3);
  assert.ok(lin.weight.toArray().every((v) => Math.abs(v) <= 1 / Math.sqrt(50)));
  // the same seed gives the same weights
  manualSeed(3);
  assert.deepEqual(new Conv2d(16, 32, 3).weight.toArray(), w);
});

test('the seed\'s BatchNorm2d(n5x5, n5x5) quirk: eps = n5x5 unless fixed', () => {
  const quirk = new Inception(192, [64, 96, 128, 16, 32, 32]);
  const fixed = new Inception(192, [64, 96, 128, 16, 32, 32], { fixBatchNormEps: true });
  const eps = (m: Inception) => m.b3.layers.filter((l) => l instanceof BatchNorm2d).map((l) => (l as BatchNorm2d).eps);
  assert.deepEqual(eps(quirk), [1e-5, 32, 1e-5]);
  assert.deepEqual(eps(fixed), [1e-5, 1e-5, 1e-5]);
  quirk.dispose();
  fixed.dispose();
});

test('loadStateDict is strict and names what does not fit, changing nothing', () => {
  const model = createModel('googlenet-short4', 10);
  const sd = model.stateDict();
  const before = model.linear.weight.toArray();
  const missing = new Map(sd);
  missing.delete('a4.b1.0.weight');
  assert.throws(() => model.loadStateDict(missing, 'w.safetensors'), /w.safetensors does not fit GoogLeNet: missing a4.b1.0.weight/);
  const extra = new Map(sd).set('foo.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  assert.throws(() => model.loadStateDict(extra), /unexpected foo.weight/);
  const bad = new Map(sd).set('linear.weight', { dtype: 'F32', shape: [100, 1024], data: new Float32Array(102400) });
  bad.set('linear.bias', { dtype: 'F32', shape: [10], data: new Float32Array(10).fill(7) });
  assert.throws(() => model.loadStateDict(bad), /linear.weight has shape \[100, 1024\], expected \[10, 1024\]/);
  assert.deepEqual(model.linear.weight.toArray(), before);
  assert.notEqual(model.linear.bias.toArray()[0], 7);
  model.dispose();
});

test('state dict round trip through safetensors (PyTorch names, int64 counters)', () => {
  const a = createModel('googlenet-short4', 10);
  const x = Tensor.fromArray(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i)), [2, 3, 32, 32]).keep();
  tidy(() => a.forward(x)); // moves running stats and num_batches_tracked
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gn-sd-')), 'w.safetensors');
  writeSafetensors(file, a.stateDict());
  const b = createModel('googlenet-short4', 10);
  b.loadStateDict(readSafetensors(file), file);
  const sa = a.stateDict(), sb = b.stateDict();
  for (const [k, v] of sa) assert.deepEqual(sb.get(k)!.data, v.data, k);
  assert.deepEqual(sb.get('prelayer.1.num_batches_tracked')!.data, BigInt64Array.of(1n));
  a.eval();
  b.eval();
  const [la, lb] = tidy(() => noGrad(() => [a.forward(x).toArray(), b.forward(x).toArray()]));
  assert.deepEqual(lb, la);
  x.dispose();
  a.dispose();
  b.dispose();
});

test('train/eval: BatchNorm uses batch statistics in training and running ones in eval', () => {
  const bn = new BatchNorm2d(2);
  const x = Tensor.fromArray([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]).keep();
  const train = tidy(() => bn.forward(x).toArray());
  // batch-normalised: zero mean per channel
  assert.ok(Math.abs(train[0] + train[1] + train[2] + train[3]) < 1e-5);
  // running stats: mean 0.1·2.5, var 0.9 + 0.1·(unbiased 1.6667)
  const rm = bn.runningMean.toArray(), rv = bn.runningVar.toArray();
  assert.ok(Math.abs(rm[0] - 0.25) < 1e-6 && Math.abs(rv[0] - (0.9 + 0.1 * (5 / 3))) < 1e-6);
  bn.eval();
  const evalOut = tidy(() => bn.forward(x).toArray());
  assert.ok(Math.abs(evalOut[0] - (1 - 0.25) / Math.sqrt(rv[0] + 1e-5)) < 1e-5);
  assert.equal(bn.numBatchesTracked.value, 1n); // eval does not count
  x.dispose();
  bn.dispose();
});

test('Dropout2d zeroes whole channels and scales the rest by 1/(1-p); identity in eval', () => {
  manualSeed(11);
  const d = new Dropout2d(0.4);
  const x = Tensor.full([8, 16, 3, 3], 1).keep();
  const y = tidy(() => d.forward(x).toArray());
  let dropped = 0;
  for (let c = 0; c < 8 * 16; c++) {
    const vals = new Set(y.slice(c * 9, c * 9 + 9));
    assert.equal(vals.size, 1, 'a channel is either kept or dropped whole');
    const v = [...vals][0];
    assert.ok(v === 0 || Math.abs(v - 1 / 0.6) < 1e-6);
    if (v === 0) dropped++;
  }
  assert.ok(dropped > 25 && dropped < 80, `dropped ${dropped} of 128 channels`);
  d.eval();
  assert.deepEqual(tidy(() => d.forward(x).toArray()), x.toArray());
  x.dispose();
});

test('GoogLeNet rejects bad construction and input with clear messages', () => {
  assert.throws(() => createModel('googlenet-tiny'), /unknown model 'googlenet-tiny'; choose one of: googlenet, googlenet-naive/);
  assert.throws(() => createModel('googlenet', 0), /number of classes must be a positive integer/);
  assert.throws(() => new GoogLeNet({ stages: [['a3'], ['z9'], []] }), /unknown Inception setting 'z9'/);
  const m = createModel('googlenet-short4', 10);
  const bad = Tensor.zeros([2, 1, 32, 32]).keep();
  assert.throws(() => tidy(() => m.forward(bad)), /expected images \[N, 3, H, W\], got \[2, 1, 32, 32\]/);
  bad.dispose();
  m.dispose();
});
