// Which precisions this machine can compute. oneDNN 2.x implements bf16 convolutions only for
// CPUs with AVX-512 (natively with AVX512_BF16, emulated on AVX-512 cores); on an AVX2 CPU, or on
// an AVX-512 CPU with oneDNN capped below AVX-512 by ONEDNN_MAX_CPU_ISA, it creates none, so bf16
// training is refused up front with a line saying why, not midway with a oneDNN status.
import os from 'node:os';
import { noGrad } from '../autograd/engine.js';
import { conv2d } from '../autograd/ops.js';
import { backend, Tensor, tidy } from '../tensor/tensor.js';
import { cpuHasAvx512, isaCap } from '../util/machine.js';

export interface Bf16Context {
  /** oneDNN's version and the ISA it uses. */
  onednn: string;
  isa: string;
  cpu: string;
  /** Whether the CPU itself has AVX-512, and the ISA cap set in the environment (`ONEDNN_MAX_CPU_ISA=AVX2`) or null. */
  cpuAvx512: boolean;
  cap: string | null;
}

/** The one line that refuses bf16 where oneDNN made no bf16 convolution: the cap when it is the reason, else the CPU. */
export function bf16Refusal(c: Bf16Context): string {
  const needs = `bf16 mixed precision needs bf16 convolutions, which oneDNN ${c.onednn} has only on CPUs with AVX-512`;
  if (c.cap && c.cpuAvx512)
    return `${needs}; this one (${c.cpu}) has AVX-512, but ${c.cap} is set, which holds oneDNN to ${c.isa}; unset it, or use --precision fp32`;
  return `${needs}, and this one (${c.cpu}) has none; use --precision fp32`;
}

let bf16Answer: string | null | undefined;

/** Why bf16 mixed precision cannot run here, or null when it can (asked once, by building one tiny bf16 convolution). */
export function bf16Unsupported(): string | null {
  if (bf16Answer !== undefined) return bf16Answer;
  try {
    tidy(() => noGrad(() => conv2d(Tensor.zeros([1, 16, 4, 4]), Tensor.zeros([16, 16, 1, 1]), null, [1, 1], [0, 0], true)));
    bf16Answer = null;
  } catch (e) {
    if (!/could not create a primitive/.test((e as Error).message)) throw e;
    bf16Answer = bf16Refusal({
      onednn: backend().version(), isa: backend().cpuIsa(), cpu: os.cpus()[0]?.model?.trim() || 'unknown', cpuAvx512: cpuHasAvx512(), cap: isaCap(),
    });
  }
  return bf16Answer;
}
