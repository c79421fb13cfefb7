// The dashboard's JSON (and CSV) documents, all drawn from one ResultsJson (what results.json
// holds), so the page, results.md and results.json show the same numbers. Field names are
// camelCase, as in results.json. docs/dashboard.md documents them.
import { charts, declaredNetworks, type Chart } from '../experiment/charts.js';
import {
  datasetTitle, declaredNote, finalValues, heldOutNote, formatDuration, isBuiltin, mixedPlans, networkSummary, reconstructionNote, reportNetworks,
  SEED_CITATION, SEED_TIME_HEAD, statisticsOf, timeCell, timeHeading, type NetworkEntry, type ResultsJson,
} from '../experiment/report.js';
import { bySeeds, durationCell, errorCell, type Comparison, type NetworkStatistics } from '../experiment/statistics.js';
import type { Summary } from '../stats/stats.js';
import { toCsv, type CsvCell } from '../io/csv.js';
import type { AttemptRow, Progress, RunStatus, SearchRecord } from '../store/store.js';
import type { ExploreJson, SearchSpec } from '../explore/explore-json.js';
import type { EpochRecord } from '../train/record.js';
import { runLabel } from '../store/label.js';

type Run = ResultsJson['runs'][number];

/** One row of /api/runs. */
export interface RunSummary {
  id: number; model: string;
  /** The run's name among the store's runs, as the CLI's status gives it (runLabel): `googlenet-short4 on cifar10 seed 2`. */
  label: string;
  /** The run's id again (as /api/tables' rows name it), its recipe's seed and its validation hold-out (0: none). */
  runId: number; seed: number; val: number;
  /** The network's layers on one line and its SHA-256 (as results.json's rows have them). */
  layers: string; sha256: string | null;
  /** One of the seven; false for a declared network (a network file), which the seed never ran. */
  builtin: boolean;
  dataset: string; status: RunStatus;
  /** The current attempt's worker while running, else the last attempt's; null before any. */
  worker: string | null;
  progress: Progress | null;
  /** The progress's ETA as `1h2m3s`, or null. */
  eta: string | null;
  epochsDone: number; epochsPlanned: number;
  /** How many attempts the run has had. */
  attempts: number;
  /** The run's error, else its last attempt's; null when none failed. */
  lastError: string | null;
  /** Final errors: the test set's, or the hold-out's where `heldOut`. */
  top1Error: number | null; top5Error: number | null; heldOut: boolean;
  params: number; macs: number; seconds: number | null;
  startedAt: string | null; finishedAt: string | null;
  /** The footnote of a reconstructed network, or null. */
  reconstruction: string | null;
}

/** A run's /api/runs row; `all` the store's runs, among which it is named. */
export function runSummary(r: Run, all: readonly Run[] = [r]): RunSummary {
  const current = r.attempts.find((a) => a.id === r.attemptId) ?? r.attempts.at(-1);
  const final = finalValues(r);
  return {
    id: r.id, model: r.model, label: runLabel(r, all), runId: r.id, seed: r.recipe.seed, val: r.recipe.val ?? 0,
    ...networkSummary(r.recipe), builtin: isBuiltin(r.model), dataset: r.dataset, status: r.status, worker: current?.worker ?? null, progress: r.progress,
    eta: r.status === 'running' && r.progress?.etaSeconds != null ? formatDuration(r.progress.etaSeconds) : null,
    epochsDone: final.epochs, epochsPlanned: r.epochsPlanned, attempts: r.attempts.length,
    lastError: r.error ?? [...r.attempts].reverse().find((a) => a.error !== null)?.error ?? null,
    top1Error: final.top1Error, top5Error: final.top5Error, heldOut: final.heldOut,
    params: r.params, macs: r.macs, seconds: final.seconds,
    startedAt: r.startedAt, finishedAt: r.finishedAt, reconstruction: reconstructionNote(r.model, r.dataset, r.params),
  };
}

/** /api/runs/:id: the run row (its recipe included), its attempts and its reconstruction note. */
export interface RunDetail {
  run: Omit<Run, 'epochs' | 'attempts'>;
  attempts: AttemptRow[];
  summary: RunSummary;
}

