// Which convolutions compute by Winograd: a fixed rule on the layer's shape and oneDNN's ISA, never
// a timing, so one machine always chooses the same and a resumed run computes the same bits. oneDNN
// 2.6 has Winograd (jit_wino_4x3) for avx512_core only; probed on a Zen 4 it took 1,908 ms over
// GoogLeNet's 3x3 convolutions' three passes against direct's 4,346 ms, but ran the stem (3 input
// channels) 3.7x slower: hence the floor on input channels.
import type { ConvAlgorithm, Pair } from '../backend/backend.js';
import { backend } from '../tensor/tensor.js';
import { cpuHasAvx512, isaCap } from '../util/machine.js';
import { Conv2d } from './layers.js';
import type { Module } from './module.js';

/** `--conv`: auto (the rule), winograd (the rule, refused where it cannot apply) or direct (never). */
export const CONV_CHOICES = ['auto', 'winograd', 'direct'] as const;
export type ConvChoice = (typeof CONV_CHOICES)[number];

/** The fewest input channels a Winograd convolution gets: below, its transforms cost more than they save. */
export const WINOGRAD_MIN_IN_CHANNELS = 16;

/** What the rule looks at in a convolution. */
export interface ConvFacts {
  bf16: boolean;
  kernel: Pair;
  stride: Pair;
  inChannels: number;
}

/** Whether oneDNN's ISA has Winograd convolutions: avx512_core or a later avx512_core_* (vnni, bf16, amx). */
export const isaHasWinograd = (isa: string) => isa.startsWith('avx512_core');

/** The rule: f32, 3x3, stride 1, at least 16 input channels, on avx512_core or better. */
export function winogradApplies(c: ConvFacts, isa: string): boolean {
  return !c.bf16 && c.kernel[0] === 3 && c.kernel[1] === 3 && c.stride[0] === 1 && c.stride[1] === 1 &&
    c.inChannels >= WINOGRAD_MIN_IN_CHANNELS && isaHasWinograd(isa);
}

/** Where the convolutions compute: oneDNN's ISA, and for the refusal's sake the cap and whether the CPU has AVX-512. */
export interface ConvMachine {
  isa: string;
  onednn: string;
  cap: string | null;
  cpuAvx512: boolean;
}

/** This process's: oneDNN's ISA and version, the cap in the environment, the CPU's AVX-512. */
export const convMachine = (): ConvMachine => ({ isa: backend().cpuIsa(), onednn: backend().version(), cap: isaCap(), cpuAvx512: cpuHasAvx512() });

/** The one line refusing `--conv winograd` where oneDNN has no Winograd: the cap where it is the reason, else the CPU. */
export function winogradRefusal(m: ConvMachine): string {
  const needs = `--conv winograd needs a CPU with AVX-512: oneDNN ${m.onednn} has Winograd convolutions for avx512_core only`;
  if (m.cap && m.cpuAvx512) return `${needs}, and here it uses ${m.isa} because ${m.cap} is set; unset it, or use --conv auto or direct`;
  return `${needs}, and here it uses ${m.isa}; use --conv auto or direct`;
}

/**
 * Why `--conv choice` cannot be honoured, in one line, or null: only winograd can be refused, where
 * the machine's ISA is below avx512_core or the model computes in bf16. Asked up front by the
 * commands, before anything is written, and again by setConvAlgorithm.
 */
export function convProblem(choice: ConvChoice, bf16: boolean, m: ConvMachine = convMachine()): string | null {
  if (choice !== 'winograd') return null;
  if (!isaHasWinograd(m.isa)) return winogradRefusal(m);
  if (bf16) return '--conv winograd is for f32: oneDNN has Winograd convolutions in f32 only, and this model computes in bf16; use --conv auto or direct, or --precision fp32';
  return null;
}

const facts = (c: Conv2d): ConvFacts => ({ bf16: c.bf16, kernel: [c.weight.shape[2]!, c.weight.shape[3]!], stride: c.stride, inChannels: c.inChannels });

/**
 * Sets each Conv2d's algorithm by `choice` (call it after setPrecision: the rule leaves bf16 layers
 * direct) and returns the algorithm to record with the attempt: winograd if any convolution uses it.
 * `winograd` is refused in one line where the rule can engage nothing for a reason of the machine or
 * of the precision: below avx512_core, or a model computing in bf16.
 */
export function setConvAlgorithm(model: Module, choice: ConvChoice, m: ConvMachine = convMachine()): ConvAlgorithm {
  const convs = [...model.namedModules()].map(([, c]) => c).filter((c): c is Conv2d => c instanceof Conv2d);
  const problem = convProblem(choice, convs.some((c) => c.bf16), m);
  if (problem) throw new Error(problem);
  let any = false;
  for (const c of convs) {
    c.algorithm = choice !== 'direct' && winogradApplies(facts(c), m.isa) ? 'winograd' : 'direct';
    any ||= c.algorithm === 'winograd';
  }
  return any ? 'winograd' : 'direct';
}
