// results.json's statistics and results.md's tables over seeds, on fixtures (no training): every
// mean, sd, CI and Holm-corrected Welch p-value against SciPy on the same numbers; the families
// and what is testable; the seed's values against our prediction intervals; one seed per network
// leaves results.md as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderMarkdown, statisticsOf, type ResultsJson } from '../src/experiment/report.js';
import { resultsFixture } from './chart-fixture.js';
import { close, requirePython, sharedOpts, sharedPath } from './helpers.js';
import { cli } from './processes.js';
import { assertStatistics, scipyStatistics } from './scipy-reference.js';

const scipy = requirePython('scipy');
const scipyOpts = 'skip' in scipy ? { skip: scipy.skip } : {};

/** A fixture's final errors replaced by `errors(model, seed)` ([top1, top5]), its statistics computed again. */
function withErrors(r: ResultsJson, errors: (model: string, seed: number) => [number, number]): ResultsJson {
  for (const rows of Object.values(r.datasets)) for (const x of rows) [x.top1Error, x.top5Error] = errors(x.model, x.recipeSeed);
  return { ...r, statistics: statisticsOf(r) };
}

// made-up final errors of three seeds: googlenet-short4 clearly worse, short3 near googlenet, googlenet-long one seed,
// and top-5 of googlenet and googlenet-short3 0.00 on every seed (as in the seed's CIFAR-10 table)
const ERRORS: Record<string, number[][]> = {
  googlenet: [[0.3412, 0], [0.3387, 0], [0.3461, 0]],
  'googlenet-short3': [[0.3455, 0], [0.3521, 0], [0.3398, 0]],
  'googlenet-short4': [[0.4391, 0.151], [0.4467, 0.142], [0.4429, 0.155]],
  'googlenet-long': [[0.351, 0.01]],
};
const fixture = () => withErrors(resultsFixture({
  models: ['googlenet', 'googlenet-short3', 'googlenet-short4', 'googlenet-long'], datasets: ['cifar10'], epochs: 2, limitTrain: 2000,
  runsOf: (m) => (m === 'googlenet-long' ? [{ seed: 1 }] : [{ seed: 1 }, { seed: 2 }, { seed: 3 }]),
}), (m, seed) => ERRORS[m]![seed - 1] as [number, number]);

test('statistics over seeds: means, sds, CIs and Holm-corrected Welch p-values equal SciPy\'s on the same numbers', scipyOpts, () => {
  const s = fixture().statistics.cifar10!;
  assert.deepEqual(s.networks.map((n) => [n.label, n.seeds.map((x) => x.seed), n.top1!.n]), [
    ['googlenet', [1, 2, 3], 3], ['googlenet-long', [1], 1], ['googlenet-short3', [1, 2, 3], 3], ['googlenet-short4', [1, 2, 3], 3],
  ]);
  const labels = s.networks.map((n) => n.label);
  const want = scipyStatistics(ERRORS, labels);
  assertStatistics(s, want);
  const testable = s.comparisons.filter((c) => c.testable);
  // top-1: three testable pairs (googlenet-long has one seed); top-5: googlenet vs short3 is 0.00 on every seed of both
  assert.equal(testable.filter((c) => c.metric === 'top1').length, 3);
  assert.equal(testable.filter((c) => c.metric === 'top5').length, 2);
  const flat = s.comparisons.find((c) => c.metric === 'top5' && c.a === 'googlenet' && c.b === 'googlenet-short3')!;
  assert.deepEqual([flat.testable, flat.p, flat.pHolm, flat.significant], [false, null, null, false]);
  assert.match(flat.reason!, /sd 0 on both sides/);
  assert.match(s.comparisons.find((c) => c.b === 'googlenet-long')!.reason!, /at least 2 seeds on each side \(here 3 and 1\)/);
  assert.ok(s.comparisons.filter((c) => c.significant).some((c) => c.a === 'googlenet' && c.b === 'googlenet-short4' && c.metric === 'top1'));
  // the pooled sd over the three-seed networks, and n = 2·((1.96 + 0.84)·sd/0.01)²
  const sds = s.networks.filter((n) => n.top1!.n === 3).map((n) => n.top1!.sd!);
  close(s.pooledSd.top1!, Math.sqrt(sds.reduce((a, x) => a + x * x, 0) / 3), 'pooled top-1 sd');
  assert.equal(s.seedsToDetect.top1, Math.ceil(2 * ((2.8 * s.pooledSd.top1!) / 0.01) ** 2));
});

