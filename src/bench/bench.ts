// Benchmarks, measured as ratios within one process so machine noise cancels: the data
// loader's throughput, and a training step fed by the real loader against the same step on
// batches already in memory (the loader's threads must not slow the compute).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { noGrad } from '../autograd/engine.js';
import { IMAGE_BYTES, type CifarSplit } from '../data/cifar.js';
import { DataLoader, type Batch } from '../data/loader.js';
import type { ConvAlgorithm } from '../backend/backend.js';
import { createModel } from '../models/googlenet.js';
import { CONV_CHOICES, convProblem, setConvAlgorithm, type ConvChoice } from '../nn/conv-algorithm.js';
import { setPrecision, type Precision } from '../nn/layers.js';
import { Adadelta } from '../optim/optimizer.js';
import { backend, Tensor, tidy } from '../tensor/tensor.js';
import { trainStep } from '../train/step.js';
import { manualSeed } from '../util/generator.js';
import { Rng } from '../util/rng.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * The bench scripts' `--conv CHOICE` (default auto). A value not among the choices, or winograd where
 * oneDNN has none (below avx512_core), ends the script with one line on stderr naming `script`.
 */
export function convArg(argv: readonly string[], script: string): ConvChoice {
  const i = argv.indexOf('--conv');
  const v = i < 0 ? 'auto' : (argv[i + 1] ?? '');
  const problem = !(CONV_CHOICES as readonly string[]).includes(v) ? `--conv must be one of ${CONV_CHOICES.join(', ')}, got '${v}'`
    : convProblem(v as ConvChoice, false);
  if (problem) {
    console.error(`${script}: ${problem}`);
    process.exit(2);
  }
  return v as ConvChoice;
}

/** Random images, for benchmarks that need no real data. */
export function syntheticSplit(count: number, classes = 10): CifarSplit {
  const rng = new Rng(0);
  const images = new Uint8Array(new SharedArrayBuffer(count * IMAGE_BYTES));
  for (let i = 0; i < images.length; i++) images[i] = rng.nextUint32() & 255;
  const labels = Uint8Array.from({ length: count }, () => rng.int(classes));
  return { dataset: 'cifar10', split: 'train', images, labels, count, classes, classNames: [], files: [] };
}

export interface LoaderBench {
  workers: number;
  images_per_s: number;
}

/** Images per second the loader delivers with flip + crop augmentation, batch 64. */
export async function benchLoader(data: CifarSplit, workers: number, epochs = 2): Promise<LoaderBench> {
  const loader = new DataLoader(data, { batchSize: 64, shuffle: true, seed: 1, augment: { flip: 0.5, cropPadding: 4 }, workers });
  const rates: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    let n = 0;
    for await (const b of loader.epoch(e)) n += b.size;
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  await loader.close();
  return { workers, images_per_s: median(rates) };
}

export interface StepBench {
  model: string;
  batch_size: number;
  /** The convolution algorithm that ran: winograd when any convolution used it. */
  conv: ConvAlgorithm;
  in_memory_ms: number;
  with_loader_ms: number;
  ratio: number;
  train_img_per_s: number;
}

/**
 * Median training-step time on pre-made batches and on batches from the real loader
 * (flip + crop, one worker thread), alternating the two `repeats` times, `steps` each.
 */
export async function benchTrainStep(model: string, batchSize: number, data: CifarSplit, steps = 4, repeats = 3, convChoice: ConvChoice = 'auto'): Promise<StepBench> {
  manualSeed(1);
  const net = createModel(model, data.classes);
  const conv = setConvAlgorithm(net, convChoice);
  const opt = new Adadelta(net.parameters());
  const step = (b: Batch) => trainStep(net, opt, b);
  const loader = new DataLoader(data, { batchSize, shuffle: true, seed: 1, augment: { flip: 0.5, cropPadding: 4 }, dropLast: true, workers: 1 });
  const premade: Batch[] = [];
  for await (const b of loader.epoch(99)) {
    premade.push(b);
    if (premade.length === steps) break;
  }
  for (const b of premade.slice(0, 2)) step(b); // warm-up: primitives, allocator
  const inMemory: number[] = [], withLoader: number[] = [];
  let epoch = 0;
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    for (const b of premade) step(b);
    inMemory.push((performance.now() - t0) / steps);
    let done = 0;
    t0 = performance.now();
    while (done < steps) {
      for await (const b of loader.epoch(epoch++)) {
        step(b);
        if (++done === steps) break;
      }
    }
    withLoader.push((performance.now() - t0) / steps);
  }
  await loader.close();
  opt.dispose();
  net.dispose();
  const inMem = median(inMemory), withL = median(withLoader);
  return {
    model, batch_size: batchSize, conv, in_memory_ms: inMem, with_loader_ms: withL, ratio: withL / inMem,
    train_img_per_s: (batchSize * 1000) / inMem,
  };
}

/** A Python that imports torch: Debian's python3-torch lives in /usr/bin/python3, which may not be first on PATH. */
export function findTorchPython(): { python: string; version: string } | null {
  for (const python of ['/usr/bin/python3', 'python3', 'python']) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}

export function describeMachine(): string {
  const s = backend().stats();
  return `${s.threads} threads, oneDNN ${backend().version()}`;
}

/** The process's peak resident memory (VmHWM) in MiB, as the PyTorch side measures its own. */
export function peakRssMb(): number {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

export interface ModelBench {
  model: string;
  batch_size: number;
  precision: Precision;
  /** The convolution algorithm that ran: winograd when any convolution used it. */
  conv: ConvAlgorithm;
  train_img_per_s: number;
  eval_img_per_s: number;
  peak_rss_mb: number;
  train_ms: number[];
  eval_ms: number[];
}

/** Training-step (forward, backward, Adadelta) and eval-forward throughput on random data, after two warm-up steps. */
export function benchModel(model: string, batchSize: number, precision: Precision, steps = 4, classes = 100, convChoice: ConvChoice = 'auto'): ModelBench {
  manualSeed(0);
  const net = createModel(model, classes);
  setPrecision(net, precision);
  const conv = setConvAlgorithm(net, convChoice);
  const opt = new Adadelta(net.parameters());
  const rng = new Rng(0);
  const batch: Batch = {
    epoch: 0, index: 0, size: batchSize, shape: [batchSize, 3, 32, 32],
    input: Float32Array.from({ length: batchSize * 3 * 32 * 32 }, () => rng.uniform(-1, 1)),
    targets: Int32Array.from({ length: batchSize }, () => rng.int(classes)),
  };
  const x = Tensor.fromArray(batch.input, batch.shape).keep();
  const step = () => trainStep(net, opt, batch);
  const timed = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  net.train();
  step();
  step();
  const train_ms = Array.from({ length: steps }, () => timed(step));
  net.eval();
  const evalStep = () => tidy(() => noGrad(() => net.call(x)));
  evalStep();
  const eval_ms = Array.from({ length: steps }, () => timed(evalStep));
  opt.dispose();
  net.dispose();
  x.dispose();
  return {
    model, batch_size: batchSize, precision, conv,
    train_img_per_s: (batchSize * 1000) / median(train_ms), eval_img_per_s: (batchSize * 1000) / median(eval_ms),
    peak_rss_mb: peakRssMb(), train_ms, eval_ms,
  };
}
