// Shared test helpers. Tests compile to dist/test/, so the repo root is two levels up from this file.
import * as fs from 'node:fs';
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
