// The seed's training loop (train + test each epoch, scheduler step per epoch), plus what a long
// run needs: a checkpoint after every epoch and every few minutes within one, exact resume (at the
// next batch), a clear stop on a NaN/Inf loss, and a clean stop on SIGINT/SIGTERM. Everything it
// keeps goes through the run's claim on its store (src/store/), which the loop only awaits.
import type { CifarSplit } from '../data/cifar.js';
import { loadData, type Splits } from '../data/load.js';
import { DataLoader } from '../data/loader.js';
import { NO_AUGMENTATION } from '../data/transforms.js';
import { createModel } from '../models/googlenet.js';
import { summarize } from '../models/summary.js';
import type { ConvAlgorithm } from '../backend/backend.js';
import type { StateDict } from '../nn/module.js';
import { setConvAlgorithm } from '../nn/conv-algorithm.js';
import { setPrecision } from '../nn/layers.js';
import { ClaimLostError, RunFailure, runName, type RunClaim } from '../store/store.js';
import { backend } from '../tensor/tensor.js';
import { defaultGenerator, manualSeed } from '../util/generator.js';
import { isaCap, machineDifference, thisMachine } from '../util/machine.js';
import { checkpointBytes, CHECKPOINT_VERSION, type EpochPosition } from './checkpoint.js';
import { augmentation, classCount, makeOptimizer, makeScheduler, networkOfRecipe, normalization, resumableDifference, type TrainConfig } from './config.js';
import { evaluate, testLine } from './evaluate.js';
import type { EpochRecord } from './record.js';
import { Reporter, type ReporterOptions } from './reporter.js';
import { trainStep } from './step.js';
import { Interrupted, type StopRequest } from './stop.js';

export interface TrainHooks extends ReporterOptions {
  /** Called when the run starts or resumes, before the first epoch it runs. */
  onStart?: (s: { params: number; macs: number; classes: number; resumedFrom: number; threads: number }) => void;
  /** Called after each epoch's test pass, before its checkpoint is written. */
  onEpoch?: (r: EpochRecord) => void;
}

export interface TrainResult {
  model: string;
  dataset: string;
  params: number;
  epochs: EpochRecord[];
  seconds: number;
  /** The trained weights (PyTorch names), when the run options ask to save the model. */
  weights?: StateDict;
}

export interface TrainOptions {
  /** The attempt the run is kept through; null keeps nothing (a dry run, or a library call that wants only the result). */
  claim: RunClaim | null;
  /** Asked to stop (SIGINT/SIGTERM): checkpoint at the next batch and throw Interrupted. */
  stop?: StopRequest;
  mirror?: string | null;
  /** The splits, when the caller has read them already. */
  data?: Splits;
}

/** Seconds between progress reports handed to the claim's liveness thread. */
const PROGRESS_EVERY = 1;

/** `epoch 3`, or `epoch 4, batch 120` for a checkpoint within an epoch. */
function describePosition(epochsDone: number, position: EpochPosition | null): string {
  return position ? `epoch ${position.epoch}, batch ${position.batches}` : `epoch ${epochsDone}`;
}

/**
 * A recipe's hold-out: the first `val` images of the training split (as read, after --limit-train,
 * before any shuffling) held out, the rest to train on; without one (0) the split as it is.
 */
export function holdOut(split: CifarSplit, val: number): { train: CifarSplit; held: CifarSplit | null } {
  if (!val) return { train: split, held: null };
  if (val >= split.count)
    throw new RunFailure(`--val ${val} must be less than the ${split.count} training images read from ${split.dataset}: the rest train`);
  const bytes = split.images.length / split.count;
  const part = (from: number, to: number): CifarSplit => ({ ...split, images: split.images.subarray(from * bytes, to * bytes), labels: split.labels.subarray(from, to), count: to - from });
  return { train: part(val, split.count), held: part(0, val) };
}

