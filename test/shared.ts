// `{ dir, opts }` for tests that read ../shared: pass opts to test() so it skips (with the
// reason) when ../shared is absent; under CI=true requireShared() throws instead.
import path from 'node:path';
import { requireShared } from './helpers.js';

const shared = requireShared();

export const sharedOpts: { skip?: string } = 'skip' in shared ? { skip: shared.skip } : {};

export function sharedPath(...parts: string[]): string {
  if (!('dir' in shared)) throw new Error('../shared is absent');
  return path.join(shared.dir, ...parts);
}
