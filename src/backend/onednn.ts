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
};

const DEBUG_METHODS = ['debugLayout'] as const;

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
  const { debugLayout: _debug, ...methods } = addon();
  return { ...methods, name: 'onednn' };
}

/** Debug API: the physical layout of a oneDNN tensor (tests check that bf16 stays blocked bf16). */
export function debugLayout(h: Handle): string {
  return addon().debugLayout(h);
}