/** Trains the recipe's network on its dataset, resuming from the claim's checkpoint when it has one. */
export async function train(c: TrainConfig, opts: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const { recipe, run } = c;
  const { claim } = opts;
  const report = new Reporter(hooks);
  const checkpoint = claim ? await claim.loadCheckpoint() : null;
  if (checkpoint) {
    const diff = resumableDifference(checkpoint.meta.recipe, recipe);
    if (diff) throw new RunFailure(`${claim!.where}: cannot resume with a different recipe: ${diff}; use another --out for a new run`);
  }
  // the thread count changes how oneDNN splits reductions, so a resumed run keeps the checkpoint's
  const threads = checkpoint?.meta.threads ?? run.threads;
  if (checkpoint && checkpoint.meta.threads !== run.threads)
    report.warn(`using ${threads} threads as recorded in the checkpoint (asked for ${run.threads}), so the resumed run matches an uninterrupted one`);
  backend().setThreads({ threads });

  const data = opts.data ?? (await loadData({ ...recipe, dataDir: run.dataDir, mirror: opts.mirror }).catch((e: Error) => { throw new RunFailure(e.message); }) as Splits);
  manualSeed(recipe.seed);
  const classes = classCount(recipe);
  const model = createModel(networkOfRecipe(recipe), classes, { fixBatchNormEps: recipe.fixBnEps });
  let conv: ConvAlgorithm;
  try {
    setPrecision(model, recipe.precision);
    // the algorithm, like the ISA, is the machine's: recorded with the attempt, a change warned of on resume
    conv = setConvAlgorithm(model, run.conv);
  } catch (e) {
    // refused (bf16 here, or --conv winograd for this run): a worker goes on, so free the model now
    model.dispose();
    throw e;
  }
  const optimizer = makeOptimizer(recipe, model.parameters());
  const scheduler = makeScheduler(recipe, optimizer);
  const history: EpochRecord[] = [];
  const { train: trainSplit, held } = holdOut(data.train, recipe.val);
  const trainLoader = new DataLoader(trainSplit, {
    batchSize: recipe.batchSize, shuffle: true, seed: recipe.seed, augment: augmentation(recipe.augment), normalize: normalization(recipe), workers: run.workers,
  });
  // with a hold-out, each epoch evaluates it, and the test set is not touched
  const evalLoader = new DataLoader(held ?? data.test, { batchSize: run.testBatchSize, augment: NO_AUGMENTATION, normalize: normalization(recipe), workers: run.workers });
  try {
    let first = 1;
    let resumeAt: EpochPosition | null = null;
    let lastGood = 'no checkpoint was written';
    if (checkpoint) {
      model.loadStateDict(checkpoint.model, claim!.where);
      optimizer.loadStateDict(checkpoint.optimizer);
      scheduler.loadStateDict(checkpoint.meta.scheduler);
      defaultGenerator().setState(checkpoint.meta.rng);
      history.push(...checkpoint.meta.history);
      first = checkpoint.meta.epoch + 1;
      resumeAt = checkpoint.meta.position ?? null;
      const at = resumeAt ? ` at batch ${resumeAt.batches + 1} of ${trainLoader.length}` : '';
      const was = checkpoint.meta.recipe.epochs;
      const extended = was !== recipe.epochs ? `; extended from ${was} epoch${was === 1 ? '' : 's'}` : '';
      report.info(`resuming ${runName(recipe)} from ${claim!.where}: ${checkpoint.meta.epoch} of ${recipe.epochs} epochs done, starting epoch ${first}${at}${extended}`);
      lastGood = `the last good checkpoint (${describePosition(checkpoint.meta.epoch, resumeAt)}) is kept in ${claim!.where}`;
    }
    // the next checkpoint (and the saved model, at the end) must fit beside the current one: asked
    // before each epoch, so a full disk stops the run before an epoch's work is spent on it
    const space = checkpointBytes(model, optimizer) + (run.saveModel ? model.stateBytes() : 0);
    if (claim) {
      await claim.ensureSpace(space);
      const machine = thisMachine(threads, conv);
      const was = claim.previous?.machine;
      const diff = was && checkpoint ? machineDifference(was, machine) : null;
      // a different ISA under a cap: name the cap, which may be all that differs
      const cap = was && was.isa !== machine.isa ? isaCap() : null;
      if (diff) report.warn(`${runName(recipe)} resumes on another kind of machine: ${diff}${cap ? ` (${cap} is set)` : ''}; from here on it is no longer bit-reproducible`);
      await claim.start({ epoch: first, batch: resumeAt?.batches ?? 0 }, machine);
    }
    const summary = summarize(model, recipe.model);
    hooks.onStart?.({ params: summary.params, macs: summary.macs, classes, resumedFrom: first - 1, threads });

    /** Writes the checkpoint: `epochsDone` complete epochs, and with `position` the progress of the next. */
    const save = async (epochsDone: number, position?: EpochPosition) => {
      if (!claim) return;
      await claim.saveCheckpoint({
        model: model.stateDict(),
        optimizer: optimizer.stateDict(),
        meta: {
          version: CHECKPOINT_VERSION, epoch: epochsDone, ...(position ? { position } : {}), recipe, run, threads, params: summary.params,
          history, rng: defaultGenerator().getState(), scheduler: scheduler.stateDict(),
        },
      });
      lastGood = `the last good checkpoint (${describePosition(epochsDone, position ?? null)}) is kept in ${claim.where}`;
    };
    let lastProgress = 0;
    /** After each batch: live progress for the store, and whether the run is still this attempt's. */
    const afterBatch = (epoch: number, batch: number, batches: number, imagesPerSecond: number | null) => {
      if (!claim) return;
      if (claim.lost) throw new ClaimLostError(claim.attemptId, runName(recipe), 'another attempt (found by its heartbeat)');
      if (performance.now() - lastProgress < PROGRESS_EVERY * 1000) return;
      lastProgress = performance.now();
      const left = (recipe.epochs - epoch) * trainLoader.length + (batches - batch);
      claim.progress({ epoch, batch, batches, imagesPerSecond, etaSeconds: imagesPerSecond ? (left * recipe.batchSize) / imagesPerSecond : null });
    };
    const every = run.checkpointEvery * 60_000;
    const last = run.dryRun ? first : recipe.epochs; // a dry run is one epoch of one batch
    for (let epoch = first; epoch <= last; epoch++) {
      // a mid-epoch checkpoint resumes at its next batch, with the epoch's sums and time so far
      const from = resumeAt?.epoch === epoch ? resumeAt : null;
      resumeAt = null;
      if (epoch > first) await claim?.ensureSpace(space);
      const t0 = performance.now() - (from?.seconds ?? 0) * 1000;
      model.train();
      const lr = optimizer.paramGroups[0].lr;
      const batches = run.dryRun ? 1 : trainLoader.length;
      let lossSum = from?.lossSum ?? 0, seen = from?.seen ?? 0;
      let lastSave = performance.now();
      const started = performance.now(), firstImages = seen;
      report.epochStart(epoch, batches, from?.batches ?? 0);
      for await (const b of trainLoader.epoch(epoch - 1, from?.batches ?? 0)) {
        const loss = trainStep(model, optimizer, b);
        if (!Number.isFinite(loss))
          throw new RunFailure(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${b.index}; ${lastGood}; lower --lr or change the optimizer`);
        lossSum += loss * b.size;
        seen += b.size;
        report.batch(epoch, b, loss, { batches: trainLoader.length, images: trainSplit.count, logInterval: run.logInterval });
        if (run.dryRun) break;
        afterBatch(epoch, b.index + 1, trainLoader.length, (seen - firstImages) / ((performance.now() - started) / 1000));
        // batches the loader has ready resolve as microtasks: let signal handlers (macrotasks) run between steps
        await new Promise((resolve) => setImmediate(resolve));
        const stop = opts.stop?.requested;
        if (stop || (every > 0 && b.index + 1 < trainLoader.length && performance.now() - lastSave >= every)) {
          await save(epoch - 1, { epoch, batches: b.index + 1, lossSum, seen, seconds: (performance.now() - t0) / 1000 });
          lastSave = performance.now();
          if (stop) throw new Interrupted(stop, epoch, b.index + 1);
        }
      }
      report.epochEnd();
      const testBatches = run.dryRun ? 1 : evalLoader.length;
      report.testStart(testBatches);
      const r = await evaluate(model, evalLoader, testBatches, (done, batches, size) => report.testBatch(done, batches, size));
      report.epochEnd();
      report.log(testLine(r, held ? 'Validation' : 'Test'));
      if (!Number.isFinite(r.loss))
        throw new RunFailure(`training diverged: the ${held ? 'validation' : 'test'} loss is ${r.loss} after epoch ${epoch}; ${lastGood}; lower --lr or change the optimizer`);
      const seconds = (performance.now() - t0) / 1000, finishedAt = new Date().toISOString();
      const record: EpochRecord = held
        ? { epoch, trainLoss: lossSum / seen, testLoss: null, top1Error: null, top5Error: null, valLoss: r.loss, valTop1Error: r.top1_error, valTop5Error: r.top5_error, lr, seconds, finishedAt }
        : { epoch, trainLoss: lossSum / seen, testLoss: r.loss, top1Error: r.top1_error, top5Error: r.top5_error, lr, seconds, finishedAt };
      history.push(record);
      // the epoch's row is committed before the checkpoint that includes it becomes current
      await claim?.recordEpoch(record);
      hooks.onEpoch?.(record);
      scheduler.step();
      if (!run.dryRun) await save(epoch);
      const stop = opts.stop?.requested;
      if (stop && epoch < last) throw new Interrupted(stop, epoch + 1, 0);
    }
    report.log(`Parameters: ${summary.params}`);
    return {
      model: recipe.model, dataset: recipe.dataset, params: summary.params, epochs: history, seconds: history.reduce((s, e) => s + e.seconds, 0),
      ...(run.saveModel ? { weights: model.stateDict() } : {}),
    };
  } finally {
    report.close();
    await trainLoader.close();
    await evalLoader.close();
    optimizer.dispose();
    model.dispose();
  }
}
