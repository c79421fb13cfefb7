// The page's files: a fixed allow-list of URL → file, read once when the server starts, so a
// request never names a file. index.html and style.css are in src/dashboard/static (shipped in the
// package as they are); the page's script is tsc's output beside this file (page/*.js); vega,
// vega-lite, vega-interpreter and vega-embed are served from the installed packages' own builds
// rather than copied at build time: no build step to forget, and always the versions installed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Asset { body: Buffer; type: string; /** from a package: cache it; ours: revalidate */ vendor: boolean }

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
};

/** The browser builds (UMD, each a global) the page loads, in this order. */
export const VENDOR: Record<string, [pkg: string, file: string]> = {
  '/vendor/vega.min.js': ['vega', 'build/vega.min.js'],
  '/vendor/vega-lite.min.js': ['vega-lite', 'build/vega-lite.min.js'],
  '/vendor/vega-interpreter.min.js': ['vega-interpreter', 'build/vega-interpreter.min.js'],
  '/vendor/vega-embed.min.js': ['vega-embed', 'build/vega-embed.min.js'],
};

const here = path.dirname(fileURLToPath(import.meta.url));
/** src/dashboard/static, from dist/src/dashboard. */
export const STATIC_DIR = path.resolve(here, '..', '..', '..', 'src', 'dashboard', 'static');
export const PAGE_DIR = path.join(here, 'page');

/** A package's folder: its resolved entry point up to node_modules/<name> (exports may hide subpaths, and builds carry package.json files of their own). */
function packageDir(name: string): string {
  const entry = createRequire(import.meta.url).resolve(name);
  const at = entry.lastIndexOf(`${path.sep}node_modules${path.sep}${name}${path.sep}`);
  if (at < 0) throw new Error(`cannot find the folder of the installed package ${name} (resolved to ${entry}); reinstall googlenet's dependencies`);
  return entry.slice(0, at + `${path.sep}node_modules${path.sep}${name}`.length);
}

function read(file: string, vendor: boolean): Asset {
  try {
    return { body: fs.readFileSync(file), type: TYPES[path.extname(file)]!, vendor };
  } catch (e) {
    throw new Error(`dashboard file ${file} is missing (${(e as NodeJS.ErrnoException).code}); rebuild with npx tsc -p tsconfig.json or reinstall googlenet`);
  }
}

/** Every file the server may send, by URL path. */
export function loadAssets(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  m.set('/', read(path.join(STATIC_DIR, 'index.html'), false));
  m.set('/style.css', read(path.join(STATIC_DIR, 'style.css'), false));
  for (const f of fs.readdirSync(PAGE_DIR).filter((f) => f.endsWith('.js'))) m.set(`/app/${f}`, read(path.join(PAGE_DIR, f), false));
  for (const [url, [pkg, file]] of Object.entries(VENDOR)) m.set(url, read(path.join(packageDir(pkg), file), true));
  return m;
}
