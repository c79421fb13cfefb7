// Download, verify and extract the official CIFAR archives (torchvision's `download=True`,
// done carefully), in either form: the binary files (the default) or the Python pickles
// (torchvision's own archives, `format: 'python'`). The archive streams to a temporary file
// while its md5 is computed, is checked against the published size and md5, only the
// dataset's own files are extracted (into a temporary folder), each data file is checked to
// hold whole records with labels in range (the pickles through the allow-listed reader),
// and the folder is published with one rename. Any failure removes every temporary file
// and folder, so the data folder is left as it was; an existing dataset folder is the
// cache and is never downloaded over.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { readFileBytes, requireFreeSpace, writeFailure } from '../io/disk.js';
import {
  cifarFolders, DATASETS, FORMATS, labelProblem, layoutOf, parseClassNames, readPythonBatch, readPythonNames, recordBytes, wholeRecords,
  type DataFormat, type DatasetName,
} from './cifar.js';
import { clock, display } from '../util/display.js';

export interface ArchiveInfo { file: string; bytes: number; md5: string }

/**
 * The official archives (https://www.cs.toronto.edu/~kriz/cifar.html) of each dataset in each form,
 * with the md5s torchvision checks (the python ones are the archives torchvision downloads).
 */
export const ARCHIVES: Record<DatasetName, Record<DataFormat, ArchiveInfo>> = {
  cifar10: {
    binary: { file: 'cifar-10-binary.tar.gz', bytes: 170052171, md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
    python: { file: 'cifar-10-python.tar.gz', bytes: 170498071, md5: 'c58f30108f718f92721af3b95e74349a' },
  },
  cifar100: {
    binary: { file: 'cifar-100-binary.tar.gz', bytes: 168513733, md5: '03b5dce01913d631647c71ecec9e9cb8' },
    python: { file: 'cifar-100-python.tar.gz', bytes: 169001437, md5: 'eb9058c3a382ffc7106e4002c42a8d85' },
  },
};

export const DEFAULT_BASE_URL = 'https://www.cs.toronto.edu/~kriz/';

export interface DownloadOptions {
  /**
   * Which form to fetch. Given, that form's folder is the one looked for and made (the other
   * form's folder does not count); absent, a folder of either form is used as is and the
   * binary archive is fetched when there is none.
   */
  format?: DataFormat;
  /**
   * Where to get the archive: a base URL (the archive's file name is appended), a full URL
   * ending in .tar.gz / .tgz (http: and https:), or a local archive (a path, a folder
   * holding it, or a file: URL), which is verified and extracted without downloading.
   */
  mirror?: string;
  /** Test-only override of the expected md5 (the CLI exposes it as a hidden option). */
  expectMd5?: string;
  /** Override of the expected size in bytes; null: don't check the size (used with expectMd5 in tests). */
  expectBytes?: number | null;
  /** A progress bar on stderr (bytes, bytes/s, ETA). Default: stderr is a terminal (and neither --json nor --quiet). */
  progress?: boolean;
  /** Connect and idle timeout in ms (no response, or no data, for this long fails). Default 20000. */
  timeoutMs?: number;
  /** One-line status messages. Default: stderr, through the process's display. */
  log?: (line: string) => void;
}

const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 20000;
const USER_AGENT = 'googlenet-cifar-download/0.1 (node)';

/** The archive members that are extracted: the split files and the class-name files (and CIFAR-10's readme). */
export function expectedMembers(dataset: DatasetName, format: DataFormat = 'binary'): string[] {
  const info = DATASETS[dataset];
  const names = dataFiles(dataset, format);
  if (format === 'python') names.push(info.python.meta);
  else {
    names.push(info.classNamesFile);
    if (info.coarseNamesFile) names.push(info.coarseNamesFile);
  }
  if (dataset === 'cifar10') names.push('readme.html');
  return names;
}

/** The files holding a form's records, train then test. */
function dataFiles(dataset: DatasetName, format: DataFormat): string[] {
  const { files } = layoutOf(dataset, format);
  return [...files.train, ...files.test];
}

/**
 * The folder ensureDataset would return at once, without a request, or null: with a format,
 * that form's folder when it exists; without, the one readCifar reads (either form).
 */
export function presentFolder(dataset: DatasetName, dataDir: string, format?: DataFormat): string | null {
  const root = path.resolve(dataDir);
  if (format === undefined) return cifarFolders(root, dataset).used;
  const target = path.join(root, layoutOf(dataset, format).folder);
  return fs.existsSync(target) ? target : null;
}

/** md5 (hex) of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Returns the dataset's folder (e.g. `<dataDir>/cifar-10-batches-bin`, or with `format: 'python'`
 * `<dataDir>/cifar-10-batches-py`). If a folder exists (presentFolder) it is the cache and is
 * returned at once, without any request. Otherwise the form's archive is
 * downloaded (or taken from a local `mirror`, or from `<dataDir>/<archive>` when a
 * previous manual download left it there), verified, extracted and renamed into place.
 */
export async function ensureDataset(dataset: DatasetName, dataDir: string, opts: DownloadOptions = {}): Promise<string> {
  const info = DATASETS[dataset];
  if (!info) throw new Error(`unknown dataset '${String(dataset)}'; expected one of ${Object.keys(DATASETS).join(', ')}`);
  const format = opts.format ?? 'binary';
  if (!FORMATS.includes(format)) throw new Error(`unknown format '${String(format)}'; expected one of ${FORMATS.join(', ')}`);
  const archive = ARCHIVES[dataset][format];
  const folder = layoutOf(dataset, format).folder;
  const root = path.resolve(dataDir);
  const target = path.join(root, folder);
  // an existing folder is read as is (readCifar), never downloaded over
  const present = presentFolder(dataset, root, opts.format);
  if (present) return present;

  const log = opts.log ?? ((line: string) => display.info(line));
  const expectMd5 = (opts.expectMd5 ?? archive.md5).toLowerCase();
  const expectBytes = opts.expectBytes === undefined ? archive.bytes : opts.expectBytes;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const progress = opts.progress ?? display.bars;

  let source = resolveSource(opts.mirror, archive.file);
  if (source.kind === 'url' && opts.mirror === undefined) {
    // a copy of the archive already in the data folder (a manual or earlier download) is used, as torchvision does
    const local = path.join(root, archive.file);
    if (fs.existsSync(local) && fs.statSync(local).isFile()) source = { kind: 'file', path: local };
  }

  let created: string | undefined;
  try {
    created = fs.mkdirSync(root, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the data folder ${root}: ${errText(e)}`);
  }
  /** A failed download leaves no folder it made behind (only those still empty: another process may be filling one). */
  const removeCreated = () => {
    if (!created) return;
    for (let dir = root; ; dir = path.dirname(dir)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        break;
      }
      if (path.resolve(dir) === path.resolve(created)) break;
    }
  };
  try {
    checkFreeSpace(root, source.kind === 'url' ? expectBytes : null, expectBytes);
  } catch (e) {
    removeCreated();
    throw e;
  }

  const temps = new TempFiles();
  let done = false;
  try {
    let archivePath: string;
    let label: string; // how error messages name the archive
    if (source.kind === 'url') {
      label = `download of ${source.url.href}`;
      archivePath = path.join(root, `.${archive.file}.part-${process.pid}-${randomBytes(4).toString('hex')}`);
      temps.add(archivePath);
      log(`downloading ${source.url.href} -> ${root}`);
      const got = await download(source.url, archivePath, { label, expectBytes, timeoutMs, progress, name: archive.file });
      verify(`${label} failed`, got, expectBytes, expectMd5, 'the download is corrupt or not the official archive — run the command again to retry, or pass --mirror URL');
      log(`verified md5 ${got.md5} (${got.bytes} bytes)`);
    } else {
      archivePath = source.path;
      label = archivePath;
      if (!fs.existsSync(archivePath) || !fs.statSync(archivePath).isFile()) throw new Error(`${archivePath}: no such archive file`);
      log(`using local archive ${archivePath} -> ${root}`);
      const got = { bytes: fs.statSync(archivePath).size, md5: await md5File(archivePath) };
      verify(label, got, expectBytes, expectMd5, 'the file is corrupt or not the official archive — delete or replace it, or pass --mirror URL');
      log(`verified md5 ${got.md5} (${got.bytes} bytes)`);
    }

    const extractDir = path.join(root, `.extract-${process.pid}-${randomBytes(4).toString('hex')}`);
    temps.add(extractDir);
    fs.mkdirSync(extractDir);
    const files = await extractMembers(archivePath, extractDir, dataset, format, label);
    const staged = path.join(extractDir, folder);
    if (format === 'python') validatePythonFolder(staged, dataset, label);
    else validateFolder(staged, dataset, label);
    try {
      fs.renameSync(staged, target);
    } catch (e) {
      // another process published the same dataset meanwhile: theirs is as good as ours
      if (!fs.existsSync(target)) throw new Error(`cannot move the extracted files into ${target}: ${errText(e)}`);
    }
    log(`extracted ${files.length} files into ${target}`);
    done = true;
    return target;
  } finally {
    temps.removeAll();
    if (!done) removeCreated();
  }
}

// ---------------------------------------------------------------------------------------------
// where the archive comes from

type Source = { kind: 'url'; url: URL } | { kind: 'file'; path: string };

function resolveSource(mirror: string | undefined, file: string): Source {
  const spec = mirror ?? DEFAULT_BASE_URL;
  if (/^https?:\/\//i.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new Error(`invalid mirror URL '${spec}'`);
    }
    if (!/\.(tar\.gz|tgz)$/i.test(url.pathname)) {
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      url = new URL(encodeURIComponent(file), url);
    }
    return { kind: 'url', url };
  }
  let local: string;
  if (/^file:/i.test(spec)) {
    try {
      local = fileURLToPath(spec);
    } catch (e) {
      throw new Error(`invalid mirror URL '${spec}': ${errText(e)}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new Error(`unsupported mirror URL '${spec}': use an http:// or https:// URL, or the path of a downloaded ${file}`);
  } else {
    local = spec;
  }
  local = path.resolve(local);
  if (fs.existsSync(local) && fs.statSync(local).isDirectory()) local = path.join(local, file);
  return { kind: 'file', path: local };
}

function checkFreeSpace(dir: string, downloadBytes: number | null, archiveBytes: number | null): void {
  if (archiveBytes === null) return;
  // the archive (when downloaded) plus its contents, which gzip shrinks by only a few percent
  requireFreeSpace(dir, (downloadBytes ?? 0) + Math.ceil(archiveBytes * 1.1), 'the dataset', '--data-dir');
}

function verify(label: string, got: { bytes: number; md5: string }, expectBytes: number | null, expectMd5: string, advice: string): void {
  if (expectBytes !== null && got.bytes !== expectBytes)
    throw new Error(`${label}: size ${got.bytes} bytes does not match ${expectBytes}; ${advice}`);
  if (got.md5 !== expectMd5)
    throw new Error(`${label}: md5 ${got.md5} does not match ${expectMd5}; ${advice}`);
}

// ---------------------------------------------------------------------------------------------
// HTTP(S)

interface DownloadContext {
  label: string;
  expectBytes: number | null;
  timeoutMs: number;
  progress: boolean;
  name: string;
}

class TimeoutError extends Error {}

function request(url: URL, ctx: DownloadContext): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.get(url, { headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' } }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    // covers DNS, connect, TLS and waiting for the response headers
    const timer = setTimeout(() => req.destroy(new TimeoutError(`timed out: no response within ${secs(ctx.timeoutMs)}`)), ctx.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function download(start: URL, dest: string, ctx: DownloadContext): Promise<{ bytes: number; md5: string }> {
  const fail = (why: string, e?: unknown) => new Error(`${ctx.label} failed: ${why}`, e === undefined ? undefined : { cause: e });
  let url = start;
  let res: http.IncomingMessage;
  for (let hops = 0; ; hops++) {
    try {
      res = await request(url, ctx);
    } catch (e) {
      throw fail(connectionError(e, url), e);
    }
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status)) {
      res.resume();
      const location = res.headers.location;
      if (!location) throw fail(`HTTP ${status} redirect without a Location header`);
      if (hops >= MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects (the last to ${location})`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw fail(`HTTP ${status} redirect to an invalid URL '${location}'`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw fail(`redirected to unsupported URL ${next.href}`);
      url = next;
      continue;
    }
    if (status !== 200) {
      res.resume();
      const where = url.href === start.href ? '' : ` (redirected to ${url.href})`;
      const hint = status === 404 || status === 410 ? 'check the URL, or pass --mirror URL'
        : status >= 500 ? 'the server has a problem; try again later, or pass --mirror URL'
        : 'check the URL, or pass --mirror URL';
      throw fail(`HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + `${where}; ${hint}`);
    }
    break;
  }

  const lengthHeader = res.headers['content-length'];
  const contentLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  if (contentLength !== undefined && ctx.expectBytes !== null && contentLength !== ctx.expectBytes) {
    res.destroy();
    throw fail(`the server reports ${contentLength} bytes, expected ${ctx.expectBytes}; this is not the official archive — check the URL, or pass --mirror URL`);
  }
  const total = contentLength ?? ctx.expectBytes ?? undefined;
  const ofTotal = (n: number) => (total !== undefined ? `${n} of ${total} bytes` : `${n} bytes`);

  const hash = createHash('md5');
  let bytes = 0;
  const bar = ctx.progress ? new ProgressBar(ctx.name, total) : null;
  let idle: NodeJS.Timeout | undefined;
  const kick = () => {
    clearTimeout(idle);
    idle = setTimeout(() => res.destroy(new TimeoutError(`timed out: no data for ${secs(ctx.timeoutMs)}`)), ctx.timeoutMs);
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      hash.update(chunk);
      kick();
      bar?.update(bytes);
      cb(null, chunk);
    },
  });
  let writeError: unknown;
  const out = fs.createWriteStream(dest, { flags: 'wx' });
  out.on('error', (e) => (writeError ??= e));
  kick();
  try {
    await pipeline(res, counter, out);
  } catch (e) {
    if (writeError !== undefined) throw new Error(`${ctx.label} failed: ${writeFailure(dest, writeError, { needed: ctx.expectBytes ?? undefined, flag: '--data-dir' }).message}`, { cause: writeError });
    if (e instanceof TimeoutError) throw fail(`${e.message} after ${ofTotal(bytes)}; check your network and run the command again to retry`, e);
    throw fail(`connection closed after ${ofTotal(bytes)} (${errText(e)}); run the command again to retry`, e);
  } finally {
    clearTimeout(idle);
    bar?.stop(bytes);
  }
  if (!res.complete || (contentLength !== undefined && bytes !== contentLength))
    throw fail(`connection closed after ${ofTotal(bytes)}; run the command again to retry`);
  return { bytes, md5: hash.digest('hex') };
}

function connectionError(e: unknown, url: URL): string {
  if (e instanceof TimeoutError) return `${e.message}; check your network connection and run the command again, or pass --mirror URL`;
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? '';
  const host = url.host;
  const proxy = process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy;
  const proxyNote = proxy ? ` (note: proxy environment variables are not used; download ${url.pathname.split('/').pop()} yourself and pass --mirror <path of the file>)` : '';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${url.hostname} (${code}); check your network connection, or pass --mirror URL${proxyNote}`;
    case 'ECONNREFUSED':
      return `connection refused by ${host} (ECONNREFUSED); check the URL and your network, then run the command again${proxyNote}`;
    case 'ECONNRESET':
      return `connection reset by ${host} before a response (ECONNRESET); run the command again to retry${proxyNote}`;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return `cannot reach ${host} (${code}); check your network connection, or pass --mirror URL${proxyNote}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `TLS certificate error: the certificate of ${url.hostname} is not for that name (${code}); check the URL`;
  if (/CERT|SSL|TLS|_SIGNATURE|SELF_SIGNED/.test(code))
    return `TLS certificate error from ${host} (${code}: ${errText(e)}); if your network uses its own certificate authority, set NODE_EXTRA_CA_CERTS to its certificate file`;
  return `${errText(e)}${code && !errText(e).includes(code) ? ` (${code})` : ''}${proxyNote}`;
}

/** The download's bar: MB so far (of the total, when known), MB/s and ETA. */
class ProgressBar {
  private started = Date.now();

  constructor(private readonly name: string, private readonly total: number | undefined) {
    this.update(0);
  }

  update(bytes: number): void {
    const s = (Date.now() - this.started) / 1000;
    const rate = s > 0.2 ? bytes / s : 0;
    const known = this.total !== undefined && this.total > 0;
    display.progress({
      label: this.name, done: bytes, total: known ? this.total! : 0,
      count: known ? `${mb(bytes)}/${mb(this.total!)} MB` : `${mb(bytes)} MB`,
      fields: [rate ? `${(rate / 1e6).toFixed(1)} MB/s` : '- MB/s', ...(known ? [`ETA ${rate ? clock((this.total! - bytes) / rate) : '-'}`] : [])],
    });
  }

  stop(bytes: number): void {
    this.update(bytes);
    display.progress(null);
  }
}

// ---------------------------------------------------------------------------------------------
// extraction

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const LINK_TYPES = new Set(['Link', 'SymbolicLink']);

/**
 * Extracts `<folder>/<expected member>` entries of a .tar.gz into `dest` (which must be an
 * empty folder). Others are skipped; an absolute or `..` path or a link anywhere refuses the
 * whole archive. Writes every file itself (never links, modes or owners from the archive).
 */
async function extractMembers(archive: string, dest: string, dataset: DatasetName, format: DataFormat, label: string): Promise<string[]> {
  const { folder } = layoutOf(dataset, format);
  const wanted = new Set(expectedMembers(dataset, format));
  const folderDir = path.join(dest, folder);
  fs.mkdirSync(folderDir);
  const written = new Set<string>();
  const writes: Promise<void>[] = [];
  const open = new Set<fs.WriteStream>();
  const src = fs.createReadStream(archive);
  let settled = false;
  let settle!: (e?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (e?: unknown) => {
      if (settled) return;
      settled = true;
      if (e === undefined) resolve();
      else {
        // stop reading, and close the files being written (their entries will never end)
        src.unpipe();
        src.destroy();
        for (const out of open) out.destroy();
        reject(e);
      }
    };
  });
  const refuse = (why: string) => settle(new Error(`${label}: ${why}; refusing to extract`));

  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (settled) {
        entry.resume();
        return;
      }
      const raw = entry.path;
      const parts = raw.split(/[\\/]+/);
      if (raw.startsWith('/') || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw) || parts.includes('..')) {
        entry.resume();
        return refuse(`archive member '${raw}' escapes the target folder`);
      }
      if (LINK_TYPES.has(entry.type)) {
        entry.resume();
        return refuse(`archive member '${raw}' is a ${entry.type === 'Link' ? 'hard' : 'symbolic'} link (to '${entry.linkpath ?? ''}')`);
      }
      const rel = parts.filter((p) => p !== '' && p !== '.');
      const member = rel.length === 2 && rel[0] === folder && wanted.has(rel[1]) ? rel[1] : null;
      if (member === null) {
        entry.resume(); // the dataset folder itself, or something that is not ours: skipped
        return;
      }
      if (!FILE_TYPES.has(entry.type)) {
        entry.resume();
        return refuse(`archive member '${raw}' is a ${entry.type}, not a regular file`);
      }
      if (written.has(member)) {
        entry.resume();
        return refuse(`archive member '${raw}' appears twice`);
      }
      written.add(member);
      const file = path.join(folderDir, member);
      const out = fs.createWriteStream(file, { flags: 'wx' });
      open.add(out);
      writes.push(new Promise<void>((resolve, reject) => {
        out.on('close', () => {
          open.delete(out);
          resolve();
        });
        out.on('error', (e) => {
          reject(e);
          settle(new Error(`${label}: ${writeFailure(file, e, { flag: '--data-dir' }).message}`, { cause: e }));
        });
      }));
      entry.pipe(out);
    },
  });
  parser.on('error', (e: unknown) => settle(new Error(`${label}: the archive cannot be read (${errText(e)}); it is corrupt — run the command again to download it again`, { cause: e })));
  parser.on('end', () => settle());
  src.on('error', (e) => settle(new Error(`cannot read ${archive}: ${errText(e)}`, { cause: e })));
  src.pipe(parser);
  try {
    await done;
  } finally {
    // every write stream has finished (or failed) before the caller removes the folder
    await Promise.allSettled(writes);
  }
  await Promise.all(writes);
  const data = dataFiles(dataset, format);
  if (!data.some((f) => written.has(f)))
    throw new Error(`${label}: the archive holds none of the dataset's files (${folder}/${data.join(', ')}); it is not the ${dataset} ${format} archive — check --mirror`);
  return [...written];
}

