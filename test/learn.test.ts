// The engine learns from real images: a small Inception network trained for 300 steps on
// CIFAR-10 images from ../shared/data classifies held-out test images far above chance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward, noGrad } from '../src/autograd/engine.js';
import { crossEntropy, topk } from '../src/autograd/ops.js';
import { readCifar } from '../src/data/cifar.js';
import { toFloatBatch } from './random.js';
import { bf16Unsupported } from '../src/nn/precision.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { toFloat32 } from '../src/tensor/host.js';
import { Inception } from '../src/models/googlenet.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, setPrecision } from '../src/nn/layers.js';
import { Adam } from '../src/optim/optimizer.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { manualSeed } from '../src/util/generator.js';
import { Rng } from '../src/util/rng.js';
import { sharedOpts, sharedPath } from './helpers.js';

test('reader + ToTensor/Normalize(0.5) reproduce the fixture batch (first 16 CIFAR-100 test images)', sharedOpts, () => {
  const data = readCifar(sharedPath('data'), 'cifar100', 'test', { limit: 16 });
  const fixture = readSafetensors(sharedPath('fixtures', 'googlenet-c100-step.safetensors'));
  const x = toFloatBatch(data, Array.from({ length: 16 }, (_, i) => i));
  const want = toFloat32(fixture.get('input')!);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - want[i]));
  assert.ok(worst <= 1e-7, `pixels differ by ${worst}`);
  assert.deepEqual([...data.labels], [...(fixture.get('target')!.data as BigInt64Array)].map(Number));
  assert.equal(data.classNames[data.labels[0]], 'mountain');
});

for (const precision of ['fp32', 'bf16'] as const)
test(`a small Inception network learns CIFAR-10 (${precision}): 300 steps, held-out accuracy far above chance`,
  precision === 'bf16' && bf16Unsupported() ? { skip: bf16Unsupported()! } : sharedOpts, () => {
  manualSeed(1);
  const train = readCifar(sharedPath('data'), 'cifar10', 'train', { limit: 4800 });
  const testSet = readCifar(sharedPath('data'), 'cifar10', 'test', { limit: 1000 });
  const model = new Sequential(
    new Conv2d(3, 32, 3, { padding: 1 }), new BatchNorm2d(32), new ReLU(), new MaxPool2d(3, 2, 1),
    new Inception(32, [16, 16, 32, 8, 16, 16]), new MaxPool2d(3, 2, 1),
    new Inception(80, [32, 32, 48, 8, 16, 16]), new AdaptiveAvgPool2d(1), new Dropout2d(0.2), new Flatten(), new Linear(112, 10),
  );
  setPrecision(model, precision);
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const rng = new Rng(2);
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  const batch = 32;
  let losses: number[] = [];
  for (let step = 0; step < 300; step++) {
    if ((step * batch) % train.count === 0) rng.shuffle(order);
    const at = (step * batch) % train.count;
    const idx = order.subarray(at, at + batch);
    const targets = Int32Array.from(idx, (i) => train.labels[i]);
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = crossEntropy(model.forward(Tensor.fromArray(toFloatBatch(train, idx), [batch, 3, 32, 32])), targets);
      backward(l);
      return l.item();
    });
    opt.step();
    losses.push(loss);
  }
  model.eval();
  let correct = 0;
  for (let at = 0; at < testSet.count; at += 100) {
    const idx = Array.from({ length: 100 }, (_, i) => at + i);
    const pred = tidy(() => noGrad(() => topk(model.forward(Tensor.fromArray(toFloatBatch(testSet, idx), [100, 3, 32, 32])), 1)));
    idx.forEach((i, j) => (correct += pred[j] === testSet.labels[i] ? 1 : 0));
  }
  const accuracy = correct / testSet.count;
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(losses.slice(0, 20)), last = mean(losses.slice(-20));
  console.log(`small Inception net (${precision}), 300 steps of 32: train loss ${first.toFixed(3)} -> ${last.toFixed(3)}, held-out accuracy ${(accuracy * 100).toFixed(1)}% (chance 10%)`);
  assert.ok(last < first - 0.3, `loss did not fall enough: ${first} -> ${last}`);
  assert.ok(accuracy > 0.3, `held-out accuracy ${accuracy} is not clearly above chance (0.1)`);
  losses = [];
  opt.dispose();
  model.dispose();
});
