// Runs a function with some backend methods replaced by spies (the rest pass through to the
// real backend), restoring the real backend afterwards: how tests count or check kernel calls.
import type { Backend } from '../src/backend/backend.js';
import { backend, setBackend } from '../src/tensor/tensor.js';

/** fn() with `spies` (built from the real backend) in place of those methods. */
export function withSpies(makeSpies: (real: Backend) => Partial<Backend>, fn: () => void): void {
  const real = backend();
  const spies = makeSpies(real);
  setBackend(new Proxy(real, {
    get: (target, p) => {
      if (p in spies) return spies[p as keyof Backend];
      const v = Reflect.get(target, p);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }));
  try {
    fn();
  } finally {
    setBackend(real);
  }
}
