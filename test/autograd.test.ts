// The autograd engine where gradients meet: a tensor feeding several ops (an Inception module's
// input, a weight used twice) gets the sum of their gradients, accumulated in place into a buffer
// the engine owns, bit for bit what an addition into a new tensor gives; a leaf's .grad keeps its
// identity across backward() calls (PyTorch's accumulation); the caller's grad is never written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Handle } from '../src/backend/backend.js';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { Inception } from '../src/models/googlenet.js';
import { memory, Tensor, tidy } from '../src/tensor/tensor.js';
import { withSpies } from './backend-spies.js';
import { Rng } from '../src/util/rng.js';

const random = (shape: number[], rng: Rng) => Tensor.fromArray(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Runs fn with every addInPlace checked against add on the same operands (bit for bit), and counted. */
function checkingAccumulation(fn: () => void): { inPlace: number; add: number } {
  const n = { inPlace: 0, add: 0 };
  withSpies((real): Partial<Backend> => ({
    addInPlace: (a: Handle, b: Handle) => {
      n.inPlace++;
      const sum = real.add(a, b);
      const expected = real.read(sum);
      real.release(sum);
      real.addInPlace(a, b);
      assert.ok(sameBits(real.read(a), expected), 'a += b differs from a + b');
    },
    add: (a: Handle, b: Handle) => (n.add++, real.add(a, b)),
  }), fn);
  return n;
}

test('branches meeting at an Inception module accumulate in place, bit for bit as a + b, and match the per-branch sum', () => {
  const rng = new Rng(7);
  const module = new Inception(8, [4, 4, 8, 2, 4, 4]);
  const input = random([2, 3, 6, 6], rng).keep();
  const w = random([8, 3, 3, 3], rng).keep();
  w.requiresGrad = true;
  const gout = random([2, 20, 6, 6], rng).keep();
  const goutValues = gout.toArray();
  const before = memory().numTensors;
  // x (a blocked layout, from a convolution) feeds the module's four branches: three joins
  const n = checkingAccumulation(() => tidy(() => backward(module.call(F.conv2d(input, w, null, [1, 1], [1, 1])), gout)));
  assert.deepEqual(n, { inPlace: 3, add: 0 });
  module.zeroGrad();
  assert.equal(memory().numTensors, before + 1, 'only w.grad (and the module\'s .grad) outlive the backward');
  assert.ok(!gout.isDisposed && sameBits(gout.toArray(), goutValues), "the caller's grad is untouched");
  const joined = w.grad!.toArray();

  // the same gradient, each branch's part computed on its own and summed on the host
  const parts: Float32Array[] = [];
  for (let branch = 0; branch < 4; branch++) {
    w.grad!.dispose();
    w.grad = null;
    tidy(() => {
      const y = module.call(F.conv2d(input, w, null, [1, 1], [1, 1]));
      // the branch's channels of gout, zero elsewhere: only that branch's gradient reaches x
      const sizes = [4, 8, 4, 4];
      const lo = sizes.slice(0, branch).reduce((a, b) => a + b, 0), hi = lo + sizes[branch];
      const g = gout.toArray().map((v, i) => (Math.floor(i / 36) % 20 >= lo && Math.floor(i / 36) % 20 < hi ? v : 0));
      backward(y, Tensor.fromArray(g, y.shape));
    });
    parts.push(w.grad!.toArray());
  }
  const summed = parts[0].map((_, i) => parts.reduce((s, p) => s + p[i], 0));
  joined.forEach((v, i) => assert.ok(Math.abs(v - summed[i]) <= 1e-5 * Math.max(1, Math.abs(summed[i])), `w.grad[${i}]: ${v} vs ${summed[i]}`));
  w.grad!.dispose();
  module.dispose();
  for (const t of [input, w, gout]) t.dispose();
});

test("a leaf's .grad accumulates in place across backward() calls: the same tensor, holding the sum", () => {
  const rng = new Rng(3);
  const x = random([2, 4, 5, 5], rng).keep();
  const w = random([6, 4, 3, 3], rng).keep();
  w.requiresGrad = true;
  const gout = random([2, 12, 5, 5], rng).keep();
  // w feeds two convolutions: a join inside the graph, then the leaf's own accumulation
  const run = () => tidy(() => backward(F.cat([F.conv2d(x, w, null, [1, 1], [1, 1]), F.conv2d(x, w, null, [1, 1], [1, 1])]), gout));
  const n1 = checkingAccumulation(run);
  const held = w.grad!;
  const once = held.toArray();
  const n2 = checkingAccumulation(run);
  assert.deepEqual([n1.inPlace, n2.inPlace, n1.add + n2.add], [1, 2, 0]);
  assert.equal(w.grad, held, 'the .grad a caller holds is the one updated');
  assert.ok(sameBits(held.toArray(), once.map((v) => v + v)), 'the second call adds the same gradient again');
  held.dispose();
  w.grad = null;

  // a leaf as the root: its .grad starts as a copy of the caller's grad, which is never written or freed
  const leaf = random([3, 4], rng).keep();
  leaf.requiresGrad = true;
  const g = random([3, 4], rng).keep();
  const gValues = g.toArray();
  backward(leaf, g);
  backward(leaf, g);
  assert.ok(!g.isDisposed && sameBits(g.toArray(), gValues), "the caller's grad is untouched");
  assert.notEqual(leaf.grad, g);
  assert.ok(sameBits(leaf.grad!.toArray(), gValues.map((v) => v + v)));
  leaf.grad!.dispose();
  for (const t of [x, w, gout, leaf, g]) t.dispose();
});
