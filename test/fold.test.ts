// The eval-mode fold of BatchNorm (and its ReLU) into the convolution before it: the native op
// against the unfused kernels over geometries, eps, bias and ReLU; whole networks folded against
// themselves unfused, also after the parameters and running statistics change; and where the
// fold engages (eval, no gradient, f32, no hooks) and where the layers run one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Handle } from '../src/backend/backend.js';
import { noGrad } from '../src/autograd/engine.js';
import { conv2dBatchNormEval } from '../src/autograd/ops.js';
import { createModel } from '../src/models/googlenet.js';
import { toOnnx } from '../src/models/onnx-export.js';
import { BatchNorm2d, Conv2d, ReLU, Sequential } from '../src/nn/layers.js';
import { isaHasWinograd, setConvAlgorithm } from '../src/nn/conv-algorithm.js';
import type { Module } from '../src/nn/module.js';
import { Adadelta } from '../src/optim/optimizer.js';
import { backend, Tensor, tidy } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/step.js';
import { Rng } from '../src/util/rng.js';
import { withSpies } from './backend-spies.js';
import { fillUniform } from './random.js';

/** max |a − b| over max |b|: the difference relative to the output's scale (elementwise ratios blow up near 0). */
function relDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert.ok(scale > 0, 'a reference of all zeros tells nothing');
  return diff / scale;
}

const uniform = (rng: Rng, n: number, low: number, high: number) => fillUniform(rng, new Float32Array(n), low, high);

test('convBnForwardInference equals convForward then batchNormForwardInference over kernels, strides, paddings, channels, eps, bias and ReLU', () => {
  const B = backend();
  const start = B.stats().liveBytes;
  const rng = new Rng(11);
  const channels: [number, number][] = [[3, 13], [13, 24], [24, 3]];
  let worst = 0, cases = 0, clipped = 0;
  const owned: Handle[] = [];
  const make = (shape: number[], data: Float32Array) => {
    const h = B.create(data, { shape });
    owned.push(h);
    return h;
  };
  try {
    let g = 0;
    for (const k of [1, 3, 5])
      for (const s of [1, 2])
        for (const p of [0, 1, 2]) {
          const [ci, co] = channels[g++ % channels.length];
          const n = 2, h = 9, w = 7;
          const x = make([n, ci, h, w], uniform(rng, n * ci * h * w, -1, 1));
          const wt = make([co, ci, k, k], uniform(rng, co * ci * k * k, -0.5, 0.5));
          const bias = make([co], uniform(rng, co, -0.5, 0.5));
          // gamma of both signs; running mean near the conv outputs' scale, so x − mean does not vanish or dominate
          const gamma = make([co], uniform(rng, co, -1.5, 1.5));
          const beta = make([co], uniform(rng, co, -0.5, 0.5));
          const mean = make([co], uniform(rng, co, -0.5, 0.5));
          const variance = make([co], uniform(rng, co, 0.05, 3));
          for (const eps of [1e-5, 64]) // 64: the seed's BatchNorm2d(n5x5, n5x5) quirk (eps = channels)
            for (const b of [null, bias])
              for (const relu of [false, true]) {
                const geom = { stride: [s, s], padding: [p, p], algorithm: 'direct' } as const;
                const y = B.convForward(x, wt, b, { ...geom, bf16: false, training: false });
                const ref = B.batchNormForwardInference(y, gamma, beta, mean, variance, { eps, fuseRelu: relu });
                const folded = B.convBnForwardInference(x, wt, b, gamma, beta, mean, variance, { ...geom, eps, relu });
                const r = B.read(ref), f = B.read(folded);
                [y, ref, folded].forEach((t) => B.release(t));
                const d = relDiff(f, r);
                worst = Math.max(worst, d);
                cases++;
                if (relu) clipped += r.filter((v) => v === 0).length;
                assert.ok(d <= 1e-5, `k${k} s${s} p${p} ${ci}->${co} eps ${eps} bias ${b !== null} relu ${relu}: ${d}`);
                if (relu) assert.ok(f.every((v) => v >= 0), 'rectified');
              }
        }
  } finally {
    owned.forEach((h) => B.release(h));
  }
  assert.equal(cases, 18 * 8);
  assert.ok(clipped > 0, 'the ReLU cases rectify something');
  // measured: at most 2.3e-6 (AVX2)
  assert.ok(worst <= 1e-5, `worst ${worst}`);
  assert.equal(B.stats().liveBytes, start, 'every tensor released');
});

