// The report's statistics over seeds. Per dataset, runs of one network under one recipe that
// differ only in their seed form a group; over its complete seeds (their final epochs) each
// group gets the mean, sd, n and 95% CI of top-1 and top-5 error and of training time. Every pair
// of groups measured on the same images is compared by Welch's t-test, Holm-corrected within the
// family of its dataset and metric; "significant" is a corrected p below 0.05. Where a group's
// recipe is the seed's own, the seed document's value is checked against the 95% prediction
// interval of one more of our runs. results.json carries all of it; results.md, the plots and the
// dashboard read it from there.
import { canonicalize } from '../util/canonical-json.js';
import { DATASET_NAMES, defaultRecipe, recipeKey, type Recipe } from '../train/config.js';
import type { DatasetName } from '../data/cifar.js';
import { holm, pooledSd, predictionInterval, seedsToDetect, summarize, untestable, welch, type Summary } from '../stats/stats.js';
import { formatDuration, type ResultRow } from './report.js';

export type Metric = 'top1' | 'top5';
export const METRICS: readonly Metric[] = ['top1', 'top5'];
/** Corrected p-values below this are significant. */
export const ALPHA = 0.05;
/** The difference the seeds-to-detect estimate is for: the seed's tables' resolution. */
export const DETECT = 0.01;
/** The seed's tables round to two decimals: its values are known to ±0.005. */
export const SEED_ROUNDING = 0.005;

/** One complete seed of a group: its final epoch's errors and the run's training time. */
export interface SeedRun { seed: number; top1Error: number; top5Error: number; seconds: number; runId: number }

/** The seed document's value against the 95% prediction interval of one more of our runs, widened by its ±0.005 rounding. */
export interface SeedCheck { value: number; interval: [number, number]; outside: boolean }

export interface NetworkStatistics {
  /** The group's name in tables and comparisons: its network's, with ` val N` or ` (runs 1, 4)` where the dataset has several groups of that network. */
  label: string;
  model: string;
  sha256: string | null;
  /** Every run of the group (complete or not), by seed. */
  runIds: number[];
  /** The complete ones, by seed. */
  seeds: SeedRun[];
  /** Over `seeds`; null while none is complete. */
  top1: Summary | null; top5: Summary | null; seconds: Summary | null;
  /** Set where the group's recipe is the seed's (its 14 epochs, all images, its optimizer and schedule) and n ≥ 2. */
  seedCheck?: Record<Metric, SeedCheck>;
}

export interface Comparison {
  a: string; b: string; metric: Metric;
  /** mean of a − mean of b */
  difference: number;
  /** Welch's 95% CI of the difference, its two-sided p and Holm's corrected p; null where not testable. */
  ci95: [number, number] | null; p: number | null; pHolm: number | null;
  significant: boolean; testable: boolean;
  /** Why a pair is not testable. */
  reason?: string;
}

export interface DatasetStatistics {
  networks: NetworkStatistics[];
  /** Every pair of groups measured on the same images, for top1 and top5 (a before b in table order). */
  comparisons: Comparison[];
  /** The pooled sd of each metric over the groups with n ≥ 2, and the seeds per network that detect a difference of DETECT with α 0.05 and power 0.8 at it. */
  pooledSd: Record<Metric, number | null>;
  seedsToDetect: Record<Metric, number | null>;
}

/** What a row of results.json's datasets and its run contribute. */
type Row = Pick<ResultRow, 'model' | 'runId' | 'recipeSeed' | 'val' | 'sha256' | 'top1Error' | 'top5Error' | 'seconds' | 'status' | 'epochsPlanned'>;
type RunRecipe = { id: number; recipe: Recipe };

/** The recipe without its seed (and its network, named by model and sha256): runs that share it are one group. */
const groupKey = (x: Row, recipe: Recipe) => canonicalize([x.model, x.sha256, recipeKey({ ...recipe, seed: 0 }), x.epochsPlanned ?? recipe.epochs]);
/**
 * The images a group's errors are measured on: two groups are compared only where these agree
 * (a hold-out's errors against the test set's, or CIFAR-100's 20 superclasses against its 100
 * classes, would compare different questions).
 */
const evaluationKey = (r: Recipe) => canonicalize([r.coarse, r.val ?? 0, r.val ? r.limitTrain : null, r.val ? null : r.limitTest]);

/** Whether a recipe is the seed's own in everything but the seed (and the network, which the table names). */
export function isSeedRecipe(r: Recipe, epochsPlanned: number | undefined): boolean {
  if (!DATASET_NAMES.includes(r.dataset as DatasetName)) return false;
  const seed = defaultRecipe(undefined, r.dataset);
  return recipeKey({ ...r, seed: 0 }) === recipeKey({ ...seed, seed: 0 }) && (epochsPlanned ?? r.epochs) === seed.epochs && r.epochs === seed.epochs;
}

/** `googlenet`, or where the dataset has several groups of it, `googlenet val 5000` (beside plain `googlenet`, its group without a hold-out) or `googlenet (runs 3, 7)`. */
function labels(groups: { model: string; val: number; runIds: number[] }[]): string[] {
  return groups.map((g) => {
    const same = groups.filter((h) => h.model === g.model);
    if (same.length === 1) return g.model;
    const byVal = same.filter((h) => h.val === g.val);
    if (byVal.length === 1 && new Set(same.map((h) => h.val)).size === same.length) return g.val ? `${g.model} val ${g.val}` : g.model;
    return `${g.model} (runs ${g.runIds.join(', ')})`;
  });
}

