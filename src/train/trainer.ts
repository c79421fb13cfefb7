// The seed's training loop (train + test each epoch, scheduler step per epoch) with its log
// lines, plus what a long run needs: a progress bar, a checkpoint after every epoch, exact
// resume, and a clear stop on a NaN/Inf loss.
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { backward, noGrad } from '../autograd/engine.js';
import { crossEntropy, topk } from '../autograd/ops.js';
import { readCifar, type CifarSplit } from '../data/cifar.js';
import { ensureDataset } from '../data/download.js';
import { DataLoader } from '../data/loader.js';
import { NO_AUGMENTATION } from '../data/transforms.js';
import { writeSafetensors } from '../io/safetensors.js';
import { createModel, type GoogLeNet } from '../models/googlenet.js';
import { summarize } from '../models/summary.js';
import { setPrecision } from '../nn/layers.js';
import { backend, Tensor, tidy } from '../tensor/tensor.js';
import { defaultGenerator, manualSeed } from '../util/generator.js';
import { augmentation, classCount, makeOptimizer, makeScheduler, normalization, type TrainConfig } from './config.js';
import { loadCheckpoint, saveCheckpoint, type EpochRecord } from './checkpoint.js';

export interface TrainHooks {
  /** The seed's log lines (stdout by default). */
  log?: (line: string) => void;
  /** Status lines (stderr by default). */
  info?: (line: string) => void;
  /** Called when the run starts or resumes, before the first epoch it runs. */
  onStart?: (s: { params: number; macs: number; classes: number; resumedFrom: number; threads: number }) => void;
  /** Called after each epoch's test pass, before its checkpoint is written. */
  onEpoch?: (r: EpochRecord) => void;
  /** Show a progress bar (default: stderr is a terminal). */
  progress?: boolean;
}

export interface TrainResult {
  model: string;
  dataset: string;
  params: number;
  epochs: EpochRecord[];
  seconds: number;
}

export interface EvalResult {
  loss: number;
  top1_error: number;
  top5_error: number;
  n: number;
}

export const CHECKPOINT = 'checkpoint.safetensors';

export class TrainingDiverged extends Error {}

export function checkpointPath(c: TrainConfig): string {
  return path.join(c.out, CHECKPOINT);
}

/** Loads (downloading if needed) both splits with the configured limits. */
export async function loadData(c: Pick<TrainConfig, 'dataset' | 'dataDir' | 'limitTrain' | 'limitTest'> & { coarse?: boolean; mirror?: string | null }, splits: ('train' | 'test')[] = ['train', 'test']) {
  if (c.coarse && c.dataset !== 'cifar100') throw new Error('--coarse needs --dataset cifar100 (CIFAR-10 has no superclasses)');
  await ensureDataset(c.dataset, c.dataDir, { mirror: c.mirror ?? undefined });
  const read = (split: 'train' | 'test', limit: number | null) => readCifar(c.dataDir, c.dataset, split, { coarse: !!c.coarse, ...(limit === null ? {} : { limit }) });
  return {
    train: splits.includes('train') ? read('train', c.limitTrain) : null,
    test: splits.includes('test') ? read('test', c.limitTest) : null,
  };
}

/** The seed's test(): average loss, top-1 and top-5 error over the whole loader (eval mode, no grad). */
export async function evaluate(model: GoogLeNet, loader: DataLoader, maxBatches = Infinity): Promise<EvalResult> {
  model.eval();
  let loss = 0, wrong1 = 0, wrong5 = 0, n = 0;
  const k = Math.min(5, model.numClasses);
  for await (const b of loader.epoch(0)) {
    if (b.index >= maxBatches) break;
    const { sum, best } = tidy(() => noGrad(() => {
      const logits = model.forward(Tensor.fromArray(b.input, [b.size, 3, 32, 32]));
      return { sum: crossEntropy(logits, b.targets, 'sum').item(), best: topk(logits, k) };
    }));
    loss += sum;
    for (let i = 0; i < b.size; i++) {
      const row = best.subarray(i * k, i * k + k);
      if (row[0] !== b.targets[i]) wrong1++;
      if (!row.includes(b.targets[i])) wrong5++;
    }
    n += b.size;
  }
  return { loss: loss / n, top1_error: wrong1 / n, top5_error: wrong5 / n, n };
}

