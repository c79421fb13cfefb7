// Non-dominated sorting on (error, MACs), both minimised (src/explore/pareto.ts): hand-worked
// fronts and ranks, ties and duplicate points, the promotion counts of successive halving, NaN
// refused, and 100 seeded random sets checked against the definition worked out by brute force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dominates, paretoFront, paretoOrder, paretoRanks, promoted, type Scored } from '../src/explore/pareto.js';
import { Rng } from '../src/util/rng.js';

const pt = (id: number, error: number, macs: number): Scored => ({ id, error, macs });
const ranksOf = (points: Scored[]) => Object.fromEntries([...paretoRanks(points)].sort((a, b) => a[0] - b[0]));

test('dominates: at least as good on both, better on one', () => {
  assert.equal(dominates(pt(1, 0.1, 100), pt(2, 0.2, 200)), true);
  assert.equal(dominates(pt(1, 0.1, 200), pt(2, 0.2, 200)), true, 'better error, same MACs');
  assert.equal(dominates(pt(1, 0.2, 100), pt(2, 0.2, 200)), true, 'same error, fewer MACs');
  assert.equal(dominates(pt(1, 0.2, 200), pt(2, 0.2, 200)), false, 'equal points');
  assert.equal(dominates(pt(1, 0.1, 300), pt(2, 0.2, 200)), false, 'a trade-off');
  assert.equal(dominates(pt(2, 0.2, 200), pt(1, 0.1, 100)), false);
});

test('a hand-worked set: ranks, the front by error, the whole order', () => {
  const points = [
    pt(1, 0.10, 100), // front
    pt(2, 0.20, 50), // front
    pt(3, 0.15, 120), // beaten by 1 only → rank 1
    pt(4, 0.30, 40), // front
    pt(5, 0.25, 60), // beaten by 2 → rank 1
    pt(6, 0.40, 200), // beaten by 3 (rank 1) → rank 2
    pt(7, 0.35, 45), // beaten by 2 → rank 1
  ];
  assert.deepEqual(ranksOf(points), { 1: 0, 2: 0, 3: 1, 4: 0, 5: 1, 6: 2, 7: 1 });
  assert.deepEqual(paretoFront(points), [1, 2, 4]);
  assert.deepEqual(paretoOrder(points), [1, 2, 4, 3, 5, 7, 6]);
  assert.deepEqual(paretoOrder([...points].reverse()), [1, 2, 4, 3, 5, 7, 6], 'the input order does not matter');
  assert.deepEqual(promoted(points, 3), [1, 2]);
  assert.deepEqual(promoted(points, 2), [1, 2, 4]);
});

test('ties and duplicates: equal points share a rank, ordered by id; equal errors by MACs', () => {
  // the same error: the one with fewer MACs dominates
  assert.deepEqual(ranksOf([pt(1, 0.1, 100), pt(2, 0.1, 50)]), { 1: 1, 2: 0 });
  // duplicate points: neither dominates; id breaks the tie
  const dup = [pt(9, 0.2, 80), pt(3, 0.2, 80), pt(5, 0.2, 80)];
  assert.deepEqual(ranksOf(dup), { 3: 0, 5: 0, 9: 0 });
  assert.deepEqual(paretoFront(dup), [3, 5, 9]);
  assert.deepEqual(paretoOrder(dup), [3, 5, 9]);
  // the same MACs: the lower error dominates; and a duplicate of a dominated point shares its rank
  const pts = [pt(1, 0.3, 10), pt(2, 0.2, 10), pt(3, 0.4, 10), pt(4, 0.3, 10)];
  assert.deepEqual(ranksOf(pts), { 1: 1, 2: 0, 3: 2, 4: 1 });
  assert.deepEqual(paretoOrder(pts), [2, 1, 4, 3]);
  // within a rank by error: 1 dominates all; then 3, 2 and 5 trade off (3 beats 4 on MACs at the same error)
  const r1 = [pt(1, 0.1, 10), pt(2, 0.3, 20), pt(3, 0.2, 30), pt(4, 0.2, 40), pt(5, 0.4, 15)];
  assert.deepEqual(ranksOf(r1), { 1: 0, 2: 1, 3: 1, 4: 2, 5: 1 });
  assert.deepEqual(paretoOrder(r1), [1, 3, 2, 5, 4]);
  // infinite values order like any other (a candidate with no MAC count yet)
  assert.deepEqual(paretoOrder([pt(1, 0.1, Infinity), pt(2, 0.2, 5), pt(3, 0.1, Infinity)]), [1, 3, 2]);
});

