// Tensors: a shape plus a native buffer owned by the backend. Native memory is freed
// deterministically: either by `dispose()` or by the `tidy` scope that created the
// tensor (as TensorFlow.js does). The garbage collector is never relied on for it.
import type { Backend, Handle } from '../backend/backend.js';
import { loadOneDnn } from '../backend/onednn.js';
import type { Node } from '../autograd/engine.js';
import { numel, type HostTensor } from './host.js';
import { display } from '../util/display.js';

let activeBackend: Backend | null = null;

/** The backend all tensors use (oneDNN unless another was set). */
export function backend(): Backend {
  if (!activeBackend) activeBackend = loadOneDnn();
  return activeBackend;
}

export function setBackend(b: Backend): void {
  activeBackend = b;
}

export { numel };

/** Scalars (shape []) are stored natively as one-element vectors. */
function nativeShape(shape: readonly number[]): readonly number[] {
  return shape.length ? shape : [1];
}

// ---- scopes -------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

/**
 * Runs fn and disposes every tensor created inside it, except those reachable from
 * its result (a tensor, or arrays/objects of tensors) and those marked with keep().
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) outer?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const e of v) collectTensors(e, out);
  else if (v instanceof Map) for (const e of v.values()) collectTensors(e, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    for (const e of Object.values(v)) collectTensors(e, out);
}

// ---- what is alive ---------------------------------------------------------------------

let liveTensors = 0;

/** Live tensors and native memory, as TensorFlow.js's tf.memory() tells them. */
export interface MemoryInfo {
  /** Tensors created and not yet disposed (by dispose() or their tidy scope). */
  numTensors: number;
  /** Native bytes in use by live buffers, and held by the allocator's cache for reuse. */
  numBytes: number;
  cachedBytes: number;
  peakBytes: number;
}

export function memory(): MemoryInfo {
  const s = backend().stats();
  return { numTensors: liveTensors, numBytes: s.liveBytes, cachedBytes: s.cachedBytes, peakBytes: s.peakBytes };
}

// With GOOGLENET_DEBUG set, a tensor collected by the GC while its native buffer is still live is
// reported: it was made outside every tidy scope and never disposed, so its memory leaked.
const leaks = process.env.GOOGLENET_DEBUG
  ? new FinalizationRegistry<string>((what) => display.warn(`googlenet: a ${what} was garbage-collected without dispose(): its native memory leaked; create tensors inside tidy() or call dispose()`))
  : null;

// ---- tensor ---------------------------------------------------------------------------

export class Tensor {
  readonly shape: readonly number[];
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf tensor (kept out of scopes, like the leaf itself). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor, if it was computed from tensors that require grad. */
  gradFn: Node | null = null;
  private h: Handle | null;

  constructor(handle: Handle, shape: readonly number[], requiresGrad = false) {
    this.h = handle;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
    scopes[scopes.length - 1]?.add(this);
    liveTensors++;
    leaks?.register(this, `tensor of shape [${this.shape.join(', ')}]`, this);
  }

  static fromArray(data: Float32Array | number[], shape: readonly number[]): Tensor {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== numel(shape))
      throw new Error(`Tensor.fromArray: ${arr.length} values do not fill shape [${shape.join(', ')}]`);
    return new Tensor(backend().create(arr, { shape: nativeShape(shape) }), shape);
  }

  static full(shape: readonly number[], value: number): Tensor {
    return new Tensor(backend().create(null, { shape: nativeShape(shape), fill: value }), shape);
  }

  static zeros(shape: readonly number[]): Tensor {
    return Tensor.full(shape, 0);
  }

  get handle(): Handle {
    if (!this.h) throw new Error(`tensor of shape [${this.shape.join(', ')}] was used after dispose()`);
    return this.h;
  }

  get isDisposed(): boolean {
    return this.h === null;
  }

  get numel(): number {
    return numel(this.shape);
  }

  /** Copies the values out in row-major (PyTorch's contiguous) order. */
  toArray(): Float32Array {
    return backend().read(this.handle);
  }

  /** The values as an F32 host tensor (for state dicts and files). */
  toHost(): HostTensor {
    return { dtype: 'F32', shape: [...this.shape], data: this.toArray() };
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new Error(`item(): tensor has ${this.numel} elements, not 1`);
    return this.toArray()[0];
  }

  /** Overwrites the values (given in row-major order). */
  assign(data: Float32Array): void {
    backend().write(this.handle, data);
  }

  clone(): Tensor {
    return new Tensor(backend().copy(this.handle), this.shape);
  }

  /** Removes the tensor from the enclosing tidy scopes: the caller now owns it. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  dispose(): void {
    if (this.h) {
      backend().release(this.h);
      this.h = null;
      liveTensors--;
      leaks?.unregister(this);
    }
    this.gradFn = null;
  }

  toString(): string {
    return `Tensor([${this.shape.join(', ')}]${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}
