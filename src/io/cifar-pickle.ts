// torchvision's CIFAR folders (cifar-10-batches-py/, cifar-100-python/): each batch file is a
// Python 2 pickle (protocol 2) of a dict whose 'data' is a numpy uint8 array (N, 3072) — the same
// CHW rows as the binary files — and whose labels are lists of ints. Read with the generic pickle VM
// and an allow-list of exactly the numpy reconstruction globals (and `_codecs.encode`, which
// Python 3 uses for bytes under protocol 2); anything else (os.system, …) is refused.
import { PickleError, PyBytes, PyDict, PyTuple, pyCallable, unpickle, type PyCallable } from './pickle.js';

const ROW = 3 * 32 * 32;

/** What an error tells the user to do about a bad file in a data folder (a caller checking an archive names its own fix). */
export const CIFAR_FILE_FIX = 'the file is not a torchvision CIFAR batch, delete it and download again';

/** One batch file's contents: N rows of 3072 bytes, and its label lists by key. */
export interface CifarBatch {
  count: number;
  data: Uint8Array;
  /** 'labels' (CIFAR-10), 'fine_labels' and 'coarse_labels' (CIFAR-100): those present. */
  labels: Record<string, number[]>;
}

class NdArray {
  shape: number[] = [];
  dtype: NpDtype | null = null;
  raw: Uint8Array | null = null;
  constructor(private readonly fail: (msg: string) => never) {}
  setState(state: unknown): void {
    if (!(state instanceof PyTuple) || state.items.length !== 5) this.fail('numpy array state is not (version, shape, dtype, is_fortran, data)');
    const [, shape, dtype, , raw] = (state as PyTuple).items;
    if (!(shape instanceof PyTuple) || !shape.items.every((d) => typeof d === 'number')) this.fail('numpy array shape is not a tuple of ints');
    if (!(dtype instanceof NpDtype)) this.fail('numpy array dtype is not a numpy.dtype');
    if (!(raw instanceof PyBytes)) this.fail('numpy array data is not bytes');
    this.shape = (shape as PyTuple).items as number[];
    this.dtype = dtype as NpDtype;
    this.raw = (raw as PyBytes).bytes;
  }
}

class NpDtype {
  constructor(readonly code: string) {}
  setState(): void {} // (version, byte order, …): meaningless for one-byte 'u1'
}

const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : v instanceof PyBytes ? new TextDecoder('latin1').decode(v.bytes) : null;

function globals(fail: (msg: string) => never): Record<string, PyCallable> {
  return {
    'numpy.core.multiarray._reconstruct': pyCallable('numpy.core.multiarray._reconstruct', () => new NdArray(fail)),
    'numpy.ndarray': pyCallable('numpy.ndarray', () => fail('pickle calls numpy.ndarray directly; not a CIFAR batch')),
    'numpy.dtype': pyCallable('numpy.dtype', (args) => {
      const code = str(args[0]);
      if (code === null) fail('numpy.dtype is called without a type code');
      return new NpDtype(code!);
    }),
    '_codecs.encode': pyCallable('_codecs.encode', (args) => {
      const [s, enc] = args;
      if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) fail('_codecs.encode is called with other than (str, latin1)');
      const out = new Uint8Array((s as string).length);
      for (let i = 0; i < out.length; i++) {
        const c = (s as string).charCodeAt(i);
        if (c > 255) fail('_codecs.encode of a non-latin1 string');
        out[i] = c;
      }
      return new PyBytes(out);
    }),
  };
}

/** The dict's entry under `key` (keys are Python 2 str, i.e. bytes, or str). */
export function pyField(d: PyDict, key: string): unknown {
  for (const [k, v] of d.map) if (str(k) === key) return v;
  return undefined;
}

/** Runs a CIFAR pickle (batch or meta) and returns its top-level dict; errors are one line naming `name`, ending in `fix`. */
export function unpickleCifar(bytes: Uint8Array, name: string, fix = CIFAR_FILE_FIX): PyDict {
  const fail = (msg: string): never => {
    throw new PickleError(`${name}: ${msg}; ${fix}`);
  };
  const obj = unpickle(bytes, {
    name,
    globals: globals(fail),
    refuseReason: 'a CIFAR batch holds only a numpy uint8 array, lists and strings',
    refuseFix: fix,
  });
  if (!(obj instanceof PyDict)) fail('pickle is not a dict');
  return obj as PyDict;
}

/**
 * Parses one batch file: 'data' must be uint8 ('u1') of shape (N, 3072) with N·3072 bytes, and
 * each of `labelKeys` a list of N ints. Label ranges are the caller's check.
 */
export function parseCifarBatch(bytes: Uint8Array, name: string, labelKeys: string[], fix = CIFAR_FILE_FIX): CifarBatch {
  const fail = (msg: string): never => {
    throw new PickleError(`${name}: ${msg}; ${fix}`);
  };
  const d = unpickleCifar(bytes, name, fix);
  const arr = pyField(d, 'data');
  if (!(arr instanceof NdArray) || !arr.dtype || !arr.raw) return fail("no numpy array under 'data'");
  if (arr.dtype.code !== 'u1') fail(`'data' has dtype '${arr.dtype.code}', expected uint8 ('u1')`);
  if (arr.shape.length !== 2 || arr.shape[1] !== ROW) fail(`'data' has shape (${arr.shape.join(', ')}), expected (N, ${ROW})`);
  const count = arr.shape[0];
  if (arr.raw.length !== count * ROW) fail(`'data' holds ${arr.raw.length} bytes, expected ${count} × ${ROW}; the file is truncated or corrupt`);
  const labels: Record<string, number[]> = {};
  for (const key of labelKeys) {
    const list = pyField(d, key);
    if (!Array.isArray(list)) return fail(`no list under '${key}'`);
    if (list.length !== count) fail(`'${key}' holds ${list.length} labels for ${count} images`);
    if (!list.every((v) => typeof v === 'number' && Number.isInteger(v))) fail(`'${key}' holds something other than ints`);
    labels[key] = list as number[];
  }
  return { count, data: arr.raw, labels };
}

/** The list of strings under `key` of a meta file (batches.meta, meta), or null when absent. */
export function metaNames(d: PyDict, key: string): string[] | null {
  const list = pyField(d, key);
  if (!Array.isArray(list)) return null;
  const names = list.map(str);
  return names.every((n): n is string => n !== null) ? names : null;
}
