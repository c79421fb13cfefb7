// libpq's password file (~/.pgpass, or the file PGPASSFILE names), read as libpq reads it: lines
// `hostname:port:database:username:password`, a field of `*` matching anything in the first
// four, `\` escaping the next character (`\:`, `\\`), `#` starting a comment; the first matching
// line wins. A file group or others may access is ignored with a warning, as libpq does.
// node-postgres reads it only through a deprecated fallback, so the PostgreSQL store asks here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PgTarget {
  host: string;
  port: number | string;
  database: string;
  user: string;
}

/** The password file libpq would read: PGPASSFILE, else ~/.pgpass. */
export const pgpassFile = () => process.env.PGPASSFILE || path.join(os.homedir(), '.pgpass');

const warned = new Set<string>();
const ANY = Symbol('*');

/** A line's fields, split on unescaped colons; each its text with the escapes removed, or ANY for an unescaped `*`. */
function fields(line: string): (string | typeof ANY)[] {
  const out: (string | typeof ANY)[] = [];
  let cur = '';
  let raw = '';
  const push = () => out.push(raw === '*' ? ANY : cur);
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === ':') {
      push();
      cur = raw = '';
      continue;
    }
    if (ch === '\\' && i + 1 < line.length) {
      raw += ch;
      i++;
    }
    cur += line[i];
    raw += line[i];
  }
  push();
  return out;
}

/** The password for `target` from the password file, or undefined (no file, no match, or a file others may read). */
export function pgpassPassword(target: PgTarget, file = pgpassFile()): string | undefined {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return undefined;
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      if (!warned.has(file)) {
        warned.add(file);
        process.stderr.write(`WARNING: password file "${file}" has group or world access; permissions should be u=rw (0600) or less\n`);
      }
      return undefined;
    }
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // libpq matches a Unix-socket connection (a host that is a path, or none) as 'localhost'
  const host = !target.host || target.host.startsWith('/') ? 'localhost' : target.host;
  const want = [host, String(target.port), target.database, target.user];
  for (const raw of text.split(/\r?\n/)) {
    if (!raw || raw.startsWith('#')) continue;
    const f = fields(raw);
    if (f.length < 5) continue;
    if (want.every((w, i) => f[i] === ANY || f[i] === w)) return f[4] === ANY ? '*' : f[4];
  }
  return undefined;
}