export function runDetail(r: Run, all: readonly Run[] = [r]): RunDetail {
  const { epochs: _e, attempts, ...run } = r;
  return { run, attempts, summary: runSummary(r, all) };
}

type SeedCells = { top1: number; top5: number; params: number; time: string };

/** One dataset's table of /api/tables: ours beside the seed's, as results.md has it. */
export interface ResultTable {
  dataset: string; title: string; timeHead: string; seedTimeHead: string;
  /** The line naming the table's declared networks (their seed cells are empty), or null. */
  declared: string | null;
  /** The note on its hold-out runs (their errors the hold-out's, not the test set's), or null. */
  heldOut: string | null;
  /** A row per run. */
  rows: {
    /** label: the row's name (results.md's), `googlenet-short4 seed 2` where the table holds several runs of the network; recipeSeed and val the run's seed and hold-out. */
    model: string; label: string; recipeSeed: number; val: number; heldOut: boolean; layers: string; sha256: string | null; builtin: boolean; runId: number | null; status: string; top1Error: number | null; top5Error: number | null;
    params: number; macs: number; seconds: number | null; time: string; epochs: number; epochsPlanned: number | null;
    reconstruction: string | null;
    /** null for a declared network: the seed has no results for it. */
    seed: SeedCells | null;
    /** The label of the run's network group (its runs differing only in seed: statistics.ts). */
    group: string;
  }[];
  /**
   * Where the table is drawn over seeds (some network has several runs: statistics.ts's bySeeds),
   * a row per network group, else null: its complete seeds' summaries (results.json's statistics)
   * with errorCell's and durationCell's text, and its runs by seed.
   */
  groups: {
    label: string; model: string; heldOut: boolean; layers: string; sha256: string | null; builtin: boolean; params: number; macs: number;
    runs: { runId: number; seed: number; status: string; epochs: number; epochsPlanned: number | null }[];
    top1: Summary | null; top5: Summary | null; seconds: Summary | null;
    top1Cell: string; top5Cell: string; time: string;
    reconstruction: string | null; seed: SeedCells | null;
    /** The seed's values against our prediction intervals, where the group's recipe is the seed's (statistics.ts). */
    seedCheck: NetworkStatistics['seedCheck'] | null;
  }[] | null;
}

/** /api/tables: the dataset tables, and every network of them with its layers (results.md's Networks). */
export interface ResultTables { citation: string; tables: ResultTable[]; networks: NetworkEntry[] }

export function resultTables(r: ResultsJson): ResultTables {
  const tables = Object.entries(r.datasets).map(([dataset, rows]): ResultTable => {
    const mixed = mixedPlans(rows);
    const stats = r.statistics[dataset]!;
    const seedOf = (x: (typeof rows)[number]) => (x.seed ? { top1: x.seed.top1, top5: x.seed.top5, params: x.seed.params, time: x.seed.time } : null);
    return {
      dataset, title: datasetTitle(dataset), timeHead: timeHeading(rows), seedTimeHead: SEED_TIME_HEAD, declared: declaredNote(rows), heldOut: heldOutNote(rows),
      rows: rows.map((x) => ({
        model: x.model, label: x.label, recipeSeed: x.recipeSeed, val: x.val, heldOut: x.heldOut,
        layers: x.layers, sha256: x.sha256, builtin: x.builtin, runId: x.runId ?? null,
        status: x.status, top1Error: x.top1Error, top5Error: x.top5Error, params: x.params, macs: x.macs,
        seconds: x.seconds, time: timeCell(x, mixed), epochs: x.epochs, epochsPlanned: x.epochsPlanned ?? null,
        reconstruction: reconstructionNote(x.model, dataset, x.params),
        seed: seedOf(x),
        group: stats.networks.find((n) => n.runIds.includes(x.runId))!.label,
      })),
      groups: bySeeds(stats) ? stats.networks.map((n) => {
        const runs = n.runIds.map((id) => rows.find((x) => x.runId === id)!);
        const x = runs[0]!;
        return {
          label: n.label, model: n.model, heldOut: x.heldOut, layers: x.layers, sha256: x.sha256, builtin: x.builtin, params: x.params, macs: x.macs,
          runs: runs.map((y) => ({ runId: y.runId, seed: y.recipeSeed, status: y.status, epochs: y.epochs, epochsPlanned: y.epochsPlanned ?? null })),
          top1: n.top1, top5: n.top5, seconds: n.seconds, top1Cell: errorCell(n.top1), top5Cell: errorCell(n.top5), time: durationCell(n.seconds),
          reconstruction: reconstructionNote(x.model, dataset, x.params), seed: seedOf(x), seedCheck: n.seedCheck ?? null,
        };
      }) : null,
    };
  });
  return { citation: `Seed columns quote ${SEED_CITATION}.`, tables, networks: reportNetworks(r) };
}

