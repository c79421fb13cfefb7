// A search's report, from the run store alone: ExploreJson (explore-json.ts) built from the
// search's rows (search_runs), their runs and epochs; explore.md rendered from it; the plots
// (charts.ts) drawn from it. `explore` writes them after every generation and rung, the dashboard
// builds the same record live.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/disk.js';
import type { RunRow, RunStore, SearchRunRow } from '../store/store.js';
import { holm, summarize, untestable, welch } from '../stats/stats.js';
import { formatDuration, networkSummary } from '../experiment/report.js';
import { formatP, interval, signed } from '../experiment/report-statistics.js';
import type { EpochRecord } from '../train/record.js';
import type { CandidateStatus, ConfirmedNetwork, ExploreCandidate, ExploreJson, ExploreRung, SearchSpec } from './explore-json.js';
import { describeMutation, type Mutation } from './mutations.js';
import { paretoFront } from './pareto.js';
import { renderExplorePlots } from './charts.js';

export interface ExploreReportFiles { markdown: string; json: string; plots: string[] }

const statusOf = (r: RunRow): CandidateStatus => (r.status === 'interrupted' ? 'queued' : r.status);
const secondsOf = (r: RunRow, epochs: EpochRecord[]) => r.seconds ?? (epochs.length ? epochs.reduce((s, e) => s + e.seconds, 0) : null);

/** The search's record as the store holds it now; `exhausted` is what the proposing process knows of its proposals. */
export async function buildExploreJson(store: RunStore, searchId: string, o: { exhausted?: ExploreJson['exhausted'] } = {}): Promise<ExploreJson> {
  const search = (await store.searches()).find((s) => s.id === searchId);
  if (!search) throw new Error(`${store.url}: no search ${searchId.slice(0, 12)}; \`googlenet explore\` records one (searches lists them)`);
  const spec = search.spec as SearchSpec;
  const rows = await store.searchRuns(searchId);
  const runs = new Map((await store.runs()).map((r) => [r.id, r]));
  const epochsOf = new Map<number, EpochRecord[]>();
  for (const id of new Set(rows.map((r) => r.runId))) epochsOf.set(id, await store.epochs(id));
  const run = (row: SearchRunRow) => {
    const r = runs.get(row.runId);
    if (!r) throw new Error(`${store.url}: search ${searchId.slice(0, 12)} names run ${row.runId}, which the store does not hold`);
    return r;
  };

  const candidates: ExploreCandidate[] = rows.filter((x) => x.role === 'search').map((row) => {
    const r = run(row), epochs = epochsOf.get(r.id)!;
    const net = networkSummary(r.recipe);
    const valErrors: Record<string, number> = {};
    for (const e of spec.rungs.slice(0, row.rung)) {
      const at = epochs.find((x) => x.epoch === e);
      if (at?.valTop1Error !== undefined && at.valTop1Error !== null) valErrors[String(e)] = at.valTop1Error;
    }
    const finished = spec.rungs.slice(0, row.rung).filter((e) => valErrors[String(e)] !== undefined);
    return {
      id: row.candidate, network: r.model, layers: net.layers, hash: net.sha256 ?? '', parent: row.parent,
      mutation: row.mutation, mutationText: row.mutation ? describeMutation(row.mutation as Mutation) : null,
      generation: row.generation, params: r.params, macs: r.macs, rung: row.rung,
      valError: finished.length ? valErrors[String(finished.at(-1))]! : null, valErrors,
      seconds: secondsOf(r, epochs), status: statusOf(r), runId: r.id, file: `networks/${r.model}.json`,
    };
  }).sort((a, b) => a.id - b.id);

  const rungs: ExploreRung[] = spec.rungs.map((epochs, k) => {
    const at = candidates.filter((c) => c.rung >= k + 1);
    const finished = at.filter((c) => c.valErrors[String(epochs)] !== undefined);
    return {
      epochs, candidates: at.map((c) => c.id),
      front: paretoFront(finished.map((c) => ({ id: c.id, error: c.valErrors[String(epochs)]!, macs: c.macs }))),
      done: at.length > 0 && at.every((c) => c.valErrors[String(epochs)] !== undefined || c.status === 'failed'),
    };
  });
  const finalRung = rungs.at(-1)!;
  return {
    generatedAt: new Date().toISOString(),
    search: { id: search.id, spec, createdAt: search.createdAt },
    exhausted: o.exhausted ?? null,
    candidates, front: finalRung.front, rungs,
    confirmed: confirmedOf(rows.filter((x) => x.role === 'confirm'), run, epochsOf, finalRung.front),
    confirmSeeds: Math.max(0, ...rows.filter((x) => x.role === 'confirm').map((x) => run(x).recipe.seed)),
  };
}

