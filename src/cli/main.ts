// The `googlenet` command line. Every failure is one line on stderr and a non-zero exit.
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchModel } from '../bench/bench.js';
import { DATASETS, FORMATS, readCifar, type DataFormat, type DatasetName } from '../data/cifar.js';
import { ensureDataset, presentFolder } from '../data/download.js';
import { loadData } from '../data/load.js';
import { DataLoader } from '../data/loader.js';
import { NO_AUGMENTATION } from '../data/transforms.js';
import { DB_FILE, runExperiment, saveModel, type ExperimentResult } from '../experiment/experiment.js';
import { writeReport } from '../experiment/report.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { EXPORT_FORMATS, exportFormatOfName, formatOfName, WEIGHTS_FORMATS, writeWeightsFile, type ExportFormat } from '../io/weights.js';
import { writeOnnxFile } from '../io/onnx.js';
import { classesOfWeights, createModel, modelNames, reconstructionNoteFor, VARIANTS } from '../models/googlenet.js';
import { toOnnx } from '../models/onnx-export.js';
import type { StateDict } from '../nn/module.js';
import { formatSummary, summarize } from '../models/summary.js';
import { setPrecision, type Precision } from '../nn/layers.js';
import { backend } from '../tensor/tensor.js';
import {
  AUGMENTATIONS, classCount, configFromFlat, DATASET_NAMES, defaultConfig, defaultWeightDecay, NORMALIZE_CHOICES, normalization, OPTIMIZERS, PRECISIONS,
  recipeProblem, SCHEDULERS, type NormalizeName, type Recipe, type RunOptions, type TrainConfig,
} from '../train/config.js';
import { readWeights } from '../train/checkpoint.js';
import { evaluate, testLine } from '../train/evaluate.js';
import { batchFromHost, referenceStep } from '../train/reference-step.js';
import { Reporter } from '../train/reporter.js';
import { train, type TrainResult } from '../train/trainer.js';
import { runAttempt } from '../train/attempt.js';
import { runSpec } from '../train/spec.js';
import { STOP_EXIT_CODE, StopRequest, type StopSignal } from '../train/stop.js';
import { FolderStore } from '../store/folder.js';
import { openStore, STORE_ENV } from '../store/open.js';
import type { RunQueue } from '../queue/queue.js';
import { runWorker } from '../experiment/worker.js';
import { DEFAULT_HEARTBEAT, isRefusal, LEASE_BEATS, workerName, type RunStore } from '../store/store.js';
import { formatStatus, statusJson, storeStatus } from './status.js';
import { display } from '../util/display.js';
import { DASHBOARD_DEFAULTS, startDashboard } from '../dashboard/server.js';
import { isLoopback, newToken } from '../dashboard/security.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got '${v}'`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
    return v as T;
  };
}

function intList(name: string) {
  return (v: string): number[] => {
    const list = v.split(',').map((x) => Number(x.trim()));
    if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`${name} must be a comma-separated list of positive integers, got '${v}'`);
    return list;
  };
}

function modelName(v: string): string {
  if (!modelNames().includes(v)) throw new InvalidArgumentError(`unknown model '${v}'; choose one of: ${modelNames().join(', ')}`);
  return v;
}

const d = defaultConfig();
/** `a, b or c`, with the seed's (default) choice named. */
const listChoices = (values: readonly string[], seed?: string) =>
  `${values.slice(0, -1).join(', ')} or ${values.at(-1)}${seed ? ` (the seed's: ${seed})` : ''}`;
const modelHelp = `network (${modelNames().join(', ')})`;

/** This package's version, from its package.json (two folders above dist/src/cli). */
const VERSION = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command('googlenet')
  .description('Train and study GoogLeNet (Inception v1) and its variants on CIFAR, on oneDNN')
  .version(`googlenet ${VERSION}, oneDNN ${backend().version()} (${backend().cpuIsa()}), Node ${process.version}`, '--version', 'print the version (and oneDNN\'s, and the ISA it uses here)')
  .option('--threads <n>', 'compute threads (default: all cores)', positiveInt('--threads'))
  .option('--quiet', 'no progress bar, no per-batch Train Epoch: lines, no status lines: only results (Test set: lines, --json), warnings and errors')
  .hook('preAction', (cmd, action) => {
    const threads = cmd.opts().threads as number | undefined;
    if (threads) backend().setThreads({ threads });
    display.quiet = !!cmd.opts().quiet;
    // --json output is for programs: plain lines on stderr too, even on a terminal
    display.plain = !!action.opts().json;
  })
  .showHelpAfterError(false)
  // --threads and --quiet in every command's help, where they may also be given
  .configureHelp({ showGlobalOptions: true })
  // our argument parsers name the flag and the value themselves: commander's own preamble would say it twice
  .configureOutput({ outputError: (str) => display.error(str.replace(/^error: /, '').replace(/^option '[^']+' argument '[^']*' is invalid\. /, '').trim()) });

program
  .command('step')
  .description('one training step as PyTorch fixtures are made (train-mode forward with dropout off, loss, gradients, one Adadelta(lr=1.0) step, eval-mode forward), written to one safetensors file')
  .requiredOption('--weights <file>', 'state dict (safetensors or torch.save .pt/.pth, PyTorch names)')
  .requiredOption('--input <file>', "batch (safetensors with 'input' float32 NCHW and 'target' int64)")
  .requiredOption('--out <file>', 'results: train_logits, loss, grad.<name>, eval_logits_after_step and the after-step state dict')
  .option('--model <name>', modelHelp, modelName, d.recipe.model)
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), classCount(d.recipe))
  .option('--fix-bn-eps', "use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (its eps is n5x5 by default, as in the seed)")
  .action((o: { weights: string; input: string; out: string; model: string; classes: number; fixBnEps?: boolean }) => {
    const model = createModel(o.model, o.classes, { fixBatchNormEps: !!o.fixBnEps });
    try {
      model.loadStateDict(readWeights(o.weights, (l) => display.info(l)), o.weights);
      const results = referenceStep(model, batchFromHost(readSafetensors(o.input), o.input, o.classes));
      writeSafetensors(o.out, results, { format: 'pt', producer: 'googlenet step', model: o.model });
      display.out(`${o.out}: loss ${(results.get('loss')!.data as Float32Array)[0].toFixed(6)}, ${results.size} tensors`);
    } finally {
      model.dispose();
    }
  });

