// Draws only tests use, over the project's Rng (kept out of src/, which has no use for them).
import { Rng } from '../src/util/rng.js';
import { IMAGE_BYTES, type CifarSplit } from '../src/data/cifar.js';
import { NORMALIZATIONS, transformImage, type Normalization } from '../src/data/transforms.js';

/** A new generator seeded from r's next two outputs (advances r by two draws). */
export function fork(r: Rng): Rng {
  return Rng.derive((BigInt(r.nextUint32()) << 32n) | BigInt(r.nextUint32()), 0);
}

/** True with probability p. */
export function bernoulli(r: Rng, p: number): boolean {
  return r.random() < p;
}

/** Standard normal scaled to (mean, std), by Box–Muller (two fresh draws; nothing cached, so state stays exact). */
export function normal(r: Rng, mean = 0, std = 1): number {
  const u1 = 1 - r.random(); // (0, 1], so log is finite
  return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r.random());
}

/** Fills `out` with uniform values in [low, high) (float32 rounding may give high), one draw per element. */
export function fillUniform(r: Rng, out: Float32Array, low = 0, high = 1): Float32Array {
  const scale = (high - low) / 16777216;
  for (let i = 0; i < out.length; i++) out[i] = low + (r.nextUint32() >>> 8) * scale;
  return out;
}

/** ToTensor + Normalize of the given images into NCHW floats (no augmentation). */
export function toFloatBatch(data: CifarSplit, indices: ArrayLike<number>, norm: Normalization = NORMALIZATIONS.half): Float32Array {
  const out = new Float32Array(indices.length * IMAGE_BYTES);
  for (let b = 0; b < indices.length; b++) transformImage(data.images, indices[b] * IMAGE_BYTES, out, b * IMAGE_BYTES, false, 0, 0, 0, norm);
  return out;
}