/** Every .bin holds whole records with labels in range; class-name files have the right number of names. */
function validateFolder(dir: string, dataset: DatasetName, label: string): void {
  const info = DATASETS[dataset];
  const bad = (file: string, why: string) => new Error(`${label}: ${info.folder}/${file} ${why}; the archive is corrupt — run the command again to download it again`);
  const bytes = recordBytes(dataset);
  const perChunk = Math.max(1, Math.floor((4 << 20) / bytes));
  const buf = Buffer.alloc(perChunk * bytes);
  for (const name of [...info.files.train, ...info.files.test]) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) continue;
    const size = fs.statSync(file).size;
    if (!wholeRecords(dataset, size)) throw bad(name, `is ${size} bytes, not a whole number of ${bytes}-byte records`);
    const fd = fs.openSync(file, 'r');
    try {
      for (let pos = 0; pos < size; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
        if (n <= 0 || n % bytes !== 0) throw bad(name, 'could not be read back');
        const badLabel = labelProblem(dataset, buf.subarray(0, n), pos / bytes);
        if (badLabel) throw bad(name, badLabel);
        pos += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const nameFiles: [string | undefined, number | undefined][] = [[info.classNamesFile, info.classes], [info.coarseNamesFile, info.coarseClasses]];
  for (const [name, count] of nameFiles) {
    if (!name || count === undefined) continue;
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) continue;
    const names = parseClassNames(fs.readFileSync(file, 'utf8'));
    if (names.length !== count) throw bad(name, `has ${names.length} class names, expected ${count}`);
  }
}

