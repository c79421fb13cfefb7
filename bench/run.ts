// `npm run bench`: the project's benchmarks in one run, with the machine named.
//  1. GoogLeNet training step and eval forward, ours against PyTorch (when a Python with torch
//     is found) in f32 NCHW, f32 channels_last and bf16 autocast + channels_last: each
//     measurement in its own process (so peak memory is its own), ours and PyTorch's
//     alternating, several repeats, medians.
//  2. The data loader's throughput, and a training step fed by it against one on batches
//     already in memory.
//  3. The run store's cost on a training step, and checkpoint MB/s into PostgreSQL (bench/store.ts,
//     in its own process).
//  4. Threads on a shared machine: training images/s at 1 thread and every core, alone and beside a
//     competing process, ours (passive and spinning OpenMP waits) and PyTorch's (bench/threads.ts).
//  5. One training step by op family (3x3 conv, 1x1 conv, BatchNorm, pooling, concat, optimizer, loss,
//     framework overhead): time, share and GFLOP/s against the measured FMA peak, ours and PyTorch's
//     (bench/profile.ts), under the CPU's name, family/model numbers and the ISA oneDNN chose.
// Flags: --repeats N (default 3), --steps N (default 3), --skip-torch, --skip-loader, --skip-store, --skip-threads,
// --skip-profile, --json, --conv auto|winograd|direct (ours: which convolutions compute by Winograd, as
// `googlenet --conv`; default auto, the rule training uses),
// --against DIR: also run the `googlenet bench` of another built checkout (e.g. a worktree of an
// earlier commit), alternating with ours, and report ours ÷ theirs: a slowdown check in one run.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCifar, type CifarSplit } from '../src/data/cifar.js';
import { bf16Unsupported } from '../src/nn/precision.js';
import { benchLoader, benchTrainStep, convArg, describeMachine, findTorchPython, median, syntheticSplit } from '../src/bench/bench.js';
import { cpuDescription } from '../src/util/machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string, d: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const text = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : null;
};
const repeats = value('--repeats', 3);
const against = text('--against') === null ? null : path.resolve(text('--against')!);
const steps = value('--steps', 3);
const threads = os.availableParallelism();
const batch = 64;
/** --conv for our measurements; a bad value or winograd without AVX-512 is refused here, not by the first child. */
const conv = convArg(argv, 'bench');

function machine(): string {
  return `${cpuDescription()}, ${threads} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${describeMachine()}; Node ${process.version}`;
}

interface Sample {
  conv?: string;
  train_img_per_s: number;
  eval_img_per_s: number;
  peak_rss_mb: number;
}

