// torch.save files (the zip format PyTorch >= 1.6 writes), read and written without Python.
//
// The file is a zip of stored (uncompressed) entries under one top folder whose name varies
// (`archive/` when written by us): `data.pkl`, a pickle of the saved object, and `data/<key>`,
// the raw little-endian bytes of each storage. In the pickle a tensor is
// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`, and a
// storage is a persistent id `('storage', torch.FloatStorage, key, location, numel)` naming its
// entry. Several tensors may share one storage at different offsets, with any strides.
//
// The pickle runs in src/io/pickle.ts with an allow-list of the few globals a state dict needs,
// so a .pt that tries to call anything else (os.system, a model class) is refused, not run.
import * as os from 'node:os';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { hostTensorProblem, numel, type HostTensor } from '../tensor/host.js';
import { PickleError, PyBytes, PyDict, PyTuple, pyCallable, unpickle, type PyCallable } from './pickle.js';
import { readFileBytes, writeFileAtomic } from './disk.js';

if (os.endianness() !== 'LE') throw new Error('torch.save files: big-endian hosts are not supported');

/** How a storage's elements are laid out, and what host dtype they are read as. */
interface StorageKind {
  name: string;
  itemSize: number;
  /** F16 and F64 become F32 (the model computes in F32; F16 → F32 is exact); integers become I64. */
  read: 'F32' | 'F16' | 'F64' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
}

const STORAGES: Record<string, StorageKind> = Object.fromEntries(
  ([
    ['FloatStorage', 4, 'F32'], ['HalfStorage', 2, 'F16'], ['DoubleStorage', 8, 'F64'], ['BFloat16Storage', 2, 'BF16'],
    ['LongStorage', 8, 'I64'], ['IntStorage', 4, 'I32'], ['ShortStorage', 2, 'I16'], ['CharStorage', 1, 'I8'],
    ['ByteStorage', 1, 'U8'], ['BoolStorage', 1, 'BOOL'],
  ] as const).map(([name, itemSize, read]) => [name, { name, itemSize, read }]),
);

const REFUSE = {
  refuseReason: 'a .pt file can run code; only tensors, containers and numbers are read',
  refuseFix: 're-save it with torch.save(model.state_dict(), PATH)',
};

/** Keys under which training checkpoints commonly keep the model's state dict. */
export const CHECKPOINT_KEYS = ['state_dict', 'model', 'model_state_dict'] as const;

/** A storage type named in the pickle: a value, never called. */
class StorageType implements PyCallable {
  constructor(readonly pyName: string, readonly kind: StorageKind) {}
  call(): never {
    throw new PickleError(`calls the storage type ${this.pyName}, which torch.save never does`);
  }
}

/** One storage: its entry's elements, copied once into an aligned typed array. */
interface Storage {
  kind: StorageKind;
  key: string;
  values: ArrayLike<number | bigint>;
}

/** A tensor as the pickle rebuilt it, already gathered into contiguous row-major order. */
export class TorchTensor {
  constructor(readonly tensor: HostTensor, readonly sourceDtype: string) {}
}

