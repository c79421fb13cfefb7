// What the ONNX tests share: a seeded network with non-trivial BatchNorm statistics, our eval-mode
// logits, and the measure (with its bound) by which a runtime's logits must equal ours.
import assert from 'node:assert/strict';
import { createModel, type GoogLeNet } from '../src/models/googlenet.js';
import type { Network } from '../src/models/network.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { toFloat32 } from '../src/tensor/host.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Rng } from '../src/util/rng.js';
import { fillUniform } from './random.js';

/** The bound on maxRelErr between a runtime's logits and ours. */
export const TOL = 1e-4;

/**
 * max |a − b| / max |b| over the batch: the error against the logits' own scale. Per element it
 * would divide by logits that happen to be near 0 (random networks give many), measuring nothing.
 */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** A seeded network whose BatchNorms are no identity: weight, bias, running mean and var drawn from `rng`. */
export function randomNet(name: string | Network, classes: number, rng: Rng, fixBatchNormEps = false): GoogLeNet {
  const net = createModel(name, classes, { rng, fixBatchNormEps });
  const sd = net.stateDict();
  for (const [prefix, m] of net.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const ranges = { weight: [0.5, 1.5], bias: [-0.2, 0.2], running_mean: [-0.3, 0.3], running_var: [0.5, 2] } as const;
    for (const [k, [lo, hi]] of Object.entries(ranges)) fillUniform(rng, sd.get(`${prefix}.${k}`)!.data as Float32Array, lo, hi);
  }
  net.loadStateDict(sd);
  return net.eval();
}

/** Our eval-mode logits of an NCHW float batch. */
export function ourLogits(net: GoogLeNet, x: Float32Array, n: number): Float32Array {
  const input = Tensor.fromArray(x, [n, 3, 32, 32]);
  const y = net.forward(input);
  const out = toFloat32(y.toHost());
  y.dispose();
  input.dispose();
  return out;
}
