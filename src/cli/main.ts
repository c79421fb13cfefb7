// The `googlenet` command line. Every failure is one line on stderr and a non-zero exit.
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchModel } from '../bench/bench.js';
import { readCifar, type DatasetName } from '../data/cifar.js';
import { ensureDataset } from '../data/download.js';
import { DataLoader } from '../data/loader.js';
import { NO_AUGMENTATION } from '../data/transforms.js';
import { runExperiment } from '../experiment/experiment.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { createModel, modelNames, VARIANTS } from '../models/googlenet.js';
import { formatSummary, summarize } from '../models/summary.js';
import { setPrecision, type Precision } from '../nn/layers.js';
import { backend } from '../tensor/tensor.js';
import { classCount, defaultConfig, normalization, type TrainConfig } from '../train/config.js';
import { batchFromHost, referenceStep } from '../train/reference-step.js';
import { evaluate, loadData, testLine, train, type TrainResult } from '../train/trainer.js';

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

const program = new Command('googlenet')
  .description('Train and study GoogLeNet (Inception v1) and its variants on CIFAR, on oneDNN')
  .option('--threads <n>', 'compute threads (default: all cores)', positiveInt('--threads'))
  .hook('preAction', (cmd) => {
    const threads = cmd.opts().threads as number | undefined;
    if (threads) backend().setThreads(threads);
  })
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(`googlenet: ${str.replace(/^error: /, '').trim()}\n`) });

program
  .command('step')
  .description('one training step as PyTorch fixtures are made (train-mode forward with dropout off, loss, gradients, one Adadelta(lr=1.0) step, eval-mode forward), written to one safetensors file')
  .requiredOption('--weights <file>', 'state dict (safetensors, PyTorch names)')
  .requiredOption('--input <file>', "batch (safetensors with 'input' float32 NCHW and 'target' int64)")
  .requiredOption('--out <file>', 'results: train_logits, loss, grad.<name>, eval_logits_after_step and the after-step state dict')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), 100)
  .option('--fix-bn-eps', "use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (its eps is n5x5 by default, as in the seed)")
  .action((o: { weights: string; input: string; out: string; model: string; classes: number; fixBnEps?: boolean }) => {
    const model = createModel(o.model, o.classes, { fixBatchNormEps: !!o.fixBnEps });
    model.loadStateDict(readSafetensors(o.weights), o.weights);
    const batch = batchFromHost(readSafetensors(o.input), o.input, o.classes);
    const results = referenceStep(model, batch);
    writeSafetensors(o.out, results, { format: 'pt', producer: 'googlenet step', model: o.model });
    console.log(`${o.out}: loss ${(results.get('loss')!.data as Float32Array)[0].toFixed(6)}, ${results.size} tensors`);
    batch.input.dispose();
    model.dispose();
  });

program
  .command('summary')
  .description('every layer of a network (output shape, parameters, multiply-accumulates for one 32x32 image), totals, and each Inception module beside its naive version')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), 100)
  .option('--json', 'print one JSON object {model, classes, input, params, macs, layers, modules}')
  .action((o: { model: string; classes: number; json?: boolean }) => {
    const model = createModel(o.model, o.classes);
    const s = summarize(model, o.model);
    model.dispose();
    console.log(o.json ? JSON.stringify(s) : formatSummary(s, VARIANTS[o.model].note));
  });

const datasetOption = () => new Option('--dataset <name>', 'cifar10 or cifar100').argParser(choice('--dataset', ['cifar10', 'cifar100'] as const)).default('cifar100');

