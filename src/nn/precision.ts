// Which precisions this machine can compute. oneDNN 2.x implements bf16 convolutions only for
// CPUs with AVX-512 (natively with AVX512_BF16, emulated on AVX-512 cores); on an AVX2 CPU it
// creates none, so bf16 training is refused up front with a line saying why, not midway with a
// oneDNN status.
import os from 'node:os';
import { noGrad } from '../autograd/engine.js';
import { conv2d } from '../autograd/ops.js';
import { backend, Tensor, tidy } from '../tensor/tensor.js';

let bf16Answer: string | null | undefined;

/** Why bf16 mixed precision cannot run here, or null when it can (asked once, by building one tiny bf16 convolution). */
export function bf16Unsupported(): string | null {
  if (bf16Answer !== undefined) return bf16Answer;
  try {
    tidy(() => noGrad(() => conv2d(Tensor.zeros([1, 16, 4, 4]), Tensor.zeros([16, 16, 1, 1]), null, [1, 1], [0, 0], true)));
    bf16Answer = null;
  } catch (e) {
    if (!/could not create a primitive/.test((e as Error).message)) throw e;
    const cpu = os.cpus()[0]?.model?.trim() || 'unknown';
    bf16Answer = `bf16 mixed precision needs bf16 convolutions, which oneDNN ${backend().version()} has only on CPUs with AVX-512, and this one (${cpu}) has none; use --precision fp32`;
  }
  return bf16Answer;
}