program
  .command('summary')
  .description('every layer of a network (output shape, parameters, multiply-accumulates for one 32x32 image), totals, and each Inception module beside its naive version')
  .option('--model <name>', modelHelp, modelName, d.recipe.model)
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), classCount(d.recipe))
  .option('--json', 'print one JSON object {model, classes, input, params, macs, layers, modules}')
  .action((o: { model: string; classes: number; json?: boolean }) => {
    const model = createModel(o.model, o.classes);
    const s = summarize(model, o.model);
    model.dispose();
    display.out(o.json ? JSON.stringify(s) : formatSummary(s, reconstructionNoteFor(VARIANTS[o.model], o.classes)));
  });

const datasetOption = () => new Option('--dataset <name>', listChoices(DATASET_NAMES)).argParser(choice('--dataset', DATASET_NAMES)).default(d.recipe.dataset);
const precisionOption = (help: string) => new Option('--precision <p>', help).argParser(choice('--precision', PRECISIONS)).default(d.recipe.precision);

/**
 * The help's option groups. The recipe is a run's identity (Recipe in src/train/config.ts: the same
 * recipe is the same run); data, run and output options are its RunOptions and the command's own.
 */
const GROUP = { recipe: 'Recipe (what is trained; another recipe is another run):', data: 'Data:', run: 'Run:', output: 'Output:' } as const;

/**
 * The seed's training flags (same names and defaults) and ours, shared by train and experiment, by
 * help group; `recipeFirst` (the command's model and dataset flags) lead the recipe.
 */
function addTrainOptions(cmd: Command, recipeFirst: Option[]): Command {
  const r = d.recipe, run = d.run;
  cmd.optionsGroup(GROUP.recipe);
  for (const o of recipeFirst) cmd.addOption(o);
  return cmd
    .option('--coarse', "CIFAR-100's 20 superclasses (coarse labels) instead of its 100 classes")
    .option('--limit-train <n>', 'use the first N training records (before shuffling)', positiveInt('--limit-train'))
    .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
    .option('--batch-size <n>', 'input batch size for training', positiveInt('--batch-size'), r.batchSize)
    .option('--epochs <n>', 'number of epochs to train', positiveInt('--epochs'), r.epochs)
    .option('--seed <s>', 'random seed', nonNegativeInt('--seed'), r.seed)
    .option('--optimizer <name>', listChoices(OPTIMIZERS, r.optimizer), choice('--optimizer', OPTIMIZERS), r.optimizer)
    .option('--lr <lr>', 'learning rate', nonNegativeNumber('--lr'), r.lr)
    .option('--weight-decay <w>', `weight decay (L2 for adadelta/sgd/adam, decoupled for adamw; default ${defaultWeightDecay('adamw')} for adamw, ${defaultWeightDecay('sgd')} for the others)`, nonNegativeNumber('--weight-decay'))
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), r.momentum)
    .option('--nesterov', 'SGD with Nesterov momentum')
    .option('--beta1 <b>', 'Adam/AdamW beta1', nonNegativeNumber('--beta1'), r.beta1)
    .option('--beta2 <b>', 'Adam/AdamW beta2', nonNegativeNumber('--beta2'), r.beta2)
    .option('--scheduler <name>', `${listChoices(SCHEDULERS, r.scheduler)}; step is StepLR(1, gamma), multistep needs --milestones`, choice('--scheduler', SCHEDULERS), r.scheduler)
    .option('--gamma <g>', 'learning rate step gamma (step and multistep schedulers)', nonNegativeNumber('--gamma'), r.gamma)
    .option('--milestones <list>', 'epochs where multistep multiplies the lr by gamma, e.g. 8,12', intList('--milestones'), r.milestones)
    .option('--warmup-epochs <n>', 'linear warm-up from lr/10 over this many epochs before the schedule', nonNegativeInt('--warmup-epochs'), r.warmupEpochs)
    .option('--augment <kind>', `training augmentation: ${listChoices(AUGMENTATIONS, r.augment)}; flip+crop adds RandomCrop(32, padding=4)`, choice('--augment', AUGMENTATIONS), r.augment)
    .option('--normalize <kind>', `${listChoices(NORMALIZE_CHOICES, r.normalize)}; seed: Normalize((0.5,)*3, (0.5,)*3), dataset: the usual per-dataset mean/std`, choice('--normalize', NORMALIZE_CHOICES), r.normalize)
    .option('--fix-bn-eps', 'use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (eps n5x5)')
    .addOption(precisionOption('fp32, or bf16 mixed precision (bf16 convolutions, f32 master weights, BatchNorm statistics and loss)'))
    .optionsGroup(GROUP.data)
    .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', run.dataDir)
    .option('--mirror <url>', 'download the archives from this base URL (or archive URL / local archive) instead of the dataset authors\' site')
    .option('--workers <n>', 'data loader threads (0: prepare batches on the main thread)', nonNegativeInt('--workers'), run.workers)
    .optionsGroup(GROUP.run)
    .option('--test-batch-size <n>', 'input batch size for testing', positiveInt('--test-batch-size'), run.testBatchSize)
    .option('--checkpoint-every <minutes>', 'minutes of training between checkpoints within an epoch (a decimal number; 0: only at each epoch\'s end)', nonNegativeNumber('--checkpoint-every'), run.checkpointEvery)
    .option('--resume', 'continue from the checkpoint in --out: the last complete epoch, or within an epoch the batch after the last checkpoint')
    .option('--dry-run', 'quick check: one epoch of one training batch and one test batch (the seed still tests on the whole test set; this finishes in seconds); writes no checkpoint')
    .option('--no-cuda', 'accepted for the seed\'s command lines; this build computes on the CPU with oneDNN')
    .optionsGroup(GROUP.output)
    .option('--log-interval <n>', 'batches between training log lines', positiveInt('--log-interval'), run.logInterval)
    .option('--save-model', 'write <out>/model.safetensors (PyTorch state_dict names; model.pt with --save-format pt) at the end')
    .option('--save-format <format>', `--save-model's file: ${WEIGHTS_FORMATS.join(' or ')} (pt: model.pt for torch.load(weights_only=True))`, choice('--save-format', WEIGHTS_FORMATS), 'safetensors')
    .option('--json', 'make the last stdout line one JSON object with the results');
}