test('promoted: the first max(1, ⌊n/eta⌋) of the order; none of no points', () => {
  const rng = new Rng(3);
  const twelve = Array.from({ length: 12 }, (_, i) => pt(i, rng.random(), rng.int(1000)));
  assert.equal(promoted(twelve, 3).length, 4);
  assert.deepEqual(promoted(twelve, 3), paretoOrder(twelve).slice(0, 4));
  assert.equal(promoted(twelve, 2).length, 6);
  assert.equal(promoted(twelve, 5).length, 2);
  assert.equal(promoted(twelve, 13).length, 1);
  assert.equal(promoted(twelve, 1).length, 12);
  assert.deepEqual(promoted(twelve.slice(0, 2), 3), paretoOrder(twelve.slice(0, 2)).slice(0, 1));
  assert.deepEqual(promoted([], 3), []);
  assert.deepEqual(paretoFront([]), []);
  assert.deepEqual(paretoOrder([]), []);
  assert.equal(paretoRanks([]).size, 0);
  for (const eta of [0, 0.5, NaN, Infinity]) assert.throws(() => promoted(twelve, eta), /^Error: promoted: eta must be a finite number ≥ 1/);
});

test('NaN errors and repeated ids are refused with a clear error', () => {
  const pts = [pt(1, 0.1, 10), pt(2, NaN, 20)];
  for (const f of [paretoRanks, paretoFront, paretoOrder, (p: Scored[]) => promoted(p, 2)])
    assert.throws(() => f(pts), { message: 'pareto: candidate 2 has no error (NaN); drop failed candidates before ranking' });
  assert.throws(() => paretoRanks([pt(1, 0.1, NaN)]), { message: 'pareto: candidate 1 has no MACs (NaN)' });
  assert.throws(() => paretoOrder([pt(4, 0.1, 1), pt(4, 0.2, 2)]), { message: 'pareto: candidate 4 appears twice; each point needs its own id' });
});

/** Rank by the definition: 0 when nothing dominates the point, else one more than its highest-ranked dominator. */
function bruteRanks(points: Scored[]): Map<number, number> {
  const memo = new Map<number, number>();
  const rank = (p: Scored): number => {
    if (!memo.has(p.id)) memo.set(p.id, Math.max(-1, ...points.filter((q) => dominates(q, p)).map(rank)) + 1);
    return memo.get(p.id)!;
  };
  for (const p of points) rank(p);
  return memo;
}

test('100 seeded random sets: ranks, front, order and promotion agree with the brute-force definition', () => {
  for (let set = 0; set < 100; set++) {
    const rng = Rng.derive(2024, set);
    const n = 1 + rng.int(40);
    // coarse grids, so that ties and duplicate points are common
    const points = Array.from({ length: n }, (_, i) => pt(100 + 3 * i + rng.int(3), rng.int(8) / 8, 1000 * rng.int(6)));
    const ranks = paretoRanks(points);
    assert.deepEqual(new Map([...ranks].sort((a, b) => a[0] - b[0])), new Map([...bruteRanks(points)].sort((a, b) => a[0] - b[0])), `set ${set}`);
    // each rank-k point (k > 0) is dominated by one of rank k − 1, and no point by one of its own rank or above
    for (const p of points) {
      const k = ranks.get(p.id)!;
      if (k > 0) assert.ok(points.some((q) => ranks.get(q.id) === k - 1 && dominates(q, p)));
      assert.ok(!points.some((q) => ranks.get(q.id)! >= k && dominates(q, p)));
    }
    const front = paretoFront(points);
    assert.deepEqual(new Set(front), new Set(points.filter((p) => !points.some((q) => dominates(q, p))).map((p) => p.id)));
    const order = paretoOrder(points);
    assert.deepEqual([...order].sort((a, b) => a - b), points.map((p) => p.id).sort((a, b) => a - b), 'every id once');
    assert.deepEqual(order.slice(0, front.length), front, 'the front first, in its own order');
    const byId = new Map(points.map((p) => [p.id, p]));
    for (let i = 1; i < order.length; i++) {
      const a = byId.get(order[i - 1])!, b = byId.get(order[i])!;
      const key = (p: Scored) => [ranks.get(p.id)!, p.error, p.macs, p.id];
      const [ka, kb] = [key(a), key(b)];
      const j = ka.findIndex((x, t) => x !== kb[t]);
      assert.ok(j >= 0 && ka[j] < kb[j], `set ${set}: ${order[i - 1]} before ${order[i]}`);
    }
    for (const eta of [2, 3, 4]) assert.deepEqual(promoted(points, eta), order.slice(0, Math.max(1, Math.floor(n / eta))));
  }
});
