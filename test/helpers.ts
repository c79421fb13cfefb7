// Shared test helpers. Tests compile to dist/test/, so the repo root is two levels up from this file.
import * as fs from 'node:fs';
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

/** Debian's python3-torch lives here; the `python3` first on PATH may lack torch. */
export const TORCH_PYTHON = '/usr/bin/python3';

let torchPython: { ok: true } | { skip: string } | null = null;

/**
 * For tests that run PyTorch: `{ok}` when /usr/bin/python3 imports torch, `{skip}` otherwise.
 * Under CI (CI=true) a missing torch is an error (scripts/setup-debian.sh --tests installs python3-torch).
 */
export function requireTorchPython(): { ok: true } | { skip: string } {
  if (torchPython) return torchPython;
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'pipe' });
  if (r.status === 0) torchPython = { ok: true };
  else if (process.env.CI === 'true') throw new Error(`${TORCH_PYTHON} cannot import torch, which is required under CI (CI=true); install python3-torch (scripts/setup-debian.sh --tests does)`);
  else torchPython = { skip: `${TORCH_PYTHON} cannot import torch (apt-get install python3-torch); skipping the PyTorch checks` };
  return torchPython;
}

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