/** The python form's check: every batch file parses (allow-listed) into whole records with labels in range, the meta file has the right number of names. */
function validatePythonFolder(dir: string, dataset: DatasetName, label: string): void {
  const info = DATASETS[dataset];
  const fix = 'the archive is corrupt — run the command again to download it again';
  const name = (file: string) => `${label}: ${info.python.folder}/${file}`;
  const bytesOf = (file: string) => (fs.existsSync(path.join(dir, file)) ? readFileBytes(path.join(dir, file)) : null);
  for (const file of dataFiles(dataset, 'python')) {
    const bytes = bytesOf(file);
    if (bytes) readPythonBatch(bytes, name(file), dataset, fix);
  }
  const meta = bytesOf(info.python.meta);
  if (!meta) return;
  readPythonNames(meta, name(info.python.meta), dataset, false, fix);
  if (info.coarseClasses) readPythonNames(meta, name(info.python.meta), dataset, true, fix);
}

// ---------------------------------------------------------------------------------------------
// temporary files: removed when the operation ends, and also on Ctrl-C / SIGTERM / exit

class TempFiles {
  private paths = new Set<string>();
  private onExit = () => this.removeAll();
  private signalHandlers: [NodeJS.Signals, () => void][] = [];

  add(p: string): void {
    if (this.paths.size === 0) this.install();
    this.paths.add(p);
  }

  removeAll(): void {
    for (const p of this.paths) {
      try {
        fs.rmSync(p, { recursive: true, force: true });
      } catch {
        // best effort: nothing else can be done about it here
      }
    }
    this.paths.clear();
    this.uninstall();
  }

  private install(): void {
    process.on('exit', this.onExit);
    for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
      // only where the signal would otherwise end the process: clean up, then let it end it
      if (process.listenerCount(sig) > 0) continue;
      const handler = () => {
        this.removeAll();
        process.kill(process.pid, sig);
      };
      process.once(sig, handler);
      this.signalHandlers.push([sig, handler]);
    }
  }

  private uninstall(): void {
    process.off('exit', this.onExit);
    for (const [sig, handler] of this.signalHandlers) process.off(sig, handler);
    this.signalHandlers = [];
  }
}

// ---------------------------------------------------------------------------------------------

function errText(e: unknown): string {
  if (e instanceof Error) return e.message || (e as NodeJS.ErrnoException).code || e.name;
  return String(e);
}

function secs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
