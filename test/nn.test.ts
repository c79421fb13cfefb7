// Modules: PyTorch state_dict names and order, parameter counts, initialisation, strict
// loading, train/eval behaviour, the seed's BatchNorm eps quirk, forward hooks and the
// declared BatchNorm+ReLU fusion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backend } from '../src/backend/backend.js';
import { backward, noGrad } from '../src/autograd/engine.js';
import { crossEntropy } from '../src/autograd/ops.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { createModel, GoogLeNet, Inception, modelNames } from '../src/models/googlenet.js';
import { BatchNorm2d, Conv2d, Dropout2d, Linear, ReLU, Sequential } from '../src/nn/layers.js';
import type { Module } from '../src/nn/module.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { withSpies } from './backend-spies.js';
import { manualSeed } from '../src/util/generator.js';
import { Rng } from '../src/util/rng.js';
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

test('forward hooks run after each call, in order, with the module, its input and output, until removed', () => {
  const relu = new ReLU();
  const seq = new Sequential(relu);
  const x = Tensor.fromArray([-1, 2], [1, 1, 1, 2]).keep();
  const seen: string[] = [];
  const removeA = relu.registerForwardHook((m, input, output) => {
    assert.equal(m, relu);
    assert.equal(input, x);
    seen.push(`a:${[...output.toArray()]}`);
  });
  const removeB = relu.registerForwardHook(() => {
    seen.push('b');
    removeB(); // a hook may remove itself while the hooks run
  });
  seq.registerForwardHook(() => seen.push('seq'));
  tidy(() => seq.call(x)); // containers call their children through call(), so the children's hooks fire first
  tidy(() => relu.forward(x)); // forward alone runs no hooks
  removeA();
  removeA(); // a second removal does nothing
  tidy(() => seq.call(x));
  assert.deepEqual(seen, ['a:0,2', 'b', 'seq', 'seq']);
  x.dispose();
});

/**
 * Counts the BatchNorm kernels run with the ReLU fused or without, the separate ReLU kernels, and the
 * convolutions with the BatchNorm and ReLU folded in (eval without gradients), while fn runs.
 */
function countKernels(fn: () => void): { bnRelu: number; bn: number; relu: number; folded: number } {
  const n = { bnRelu: 0, bn: 0, relu: 0, folded: 0 };
  withSpies((real): Partial<Backend> => ({
    batchNormForwardTraining: (x, g, b, attrs) => (attrs.fuseRelu ? n.bnRelu++ : n.bn++, real.batchNormForwardTraining(x, g, b, attrs)),
    batchNormForwardInference: (x, g, b, m, v, attrs) => (attrs.fuseRelu ? n.bnRelu++ : n.bn++, real.batchNormForwardInference(x, g, b, m, v, attrs)),
    reluForward: (x) => (n.relu++, real.reluForward(x)),
    convBnForwardInference: (...args) => (args[7].relu ? n.folded++ : n.bn++, real.convBnForwardInference(...args)),
  }), fn);
  return n;
}

const countBatchNorms = (m: Module) => m.namedModules().filter(([, c]) => c instanceof BatchNorm2d).length;

test('every network runs each BatchNorm2d with its ReLU as one fused kernel in training, and folds both into the convolution in eval', () => {
  const x = Tensor.fromArray(Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 3, 8, 8]).keep();
  for (const name of modelNames()) {
    const m = createModel(name, 10);
    // declared where the layers are built: every BatchNorm2d is followed by a ReLU in its Sequential
    for (const [path, seq] of m.namedModules())
      if (seq instanceof Sequential)
        seq.layers.forEach((l, i) => {
          if (l instanceof BatchNorm2d) assert.ok(l.fuseRelu && seq.layers[i + 1] instanceof ReLU, `${path}.${i}`);
        });
    const bns = countBatchNorms(m);
    assert.deepEqual(countKernels(() => tidy(() => m.call(x))), { bnRelu: bns, bn: 0, relu: 0, folded: 0 }, `${name} training`);
    m.eval();
    assert.deepEqual(countKernels(() => tidy(() => noGrad(() => m.call(x)))), { bnRelu: 0, bn: 0, relu: 0, folded: bns }, `${name} eval`);
    m.dispose();
  }
  x.dispose();
});

test('fused and unfused networks compute the same logits and gradients', () => {
  const a = createModel('googlenet-short4', 10, { rng: new Rng(5) });
  const b = createModel('googlenet-short4', 10, { rng: new Rng(5), fuse: false });
  const x = Tensor.fromArray(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.01)), [2, 3, 32, 32]).keep();
  const step = (m: GoogLeNet) => tidy(() => {
    manualSeed(1); // the same dropout mask
    const logits = m.call(x);
    backward(crossEntropy(logits, Int32Array.of(3, 7)));
    return logits.toArray();
  });
  const bns = countBatchNorms(b);
  let la: Float32Array | undefined, lb: Float32Array | undefined;
  countKernels(() => (la = step(a)));
  assert.deepEqual(countKernels(() => (lb = step(b))), { bnRelu: 0, bn: bns, relu: bns, folded: 0 }, 'unfused: each layer on its own');
  const close = (p: Float32Array, q: Float32Array, what: string) =>
    p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) <= 1e-5 + 1e-4 * Math.abs(q[i]), `${what}[${i}]: ${v} vs ${q[i]}`));
  close(la!, lb!, 'logits');
  const gb = new Map(b.namedParameters());
  for (const [n, p] of a.namedParameters()) close(p.grad!.toArray(), gb.get(n)!.grad!.toArray(), `${n}.grad`);
  a.eval();
  b.eval();
  const [ea, eb] = tidy(() => noGrad(() => [a.call(x).toArray(), b.call(x).toArray()]));
  close(ea, eb, 'eval logits');
  x.dispose();
  a.dispose();
  b.dispose();
});

test('a fused BatchNorm2d alone returns relu(batch_norm(x)); a ReLU passes only such outputs through', () => {
  const x = Tensor.fromArray([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]).keep();
  const plain = new BatchNorm2d(2);
  const fused = new BatchNorm2d(2, 1e-5, 0.1, { fuseRelu: true });
  const relu = new ReLU();
  tidy(() => {
    const y = fused.forward(x);
    assert.deepEqual(y.toArray(), plain.forward(x).toArray().map((v) => Math.max(v, 0)));
    assert.equal(relu.forward(y), y); // already rectified: no second kernel
    const z = plain.forward(x);
    const r = relu.forward(z); // anything else is rectified here
    assert.notEqual(r, z);
    assert.deepEqual(r.toArray(), z.toArray().map((v) => Math.max(v, 0)));
  });
  x.dispose();
  plain.dispose();
  fused.dispose();
});
