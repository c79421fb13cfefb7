// `npm run bench`, part 5: one training step of the seed's GoogLeNet by op family, ours (src/util/profile.ts)
// and PyTorch's (torch.profiler, bench/pytorch_profile.py, f32 channels_last: part 1's faster f32 mode here),
// same model, batch and thread count, after one warm-up step, averaged over --steps steps. Each family's
// time, share of the step, and for the convolutions and the linear layer GFLOP/s (2·MACs per pass, three
// passes in training: forward, backward data, backward weights) against the machine's f32 FMA peak, which is
// measured, not computed: the best of many 1024³ oneDNN f32 matmuls through our backend at the same thread
// count, before and after our steps (a clock read from /proc/cpuinfo is not the boost clock the cores run at,
// and on a shared machine the best short run is the nearest to an idle one). PyTorch's GFLOP/s use our
// flop counts (the same model and shapes). BatchNorm, pooling and concat are memory-bound: no GFLOP/s.
// With --eval, the eval forward instead of the training step, as `npm run bench` times it (src/bench/bench.ts:
// net.eval(), tidy(noGrad(net.call(x))) on a batch already in memory; PyTorch: model.eval(), torch.no_grad(),
// channels_last), by the same families; GFLOP/s then count the one forward pass.
// Run alone: node dist/bench/profile.js [--eval] [--batch-size 64] [--steps 2] [--conv auto|winograd|direct] [--skip-torch] [--json]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad } from '../src/autograd/engine.js';
import { BN, BN_RELU } from '../src/autograd/ops.js';
import { convArg, findTorchPython } from '../src/bench/bench.js';
import { createModel } from '../src/models/googlenet.js';
import type { ConvAlgorithm } from '../src/backend/backend.js';
import { setConvAlgorithm } from '../src/nn/conv-algorithm.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { Adadelta } from '../src/optim/optimizer.js';
import { backend, Tensor, tidy } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/step.js';
import { manualSeed } from '../src/util/generator.js';
import { thisMachine } from '../src/util/machine.js';
import { profile, type FamilyTime } from '../src/util/profile.js';
import { Rng } from '../src/util/rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
function count(name: string, d: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return d;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench/profile: ${name} must be a positive integer, got '${argv[i + 1] ?? ''}'`);
    process.exit(2);
  }
  return v;
}
const batch = count('--batch-size', 64);
const steps = count('--steps', 2);
/** --eval: profile the eval forward (no autograd graph, BatchNorm on its running statistics) instead of a step. */
const evalMode = argv.includes('--eval');
/** Unprofiled steps first, both sides: the first creates the primitives and fills the allocator's cache. */
const WARMUP = 1;
/**
 * With --eval, training steps before the eval warm-up, both sides, as `npm run bench` evaluates after training
 * in the same process: PyTorch's eval in a fresh process re-faults its activations' pages every forward (glibc
 * hands large blocks back to the kernel; ~400,000 minor faults per batch-64 forward), after training it need not.
 */
const TRAIN_FIRST = 3;
const threads = os.availableParallelism();
const classes = 100;
const B = backend();
/** --conv: which convolutions compute by Winograd (the rule by default, as training does). */
const convChoice = convArg(argv, 'bench/profile');
/** The algorithm that computed (winograd when any convolution used it), for the CPU line and the JSON. */
let convAlgorithm: ConvAlgorithm = 'direct';

/** The seed's GoogLeNet, its convolutions' algorithms set by --conv. */
function googlenet() {
  const model = createModel('googlenet', classes);
  convAlgorithm = setConvAlgorithm(model, convChoice);
  return model;
}
/** Matmul size and count for the peak: short runs, many of them, so the best catches a quiet moment on a shared machine. */
const PEAK_N = 1024, PEAK_REPEATS = 15;
B.setThreads({ threads });

/** Best GFLOP/s of a [n,n]·[n,n]ᵀ f32 matmul (oneDNN's inner product through linearForward). */
function measurePeak(n = PEAK_N, repeats = PEAK_REPEATS): number {
  const rng = new Rng(5);
  const data = () => Float32Array.from({ length: n * n }, () => rng.random() - 0.5);
  const x = B.create(data(), { shape: [n, n] }), w = B.create(data(), { shape: [n, n] }), b = B.create(null, { shape: [n] });
  let best = 0;
  for (let r = 0; r <= repeats; r++) {
    const t0 = process.hrtime.bigint();
    const y = B.linearForward(x, w, b);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    B.release(y);
    if (r > 0) best = Math.max(best, (2 * n * n * n) / s / 1e9); // the first call creates the primitive
  }
  for (const h of [x, w, b]) B.release(h);
  return best;
}

/** Our step's families, per step (ms and flops averaged over `steps` profiled steps). */
function oursProfile(): { stepMs: number; families: Map<string, FamilyTime> } {
  manualSeed(0);
  const model = googlenet();
  const opt = new Adadelta(model.parameters());
  const rng = new Rng(1);
  const input = Float32Array.from({ length: batch * 3 * 32 * 32 }, () => rng.random() * 2 - 1);
  const targets = Int32Array.from({ length: batch }, () => rng.int(classes));
  const b = { epoch: 0, index: 0, input, shape: [batch, 3, 32, 32], targets, size: batch };
  for (let i = 0; i < WARMUP; i++) trainStep(model, opt, b);
  const families = new Map<string, FamilyTime>();
  let stepMs = 0;
  for (let i = 0; i < steps; i++) {
    const p = profile(() => trainStep(model, opt, b));
    stepMs += p.totalMs / steps;
    for (const [k, f] of p.families) {
      const acc = families.get(k) ?? { forwardMs: 0, backwardMs: 0, calls: 0, flops: 0 };
      families.set(k, { forwardMs: acc.forwardMs + f.forwardMs / steps, backwardMs: acc.backwardMs + f.backwardMs / steps, calls: acc.calls + f.calls / steps, flops: acc.flops + f.flops / steps });
    }
  }
  opt.dispose();
  model.dispose();
  return { stepMs, families };
}

/** Our eval forward's families, per forward (as bench.ts's benchModel times it: eval mode, noGrad, input in memory). */
function oursEvalProfile(): { stepMs: number; families: Map<string, FamilyTime> } {
  manualSeed(0);
  const model = googlenet();
  // in eval without a graph each BatchNorm folds into the convolution before it (Sequential, layers.ts), its time
  // in the conv rows; one that does not fold but is declared with fuseRelu runs one kernel with its ReLU (ops.ts),
  // timed as 'batchnorm': when every BatchNorm of the model is so declared, name the row for that
  const bns = [...model.namedModules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const allFused = bns.length > 0 && bns.every((m) => m.fuseRelu);
  const rng = new Rng(1);
  const input = Float32Array.from({ length: batch * 3 * 32 * 32 }, () => rng.random() * 2 - 1);
  const targets = Int32Array.from({ length: batch }, () => rng.int(classes));
  const opt = new Adadelta(model.parameters());
  model.train();
  for (let i = 0; i < TRAIN_FIRST; i++) trainStep(model, opt, { epoch: 0, index: 0, input, shape: [batch, 3, 32, 32], targets, size: batch });
  opt.dispose();
  model.eval();
  const x = Tensor.fromArray(input, [batch, 3, 32, 32]).keep();
  const forward = () => tidy(() => noGrad(() => model.call(x))).dispose();
  for (let i = 0; i < WARMUP; i++) forward();
  const families = new Map<string, FamilyTime>();
  let stepMs = 0;
  for (let i = 0; i < steps; i++) {
    const p = profile(forward);
    stepMs += p.totalMs / steps;
    for (const [k0, f] of p.families) {
      const k = allFused && k0 === BN ? BN_RELU : k0;
      const acc = families.get(k) ?? { forwardMs: 0, backwardMs: 0, calls: 0, flops: 0 };
      families.set(k, { forwardMs: acc.forwardMs + f.forwardMs / steps, backwardMs: acc.backwardMs + f.backwardMs / steps, calls: acc.calls + f.calls / steps, flops: acc.flops + f.flops / steps });
    }
  }
  x.dispose();
  model.dispose();
  return { stepMs, families };
}

interface TorchProfile {
  torch: string;
  mode: string;
  step_ms: number;
  families: Record<string, { ms: number; calls: number }>;
}

function torchProfile(python: string): TorchProfile {
  const out = execFileSync(python, [path.join(root, 'bench', 'pytorch_profile.py'), '--mode', 'channels_last', '--batch-size', String(batch),
    '--steps', String(steps), '--warmup', String(WARMUP), '--threads', String(threads), '--classes', String(classes), ...(evalMode ? ['--eval', '--train-first', String(TRAIN_FIRST)] : [])], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const what = evalMode ? 'eval forward' : 'training step';
console.log(`\n== one ${what} by op family: googlenet (${classes} classes), batch ${batch}, f32, mean of ${steps} profiled ${evalMode ? `forwards after ${TRAIN_FIRST} training steps and` : 'steps after'} ${WARMUP} warm-up ==`);
const load = os.loadavg()[0];
const peakBefore = measurePeak();
const ours = evalMode ? oursEvalProfile() : oursProfile();
const m = thisMachine(threads, convAlgorithm);
console.log(`CPU: ${m.cpu} (family ${m.family ?? '?'}, model ${m.modelNumber ?? '?'}), ISA ${m.isa}, oneDNN ${m.onednn}, threads ${threads}, convolutions ${m.conv} (--conv ${convChoice})`);
const peak = Math.max(peakBefore, measurePeak());
const peakMethod = `best of ${2 * PEAK_REPEATS} oneDNN f32 ${PEAK_N}³ matmuls (linearForward) at ${threads} threads, half before and half after our steps`;
console.log(`FMA peak: ${peak.toFixed(1)} GFLOP/s f32, measured: ${peakMethod}`);
const py = argv.includes('--skip-torch') ? null : findTorchPython();
const torchLoad = os.loadavg()[0];
const theirs = py ? torchProfile(py.python) : null;
if (!py) console.log(argv.includes('--skip-torch') ? 'PyTorch: skipped (--skip-torch)' : 'PyTorch: not found (install Debian\'s python3-torch to compare); ours only');
else console.log(`PyTorch ${theirs!.torch}, f32 channels_last${evalMode ? ', model.eval(), torch.no_grad()' : ''}, torch.profiler (CPU), record_shapes`);
// the two sides run one after the other: on a shared machine the load can differ between them
console.log(`1-minute load average at the start: ours ${load.toFixed(1)}${theirs ? `, PyTorch's ${torchLoad.toFixed(1)}` : ''} (${threads} cores)${Math.max(load, torchLoad) > threads / 2 ? ': a shared machine, so times and % peak are rough' : ''}`);

// rows: every family either side has, in a fixed order where known, then the overhead and combined BatchNorm + ReLU
const ORDER = ['conv 3x3', 'conv 1x1', BN_RELU, BN, 'relu', 'max pool', 'avg pool', 'concat', 'linear', 'dropout', 'loss', 'other ops', 'grad accumulation', 'data copy', 'zero_grad', 'optimizer'];
const names = [...new Set([...ours.families.keys(), ...Object.keys(theirs?.families ?? {})])];
const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : n.startsWith('conv ') ? 1.5 : ORDER.length);
names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const oursMs = (n: string) => { const f = ours.families.get(n); return f ? f.forwardMs + f.backwardMs : 0; };
const torchMs = (n: string) => theirs?.families[n]?.ms ?? 0;
const sum = (ms: (n: string) => number) => names.reduce((s, n) => s + ms(n), 0);

interface Row { family: string; ours_ms: number; ours_share: number; ours_gflops: number | null; ours_peak_pct: number | null; pytorch_ms: number | null; pytorch_share: number | null; pytorch_gflops: number | null; ratio: number | null }
function row(family: string, o: number, t: number | null, flops: number): Row {
  const gf = (ms: number) => (flops > 0 && ms > 0 ? flops / ms / 1e6 : null);
  return {
    family, ours_ms: o, ours_share: o / ours.stepMs, ours_gflops: gf(o), ours_peak_pct: gf(o) === null ? null : (100 * gf(o)!) / peak,
    pytorch_ms: t, pytorch_share: t === null || !theirs ? null : t / theirs.step_ms, pytorch_gflops: t === null ? null : gf(t),
    ratio: t === null || t <= 0 || o <= 0 ? null : t / o,
  };
}
const rows = names.map((n) => row(n, oursMs(n), theirs ? torchMs(n) : null, ours.families.get(n)?.flops ?? 0));
rows.push(row('framework overhead', ours.stepMs - sum(oursMs), theirs ? theirs.step_ms - sum(torchMs) : null, 0));
rows.push(row('(BatchNorm + ReLU together)', oursMs(BN_RELU) + oursMs(BN) + oursMs('relu'), theirs ? torchMs(BN) + torchMs('relu') : null, 0));
rows.push(row(evalMode ? 'forward' : 'step', ours.stepMs, theirs?.step_ms ?? null, 0));

const ms = (v: number | null) => (v === null ? '' : v.toFixed(1));
const pct = (v: number | null) => (v === null ? '' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null, d = 1) => (v === null ? 'n/a' : v.toFixed(d));
const cols: [string, number, (r: Row) => string][] = [
  ['family', 28, (r) => r.family], ['ours ms', 10, (r) => ms(r.ours_ms)], ['share', 8, (r) => pct(r.ours_share)],
  ['GFLOP/s', 9, (r) => num(r.ours_gflops)], ['% peak', 8, (r) => (r.ours_peak_pct === null ? 'n/a' : `${r.ours_peak_pct.toFixed(0)}%`)],
  ['PyTorch ms', 12, (r) => ms(r.pytorch_ms)], ['share', 8, (r) => pct(r.pytorch_share)], ['GFLOP/s', 9, (r) => (theirs ? num(r.pytorch_gflops) : '')],
  ['ratio', 8, (r) => (r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`)],
];
console.log(cols.map(([h, w], i) => (i ? h.padStart(w) : h.padEnd(w))).join(''));
for (const r of rows) console.log(cols.map(([, w, f], i) => (i ? f(r).padStart(w) : f(r).padEnd(w))).join(''));
console.log(`ratio: PyTorch ms ÷ ours (above 1: ours faster). Ours: ${BN_RELU} is one oneDNN kernel with the ReLU inside; PyTorch runs them apart,`);
console.log('so compare "(BatchNorm + ReLU together)". Framework overhead: the step\'s wall time minus its families (autograd, tensors, the JS/Python between kernels).');
if (evalMode) console.log('Eval: one forward pass, no autograd; GFLOP/s count that one pass (2·MACs).');

const result = {
  machine: m, mode: evalMode ? 'eval' : 'step', batch_size: batch, steps, peak_gflops: peak, peak_method: peakMethod, load_average: { ours: load, pytorch: theirs ? torchLoad : null },
  ours: { step_ms: ours.stepMs, families: Object.fromEntries(ours.families) }, pytorch: theirs, rows,
};
if (argv.includes('--json')) console.log(JSON.stringify(result));