/** `Examples:` after a command's help, one command line each. */
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

/** Parsed flags: recipe and run-option fields by name, plus the command's own. */
type TrainFlags = Partial<Recipe> & Partial<RunOptions> & { mirror?: string; resume?: boolean; json?: boolean };

/** The configuration the flags describe; what they leave unset comes from defaultConfig. */
function configFrom(o: TrainFlags, fields: Partial<Recipe & RunOptions>): TrainConfig {
  const c = configFromFlat({ ...o, ...fields, threads: program.opts().threads as number | undefined });
  const problem = recipeProblem(c.recipe);
  if (problem) throw new Error(problem);
  return c;
}

/** The `--json` result line: the run and its epochs, in the seed's snake_case names. */
function jsonResult(r: TrainResult): string {
  return JSON.stringify({
    model: r.model, dataset: r.dataset, params: r.params,
    epochs: r.epochs.map((e) => ({ epoch: e.epoch, train_loss: e.trainLoss, test_loss: e.testLoss, top1_error: e.top1Error, top5_error: e.top5Error, seconds: e.seconds })),
    seconds: r.seconds,
  });
}

/** The first SIGINT/SIGTERM asks the loop to checkpoint and hand the run back; a second ends the process at once. */
function stopOnSignals(): StopRequest {
  return new StopRequest((s) => display.warn(`googlenet: ${s}: checkpointing at the next batch and handing the run back (${s === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once)`)).install();
}

/** The command line that resumes this one: the same arguments, with `extra` added when absent. */
function resumeCommand(extra: string[] = []): string {
  const args = process.argv.slice(2);
  return ['googlenet', ...args, ...extra.filter((a) => !args.includes(a))].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}

/** After a stop: how to resume, and the signal's exit code. */
function reportInterrupted(end: { signal: StopSignal; epoch: number; batch: number }, resume: string): void {
  display.warn(`googlenet: stopped at epoch ${end.epoch}, batch ${end.batch}; the checkpoint there is kept and the attempt is marked interrupted. Resume with: ${resume}`);
  process.exitCode = STOP_EXIT_CODE[end.signal];
}

const heartbeatOption = () => new Option('--heartbeat <seconds>', `seconds between the heartbeats that keep a claim on a run (another worker takes it after ${LEASE_BEATS} missed)`)
  .argParser(positiveNumber('--heartbeat')).default(DEFAULT_HEARTBEAT);