test('convBnForwardInference refuses mismatched per-channel tensors and bad attributes in one line naming the op', () => {
  tidy(() => {
    const B = backend();
    const x = Tensor.zeros([1, 3, 4, 4]);
    const w = Tensor.zeros([5, 3, 1, 1]);
    const c5 = Tensor.full([5], 1), c4 = Tensor.full([4], 1);
    const attrs = { stride: [1, 1], padding: [0, 0], eps: 1e-5, relu: false, algorithm: 'direct' } as const;
    const call = (b: Tensor | null, gamma: Tensor, variance: Tensor, a: object = attrs) =>
      (B.convBnForwardInference as (...args: unknown[]) => Handle)(x.handle, w.handle, b?.handle ?? null, gamma.handle, c5.handle, c5.handle, variance.handle, a);
    assert.throws(() => call(null, c4, c5), /^Error: conv2d\+batchnorm inference: conv2d\+batchnorm: batchnorm weight has 4 values, expected 5 \(the weight's output channels\)$/);
    assert.throws(() => call(null, c5, c4), /^Error: conv2d\+batchnorm inference: conv2d\+batchnorm: running_var has 4 values, expected 5/);
    assert.throws(() => call(c4, c5, c5), /^Error: conv2d\+batchnorm inference: conv2d\+batchnorm: bias has 4 values, expected 5/);
    assert.throws(() => call(null, c5, c5, { ...attrs, eps: 0 }), /conv2d\+batchnorm: eps must be positive/);
    assert.throws(() => call(null, c5, c5, { ...attrs, bf16: false }), /^TypeError: convBnForwardInference: unknown attribute 'bf16'/);
    assert.throws(() => B.convBnForwardInference(x.handle, Tensor.zeros([5, 2, 1, 1]).handle, null, c5.handle, c5.handle, c5.handle, c5.handle, attrs),
      /conv2d\+batchnorm: input \[1,3,4,4\] has 3 channels but weight \[5,2,1,1\] expects 2/);
  });
});

test('conv2dBatchNormEval refuses inputs that need a gradient, and runs under noGrad', () => {
  tidy(() => {
    const x = Tensor.full([1, 2, 3, 3], 1);
    const w = Tensor.full([2, 2, 1, 1], 1);
    w.requiresGrad = true;
    const bn = { weight: Tensor.full([2], 2), bias: Tensor.full([2], 1), runningMean: Tensor.full([2], 1), runningVar: Tensor.full([2], 3) };
    assert.throws(() => conv2dBatchNormEval(x, w, null, bn, [1, 1], [0, 0], 1, false), /conv2d_batch_norm_eval: inference only, but an input requires grad/);
    // conv: 2 per pixel; BatchNorm: 2·(2 − 1)/√(3 + 1) + 1 = 2
    const y = noGrad(() => conv2dBatchNormEval(x, w, null, bn, [1, 1], [0, 0], 1, false));
    assert.deepEqual(y.shape, [1, 2, 3, 3]);
    assert.deepEqual([...y.toArray()], new Array(18).fill(2));
    assert.equal(y.requiresGrad, false);
  });
});

/** Sets every BatchNorm2d's parameters and running statistics to random values of realistic size. */
function randomBatchNorms(model: Module, rng: Rng): void {
  for (const [, m] of model.namedModules())
    if (m instanceof BatchNorm2d) {
      const c = m.numFeatures;
      m.weight.assign(uniform(rng, c, 0.5, 1.5));
      m.bias.assign(uniform(rng, c, -0.2, 0.2));
      m.runningMean.assign(uniform(rng, c, -0.2, 0.2));
      m.runningVar.assign(uniform(rng, c, 0.5, 2));
    }
}

const batchNorms = (m: Module) => m.namedModules().map(([, c]) => c).filter((c): c is BatchNorm2d => c instanceof BatchNorm2d);

/** The eval logits under noGrad; `unfused`: with a no-op forward hook on every BatchNorm2d, which runs each layer on its own. */
function evalLogits(model: Module, x: Tensor, unfused: boolean): Float32Array {
  const removers = unfused ? batchNorms(model).map((bn) => bn.registerForwardHook(() => undefined)) : [];
  try {
    return tidy(() => noGrad(() => model.call(x).toArray()));
  } finally {
    removers.forEach((r) => r());
  }
}

interface Calls {
  convBn: number;
  convBnRelu: number;
  conv: number;
  bnInference: number;
  bnTraining: number;
  relu: number;
}

/** The kernels called while fn runs. */
function countCalls(fn: () => void, spies: (real: Backend) => Partial<Backend> = () => ({})): Calls {
  const n: Calls = { convBn: 0, convBnRelu: 0, conv: 0, bnInference: 0, bnTraining: 0, relu: 0 };
  withSpies((real): Partial<Backend> => ({
    convBnForwardInference: (...args) => (args[7].relu ? n.convBnRelu++ : n.convBn++, real.convBnForwardInference(...args)),
    convForward: (x, w, b, attrs) => (n.conv++, real.convForward(x, w, b, attrs)),
    batchNormForwardInference: (...args) => (n.bnInference++, real.batchNormForwardInference(...args)),
    batchNormForwardTraining: (...args) => (n.bnTraining++, real.batchNormForwardTraining(...args)),
    reluForward: (x) => (n.relu++, real.reluForward(x)),
    ...spies(real),
  }), fn);
  return n;
}

function images(n: number, seed: number): Tensor {
  return Tensor.fromArray(uniform(new Rng(seed), n * 3 * 32 * 32, -1, 1), [n, 3, 32, 32]).keep();
}

function top1(logits: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < logits.length / classes; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

test('a whole googlenet-short4 in eval computes the same logits folded as layer by layer, with or without BatchNorms declared with fuseRelu', () => {
  const x = images(4, 3);
  for (const fuse of [true, false]) {
    const model = createModel('googlenet-short4', 10, { rng: new Rng(21), fuse });
    randomBatchNorms(model, new Rng(22));
    model.eval();
    const bns = batchNorms(model).length;
    let folded: Float32Array = new Float32Array(), unfused: Float32Array = new Float32Array();
    const foldedCalls = countCalls(() => (folded = evalLogits(model, x, false)));
    assert.deepEqual(foldedCalls, { convBn: 0, convBnRelu: bns, conv: 0, bnInference: 0, bnTraining: 0, relu: 0 }, `fuse ${fuse}: every conv folded with its BatchNorm and ReLU`);
    const unfusedCalls = countCalls(() => (unfused = evalLogits(model, x, true)));
    assert.deepEqual(unfusedCalls, { convBn: 0, convBnRelu: 0, conv: bns, bnInference: bns, bnTraining: 0, relu: fuse ? 0 : bns }, `fuse ${fuse}: hooks run each layer`);
    // a forward that records a graph (eval, gradients on) is the third way, layer by layer too
    const withGrad = tidy(() => model.call(x).toArray());
    const d = relDiff(folded, unfused);
    // measured: 2.7e-7 with and without fuseRelu
    assert.ok(d <= 1e-4, `fuse ${fuse}: logits differ by ${d}`);
    assert.ok(relDiff(withGrad, unfused) <= 1e-6, 'the graph-recording forward is the unfused one');
    assert.deepEqual(top1(folded, 10), top1(unfused, 10));
    model.dispose();
  }
  x.dispose();
});

test('after a training step changes weights and running statistics, and after loadStateDict, the folded forward uses the new values', () => {
  const x = images(2, 5);
  const model = createModel('googlenet-short4', 10, { rng: new Rng(31) });
  randomBatchNorms(model, new Rng(32));
  const saved = model.stateDict();
  model.eval();
  const before = evalLogits(model, x, false);
  model.train();
  const opt = new Adadelta(model.parameters(), { lr: 1 });
  const rng = new Rng(33);
  trainStep(model, opt, { epoch: 0, index: 0, size: 2, shape: [2, 3, 32, 32], input: uniform(rng, 2 * 3 * 32 * 32, -1, 1), targets: Int32Array.of(1, 7) });
  opt.dispose();
  model.eval();
  const after = evalLogits(model, x, false);
  const afterUnfused = evalLogits(model, x, true);
  assert.ok(relDiff(after, before) > 1e-3, `the step changed the eval logits (${relDiff(after, before)})`);
  const d = relDiff(after, afterUnfused);
  // measured: 1.5e-7
  assert.ok(d <= 1e-4, `folded after the step differs from unfused by ${d}`);
  model.loadStateDict(saved);
  assert.deepEqual(evalLogits(model, x, false), before, 'loading the old state brings back the old folded logits exactly');
  model.dispose();
  x.dispose();
});

/** conv → BatchNorm → ReLU in a Sequential, with random statistics, in eval. */
function unit(bnOpts: { fuseRelu?: boolean } = {}) {
  const rng = new Rng(41);
  const conv = new Conv2d(3, 5, 3, { padding: 1, rng });
  const bn = new BatchNorm2d(5, 1e-5, 0.1, bnOpts);
  const relu = new ReLU();
  const seq = new Sequential(conv, bn, relu);
  randomBatchNorms(seq, rng);
  return { seq: seq.eval(), conv, bn, relu };
}

test('the fold engages only in eval without gradients, with f32 convolutions and no hooks; elsewhere each layer runs', () => {
  const x = Tensor.fromArray(uniform(new Rng(42), 2 * 3 * 6 * 6, -1, 1), [2, 3, 6, 6]).keep();
  const run = (m: Module, grad = false) => () => tidy(() => void (grad ? m.call(x) : noGrad(() => m.call(x))));
  const zero: Calls = { convBn: 0, convBnRelu: 0, conv: 0, bnInference: 0, bnTraining: 0, relu: 0 };
  {
    const { seq, conv, bn, relu } = unit();
    assert.deepEqual(countCalls(run(seq)), { ...zero, convBn: 0, convBnRelu: 1 }, 'eval, noGrad: one folded kernel with the ReLU');
    assert.deepEqual(countCalls(run(seq, true)), { ...zero, conv: 1, bnInference: 1, relu: 1 }, 'eval with a graph');
    seq.train();
    assert.deepEqual(countCalls(run(seq)), { ...zero, conv: 1, bnTraining: 1, relu: 1 }, 'training mode');
    seq.eval();
    // nothing requires grad: no graph to record even outside noGrad
    for (const p of seq.parameters()) p.requiresGrad = false;
    assert.deepEqual(countCalls(run(seq, true)), { ...zero, convBnRelu: 1 }, 'nothing requires grad');
    for (const p of seq.parameters()) p.requiresGrad = true;
    for (const [m, what] of [[conv, 'conv'], [bn, 'BatchNorm']] as const) {
      const seen: number[][] = [];
      const remove = m.registerForwardHook((_m, _x, y) => seen.push([...y.shape]));
      assert.deepEqual(countCalls(run(seq)), { ...zero, conv: 1, bnInference: 1, relu: 1 }, `a hook on the ${what}`);
      assert.deepEqual(seen, [[2, 5, 6, 6]], `the ${what}'s hook saw its output`);
      remove();
    }
    // a hook on the ReLU: conv and BatchNorm still fold, the ReLU module runs and its hook sees relu(bn(conv(x)))
    let reluOut: Float32Array = new Float32Array();
    const remove = relu.registerForwardHook((_m, _x, y) => (reluOut = y.toArray()));
    assert.deepEqual(countCalls(run(seq)), { ...zero, convBn: 1, relu: 1 }, 'a hook on the ReLU');
    remove();
    const hooked = reluOut;
    const removeBn = bn.registerForwardHook(() => undefined);
    const unfused = tidy(() => noGrad(() => seq.call(x).toArray()));
    removeBn();
    assert.ok(hooked.some((v) => v > 0) && hooked.some((v) => v === 0), 'a ReLU output');
    // measured: 3.2e-7
    assert.ok(relDiff(hooked, unfused) <= 1e-5, `${relDiff(hooked, unfused)}`);
    seq.dispose();
  }
  {
    // a BatchNorm declared with fuseRelu rectifies in the fold even when its ReLU module has a hook
    const { seq, relu } = unit({ fuseRelu: true });
    const remove = relu.registerForwardHook(() => undefined);
    assert.deepEqual(countCalls(run(seq)), { ...zero, convBnRelu: 1 }, 'the ReLU module passes the rectified output through');
    remove();
    seq.dispose();
  }
  {
    // bf16 convolutions are not folded. This CPU may have no bf16 convolutions: the spy runs them in
    // f32, since what is checked is which path the layers take
    const { seq, conv } = unit();
    conv.bf16 = true;
    let bf16Calls = 0;
    const calls = countCalls(run(seq), (real) => ({
      convForward: (xh, w, b, attrs) => (bf16Calls += attrs.bf16 ? 1 : 0, real.convForward(xh, w, b, { ...attrs, bf16: false })),
    }));
    assert.deepEqual({ ...calls, conv: bf16Calls }, { ...zero, conv: 1, bnInference: 1, relu: 1 }, 'a bf16 conv');
    seq.dispose();
  }
  {
    // only a conv directly followed by its BatchNorm in the same Sequential folds
    const rng = new Rng(43);
    const apart = new Sequential(new Conv2d(3, 5, 3, { padding: 1, rng }), new ReLU(), new BatchNorm2d(5)).eval();
    assert.deepEqual(countCalls(run(apart)), { ...zero, conv: 1, relu: 1, bnInference: 1 }, 'conv, ReLU, BatchNorm');
    const nested = new Sequential(new Sequential(new Conv2d(3, 5, 3, { padding: 1, rng })), new BatchNorm2d(5)).eval();
    assert.deepEqual(countCalls(run(nested)), { ...zero, conv: 1, bnInference: 1 }, 'conv and BatchNorm in different Sequentials');
    const noRelu = new Sequential(new Conv2d(3, 5, 3, { padding: 1, rng, bias: false }), new BatchNorm2d(5)).eval();
    assert.deepEqual(countCalls(run(noRelu)), { ...zero, convBn: 1 }, 'conv without bias, BatchNorm, no ReLU');
    [apart, nested, noRelu].forEach((m) => m.dispose());
  }
  x.dispose();
});

test('ONNX export of an eval model keeps each BatchNormalization and Relu node (it walks the modules; the fold is ours at run time)', () => {
  const model = createModel('googlenet-short4', 10, { rng: new Rng(51) }).eval();
  const ops = toOnnx(model, { model: 'googlenet-short4', producerVersion: 'test' }).nodes.map((n) => n.opType);
  const count = (t: string) => ops.filter((o) => o === t).length;
  const bns = batchNorms(model).length;
  assert.deepEqual([count('Conv'), count('BatchNormalization'), count('Relu')], [bns, bns, bns]);
  model.dispose();
});

test('the fold runs each convolution with its own algorithm (setConvAlgorithm), Winograd falling back to direct where oneDNN has none', () => {
  const x = images(2, 5);
  const model = createModel('googlenet-short4', 10, { rng: new Rng(23) });
  randomBatchNorms(model, new Rng(24));
  model.eval();
  const direct = evalLogits(model, x, false);
  // the rule as on an AVX-512 machine, so the Inception 3x3 convolutions ask for Winograd whatever this CPU is
  const engaged = setConvAlgorithm(model, 'auto', { isa: 'avx512_core', onednn: backend().version(), cap: null, cpuAvx512: true });
  assert.equal(engaged, 'winograd');
  const asked = model.namedModules().map(([, m]) => m).filter((m): m is Conv2d => m instanceof Conv2d).map((c) => c.algorithm);
  const seen: string[] = [];
  const winograd = (() => {
    let out: Float32Array = new Float32Array();
    countCalls(() => (out = evalLogits(model, x, false)), (real) => ({
      convBnForwardInference: (...args) => (seen.push(args[7].algorithm), real.convBnForwardInference(...args)),
    }));
    return out;
  })();
  assert.deepEqual(seen, asked, 'each folded call asks for its convolution\'s algorithm');
  assert.ok(seen.includes('winograd') && seen.includes('direct'));
  if (!isaHasWinograd(backend().cpuIsa())) assert.deepEqual(winograd, direct, 'below avx512_core Winograd falls back to direct, bit for bit');
  // Winograd's own rounding (oneDNN's 4x3 transform), where it runs
  else assert.ok(relDiff(winograd, direct) <= 1e-4, `logits differ by ${relDiff(winograd, direct)}`);
});
