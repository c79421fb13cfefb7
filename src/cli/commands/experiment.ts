// `googlenet experiment`: the seed's experiment, a grid of datasets × seeds × networks recorded in a run
// store and trained here (or, with PostgreSQL, by workers), then its report.
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DB_FILE, runExperiment, type ExperimentResult } from '../../experiment/experiment.js';
import { modelNames } from '../../models/googlenet.js';
import { FolderStore } from '../../store/folder.js';
import { openStore } from '../../store/open.js';
import { workerName } from '../../store/store.js';
import type { DatasetName } from '../../data/cifar.js';
import { DATASET_NAMES, recipeNetwork, type NamedNetwork } from '../../train/config.js';
import { isNetworkFileArgument } from '../../models/network.js';
import { display } from '../../util/display.js';
import { choice, DEFAULTS, examples, globalConv, globalThreads, heartbeatOption, listChoices, storeOption, storeUrl } from '../args.js';
import { queueOf, reportInterrupted, resumeCommand, stopOnSignals } from '../runs.js';
import { addTrainOptions, configFrom, GROUP, type TrainFlags } from '../train-options.js';

const EXPERIMENT_DATASETS = [...DATASET_NAMES, 'both'] as const;

type ExperimentFlags = Omit<TrainFlags, 'dataset'> & {
  dataset: (typeof EXPERIMENT_DATASETS)[number]; models: string; seeds?: number[]; out?: string; store?: string; heartbeat: number; enqueueOnly?: boolean;
};

/** --models: built-in names and network files, or all (the seven); a name given twice is refused, as runs are named by it. */
function networksOf(list: string): NamedNetwork[] {
  const args = list === 'all' ? modelNames() : list.split(',').map((m) => m.trim());
  const unknown = args.find((m) => !isNetworkFileArgument(m) && !modelNames().includes(m));
  if (unknown) throw new Error(`--models: unknown model '${unknown}'; choose from: ${modelNames().join(', ')} (or all), or give network files (paths with / or ending in .json)`);
  const networks = args.map((a) => recipeNetwork(a));
  networks.forEach((n, i) => {
    const j = networks.findIndex((m) => m.model === n.model);
    if (j !== i) throw new Error(`--models: ${args[j]} and ${args[i]} are both named '${n.model}', and an experiment's runs are named by their network; give one file another "name"`);
  });
  return networks;
}

/** More seeds than any comparison needs at the spreads measured here: a larger count is a typo. */
const MAX_SEEDS = 1000;

/** --seeds: a count N (seeds 1 to N) or a comma-separated list of seeds; a seed listed twice is refused (it would be one run). */
function seedsOf(v: string): number[] {
  const items = v.split(',').map((x) => x.trim());
  if (!items.every((x) => /^\d+$/.test(x) && Number.isSafeInteger(Number(x))))
    throw new InvalidArgumentError(`--seeds must be a count N (seeds 1 to N) or a comma-separated list of seeds (non-negative integers, e.g. 1,7,9), got '${v}'`);
  const list = items.map(Number);
  if (list.length === 1) {
    if (list[0] === 0) throw new InvalidArgumentError("--seeds 0 trains nothing: give a count of 1 or more (seeds 1 to N), or a list of seeds such as 0,1");
    if (list[0]! > MAX_SEEDS) throw new InvalidArgumentError(`--seeds ${list[0]} would train ${list[0]} runs of each network: give at most ${MAX_SEEDS} (n = 2·((1.96 + 0.84)·sd/δ)² tells how many a difference δ needs)`);
    return Array.from({ length: list[0]! }, (_, i) => i + 1);
  }
  const twice = list.find((s, i) => list.indexOf(s) !== i);
  if (twice !== undefined) throw new InvalidArgumentError(`--seeds lists seed ${twice} twice, got '${v}'; give each seed once (each is one run)`);
  return list;
}

