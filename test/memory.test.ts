// Native memory is freed deterministically: scopes free activations and gradients,
// dispose() frees at once, and a long training loop does not grow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward, noGrad } from '../src/autograd/engine.js';
import { crossEntropy } from '../src/autograd/ops.js';
import { Inception } from '../src/models/googlenet.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/nn/layers.js';
import { SGD } from '../src/optim/optimizer.js';
import { backend, memory, Tensor, tidy } from '../src/tensor/tensor.js';
import { spawnSync } from 'node:child_process';
import { manualSeed } from '../src/util/generator.js';
import { withSpies } from './backend-spies.js';

test('tidy frees everything created inside except the result; dispose frees at once', () => {
  const before = backend().stats().liveBytes;
  const kept = tidy(() => {
    const a = Tensor.full([64, 64], 1);
    Tensor.full([128, 128], 2);
    return a;
  });
  assert.equal(backend().stats().liveBytes - before, 64 * 64 * 4);
  kept.dispose();
  assert.equal(backend().stats().liveBytes, before);
  assert.throws(() => kept.toArray(), /used after dispose/);
  kept.dispose(); // disposing twice is harmless
});

test('1,000 training steps do not grow native or process memory', () => {
  manualSeed(5);
  const model = new Sequential(
    new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(3, 2, 1),
    new Inception(8, [4, 4, 8, 2, 4, 4]), new AdaptiveAvgPool2d(1), new Dropout2d(0.4), new Flatten(), new Linear(20, 5),
  );
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = Tensor.fromArray(Float32Array.from({ length: 4 * 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37)), [4, 3, 8, 8]).keep();
  const targets = Int32Array.of(0, 1, 2, 3);
  const step = () => {
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = crossEntropy(model.forward(x), targets);
      backward(l);
      return l.item();
    });
    opt.step();
    return loss;
  };
  const first = step();
  for (let i = 0; i < 9; i++) step();
  const early = backend().stats();
  const rssEarly = process.memoryUsage().rss;
  let last = first;
  for (let i = 0; i < 990; i++) last = step();
  const late = backend().stats();
  assert.equal(late.liveBytes, early.liveBytes, 'live native bytes changed');
  assert.equal(late.cachedBytes, early.cachedBytes, 'allocator pool grew');
  const growth = (process.memoryUsage().rss - rssEarly) / 2 ** 20;
  assert.ok(growth < 40, `resident memory grew by ${growth.toFixed(1)} MiB`);
  assert.ok(last < first, `the loop trains (loss ${first} -> ${last})`);
  opt.dispose();
  model.dispose();
  x.dispose();
});

test('repeated eval forwards with each BatchNorm folded into its convolution do not grow native memory or the primitive cache', () => {
  manualSeed(6);
  const model = new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new Inception(8, [4, 4, 8, 2, 4, 4])).eval();
  const x = Tensor.fromArray(Float32Array.from({ length: 4 * 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37)), [4, 3, 8, 8]).keep();
  const forward = () => tidy(() => noGrad(() => model.call(x).toArray()));
  let folded = 0;
  let first: Float32Array = new Float32Array();
  withSpies((real) => ({ convBnForwardInference: (...args) => (folded++, real.convBnForwardInference(...args)) }), () => (first = forward()));
  assert.equal(folded, 8, 'the stem conv and the 7 of the Inception module run folded');
  for (let i = 0; i < 9; i++) forward();
  const early = backend().stats();
  let last = first;
  for (let i = 0; i < 300; i++) last = forward();
  const late = backend().stats();
  assert.equal(late.liveBytes, early.liveBytes, 'live native bytes changed');
  assert.equal(late.cachedBytes, early.cachedBytes, 'allocator pool grew');
  assert.equal(late.primitives, early.primitives, 'primitive cache grew');
  assert.deepEqual(last, first, 'the same input gives the same output');
  model.dispose();
  x.dispose();
});

test('native errors name the op and the shapes', () => {
  tidy(() => {
    const x = Tensor.zeros([1, 3, 8, 8]);
    const w = Tensor.zeros([4, 5, 3, 3]);
    assert.throws(() => backend().convForward(x.handle, w.handle, null, { stride: [1, 1], padding: [1, 1], training: false, bf16: false, algorithm: 'direct' }), /conv2d: input \[1,3,8,8\] has 3 channels but weight \[4,5,3,3\] expects 5/);
    const logits = Tensor.zeros([2, 10]);
    assert.throws(() => backend().crossEntropy(logits.handle, Int32Array.of(1, 12), { reduction: 'mean' }), /cross_entropy: target 12 out of range for 10 classes/);
    assert.throws(() => backend().add(x.handle, Tensor.zeros([1, 3, 8, 7]).handle), /add: shapes \[1,3,8,8\] and \[1,3,8,7\] differ/);
    assert.throws(() => Tensor.fromArray([1, 2, 3], [2, 2]), /3 values do not fill shape \[2, 2\]/);
  });
});

test('memory() counts live tensors and native bytes; GOOGLENET_DEBUG reports a tensor the GC collected undisposed', async () => {
  const before = memory();
  const t = Tensor.zeros([256, 256]);
  assert.equal(memory().numTensors, before.numTensors + 1);
  assert.ok(memory().numBytes >= before.numBytes + 256 * 256 * 4);
  t.dispose();
  assert.equal(memory().numTensors, before.numTensors);
  tidy(() => { Tensor.zeros([4]); });
  assert.equal(memory().numTensors, before.numTensors, 'a tidy scope disposes what it made');
  // a leak: made outside every scope, dropped, collected
  const script = `import { Tensor } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    (() => { Tensor.zeros([8, 8]); })(); globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); globalThis.gc(); await new Promise((r) => setTimeout(r, 100));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, GOOGLENET_DEBUG: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /googlenet: a tensor of shape \[8, 8\] was garbage-collected without dispose\(\): its native memory leaked; create tensors inside tidy\(\) or call dispose\(\)/);
  const quiet = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, GOOGLENET_DEBUG: '' } });
  assert.doesNotMatch(quiet.stderr, /garbage-collected/);
});

test('cross entropy takes labels as a plain array as well as an Int32Array', () => {
  const logits = Tensor.fromArray([1, 2, 3, 0, 0, 5], [2, 3]);
  assert.equal(crossEntropy(logits, [2, 0]).item(), crossEntropy(logits, Int32Array.from([2, 0])).item());
  logits.dispose();
});
