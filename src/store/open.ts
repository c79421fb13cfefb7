// Which store a URL names, as TensorFlow.js picks a model IO handler by scheme:
//   sqlite:PATH                       SQLite file (created if absent)
//   postgres://user@host:port/db      PostgreSQL (also postgresql://; the password may come from
//                                     PGPASSWORD or ~/.pgpass instead of the URL, so it stays out of `ps`)
//   DIR (or file:DIR)                 a folder holding one run (what `train --out DIR` writes)
import fs from 'node:fs';
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

export interface OpenOptions {
  /**
   * Only a store that is already there: a SQLite file or run folder that does not exist is refused
   * instead of created, so the commands that only read or mend a store (status, report, dashboard,
   * export, retry) leave no empty store behind at a mistyped path. PostgreSQL's database must
   * exist anyway.
   */
  existing?: boolean;
}

export async function openStore(url: string, opts: OpenOptions = {}): Promise<RunStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!file) throw new Error(`store URL 'sqlite:' names no file; use sqlite:PATH, e.g. sqlite:runs/experiment.sqlite`);
    if (opts.existing && !fs.existsSync(file))
      throw new Error(`${url}: no such store (${file} does not exist); check the path, or make it with \`googlenet experiment --out DIR\``);
    return SqliteStore.open(file);
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(url);
  }
  const scheme = url.match(/^([a-z][a-z0-9+.-]*):\/\//i)?.[1];
  if (scheme && scheme !== 'file')
    throw new Error(`store URL ${redactUrl(url)}: unknown scheme '${scheme}:'; use a folder, sqlite:PATH or postgres://user@host:port/database`);
  const dir = url.replace(/^file:(\/\/)?/, '');
  if (opts.existing && !fs.existsSync(dir))
    throw new Error(`${dir}: no such run folder; check the path (\`googlenet train --out DIR\` makes one), or give sqlite:PATH or postgres://…`);
  return new FolderStore(dir);
}
