// An opt-in profiler of training steps by op family (3x3 conv, 1x1 conv, BatchNorm, pooling, concat,
// optimizer, loss…). Ops wrap their backend calls in `timed`; with no profile running that is one
// null check and a call. Native calls are synchronous (oneDNN's threads run inside them), so the
// wall time around a call is the op's time. A timed call inside another is counted in the outer one
// only, so the families never overlap and their sum is at most the step's time.

/** One family's totals over the profiled region. */
export interface FamilyTime {
  forwardMs: number;
  backwardMs: number;
  /** Forward calls (each backward is counted with its forward). */
  calls: number;
  /** Floating-point operations counted from the shapes (2 per multiply-add), 0 where not counted. */
  flops: number;
}

export type Phase = 'forward' | 'backward';

export interface Profile<T> {
  result: T;
  /** Wall time of the whole region. */
  totalMs: number;
  families: Map<string, FamilyTime>;
}

let active: Map<string, FamilyTime> | null = null;
let depth = 0;

/** Runs fn, adding its wall time (and flops) to `family` when a profile is running. */
export function timed<T>(family: string, phase: Phase, flops: number, fn: () => T): T {
  if (active === null) return fn();
  if (depth > 0) return fn();
  const families = active;
  depth++;
  const t0 = process.hrtime.bigint();
  try {
    return fn();
  } finally {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    depth--;
    let f = families.get(family);
    if (!f) families.set(family, (f = { forwardMs: 0, backwardMs: 0, calls: 0, flops: 0 }));
    if (phase === 'forward') {
      f.forwardMs += ms;
      f.calls++;
    } else f.backwardMs += ms;
    f.flops += flops;
  }
}

/** Runs fn with the profiler on: its result, its wall time and the time of each op family inside it. */
export function profile<T>(fn: () => T): Profile<T> {
  if (active !== null) throw new Error('profile(): a profile is already running (profiles do not nest)');
  const families = new Map<string, FamilyTime>();
  active = families;
  const t0 = process.hrtime.bigint();
  try {
    const result = fn();
    return { result, totalMs: Number(process.hrtime.bigint() - t0) / 1e6, families };
  } finally {
    active = null;
  }
}

/** A convolution's family, by kernel size: `conv 3x3`, `conv 1x1`, `conv 5x5`… */
export function convFamily(weightShape: readonly number[]): string {
  return `conv ${weightShape[2]}x${weightShape[3]}`;
}

/** 2·MACs of a convolution's forward (its backward-data and backward-weights pass are each the same again). */
export function convFlops(outShape: readonly number[], weightShape: readonly number[]): number {
  const [n, , ho, wo] = outShape;
  const [co, ci, kh, kw] = weightShape;
  return 2 * n * co * ho * wo * ci * kh * kw;
}
