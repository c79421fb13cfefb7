// Host tensors: a dtype, a shape and the values in a typed array, in row-major (PyTorch's
// contiguous) order. This is what state dicts, optimizer states and every file format in
// src/io/ exchange; the model layer depends on this, never on a file format.
export type DType = 'F32' | 'I64' | 'BF16';

/** A tensor in host memory. BF16 holds the raw 16-bit patterns. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | BigInt64Array | Uint16Array;
}

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Record<DType, number> = { F32: 4, I64: 8, BF16: 2 };
const ARRAY_TYPE = { F32: Float32Array, I64: BigInt64Array, BF16: Uint16Array } as const;

/** Elements in a tensor of this shape (1 for a scalar []). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function f32(shape: number[], data: Float32Array | number[]): HostTensor {
  return checked({ dtype: 'F32', shape, data: data instanceof Float32Array ? data : Float32Array.from(data) });
}

export function i64(shape: number[], data: BigInt64Array | (bigint | number)[]): HostTensor {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  return checked({ dtype: 'I64', shape, data: arr });
}

/** Converts any supported dtype to float32 (I64 via Number, BF16 by placing its bits in the high half). */
export function toFloat32(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  const out = new Float32Array(t.data.length);
  if (t.data instanceof BigInt64Array) {
    for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = t.data[i] << 16;
  }
  return out;
}

/** What is wrong with a host tensor (unknown dtype, bad shape, data of the wrong type or length), or null. */
export function hostTensorProblem(t: HostTensor): string | null {
  if (!(t.dtype in ITEM_SIZE)) return `unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    return `shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`;
  const want = ARRAY_TYPE[t.dtype];
  if (!(t.data instanceof want)) return `dtype ${t.dtype} needs its data in a ${want.name}`;
  if (t.data.length !== numel(t.shape))
    return `shape [${t.shape}] has ${numel(t.shape)} elements but the data has ${t.data.length}`;
  return null;
}

function checked(t: HostTensor): HostTensor {
  const problem = hostTensorProblem(t);
  if (problem) throw new Error(problem);
  return t;
}