export const experiment = addTrainOptions(
  new Command('experiment')
    .description("the seed's experiment: train each network on each dataset (with each of --seeds) one after another (complete runs are skipped, an interrupted one resumes), then write DIR/results.md, results.json and plots from DIR/experiment.sqlite"),
  [
    new Option('--dataset <name>', `${listChoices(EXPERIMENT_DATASETS)} (${DATASET_NAMES.join(', then ')})`).argParser(choice('--dataset', EXPERIMENT_DATASETS)).default(DEFAULTS.recipe.dataset),
    new Option('--models <list>', `comma-separated networks (built-in names or network files), or all (${modelNames().join(', ')})`).default('all'),
    new Option('--seeds <n|list>', 'train each network on each dataset with seeds 1 to N, or with the seeds listed (e.g. 1,7,9), each its own run: seed 1 of every network, then seed 2…; instead of --seed (adding seeds later trains only the new ones)').argParser(seedsOf),
  ],
).optionsGroup(GROUP.run)
  .addOption(storeOption(`, then sqlite:DIR/${DB_FILE}`))
  .addOption(heartbeatOption())
  .option('--enqueue-only', 'record the grid in the store (idempotent) and exit; workers train it')
  .optionsGroup(GROUP.output)
  .option('--out <dir>', 'experiment folder: results.md, results.json, plots/ (and with the default store experiment.sqlite and the checkpoints); required, except with --enqueue-only or --dry-run, which write no report')
  .addHelpText('after', examples(
    '# a small experiment on the data at hand (2 networks, 2 epochs); interrupt it, and the same command resumes',
    'googlenet experiment --dataset cifar10 --models googlenet-short4,googlenet-short3 --data-dir ../shared/data --limit-train 2000 --limit-test 1000 --epochs 2 --out runs/small',
    '# the same with seeds 1, 2 and 3 of each network: seed 1 is already there, so seeds 2 and 3 train',
    'googlenet experiment --dataset cifar10 --models googlenet-short4,googlenet-short3 --data-dir ../shared/data --limit-train 2000 --limit-test 1000 --epochs 2 --seeds 3 --out runs/small',
    "# the seed's whole experiment: seven networks, both datasets, 14 epochs",
    'googlenet experiment --dataset both --models all --out runs/seed',
    '# over many machines: enqueue the grid in PostgreSQL, then run `googlenet worker` on each',
    'googlenet experiment --dataset both --models all --enqueue-only --store postgres://gn@dbhost:5432/runs',
  )).action(async (o: ExperimentFlags, cmd: Command) => {
    // --seed has a default, so only its source tells whether it was given too
    if (o.seeds && cmd.getOptionValueSource('seed') !== 'default')
      throw new Error(`--seeds and --seed ${o.seed} both choose the seed: give --seeds N or --seeds LIST for several seeds, or --seed S for one, not both`);
    const models = networksOf(o.models);
    const datasets: DatasetName[] = o.dataset === 'both' ? DATASET_NAMES : [o.dataset];
    const base = configFrom({ ...o, dataset: datasets[0] }, models[0], globalThreads(cmd), globalConv(cmd));
    // the report (results.md, results.json, plots/) goes to --out: needed unless none is written
    if (o.out === undefined && !o.enqueueOnly && !base.run.dryRun)
      throw new Error('experiment writes its report to --out DIR: pass --out (only --enqueue-only and --dry-run, which write no report, go without)');
    const store = base.run.dryRun ? null : await openStore(storeUrl(o, o.out === undefined ? undefined : `sqlite:${path.join(o.out, DB_FILE)}`));
    const size = datasets.length * models.length * (o.seeds?.length ?? 1);
    if (store instanceof FolderStore && size > 1) {
      await store.close();
      throw new Error(`--store ${store.url} is a run folder, which holds one run; an experiment of ${size} runs needs sqlite:PATH or postgres://…`);
    }
    const queue = store ? await queueOf(store) : undefined;
    const stop = stopOnSignals();
    let result: ExperimentResult;
    try {
      result = await runExperiment({
        out: o.out ?? null, store: store!, queue, worker: { name: workerName(), heartbeat: o.heartbeat }, datasets, models, seeds: o.seeds, base, mirror: o.mirror, stop, enqueueOnly: o.enqueueOnly,
      });
    } finally {
      stop.remove();
      await queue?.close();
      await store?.close();
    }
    const { runs, report, interrupted } = result;
    if (report) display.info(`wrote ${report.markdown}, ${report.json} and ${report.plots.length} plots`);
    if (interrupted) return reportInterrupted(interrupted, resumeCommand());
    const failed = runs.filter((r) => r.status === 'failed');
    if (o.json && report) display.out(JSON.stringify(JSON.parse(fs.readFileSync(report.json, 'utf8'))));
    if (failed.length) throw new Error(`${failed.length} of ${runs.length} runs failed: ${failed.map((r) => `${r.label} (${r.error})`).join('; ')}`);
  });