addTrainOptions(
  program
    .command('train')
    .description("train one network with the seed's recipe (Adadelta, StepLR each epoch, flip + normalise 0.5) or another; checkpoints every epoch and every --checkpoint-every minutes"),
  [new Option('--model <name>', modelHelp).argParser(modelName).default(d.recipe.model), datasetOption()],
).optionsGroup(GROUP.output)
  .option('--out <dir>', 'run folder for the checkpoint, run.json and saved model (default: runs/<model>-<dataset>)')
  .addOption(heartbeatOption().hideHelp())
  .addHelpText('after', examples(
    '# two epochs of a small network on 2,000 images, then its test metrics',
    'googlenet train --model googlenet-short4 --dataset cifar10 --data-dir ../shared/data --limit-train 2000 --epochs 2',
    '# another recipe; Ctrl-C checkpoints, and the same command with --resume continues',
    'googlenet train --optimizer sgd --lr 0.1 --momentum 0.9 --scheduler cosine --augment flip+crop --out runs/sgd',
    '# quiet: only the Test set: lines, warnings and errors',
    'googlenet --quiet train --dataset cifar100 --epochs 14',
  )).action(async (o: TrainFlags & { heartbeat: number }) => {
  const config = configFrom(o, {});
  if (config.run.dryRun) {
    const result = await train(config, { claim: null, mirror: o.mirror });
    if (o.json) display.out(jsonResult(result));
    return;
  }
  const store = new FolderStore(config.run.out);
  const held = await store.runs();
  if (held.length && !o.resume) {
    if (fs.existsSync(store.checkpointFile)) throw new Error(`${store.checkpointFile} exists: pass --resume to continue that run, or choose another --out`);
    throw new Error(`${config.run.out} holds a run (${held[0].status}): pass --resume to continue it, or choose another --out`);
  }
  const run = await store.ensureRun(runSpec(config.recipe));
  const claim = await store.claim(run.id, { name: workerName(), heartbeat: o.heartbeat });
  if (isRefusal(claim)) {
    if (claim.refused !== 'done') throw new Error(claim.reason);
    display.info(`googlenet: ${claim.reason}; nothing to train`);
    return;
  }
  const end = await runAttempt(claim, config, { mirror: o.mirror, stop: stopOnSignals() });
  if (end.outcome === 'interrupted') return reportInterrupted(end, resumeCommand(['--resume']));
  if (end.outcome !== 'complete') throw new Error(end.error);
  if (end.result.weights) saveModel(config, end.result, (l) => display.info(l));
  if (o.json) display.out(jsonResult(end.result));
});

/**
 * The queue of a PostgreSQL store, or undefined for another store. pg and pg-boss are loaded only
 * here (open.ts loads the store's own module likewise): they add half a second to every command.
 */
async function queueOf(store: RunStore): Promise<RunQueue | undefined> {
  if (!/^postgres(ql)?:/i.test(store.url)) return undefined;
  const [{ PostgresStore }, { RunQueue }] = await Promise.all([import('../store/postgres.js'), import('../queue/queue.js')]);
  return store instanceof PostgresStore ? RunQueue.open(store) : undefined;
}

/** --store, else $GOOGLENET_STORE, else `fallback` (or an error naming both). */
function storeUrl(o: { store?: string }, fallback?: string): string {
  const url = o.store ?? process.env[STORE_ENV] ?? fallback;
  if (!url) throw new Error(`no run store: pass --store URL (sqlite:PATH, postgres://user@host:port/db or a run folder) or set ${STORE_ENV}`);
  return url;
}
const storeOption = (extra = '') => new Option('--store <url>', `run store: sqlite:PATH, postgres://user@host:port/database (password from PGPASSWORD or ~/.pgpass) or a run folder; default $${STORE_ENV}${extra}`);

const EXPERIMENT_DATASETS = [...DATASET_NAMES, 'both'] as const;