function lastJson(out: string): Sample {
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** `googlenet bench` of this checkout, or of another built one (--against). */
function ours(precision: string, checkout = root): Sample {
  // another checkout gets --conv only when it was given: one from before --conv computes direct
  const convFlag = checkout === root || argv.includes('--conv') ? ['--conv', conv] : [];
  const out = execFileSync(process.execPath, [path.join(checkout, 'bin', 'googlenet.js'), '--threads', String(threads), ...convFlag, 'bench',
    '--batch-size', String(batch), '--precision', precision, '--steps', String(steps), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return lastJson(out);
}

/** Why this CPU cannot run `precision`, or null. */
function unsupported(precision: string): string | null {
  if (precision === 'bf16' && conv === 'winograd') return '--conv winograd is for f32; bf16 computes direct';
  return precision === 'bf16' ? bf16Unsupported() : null;
}

function torch(python: string, mode: string): Sample {
  const out = execFileSync(python, [path.join(root, 'bench', 'pytorch_googlenet.py'), '--mode', mode, '--batch-size', String(batch),
    '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
  return lastJson(out);
}

function summarise(samples: Sample[]): Sample {
  return {
    // each of ours names the algorithm it ran (PyTorch's none); a checkout from before --conv ran direct
    ...(samples[0]?.conv === undefined ? {} : { conv: samples[0].conv }),
    train_img_per_s: median(samples.map((s) => s.train_img_per_s)),
    eval_img_per_s: median(samples.map((s) => s.eval_img_per_s)),
    peak_rss_mb: median(samples.map((s) => s.peak_rss_mb)),
  };
}

const report: Record<string, unknown> = { machine: machine(), threads, batch_size: batch, repeats, steps, conv_choice: conv };
console.log(`machine: ${report.machine}`);

// ---- 1. model throughput, ours against PyTorch ----------------------------------------------
const py = flag('--skip-torch') ? null : findTorchPython();
console.log(py ? `PyTorch ${py.version} (${py.python}), torch.set_num_threads(${threads})` : 'PyTorch: not found (install Debian\'s python3-torch to compare); ours only');
const configs: { precision: 'fp32' | 'bf16'; torchModes: string[] }[] = [
  { precision: 'fp32', torchModes: ['nchw', 'channels_last'] },
  { precision: 'bf16', torchModes: ['bf16'] },
];
if (against) console.log(`against: ${against} (its googlenet bench alternating with ours)`);
const results: Record<string, Sample> = {};
const skipped: Record<string, string> = {};
for (const { precision, torchModes } of configs) {
  const why = unsupported(precision);
  if (why) {
    skipped[precision] = why;
    console.log(`${precision}: skipped on this CPU (${why})`);
    continue;
  }
  const samples: Record<string, Sample[]> = { [`ours ${precision}`]: [] };
  if (against) samples[`against ${precision}`] = [];
  for (const m of torchModes) samples[`pytorch ${m}`] = [];
  for (let r = 0; r < repeats; r++) {
    samples[`ours ${precision}`].push(ours(precision));
    if (against) samples[`against ${precision}`].push(ours(precision, against));
    if (py) for (const m of torchModes) samples[`pytorch ${m}`].push(torch(py.python, m));
  }
  for (const [k, v] of Object.entries(samples)) if (v.length) results[k] = summarise(v);
}
const label: Record<string, string> = {
  'ours fp32': 'ours, f32 (oneDNN blocked layouts)', 'ours bf16': 'ours, bf16 mixed precision',
  'against fp32': `--against, f32`, 'against bf16': `--against, bf16`,
  'pytorch nchw': 'PyTorch f32 NCHW (the seed\'s code)', 'pytorch channels_last': 'PyTorch f32 channels_last', 'pytorch bf16': 'PyTorch bf16 autocast + channels_last',
};
console.log(`\n== GoogLeNet (100 classes), batch ${batch}, ${threads} threads: medians of ${repeats} runs of ${steps} steps; ours with --conv ${conv} ==`);
console.log('mode'.padEnd(42) + 'train img/s'.padStart(12) + 'eval img/s'.padStart(12) + 'peak RSS MiB'.padStart(14) + '  convolutions');
for (const [k, s] of Object.entries(results))
  console.log(label[k].padEnd(42) + s.train_img_per_s.toFixed(1).padStart(12) + s.eval_img_per_s.toFixed(1).padStart(12) + s.peak_rss_mb.toFixed(0).padStart(14) + `  ${s.conv ?? (k.startsWith('pytorch') ? '' : 'direct')}`);
const ratios: Record<string, number> = {};
if (results['pytorch channels_last'] && results['pytorch nchw']) {
  const bestF32Train = Math.max(results['pytorch nchw'].train_img_per_s, results['pytorch channels_last'].train_img_per_s);
  const bestF32Eval = Math.max(results['pytorch nchw'].eval_img_per_s, results['pytorch channels_last'].eval_img_per_s);
  ratios.fp32_train = results['ours fp32'].train_img_per_s / bestF32Train;
  ratios.fp32_eval = results['ours fp32'].eval_img_per_s / bestF32Eval;
  ratios.fp32_peak_rss = results['ours fp32'].peak_rss_mb / results['pytorch channels_last'].peak_rss_mb;
}
if (results['pytorch bf16']) {
  ratios.bf16_train = results['ours bf16'].train_img_per_s / results['pytorch bf16'].train_img_per_s;
  ratios.bf16_eval = results['ours bf16'].eval_img_per_s / results['pytorch bf16'].eval_img_per_s;
}
for (const precision of ['fp32', 'bf16']) {
  const a = results[`against ${precision}`], o = results[`ours ${precision}`];
  if (!a || !o) continue;
  ratios[`${precision}_train_vs_against`] = o.train_img_per_s / a.train_img_per_s;
  ratios[`${precision}_eval_vs_against`] = o.eval_img_per_s / a.eval_img_per_s;
  ratios[`${precision}_peak_rss_vs_against`] = o.peak_rss_mb / a.peak_rss_mb;
  console.log(`\nours ÷ --against, ${precision}: training ${ratios[`${precision}_train_vs_against`].toFixed(3)}x, eval ${ratios[`${precision}_eval_vs_against`].toFixed(3)}x, peak RSS ${ratios[`${precision}_peak_rss_vs_against`].toFixed(3)}`);
}
if (ratios.fp32_train || ratios.bf16_train) {
  console.log('\nratios against PyTorch\'s best mode at the same precision:');
  if (ratios.fp32_train) console.log(`  f32 training ${ratios.fp32_train.toFixed(2)}x (target ≥ 1.5), eval ${ratios.fp32_eval.toFixed(2)}x (target ≥ 1.5); peak RSS ${ratios.fp32_peak_rss.toFixed(2)} of PyTorch f32 channels_last's (target ≤ 1)`);
  if (ratios.bf16_train) console.log(`  bf16 training ${ratios.bf16_train.toFixed(2)}x (target ≥ 1.3), eval ${ratios.bf16_eval.toFixed(2)}x (target ≥ 1.5)`);
}
report.model = results;
report.ratios = ratios;
report.skipped = skipped;

// ---- 2. the data loader ---------------------------------------------------------------------
if (!flag('--skip-loader')) {
  const data = realData() ?? syntheticSplit(10000);
  console.log(`\n== data loader (batch 64, RandomCrop(32, 4) + RandomHorizontalFlip + Normalize) on ${data.files.length ? data.files.map((f) => path.relative(root, f.file)).join(', ') : 'synthetic images'} ==`);
  const loader: Record<string, number> = {};
  for (const workers of [0, 1, 2]) {
    const r = await benchLoader(data, workers);
    loader[`workers_${workers}`] = r.images_per_s;
    console.log(`workers ${workers}: ${r.images_per_s.toFixed(0)} images/s`);
  }
  console.log(`\n== training step, googlenet, batch ${batch}, fp32: batches in memory vs fed by the loader (1 worker thread) ==`);
  const s = await benchTrainStep('googlenet', batch, data, undefined, undefined, conv);
  console.log(`${s.conv} convolutions (--conv ${conv})`);
  console.log(`in memory:   ${s.in_memory_ms.toFixed(0)} ms/step (${s.train_img_per_s.toFixed(1)} images/s)`);
  console.log(`with loader: ${s.with_loader_ms.toFixed(0)} ms/step (ratio ${s.ratio.toFixed(3)}; target ≤ 1.03)`);
  report.loader = { ...loader, step: s };
}

// ---- 3. the run store ---------------------------------------------------------------------------
if (!flag('--skip-store')) {
  report.store = part('store', []);
}

// ---- 4. threads on a shared machine ----------------------------------------------------------------
if (!flag('--skip-threads')) {
  report.threads = part('threads', ['--conv', conv, ...(flag('--skip-torch') ? ['--skip-torch'] : [])]);
}

// ---- 5. one training step by op family ------------------------------------------------------------
if (!flag('--skip-profile')) {
  report.profile = part('profile', ['--conv', conv, ...(flag('--skip-torch') ? ['--skip-torch'] : [])]);
}

if (flag('--json')) console.log(JSON.stringify(report));

/** A part of the benchmark that runs in its own process (bench/NAME.ts): its lines printed, its last (JSON) line returned. */
function part(name: string, args: string[]): unknown {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'bench', `${name}.js`), '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench/${name}.ts failed (exit ${r.status})`);
  const lines = r.stdout.trim().split('\n');
  console.log(lines.slice(0, -1).join('\n'));
  return JSON.parse(lines.at(-1)!);
}

function realData(): CifarSplit | null {
  for (const dir of [path.join(root, '..', 'shared', 'data'), path.join(root, 'data')])
    if (fs.existsSync(path.join(dir, 'cifar-10-batches-bin'))) return readCifar(dir, 'cifar10', 'train');
  return null;
}
