// Numeric helpers for parity and gradient tests.
import assert from 'node:assert/strict';
import { Tensor } from '../src/tensor/tensor.js';
import { toFloat32, type HostTensor } from '../src/tensor/host.js';

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export function diffNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** ‖a − b‖ / ‖b‖, the fixtures' relative error. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return diffNorm(a, b) / Math.max(norm(b), 1e-30);
}

export function assertRel(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const e = relErr(actual, expected);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
}

export function hostTensor(h: HostTensor, requiresGrad = false): Tensor {
  const t = Tensor.fromArray(toFloat32(h), h.shape);
  t.requiresGrad = requiresGrad;
  return t;
}
