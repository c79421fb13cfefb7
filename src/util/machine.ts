// What kind of machine this is, as far as bit-reproducibility goes: the CPU (model name and
// family/model numbers from /proc/cpuinfo), the instruction set oneDNN's kernels chose, oneDNN's
// version, the thread count and the convolution algorithm. Two attempts at one run agree bit for
// bit only when all match.
import fs from 'node:fs';
import os from 'node:os';
import type { ConvAlgorithm } from '../backend/backend.js';
import { backend } from '../tensor/tensor.js';

export interface Machine {
  cpu: string;
  /** /proc/cpuinfo's `cpu family` and `model`, null where there is none. */
  family: number | null;
  modelNumber: number | null;
  /** The ISA oneDNN uses here, e.g. avx2, avx512_core_bf16. */
  isa: string;
  onednn: string;
  threads: number;
  /** winograd when any convolution computed by it (src/nn/conv-algorithm.ts), else direct (and in records from before). */
  conv: ConvAlgorithm;
}

function cpuinfo(): (name: string) => string | undefined {
  const info = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
}

/** The CPU's own flags (/proc/cpuinfo): what it can do, whatever oneDNN is capped at. */
export function cpuFlags(): string[] {
  return (cpuinfo()('flags') ?? '').split(' ').filter(Boolean);
}

/**
 * Whether the CPU itself has the AVX-512 that oneDNN's avx512_core kernels need (F, BW, VL, DQ), and so
 * bf16 convolutions, whatever ONEDNN_MAX_CPU_ISA caps oneDNN at.
 */
export function cpuHasAvx512(flags: readonly string[] = cpuFlags()): boolean {
  return ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.includes(f));
}

/**
 * The cap on oneDNN's ISA set in the environment, as `ONEDNN_MAX_CPU_ISA=AVX2`, or null. oneDNN reads
 * ONEDNN_MAX_CPU_ISA, or where that is unset or empty its older name DNNL_MAX_CPU_ISA, once, at the
 * process's first ISA query; set later, it changes nothing.
 */
export function isaCap(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  for (const name of ['ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA']) {
    const value = env[name];
    if (value) return `${name}=${value}`;
  }
  return null;
}

export function thisMachine(threads: number, conv: ConvAlgorithm): Machine {
  const field = cpuinfo();
  const num = (v: string | undefined) => (v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
  return {
    cpu: field('model name') ?? os.cpus()[0]?.model ?? 'unknown CPU',
    family: num(field('cpu family')), modelNumber: num(field('model')),
    isa: backend().cpuIsa(), onednn: backend().version(), threads, conv,
  };
}

/**
 * `AMD EPYC 7B13 (family 25 model 1; avx2 avx512f …)`: the model name, numbers and SIMD flags the bench
 * reports; with a cap set, also the ISA oneDNN is held to (`…; ONEDNN_MAX_CPU_ISA=AVX2 caps oneDNN at avx2)`).
 */
export function cpuDescription(): string {
  const field = cpuinfo();
  const flags = cpuFlags();
  const simd = ['avx2', 'avx512f', 'avx512_bf16', 'avx512_vp2intersect', 'amx_bf16'].filter((f) => flags.includes(f));
  const cap = isaCap();
  return `${field('model name') ?? os.cpus()[0]?.model ?? 'unknown CPU'} (family ${field('cpu family') ?? '?'} model ${field('model') ?? '?'}; ${simd.join(' ') || 'no AVX2'}${cap ? `; ${cap} caps oneDNN at ${backend().cpuIsa()}` : ''})`;
}

/** How two machines differ in what changes a run's bits (`ISA avx2 (was avx512_core)`…), or null. */
export function machineDifference(was: Machine, now: Machine): string | null {
  const parts: string[] = [];
  if (was.cpu !== now.cpu || was.family !== now.family || was.modelNumber !== now.modelNumber)
    parts.push(`CPU ${now.cpu} family ${now.family ?? '?'} model ${now.modelNumber ?? '?'} (was ${was.cpu} family ${was.family ?? '?'} model ${was.modelNumber ?? '?'})`);
  if (was.isa !== now.isa) parts.push(`ISA ${now.isa} (was ${was.isa})`);
  if (was.onednn !== now.onednn) parts.push(`oneDNN ${now.onednn} (was ${was.onednn})`);
  if (was.threads !== now.threads) parts.push(`${now.threads} threads (was ${was.threads})`);
  if (was.conv !== now.conv) parts.push(`convolutions ${now.conv} (was ${was.conv})`);
  return parts.length ? parts.join(', ') : null;
}
