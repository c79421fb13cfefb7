// Shared test helpers. Tests compile to dist/test/, so the repo root is two levels up from this file.
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Path of the shared data directory (`<repo>/../shared`), or null when it is absent. */
export function sharedDir(): string | null {
  const dir = path.resolve(repoRoot, '..', 'shared');
  return fs.existsSync(dir) ? dir : null;
}

/**
 * For tests that need ../shared: `{dir}` when present, `{skip}` (a reason for node:test) when absent.
 * Under CI (CI=true) a missing ../shared is an error, so those tests fail instead of silently skipping.
 */
export function requireShared(): { dir: string } | { skip: string } {
  const dir = sharedDir();
  if (dir) return { dir };
  const where = path.resolve(repoRoot, '..', 'shared');
  if (process.env.CI === 'true') throw new Error(`${where} is required under CI (CI=true) but is missing; provide ../shared next to the repo`);
  return { skip: `${where} not found (reference fixtures live there); skipping` };
}

const shared = requireShared();

/** Options for test(): skips (with the reason) when ../shared is absent outside CI. */
export const sharedOpts: { skip?: string } = 'skip' in shared ? { skip: shared.skip } : {};

/** A path inside ../shared (only called by tests that run, i.e. when it exists). */
export function sharedPath(...parts: string[]): string {
  if (!('dir' in shared)) throw new Error('../shared is absent');
  return path.join(shared.dir, ...parts);
}

/** Debian's python3 (with python3-torch and python3-scipy); the `python3` first on PATH may lack them. */
export const TORCH_PYTHON = '/usr/bin/python3';

const pythonModules = new Map<string, { ok: true } | { skip: string }>();

/**
 * For tests that run /usr/bin/python3 with `module` (torch, scipy): `{ok}` when it imports,
 * `{skip}` otherwise. Under CI (CI=true) a missing module is an error
 * (scripts/setup-debian.sh --tests installs python3-torch and python3-scipy).
 */
export function requirePython(module: 'torch' | 'scipy'): { ok: true } | { skip: string } {
  const known = pythonModules.get(module);
  if (known) return known;
  const r = spawnSync(TORCH_PYTHON, ['-c', `import ${module}`], { stdio: 'pipe' });
  let result: { ok: true } | { skip: string };
  if (r.status === 0) result = { ok: true };
  else if (process.env.CI === 'true') throw new Error(`${TORCH_PYTHON} cannot import ${module}, which is required under CI (CI=true); install python3-${module} (scripts/setup-debian.sh --tests does)`);
  else result = { skip: `${TORCH_PYTHON} cannot import ${module} (apt-get install python3-${module}); skipping the checks against it` };
  pythonModules.set(module, result);
  return result;
}

/** Runs a program in /usr/bin/python3 that reads JSON on stdin and prints JSON; its result. */
export function python(program: string, input: unknown): any {
  const r = spawnSync(TORCH_PYTHON, ['-c', program], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Relative closeness (absolute near 0). */
export function close(actual: number, expected: number, what: string, rel = 1e-9): void {
  const scale = Math.max(Math.abs(expected), 1e-12);
  assert.ok(Math.abs(actual - expected) <= rel * scale, `${what}: ${actual} vs SciPy's ${expected} (relative ${Math.abs(actual - expected) / scale})`);
}

/** For tests that run PyTorch (requirePython('torch')). */
export const requireTorchPython = () => requirePython('torch');

/** A Markdown file of the repository by its path from the root (`README.md`, `docs/weights.md`): the text the tests check. */
export function readDoc(file: string): string {
  return fs.readFileSync(path.join(repoRoot, file), 'utf8');
}

/**
 * The section of `doc` under the heading line `heading` (such as `## ONNX`), up to the next heading of the same
 * or a higher level (or the end); fails when the heading is not there exactly once. Fenced code is not read as headings.
 */
export function docSection(doc: string, heading: string, file = 'the document'): string {
  const level = /^#+/.exec(heading)?.[0].length;
  if (!level) throw new Error(`'${heading}' is not a Markdown heading`);
  const lines = doc.split('\n');
  let fenced = false;
  const headings: { at: number; level: number; text: string }[] = [];
  lines.forEach((line, at) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^(#+) /.exec(line);
    if (m) headings.push({ at, level: m[1]!.length, text: line.trimEnd() });
  });
  const found = headings.filter((h) => h.text === heading);
  if (found.length !== 1) throw new Error(`${file} has ${found.length} '${heading}' headings, not one`);
  const end = headings.find((h) => h.at > found[0]!.at && h.level <= level)?.at ?? lines.length;
  return lines.slice(found[0]!.at + 1, end).join('\n');
}
