// results.md's Statistics section, from results.json's statistics (statistics.ts): per dataset
// whose networks have several seeds, each network's 95% CIs, the significant differences, what
// could not be tested and why, the seed document's readings held against our comparisons, and the
// seeds a difference of 0.01 would need. A dataset with one seed per network claims nothing.
import type { Summary } from '../stats/stats.js';
import { ALPHA, bySeeds, DETECT, SEED_ROUNDING, type Comparison, type DatasetStatistics, type Metric } from './statistics.js';
import type { ResultsJson } from './report.js';
import { datasetTitle } from './report.js';
import { isSeedRecipe } from './statistics.js';

/**
 * The seed document's readings, each variant against googlenet: "except for Short4, almost all
 * variants perform similarly", and of the naïve version "the accuracy is not dramatically
 * different". `similar`: no real difference; `worse`: a higher error.
 */
export const SEED_READINGS: { baseline: string; quote: string; readings: Record<string, 'similar' | 'worse'> } = {
  baseline: 'googlenet',
  quote: '“except for Short4, almost all variants perform similarly”',
  readings: {
    'googlenet-naive': 'similar', 'googlenet-long': 'similar', 'googlenet-short': 'similar',
    'googlenet-short2': 'similar', 'googlenet-short3': 'similar', 'googlenet-short4': 'worse',
  },
};

const METRIC_NAME: Record<Metric, string> = { top1: 'top-1', top5: 'top-5' };
export const signed = (x: number, digits = 3) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
export const interval = (c: [number, number], digits = 3) => `[${signed(c[0], digits)}, ${signed(c[1], digits)}]`;
/** p-values as one reads them: 2 significant digits, scientific below 0.001. */
export const formatP = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2));
const ci = (s: Summary) => (s.ci95 ? `[${s.ci95[0].toFixed(3)}, ${s.ci95[1].toFixed(3)}]` : '— (n=1)');
const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
const andList = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/** `a − b, top-1: +0.104, 95% CI [+0.071, +0.137], p 0.0012, Holm p 0.0036`. */
export function comparisonText(c: Comparison): string {
  const head = `${c.a} − ${c.b}, ${METRIC_NAME[c.metric]}: ${signed(c.difference)}`;
  return c.testable ? `${head}, 95% CI ${interval(c.ci95!)}, p ${formatP(c.p!)}, Holm p ${formatP(c.pHolm!)}` : `${head} (not testable: ${c.reason})`;
}

/** The comparison of `x` against `y` on a metric, turned to read x − y whichever order the family holds it in. */
function against(s: DatasetStatistics, x: string, y: string, metric: Metric): Comparison | undefined {
  const c = s.comparisons.find((k) => k.metric === metric && ((k.a === x && k.b === y) || (k.a === y && k.b === x)));
  if (!c || c.a === x) return c;
  return { ...c, a: x, b: y, difference: -c.difference, ci95: c.ci95 ? [-c.ci95[1], -c.ci95[0]] : null };
}

/** One reading judged: supported, consistent, contradicted, or not judged (and why). */
export function judge(reading: 'similar' | 'worse', c: Comparison | undefined): string {
  if (!c) return 'not judged: no comparison (the two were not measured on the same images)';
  if (!c.testable) return `not judged: ${c.reason}`;
  const what = `${signed(c.difference)}, 95% CI ${interval(c.ci95!)}, Holm p ${formatP(c.pHolm!)}`;
  if (reading === 'worse') {
    if (c.significant && c.difference > 0) return `${what}, significant: **supports** the seed's reading (worse)`;
    if (c.significant) return `${what}, significant the other way: **contradicts** the seed's reading (worse)`;
    return `${what}, not significant: **does not support** the seed's reading (worse)`;
  }
  if (c.significant) return `${what}, significant: **contradicts** the seed's reading (similar)`;
  const bound = Math.max(Math.abs(c.ci95![0]), Math.abs(c.ci95![1]));
  return `${what}, not significant: **consistent with** the seed's reading (similar); the CI rules out a difference beyond ${bound.toFixed(3)}`;
}