/** The confirmation: per network its seeds' test errors, their summaries, and each network against the base (Welch; Holm over the networks compared with it, per metric). */
function confirmedOf(rows: SearchRunRow[], run: (r: SearchRunRow) => RunRow, epochsOf: Map<number, EpochRecord[]>, front: number[]): ConfirmedNetwork[] {
  const ids = [...new Set(rows.map((r) => r.candidate))].sort((a, b) => a - b);
  const out: ConfirmedNetwork[] = ids.map((id) => {
    const mine = rows.filter((r) => r.candidate === id).map(run).sort((a, b) => a.recipe.seed - b.recipe.seed);
    const net = networkSummary(mine[0]!.recipe);
    const seeds = mine.map((r) => {
      const epochs = epochsOf.get(r.id)!;
      // a complete run's test errors are its last epoch's
      const last = r.status === 'complete' ? epochs.at(-1) : undefined;
      return { seed: r.recipe.seed, runId: r.id, status: statusOf(r), top1Error: last?.top1Error ?? null, top5Error: last?.top5Error ?? null, seconds: r.status === 'complete' ? secondsOf(r, epochs) : null };
    });
    const values = (m: 'top1Error' | 'top5Error') => seeds.map((s) => s[m]).filter((v): v is number => v !== null);
    const why: ConfirmedNetwork['why'] = [...(id === 0 ? ['base' as const] : []), ...(front.includes(id) && id !== 0 ? ['front' as const] : []), ...(id !== 0 && !front.includes(id) ? ['confirm' as const] : [])];
    return {
      id, network: mine[0]!.model, layers: net.layers, hash: net.sha256 ?? '', params: mine[0]!.params, macs: mine[0]!.macs, why, seeds,
      top1: values('top1Error').length ? summarize(values('top1Error')) : null,
      top5: values('top5Error').length ? summarize(values('top5Error')) : null,
      vsBase: null,
    };
  });
  const base = out.find((c) => c.id === 0);
  if (!base) return out;
  for (const metric of ['top1', 'top5'] as const) {
    const key = metric === 'top1' ? 'top1Error' : 'top5Error';
    const valuesOf = (c: ConfirmedNetwork) => c.seeds.map((s) => s[key]).filter((v): v is number => v !== null);
    const others = out.filter((c) => c.id !== 0);
    const tests = others.map((c) => ({ c, why: untestable(valuesOf(c), valuesOf(base)) }));
    const testable = tests.filter((t) => t.why === null);
    const w = testable.map((t) => welch(valuesOf(t.c), valuesOf(base)));
    const adjusted = holm(w.map((x) => x.p));
    for (const t of tests) {
      t.c.vsBase ??= [];
      const i = testable.indexOf(t);
      if (i < 0) {
        const vs = valuesOf(t.c), vb = valuesOf(base);
        const difference = vs.length && vb.length ? mean(vs) - mean(vb) : null;
        t.c.vsBase.push({ metric, difference, ci95: null, p: null, pHolm: null, significant: false, testable: false, reason: t.why! });
      } else t.c.vsBase.push({ metric, difference: w[i]!.difference, ci95: w[i]!.ci95, p: w[i]!.p, pHolm: adjusted[i]!, significant: adjusted[i]! < 0.05, testable: true });
    }
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));
const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');