/** The results narrowed to some runs, their statistics recomputed over those runs alone. */
function narrowed(r: ResultsJson, ids: number[]): ResultsJson {
  const runs = r.runs.filter((x) => ids.includes(x.id));
  const datasets = Object.fromEntries(Object.entries(r.datasets).flatMap(([d, rows]) => {
    const kept = rows.filter((row) => runs.some((x) => x.id === row.runId));
    return kept.length ? [[d, kept]] : [];
  }));
  return { ...r, runs, datasets, statistics: statisticsOf({ runs, datasets }) };
}

/**
 * The charts of some runs (the compare view's and a run's page come from the same chart
 * definitions): drawn over seeds where the runs chosen hold several seeds of a network.
 */
export function chartsOf(r: ResultsJson, ids?: number[]): Chart[] {
  return ids ? charts(narrowed(r, ids), declaredNetworks(r)) : charts(r);
}

/** One dataset's part of /api/comparisons: its network groups of the runs asked for, and the comparisons among them. */
export interface ComparisonTable {
  dataset: string; title: string;
  /** Each group with its runs (all of them, not only those asked for) and its complete seeds' summaries. */
  networks: { label: string; model: string; runIds: number[]; seeds: number[]; top1: Summary | null; top5: Summary | null }[];
  comparisons: Comparison[];
}

/**
 * The comparisons among the network groups that the runs `ids` belong to (every group without),
 * per dataset where there are two groups or more. A group counts with all of its seeds, not only
 * the runs asked for, and each pair's numbers are results.json's: Holm's correction over its
 * dataset's whole family (every pair of the report, per metric), so a pair reads the same here as
 * in results.md, and choosing fewer pairs does not make a difference look surer.
 */
export function comparisonsOf(r: ResultsJson, ids?: number[]): ComparisonTable[] {
  return Object.entries(r.statistics).flatMap(([dataset, stats]) => {
    const groups = stats.networks.filter((n) => !ids || n.runIds.some((id) => ids.includes(id)));
    if (groups.length < 2) return [];
    const labels = new Set(groups.map((n) => n.label));
    return [{
      dataset, title: datasetTitle(dataset),
      networks: groups.map((n) => ({ label: n.label, model: n.model, runIds: n.runIds, seeds: n.seeds.map((s) => s.seed), top1: n.top1, top5: n.top5 })),
      comparisons: stats.comparisons.filter((c) => labels.has(c.a) && labels.has(c.b)),
    }];
  });
}

export const comparisonsCsv = (tables: ComparisonTable[]) => toCsv(
  ['dataset', 'a', 'b', 'metric', 'difference', 'ci95Low', 'ci95High', 'p', 'pHolm', 'significant', 'testable', 'reason'],
  tables.flatMap((t) => t.comparisons.map((c) => [t.dataset, c.a, c.b, c.metric, c.difference, c.ci95?.[0], c.ci95?.[1], c.p, c.pHolm, c.significant, c.testable, c.reason])),
);

