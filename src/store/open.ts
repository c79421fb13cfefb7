// Which store a URL names, as TensorFlow.js picks a model IO handler by scheme:
//   sqlite:PATH                       SQLite file (created if absent)
//   postgres://user@host:port/db      PostgreSQL (also postgresql://; the password may come from
//                                     PGPASSWORD or ~/.pgpass instead of the URL, so it stays out of `ps`)
//   DIR (or file:DIR)                 a folder holding one run (what `train --out DIR` writes)
import { FolderStore } from './folder.js';
import { SqliteStore } from './sqlite.js';
import type { RunStore } from './store.js';

/** The environment variable giving the store when --store is not set. */
export const STORE_ENV = 'GOOGLENET_STORE';

/** The URL with any password replaced by ***: what messages, `status` and results.json may show. */
export function redactUrl(url: string): string {
  const m = url.match(/^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i);
  if (!m) return url;
  const rest = m[2];
  // the host follows the last '@' before any query: a password may hold raw '/' or '@'
  const at = rest.slice(0, rest.search(/[?#]|$/)).lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return colon < 0 ? url : `${m[1]}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

export async function openStore(url: string): Promise<RunStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!file) throw new Error(`store URL 'sqlite:' names no file; use sqlite:PATH, e.g. sqlite:runs/experiment.sqlite`);
    return SqliteStore.open(file);
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(url);
  }
  const scheme = url.match(/^([a-z][a-z0-9+.-]*):\/\//i)?.[1];
  if (scheme && scheme !== 'file')
    throw new Error(`store URL ${redactUrl(url)}: unknown scheme '${scheme}:'; use a folder, sqlite:PATH or postgres://user@host:port/database`);
  return new FolderStore(url.replace(/^file:(\/\/)?/, ''));
}