export function testLine(r: EvalResult): string {
  const wrong1 = Math.round(r.top1_error * r.n), wrong5 = Math.round(r.top5_error * r.n);
  return `\nTest set: Average loss: ${r.loss.toFixed(4)}, Top 1 Error: ${wrong1}/${r.n} (${r.top1_error.toFixed(2)}), Top 5 Error: ${wrong5}/${r.n} (${r.top5_error.toFixed(2)})\n`;
}

/** The recipe settings that differ between two configs (a run cannot resume across them), or null. */
export function recipeDifference(a: TrainConfig, b: TrainConfig): string | null {
  const keys: (keyof TrainConfig)[] = ['model', 'dataset', 'batchSize', 'lr', 'gamma', 'seed', 'optimizer', 'momentum', 'weightDecay', 'nesterov',
    'beta1', 'beta2', 'scheduler', 'warmupEpochs', 'augment', 'normalize', 'limitTrain', 'limitTest', 'fixBnEps', 'coarse', 'precision'];
  const diff = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return diff.length ? diff.map((k) => `${k} ${JSON.stringify(b[k])} (checkpoint: ${JSON.stringify(a[k])})`).join(', ') : null;
}

/** Trains `c.model` on `c.dataset`, resuming from `c.out`'s checkpoint when `resume` is set. */
export async function train(c: TrainConfig, opts: { resume?: boolean; mirror?: string | null; data?: { train: CifarSplit; test: CifarSplit } } = {}, hooks: TrainHooks = {}): Promise<TrainResult> {
  let barShown = false;
  const logLine = hooks.log ?? ((l: string) => console.log(l));
  const log = (l: string) => {
    if (barShown) process.stderr.write('\r\x1b[2K'); // clear the progress bar's line; it redraws on its next update
    logLine(l);
  };
  const info = hooks.info ?? ((l: string) => console.error(l));
  const ckptFile = checkpointPath(c);
  const classes = classCount(c);
  const checkpoint = opts.resume && fs.existsSync(ckptFile) ? loadCheckpoint(ckptFile) : null;
  if (!opts.resume && !c.dryRun && fs.existsSync(ckptFile))
    throw new Error(`${ckptFile} exists: pass --resume to continue that run, or choose another --out`);
  if (checkpoint) {
    const diff = recipeDifference(checkpoint.meta.config, c);
    if (diff) throw new Error(`${ckptFile}: cannot resume with a different recipe: ${diff}; use another --out for a new run`);
  }
  // the thread count changes how oneDNN splits reductions, so a resumed run keeps the checkpoint's
  const threads = checkpoint?.meta.threads ?? c.threads;
  if (checkpoint && checkpoint.meta.threads !== c.threads)
    info(`using ${threads} threads as recorded in the checkpoint (asked for ${c.threads}), so the resumed run matches an uninterrupted one`);
  backend().setThreads({ threads });

  const data = opts.data ?? (await loadData({ ...c, mirror: opts.mirror }) as { train: CifarSplit; test: CifarSplit });
  manualSeed(c.seed);
  const model = createModel(c.model, classes, { fixBatchNormEps: c.fixBnEps });
  setPrecision(model, c.precision ?? 'fp32');
  const optimizer = makeOptimizer(c, model.parameters());
  const scheduler = makeScheduler(c, optimizer);
  const history: EpochRecord[] = [];
  let first = 1;
  if (checkpoint) {
    model.loadStateDict(checkpoint.model, ckptFile);
    optimizer.loadStateDict(checkpoint.optimizer);
    scheduler.loadStateDict(checkpoint.meta.scheduler);
    defaultGenerator().setState(checkpoint.meta.rng);
    history.push(...checkpoint.meta.history);
    first = checkpoint.meta.epoch + 1;
    info(`resuming ${c.model} on ${c.dataset} from ${ckptFile}: ${checkpoint.meta.epoch} of ${c.epochs} epochs done, starting epoch ${first}`);
  }
  const summary = summarize(model, c.model);
  hooks.onStart?.({ params: summary.params, macs: summary.macs, classes, resumedFrom: first - 1, threads });

  const trainLoader = new DataLoader(data.train, {
    batchSize: c.batchSize, shuffle: true, seed: c.seed, augment: augmentation(c.augment), normalize: normalization(c), workers: c.workers,
  });
  const testLoader = new DataLoader(data.test, { batchSize: c.testBatchSize, augment: NO_AUGMENTATION, normalize: normalization(c), workers: c.workers });
  const showBar = hooks.progress ?? !!process.stderr.isTTY;
  const bar = showBar
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'epoch {epoch} |{bar}| {value}/{total} batches | {ips} img/s | loss {loss} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;
  try {
    const last = c.dryRun ? first : c.epochs; // a dry run is one epoch of one batch
    for (let epoch = first; epoch <= last; epoch++) {
      const t0 = performance.now();
      model.train();
      const lr = optimizer.paramGroups[0].lr;
      let lossSum = 0, seen = 0;
      const batches = c.dryRun ? 1 : trainLoader.length;
      bar?.start(batches, 0, { epoch, ips: '-', loss: '-' });
      barShown = !!bar;
      for await (const b of trainLoader.epoch(epoch - 1)) {
        optimizer.zeroGrad();
        const loss = tidy(() => {
          const l = crossEntropy(model.forward(Tensor.fromArray(b.input, [b.size, 3, 32, 32])), b.targets);
          const v = l.item();
          if (Number.isFinite(v)) backward(l);
          return v;
        });
        if (!Number.isFinite(loss)) {
          const kept = first > 1 || epoch > 1 ? `the last good checkpoint (epoch ${epoch - 1}) is kept in ${ckptFile}` : 'no checkpoint was written';
          throw new TrainingDiverged(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${b.index}; ${kept}; lower --lr or change the optimizer`);
        }
        optimizer.step();
        lossSum += loss * b.size;
        seen += b.size;
        if (b.index % c.logInterval === 0)
          log(`Train Epoch: ${epoch} [${b.index * b.size}/${data.train.count} (${((100 * b.index) / trainLoader.length).toFixed(0)}%)]\tLoss: ${loss.toFixed(6)}`);
        bar?.update(b.index + 1, { ips: (seen / ((performance.now() - t0) / 1000)).toFixed(1), loss: loss.toFixed(4) });
        if (c.dryRun) break;
      }
      bar?.stop();
      barShown = false;
      const r = await evaluate(model, testLoader, c.dryRun ? 1 : Infinity);
      log(testLine(r));
      const record: EpochRecord = { epoch, train_loss: lossSum / seen, test_loss: r.loss, top1_error: r.top1_error, top5_error: r.top5_error, lr, seconds: (performance.now() - t0) / 1000 };
      history.push(record);
      hooks.onEpoch?.(record);
      scheduler.step();
      if (!c.dryRun) {
        fs.mkdirSync(c.out, { recursive: true });
        saveCheckpoint(ckptFile, {
          model: model.stateDict(),
          optimizer: optimizer.stateDict(),
          meta: { version: 1, epoch, config: c, threads, params: summary.params, history, rng: defaultGenerator().getState(), scheduler: scheduler.stateDict() },
        });
      }
    }
    log(`Parameters: ${summary.params}`);
    if (c.saveModel) {
      fs.mkdirSync(c.out, { recursive: true });
      const file = path.join(c.out, 'model.safetensors');
      writeSafetensors(file, model.stateDict(), { format: 'pt', model: c.model, dataset: c.dataset });
      info(`saved ${file}`);
    }
    return { model: c.model, dataset: c.dataset, params: summary.params, epochs: history, seconds: history.reduce((s, e) => s + e.seconds, 0) };
  } finally {
    bar?.stop();
    await trainLoader.close();
    await testLoader.close();
    optimizer.dispose();
    model.dispose();
  }
}
