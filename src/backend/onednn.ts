// The oneDNN backend: the native addon built by `npm install` from native/.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { BACKEND_METHODS, type Backend, type Handle } from './backend.js';

/** What the addon exports: the Backend's methods plus a debug API that is not part of Backend. */
export type OneDnnAddon = Omit<Backend, 'name'> & {
  /** "plain", or oneDNN's memory-descriptor key for a blocked layout ("4:2:..." for bf16 NCHW). */
  debugLayout(h: Handle): string;
  /** A copy of a 4-d tensor in the named layout, whatever oneDNN would pick on this CPU; padding: a value for a blocked layout's padded channels. */
  debugAsLayout(h: Handle, attrs: { layout: DebugLayoutName; padding?: number }): Handle;
  /** An f32 tensor's whole buffer as it lies in memory, a blocked layout's padded channels included. */
  debugRaw(h: Handle): Float32Array;
  /** Chooses max pooling's kernels from now on; returns the calls each served since the previous call. */
  debugMaxPool(attrs: { kernels: MaxPoolKernels }): { onednn: number; ours: number };
};

/** 'nchw' is plain; 'nChw8c' and 'nChw16c' block the channels by 8 and 16 (padded to a whole block). */
export type DebugLayoutName = 'nchw' | 'nhwc' | 'nChw8c' | 'nChw16c';
/** 'auto': ours (AVX2) on blocked f32 input where the CPU and oneDNN's ISA allow AVX2, else oneDNN's; 'portable': our scalar loops on blocked f32 input. */
export type MaxPoolKernels = 'auto' | 'onednn' | 'portable';

const DEBUG_METHODS = ['debugLayout', 'debugAsLayout', 'debugRaw', 'debugMaxPool'] as const;

function findAddon(): string {
  // src/backend -> repo root, from both src/ and dist/src/
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'build', 'Release', 'googlenet_dnnl.node');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('googlenet: native addon build/Release/googlenet_dnnl.node not found; run `npm install` (needs libdnnl-dev: sudo apt-get install -y libdnnl-dev)');
}

/**
 * The load-time check: `addon` must export every Backend method (and the debug API) as a
 * function. Otherwise one line names what is missing: an addon built from older sources.
 * This is the one typed boundary; past it the methods are used as Backend declares them.
 */
export function checkAddon(addon: unknown, where = 'the native addon'): OneDnnAddon {
  if (typeof addon !== 'object' || addon === null) throw new Error(`googlenet: ${where} is not a module object`);
  const exported = addon as Record<string, unknown>;
  const missing = [...BACKEND_METHODS, ...DEBUG_METHODS].filter((m) => typeof exported[m] !== 'function');
  if (missing.length)
    throw new Error(`googlenet: ${where} lacks ${missing.join(', ')}; it was built from older sources: rebuild it with \`npm run build\` (or \`npm install\`)`);
  return addon as OneDnnAddon;
}

let loaded: OneDnnAddon | null = null;

/**
 * How idle OpenMP threads wait, unless the user chose (OMP_WAIT_POLICY or GOMP_SPINCOUNT).
 * libgomp's default spins ~300,000 times at every barrier before sleeping. On a shared machine
 * that spinning takes the core from the thread everyone waits for: two trainings on 2 cores ran
 * 2.8x slower than one thread each (issue 11; `npm run bench` measures it). Passive threads sleep
 * at once; alone, the cost is within noise. libgomp reads the variable once, when the addon loads
 * it, so it is set for that moment only and child processes (PyTorch in the bench) keep theirs.
 */
export const DEFAULT_WAIT_POLICY = 'PASSIVE';

function withWaitPolicy<T>(load: () => T): T {
  const chosen = process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined;
  if (chosen) return load();
  process.env.OMP_WAIT_POLICY = DEFAULT_WAIT_POLICY;
  try {
    return load();
  } finally {
    delete process.env.OMP_WAIT_POLICY;
  }
}

function addon(): OneDnnAddon {
  if (!loaded) {
    const file = findAddon();
    loaded = checkAddon(withWaitPolicy(() => createRequire(import.meta.url)(file)), file);
  }
  return loaded;
}

export function loadOneDnn(): Backend {
  const { debugLayout: _layout, debugAsLayout: _asLayout, debugRaw: _raw, debugMaxPool: _maxPool, ...methods } = addon();
  return { ...methods, name: 'onednn' };
}

/** Debug API: the physical layout of a oneDNN tensor (tests check that bf16 stays blocked bf16). */
export function debugLayout(h: Handle): string {
  return addon().debugLayout(h);
}

/**
 * Debug API: a copy of a 4-d tensor in the named layout (tests force nChw16c on an AVX2 CPU); with
 * `padding`, a blocked layout's padded channels hold that value instead of zeros.
 */
export function debugAsLayout(h: Handle, layout: DebugLayoutName, padding?: number): Handle {
  return addon().debugAsLayout(h, padding === undefined ? { layout } : { layout, padding });
}

/** Debug API: an f32 tensor's buffer as it lies in memory, padded channels included. */
export function debugRaw(h: Handle): Float32Array {
  return addon().debugRaw(h);
}

/** Debug API: which kernels max pooling uses from now on, and how many calls each served since the last call. */
export function debugMaxPool(kernels: MaxPoolKernels): { onednn: number; ours: number } {
  return addon().debugMaxPool({ kernels });
}
