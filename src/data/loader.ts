// A DataLoader over a CIFAR split: seeded shuffling, torchvision-style augmentation, batches
// prepared in the background by worker threads, drop_last, and a position (epoch, batch)
// that checkpoints save so a resumed run sees exactly the batches it would have seen.
//
// Determinism: the order of epoch e is a shuffle drawn from Rng.derive(seed, e) and every
// sample's augmentation choices from Rng.derive(seed, 2^32 + e), both drawn on the main
// thread; workers only apply them. So the same seed gives the same batches however many
// workers run and whenever they finish.
import { Worker } from 'node:worker_threads';
import { Rng } from '../util/rng.js';
import { IMAGE_BYTES, type CifarSplit } from './cifar.js';
import { drawAugmentation, NO_AUGMENTATION, NORMALIZATIONS, transformImage, type Augmentation, type Normalization } from './transforms.js';

export interface LoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  dropLast?: boolean;
  augment?: Augmentation;
  normalize?: Normalization;
  /** Background threads preparing batches (0: prepare on the calling thread). Default 1. */
  workers?: number;
  /** Batches prepared ahead of the consumer. Default 2. */
  prefetch?: number;
}

/** A batch of images with their labels, as the loader delivers it and a training step takes it. */
export interface Batch {
  epoch: number;
  index: number;
  /** Normalised images, NCHW, in row-major order. */
  input: Float32Array;
  /** [N, 3, H, W] */
  shape: readonly number[];
  /** The labels, one per image (a plain array is accepted too). */
  targets: Int32Array | number[];
  size: number;
}

/** What a worker needs to build one batch. */
export interface BatchJob {
  id: number;
  indices: Int32Array;
  flip: Uint8Array;
  top: Uint8Array;
  left: Uint8Array;
  pad: number;
  norm: Normalization;
}

/** Builds a batch (used by the workers and by the in-thread path). */
export function buildBatch(images: Uint8Array, job: BatchJob): Float32Array {
  const out = new Float32Array(job.indices.length * IMAGE_BYTES);
  for (let k = 0; k < job.indices.length; k++)
    transformImage(images, job.indices[k] * IMAGE_BYTES, out, k * IMAGE_BYTES, job.flip[k] === 1, job.top[k], job.left[k], job.pad, job.norm);
  return out;
}

const AUGMENT_STREAM = 2n ** 32n;

export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly augment: Augmentation;
  readonly normalize: Normalization;
  private readonly workers: Worker[] = [];
  private readonly prefetch: number;
  private readonly pending = new Map<number, { resolve: (b: Float32Array) => void; reject: (e: Error) => void }>();
  private nextJob = 0;
  private failure: Error | null = null;

  constructor(readonly data: CifarSplit, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`DataLoader: batch size must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.augment = opts.augment ?? NO_AUGMENTATION;
    this.normalize = opts.normalize ?? NORMALIZATIONS.half;
    this.prefetch = Math.max(1, opts.prefetch ?? 2);
    if (this.length === 0) throw new Error(`DataLoader: ${data.count} images make no batch of ${this.batchSize}${this.dropLast ? ' with drop_last' : ''}`);
    const n = opts.workers ?? 1;
    if (n > 0) {
      if (!(data.images.buffer instanceof SharedArrayBuffer)) throw new Error('DataLoader: worker threads need the images in a SharedArrayBuffer (readCifar provides that)');
      for (let i = 0; i < n; i++) this.workers.push(this.startWorker());
    }
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.data.count / this.batchSize) : Math.ceil(this.data.count / this.batchSize);
  }

  /** The sample order of an epoch (0-based). */
  order(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.data.count }, (_, i) => i);
    if (this.shuffle) Rng.derive(this.seed, epoch).shuffle(order);
    return order;
  }

  private startWorker(): Worker {
    const w = new Worker(new URL('./loader-worker.js', import.meta.url), { workerData: { images: this.data.images } });
    w.unref();
    w.on('message', (m: { id: number; input: Float32Array }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.input);
    });
    w.on('error', (e) => {
      this.failure = new Error(`data loader worker failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    });
    return w;
  }

  private run(job: BatchJob): Promise<Float32Array> {
    if (this.workers.length === 0) return Promise.resolve(buildBatch(this.data.images, job));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      this.workers[job.id % this.workers.length].postMessage(job);
    });
  }

  /**
   * The batches of one epoch (0-based), starting at batch `from` (to resume). Up to
   * `prefetch` batches are prepared while the consumer works on the current one.
   */
  async *epoch(epoch: number, from = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const pad = this.augment.cropPadding;
    const draws = drawAugmentation(this.data.count, this.augment, Rng.derive(this.seed, AUGMENT_STREAM + BigInt(epoch)));
    const total = this.length;
    const make = (b: number) => {
      const start = b * this.batchSize;
      const end = Math.min(start + this.batchSize, this.data.count);
      const indices = order.slice(start, end);
      const job: BatchJob = {
        id: this.nextJob++, indices, pad, norm: this.normalize,
        flip: draws.flip.slice(start, end), top: draws.top.slice(start, end), left: draws.left.slice(start, end),
      };
      const targets = Int32Array.from(indices, (i) => this.data.labels[i]);
      return { promise: this.run(job), targets, size: indices.length };
    };
    const queue: ReturnType<typeof make>[] = [];
    let next = from;
    while (next < total && queue.length < this.prefetch) queue.push(make(next++));
    for (let b = from; b < total; b++) {
      const item = queue.shift()!;
      if (next < total) queue.push(make(next++));
      const input = await item.promise;
      yield { epoch, index: b, input, shape: [item.size, 3, 32, 32], targets: item.targets, size: item.size };
    }
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
