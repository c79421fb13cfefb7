// torchvision's CIFAR folders (Python 2 pickles): written from the real binary data in the
// opcodes Python 2's cPickle emits under protocol 2 (./cifar-pickle-writer.ts), cross-checked by Python's pickle where numpy is
// present, then read by readCifar/loadData/train and compared with the binary folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATASETS, readCifar, type CifarSplit, type DatasetName, type Split } from '../src/data/cifar.js';
import { loadData } from '../src/data/load.js';
import { parseCifarBatch } from '../src/io/cifar-pickle.js';
import { TORCH_PYTHON, sharedOpts, sharedPath } from './helpers.js';
import { cli } from './processes.js';
import { batchPickle, P2Writer } from './cifar-pickle-writer.js';

// --- torchvision folders from the binary data ---------------------------------------------------

const names = (file: string) => fs.readFileSync(sharedPath('data', file), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);

const C10_TRAIN = 5 * 200, C10_TEST = 200, C100_TRAIN = 1000, C100_TEST = 200;

/** `<root>/cifar-10-batches-py/`: data_batch_1..5 (200 records each, records 0..999 of the binary data_batch_1), test_batch (200), batches.meta. */
function writeCifar10Py(root: string): string {
  const dir = path.join(root, 'cifar-10-batches-py');
  fs.mkdirSync(dir, { recursive: true });
  const train = readCifar(sharedPath('data'), 'cifar10', 'train', { limit: C10_TRAIN });
  const test = readCifar(sharedPath('data'), 'cifar10', 'test', { limit: C10_TEST });
  for (let b = 0; b < 5; b++) fs.writeFileSync(path.join(dir, `data_batch_${b + 1}`), batchPickle(train, null, b * 200, 200, `training batch ${b + 1} of 5`));
  fs.writeFileSync(path.join(dir, 'test_batch'), batchPickle(test, null, 0, C10_TEST, 'testing batch 1 of 1'));
  fs.writeFileSync(path.join(dir, 'batches.meta'), P2Writer.dump({ dict: [['num_cases_per_batch', 10000], ['label_names', names('cifar-10-batches-bin/batches.meta.txt')], ['num_vis', 3072]] }));
  return dir;
}

function writeCifar100Py(root: string): string {
  const dir = path.join(root, 'cifar-100-python');
  fs.mkdirSync(dir, { recursive: true });
  for (const [split, n] of [['train', C100_TRAIN], ['test', C100_TEST]] as const) {
    const coarse = readCifar(sharedPath('data'), 'cifar100', split, { limit: n, coarse: true });
    const fine = readCifar(sharedPath('data'), 'cifar100', split, { limit: n });
    fs.writeFileSync(path.join(dir, split), batchPickle(coarse, fine, 0, n, `${split}ing batch 1 of 1`));
  }
  fs.writeFileSync(path.join(dir, 'meta'), P2Writer.dump({ dict: [['fine_label_names', names('cifar-100-binary/fine_label_names.txt')], ['coarse_label_names', names('cifar-100-binary/coarse_label_names.txt')]] }));
  return dir;
}

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `cifar-py-${tag}-`));

function assertSame(a: CifarSplit, b: CifarSplit) {
  assert.equal(a.count, b.count);
  assert.equal(a.classes, b.classes);
  assert.deepEqual(a.classNames, b.classNames);
  assert.ok(Buffer.from(a.labels).equals(Buffer.from(b.labels)), 'labels differ');
  assert.ok(Buffer.from(a.images).equals(Buffer.from(b.images)), 'images differ');
}

let numpy: boolean | null = null;
const hasNumpy = () => (numpy ??= spawnSync(TORCH_PYTHON, ['-c', 'import numpy'], { stdio: 'pipe' }).status === 0);