/** What reading a torch.save file gives. */
export interface TorchRead {
  tensors: Map<string, HostTensor>;
  /** Lines worth telling the user (a stripped DataParallel prefix, the checkpoint key used). */
  notes: string[];
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
// The legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False) starts with
// a pickled magic number: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isZip(bytes: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

export function isLegacyTorch(bytes: Uint8Array): boolean {
  return LEGACY_MAGIC.every((b, i) => bytes[i] === b);
}

/** The state dict in a torch.save file (a state dict, or a checkpoint dict holding one). */
export function readTorch(file: string): TorchRead {
  const buf = readFileBytes(file);
  return parseTorch(buf, file);
}

/** The whole object a torch.save file's pickle builds (dicts as PyDict, tensors as TorchTensor). */
export function loadTorchObject(bytes: Uint8Array, name: string): unknown {
  if (isLegacyTorch(bytes))
    throw new Error(`${name}: a torch.save file in the legacy format (PyTorch before 1.6), which is not read here; re-save it with PyTorch >= 1.6: torch.save(torch.load(OLD), NEW)`);
  if (!isZip(bytes)) throw new Error(`${name}: not a torch.save zip file (no zip header); re-save it with torch.save(model.state_dict(), PATH)`);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${name}: cannot read the zip (${(e as Error).message}); the file is truncated or corrupt, re-download or re-save it`);
  }
  const pkl = Object.keys(entries).filter((k) => /^[^/]+\/data\.pkl$/.test(k));
  if (pkl.length !== 1)
    throw new Error(`${name}: a zip without exactly one <folder>/data.pkl (found ${pkl.length}), so not a torch.save file; re-save it with torch.save(model.state_dict(), PATH)`);
  const prefix = pkl[0].slice(0, -'data.pkl'.length);
  // PyTorch >= 2.1 records the byte order of the storages; older files are little-endian.
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little')
    throw new Error(`${name}: its storages are big-endian, which is not read here; re-save it on a little-endian machine`);
  const storages = new Map<string, Storage>();

  const persistentLoad = (pid: unknown): Storage => {
    const items = pid instanceof PyTuple ? pid.items : [];
    const [tag, type, key, , count] = items;
    if (tag !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string' || typeof count !== 'number')
      throw new PickleError(`${name}: a persistent id that is not a storage; not a torch.save file of tensors`);
    const seen = storages.get(key);
    if (seen) return seen;
    const entry = entries[`${prefix}data/${key}`];
    if (!entry) throw new Error(`${name}: storage ${key} has no entry ${prefix}data/${key}; the file is truncated or corrupt, re-save it`);
    const nbytes = count * type.kind.itemSize;
    if (entry.length < nbytes)
      throw new Error(`${name}: storage ${key} holds ${entry.length} bytes but ${count} ${type.kind.name} elements need ${nbytes}; the file is corrupt, re-save it`);
    // Copied: zip entries are not aligned to the element size.
    const aligned = new Uint8Array(nbytes);
    aligned.set(entry.subarray(0, nbytes));
    const s: Storage = { kind: type.kind, key, values: typedView(type.kind, aligned.buffer) };
    storages.set(key, s);
    return s;
  };

  const rebuild = (args: unknown[]): TorchTensor => {
    const [storage, offset, size, stride] = args;
    const ints = (t: unknown) => (t instanceof PyTuple && t.items.every((x) => Number.isSafeInteger(x) && (x as number) >= 0) ? (t.items as number[]) : null);
    const shape = ints(size);
    const strides = ints(stride);
    if (!storage || typeof storage !== 'object' || !('kind' in storage) || !Number.isSafeInteger(offset) || !shape || !strides || shape.length !== strides.length)
      throw new PickleError(`${name}: a tensor with a malformed storage, offset, size or stride; the file is corrupt`);
    return gather(storage as Storage, offset as number, shape, strides, name);
  };

  const globals: Record<string, PyCallable> = {
    'collections.OrderedDict': pyCallable('collections.OrderedDict', () => new PyDict('OrderedDict')),
    'torch._utils._rebuild_tensor_v2': pyCallable('torch._utils._rebuild_tensor_v2', rebuild),
    // nn.Parameter saved as itself (in a whole optimizer or a hand-made dict): its data is the tensor.
    'torch._utils._rebuild_parameter': pyCallable('torch._utils._rebuild_parameter', (a) => a[0]),
    'torch.Size': pyCallable('torch.Size', (a) => (a[0] instanceof PyTuple ? a[0] : new PyTuple([]))),
    // How protocol 2 pickles Python 3 bytes: _codecs.encode(text, 'latin1').
    '_codecs.encode': pyCallable('_codecs.encode', (a) => new PyBytes(Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0) & 0xff))),
  };
  for (const kind of Object.values(STORAGES)) globals[`torch.${kind.name}`] = new StorageType(`torch.${kind.name}`, kind);

  try {
    return unpickle(entries[pkl[0]], { name, globals, persistentLoad, ...REFUSE });
  } catch (e) {
    if (e instanceof PickleError) throw new Error(e.message.startsWith(name) ? e.message : `${name}: ${e.message}`);
    throw e;
  }
}

/** The state dict of a torch.save file's bytes; `name` names it in errors. */
export function parseTorch(bytes: Uint8Array, name: string): TorchRead {
  const obj = loadTorchObject(bytes, name);
  const notes: string[] = [];
  let dict = obj instanceof PyDict ? obj : null;
  if (!dict) throw new Error(`${name}: holds ${describe(obj)}, not a state dict; re-save it with torch.save(model.state_dict(), PATH)`);
  if (!isTensorDict(dict)) {
    const key = CHECKPOINT_KEYS.find((k) => dict!.map.get(k) instanceof PyDict && isTensorDict(dict!.map.get(k) as PyDict));
    if (!key) {
      const keys = [...dict.map.keys()].slice(0, 8).map((k) => JSON.stringify(k)).join(', ');
      throw new Error(`${name}: a dict (keys ${keys}) that is neither a state dict of tensors nor a checkpoint holding one under ${CHECKPOINT_KEYS.map((k) => `'${k}'`).join(', ')}; save model.state_dict() itself`);
    }
    notes.push(`${name}: a training checkpoint; read its model from '${key}'`);
    dict = dict.map.get(key) as PyDict;
  }
  let tensors = new Map<string, HostTensor>();
  for (const [k, v] of dict.map) tensors.set(k as string, (v as TorchTensor).tensor);
  // nn.DataParallel / DistributedDataParallel wrap the model as `.module`, so every name gains it.
  if (tensors.size > 0 && [...tensors.keys()].every((k) => k.startsWith('module.'))) {
    tensors = new Map([...tensors].map(([k, v]) => [k.slice('module.'.length), v]));
    notes.push(`${name}: stripped the 'module.' prefix (a DataParallel state dict) from ${tensors.size} names`);
  }
  return { tensors, notes };
}

function isTensorDict(d: PyDict): boolean {
  return d.map.size > 0 && [...d.map].every(([k, v]) => typeof k === 'string' && v instanceof TorchTensor);
}

function describe(obj: unknown): string {
  if (obj instanceof TorchTensor) return 'a single tensor';
  if (Array.isArray(obj)) return 'a list';
  if (obj instanceof PyTuple) return 'a tuple';
  return obj === null ? 'None' : `a ${typeof obj}`;
}

function typedView(kind: StorageKind, buf: ArrayBuffer): ArrayLike<number | bigint> {
  switch (kind.read) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return new Float64Array(buf);
    case 'F16': case 'BF16': case 'I16': return kind.read === 'I16' ? new Int16Array(buf) : new Uint16Array(buf);
    case 'I64': return new BigInt64Array(buf);
    case 'I32': return new Int32Array(buf);
    case 'I8': return new Int8Array(buf);
    case 'U8': case 'BOOL': return new Uint8Array(buf);
  }
}

/** The elements a (storage, offset, size, stride) view selects, in row-major order, as a host tensor. */
function gather(s: Storage, offset: number, shape: number[], strides: number[], name: string): TorchTensor {
  const count = numel(shape);
  if (count > 0) {
    let last = offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * strides[d];
    if (last >= s.values.length)
      throw new Error(`${name}: a tensor of shape [${shape}] at offset ${offset} with strides [${strides}] reaches element ${last} of storage ${s.key}, which has ${s.values.length}; the file is corrupt, re-save it`);
  }
  const k = s.kind.read;
  const out = k === 'BF16' ? new Uint16Array(count) : k === 'F32' || k === 'F16' || k === 'F64' ? new Float32Array(count) : new BigInt64Array(count);
  const src = s.values;
  if (k === 'F32' || k === 'BF16' || k === 'I64') {
    // The common case, a contiguous view of a storage of the same type: one copy.
    const contiguous = shape.every((d, i) => d === 1 || strides[i] === numel(shape.slice(i + 1)));
    if (contiguous) {
      (out as Float32Array).set((src as Float32Array).subarray(offset, offset + count));
      return new TorchTensor({ dtype: k, shape: [...shape], data: out }, s.kind.name);
    }
  }
  const idx = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let i = 0; i < count; i++) {
    const v = src[at];
    if (out instanceof BigInt64Array) out[i] = typeof v === 'bigint' ? v : BigInt(v);
    else if (k === 'F16') (out as Float32Array)[i] = halfToFloat(v as number);
    else out[i] = v as number; // F64 → F32 rounds to nearest, as torch's .float() does
    // Advance the multi-index (last dimension fastest) and the storage position with it.
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        at += strides[d];
        break;
      }
      at -= (shape[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
  const dtype = k === 'BF16' ? 'BF16' : out instanceof BigInt64Array ? 'I64' : 'F32';
  return new TorchTensor({ dtype, shape: [...shape], data: out }, s.kind.name);
}

/** IEEE half bits → float (exact: every half is a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// ---- writing ----

const WRITE_STORAGE = { F32: 'FloatStorage', I64: 'LongStorage', BF16: 'BFloat16Storage' } as const;

/**
 * A torch.save file of a state dict (an OrderedDict of tensors), as PyTorch 1.13 writes it:
 * `archive/data.pkl` (protocol 2, only the opcodes and globals that torch.load's weights_only
 * unpickler accepts), one `archive/data/<i>` per tensor, its data 64-byte aligned in the file as
 * PyTorch aligns it (so a later torch.load(mmap=True) can map it), and `archive/version`.
 */
export function encodeTorch(tensors: Map<string, HostTensor> | Record<string, HostTensor>, nameForErrors = 'torch.save file'): Uint8Array {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const p = new PickleWriter();
  p.proto(2);
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  p.mark();
  list.forEach(([key, t], i) => {
    const problem = hostTensorProblem(t);
    if (problem) throw new Error(`${nameForErrors}: tensor ${JSON.stringify(key)}: ${problem}`);
    p.unicode(key);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    p.mark().unicode('storage').global('torch', WRITE_STORAGE[t.dtype]).unicode(String(i)).unicode('cpu').int(t.data.length).tuple().persid();
    p.int(0);
    p.mark();
    for (const d of t.shape) p.int(d);
    p.tuple();
    p.mark();
    for (const s of contiguousStrides(t.shape)) p.int(s);
    p.tuple();
    p.bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
  });
  p.setItems().stop();

  const files: [string, Uint8Array][] = [['archive/data.pkl', p.bytes()]];
  list.forEach(([, t], i) => files.push([`archive/data/${i}`, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
  files.push(['archive/version', new TextEncoder().encode('3\n')]);

  // Pad each local header with an extra field (id 'FB', as PyTorch's writer does) so the data
  // starts at a multiple of 64. fflate lays out each entry as a 30-byte header, the name, the
  // extra fields (4 bytes each plus data), then the data; the test checks the alignment.
  const zippable: Zippable = {};
  let offset = 0;
  for (const [entry, data] of files) {
    const nameLen = new TextEncoder().encode(entry).length;
    const pad = (64 - ((offset + 30 + nameLen + 4) % 64)) % 64;
    zippable[entry] = [data, { level: 0, mtime: new Date('2000-01-01T00:00:00Z'), extra: { 0x4246: new Uint8Array(pad).fill(0x5a) } }];
    offset += 30 + nameLen + 4 + pad + data.length;
  }
  return zipSync(zippable);
}

/** Writes a state dict as a torch.save file, atomically (temp file + rename). */
export function writeTorch(file: string, tensors: Map<string, HostTensor> | Record<string, HostTensor>): void {
  writeFileAtomic(file, [encodeTorch(tensors, file)]);
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Emits the protocol-2 opcodes the writer needs, memoising nothing (every value is written whole). */
class PickleWriter {
  private parts: number[] = [];
  private push(...b: number[]) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  private raw(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  proto(v: number) { return this.push(0x80, v); }
  mark() { return this.push(0x28); }
  stop() { return this.push(0x2e); }
  emptyTuple() { return this.push(0x29); }
  tuple() { return this.push(0x74); }
  reduce() { return this.push(0x52); }
  persid() { return this.push(0x51); }
  setItems() { return this.push(0x75); }
  bool(v: boolean) { return this.push(v ? 0x88 : 0x89); }
  global(module: string, name: string) {
    return this.push(0x63).raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  unicode(s: string) {
    const b = new TextEncoder().encode(s);
    return this.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24).raw(b);
  }
  int(v: number) {
    if (v >= 0 && v < 256) return this.push(0x4b, v);
    if (v >= 0 && v < 65536) return this.push(0x4d, v & 0xff, v >> 8);
    if (v >= -(2 ** 31) && v < 2 ** 31) return this.push(0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff);
    // LONG1: little-endian two's complement, 8 bytes is enough for any safe integer.
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    return this.push(0x8a, 8).raw(b);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
