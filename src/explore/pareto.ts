// Non-dominated sorting of candidates on two objectives, both minimised: test error and MACs per
// image. An architecture search keeps the candidates no other beats on both (the Pareto front) and
// promotes, rung by rung as successive halving does, the best by rank — front first, then the
// fronts that remain once it is removed — with error, then MACs, then id breaking ties, so the
// order is total and a search is reproducible.

export interface Scored {
  id: number;
  error: number;
  macs: number;
}

/** a is at least as good as b on both objectives and better on one. */
export function dominates(a: Scored, b: Scored): boolean {
  return a.error <= b.error && a.macs <= b.macs && (a.error < b.error || a.macs < b.macs);
}

/** Refuses what would make the order meaningless: NaN (a failed candidate's error: callers drop those first) and repeated ids. */
function checked(points: readonly Scored[]): readonly Scored[] {
  const ids = new Set<number>();
  for (const p of points) {
    if (Number.isNaN(p.error)) throw new Error(`pareto: candidate ${p.id} has no error (NaN); drop failed candidates before ranking`);
    if (Number.isNaN(p.macs)) throw new Error(`pareto: candidate ${p.id} has no MACs (NaN)`);
    if (ids.has(p.id)) throw new Error(`pareto: candidate ${p.id} appears twice; each point needs its own id`);
    ids.add(p.id);
  }
  return points;
}

/**
 * Each point's rank by id: 0 for the non-dominated, k for those non-dominated once the ranks below
 * k are removed (peeling fronts, O(n²) per front: a search ranks tens of candidates, not thousands).
 */
export function paretoRanks(points: readonly Scored[]): Map<number, number> {
  const ranks = new Map<number, number>();
  let left = [...checked(points)];
  for (let rank = 0; left.length > 0; rank++) {
    const front = left.filter((p) => !left.some((q) => dominates(q, p)));
    for (const p of front) ranks.set(p.id, rank);
    left = left.filter((p) => !ranks.has(p.id));
  }
  return ranks;
}

const byErrorMacsId = (a: Scored, b: Scored) => a.error - b.error || a.macs - b.macs || a.id - b.id;

/** Ids of the non-dominated points, by error, then MACs, then id. */
export function paretoFront(points: readonly Scored[]): number[] {
  const ranks = paretoRanks(points);
  return points.filter((p) => ranks.get(p.id) === 0).sort(byErrorMacsId).map((p) => p.id);
}

/** Every id by rank, then error, then MACs, then id. */
export function paretoOrder(points: readonly Scored[]): number[] {
  const ranks = paretoRanks(points);
  return [...points].sort((a, b) => ranks.get(a.id)! - ranks.get(b.id)! || byErrorMacsId(a, b)).map((p) => p.id);
}

/** Successive halving's promotion: the first max(1, ⌊n/eta⌋) ids of paretoOrder; none of no points. */
export function promoted(points: readonly Scored[], eta: number): number[] {
  if (!(eta >= 1) || !Number.isFinite(eta)) throw new Error(`promoted: eta must be a finite number ≥ 1 (the rung's reduction factor), got ${eta}`);
  if (points.length === 0) return [];
  return paretoOrder(points).slice(0, Math.max(1, Math.floor(points.length / eta)));
}
