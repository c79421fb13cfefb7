// results.md, results.json and plots/*.svg, drawn only from the run store (any of them).
import fs from 'node:fs';
import path from 'node:path';
import { DATASETS, type DatasetName } from '../data/cifar.js';
import { writeFileAtomic } from '../io/disk.js';
import { describeStages, modelNames, variantOf, VARIANTS, type SeedResult } from '../models/googlenet.js';
import { describeLayers, networkHash } from '../models/network.js';
import { DATASET_NAMES, defaultRecipe, networkOfRecipe, type Recipe } from '../train/config.js';
import type { EpochRecord } from '../train/record.js';
import type { AttemptRow, RunRow, RunStore } from '../store/store.js';
import { runSuffix } from '../store/label.js';
import { renderPlots } from './plots.js';
import { caption } from './caption.js';
import { bySeeds, datasetStatistics, durationCell, errorCell, SEED_ROUNDING, type DatasetStatistics, type NetworkStatistics } from './statistics.js';
import { statisticsSection } from './report-statistics.js';

/** The seed's results (quoted in its document), per dataset and network, from VARIANTS. */
export const SEED_TABLES: Record<DatasetName, Record<string, SeedResult>> = Object.fromEntries(
  DATASET_NAMES.map((d) => [d, Object.fromEntries(Object.entries(VARIANTS).flatMap(([m, v]) => (v.seed ? [[m, v.seed[d]]] : [])))]),
) as Record<DatasetName, Record<string, SeedResult>>;
const SEED_EPOCHS = defaultRecipe().epochs;
/** Where the seed's numbers come from, as results.md, the README and the dashboard cite it. */
export const SEED_CITATION = `the seed document (PyTorch 1.6, ${SEED_EPOCHS} epochs on its GPU)`;
/** The seed's time column's heading. */
export const SEED_TIME_HEAD = `seed Time (${SEED_EPOCHS} epochs)`;

/** Whether a name is one of the seven built-in networks (a network file may not take one of their names for another network). */
export const isBuiltin = (model: string): boolean => variantOf(model) !== undefined;

/** The seed's result for a network on a dataset: undefined for a declared network (a network file), which the seed never ran. */
export function seedResult(dataset: string, model: string): SeedResult | undefined {
  const table = Object.hasOwn(SEED_TABLES, dataset) ? SEED_TABLES[dataset as DatasetName] : undefined;
  return table && Object.hasOwn(table, model) ? table[model] : undefined;
}

/**
 * A run's network as reports show it, from its recipe: its layers on one line (describeLayers:
 * `a3 b3 pool a4 drop(0.2) pool(2,2,0) b5 ×0.75`) and its identity (networkHash: SHA-256 of the
 * canonical form). A recipe whose network is not valid (edited by hand: this project never writes
 * one) gets `invalid network: …` as its layers and a null hash, rather than stopping the report.
 */
export function networkSummary(recipe: Pick<Recipe, 'model' | 'network'>): { layers: string; sha256: string | null } {
  try {
    const net = networkOfRecipe(recipe);
    return { layers: describeLayers(net), sha256: networkHash(net) };
  } catch (e) {
    return { layers: `invalid network: ${(e as Error).message.split('\n')[0]}`, sha256: null };
  }
}

/** The seed's networks in the order of its tables' rows (compareModels puts any other network after them). */
export const MODEL_ORDER: string[] = modelNames().filter((m) => VARIANTS[m].seed).sort((a, b) => VARIANTS[a].seed!.row - VARIANTS[b].seed!.row);

/** The footnote of a reconstructed network in a dataset's table, or null for the seed's own networks. */
export function reconstructionNote(model: string, dataset: string, params: number): string | null {
  const spec = variantOf(model);
  if (!spec?.reconstructed) return null;
  const seed = spec.seed?.[dataset as DatasetName];
  return `${model} is a reconstruction (${describeStages(spec)}): no arrangement of the seed's Inception settings gives the seed's count, ` +
    `so ours (${params.toLocaleString('en-US')}) differs from the seed's${seed ? ` (${seed.params.toLocaleString('en-US')})` : ''}.`;
}

export function compareModels(a: string, b: string): number {
  const ia = MODEL_ORDER.indexOf(a), ib = MODEL_ORDER.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}
