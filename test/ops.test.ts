// Every case of ../shared/fixtures/ops.safetensors (PyTorch, float64): outputs and input
// gradients within 1e-5 relative error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSafetensors } from '../src/io/safetensors.js';
import { toFloat32, type HostTensor } from '../src/tensor/host.js';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { debugAsLayout, debugMaxPool, type DebugLayoutName } from '../src/backend/onednn.js';
import { assertRel, hostTensor } from './numeric.js';
import { sharedOpts, sharedPath } from './helpers.js';

const TOL = 1e-5;

type Case = (inputs: Tensor[]) => Tensor;
const bn = (eps: number): Case => ([x, w, b]) =>
  F.batchNorm2d(x, w, b, { runningMean: null, runningVar: null, momentum: 0.1 }, true, eps);

const cases: Record<string, Case> = {
  conv3x3_pad1: ([x, w, b]) => F.conv2d(x, w, b, [1, 1], [1, 1]),
  conv1x1: ([x, w, b]) => F.conv2d(x, w, b, [1, 1], [0, 0]),
  maxpool3_s1_p1: ([x]) => F.maxPool2d(x, [3, 3], [1, 1], [1, 1]),
  maxpool3_s2_p1: ([x]) => F.maxPool2d(x, [3, 3], [2, 2], [1, 1]),
  adaptive_avgpool_1x1: ([x]) => F.globalAvgPool2d(x),
  linear: ([x, w, b]) => F.linear(x, w, b),
  relu: ([x]) => F.relu(x),
  concat_dim1: (xs) => F.cat(xs),
  'batchnorm_train_eps1e-5': bn(1e-5),
  batchnorm_train_eps32: bn(32),
  cross_entropy_mean: ([x]) => F.crossEntropy(x, Int32Array.of(1, 0, 4)),
};

test('ops.safetensors covers exactly the cases we test', sharedOpts, () => {
  const file = readSafetensors(sharedPath('fixtures', 'ops.safetensors'));
  const names = new Set([...file.keys()].map((k) => k.slice(0, k.lastIndexOf('.'))));
  assert.deepEqual([...names].sort(), Object.keys(cases).sort());
});

/** The ops fixtures, and one case's tensor by its key (`in0`, `out`…), refused in one line when missing. */
function fixtureOf(name: string): { file: Map<string, HostTensor>; get: (k: string) => HostTensor } {
  const file = readSafetensors(sharedPath('fixtures', 'ops.safetensors'));
  const get = (k: string): HostTensor => {
    const t = file.get(`${name}.${k}`);
    assert.ok(t, `missing ${name}.${k}`);
    return t;
  };
  return { file, get };
}

for (const [name, op] of Object.entries(cases)) {
  test(`op parity with PyTorch: ${name}`, sharedOpts, () => {
    const { file, get } = fixtureOf(name);
    tidy(() => {
      const inputs: Tensor[] = [];
      for (let i = 0; file.has(`${name}.in${i}`); i++) inputs.push(hostTensor(get(`in${i}`), true));
      const out = op(inputs);
      assert.deepEqual([...out.shape], get('out').shape);
      assertRel(out.toArray(), toFloat32(get('out')), TOL, `${name} output`);
      backward(out, hostTensor(get('gout')));
      inputs.forEach((t, i) => {
        assert.ok(t.grad, `${name}: no gradient for input ${i}`);
        assertRel(t.grad.toArray(), toFloat32(get(`gin${i}`)), TOL, `${name} gradient of input ${i}`);
        t.grad.dispose();
      });
    });
  });
}

// Our max pooling kernels run on channel-blocked activations (a convolution's output), oneDNN's on the
// plain input above: the same fixtures with the input in the blocked layouts (3 channels: mostly padding).
for (const name of ['maxpool3_s1_p1', 'maxpool3_s2_p1'])
  for (const layout of ['nChw8c', 'nChw16c'] satisfies DebugLayoutName[])
    test(`op parity with PyTorch: ${name} on ${layout} input`, sharedOpts, () => {
      const { get } = fixtureOf(name);
      tidy(() => {
        const plain = hostTensor(get('in0'));
        const x = new Tensor(debugAsLayout(plain.handle, layout), plain.shape, true);
        debugMaxPool('auto');
        const out = cases[name]([x]);
        assertRel(out.toArray(), toFloat32(get('out')), TOL, `${name} output`);
        backward(out, hostTensor(get('gout')));
        assert.ok(x.grad);
        assertRel(x.grad.toArray(), toFloat32(get('gin0')), TOL, `${name} gradient`);
        const calls = debugMaxPool('auto');
        assert.equal(calls.ours + calls.onednn, 2);
      });
    });

test('topk returns the k best classes per row, best first, ties to the lower index', () => {
  tidy(() => {
    const x = Tensor.fromArray([0.1, 0.5, 0.3, 0.5, 9, -1, 2, 3], [2, 4]);
    assert.deepEqual([...F.topk(x, 2)], [1, 3, 0, 3]);
    assert.deepEqual([...F.topk(x, 4)], [1, 3, 2, 0, 0, 3, 2, 1]);
    assert.throws(() => F.topk(x, 5), /topk: k=5 must be in 1..4/);
  });
});