addTrainOptions(
  program
    .command('experiment')
    .description("the seed's experiment: train each network on each dataset one after another (complete runs are skipped, an interrupted one resumes), then write DIR/results.md, results.json and plots from DIR/experiment.sqlite"),
  [
    new Option('--dataset <name>', `${listChoices(EXPERIMENT_DATASETS)} (${DATASET_NAMES.join(', then ')})`).argParser(choice('--dataset', EXPERIMENT_DATASETS)).default(d.recipe.dataset),
    new Option('--models <list>', `comma-separated networks, or all (${modelNames().join(', ')})`).default('all'),
  ],
).optionsGroup(GROUP.run)
  .addOption(storeOption(`, then sqlite:DIR/${DB_FILE}`))
  .addOption(heartbeatOption())
  .option('--enqueue-only', 'record the grid in the store (idempotent) and exit; workers train it')
  .optionsGroup(GROUP.output)
  .requiredOption('--out <dir>', 'experiment folder: results.md, results.json, plots/ (and with the default store experiment.sqlite and the checkpoints)')
  .addHelpText('after', examples(
    '# a small experiment on the data at hand (2 networks, 2 epochs); interrupt it, and the same command resumes',
    'googlenet experiment --dataset cifar10 --models googlenet-short4,googlenet-short3 --data-dir ../shared/data --limit-train 2000 --limit-test 1000 --epochs 2 --out runs/small',
    "# the seed's whole experiment: seven networks, both datasets, 14 epochs",
    'googlenet experiment --dataset both --models all --out runs/seed',
    '# over many machines: enqueue the grid in PostgreSQL, then run `googlenet worker` on each',
    'googlenet experiment --dataset both --models all --enqueue-only --store postgres://gn@dbhost:5432/runs --out runs/seed',
  )).action(async (o: Omit<TrainFlags, 'dataset'> & { dataset: (typeof EXPERIMENT_DATASETS)[number]; models: string; out: string; store?: string; heartbeat: number; enqueueOnly?: boolean }) => {
  const models = o.models === 'all' ? modelNames() : o.models.split(',').map((m) => m.trim());
  const unknown = models.find((m) => !modelNames().includes(m));
  if (unknown) throw new Error(`--models: unknown model '${unknown}'; choose from: ${modelNames().join(', ')} (or all)`);
  const datasets: DatasetName[] = o.dataset === 'both' ? DATASET_NAMES : [o.dataset];
  const base = configFrom({ ...o, dataset: datasets[0] }, { model: models[0] });
  const store = base.run.dryRun ? null : await openStore(storeUrl(o, `sqlite:${path.join(o.out, DB_FILE)}`));
  if (store instanceof FolderStore && datasets.length * models.length > 1) {
    await store.close();
    throw new Error(`--store ${store.url} is a run folder, which holds one run; an experiment of ${datasets.length * models.length} runs needs sqlite:PATH or postgres://…`);
  }
  const queue = store ? await queueOf(store) : undefined;
  const stop = stopOnSignals();
  let result: ExperimentResult;
  try {
    result = await runExperiment({
      out: o.out, store: store!, queue, worker: { name: workerName(), heartbeat: o.heartbeat }, datasets, models, base, mirror: o.mirror, stop, enqueueOnly: o.enqueueOnly,
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
  if (failed.length) throw new Error(`${failed.length} of ${runs.length} runs failed: ${failed.map((r) => `${r.model} on ${r.dataset} (${r.error})`).join('; ')}`);
});

program
  .command('bench')
  .description('training-step and eval throughput and peak memory of one network on random data (npm run bench runs the whole benchmark, PyTorch beside it)')
  .option('--model <name>', modelHelp, modelName, d.recipe.model)
  .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), d.recipe.batchSize)
  .addOption(precisionOption('fp32, or bf16 mixed precision'))
  .option('--steps <n>', 'timed steps (after two warm-up steps)', positiveInt('--steps'), 4)
  .option('--json', 'make the last stdout line {model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb}')
  .action((o: { model: string; batchSize: number; precision: Precision; steps: number; json?: boolean }) => {
    const r = benchModel(o.model, o.batchSize, o.precision, o.steps);
    if (o.json) {
      const { model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb } = r;
      display.out(JSON.stringify({ model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb }));
    } else {
      display.out(`${r.model}, batch ${r.batch_size}, ${r.precision}, ${backend().stats().threads} threads: training ${r.train_img_per_s.toFixed(1)} images/s, eval ${r.eval_img_per_s.toFixed(1)} images/s, peak RSS ${r.peak_rss_mb.toFixed(0)} MiB`);
    }
  });

/** `test` evaluates in larger batches than training's test pass: nothing is trained, so only speed changes. */
const TEST_COMMAND_BATCH = 100;

program
  .command('test')
  .description("the seed's test metrics (average loss, top-1/top-5 error) of a weights file on a test set")
  .requiredOption('--weights <file>', 'state dict (safetensors, or torch.save .pt/.pth: told apart by content) from this project or PyTorch, or a training checkpoint (ours, or a PyTorch dict under state_dict/model/model_state_dict; its model is used)')
  .option('--model <name>', modelHelp, modelName, d.recipe.model)
  .addOption(datasetOption())
  .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', d.run.dataDir)
  .option('--mirror <url>', 'download from this base URL instead')
  .option('--test-batch-size <n>', 'batch size', positiveInt('--test-batch-size'), TEST_COMMAND_BATCH)
  .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
  .addOption(new Option('--normalize <kind>', `${listChoices(NORMALIZE_CHOICES)} normalisation, as the weights were trained`).argParser(choice('--normalize', NORMALIZE_CHOICES)).default(d.recipe.normalize))
  .option('--fix-bn-eps', 'eps 1e-5 in the quirky BatchNorm (for weights trained that way)')
  .addOption(precisionOption(listChoices(PRECISIONS)))
  .option('--coarse', "CIFAR-100's 20 superclasses (for weights trained on them)")
  .option('--json', 'print one JSON object {loss, top1_error, top5_error, n}')
  .action(async (o: { weights: string; model: string; dataset: DatasetName; dataDir: string; mirror?: string; testBatchSize: number; limitTest?: number; normalize: NormalizeName; fixBnEps?: boolean; coarse?: boolean; precision: Precision; json?: boolean }) => {
    const model = createModel(o.model, classCount({ dataset: o.dataset, coarse: !!o.coarse }), { fixBatchNormEps: !!o.fixBnEps });
    setPrecision(model, o.precision);
    try {
      model.loadStateDict(readWeights(o.weights, (l) => display.info(l)), o.weights);
      const { test } = await loadData({ dataset: o.dataset, dataDir: o.dataDir, limitTrain: null, limitTest: o.limitTest ?? null, coarse: !!o.coarse, mirror: o.mirror }, ['test']);
      const loader = new DataLoader(test!, { batchSize: o.testBatchSize, augment: NO_AUGMENTATION, normalize: normalization(o) });
      const report = new Reporter();
      report.testStart(loader.length);
      const r = await evaluate(model, loader, Infinity, (done, batches, size) => report.testBatch(done, batches, size));
      report.close();
      await loader.close();
      display.out(o.json ? JSON.stringify(r) : testLine(r).trim());
    } finally {
      model.dispose();
    }
  });

program
  .command('worker')
  .description('train runs from a PostgreSQL store\'s queue, one at a time, on this machine: take one, claim it, train it (downloading its dataset when missing), record it, take the next')
  .optionsGroup(GROUP.data)
  .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', d.run.dataDir)
  .option('--mirror <url>', 'download the archives from this base URL (or archive URL / local archive) instead')
  .option('--workers <n>', 'data loader threads', nonNegativeInt('--workers'), d.run.workers)
  .optionsGroup(GROUP.run)
  .addOption(storeOption())
  .option('--until-empty', 'exit 0 once every run in the store is complete or failed (default: wait for more work)')
  .addOption(heartbeatOption())
  .option('--checkpoint-every <minutes>', 'minutes of training between checkpoints within an epoch (0: only at each epoch\'s end)', nonNegativeNumber('--checkpoint-every'), d.run.checkpointEvery)
  .option('--test-batch-size <n>', 'input batch size for testing', positiveInt('--test-batch-size'), d.run.testBatchSize)
  .optionsGroup(GROUP.output)
  .option('--log-interval <n>', 'batches between training log lines', positiveInt('--log-interval'), d.run.logInterval)
  .addHelpText('after', examples(
    '# on every machine: take runs from the queue until none is left (the password from ~/.pgpass)',
    'googlenet --threads 16 worker --store postgres://gn@dbhost:5432/runs --data-dir ./data --until-empty',
  ))
  .action(async (o: { store?: string; dataDir: string; mirror?: string; untilEmpty?: boolean; heartbeat: number } & Partial<RunOptions>) => {
    const store = await openStore(storeUrl(o));
    const queue = await queueOf(store);
    if (!queue) {
      await store.close();
      throw new Error(`${store.url}: a worker takes runs from a PostgreSQL store's queue; on one machine use \`googlenet experiment --store ${store.url}\``);
    }
    const stop = stopOnSignals();
    try {
      const { run } = configFromFlat({ ...o, threads: program.opts().threads as number | undefined });
      const r = await runWorker({ store, queue, worker: { name: workerName(), heartbeat: o.heartbeat }, run, untilEmpty: !!o.untilEmpty, stop, mirror: o.mirror });
      if (r.interrupted) reportInterrupted(r.interrupted, resumeCommand());
    } finally {
      stop.remove();
      await queue.close();
      await store.close();
    }
  });

program
  .command('status')
  .description('every run in a store: state, worker, epoch/batch, images/s, ETA, attempts and last error')
  .addOption(storeOption())
  .option('--json', 'make the last stdout line {runs: [{model, dataset, status, epochs_done, epochs_planned, worker, attempts: [...]}]}')
  .action(async (o: { store?: string; json?: boolean }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const runs = await storeStatus(store);
      display.out(o.json ? JSON.stringify({ runs: runs.map(statusJson) }) : formatStatus(store.url, runs));
    } finally {
      await store.close();
    }
  });