/** The section's lines for one dataset over seeds. */
function datasetSection(r: ResultsJson, dataset: string, s: DatasetStatistics): string[] {
  const out = [`### ${datasetTitle(dataset)}`, ''];
  out.push('| network | seeds | top-1 mean | top-1 95% CI | top-5 mean | top-5 95% CI |', '|---|---|---:|---:|---:|---:|');
  for (const n of s.networks)
    out.push(`| ${cell(n.label)} | ${n.seeds.map((x) => x.seed).join(', ') || '—'} | ${n.top1 ? n.top1.mean.toFixed(3) : '—'} | ${n.top1 ? ci(n.top1) : '—'} | ` +
      `${n.top5 ? n.top5.mean.toFixed(3) : '—'} | ${n.top5 ? ci(n.top5) : '—'} |`);
  out.push('');
  const family = (m: Metric) => s.comparisons.filter((c) => c.metric === m && c.testable).length;
  out.push(`Welch's t-test on each pair of networks measured on the same images, from each run's final epoch; p-values Holm-corrected within each ` +
    `metric (top-1: m = ${family('top1')} pair${family('top1') === 1 ? '' : 's'}, top-5: m = ${family('top5')}). Significant: corrected p < ${ALPHA}.`, '');
  const significant = s.comparisons.filter((c) => c.significant);
  if (significant.length) out.push('Significant differences (mean of the first − mean of the second):', '', ...significant.map((c) => `- ${comparisonText(c)}`), '');
  else out.push(`No difference is significant${family('top1') + family('top5') ? '' : ' (no pair could be tested)'}.`, '');
  // pairs with a one-seed side are covered by the line on one-seed networks below
  const untestable = s.comparisons.filter((c) => !c.testable && s.networks.every((n) => (n.label !== c.a && n.label !== c.b) || n.seeds.length >= 2));
  if (untestable.length) out.push(`Not testable: ${untestable.map((c) => `${c.a} vs ${c.b} (${METRIC_NAME[c.metric]}): ${c.reason}`).join('; ')}.`, '');
  const single = s.networks.filter((n) => n.seeds.length === 1).map((n) => n.label);
  if (single.length) out.push(`${andList(single)} ${single.length === 1 ? 'has' : 'have'} one complete seed: nothing is claimed about ${single.length === 1 ? 'it' : 'them'} (a t-test needs at least two seeds per network; train more with \`--seeds\`).`, '');
  out.push(...readings(r, dataset, s));
  const power = (m: Metric) => s.pooledSd[m] === null ? null : `${METRIC_NAME[m]}: pooled sd ${s.pooledSd[m]!.toFixed(4)}, n = ${s.seedsToDetect[m]}`;
  const p = (['top1', 'top5'] as Metric[]).flatMap((m) => power(m) ?? []);
  if (p.length) out.push(`**Seeds needed.** To detect a difference of ${DETECT} with α = 0.05 (two-sided) and power 0.8 at the sd measured here, ` +
    `n = 2·((1.96 + 0.84)·sd/${DETECT})² seeds per network: ${p.join('; ')}.`, '');
  return out;
}

/** The seed's readings against our comparisons of each variant with googlenet, where both ran. */
function readings(r: ResultsJson, dataset: string, s: DatasetStatistics): string[] {
  const has = (label: string) => s.networks.some((n) => n.label === label && n.seeds.length > 0);
  const variants = Object.keys(SEED_READINGS.readings).filter(has);
  if (!has(SEED_READINGS.baseline) || variants.length === 0) return [];
  const base = s.networks.find((n) => n.label === SEED_READINGS.baseline)!;
  const run = r.runs.find((x) => x.id === base.runIds[0]);
  const seedRecipe = run ? isSeedRecipe(run.recipe, run.epochsPlanned) : false;
  const out = [`**The seed's readings.** The seed document reads its variants against googlenet: ${SEED_READINGS.quote}. ` +
    (seedRecipe ? 'Our recipe is the seed\'s.' : 'Our recipe is not the seed\'s (see the caption above), so these judge the same differences under ours.'), ''];
  for (const v of variants) {
    const reading = SEED_READINGS.readings[v]!;
    out.push(`- ${v} − googlenet (the seed: ${reading}): top-1 ${judge(reading, against(s, v, SEED_READINGS.baseline, 'top1'))}; ` +
      `top-5 ${judge(reading, against(s, v, SEED_READINGS.baseline, 'top5'))}.`);
  }
  out.push('');
  const checked = s.networks.filter((n) => n.seedCheck);
  if (checked.length) {
    const outside = checked.flatMap((n) => (['top1', 'top5'] as Metric[]).filter((m) => n.seedCheck![m].outside).map((m) => `${n.label} ${METRIC_NAME[m]} (the seed's ${n.seedCheck![m].value.toFixed(2)}, ours ${n.seedCheck![m].interval.map((x) => x.toFixed(3)).join(' to ')})`));
    out.push(`The seed's own values against the 95% prediction interval of one more of our runs (widened by ±${SEED_ROUNDING} for its rounding): ` +
      (outside.length ? `outside for ${andList(outside)} (marked § in the table); inside for the rest.` : `all ${checked.length * 2} inside.`), '');
  }
  return out;
}

/** The Statistics section: empty when no dataset has several seeds of a network (results.md is then as before seeds). */
export function statisticsSection(r: ResultsJson): string[] {
  const datasets = Object.keys(r.datasets).filter((d) => bySeeds(r.statistics?.[d]));
  if (datasets.length === 0) return [];
  const out = ['## Statistics', ''];
  for (const d of Object.keys(r.datasets)) {
    const s = r.statistics[d]!;
    if (datasets.includes(d)) out.push(...datasetSection(r, d, s));
    else out.push(`### ${datasetTitle(d)}`, '', 'One seed per network: nothing is claimed (a t-test needs at least two seeds per network; train more with `--seeds`).', '');
  }
  return out;
}