/** The seed's training flags (same names and defaults) and ours, shared by train and experiment. */
function addTrainOptions(cmd: Command, withModel: boolean): Command {
  const d = defaultConfig();
  if (withModel) cmd.option('--model <name>', `network (${modelNames().join(', ')})`, modelName, d.model);
  return cmd
    .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', d.dataDir)
    .option('--mirror <url>', 'download the archives from this base URL (or archive URL / local archive) instead of the dataset authors\' site')
    .option('--batch-size <n>', 'input batch size for training', positiveInt('--batch-size'), d.batchSize)
    .option('--test-batch-size <n>', 'input batch size for testing', positiveInt('--test-batch-size'), d.testBatchSize)
    .option('--epochs <n>', 'number of epochs to train', positiveInt('--epochs'), d.epochs)
    .option('--lr <lr>', 'learning rate', nonNegativeNumber('--lr'), d.lr)
    .option('--gamma <g>', 'learning rate step gamma (step and multistep schedulers)', nonNegativeNumber('--gamma'), d.gamma)
    .option('--seed <s>', 'random seed', nonNegativeInt('--seed'), d.seed)
    .option('--log-interval <n>', 'batches between training log lines', positiveInt('--log-interval'), d.logInterval)
    .option('--dry-run', 'quick check: one epoch of one training batch and one test batch (the seed still tests on the whole test set; this finishes in seconds); writes no checkpoint')
    .option('--save-model', 'write <out>/model.safetensors (PyTorch state_dict names) at the end')
    .option('--no-cuda', 'accepted for the seed\'s command lines; this build computes on the CPU with oneDNN')
    .option('--optimizer <name>', 'adadelta (the seed\'s), sgd, adam or adamw', choice('--optimizer', ['adadelta', 'sgd', 'adam', 'adamw'] as const), d.optimizer)
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), d.momentum)
    .option('--nesterov', 'SGD with Nesterov momentum')
    .option('--weight-decay <w>', 'weight decay (L2 for adadelta/sgd/adam, decoupled for adamw; adamw default 0.01 when not given)', nonNegativeNumber('--weight-decay'))
    .option('--beta1 <b>', 'Adam/AdamW beta1', nonNegativeNumber('--beta1'), d.beta1)
    .option('--beta2 <b>', 'Adam/AdamW beta2', nonNegativeNumber('--beta2'), d.beta2)
    .option('--scheduler <name>', 'step (the seed\'s StepLR(1, gamma)), multistep (--milestones) or cosine', choice('--scheduler', ['step', 'multistep', 'cosine'] as const), d.scheduler)
    .option('--milestones <list>', 'epochs where multistep multiplies the lr by gamma, e.g. 8,12', intList('--milestones'), [])
    .option('--warmup-epochs <n>', 'linear warm-up from lr/10 over this many epochs before the schedule', nonNegativeInt('--warmup-epochs'), d.warmupEpochs)
    .option('--augment <kind>', 'training augmentation: flip (the seed\'s), flip+crop (RandomCrop(32, padding=4) too) or none', choice('--augment', ['none', 'flip', 'flip+crop'] as const), d.augment)
    .option('--normalize <kind>', 'seed: Normalize((0.5,)*3, (0.5,)*3) as the seed; dataset: the usual per-dataset mean/std', choice('--normalize', ['seed', 'dataset'] as const), d.normalize)
    .option('--limit-train <n>', 'use the first N training records (before shuffling)', positiveInt('--limit-train'))
    .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
    .option('--fix-bn-eps', 'use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (eps n5x5)')
    .addOption(new Option('--precision <p>', 'fp32, or bf16 mixed precision (bf16 convolutions, f32 master weights, BatchNorm statistics and loss)').argParser(choice('--precision', ['fp32', 'bf16'] as const)).default(d.precision))
    .option('--coarse', "CIFAR-100's 20 superclasses (coarse labels) instead of its 100 classes")
    .option('--workers <n>', 'data loader threads (0: prepare batches on the main thread)', nonNegativeInt('--workers'), d.workers)
    .option('--resume', 'continue from the last complete epoch of the checkpoint in --out')
    .option('--json', 'make the last stdout line one JSON object with the results');
}

type TrainFlags = Partial<TrainConfig> & { dataset: DatasetName; mirror?: string; weightDecay?: number; resume?: boolean; json?: boolean; limitTrain?: number; limitTest?: number; dryRun?: boolean; saveModel?: boolean; nesterov?: boolean; fixBnEps?: boolean; coarse?: boolean };

function configFrom(o: TrainFlags, model: string, out: string | undefined, threads: number | undefined): TrainConfig {
  const d = defaultConfig(model, o.dataset);
  return {
    ...d,
    dataDir: o.dataDir ?? d.dataDir, out: out ?? d.out,
    batchSize: o.batchSize ?? d.batchSize, testBatchSize: o.testBatchSize ?? d.testBatchSize, epochs: o.epochs ?? d.epochs,
    lr: o.lr ?? d.lr, gamma: o.gamma ?? d.gamma, seed: o.seed ?? d.seed, logInterval: o.logInterval ?? d.logInterval,
    dryRun: !!o.dryRun, saveModel: !!o.saveModel, optimizer: o.optimizer ?? d.optimizer, momentum: o.momentum ?? d.momentum,
    weightDecay: o.weightDecay ?? (o.optimizer === 'adamw' ? 0.01 : 0), nesterov: !!o.nesterov, beta1: o.beta1 ?? d.beta1, beta2: o.beta2 ?? d.beta2,
    scheduler: o.scheduler ?? d.scheduler, milestones: o.milestones ?? [], warmupEpochs: o.warmupEpochs ?? 0,
    augment: o.augment ?? d.augment, normalize: o.normalize ?? d.normalize,
    limitTrain: o.limitTrain ?? null, limitTest: o.limitTest ?? null, fixBnEps: !!o.fixBnEps, coarse: !!o.coarse, precision: o.precision ?? d.precision,
    threads: threads ?? d.threads, workers: o.workers ?? d.workers,
  };
}

