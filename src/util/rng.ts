// Seedable PRNG: xoshiro128** (Blackman & Vigna; 128-bit state, period 2^128-1, all-32-bit arithmetic, so fast
// in JS), seeded through splitmix64 as its authors recommend. Its whole state is four uint32s, so
// getState()/setState() give exact checkpoint/resume.

const M64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;
const TWO32 = 0x100000000;
const TWO53 = 2 ** 53;

/** One splitmix64 step from `state`: returns [next state, output]. */
function splitmix64(state: bigint): [bigint, bigint] {
  state = (state + GOLDEN) & M64;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return [state, z ^ (z >> 31n)];
}

function toU64(seed: number | bigint, what: string): bigint {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new RangeError(`Rng: ${what} must be an integer, got ${seed}`);
  return BigInt.asUintN(64, BigInt(seed));
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class Rng {
  // State words, kept as int32 (JS bit operations' native type).
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** Seeds from any integer (negative and bigint seeds are taken modulo 2^64). */
  constructor(seed: number | bigint) {
    this.seedFrom(toU64(seed, 'seed'));
  }

  private seedFrom(sm: bigint): void {
    let a: bigint, b: bigint;
    [sm, a] = splitmix64(sm);
    [sm, b] = splitmix64(sm);
    // splitmix64's output is a bijection of its state, so two consecutive outputs are never both zero:
    // the all-zero state (which xoshiro forbids) cannot arise.
    this.setState([Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n)]);
  }

  /** An independent stream for (seed, stream), e.g. one per data-loader worker; stable across runs. */
  static derive(seed: number | bigint, stream: number | bigint): Rng {
    const r = new Rng(0);
    r.seedFrom(splitmix64(toU64(seed, 'seed'))[1] ^ toU64(stream, 'stream'));
    return r;
  }

  nextUint32(): number {
    const s0 = this.s0, s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ s0;
    const s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 = s0 ^ s3;
    this.s2 = s2 ^ t;
    this.s3 = rotl(s3, 11);
    return result;
  }

  /** A uniform integer in [0, 2^53). */
  private next53(): number {
    return (this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6);
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  random(): number {
    return this.next53() / TWO53;
  }

  /** Uniform in [low, high) (high itself is possible only through rounding). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Unbiased integer in [0, n) for a positive safe integer n (rejection sampling, no modulo bias). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive safe integer, got ${n}`);
    if (n <= TWO32) {
      const limit = TWO32 - (TWO32 % n); // largest multiple of n that is <= 2^32
      let x: number;
      do x = this.nextUint32();
      while (x >= limit);
      return x % n;
    }
    const limit = TWO53 - (TWO53 % n);
    let x: number;
    do x = this.next53();
    while (x >= limit);
    return x % n;
  }

  /** Fisher–Yates shuffle in place; returns its argument. */
  shuffle<T>(arr: T[]): T[];
  shuffle(arr: Int32Array): Int32Array;
  shuffle<T>(arr: T[] | Int32Array): T[] | Int32Array {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** The full state as four uint32s; setState() of it resumes the exact same sequence. */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(s: number[]): void {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => Number.isInteger(x) && x >= 0 && x < TWO32))
      throw new Error(`Rng.setState: expected 4 integers in [0, 2^32), got ${JSON.stringify(s)}`);
    if (s.every((x) => x === 0)) throw new Error('Rng.setState: the all-zero state is invalid for xoshiro128**');
    [this.s0, this.s1, this.s2, this.s3] = s.map((x) => x | 0);
  }
}
