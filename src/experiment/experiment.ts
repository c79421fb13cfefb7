// The seed's experiment with one command: every chosen network on every chosen dataset with
// every chosen seed, each run recorded in a run store (by default sqlite:DIR/experiment.sqlite),
// the single source of results.md, results.json and the plots. The grid is recorded first (a run
// already recorded with another recipe is refused); then this process claims and trains the runs
// one at a time, skipping complete ones, resuming interrupted or crashed ones at their last
// checkpoint, and leaving runs other processes hold to them (it waits for those at the end, so the
// report covers the whole grid).
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetName } from '../data/cifar.js';
import { SplitCache } from '../data/load.js';
import { writeWeightsFile } from '../io/weights.js';
import { runLabel } from '../store/label.js';
import { isRefusal, type RunRow, type RunStore, type WorkerIdentity } from '../store/store.js';
import { runAttempt, type AttemptEnd } from '../train/attempt.js';
import type { NamedNetwork, Recipe, TrainConfig } from '../train/config.js';
import { runSpec } from '../train/spec.js';
import type { StopRequest } from '../train/stop.js';
import { train, type TrainResult } from '../train/trainer.js';
import type { RunQueue } from '../queue/queue.js';
import { writeReport } from './report.js';
import { runWorker } from './worker.js';
import { display } from '../util/display.js';

export const DB_FILE = 'experiment.sqlite';

export interface ExperimentOptions {
  /**
   * Where results.md, results.json, plots/ (and with --save-model each run's model.safetensors) go;
   * null only with enqueueOnly or a dry run, which write no report.
   */
  out: string | null;
  store: RunStore;
  worker: WorkerIdentity;
  datasets: DatasetName[];
  /** The networks, each by its name and its network (recipeNetwork of a built-in's name or a network file). */
  models: NamedNetwork[];
  /** The recipe and run options shared by every run; model, dataset and seed are set per run. */
  base: TrainConfig;
  /** The seeds each network trains with on each dataset, each seed its own run (--seeds); default: base's seed alone. */
  seeds?: number[];
  mirror?: string | null;
  stop?: StopRequest;
  /** With a PostgreSQL store: the runs go to this queue, and this process trains them as a worker. */
  queue?: RunQueue;
  /** Record (and with a queue, enqueue) the grid and return without training. */
  enqueueOnly?: boolean;
  info?: (line: string) => void;
  log?: (line: string) => void;
}

export interface ExperimentResult {
  runs: {
    model: string; dataset: DatasetName; seed: number;
    /** The run's name among the grid's (runLabel): `googlenet-short4 on cifar10`, with ` seed 2` where the grid has several seeds. */
    label: string;
    status: 'complete' | 'skipped' | 'failed' | 'queued'; result?: TrainResult; error?: string;
  }[];
  report: { markdown: string; json: string; plots: string[] } | null;
  /** Set when a signal stopped the experiment: the attempt was handed back. */
  interrupted?: Extract<AttemptEnd, { outcome: 'interrupted' }>;
}

/** A run's own folder name in an experiment's: `<network>-<dataset>-s<seed>`, and `-v<val>` with a hold-out (--save-model's file goes there). */
export const runFolder = (r: Pick<Recipe, 'model' | 'dataset' | 'seed' | 'val'>) => `${r.model}-${r.dataset}-s${r.seed}${r.val ? `-v${r.val}` : ''}`;

const configFor = (o: ExperimentOptions, m: NamedNetwork, dataset: DatasetName, seed: number): TrainConfig => {
  const recipe = { ...o.base.recipe, ...m, dataset, seed };
  return { recipe, run: { ...o.base.run, out: path.join(o.out ?? '.', runFolder(recipe)) } };
};

/** One run of the grid: its configuration and its name among the grid's runs. */
interface Cell { config: TrainConfig; label: string }

/**
 * The grid, in training order: dataset by dataset, and within a dataset seed by seed, every network
 * with seed 1, then every network with seed 2… (seeds outermost, not each network's seeds in a row), so
 * an experiment stopped part-way already has whole seeds that compare every network, and each further
 * seed narrows that comparison.
 */
function gridOf(o: ExperimentOptions): Cell[] {
  const seeds = o.seeds ?? [o.base.recipe.seed];
  const configs = o.datasets.flatMap((dataset) => seeds.flatMap((seed) => o.models.map((m) => configFor(o, m, dataset, seed))));
  // a grid's runs of one network and dataset differ only in their seed: runLabel adds ` seed S` where there are several
  const named = configs.map((c, id) => ({ id, model: c.recipe.model, dataset: c.recipe.dataset, recipe: c.recipe }));
  return configs.map((config, i) => ({ config, label: runLabel(named[i], named) }));
}

/** A cell's entry in ExperimentResult.runs. */
const entry = (c: Cell, status: ExperimentResult['runs'][number]['status'], more: { result?: TrainResult; error?: string } = {}): ExperimentResult['runs'][number] =>
  ({ model: c.config.recipe.model, dataset: c.config.recipe.dataset, seed: c.config.recipe.seed, label: c.label, status, ...more });

/** The folder the report goes to: every path that writes one has it. */
function reportDir(o: ExperimentOptions): string {
  if (o.out === null) throw new Error('an experiment that writes a report needs its folder (--out)');
  return o.out;
}

