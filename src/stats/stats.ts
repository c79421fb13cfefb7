// The statistics that judge runs over seeds: a sample's mean, standard deviation and the 95%
// confidence interval of its mean (Student's t), Welch's t-test and interval for a difference of
// two means, Holm's step-down correction for a family of tests, the 95% prediction interval of one
// more run, and the seeds a test needs to detect a difference. The t distribution's cdf and
// quantile are @stdlib's: maintained, and equal to SciPy's to the last digits or so (the tests
// check every number here against SciPy on fixed inputs).
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** A sample's summary: mean, sample standard deviation (n − 1), n, and the 95% CI of the mean; sd and ci95 are null for n = 1. */
export interface Summary { mean: number; sd: number | null; n: number; ci95: [number, number] | null }

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Sample variance (n − 1 in the denominator), from the mean (two passes: exact for near-equal values). */
function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}
/** The t quantile that leaves 2.5% in each tail with `df` degrees of freedom. */
export const t975 = (df: number): number => tQuantile(0.975, df);

/** Mean, sd, n and the 95% confidence interval of the mean (Student's t, n − 1 degrees of freedom); refuses an empty sample. */
export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new Error('summarize: no values');
  if (!xs.every(Number.isFinite)) throw new Error(`summarize: a value is not finite (${xs.join(', ')})`);
  const m = mean(xs);
  if (xs.length === 1) return { mean: m, sd: null, n: 1, ci95: null };
  const sd = Math.sqrt(variance(xs));
  const half = (t975(xs.length - 1) * sd) / Math.sqrt(xs.length);
  return { mean: m, sd, n: xs.length, ci95: [m - half, m + half] };
}

/** Welch's test of mean(a) − mean(b): the difference, its 95% CI, the two-sided p-value and the Welch–Satterthwaite degrees of freedom. */
export interface Welch { difference: number; ci95: [number, number]; p: number; df: number; t: number }

/**
 * Why two samples cannot be compared by Welch's test, or null when they can: each needs n ≥ 2,
 * and not both may have sd 0 (the standard error would be 0: no t, no p).
 */
export function untestable(a: readonly number[], b: readonly number[]): string | null {
  if (a.length < 2 || b.length < 2) return `a t-test needs at least 2 seeds on each side (here ${a.length} and ${b.length})`;
  if (variance(a) === 0 && variance(b) === 0) return 'every seed of both gave the same value (sd 0 on both sides): no spread to test against';
  return null;
}

/** Welch's unequal-variances t-test (scipy.stats.ttest_ind(a, b, equal_var=False)) and its 95% CI; throws where untestable() says why. */
export function welch(a: readonly number[], b: readonly number[]): Welch {
  const why = untestable(a, b);
  if (why) throw new Error(`welch: ${why}`);
  const va = variance(a) / a.length, vb = variance(b) / b.length;
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const difference = mean(a) - mean(b);
  const t = difference / se;
  // two-sided: twice the lower tail at −|t| (no cancellation, unlike 1 − cdf(|t|))
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const half = t975(df) * se;
  return { difference, ci95: [difference - half, difference + half], p, df, t };
}

/**
 * Holm's step-down adjusted p-values, in the order given: the k-th smallest p (from 1) times
 * m − k + 1, made non-decreasing along that order and capped at 1. Adjusted p < α rejects
 * exactly the hypotheses Holm's procedure at α rejects, controlling the family-wise error rate.
 */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}

/** The 95% prediction interval of one more run: mean ± t(0.975, n − 1)·sd·√(1 + 1/n); null for n < 2. */
export function predictionInterval(s: Summary): [number, number] | null {
  if (s.n < 2 || s.sd === null) return null;
  const half = t975(s.n - 1) * s.sd * Math.sqrt(1 + 1 / s.n);
  return [s.mean - half, s.mean + half];
}

/**
 * The pooled standard deviation of several samples' summaries, √(Σ(nᵢ − 1)sᵢ² / Σ(nᵢ − 1)), over
 * those with n ≥ 2; null when none has.
 */
export function pooledSd(summaries: readonly Summary[]): number | null {
  const with2 = summaries.filter((s) => s.n >= 2 && s.sd !== null);
  const dof = with2.reduce((s, x) => s + x.n - 1, 0);
  return dof === 0 ? null : Math.sqrt(with2.reduce((s, x) => s + (x.n - 1) * x.sd! ** 2, 0) / dof);
}

/** z quantiles of the normal approximation the issue fixes: two-sided α = 0.05 and power 0.8. */
export const Z_ALPHA = 1.96, Z_POWER = 0.84;

/**
 * Seeds per network that detect a difference `delta` between two means with α = 0.05 (two-sided)
 * and power 0.8 when each run's sd is `sd`: n = 2·((1.96 + 0.84)·sd/delta)², rounded up (the
 * normal approximation; a t-test needs a little more at small n), and at least 2.
 */
export function seedsToDetect(sd: number, delta: number): number {
  if (!(delta > 0)) throw new Error(`seedsToDetect: delta must be positive, not ${delta}`);
  return Math.max(2, Math.ceil(2 * ((Z_ALPHA + Z_POWER) * sd / delta) ** 2));
}
