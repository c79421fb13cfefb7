import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.js';
import { bernoulli, fillUniform, fork, normal } from './random.js';

const draws = (r: Rng, n: number) => Array.from({ length: n }, () => r.nextUint32());

test('matches the xoshiro128** and splitmix64 reference implementations', () => {
  // Expected values from the authors' C code (xoshiro128starstar.c, splitmix64.c) compiled with gcc.
  const r = new Rng(1);
  r.setState([1, 2, 3, 4]);
  assert.deepEqual(draws(r, 6), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  const s = new Rng(42); // state = two splitmix64(42) outputs, low word first
  assert.deepEqual(s.getState(), [803958421, 3184996902, 2993090819, 686809907]);
  assert.deepEqual(draws(s, 6), [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222]);
});

test('same seed gives the same sequence, different seeds differ', () => {
  assert.deepEqual(draws(new Rng(7), 100), draws(new Rng(7), 100));
  assert.deepEqual(draws(new Rng(2n ** 40n), 10), draws(new Rng(2 ** 40), 10));
  const seqs = [0, 1, 2, -1, 2 ** 53 - 1].map((s) => draws(new Rng(s), 8).join());
  assert.equal(new Set(seqs).size, seqs.length);
  assert.throws(() => new Rng(1.5), /integer/);
});

test('getState/setState resume exactly', () => {
  const r = new Rng(123);
  r.random();
  r.shuffle([1, 2, 3]);
  const saved = JSON.parse(JSON.stringify(r.getState())) as number[];
  const ahead = [r.random(), r.int(1000), normal(r), r.uniform(-2, 3), r.nextUint32()];
  const q = new Rng(0);
  q.setState(saved);
  assert.deepEqual([q.random(), q.int(1000), normal(q), q.uniform(-2, 3), q.nextUint32()], ahead);
  assert.deepEqual(q.getState(), r.getState());
  assert.throws(() => q.setState([0, 0, 0, 0]), /all-zero/);
  assert.throws(() => q.setState([1, 2, 3]), /4 integers/);
  assert.throws(() => q.setState([1, 2, 3, 2 ** 32]), /4 integers/);
});

test('derive and fork make distinct, reproducible streams', () => {
  assert.deepEqual(draws(Rng.derive(5, 3), 10), draws(Rng.derive(5, 3), 10));
  const streams = [0, 1, 2, 3].map((k) => draws(Rng.derive(5, k), 8).join());
  streams.push(draws(Rng.derive(6, 0), 8).join(), draws(new Rng(5), 8).join());
  assert.equal(new Set(streams).size, streams.length);

  const a = new Rng(9), b = new Rng(9);
  const fa = fork(a), fb = fork(b);
  assert.deepEqual(draws(fa, 10), draws(fb, 10));
  assert.deepEqual(draws(a, 10), draws(b, 10));
  assert.notDeepEqual(draws(fork(new Rng(9)), 10), draws(new Rng(9), 10));
});

test('int(n) is in range and roughly uniform', () => {
  const r = new Rng(2024);
  const k = 10, n = 100_000;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const x = r.int(k);
    assert.ok(Number.isInteger(x) && x >= 0 && x < k);
    counts[x]++;
  }
  const chi2 = counts.reduce((s, c) => s + (c - n / k) ** 2 / (n / k), 0);
  assert.ok(chi2 < 30, `chi-square ${chi2} with 9 degrees of freedom (p < 0.001 above 27.9)`);
  // A range where modulo bias would be large (3 * 2^30 does not divide 2^32): values in the top third must occur.
  const big = 3 * 2 ** 30;
  let top = 0;
  for (let i = 0; i < 3000; i++) top += r.int(big) >= 2 * 2 ** 30 ? 1 : 0;
  assert.ok(top > 850 && top < 1150, `top third drawn ${top} times of 3000`);
  for (const m of [1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1]) {
    const x = r.int(m);
    assert.ok(Number.isInteger(x) && x >= 0 && x < m);
  }
  assert.equal(r.int(1), 0);
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(2.5), RangeError);
});

test('random, uniform, bernoulli, normal and fillUniform stay in range with sane moments', () => {
  const r = new Rng(77);
  const n = 50_000;
  let sum = 0, hits = 0, nsum = 0, nsq = 0;
  for (let i = 0; i < n; i++) {
    const u = r.random();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const v = r.uniform(-3, 5);
    assert.ok(v >= -3 && v < 5);
    if (bernoulli(r, 0.25)) hits++;
    const z = normal(r);
    nsum += z;
    nsq += z * z;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  assert.ok(Math.abs(hits / n - 0.25) < 0.01);
  assert.ok(Math.abs(nsum / n) < 0.02 && Math.abs(nsq / n - 1) < 0.03);
  assert.equal(bernoulli(r, 0), false);
  assert.equal(bernoulli(r, 1), true);

  const out = fillUniform(r, new Float32Array(10_000), -0.5, 0.5);
  let mean = 0;
  for (const x of out) {
    assert.ok(x >= -0.5 && x <= 0.5);
    mean += x / out.length;
  }
  assert.ok(Math.abs(mean) < 0.02);
  assert.ok(new Set(out).size > 9000);
});

test('shuffle is a reproducible permutation', () => {
  const arr = Array.from({ length: 100 }, (_, i) => i);
  const r = new Rng(3);
  const shuffled = r.shuffle([...arr]);
  assert.notDeepEqual(shuffled, arr);
  assert.deepEqual([...shuffled].sort((a, b) => a - b), arr);
  assert.deepEqual(new Rng(3).shuffle([...arr]), shuffled);
  const ints = new Rng(3).shuffle(Int32Array.from(arr));
  assert.ok(ints instanceof Int32Array);
  assert.deepEqual(Array.from(ints), shuffled);
  assert.deepEqual(r.shuffle([]), []);
  assert.deepEqual(r.shuffle(['a']), ['a']);
  // Each of the 6 orders of 3 items shows up about equally often.
  const freq = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const key = r.shuffle(['a', 'b', 'c']).join('');
    freq.set(key, (freq.get(key) ?? 0) + 1);
  }
  assert.equal(freq.size, 6);
  for (const c of freq.values()) assert.ok(c > 850 && c < 1150, `order count ${c}`);
});