/** Seconds between looks at runs other processes hold. */
const POLL_SECONDS = 2;

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const info = o.info ?? ((l: string) => display.info(l));
  const grid = gridOf(o);
  if (o.base.run.dryRun) return dryRun(o, grid, info);
  const rows: RunRow[] = [];
  for (const g of grid) rows.push(await o.store.ensureRun(runSpec(g.config.recipe)));
  if (o.queue) return viaQueue(o, o.queue, grid, rows, info);
  if (o.enqueueOnly) {
    info(`recorded ${grid.length} runs in ${o.store.url}; train them with \`googlenet experiment\` on this machine (a SQLite store has no queue for workers)`);
    return { runs: grid.map((g) => entry(g, 'queued')), report: null };
  }

  const data = new SplitCache(o.base.run.dataDir, o.mirror);
  const results = new Map<number, ExperimentResult['runs'][number]>();
  let waitingFor = '';
  for (;;) {
    let claimedAny = false;
    const busy: string[] = [];
    for (const [i, g] of grid.entries()) {
      if (results.has(i)) continue;
      const tag = `[${i + 1}/${grid.length}] ${g.label}`;
      const claim = await o.store.claim(rows[i]!.id, o.worker);
      if (isRefusal(claim)) {
        if (claim.refused === 'busy') busy.push(claim.reason);
        else if (claim.refused === 'done') {
          info(`${tag}: complete in ${o.store.url}, skipped`);
          results.set(i, entry(g, 'skipped'));
        } else {
          info(`${tag}: ${claim.reason}`);
          results.set(i, entry(g, 'failed', { error: claim.reason }));
        }
        continue;
      }
      claimedAny = true;
      info(`${tag} (attempt id ${claim.attemptId}, on ${o.worker.name})`);
      const end = await runAttempt(claim, g.config, { data: await data.get(g.config.recipe), stop: o.stop }, { log: o.log, info });
      if (end.outcome === 'interrupted') return { runs: [...results.values()], report: await writeReport(o.store, reportDir(o)), interrupted: end };
      if (end.outcome === 'complete') {
        if (end.result.weights) saveModel(g.config, end.result, info);
        results.set(i, entry(g, 'complete', { result: end.result }));
      } else if (end.outcome === 'failed') {
        info(`${tag} failed: ${end.error}`);
        results.set(i, entry(g, 'failed', { error: end.error }));
      } else if (end.outcome === 'crashed') info(`${tag} crashed: ${end.error}; it is queued again`);
      await writeReport(o.store, reportDir(o));
    }
    if (results.size === grid.length) break;
    if (!claimedAny) {
      const now = busy.join('; ');
      if (now !== waitingFor) info(`waiting for runs other workers hold: ${now}`);
      waitingFor = now;
      if (o.stop?.requested) break;
      await new Promise((r) => setTimeout(r, POLL_SECONDS * 1000));
    }
  }
  // in grid order, whatever order the runs ended in
  return { runs: [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r), report: await writeReport(o.store, reportDir(o)) };
}

/** The grid through the queue: each run not complete is enqueued (once, however often this runs); then, unless enqueue-only, this process works as a worker until every run is complete or failed. */
async function viaQueue(o: ExperimentOptions, queue: RunQueue, grid: Cell[], rows: RunRow[], info: (l: string) => void): Promise<ExperimentResult> {
  let queued = 0;
  for (const r of rows) if (r.status !== 'complete' && r.status !== 'failed' && (await queue.enqueue(r))) queued++;
  info(`${rows.length} runs recorded in ${o.store.url}; ${queued} newly queued`);
  /** The grid's runs as this experiment reports them: complete, failed (with its message) or still queued, by their rows now. */
  const asResults = (now: RunRow[]): ExperimentResult['runs'] => grid.map((g, i) => {
    const r = now.find((x) => x.id === rows[i]!.id) ?? rows[i]!;
    return entry(g, r.status === 'complete' || r.status === 'failed' ? r.status : 'queued', r.error ? { error: r.error } : {});
  });
  if (o.enqueueOnly) return { runs: asResults(rows), report: null };
  const { interrupted } = await runWorker({ store: o.store, queue, worker: o.worker, run: o.base.run, untilEmpty: true, stop: o.stop, mirror: o.mirror, info, log: o.log });
  const report = await writeReport(o.store, reportDir(o));
  return { runs: asResults(await o.store.runs()), report, ...(interrupted ? { interrupted } : {}) };
}

/** --dry-run: one batch of each run, nothing recorded. */
async function dryRun(o: ExperimentOptions, grid: Cell[], info: (l: string) => void): Promise<ExperimentResult> {
  const runs: ExperimentResult['runs'] = [];
  for (const [i, g] of grid.entries()) {
    info(`[${i + 1}/${grid.length}] ${g.label} (dry run)`);
    const result = await train(g.config, { claim: null, mirror: o.mirror }, { log: o.log, info });
    runs.push(entry(g, 'complete', { result }));
  }
  return { runs, report: null };
}

/** --save-model: the trained weights in the run's --out (an experiment's: DIR/<model>-<dataset>-s<seed>[-v<val>])/model.safetensors or model.pt (--save-format; PyTorch names). */
export function saveModel(c: TrainConfig, r: TrainResult, info: (l: string) => void): void {
  // A run recorded before --save-format existed has none: safetensors, as then.
  const format = c.run.saveFormat === 'pt' ? 'pt' : 'safetensors';
  const file = path.join(c.run.out, format === 'pt' ? 'model.pt' : 'model.safetensors');
  fs.mkdirSync(c.run.out, { recursive: true });
  writeWeightsFile(file, r.weights!, format, { format: 'pt', model: r.model, dataset: r.dataset });
  info(`saved ${file}`);
}