// CSV of each table the page shows: the same columns, unformatted values.
export const runsCsv = (runs: RunSummary[]) => toCsv(
  ['id', 'model', 'dataset', 'status', 'worker', 'epoch', 'batch', 'batches', 'imagesPerSecond', 'etaSeconds', 'epochsDone', 'epochsPlanned',
    'attempts', 'lastError', 'top1Error', 'top5Error', 'params', 'macs', 'seconds', 'layers', 'sha256', 'builtin', 'label', 'seed', 'val', 'heldOut'],
  runs.map((r) => [r.id, r.model, r.dataset, r.status, r.worker, r.progress?.epoch, r.progress?.batch, r.progress?.batches,
    r.progress?.imagesPerSecond, r.progress?.etaSeconds, r.epochsDone, r.epochsPlanned, r.attempts, r.lastError,
    r.top1Error, r.top5Error, r.params, r.macs, r.seconds, r.layers, r.sha256, r.builtin, r.label, r.seed, r.val, r.heldOut]),
);

export const epochsCsv = (epochs: EpochRecord[]) => toCsv(
  ['epoch', 'trainLoss', 'testLoss', 'top1Error', 'top5Error', 'valLoss', 'valTop1Error', 'valTop5Error', 'lr', 'seconds', 'finishedAt'],
  epochs.map((e) => [e.epoch, e.trainLoss, e.testLoss, e.top1Error, e.top5Error, e.valLoss, e.valTop1Error, e.valTop5Error, e.lr, e.seconds, e.finishedAt]),
);

export const attemptsCsv = (attempts: AttemptRow[]) => toCsv(
  ['id', 'worker', 'cpu', 'isa', 'conv', 'threads', 'startedAt', 'endedAt', 'outcome', 'error'],
  attempts.map((a) => [a.id, a.worker, a.machine?.cpu, a.machine?.isa, a.machine?.conv, a.machine?.threads, a.startedAt, a.endedAt, a.outcome, a.error]),
);

/** One run of /api/recipes: its recipe, and its network's layers and SHA-256 (the recipe's `network`, readable). */
export interface RunRecipe { id: number; runId: number; model: string; label: string; seed: number; val: number; dataset: string; layers: string; sha256: string | null; recipe: Run['recipe'] }

export const runRecipe = (r: Run, all: readonly Run[] = [r]): RunRecipe => ({
  id: r.id, runId: r.id, model: r.model, label: runLabel(r, all), seed: r.recipe.seed, val: r.recipe.val ?? 0, dataset: r.dataset, ...networkSummary(r.recipe), recipe: r.recipe });

/** The rows of the recipes side by side: each recipe key, with `layers` and `sha256` after `network`. */
export function recipeRows(runs: RunRecipe[]): { key: string; values: unknown[] }[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.recipe)))];
  return keys.flatMap((k) => {
    const row = { key: k, values: runs.map((r) => (r.recipe as unknown as Record<string, unknown>)[k]) };
    return k === 'network' ? [row, { key: 'layers', values: runs.map((r) => r.layers) }, { key: 'sha256', values: runs.map((r) => r.sha256) }] : [row];
  });
}

export const recipeCsv = (runs: Run[], all: readonly Run[] = runs) => {
  const rs = runs.map((r) => runRecipe(r, all));
  return toCsv(['key', ...rs.map((r) => r.label)], recipeRows(rs).map((row) => [row.key, ...row.values.map(csvValue)]));
};

// a row per run, also where the page shows a row per group: the runs' own values, `group` naming each one's
export const tableCsv = (t: ResultTable) => toCsv(
  ['network', 'status', 'top1Error', 'top5Error', 'params', 'macs', 'seconds', 'epochs', 'seedTop1', 'seedTop5', 'seedParams', 'seedTime', 'reconstruction',
    'layers', 'sha256', 'builtin', 'label', 'runId', 'recipeSeed', 'val', 'heldOut', 'group'],
  t.rows.map((x) => [x.model, x.status, x.top1Error, x.top5Error, x.params, x.macs, x.seconds, x.epochs,
    x.seed?.top1, x.seed?.top5, x.seed?.params, x.seed?.time, x.reconstruction, x.layers, x.sha256, x.builtin, x.label, x.runId, x.recipeSeed, x.val, x.heldOut, x.group]),
);

export const networksCsv = (networks: NetworkEntry[]) => toCsv(
  ['network', 'layers', 'sha256', 'builtin', 'reconstructed', 'datasets'],
  networks.map((n) => [n.model, n.layers, n.sha256, n.builtin, n.reconstructed, n.datasets.join(' ')]),
);

