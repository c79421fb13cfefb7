// Reads, disk space and write failures, said once for every file: a checkpoint, run.json, a saved
// model, the results, the SQLite database, a download. A failed write becomes one line naming
// the path, what the file system said in words (full, over quota, read-only, not permitted, no
// such folder), the sizes when known, and the fix: free space, or another --out / --data-dir.
import fs from 'node:fs';
import path from 'node:path';

/** A file's bytes, or one line naming the file: missing, or why it cannot be read. */
export function readFileBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw readFailure(file, e);
  }
}

/** The error to throw when `file` cannot be opened or read: missing (check the path), or the system's reason. */
export function readFailure(file: string, e: unknown): Error {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Error(`${file}: no such file; check the path`);
  return new Error(`${file}: cannot read (${(e as Error).message})`);
}

/** `19.7 MB` */
export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Bytes an unprivileged writer may still use on the file system holding `p` (its nearest existing folder), or null when unknown. */
export function freeBytes(p: string): number | null {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    try {
      const s = fs.statfsSync(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dir === path.dirname(dir)) return null;
    }
  }
}

/** `(19.7 MB needed, 3.1 MB free)`, of what is known. */
function sizes(needed: number | null, free: number | null): string {
  const known = [needed !== null && `${megabytes(needed)} needed`, free !== null && `${megabytes(free)} free`].filter(Boolean);
  return known.length ? ` (${known.join(', ')})` : '';
}

const freeSomeSpace = (flag: string) => `free some space there or choose another ${flag}`;

/** Throws one line unless the file system holding `dir` has `needed` bytes free for `what`; unknown free space passes. */
export function requireFreeSpace(dir: string, needed: number, what: string, flag = '--out'): void {
  const free = freeBytes(dir);
  if (free !== null && free < needed) throw new Error(`${dir}: not enough free space on its file system for ${what}${sizes(needed, free)}; ${freeSomeSpace(flag)}`);
}

/** What these codes mean to a user, and the fix, from a write or from SQLite (whose extended codes, SQLITE_READONLY_…, count as their base). */
const REASONS: Record<string, [reason: string, fix: string]> = {
  EROFS: ['the file system is read-only', 'choose another'],
  SQLITE_READONLY: ['the file or its folder is read-only', 'make it writable or choose another'],
  EACCES: ['permission denied', 'make it writable or choose another'],
  EPERM: ['permission denied', 'make it writable or choose another'],
  ENOENT: ['its folder does not exist', 'create it or choose another'],
  ENOTDIR: ['a part of its path is not a folder', 'choose another'],
  EISDIR: ['a folder is in its place', 'move it away or choose another'],
  ENOTEMPTY: ['a folder is in its place', 'move it away or choose another'],
};

/**
 * The error to throw for a failed write of `file` (`needed` bytes, when known): one line, as
 * above. Call it after removing the partial file, so the free space it reports is what is left.
 */
export function writeFailure(file: string, e: unknown, o: { needed?: number; flag?: string } = {}): Error {
  const code = String((e as { code?: unknown }).code ?? '');
  const flag = o.flag ?? '--out';
  const needed = o.needed ?? null;
  let line: string;
  if (code === 'ENOSPC' || code.startsWith('SQLITE_FULL')) line = `the file system is full${sizes(needed, freeBytes(file))}; ${freeSomeSpace(flag)}`;
  else if (code === 'EDQUOT') line = `the disk quota is exceeded${sizes(needed, null)}; ${freeSomeSpace(flag)}`;
  else {
    const [reason, fix] = Object.entries(REASONS).find(([k]) => code === k || code.startsWith(`${k}_`))?.[1] ?? [(e as Error).message ?? String(e), 'choose another'];
    line = `${reason}; ${fix} ${flag}`;
  }
  return new Error(`${file}: cannot write: ${line}`, { cause: e });
}

/**
 * Writes `parts` to `file` atomically: a temporary file beside it, fsync, rename. On failure the
 * temporary file is removed, the previous `file` is as it was, and the error is writeFailure's line.
 */
export function writeFileAtomic(file: string, parts: Uint8Array[], flag = '--out'): void {
  const tmp = path.join(path.dirname(file), `${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    for (const bytes of parts) for (let pos = 0; pos < bytes.length; ) pos += fs.writeSync(fd, bytes, pos);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true }); // before writeFailure measures the free space
    throw writeFailure(file, e, { needed: parts.reduce((s, b) => s + b.length, 0), flag });
  }
}