/** The statistics of one dataset's rows (in table order), with each run's recipe; `seed` gives the seed document's value for a network, where it has one. */
export function datasetStatistics(rows: Row[], runs: RunRecipe[], seedValue?: (model: string, metric: Metric) => number | undefined): DatasetStatistics {
  const recipeOf = (x: Row) => runs.find((r) => r.id === x.runId)!.recipe;
  const groups: { key: string; evaluation: string; model: string; sha256: string | null; val: number; rows: Row[]; recipe: Recipe; epochsPlanned?: number }[] = [];
  for (const x of rows) {
    const recipe = recipeOf(x);
    const key = groupKey(x, recipe);
    const g = groups.find((h) => h.key === key);
    if (g) g.rows.push(x);
    else groups.push({ key, evaluation: evaluationKey(recipe), model: x.model, sha256: x.sha256, val: x.val, rows: [x], recipe, epochsPlanned: x.epochsPlanned });
  }
  for (const g of groups) g.rows.sort((a, b) => a.recipeSeed - b.recipeSeed || a.runId - b.runId);
  const names = labels(groups.map((g) => ({ model: g.model, val: g.val, runIds: g.rows.map((x) => x.runId) })));
  const networks: NetworkStatistics[] = groups.map((g, i) => {
    const seeds: SeedRun[] = g.rows
      .filter((x) => x.status === 'complete' && x.top1Error !== null && x.top5Error !== null && x.seconds !== null)
      .map((x) => ({ seed: x.recipeSeed, top1Error: x.top1Error!, top5Error: x.top5Error!, seconds: x.seconds!, runId: x.runId }));
    const of = (f: (s: SeedRun) => number) => (seeds.length ? summarize(seeds.map(f)) : null);
    const n: NetworkStatistics = {
      label: names[i]!, model: g.model, sha256: g.sha256, runIds: g.rows.map((x) => x.runId), seeds,
      top1: of((s) => s.top1Error), top5: of((s) => s.top5Error), seconds: of((s) => s.seconds),
    };
    const check = seedValue && seeds.length >= 2 && isSeedRecipe(g.recipe, g.epochsPlanned) ? seedCheck(n, g.model, seedValue) : undefined;
    if (check) n.seedCheck = check;
    return n;
  });
  const comparisons: Comparison[] = [];
  for (const metric of METRICS) {
    const family: Comparison[] = [];
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) {
      const a = networks[i]!, b = networks[j]!;
      if (groups[i]!.evaluation !== groups[j]!.evaluation || !a[metric] || !b[metric]) continue;
      const xa = a.seeds.map((s) => (metric === 'top1' ? s.top1Error : s.top5Error)), xb = b.seeds.map((s) => (metric === 'top1' ? s.top1Error : s.top5Error));
      const why = untestable(xa, xb);
      const difference = a[metric]!.mean - b[metric]!.mean;
      if (why) { family.push({ a: a.label, b: b.label, metric, difference, ci95: null, p: null, pHolm: null, significant: false, testable: false, reason: why }); continue; }
      const w = welch(xa, xb);
      family.push({ a: a.label, b: b.label, metric, difference: w.difference, ci95: w.ci95, p: w.p, pHolm: null, significant: false, testable: true });
    }
    // Holm within the family of this dataset and metric: m = its testable pairs
    const testable = family.filter((c) => c.testable);
    holm(testable.map((c) => c.p!)).forEach((p, k) => { testable[k]!.pHolm = p; testable[k]!.significant = p < ALPHA; });
    comparisons.push(...family);
  }
  const pooled = (m: Metric) => pooledSd(networks.flatMap((n) => (n[m] ? [n[m]!] : [])));
  const pooledSds = { top1: pooled('top1'), top5: pooled('top5') };
  return {
    networks, comparisons, pooledSd: pooledSds,
    seedsToDetect: { top1: pooledSds.top1 === null ? null : seedsToDetect(pooledSds.top1, DETECT), top5: pooledSds.top5 === null ? null : seedsToDetect(pooledSds.top5, DETECT) },
  };
}

/** The seed's values of a network against our prediction intervals, widened by its rounding; undefined where the seed has none. */
function seedCheck(n: NetworkStatistics, model: string, seedValue: (model: string, metric: Metric) => number | undefined): Record<Metric, SeedCheck> | undefined {
  const out: Partial<Record<Metric, SeedCheck>> = {};
  for (const m of METRICS) {
    const value = seedValue(model, m);
    const pi = predictionInterval(n[m]!);
    if (value === undefined || !pi) return undefined;
    const interval: [number, number] = [pi[0] - SEED_ROUNDING, pi[1] + SEED_ROUNDING];
    out[m] = { value, interval, outside: value < interval[0] || value > interval[1] };
  }
  return out as Record<Metric, SeedCheck>;
}

/** Whether a dataset's table is drawn per group (some network has several seeds) rather than per run, as before seeds. */
export const bySeeds = (s: DatasetStatistics | undefined): boolean => !!s && s.networks.some((n) => n.runIds.length > 1);

/** A cell of an error over seeds: `0.342 ± 0.006 (n=3)` (mean ± sd), `0.342 (n=1)`, or — before any seed is complete. */
export function errorCell(s: Summary | null): string {
  if (!s) return '—';
  return s.sd === null ? `${s.mean.toFixed(3)} (n=1)` : `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)} (n=${s.n})`;
}

/** A time cell over seeds: `12m3s ± 15s (n=3)` (mean ± sd), `12m3s (n=1)`, or — before any seed is complete. */
export function durationCell(s: Summary | null): string {
  if (!s) return '—';
  return s.sd === null ? `${formatDuration(s.mean)} (n=1)` : `${formatDuration(s.mean)} ± ${formatDuration(s.sd)} (n=${s.n})`;
}