const csvValue = (v: unknown): CsvCell => (v === null || v === undefined || typeof v !== 'object' ? (v as CsvCell) : JSON.stringify(v));

/** One row of /api/searches: a search's arguments in brief, its candidates so far and its final rung's front. */
export interface SearchSummary {
  id: string; strategy: string | null;
  /** The base network's name. */
  base: string | null; dataset: string | null; budget: number | null; rungs: number[]; createdAt: string;
  /** Candidates proposed so far (the base, candidate 0, included). */
  candidates: number;
  /** The final rung's front (candidate ids). */
  front: number[];
  /** Why the search's record could not be built (its other fields then from its arguments alone), else null. */
  error: string | null;
}

export function searchSummary(s: SearchRecord, r: ExploreJson | { error: string } | undefined): SearchSummary {
  const spec = (r && 'search' in r ? r.search.spec : s.spec) as Partial<SearchSpec> | null;
  return {
    id: s.id, strategy: spec?.strategy ?? null, base: spec?.base?.name ?? null, dataset: spec?.dataset ?? null, budget: spec?.budget ?? null,
    rungs: Array.isArray(spec?.rungs) ? spec.rungs : [], createdAt: s.createdAt,
    candidates: r && 'candidates' in r ? r.candidates.length : 0, front: r && 'front' in r ? r.front : [], error: r && 'error' in r ? r.error : null,
  };
}

export const searchesCsv = (searches: SearchSummary[]) => toCsv(
  ['id', 'strategy', 'base', 'dataset', 'budget', 'rungs', 'createdAt', 'candidates', 'front', 'error'],
  searches.map((s) => [s.id, s.strategy, s.base, s.dataset, s.budget, s.rungs.join(' '), s.createdAt, s.candidates, s.front.join(' '), s.error]),
);

/** The candidates table: a row per candidate, its validation top-1 error at each rung's epochs (`valTop1@2`), `front` true on the final front. */
export const candidatesCsv = (r: ExploreJson) => toCsv(
  ['id', 'front', 'network', 'layers', 'sha256', 'mutation', 'parent', 'generation', 'params', 'macs', 'rung',
    ...r.search.spec.rungs.map((e) => `valTop1@${e}`), 'seconds', 'status', 'runId'],
  r.candidates.map((c) => [c.id, r.front.includes(c.id), c.network, c.layers, c.hash, c.mutationText, c.parent, c.generation, c.params, c.macs, c.rung,
    ...r.search.spec.rungs.map((e) => c.valErrors[String(e)]), c.seconds, c.status, c.runId]),
);

export const rungsCsv = (r: ExploreJson) => toCsv(
  ['rung', 'epochs', 'candidates', 'done', 'front'],
  r.rungs.map((g, k) => [k + 1, g.epochs, g.candidates.join(' '), g.done, g.front.join(' ')]),
);

/** The confirmation: a row per network, its test errors over its seeds and its top-1 and top-5 differences from the base. */
export const confirmedCsv = (r: ExploreJson) => toCsv(
  ['id', 'network', 'layers', 'sha256', 'why', 'seedsDone', 'seeds', 'top1Mean', 'top1Sd', 'top5Mean', 'top5Sd',
    ...(['top1', 'top5'] as const).flatMap((m) => [`${m}Difference`, `${m}Ci95Low`, `${m}Ci95High`, `${m}P`, `${m}PHolm`, `${m}Significant`, `${m}Reason`])],
  r.confirmed.map((c) => [c.id, c.network, c.layers, c.hash, c.why.join(' '), c.seeds.filter((x) => x.top1Error !== null).length, c.seeds.length,
    c.top1?.mean, c.top1?.sd, c.top5?.mean, c.top5?.sd,
    ...(['top1', 'top5'] as const).flatMap((m) => {
      const v = c.vsBase?.find((x) => x.metric === m);
      return [v?.difference, v?.ci95?.[0], v?.ci95?.[1], v?.p, v?.pHolm, v?.significant, v?.reason];
    })]),
);
