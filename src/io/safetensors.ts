// Reader/writer for the safetensors format (https://github.com/huggingface/safetensors):
// 8-byte little-endian u64 header length N, N bytes of JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`,
// then the raw little-endian tensor data; offsets are relative to the start of the data.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { readFailure, readFileBytes, writeFileAtomic } from './disk.js';
import { hostTensorProblem, ITEM_SIZE, numel, type DType, type HostTensor } from '../tensor/host.js';

const SUPPORTED = Object.keys(ITEM_SIZE).join(', ');

// Typed arrays use host byte order; the format is little-endian. Every platform Node runs on today is LE.
if (os.endianness() !== 'LE') throw new Error('safetensors: big-endian hosts are not supported');

export function readSafetensors(file: string): Map<string, HostTensor> {
  const buf = readFileBytes(file);
  return parseSafetensors(buf, file);
}

/** The `__metadata__` string map of a file (reading only its header); {} when absent. */
export function readSafetensorsMetadata(file: string): Record<string, string> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw readFailure(file, e);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${file}: file too short for a safetensors header; re-download or re-save it`);
    const n = Number(head.readBigUInt64LE(0));
    if (n > size - 8) throw new Error(`${file}: header length ${n} is beyond the end of the file; the file is truncated or not safetensors`);
    const header = Buffer.alloc(n);
    fs.readSync(fd, header, 0, n, 8);
    let parsed: { __metadata__?: Record<string, string> };
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch (e) {
      throw new Error(`${file}: header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
    }
    return parsed.__metadata__ ?? {};
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The `__metadata__` of safetensors bytes, or {} when absent or when the header cannot be read
 * (parseSafetensors then names what is wrong with the file).
 */
export function safetensorsMetadata(data: Uint8Array): Record<string, string> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 8) return {};
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(bytes.length - 8)) return {};
  try {
    return (JSON.parse(bytes.toString('utf8', 8, 8 + Number(n))) as { __metadata__?: Record<string, string> }).__metadata__ ?? {};
  } catch {
    return {};
  }
}

/** The tensors of a safetensors file's bytes (a Buffer or any Uint8Array). */
export function parseSafetensors(bytes: Uint8Array, nameForErrors: string): Map<string, HostTensor> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string): never => {
    throw new Error(`${nameForErrors}: ${msg}`);
  };
  if (buf.length < 8) fail(`file too short for a safetensors header (${buf.length} bytes, need at least 8); re-download or re-save it`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8))
    fail(`header length ${n} is beyond the end of the file (${buf.length - 8} bytes after the length field); the file is truncated or not safetensors`);
  const headerText = buf.toString('utf8', 8, 8 + Number(n));
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object; the file is corrupt or not safetensors');
  const entries = header as Record<string, unknown>;
  const dataStart = 8 + Number(n);
  const dataLen = buf.length - dataStart;

  // Validate every entry first, so a truncated file is reported as such rather than as a bad tensor.
  type Info = { dtype: DType; shape: number[]; begin: number; end: number };
  const infos: [string, Info][] = [];
  let maxEnd = 0;
  for (const key of topLevelKeys(headerText)) {
    if (key === '__metadata__') continue;
    const e = entries[key] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const where = `tensor ${JSON.stringify(key)}`;
    if (typeof e !== 'object' || e === null) fail(`${where}: header entry is not an object; the file is corrupt`);
    const { dtype, shape, data_offsets: off } = e!;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE))
      fail(`${where} has unsupported dtype ${JSON.stringify(dtype)} (supported: ${SUPPORTED}); convert it to one of these before saving`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`${where} has an invalid shape ${JSON.stringify(shape)}; the file is corrupt`);
    const ok = Array.isArray(off) && off.length === 2 && off.every((x) => Number.isSafeInteger(x) && x >= 0) && off[0] <= off[1];
    if (!ok) fail(`${where} has data_offsets ${JSON.stringify(off)} outside the data (need 0 <= begin <= end); the file is corrupt, re-save it`);
    const [begin, end] = off as number[];
    const size = numel(shape as number[]) * ITEM_SIZE[dtype as DType];
    if (end - begin !== size)
      fail(`${where} has data_offsets [${begin},${end}] (${end - begin} bytes) but ${dtype} shape [${shape}] needs ${size} bytes; the file is corrupt, re-save it`);
    infos.push([key, { dtype: dtype as DType, shape: shape as number[], begin, end }]);
    maxEnd = Math.max(maxEnd, end);
  }
  if (maxEnd > dataLen) fail(`truncated file (header says ${maxEnd} bytes of data, file has ${dataLen}); re-download or re-save it`);

  const out = new Map<string, HostTensor>();
  for (const [key, { dtype, shape, begin, end }] of infos) {
    const count = numel(shape);
    const data = dtype === 'F32' ? new Float32Array(count) : dtype === 'I64' ? new BigInt64Array(count) : new Uint16Array(count);
    // Copy bytes: offsets in the file are generally not aligned to the element size.
    new Uint8Array(data.buffer).set(buf.subarray(dataStart + begin, dataStart + end));
    out.set(key, { dtype, shape: [...shape], data });
  }
  return out;
}

/** Top-level keys of a JSON object text in source order (JSON.parse would move integer-like keys first). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

/**
 * The file's bytes, as parts to write or send one after another (the tensors' own memory, not
 * copies). The header is written like the reference implementation: `__metadata__` first,
 * compact JSON, padded with spaces to a multiple of 8 bytes.
 */
export function encodeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata: Record<string, string> = { format: 'pt' },
  nameForErrors = 'safetensors',
): Uint8Array[] {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw new Error(`${nameForErrors}: metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v}`);
  // Built by hand rather than from one object, where integer-like names would be moved to the front.
  const entries: [string, unknown][] = [['__metadata__', metadata]];
  let offset = 0;
  for (const [key, t] of list) {
    if (key === '__metadata__') throw new Error(`${nameForErrors}: "__metadata__" is reserved and cannot be a tensor name`);
    const problem = hostTensorProblem(t);
    if (problem) throw new Error(`${nameForErrors}: tensor ${JSON.stringify(key)}: ${problem}`);
    entries.push([key, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] }]);
    offset += t.data.byteLength;
  }
  let json = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [prefix, Buffer.from(json, 'utf8'), ...list.map(([, t]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

/** Writes tensors (data in the order given) atomically: a temporary file in the same directory, fsync, then rename. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata, file));
}