test('the writer emits what Python reads: pickle.load(encoding=latin1) gives the shape, data and labels written', sharedOpts, (t) => {
  if (!hasNumpy()) {
    if (process.env.CI === 'true') throw new Error(`${TORCH_PYTHON} cannot import numpy, which is required under CI (CI=true)`);
    return t.skip(`${TORCH_PYTHON} cannot import numpy; skipping the Python cross-check`);
  }
  const root = tmp('py');
  try {
    const d10 = writeCifar10Py(root);
    const d100 = writeCifar100Py(root);
    const script = `
import pickle, sys, hashlib, json
out = []
for f in sys.argv[1:]:
    d = pickle.load(open(f, 'rb'), encoding='latin1')
    a = d['data']
    labs = d.get('labels', d.get('fine_labels'))
    out.append([list(a.shape), str(a.dtype), hashlib.md5(a.tobytes()).hexdigest(), hashlib.md5(bytes(labs)).hexdigest(), hashlib.md5(bytes(d.get('coarse_labels', []))).hexdigest()])
print(json.dumps(out))`;
    const files = [path.join(d10, 'data_batch_3'), path.join(d100, 'train')];
    const r = spawnSync(TORCH_PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as [number[], string, string, string, string][];
    const md5 = (b: Uint8Array) => spawnSync('md5sum', { input: b }).stdout.toString().split(' ')[0];
    const b3 = parseCifarBatch(fs.readFileSync(files[0]), files[0], ['labels']);
    assert.deepEqual(got[0], [[200, 3072], 'uint8', md5(b3.data), md5(Uint8Array.from(b3.labels.labels)), md5(new Uint8Array())]);
    const c = parseCifarBatch(fs.readFileSync(files[1]), files[1], ['fine_labels', 'coarse_labels']);
    assert.deepEqual(got[1], [[C100_TRAIN, 3072], 'uint8', md5(c.data), md5(Uint8Array.from(c.labels.fine_labels)), md5(Uint8Array.from(c.labels.coarse_labels))]);
    // and what Python 3 itself writes under protocol 2 (bytes via _codecs.encode) reads too
    const p3 = path.join(root, 'p3.pkl');
    const w = spawnSync(TORCH_PYTHON, ['-c', `import pickle, numpy as np, sys; a = (np.arange(3 * 3072) % 251).astype(np.uint8).reshape(3, 3072); open(sys.argv[1], 'wb').write(pickle.dumps({'data': a, 'labels': [3, 7, 9]}, protocol=2))`, p3], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    const b = parseCifarBatch(fs.readFileSync(p3), p3, ['labels']);
    assert.deepEqual(b.labels.labels, [3, 7, 9]);
    assert.ok(Buffer.from(b.data).equals(Buffer.from(Uint8Array.from({ length: 3 * 3072 }, (_, i) => i % 251))));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('readCifar on torchvision folders gives the binary folders\' images, labels and class names (CIFAR-10 data_batch_1..5 in order, CIFAR-100 fine and coarse)', sharedOpts, () => {
  const root = tmp('read');
  try {
    writeCifar10Py(root);
    writeCifar100Py(root);
    const cases: [DatasetName, Split, number, boolean][] = [
      ['cifar10', 'train', C10_TRAIN, false], ['cifar10', 'test', C10_TEST, false],
      ['cifar100', 'train', C100_TRAIN, false], ['cifar100', 'train', C100_TRAIN, true], ['cifar100', 'test', C100_TEST, false],
    ];
    for (const [dataset, split, n, coarse] of cases) {
      const py = readCifar(root, dataset, split, { coarse });
      assertSame(py, readCifar(sharedPath('data'), dataset, split, { limit: n, coarse }));
      assert.ok(py.files.every((f) => f.file.includes(DATASETS[dataset].python.folder)));
    }
    const train = readCifar(root, 'cifar10', 'train');
    assert.deepEqual(train.files.map((f) => [path.basename(f.file), f.records]), [1, 2, 3, 4, 5].map((i) => [`data_batch_${i}`, 200]));
    const limited = readCifar(root, 'cifar10', 'train', { limit: 450 });
    assertSame(limited, readCifar(sharedPath('data'), 'cifar10', 'train', { limit: 450 }));
    assert.equal(limited.files.length, 3);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('memo gets (BINGET) of a list and bytes as Python 3 writes them (_codecs.encode) read too', () => {
  // {'data': array, 'labels': L, 'fine': BINGET L}, data via _codecs.encode(u'...', 'latin1')
  const raw = new Uint8Array(3072).map((_, i) => (i * 7) & 0xff);
  const s = Buffer.from(String.fromCharCode(...raw), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(s.length);
  const parts = [
    Buffer.from([0x80, 2, 0x7d, 0x28]), Buffer.from('U\x06labels', 'latin1'), Buffer.from([0x5d, 0x71, 9, 0x4b, 4, 0x61]),
    Buffer.from('U\x04fine', 'latin1'), Buffer.from([0x68, 9]),
    Buffer.from('U\x04data', 'latin1'), Buffer.from('cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01K\x01M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R\x89c_codecs\nencode\nX', 'latin1'),
    len, s, Buffer.from('X\x06\x00\x00\x00latin1\x86Rtbu.', 'latin1'),
  ];
  const b = parseCifarBatch(Buffer.concat(parts), 'mem.pkl', ['labels', 'fine']);
  assert.equal(b.count, 1);
  assert.deepEqual(b.labels, { labels: [4], fine: [4] });
  assert.ok(Buffer.from(b.data).equals(Buffer.from(raw)));
});

test('a truncated pickle, a foreign global (os.system), a wrong dtype and labels out of range are named in one line', sharedOpts, () => {
  const root = tmp('bad');
  try {
    const dir = writeCifar10Py(root);
    const f3 = path.join(dir, 'data_batch_3');
    const good = fs.readFileSync(f3);
    const oneLine = (re: RegExp) => (e: unknown) => {
      const m = (e as Error).message;
      assert.ok(!m.includes('\n'), m);
      assert.ok(m.includes(f3), m);
      assert.match(m, re);
      return true;
    };
    fs.writeFileSync(f3, good.subarray(0, good.length >> 1));
    assert.throws(() => readCifar(root, 'cifar10', 'train'), oneLine(/truncated/));
    fs.writeFileSync(f3, Buffer.concat([Buffer.from([0x80, 2]), Buffer.from("cos\nsystem\nU\x04echo\x85R.", 'latin1')]));
    assert.throws(() => readCifar(root, 'cifar10', 'train'), oneLine(/refuses to load 'os\.system'/));
    fs.writeFileSync(f3, Buffer.from(good.toString('latin1').replace('U\x02u1', 'U\x02i1'), 'latin1'));
    assert.throws(() => readCifar(root, 'cifar10', 'train'), oneLine(/dtype 'i1', expected uint8/));
    // label 10 in a 10-class set: replace the first label list's item (BININT1) — rewrite with a bad label instead
    const split = readCifar(sharedPath('data'), 'cifar10', 'train', { limit: 200 });
    split.labels[5] = 10;
    fs.writeFileSync(f3, batchPickle(split, null, 0, 200, 'x'));
    assert.throws(() => readCifar(root, 'cifar10', 'train'), oneLine(/record 5 has label 10, out of range for 10 classes/));
    fs.writeFileSync(f3, good);
    assert.equal(readCifar(root, 'cifar10', 'train').count, C10_TRAIN);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('with both folders present the binary one is read and a line says the python one is ignored; with only the python one nothing is downloaded', sharedOpts, async () => {
  const root = tmp('both');
  try {
    writeCifar10Py(root);
    const lines: string[] = [];
    const onlyPy = await loadData({ dataset: 'cifar10', dataDir: root, limitTrain: 300, limitTest: 50, mirror: '/nonexistent-mirror', info: (l) => lines.push(l) });
    assert.equal(lines.length, 0);
    assert.equal(onlyPy.train!.count, 300);
    const bin = path.join(root, 'cifar-10-batches-bin');
    fs.mkdirSync(bin);
    const src = sharedPath('data', 'cifar-10-batches-bin');
    for (const f of ['batches.meta.txt', 'test_batch.bin']) fs.copyFileSync(path.join(src, f), path.join(bin, f));
    // a binary training set unlike the python one (its records 1000..1299), so which was read shows
    const fd = fs.openSync(path.join(src, 'data_batch_1.bin'), 'r');
    const buf = Buffer.alloc(300 * 3073);
    fs.readSync(fd, buf, 0, buf.length, 1000 * 3073);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(bin, 'data_batch_1.bin'), buf);
    const both = await loadData({ dataset: 'cifar10', dataDir: root, limitTrain: null, limitTest: 50, info: (l) => lines.push(l) });
    assert.equal(lines.length, 1);
    assert.ok(lines[0].includes(bin) && lines[0].includes(path.join(root, 'cifar-10-batches-py')) && /ignored/.test(lines[0]), lines[0]);
    assertSame(both.train!, readCifar(root, 'cifar10', 'train'));
    assert.equal(both.train!.count, 300);
    assert.ok(both.train!.files[0].file.endsWith('data_batch_1.bin'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('train reads a data dir holding only cifar-10-batches-py end to end', sharedOpts, () => {
  const root = tmp('train');
  try {
    writeCifar10Py(root);
    const out = path.join(root, 'out');
    const r = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', root,
      '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--batch-size', '32', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Test set:/);
    assert.ok(!fs.existsSync(path.join(root, 'cifar-10-batches-bin')), 'nothing downloaded');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