function validate(c: TrainConfig): void {
  if (c.scheduler === 'multistep' && c.milestones.length === 0) throw new Error('--scheduler multistep needs --milestones, e.g. --milestones 8,12');
  if (c.nesterov && (c.optimizer !== 'sgd' || c.momentum <= 0)) throw new Error('--nesterov needs --optimizer sgd and a --momentum above 0');
  if (c.warmupEpochs >= c.epochs && c.warmupEpochs > 0) throw new Error(`--warmup-epochs ${c.warmupEpochs} must be less than --epochs ${c.epochs}`);
}

function jsonResult(r: TrainResult): string {
  return JSON.stringify({
    model: r.model, dataset: r.dataset, params: r.params,
    epochs: r.epochs.map(({ epoch, train_loss, test_loss, top1_error, top5_error, seconds }) => ({ epoch, train_loss, test_loss, top1_error, top5_error, seconds })),
    seconds: r.seconds,
  });
}

addTrainOptions(
  program
    .command('train')
    .description("train one network with the seed's recipe (Adadelta, StepLR each epoch, flip + normalise 0.5) or another; checkpoints every epoch")
    .addOption(datasetOption())
    .option('--out <dir>', 'run folder for the checkpoint and saved model (default: runs/<model>-<dataset>)'),
  true,
).action(async (o: TrainFlags & { model: string; out?: string }) => {
  const config = configFrom(o, o.model, o.out, program.opts().threads);
  validate(config);
  const result = await train(config, { resume: o.resume, mirror: o.mirror });
  if (o.json) console.log(jsonResult(result));
});

addTrainOptions(
  program
    .command('experiment')
    .description("the seed's experiment: train each network on each dataset one after another (complete runs are skipped, an interrupted one resumes), then write DIR/results.md, results.json and plots from DIR/experiment.sqlite")
    .addOption(new Option('--dataset <name>', 'cifar100, cifar10 or both').argParser(choice('--dataset', ['cifar100', 'cifar10', 'both'] as const)).default('cifar100'))
    .option('--models <list>', `comma-separated networks, or all (${modelNames().join(', ')})`, 'all')
    .requiredOption('--out <dir>', 'experiment folder: one run folder per network and dataset, experiment.sqlite, results.md, results.json, plots/'),
  false,
).action(async (o: Omit<TrainFlags, 'dataset'> & { dataset: DatasetName | 'both'; models: string; out: string }) => {
  const models = o.models === 'all' ? modelNames() : o.models.split(',').map((m) => m.trim());
  const unknown = models.find((m) => !modelNames().includes(m));
  if (unknown) throw new Error(`--models: unknown model '${unknown}'; choose from: ${modelNames().join(', ')} (or all)`);
  const datasets: DatasetName[] = o.dataset === 'both' ? ['cifar100', 'cifar10'] : [o.dataset];
  const base = configFrom({ ...o, dataset: datasets[0] }, models[0], o.out, program.opts().threads);
  validate(base);
  const { runs, report } = await runExperiment({ out: o.out, datasets, models, base, mirror: o.mirror });
  if (report) console.error(`wrote ${report.markdown}, ${report.json} and ${report.plots.length} plots`);
  const failed = runs.filter((r) => r.status === 'failed');
  if (o.json && report) console.log(JSON.stringify(JSON.parse(fs.readFileSync(report.json, 'utf8'))));
  if (failed.length) throw new Error(`${failed.length} of ${runs.length} runs failed: ${failed.map((r) => `${r.model} on ${r.dataset} (${r.error})`).join('; ')}`);
});