/** The seed's dataset order (DATASETS'), then any other dataset alphabetically. */
function compareDatasets(a: string, b: string): number {
  const rank = (d: string) => (DATASET_NAMES.includes(d as DatasetName) ? DATASET_NAMES.indexOf(d as DatasetName) : DATASET_NAMES.length);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** CIFAR-100 for cifar100; the name itself for a dataset we do not know. */
export function datasetTitle(dataset: string): string {
  return DATASETS[dataset as DatasetName]?.title ?? dataset;
}

export interface ResultRow {
  model: string;
  /** The run's row name: its network, with runSuffix's ` seed 2`, ` val 5000` or ` (run 3)` where the store holds several runs of it on the dataset. */
  label: string;
  /** The run's id, its recipe's seed and its validation hold-out (0: none; `seed` is the seed document's result). */
  runId: number; recipeSeed: number; val: number;
  /** The network's layers on one line (describeLayers), from the run's recipe. */
  layers: string;
  /** networkHash of the run's network (64 hex digits); null only for a recipe whose network is not valid. */
  sha256: string | null;
  /** One of the seven built-in networks; false for a declared network (a network file), which has no `seed`. */
  builtin: boolean;
  params: number; macs: number;
  /** Final errors: the test set's, or for a run with a hold-out (`heldOut`) the hold-out's. */
  top1Error: number | null; top5Error: number | null; seconds: number | null;
  /** Whether top1Error and top5Error are the hold-out's (val_*), not the test set's. */
  heldOut: boolean;
  /** the last recorded epoch */
  epochs: number;
  /** 'complete', 'failed: …', 'running', 'queued' or 'interrupted' */
  status: string;
  epochsPlanned?: number;
  /** The seed's own result for this network and dataset; absent for a declared network. */
  seed?: SeedResult;
}
export interface ResultsJson {
  generatedAt: string;
  datasets: Record<string, ResultRow[]>;
  /** Per dataset, its networks over their seeds and their pairwise comparisons (statistics.ts). */
  statistics: Record<string, DatasetStatistics>;
  runs: (RunRow & { epochs: EpochRecord[]; attempts: AttemptRow[] })[];
}

/**
 * A run's final values: those of its last recorded epoch, and its training time (the run's own
 * once it ended, else the sum of its epochs so far; null before any epoch).
 */
export function finalValues(r: { seconds: number | null; epochs: EpochRecord[] }): Pick<ResultRow, 'top1Error' | 'top5Error' | 'heldOut' | 'seconds' | 'epochs'> {
  const last = r.epochs.at(-1);
  const heldOut = !!last && isHeldOut(last);
  return {
    top1Error: (heldOut ? last!.valTop1Error : last?.top1Error) ?? null, top5Error: (heldOut ? last!.valTop5Error : last?.top5Error) ?? null, heldOut,
    seconds: r.seconds ?? (last ? r.epochs.reduce((s, e) => s + e.seconds, 0) : null),
    epochs: last?.epoch ?? 0,
  };
}

/** Whether an epoch's errors are a hold-out's: its test fields null, its val_* present. */
export const isHeldOut = (e: EpochRecord): boolean => e.top1Error === null && e.valTop1Error !== undefined && e.valTop1Error !== null;
/** An epoch's errors: the test set's, or the hold-out's for a run with one (isHeldOut). */
export const epochTop1 = (e: EpochRecord): number | null => (isHeldOut(e) ? e.valTop1Error! : e.top1Error);
export const epochTop5 = (e: EpochRecord): number | null => (isHeldOut(e) ? e.valTop5Error ?? null : e.top5Error);

/** Runs in report order: dataset, network (compareModels), then seed, hold-out and id. */
export function compareRuns(a: Pick<RunRow, 'id' | 'model' | 'dataset' | 'recipe'>, b: Pick<RunRow, 'id' | 'model' | 'dataset' | 'recipe'>): number {
  return compareDatasets(a.dataset, b.dataset) || compareModels(a.model, b.model) || a.recipe.seed - b.recipe.seed || (a.recipe.val ?? 0) - (b.recipe.val ?? 0) || a.id - b.id;
}

/** Every run with its epochs; per dataset, each run's final values (those of its last recorded epoch). */
export async function buildResults(store: RunStore): Promise<ResultsJson> {
  const sorted = (await store.runs()).sort(compareRuns);
  const runs = await Promise.all(sorted.map(async (r) => ({ ...r, epochs: await store.epochs(r.id), attempts: await store.attempts(r.id) })));
  const datasets: ResultsJson['datasets'] = {};
  for (const r of runs) {
    const seed = seedResult(r.dataset, r.model);
    (datasets[r.dataset] ??= []).push({
      model: r.model, label: `${r.model}${runSuffix(r, sorted)}`, runId: r.id, recipeSeed: r.recipe.seed, val: r.recipe.val ?? 0, ...networkSummary(r.recipe), builtin: isBuiltin(r.model), params: r.params, macs: r.macs,
      ...finalValues(r),
      status: r.status === 'failed' ? `failed: ${r.error ?? 'unknown error'}` : r.status,
      epochsPlanned: r.epochsPlanned,
      ...(seed ? { seed } : {}),
    });
  }
  return { generatedAt: new Date().toISOString(), datasets, statistics: statisticsOf({ datasets, runs }), runs };
}

/** Each dataset's statistics over seeds (statistics.ts), the seed document's values beside them. */
export function statisticsOf(r: Pick<ResultsJson, 'datasets' | 'runs'>): ResultsJson['statistics'] {
  return Object.fromEntries(Object.entries(r.datasets).map(([dataset, rows]) => [dataset, datasetStatistics(rows, r.runs, (model, m) => seedResult(dataset, model)?.[m])]));
}

/** Seed style: 29m8s, 1h2m3s, 45s (rounded to whole seconds). */
export function formatDuration(seconds: number): string {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** Whether a dataset table's runs plan different numbers of epochs (then each time cell says its epochs). */
export const mixedPlans = (rows: ResultRow[]) => new Set(rows.map((x) => x.epochsPlanned)).size > 1;

/** A dataset table's time column heading: `Time (2 epochs)` when every run plans the same epochs. */
export function timeHeading(rows: ResultRow[]): string {
  const planned = rows[0]?.epochsPlanned;
  return planned !== undefined && !mixedPlans(rows) ? `Time (${planned} epoch${planned === 1 ? '' : 's'})` : 'Time';
}

/** A row's time cell: `1m2s`, with its epochs when they are not the heading's. */
export function timeCell(x: ResultRow, mixedPlans: boolean): string {
  if (x.seconds === null) return '—';
  const time = formatDuration(x.seconds);
  return mixedPlans || x.epochs !== x.epochsPlanned ? `${time} (${x.epochs} epoch${x.epochs === 1 ? '' : 's'})` : time;
}

/** The seed's durations (29m8s, 1h2m3s, 45s) in seconds; the inverse of formatDuration. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') throw new Error(`parseDuration: '${text}' is not a duration like 29m8s or 1h2m3s`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const int = (n: number) => n.toLocaleString('en-US');
const err = (x: number | null) => (x === null ? '—' : x.toFixed(2));
/** A table cell's text: pipes escaped, lines joined (names in a store are any text). */
const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
/** `a`, `a and b`, `a, b and c`. */
const andList = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/** One network of the report: its name, layers, hash, and the datasets it ran on (in table order). */
export interface NetworkEntry {
  model: string; layers: string; sha256: string | null; builtin: boolean; reconstructed: boolean;
  datasets: string[];
}

/**
 * Every network of the report, once per name and network (a name whose runs hold different networks,
 * a file edited between datasets, is listed once per network): the seven's in the seed's order, then
 * the declared ones by name.
 */
export function reportNetworks(r: Pick<ResultsJson, 'datasets'>): NetworkEntry[] {
  const out: NetworkEntry[] = [];
  for (const [dataset, rows] of Object.entries(r.datasets)) for (const x of rows) {
    const known = out.find((n) => n.model === x.model && n.sha256 === x.sha256 && n.layers === x.layers);
    if (known) { if (!known.datasets.includes(dataset)) known.datasets.push(dataset); }
    else out.push({ model: x.model, layers: x.layers, sha256: x.sha256, builtin: x.builtin, reconstructed: x.builtin && !!VARIANTS[x.model]!.reconstructed, datasets: [dataset] });
  }
  return out.sort((a, b) => compareModels(a.model, b.model) || compareDatasets(a.datasets[0]!, b.datasets[0]!));
}

/** The line under a dataset's table naming its declared networks (null when it has none). */
export function declaredNote(rows: Pick<ResultRow, 'model' | 'builtin'>[]): string | null {
  const declared = [...new Set(rows.filter((x) => !x.builtin).map((x) => x.model))];
  if (!declared.length) return null;
  const one = declared.length === 1;
  return `${andList(declared)} ${one ? 'is a declared network (a network file' : 'are declared networks (network files'}; ` +
    `${one ? 'its' : 'their'} layers under Networks): the seed has no results for ${one ? 'it' : 'them'}, so ${one ? 'its' : 'their'} seed cells are —.`;
}

/**
 * The note under a dataset's table for its hold-out runs (null when none): their errors (marked ‡)
 * are on the validation hold-out, not the test set, which such a run never touches.
 */
export function heldOutNote(rows: Pick<ResultRow, 'label' | 'val' | 'heldOut'>[]): string | null {
  const held = rows.filter((x) => x.heldOut);
  if (!held.length) return null;
  const sizes = [...new Set(held.map((x) => x.val))];
  const size = sizes.length === 1 ? `the ${int(sizes[0]!)}-image hold-out` : 'its hold-out (`val` images)';
  return `‡ ${andList([...new Set(held.map((x) => cell(x.label)))])}: errors on ${size} (training images held out of training), not the test set.`;
}

/** A run's status after its name, where it is not complete: ` (running, epoch 1 of 2)`, ` (failed: …)`. */
function statusNote(x: ResultRow): string {
  if (x.status === 'running' || x.status === 'queued' || x.status === 'interrupted') return `${x.status}, epoch ${x.epochs} of ${x.epochsPlanned ?? '?'}`;
  return x.status.startsWith('failed') ? cell(x.status) : '';
}

/** The seed's four cells, each marked § where statistics put the seed's value outside our prediction interval. */
const seedCells = (s: ResultRow['seed'], check?: NetworkStatistics['seedCheck']) =>
  (s ? `${err(s.top1)}${check?.top1.outside ? '§' : ''} | ${err(s.top5)}${check?.top5.outside ? '§' : ''} | ${int(s.params)} | ${s.time} |` : '— | — | — | — |');

/** A table row of one run, as before seeds. */
function runRow(x: ResultRow, mixed: boolean, reconstruction: (x: ResultRow) => string): string {
  const status = statusNote(x);
  const held = x.heldOut ? '‡' : '';
  return `| ${cell(x.label)}${status ? ` (${status})` : ''} | ${err(x.top1Error)}${held} | ${err(x.top5Error)}${held} | ${int(x.params)}${reconstruction(x)} | ${int(x.macs)} | ${timeCell(x, mixed)} | ${seedCells(x.seed)}`;
}

/** What explains a table drawn over seeds. */
const SEEDS_LINE = 'Each of our cells is the mean ± the sample standard deviation over the network\'s complete seeds (n of them; the 95% confidence intervals are under Statistics and in `results.json`).';

/** A table's rows over seeds: one per network group (statistics.ts), its runs that are not complete named after it. */
function groupRows(stats: DatasetStatistics, rows: ResultRow[], reconstruction: (x: ResultRow) => string, notes: string[]): string[] {
  const out = stats.networks.map((n) => {
    const runs = n.runIds.map((id) => rows.find((x) => x.runId === id)!);
    const first = runs[0]!;
    const pending = runs.filter((x) => x.status !== 'complete').map((x) => `seed ${x.recipeSeed} ${statusNote(x)}`);
    const held = first.heldOut ? '‡' : '';
    return `| ${cell(n.label)}${pending.length ? ` (${pending.join('; ')})` : ''} | ${errorCell(n.top1)}${held} | ${errorCell(n.top5)}${held} | ` +
      `${int(first.params)}${reconstruction(first)} | ${int(first.macs)} | ${durationCell(n.seconds)} | ${seedCells(first.seed, n.seedCheck)}`;
  });
  if (stats.networks.some((n) => n.seedCheck && (n.seedCheck.top1.outside || n.seedCheck.top5.outside)))
    notes.push(`§ the seed's value lies outside the 95% prediction interval of one more of our runs (mean ± t·sd·√(1 + 1/n), widened by ±${SEED_ROUNDING} for the seed's rounding to two decimals).`);
  return out;
}

export interface MarkdownOptions { storeName?: string; plots?: string[] }

/** results.md: one table per dataset in the seed's form, ours beside the seed's. */
export function renderMarkdown(r: ResultsJson, o: MarkdownOptions = {}): string {
  const out: string[] = ['# GoogLeNet variants on CIFAR: results', ''];
  out.push(`Final values are those of each run's last recorded epoch (exact values in \`results.json\`). ` +
    `Seed columns quote ${SEED_CITATION}.`, '');
  for (const [dataset, rows] of Object.entries(r.datasets)) {
    const mixed = mixedPlans(rows);
    const timeHead = timeHeading(rows);
    out.push(`## ${datasetTitle(dataset)}`, '');
    const stats = r.statistics?.[dataset];
    const grouped = !!stats && bySeeds(stats);
    // over seeds, a row is a group: its recipe differences are named by the group's label
    const rowName = (x: ResultRow) => (grouped ? stats.networks.find((n) => n.runIds.includes(x.runId))!.label : x.label);
    const c = caption(dataset, datasetTitle(dataset), rows.flatMap((x) => r.runs.filter((run) => run.id === x.runId).map((run) => ({ model: rowName(x), recipe: run.recipe }))), { bySeeds: grouped });
    const total = DATASETS[dataset as DatasetName]?.records.train;
    out.push(`Ours: ${c.line}. The seed columns are the seed's own runs: ${total ? `all ${int(total)} training images, ` : ''}${SEED_EPOCHS} epochs, PyTorch 1.6 on its GPU.`, '');
    if (c.mixed.length) out.push(...c.mixed.map((m) => `- ${m.model}: ${m.differences}`), '');
    if (grouped) out.push(SEEDS_LINE, '');
    out.push(`| network | Top 1 Error | Top 5 Error | Parameters | MACs | ${timeHead} | seed Top 1 | seed Top 5 | seed Parameters | ${SEED_TIME_HEAD} |`);
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const notes: string[] = [];
    const reconstruction = (x: ResultRow) => {
      const note = reconstructionNote(x.model, dataset, x.params);
      if (note && !notes.includes(`† ${note}`)) notes.push(`† ${note}`); // once per network, however many runs
      return note ? '†' : '';
    };
    out.push(...(grouped ? groupRows(stats, rows, reconstruction, notes) : rows.map((x) => runRow(x, mixed, reconstruction))));
    const held = heldOutNote(rows.map((x) => ({ ...x, label: rowName(x) })));
    if (held) notes.push(held);
    const declared = declaredNote(rows);
    if (declared) notes.push(declared);
    if (notes.length) out.push('', ...notes.map((n) => n + '  '));
    out.push('');
  }
  out.push(...statisticsSection(r));
  if (Object.keys(r.datasets).length === 0) out.push('No runs recorded yet.', '');
  else {
    const nets = reportNetworks(r);
    out.push('## Networks', '');
    out.push('Each network\'s layers on one line (`pool` the seed\'s max pool, 3×3 stride 2 padding 1; `pool(k,s,p)` another; `drop(p)` a dropout; ' +
      '`×w` the channel width when it is not 1), and the first 12 hex digits of its SHA-256 (of its canonical form; `results.json` has it whole).', '');
    out.push('| network | layers | sha256 | kind |', '|---|---|---|---|');
    for (const n of nets) {
      const again = nets.filter((m) => m.model === n.model).length > 1;
      const name = again ? `${n.model} (${n.datasets.map(datasetTitle).join(', ')})` : n.model;
      const kind = !n.builtin ? 'declared: the seed has no results for it' : n.reconstructed ? 'built-in, a reconstruction †' : 'built-in, the seed\'s';
      out.push(`| ${cell(name)} | ${cell(n.layers)} | ${n.sha256 ? `\`${n.sha256.slice(0, 12)}\`` : '—'} | ${kind} |`);
    }
    out.push('');
  }
  if (o.plots?.length) {
    out.push('## Plots', '');
    for (const p of o.plots) out.push(`![${path.basename(p, '.svg')}](${p})`, '');
  }
  out.push(`The tables and plots are drawn from \`${o.storeName ?? 'experiment.sqlite'}\` (generated ${r.generatedAt}).`, '');
  return out.join('\n');
}

const writeAtomic = (file: string, text: string) => writeFileAtomic(file, [Buffer.from(text)]);

/** Writes outDir/results.md, outDir/results.json and outDir/plots/*.svg (each atomically); returns their paths. */
export async function writeReport(store: RunStore, outDir: string): Promise<{ markdown: string; json: string; plots: string[] }> {
  const r = await buildResults(store);
  const svgs = await renderPlots(r);
  const plotDir = path.join(outDir, 'plots');
  fs.mkdirSync(plotDir, { recursive: true });
  const plots: string[] = [];
  for (const [name, svg] of svgs) {
    const file = path.join(plotDir, name);
    writeAtomic(file, svg);
    plots.push(file);
  }
  const markdown = path.join(outDir, 'results.md');
  const json = path.join(outDir, 'results.json');
  writeAtomic(json, JSON.stringify(r, null, 2) + '\n');
  writeAtomic(markdown, renderMarkdown(r, { storeName: store.url, plots: [...svgs.keys()].map((n) => `plots/${n}`) }));
  return { markdown, json, plots };
}