test('results.md over seeds: mean ± sd (n) cells, the significant differences, what is not testable, the seed\'s readings and the seeds needed', () => {
  const r = fixture();
  const md = renderMarkdown(r);
  const s = r.statistics.cifar10!;
  const g = s.networks.find((n) => n.label === 'googlenet')!;
  assert.ok(md.includes(`| googlenet | ${g.top1!.mean.toFixed(3)} ± ${g.top1!.sd!.toFixed(3)} (n=3) | 0.000 ± 0.000 (n=3) | 6,166,250 |`), md);
  assert.ok(md.includes('| googlenet-long | 0.351 (n=1) | 0.010 (n=1) |'));
  assert.ok(md.includes(' · batch 64 · seeds 1–3. ') && !md.includes('mixed recipes'), 'the caption names the seeds; the seed is no recipe difference');
  assert.ok(!/\| googlenet seed \d/.test(md), 'no row per run');
  const section = md.slice(md.indexOf('## Statistics'), md.indexOf('## Networks'));
  assert.ok(section.includes('(top-1: m = 3 pairs, top-5: m = 2)'), section);
  const significant = s.comparisons.filter((c) => c.significant);
  assert.ok(significant.length >= 2);
  for (const c of significant) assert.ok(section.includes(`- ${c.a} − ${c.b}, ${c.metric === 'top1' ? 'top-1' : 'top-5'}: `), `${c.a} − ${c.b} listed`);
  assert.equal((section.match(/^- .* − .*, top-[15]: /gm) ?? []).length, significant.length, 'only the significant differences listed');
  assert.ok(section.includes('Not testable: googlenet vs googlenet-short3 (top-5): every seed of both gave the same value'), section);
  assert.ok(section.includes('googlenet-long has one complete seed: nothing is claimed about it'));
  assert.match(section, /- googlenet-short4 − googlenet \(the seed: worse\): top-1 \+0\.\d{3}, 95% CI \[\+0\.\d{3}, \+0\.\d{3}\], Holm p [\d.e-]+, significant: \*\*supports\*\* the seed's reading \(worse\)/);
  assert.match(section, /- googlenet-short3 − googlenet \(the seed: similar\): top-1 [+−]0\.\d{3}, 95% CI \[−0\.\d{3}, \+0\.\d{3}\], Holm p [\d.]+, not significant: \*\*consistent with\*\*/);
  assert.ok(section.includes('Our recipe is not the seed\'s'));
  assert.ok(section.includes(`top-1: pooled sd ${s.pooledSd.top1!.toFixed(4)}, n = ${s.seedsToDetect.top1}`));
});

test('the seed\'s values against our prediction intervals, only where the recipe is the seed\'s', () => {
  const seedRecipe = (errors: (m: string, seed: number) => [number, number]) => withErrors(resultsFixture({
    models: ['googlenet', 'googlenet-short4'], datasets: ['cifar10'], epochs: 14, runsOf: () => [{ seed: 1 }, { seed: 2 }, { seed: 3 }],
  }), errors);
  // googlenet's top-1 far above the seed's 0.10 and tight: outside; short4's around the seed's 0.15: inside
  const r = seedRecipe((m, seed) => (m === 'googlenet' ? [0.3 + seed * 0.001, 0.001 * seed] : [0.14 + seed * 0.005, 0.01 + seed * 0.001]));
  const [g, s4] = r.statistics.cifar10!.networks;
  assert.equal(g!.seedCheck!.top1.outside, true);
  assert.equal(g!.seedCheck!.top1.value, 0.1);
  assert.equal(g!.seedCheck!.top5.outside, false, 'top-5 0.00 lies within 0.001–0.003 widened by the rounding');
  assert.equal(s4!.seedCheck!.top1.outside, false);
  const md = renderMarkdown(r);
  assert.ok(md.includes('| 0.10§ | 0.00 | 6,166,250 | 28m45s |'), md);
  assert.ok(md.includes("§ the seed's value lies outside the 95% prediction interval of one more of our runs"));
  assert.ok(md.includes('Our recipe is the seed\'s.'));
  assert.ok(md.includes('outside for googlenet top-1 (the seed\'s 0.10, ours'));
  // a recipe that is not the seed's (2 epochs) checks nothing
  const short = withErrors(resultsFixture({ models: ['googlenet'], datasets: ['cifar10'], epochs: 2, runsOf: () => [{ seed: 1 }, { seed: 2 }] }), (_, seed) => [0.3 + seed / 100, 0.02]);
  assert.equal(short.statistics.cifar10!.networks[0]!.seedCheck, undefined);
  assert.ok(!renderMarkdown(short).includes('§'));
});

test('runs measured on other images are not compared: a hold-out against the test set', () => {
  const r = withErrors(resultsFixture({
    models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 2, limitTrain: 20000,
    runsOf: (m) => (m === 'googlenet-short4' ? [{ seed: 1, val: 5000 }, { seed: 2, val: 5000 }] : [{ seed: 1 }, { seed: 2 }]),
  }), (m, seed) => [m === 'googlenet-short4' ? 0.5 + seed / 100 : 0.45 + seed / 50, 0.1 + seed / 100]);
  const s = r.statistics.cifar10!;
  assert.deepEqual(s.networks.map((n) => n.label), ['googlenet-short3', 'googlenet-short4']);
  assert.deepEqual(s.comparisons, [], 'no pair shares its evaluation images');
  assert.ok(renderMarkdown(r).includes('No difference is significant (no pair could be tested).'));
});

test('one seed per network: results.md as before seeds, results.json only gains the statistics', () => {
  const r = resultsFixture({ models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 2, limitTrain: 2000, limitTest: 1000 });
  const md = renderMarkdown(r);
  assert.equal(md, renderMarkdown({ ...r, statistics: {} }), 'the statistics change nothing in results.md');
  assert.ok(!md.includes('## Statistics') && !md.includes('(n=1)') && !md.includes('±'));
  assert.ok(md.includes(`| googlenet-short4 | ${r.datasets.cifar10!.find((x) => x.model === 'googlenet-short4')!.top1Error!.toFixed(2)} |`));
  const s = r.statistics.cifar10!;
  assert.deepEqual(s.networks.map((n) => [n.label, n.top1!.n, n.top1!.sd, n.top1!.ci95]), [['googlenet-short3', 1, null, null], ['googlenet-short4', 1, null, null]]);
  assert.ok(s.comparisons.length === 2 && s.comparisons.every((c) => !c.testable && c.pHolm === null));
  assert.deepEqual(s.pooledSd, { top1: null, top5: null });
});

test('a 3-seed experiment of three networks on the shared CIFAR-10 subset: results.json\'s statistics equal SciPy\'s on its runs\' final errors; results.md shows them', { ...sharedOpts, ...scipyOpts, skip: sharedOpts.skip ?? scipyOpts.skip }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-stats-'));
  const models = ['googlenet-short4', 'googlenet-short3', 'googlenet-short2'];
  const r = cli(['experiment', '--dataset', 'cifar10', '--models', models.join(','), '--data-dir', sharedPath('data'),
    '--limit-train', '64', '--limit-test', '100', '--batch-size', '32', '--epochs', '1', '--seeds', '3', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as ResultsJson;
  assert.equal(json.runs.length, 9);
  // the numbers SciPy sees: each run's last epoch, straight from results.json's runs
  const errors: Record<string, number[][]> = {};
  for (const run of [...json.runs].sort((a, b) => a.recipe.seed - b.recipe.seed)) {
    const last = run.epochs.at(-1)!;
    (errors[run.model] ??= []).push([last.top1Error!, last.top5Error!]);
  }
  const s = json.statistics.cifar10!;
  assert.deepEqual(s.networks.map((n) => [n.label, n.seeds.map((x) => x.seed)]), [...models].reverse().map((m) => [m, [1, 2, 3]]), 'table order: the seed\'s');
  assertStatistics(s, scipyStatistics(errors, s.networks.map((n) => n.label)));
  for (const n of s.networks) assert.deepEqual(n.seeds.map((x) => [x.top1Error, x.top5Error]), errors[n.label], `${n.label}: its seeds' final errors`);
  const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
  for (const n of s.networks) assert.ok(md.includes(`| ${n.label} | ${n.top1!.mean.toFixed(3)} ± ${n.top1!.sd!.toFixed(3)} (n=3) | ${n.top5!.mean.toFixed(3)} ± ${n.top5!.sd!.toFixed(3)} (n=3) |`), md);
  assert.ok(md.includes('## Statistics') && md.includes(' · seeds 1–3. '));
  for (const c of s.comparisons.filter((x) => x.significant)) assert.ok(md.includes(`- ${c.a} − ${c.b}, `), `${c.a} − ${c.b} listed as significant`);
  assert.ok(fs.existsSync(path.join(out, 'plots', 'cifar10-top1-vs-params.svg')));
});