program
  .command('bench')
  .description('training-step and eval throughput and peak memory of one network on random data (npm run bench runs the whole benchmark, PyTorch beside it)')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 64)
  .addOption(new Option('--precision <p>', 'fp32, or bf16 mixed precision').argParser(choice('--precision', ['fp32', 'bf16'] as const)).default('fp32'))
  .option('--steps <n>', 'timed steps (after two warm-up steps)', positiveInt('--steps'), 4)
  .option('--json', 'make the last stdout line {model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb}')
  .action((o: { model: string; batchSize: number; precision: Precision; steps: number; json?: boolean }) => {
    const r = benchModel(o.model, o.batchSize, o.precision, o.steps);
    if (o.json) {
      const { model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb } = r;
      console.log(JSON.stringify({ model, batch_size, precision, train_img_per_s, eval_img_per_s, peak_rss_mb }));
    } else {
      console.log(`${r.model}, batch ${r.batch_size}, ${r.precision}, ${backend().stats().threads} threads: training ${r.train_img_per_s.toFixed(1)} images/s, eval ${r.eval_img_per_s.toFixed(1)} images/s, peak RSS ${r.peak_rss_mb.toFixed(0)} MiB`);
    }
  });

program
  .command('test')
  .description("the seed's test metrics (average loss, top-1/top-5 error) of a weights file on a test set")
  .requiredOption('--weights <file>', 'state dict (safetensors, PyTorch names), from this project or converted from PyTorch')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .addOption(datasetOption())
  .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', './data')
  .option('--mirror <url>', 'download from this base URL instead')
  .option('--test-batch-size <n>', 'batch size', positiveInt('--test-batch-size'), 100)
  .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
  .addOption(new Option('--normalize <kind>', 'seed or dataset normalisation').argParser(choice('--normalize', ['seed', 'dataset'] as const)).default('seed'))
  .option('--fix-bn-eps', 'eps 1e-5 in the quirky BatchNorm (for weights trained that way)')
  .addOption(new Option('--precision <p>', 'fp32 or bf16').argParser(choice('--precision', ['fp32', 'bf16'] as const)).default('fp32'))
  .option('--coarse', "CIFAR-100's 20 superclasses (for weights trained on them)")
  .option('--json', 'print one JSON object {loss, top1_error, top5_error, n}')
  .action(async (o: { weights: string; model: string; dataset: DatasetName; dataDir: string; mirror?: string; testBatchSize: number; limitTest?: number; normalize: 'seed' | 'dataset'; fixBnEps?: boolean; coarse?: boolean; precision: Precision; json?: boolean }) => {
    const model = createModel(o.model, classCount({ dataset: o.dataset, coarse: !!o.coarse }), { fixBatchNormEps: !!o.fixBnEps });
    setPrecision(model, o.precision);
    try {
      model.loadStateDict(readSafetensors(o.weights), o.weights);
      const { test } = await loadData({ dataset: o.dataset, dataDir: o.dataDir, limitTrain: null, limitTest: o.limitTest ?? null, coarse: !!o.coarse, mirror: o.mirror }, ['test']);
      const loader = new DataLoader(test!, { batchSize: o.testBatchSize, augment: NO_AUGMENTATION, normalize: normalization({ ...defaultConfig(o.model, o.dataset), normalize: o.normalize }) });
      const r = await evaluate(model, loader);
      await loader.close();
      console.log(o.json ? JSON.stringify(r) : testLine(r).trim());
    } finally {
      model.dispose();
    }
  });

program
  .command('download')
  .description('download, verify (size and md5) and extract the official CIFAR binary archive; an existing dataset folder is used as is')
  .addOption(datasetOption())
  .option('--data-dir <dir>', 'where to put the dataset folder', './data')
  .option('--mirror <url>', 'base URL (or archive URL, or local archive) to fetch from instead of the dataset authors\' site')
  .addOption(new Option('--expect-md5 <hex>', 'test only: the md5 to verify instead of the official one (size is then not checked)').hideHelp())
  .action(async (o: { dataset: DatasetName; dataDir: string; mirror?: string; expectMd5?: string }) => {
    const folder = await ensureDataset(o.dataset, o.dataDir, { mirror: o.mirror, ...(o.expectMd5 ? { expectMd5: o.expectMd5, expectBytes: null } : {}) });
    for (const split of ['train', 'test'] as const) {
      const d = readCifar(o.dataDir, o.dataset, split);
      const official = split === 'train' ? 50000 : 10000;
      const files = d.files.map((f) => `${path.basename(f.file)} ${f.records}`).join(', ');
      console.log(`${o.dataset} ${split}: ${d.count} images (${files})${d.count < official ? `; the official set has ${official}, this folder holds a subset` : ''}`);
    }
    console.log(`ready: ${folder}`);
  });

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exitCode = e.exitCode ?? 1;
  } else {
    process.stderr.write(`googlenet: ${e.message ?? String(err)}\n`);
    if (process.env.GOOGLENET_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