program
  .command('report')
  .description('write results.md, results.json and plots/ from a store, as experiment does when it ends')
  .addOption(storeOption())
  .requiredOption('--out <dir>', 'folder for results.md, results.json and plots/')
  .action(async (o: { store?: string; out: string }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const r = await writeReport(store, o.out);
      display.info(`wrote ${r.markdown}, ${r.json} and ${r.plots.length} plots from ${store.url}`);
    } finally {
      await store.close();
    }
  });

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be an integer from 0 to 65535 (0: any free port), got '${v}'`);
  return n;
}

program
  .command('dashboard')
  .description('a read-only web page of a store, live: the seed\'s tables with ours, every run, curves per dataset, a page per run, runs side by side')
  .addOption(storeOption(`; --out DIR for an experiment folder's ${DB_FILE}`))
  .option('--out <dir>', `experiment folder: its sqlite:DIR/${DB_FILE}`)
  .option('--port <n>', 'port to listen on (0: any free port)', portNumber, DASHBOARD_DEFAULTS.port)
  .option('--host <address>', 'address to bind; anything but loopback lets other machines in, with a token', DASHBOARD_DEFAULTS.host)
  .option('--token <token>', 'the token the page must present, 16 characters or more (default: none on loopback, a random one otherwise)', (v: string) => {
    if (v.length < 16 || /\s|;/.test(v)) throw new InvalidArgumentError(`--token must be 16 characters or more, without spaces or ';', got ${v.length} characters`);
    return v;
  })
  .option('--allow-host <name>', 'also accept this Host header name (a DNS name or proxy in front; repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .addHelpText('after', examples(
    '# the experiment of runs/small, on http://127.0.0.1:6006/',
    'googlenet dashboard --out runs/small',
    '# a PostgreSQL store, shared on the network (prints a URL with a token)',
    'googlenet dashboard --store postgres://gn@dbhost:5432/runs --host 0.0.0.0',
  ))
  .action(async (o: { store?: string; out?: string; port: number; host: string; token?: string; allowHost: string[] }) => {
    if (o.store && o.out) throw new Error('give --store or --out, not both');
    const store = await openStore(o.out ? `sqlite:${path.join(o.out, DB_FILE)}` : storeUrl(o), { existing: true });
    const loopback = isLoopback(o.host);
    const token = o.token ?? (loopback ? undefined : newToken());
    let dash;
    try {
      dash = await startDashboard({ store, host: o.host, port: o.port, token, allowHosts: o.allowHost, onPollError: (e) => display.warn(`googlenet: dashboard: reading ${store.url} failed: ${e.message}`) });
    } catch (e) {
      await store.close();
      throw e;
    }
    if (loopback) display.info(`googlenet: dashboard of ${store.url}, bound to ${o.host}: only this machine can open it (--host 0.0.0.0 shares it)`);
    else display.warn(`googlenet: dashboard of ${store.url} bound to ${o.host}: anyone who can reach port ${dash.port} can try; the page needs the token in the URL below`);
    display.out(`${dash.url}${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    await new Promise<void>((resolve) => {
      const end = () => resolve();
      process.once('SIGINT', end);
      process.once('SIGTERM', end);
    });
    await dash.close();
    await store.close();
    display.info('googlenet: dashboard closed');
  });

program
  .command('convert')
  .description('converts weights between safetensors and torch.save (.pt/.pth), the format of OUT by its extension; IN (told apart by content) may be a training checkpoint, ours or PyTorch\'s, whose model is written')
  .argument('<in>', 'a state dict or training checkpoint (safetensors or .pt/.pth)')
  .argument('<out>', 'the file to write: .safetensors, .pt or .pth')
  .action((input: string, out: string) => {
    const format = formatOfName(out);
    if (!format) throw new Error(`${out}: cannot tell the format to write from the name; end it in .safetensors, .pt or .pth`);
    const sd = readWeights(input, (l) => display.info(l));
    writeWeightsFile(out, sd, format);
    display.info(`wrote ${out}: ${sd.size} tensors (${format})`);
  });

/** Options of export's weights-file form (--model, --weights): the weights decide the class count, these must agree. */
interface ExportOptions {
  store?: string; out: string; format?: ExportFormat; weights?: string; model?: string;
  classes?: number; dataset?: DatasetName; coarse?: boolean; fixBnEps?: boolean;
}

/**
 * Writes `sd` (the weights of `model` for `classes` classes) to `out` as `format`; first loads them
 * into the network, so weights of another network or shape are refused before anything is written.
 */
function writeExport(out: string, format: ExportFormat, model: string, classes: number, fixBnEps: boolean, sd: StateDict, source: string, metadata: Record<string, string>): void {
  const net = createModel(model, classes, { fixBatchNormEps: fixBnEps });
  try {
    net.loadStateDict(sd, source);
    if (format === 'onnx') writeOnnxFile(out, toOnnx(net.eval(), { model, producerVersion: VERSION, metadata: { ...metadata, fix_bn_eps: String(fixBnEps) } }));
    else writeWeightsFile(out, sd, format, { format: 'pt', model, ...metadata });
  } finally {
    net.dispose();
  }
}

program
  .command('export')
  .description("a network's weights as an ONNX model (the eval-mode graph, opset 13, dynamic batch) or a state dict with PyTorch names: from a weights file (--model, --weights), or a run's current checkpoint in a store (MODEL DATASET)")
  .argument('[model]', `the store form: ${modelHelp}`)
  .argument('[dataset]', `the store form: ${listChoices(DATASET_NAMES)}`)
  .addOption(storeOption())
  .requiredOption('--out <file>', 'the file to write')
  .addOption(new Option('--format <format>', `${listChoices(EXPORT_FORMATS)} (default: by --out's name: .onnx, .pt/.pth, else safetensors)`).argParser(choice('--format', EXPORT_FORMATS)))
  .option('--weights <file>', 'the weights-file form: a state dict or training checkpoint (safetensors or .pt/.pth, told apart by content)')
  .option('--model <name>', `the weights-file form: ${modelHelp}`, modelName)
  .option('--classes <n>', "the weights-file form: the weights' class count (default: their classifier's rows; another count is refused)", positiveInt('--classes'))
  .addOption(new Option('--dataset <name>', `the weights-file form: the dataset the weights were trained on (${listChoices(DATASET_NAMES)}), kept in the ONNX metadata; its class count must be the weights'`).argParser(choice('--dataset', DATASET_NAMES)))
  .option('--coarse', "the weights-file form: CIFAR-100's 20 superclasses (with --dataset cifar100)")
  .option('--fix-bn-eps', 'the weights-file form: eps 1e-5 in the quirky BatchNorm (for weights trained that way; the store form takes it from the recipe)')
  .addHelpText('after', '\nExamples:\n  googlenet export --model googlenet --weights model.safetensors --out model.onnx\n  googlenet export googlenet cifar100 --store sqlite:runs.db --format onnx --out model.onnx')
  .action(async (model: string | undefined, dataset: string | undefined, o: ExportOptions) => {
    const format = o.format ?? exportFormatOfName(o.out);
    if (o.weights !== undefined) {
      if (model !== undefined || o.store !== undefined) throw new Error('export takes either --model and --weights (a weights file) or MODEL DATASET [--store URL] (a run in a store), not both');
      if (!o.model) throw new Error(`export --weights needs --model (${modelNames().join(', ')})`);
      const sd = readWeights(o.weights, (l) => display.info(l));
      const classes = classesOfWeights(sd, o.weights);
      if (o.classes !== undefined && o.classes !== classes) throw new Error(`${o.weights} holds a classifier for ${classes} classes, not --classes ${o.classes}`);
      if (o.coarse && o.dataset !== 'cifar100') throw new Error('--coarse is for --dataset cifar100');
      if (o.dataset && classCount({ dataset: o.dataset, coarse: !!o.coarse }) !== classes)
        throw new Error(`${o.weights} holds a classifier for ${classes} classes, not the ${classCount({ dataset: o.dataset, coarse: !!o.coarse })} of ${o.dataset}${o.coarse ? ' --coarse' : ''}`);
      writeExport(o.out, format, o.model, classes, !!o.fixBnEps, sd, o.weights, o.dataset ? { dataset: o.dataset, coarse: String(!!o.coarse) } : {});
      display.info(`wrote ${o.out}: ${o.model} for ${classes} classes (${format})`);
      return;
    }
    const weightsOnly = (['model', 'classes', 'dataset', 'coarse', 'fixBnEps'] as const).filter((k) => o[k] !== undefined);
    if (weightsOnly.length) throw new Error(`${weightsOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: only with --weights (a weights file); a run in a store brings its own recipe`);
    if (!model || !dataset) throw new Error('export needs --model and --weights (a weights file), or MODEL DATASET (a run in a store)');
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const run = await store.run(model, dataset);
      if (!run) throw new Error(`${store.url} has no run ${model} on ${dataset}; \`googlenet status --store URL\` lists its runs`);
      const c = await store.checkpoint(run.id);
      if (!c) throw new Error(`${store.url}: ${model} on ${dataset} has no checkpoint yet (it is ${run.status})`);
      const at = c.meta.position ? `epoch ${c.meta.position.epoch}, batch ${c.meta.position.batches}` : `${c.meta.epoch} epochs`;
      const r = c.meta.recipe;
      writeExport(o.out, format, model, classCount(r), r.fixBnEps, c.model, `${store.url}'s ${model} on ${dataset}`, { dataset, coarse: String(r.coarse) });
      display.info(`wrote ${o.out}: ${model} on ${dataset} after ${at} (${run.status}, ${format})`);
    } finally {
      await store.close();
    }
  });

program
  .command('retry')
  .description('queue a failed run again (its crash count reset); workers then take it')
  .addOption(storeOption())
  .argument('<model>', modelHelp)
  .argument('<dataset>', listChoices(DATASET_NAMES))
  .action(async (model: string, dataset: string, o: { store?: string }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const run = await store.run(model, dataset);
      if (!run) throw new Error(`${store.url} has no run ${model} on ${dataset}; \`googlenet status --store URL\` lists its runs`);
      await store.retry(run.id);
      // workers take runs from a PostgreSQL store's queue: the failed run has no job left there
      const queue = await queueOf(store);
      await queue?.enqueue(run).finally(() => queue.close());
      display.info(`${model} on ${dataset} is queued again in ${store.url}`);
    } finally {
      await store.close();
    }
  });

program
  .command('download')
  .description('download, verify (size and md5) and extract the official CIFAR archive, binary or (--format python) torchvision\'s; an existing dataset folder is used as is')
  .addOption(datasetOption())
  .addOption(new Option('--format <form>', `which archive to fetch: ${listChoices(FORMATS)} (torchvision's pickles, read without Python); `
    + 'given, only that form\'s folder counts; without it, either form\'s folder is used and binary is fetched when neither is there, as train, test, experiment and worker do').argParser(choice('--format', FORMATS)))
  .option('--data-dir <dir>', 'where to put the dataset folder', d.run.dataDir)
  .option('--mirror <url>', 'base URL (or archive URL, or local archive) to fetch from instead of the dataset authors\' site')
  .addOption(new Option('--expect-md5 <hex>', 'test only: the md5 to verify instead of the official one (size is then not checked)').hideHelp())
  .action(async (o: { dataset: DatasetName; format?: DataFormat; dataDir: string; mirror?: string; expectMd5?: string }) => {
    const present = presentFolder(o.dataset, o.dataDir, o.format);
    if (present) display.info(`${present} is already there; nothing to download`);
    const folder = await ensureDataset(o.dataset, o.dataDir, { mirror: o.mirror, format: o.format, ...(o.expectMd5 ? { expectMd5: o.expectMd5, expectBytes: null } : {}) });
    for (const split of ['train', 'test'] as const) {
      const data = readCifar(o.dataDir, o.dataset, split, o.format ? { format: o.format } : {});
      const official = DATASETS[o.dataset].records[split];
      const files = data.files.map((f) => `${path.basename(f.file)} ${f.records}`).join(', ');
      display.out(`${o.dataset} ${split}: ${data.count} images (${files})${data.count < official ? `; the official set has ${official}, this folder holds a subset` : ''}`);
    }
    display.out(`ready: ${folder}`);
  });

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exitCode = e.exitCode ?? 1;
  } else {
    display.error(`googlenet: ${e.message ?? String(err)}`);
    if (process.env.GOOGLENET_DEBUG) display.around(() => console.error(err));
    process.exitCode = 1;
  }
}
