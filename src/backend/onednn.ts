// The oneDNN backend: the native addon built by `npm install` from native/.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import type { Backend } from './backend.js';

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

export function loadOneDnn(): Backend {
  const addon = createRequire(import.meta.url)(findAddon()) as Omit<Backend, 'name'>;
  return { ...addon, name: 'onednn' };
}