/** explore.md: the search, its candidates, its rungs and front, the plots, and the confirmation. */
export function renderExploreMarkdown(r: ExploreJson, o: { storeName?: string; plots?: string[] } = {}): string {
  const s = r.search.spec;
  const recipe = s.recipe as { val?: number; limitTrain?: number | null; optimizer?: string; lr?: number; batchSize?: number; seed?: number };
  const out: string[] = [];
  out.push(`# Search ${r.search.id.slice(0, 12)}: ${s.strategy} from ${s.base.name} on ${s.dataset}`, '');
  const evo = s.strategy === 'evolution' ? ` Regularized evolution: population ${s.population}, tournament ${s.tournament}, ${s.generation} children per generation.` : ' Random: each candidate is one mutation of the base.';
  out.push(`${s.budget} candidates at the first rung (rng ${s.rng}), rungs of ${s.rungs.join(', ')} epochs, the best 1/${s.eta} of each rung on to the next by Pareto rank on validation top-1 error and MACs (ties by error).${evo}` +
    `${s.maxParams ? ` At most ${count(s.maxParams)} parameters.` : ''}${s.maxMacs ? ` At most ${count(s.maxMacs)} MACs.` : ''}`, '');
  out.push(`Every candidate trains on the training images less the first ${count(recipe.val ?? 0)}${recipe.limitTrain ? ` of --limit-train ${count(recipe.limitTrain)}` : ''}, which are its validation hold-out: ` +
    `the rankings, fronts and promotions below use the hold-out alone; no test image is seen before the confirmation. ` +
    `Recipe: ${recipe.optimizer} lr ${recipe.lr}, batch ${recipe.batchSize}, seed ${recipe.seed} (recipe ${s.recipeKey.slice(0, 12)}).`, '');
  if (r.exhausted) out.push(`The proposals stopped at candidate ${r.exhausted.atCandidate}: 100 draws in a row gave no new network within the limits (${Object.entries(r.exhausted.why).map(([k, v]) => `${k} ${v}`).join(', ')}).`, '');

  const front = new Set(r.front);
  out.push('## Candidates', '', `★: on the final rung's front. Candidate 0 is the base. Validation top-1 error after each rung's epochs.`, '');
  out.push(`| id | network | mutation | parent | params | MACs | rung | ${s.rungs.map((e) => `val top-1 @${e}`).join(' | ')} | time | status |`);
  out.push(`|---|---|---|---|---:|---:|---:|${s.rungs.map(() => '---:').join('|')}|---:|---|`);
  for (const c of r.candidates) {
    out.push(`| ${front.has(c.id) ? '★ ' : ''}c${c.id} | ${c.network} | ${cell(c.mutationText ?? '(base)')} | ${c.parent === null ? '—' : `c${c.parent}`} | ${count(c.params)} | ${count(c.macs)} | ${c.rung} | ` +
      `${s.rungs.map((e) => pct(c.valErrors[String(e)])).join(' | ')} | ${c.seconds === null ? '—' : formatDuration(c.seconds)} | ${c.status} |`);
  }
  out.push('', '## Rungs', '', '| rung | epochs | candidates | finished | front |', '|---:|---:|---:|---|---|');
  r.rungs.forEach((g, k) => out.push(`| ${k + 1} | ${g.epochs} | ${g.candidates.length} | ${g.done ? 'all' : 'not yet'} | ${g.front.map((id) => `c${id}`).join(', ') || '—'} |`));
  out.push('');
  if (r.front.length) {
    out.push('## The front', '', `The non-dominated candidates of the final rung (${s.rungs.at(-1)} epochs), by MACs: none of the others has both a lower validation error and fewer MACs.`, '');
    const byId = new Map(r.candidates.map((c) => [c.id, c]));
    for (const id of [...r.front].sort((a, b) => byId.get(a)!.macs - byId.get(b)!.macs)) {
      const c = byId.get(id)!;
      out.push(`- c${c.id} ${c.network}: \`${c.layers}\`, ${count(c.macs)} MACs, validation top-1 ${pct(c.valError)} ([${c.file}](${c.file}))`);
    }
    out.push('');
  }
  for (const p of o.plots ?? []) out.push(`![${p}](${p})`, '');
  if (r.confirmed.length) {
    out.push(`## Confirmation`, '', `Each network trained with seeds 1 to ${r.confirmSeeds} on every training image (the hold-out included) for ${s.rungs.at(-1)} epochs and tested on the test set; ` +
      'each is compared with the base by Welch\'s t-test (difference minus the base, 95% CI), Holm-corrected over the networks compared with it; significant: Holm p < 0.05.', '');
    out.push('| network | why | seeds | test top-1 (mean ± sd) | test top-5 | top-1 − base [95% CI] | p (Holm) |', '|---|---|---:|---:|---:|---|---|');
    for (const c of r.confirmed) {
      const done = c.seeds.filter((x) => x.top1Error !== null).length;
      const meanSd = (x: ConfirmedNetwork['top1']) => (x ? `${x.mean.toFixed(3)}${x.sd === null ? '' : ` ± ${x.sd.toFixed(3)}`}` : '—');
      const v = c.vsBase?.find((x) => x.metric === 'top1');
      const diff = !v ? '—' : v.testable ? `${signed(v.difference!)} ${interval(v.ci95!)}${v.significant ? ' (significant)' : ''}` : `${v.difference === null ? '' : `${signed(v.difference)}, `}not testable: ${v.reason}`;
      out.push(`| ${c.id === 0 ? 'base' : `c${c.id}`} ${c.network} | ${c.why.join(', ')} | ${done}/${c.seeds.length} | ${meanSd(c.top1)} | ${meanSd(c.top5)} | ${cell(diff)} | ${v?.testable ? `${formatP(v.p!)} (${formatP(v.pHolm!)})` : '—'} |`);
    }
    out.push('');
  }
  out.push(`Drawn from \`${o.storeName ?? 'the run store'}\`, search ${r.search.id} (generated ${r.generatedAt}).`, '');
  return out.join('\n');
}

const writeAtomic = (file: string, text: string) => writeFileAtomic(file, [Buffer.from(text)]);

/** Writes DIR/explore.json, DIR/explore.md and DIR/plots/explore-rung<k>.svg (each atomically). */
export async function writeExploreReport(store: RunStore, searchId: string, outDir: string, o: { exhausted?: ExploreJson['exhausted'] } = {}): Promise<ExploreReportFiles> {
  const r = await buildExploreJson(store, searchId, o);
  const svgs = await renderExplorePlots(r);
  const plotDir = path.join(outDir, 'plots');
  fs.mkdirSync(plotDir, { recursive: true });
  const plots: string[] = [];
  for (const [name, svg] of svgs) {
    writeAtomic(path.join(plotDir, name), svg);
    plots.push(path.join(plotDir, name));
  }
  const json = path.join(outDir, 'explore.json'), markdown = path.join(outDir, 'explore.md');
  writeAtomic(json, JSON.stringify(r, null, 2) + '\n');
  writeAtomic(markdown, renderExploreMarkdown(r, { storeName: store.url, plots: [...svgs.keys()].map((n) => `plots/${n}`) }));
  return { markdown, json, plots };
}
