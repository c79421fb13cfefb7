// The native seam itself: every Backend method of the loaded addon, called by name with its
// attributes by name, on small tensors with hand-computed results; the addon's own checks of a
// call (missing, mistyped, unknown attributes; argument counts); and the load-time check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BACKEND_METHODS, type Backend, type BackendMethod, type Handle } from '../src/backend/backend.js';
import { checkAddon, debugLayout } from '../src/backend/onednn.js';
import { backend } from '../src/tensor/tensor.js';

// Every call goes through this proxy, so the last test can tell which methods were exercised.
const called = new Set<string>();
const raw = backend();
const B: Backend = new Proxy(raw, {
  get(target, key, receiver) {
    const v: unknown = Reflect.get(target, key, receiver);
    if (typeof v !== 'function' || typeof key !== 'string') return v;
    return (...args: unknown[]) => {
      called.add(key);
      return v.apply(target, args);
    };
  },
});
const startBytes = raw.stats().liveBytes;

/** A method with its types erased, to make calls the types would reject. */
function untyped(m: BackendMethod): (...args: unknown[]) => unknown {
  const f: unknown = B[m];
  assert.equal(typeof f, 'function');
  return f as (...args: unknown[]) => unknown;
}

type Owned = Handle | null | readonly (Handle | null)[];

/** Runs fn with helpers that make tensors and take results, and releases all of them after. */
function withTensors(fn: (t: (shape: number[], values: number[]) => Handle, own: <T extends Owned>(h: T) => T) => void): void {
  const owned: Handle[] = [];
  const own = <T extends Owned>(h: T): T => {
    for (const e of Array.isArray(h) ? h : [h]) if (e) owned.push(e);
    return h;
  };
  try {
    fn((shape, values) => own(B.create(Float32Array.from(values), { shape })), own);
  } finally {
    for (const h of owned) B.release(h);
  }
}

function close(actual: Float32Array | number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}]: ${actual[i]} vs ${expected[i]} (all: ${Array.from(actual).join(', ')})`);
}

const read = (h: Handle) => Array.from(B.read(h));

test('the backend object has exactly the listed methods (no stale exports such as scale or layout)', () => {
  assert.deepEqual(Object.keys(raw).filter((k) => k !== 'name').sort(), [...BACKEND_METHODS].sort());
  assert.equal(raw.name, 'onednn');
});

test('version, cpuIsa, setThreads, stats, emptyCache', () => {
  assert.match(B.version(), /^\d+\.\d+\.\d+$/);
  assert.match(B.cpuIsa(), /^(sse41|avx|avx2|avx2_vnni|avx512_\w+)$/);
  const s = B.stats();
  for (const k of ['liveBytes', 'cachedBytes', 'peakBytes', 'primitives', 'threads'] as const) assert.equal(typeof s[k], 'number');
  B.setThreads({ threads: s.threads });
  assert.equal(B.stats().threads, s.threads);
  withTensors((t) => t([1024], new Array(1024).fill(1)));
  assert.ok(B.stats().cachedBytes > 0, 'a released buffer is cached');
  B.emptyCache();
  assert.equal(B.stats().cachedBytes, 0);
});

test('create, read, write, copy, release', () => {
  withTensors((t, own) => {
    const a = t([2, 2], [1, 2, 3, 4]);
    assert.deepEqual(read(a), [1, 2, 3, 4]);
    assert.deepEqual(read(own(B.create(null, { shape: [3], fill: 2.5 }))), [2.5, 2.5, 2.5]);
    assert.deepEqual(read(own(B.create(null, { shape: [2] }))), [0, 0]);
    const c = own(B.copy(a));
    B.write(a, Float32Array.of(5, 6, 7, 8));
    assert.deepEqual(read(a), [5, 6, 7, 8]);
    assert.deepEqual(read(c), [1, 2, 3, 4], 'a copy is independent');
    assert.equal(debugLayout(a), 'plain');
    const gone = B.create(null, { shape: [4] });
    B.release(gone);
    B.release(gone); // releasing twice is harmless
    assert.throws(() => B.read(gone), /already disposed/);
  });
});

test('add, reshape, concat and concatBackward, mulMask', () => {
  withTensors((t, own) => {
    assert.deepEqual(read(own(B.add(t([3], [1, 2, 3]), t([3], [10, 20, 30])))), [11, 22, 33]);
    const acc = t([3], [1, 2, 3]);
    assert.equal(B.addInPlace(acc, t([3], [10, 20, 30])), undefined);
    assert.deepEqual(read(acc), [11, 22, 33], 'a += b writes a');
    assert.throws(() => B.addInPlace(acc, t([2], [1, 2])), /add in place: shapes \[3\] and \[2\] differ/);
    assert.deepEqual(read(own(B.reshape(t([2, 3], [1, 2, 3, 4, 5, 6]), { shape: [3, 2] }))), [1, 2, 3, 4, 5, 6]);
    assert.throws(() => B.reshape(t([2, 3], [1, 2, 3, 4, 5, 6]), { shape: [4, 2] }), /reshape: cannot view \[2,3\] as \[4,2\]/);
    // NCHW [1,1,1,2] and [1,2,1,2] along channels
    const a = t([1, 1, 1, 2], [1, 2]);
    const b = t([1, 2, 1, 2], [3, 4, 5, 6]);
    const y = own(B.concat([a, b]));
    assert.deepEqual(read(y), [1, 2, 3, 4, 5, 6]);
    const [ga, gb] = own(B.concatBackward(t([1, 3, 1, 2], [10, 20, 30, 40, 50, 60]), [a, b]));
    assert.deepEqual(read(ga), [10, 20]);
    assert.deepEqual(read(gb), [30, 40, 50, 60]);
    // a per-channel mask [1,2,1,1] broadcast over [1,2,1,2]
    assert.deepEqual(read(own(B.mulMask(t([1, 2, 1, 2], [1, 2, 3, 4]), Float32Array.of(2, 0), { maskShape: [1, 2, 1, 1] }))), [2, 4, 0, 0]);
  });
});

test('reluForward and reluBackward', () => {
  withTensors((t, own) => {
    const y = own(B.reluForward(t([1, 4], [-1, 0, 2, -3])));
    assert.deepEqual(read(y), [0, 0, 2, 0]);
    assert.deepEqual(read(own(B.reluBackward(t([1, 4], [5, 6, 7, 8]), y))), [0, 0, 7, 0]);
  });
});

test('linearForward, linearBackwardData, linearBackwardWeights', () => {
  withTensors((t, own) => {
    const x = t([1, 2], [1, 2]);
    const w = t([2, 2], [1, 2, 3, 4]);
    assert.deepEqual(read(own(B.linearForward(x, w, t([2], [10, 20])))), [15, 31]); // x Wᵀ + b
    const dy = t([1, 2], [1, 1]);
    assert.deepEqual(read(own(B.linearBackwardData(dy, w))), [4, 6]); // dy W
    const [dw, db] = own(B.linearBackwardWeights(dy, x));
    assert.deepEqual(read(dw), [1, 2, 1, 2]); // dyᵀ x
    assert.deepEqual(read(db), [1, 1]);
  });
});

for (const algorithm of ['direct', 'winograd'] as const) {
  // no CPU has Winograd for a 2x2 kernel: asked for, it falls back to direct, with direct's results
  test(`convForward, convBackwardData, convBackwardWeights (${algorithm})`, () => {
    withTensors((t, own) => {
      const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const w = t([1, 1, 2, 2], [1, 1, 1, 1]);
      const geom = { stride: [1, 1], padding: [0, 0], bf16: false, algorithm } as const;
      // each output sums a 2x2 window, plus the bias
      assert.deepEqual(read(own(B.convForward(x, w, t([1], [0.5]), { ...geom, training: true }))), [12.5, 16.5, 24.5, 28.5]);
      assert.deepEqual(read(own(B.convForward(x, w, null, { ...geom, training: false }))), [12, 16, 24, 28]);
      // stride 2, padding 1: windows at (-1,-1), (-1,1), (1,-1), (1,1)
      assert.deepEqual(read(own(B.convForward(x, w, null, { stride: [2, 2], padding: [1, 1], bf16: false, algorithm, training: false }))), [1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9]);
      const dy = t([1, 1, 2, 2], [1, 1, 1, 1]);
      // how many windows cover each input pixel
      assert.deepEqual(read(own(B.convBackwardData(dy, x, w, { ...geom, hasBias: true }))), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
      const [dw, db] = B.convBackwardWeights(dy, x, { ...geom, weightShape: [1, 1, 2, 2], hasBias: true });
      own(dw);
      own(db);
      assert.deepEqual(read(dw), [12, 16, 24, 28]);
      assert.ok(db);
      assert.deepEqual(read(db), [4]);
      const [dw2, none] = B.convBackwardWeights(dy, x, { ...geom, weightShape: [1, 1, 2, 2], hasBias: false });
      own(dw2);
      assert.equal(none, null);
    });
  });
}

test('convBnForwardInference: the convolution with the BatchNorm folded in, the ReLU as its post-op', () => {
  withTensors((t, own) => {
    const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // output channel 0 sums each 2x2 window, channel 1 halves that
    const w = t([2, 1, 2, 2], [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]);
    // eps 1: s = gamma/√(var + 1) = [4/2, 1/1]; y = (conv + b − mean)·s + beta
    const bn = [t([2], [4, 1]), t([2], [1, 0]), t([2], [20, 0]), t([2], [3, 0])] as const;
    const geom = { stride: [1, 1], padding: [0, 0], eps: 1, algorithm: 'direct' } as const;
    const run = (b: Handle | null, relu: boolean) => read(own(B.convBnForwardInference(x, w, b, ...bn, { ...geom, relu })));
    // channel 0: conv [12, 16, 24, 28] (+0.5 bias) → (c − 20)·2 + 1; channel 1: conv [6, 8, 12, 14] unchanged
    assert.deepEqual(run(null, false), [-15, -7, 9, 17, 6, 8, 12, 14]);
    assert.deepEqual(run(t([2], [0.5, 0]), false), [-14, -6, 10, 18, 6, 8, 12, 14]);
    assert.deepEqual(run(t([2], [0.5, 0]), true), [0, 0, 10, 18, 6, 8, 12, 14]);
  });
});

test('batchNormForwardTraining, batchNormForwardInference, batchNormBackward, batchNormUpdateRunning', () => {
  withTensors((t, own) => {
    const eps = 1e-5;
    const x = t([2, 1, 1, 2], [1, 2, 3, 4]); // one channel: mean 2.5, biased variance 1.25
    const gamma = t([1], [2]);
    const beta = t([1], [1]);
    const sd = Math.sqrt(1.25 + eps);
    const expected = [1, 2, 3, 4].map((v) => (2 * (v - 2.5)) / sd + 1);
    const [y, mean, variance, ws] = own(B.batchNormForwardTraining(x, gamma, beta, { eps, fuseRelu: false }));
    close(B.read(y), expected, 1e-5);
    close(B.read(mean), [2.5]);
    close(B.read(variance), [1.25]);
    assert.equal(ws, null);
    const [yr, , , wsr] = own(B.batchNormForwardTraining(x, gamma, beta, { eps, fuseRelu: true }));
    close(B.read(yr), expected.map((v) => Math.max(0, v)), 1e-5);
    assert.ok(wsr, 'a fused ReLU keeps a workspace');
    close(B.read(own(B.batchNormForwardInference(x, gamma, beta, mean, variance, { eps, fuseRelu: false }))), expected, 1e-5);
    const dy = t([2, 1, 1, 2], [1, 1, 1, 1]);
    // eval mode: an affine map, dx = gamma dy / sd; dgamma = Σ dy x̂ = 0; dbeta = Σ dy
    const [dx, dgamma, dbeta] = own(B.batchNormBackward(dy, x, gamma, beta, mean, variance, null, { eps, globalStats: true }));
    close(B.read(dx), [2 / sd, 2 / sd, 2 / sd, 2 / sd], 1e-5);
    close(B.read(dgamma), [0], 1e-5);
    close(B.read(dbeta), [4]);
    // batch statistics: a constant dy is absorbed by the mean
    const [dxb] = own(B.batchNormBackward(dy, x, gamma, beta, mean, variance, null, { eps, globalStats: false }));
    close(B.read(dxb), [0, 0, 0, 0], 1e-5);
    // the fused ReLU's backward masks dy where the ReLU blocked (the first two outputs)
    const passed = expected.map((v): number => (v > 0 ? 1 : 0)); // [0, 1, 1, 1]
    const [dxr] = own(B.batchNormBackward(dy, x, gamma, beta, mean, variance, wsr, { eps, globalStats: false }));
    const xhat = [1, 2, 3, 4].map((v) => (v - 2.5) / sd);
    const meanDy = passed.reduce((a, b) => a + b) / 4;
    const meanDyX = passed.reduce((a, d, i) => a + d * xhat[i], 0) / 4;
    close(B.read(dxr), passed.map((d, i) => (2 / sd) * (d - meanDy - xhat[i] * meanDyX)), 1e-5);
    const rm = t([1], [0]);
    const rv = t([1], [1]);
    B.batchNormUpdateRunning(rm, rv, mean, variance, { momentum: 0.1, count: 4 });
    close(B.read(rm), [0.25]);
    close(B.read(rv), [0.9 + (0.1 * 1.25 * 4) / 3]); // unbiased variance
  });
});

test('maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward', () => {
  withTensors((t, own) => {
    const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const geom = { kernel: [2, 2], stride: [1, 1], padding: [0, 0] } as const;
    const [y, ws] = own(B.maxPoolForward(x, { ...geom, training: true }));
    assert.deepEqual(read(y), [5, 6, 8, 9]);
    assert.ok(ws);
    assert.deepEqual(read(own(B.maxPoolBackward(t([1, 1, 2, 2], [1, 2, 3, 4]), x, ws, geom))), [0, 0, 0, 0, 1, 2, 0, 3, 4]);
    const [yi, wsi] = B.maxPoolForward(x, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], training: false });
    own(yi);
    own(wsi);
    assert.deepEqual(read(yi), [5, 6, 8, 9]);
    const xa = t([1, 2, 1, 2], [1, 3, 10, 20]);
    const [ya, none] = B.avgPoolForward(xa, { training: true });
    own(ya);
    assert.equal(none, null);
    assert.deepEqual(read(ya), [2, 15]);
    assert.deepEqual(read(own(B.avgPoolBackward(t([1, 2, 1, 1], [1, 2]), xa, null))), [0.5, 0.5, 1, 1]);
  });
});

test('crossEntropy and topk', () => {
  withTensors((t, own) => {
    const logits = t([2, 2], [0, 0, 0, Math.log(3)]);
    const targets = Int32Array.of(0, 1);
    // row 0: softmax (1/2, 1/2), loss ln 2; row 1: (1/4, 3/4), loss ln(4/3)
    const [mean, none] = B.crossEntropy(logits, targets, { reduction: 'mean' });
    assert.equal(none, null);
    close([mean], [(Math.LN2 + Math.log(4 / 3)) / 2]);
    const [sum, g] = B.crossEntropy(logits, targets, { reduction: 'sum', dloss: 2 });
    own(g);
    close([sum], [Math.LN2 + Math.log(4 / 3)]);
    assert.ok(g);
    close(B.read(g), [2 * (0.5 - 1), 2 * 0.5, 2 * 0.25, 2 * (0.75 - 1)]);
    const [, gm] = B.crossEntropy(logits, targets, { reduction: 'mean', dloss: 2 });
    own(gm);
    assert.ok(gm);
    close(B.read(gm), [0.5 - 1, 0.5, 0.25, 0.75 - 1]); // dloss / N
    assert.deepEqual(Array.from(B.topk(t([2, 3], [1, 3, 2, 5, 4, 6]), { k: 2 })), [1, 2, 2, 0]);
    assert.deepEqual(Array.from(B.topk(t([1, 3], [1, 1, 0]), { k: 1 })), [0], 'ties go to the lower index');
  });
});

test('sgdStep, adadeltaStep, adamStep update in place as PyTorch does', () => {
  withTensors((t) => {
    const sgd = { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, firstStep: true };
    const p = t([2], [1, 2]);
    B.sgdStep(p, t([2], [0.5, -1]), null, sgd);
    close(B.read(p), [0.95, 2.1]);
    // momentum: the buffer starts as the gradient, then buf = 0.9 buf + g
    const pm = t([1], [1]);
    const buf = t([1], [0]);
    const g = t([1], [1]);
    B.sgdStep(pm, g, buf, { ...sgd, momentum: 0.9 });
    close(B.read(buf), [1]);
    close(B.read(pm), [0.9]);
    B.sgdStep(pm, g, buf, { ...sgd, momentum: 0.9, firstStep: false, weightDecay: 0.5 }); // d = g + 0.5 p
    close(B.read(buf), [0.9 + 1 + 0.5 * 0.9]);
    close(B.read(pm), [0.9 - 0.1 * (0.9 + 1.45)]);

    const pa = t([1], [1]);
    const sa = t([1], [0]);
    const ad = t([1], [0]);
    B.adadeltaStep(pa, t([1], [1]), sa, ad, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0 });
    const delta = (Math.sqrt(1e-6) / Math.sqrt(0.1 + 1e-6)) * 1;
    close(B.read(sa), [0.1]);
    close(B.read(ad), [0.1 * delta * delta], 1e-5);
    close(B.read(pa), [1 - delta]);

    const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 };
    // the first bias-corrected step moves by lr against the gradient's sign
    const p1 = t([1], [1]);
    const m = t([1], [0]);
    const v = t([1], [0]);
    B.adamStep(p1, t([1], [0.5]), m, v, null, adam);
    close(B.read(m), [0.05]);
    close(B.read(v), [0.00025]);
    close(B.read(p1), [0.9], 1e-6);
    // AMSGrad keeps the running max; AdamW first scales p by 1 - lr·wd
    const p2 = t([1], [1]);
    const vmax = t([1], [0]);
    B.adamStep(p2, t([1], [0.5]), t([1], [0]), t([1], [0]), vmax, { ...adam, weightDecay: 0.1, decoupled: true });
    close(B.read(vmax), [0.00025]);
    close(B.read(p2), [1 * (1 - 0.01) - 0.1], 1e-6);
  });
});

test('a missing, mistyped or unknown attribute is a TypeError naming the method and the attribute', () => {
  withTensors((t) => {
    const p = t([2], [1, 2]);
    const g = t([2], [1, 1]);
    const m = t([2], [0, 0]);
    const v = t([2], [0, 0]);
    const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 };
    const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = t([1, 1, 2, 2], [1, 1, 1, 1]);
    const row = t([1, 2], [0, 0]);
    const adamStep = untyped('adamStep');
    const before = raw.stats().liveBytes;
    const typeError = (re: RegExp) => (e: unknown) => e instanceof TypeError && re.test(e.message);
    const { beta2: _, ...noBeta2 } = adam;
    assert.throws(() => adamStep(p, g, m, v, null, noBeta2), typeError(/^adamStep: attribute 'beta2' must be a number, but it is missing$/));
    assert.throws(() => adamStep(p, g, m, v, null, { ...adam, beta2: '0.999' }), typeError(/^adamStep: attribute 'beta2' must be a number, got string$/));
    assert.throws(() => adamStep(p, g, m, v, null, { ...adam, decoupled: 1 }), typeError(/^adamStep: attribute 'decoupled' must be a boolean, got number$/));
    assert.throws(() => adamStep(p, g, m, v, null, { ...adam, weight_decay: 0 }), typeError(/^adamStep: unknown attribute 'weight_decay' \(it takes lr, beta1, beta2, eps, weightDecay, decoupled, step\)$/));
    // the old positional call: the count is wrong
    assert.throws(() => adamStep(p, g, m, v, null, 0.1, 0.9, 0.999, 1e-8, 0, false, 1), typeError(/^adamStep: expected 6 arguments \(the last one its attributes object\), got 12$/));
    assert.throws(() => adamStep(p, g, m, v, null, [0.1]), typeError(/^adamStep: the last argument must be its attributes object, got an array$/));
    assert.deepEqual(read(p), [1, 2], 'a rejected call changes nothing');

    const conv = untyped('convForward');
    assert.throws(() => conv(x, w, null, { stride: [1], padding: [0, 0], bf16: false, algorithm: 'direct', training: false }), typeError(/^convForward: attribute 'stride' must be a pair \[h, w\], got 1 entries$/));
    assert.throws(() => conv(x, w, null, { stride: [1, -1], padding: [0, 0], bf16: false, algorithm: 'direct', training: false }), typeError(/^convForward: attribute 'stride' must be an array of non-negative integers, entry 1 is not$/));
    assert.throws(() => conv(x, w, null, { stride: [1, 1], padding: [0, 0], bf16: false, algorithm: 'direct' }), typeError(/^convForward: attribute 'training' must be a boolean, but it is missing$/));
    assert.throws(() => conv(x, w, null, { stride: [1, 1], padding: [0, 0], bf16: false, algorithm: 'wino', training: false }), typeError(/^convForward: attribute 'algorithm' must be one of 'direct', 'winograd', got 'wino'$/));
    assert.throws(() => conv(x, w, null, { stride: [1, 1], padding: [0, 0], bf16: false, training: false }), typeError(/^convForward: attribute 'algorithm' must be one of 'direct', 'winograd', but it is missing$/));
    assert.throws(() => untyped('convBackwardData')(x, x, w, { stride: [1, 1], padding: [0, 0], bf16: false, algorithm: 'Winograd', hasBias: false }), typeError(/^convBackwardData: attribute 'algorithm' must be one of 'direct', 'winograd', got 'Winograd'$/));
    assert.throws(() => untyped('convBackwardWeights')(x, x, { stride: [1, 1], padding: [0, 0], bf16: false, algorithm: 1, weightShape: [1, 1, 2, 2], hasBias: false }), typeError(/^convBackwardWeights: attribute 'algorithm' must be one of 'direct', 'winograd', got /));
    assert.throws(() => untyped('crossEntropy')(row, Int32Array.of(0), { reduction: 'avg' }), typeError(/^crossEntropy: attribute 'reduction' must be one of 'mean', 'sum', got 'avg'$/));
    assert.throws(() => untyped('topk')(row, { k: 1.5 }), typeError(/^topk: attribute 'k' must be an integer, got 1\.5$/));
    assert.throws(() => untyped('setThreads')(4), typeError(/^setThreads: the last argument must be its attributes object, got number$/));
    assert.throws(() => untyped('create')(null, { shape: [2], fil: 1 }), typeError(/^create: unknown attribute 'fil'/));
    assert.throws(() => untyped('create')([1, 2], { shape: [2] }), typeError(/^create: data must be a Float32Array, got an array$/));
    // methods without attributes take none
    assert.throws(() => untyped('reluForward')(x, {}), typeError(/^reluForward: expected 1 argument, got 2$/));
    assert.throws(() => untyped('add')(x), typeError(/^add: expected 2 arguments, got 1$/));
    assert.throws(() => untyped('addInPlace')(x, x, {}), typeError(/^addInPlace: expected 2 arguments, got 3$/));
    assert.equal(raw.stats().liveBytes, before, 'rejected calls allocate nothing that outlives them');
  });
});

test('the load-time check names the methods an addon lacks, and the fix', () => {
  const fn = () => undefined;
  const full: Record<string, unknown> = Object.fromEntries([...BACKEND_METHODS, 'debugLayout', 'debugAsLayout', 'debugRaw', 'debugMaxPool'].map((m) => [m, fn]));
  assert.equal(checkAddon(full), full);
  const { adamStep: _a, topk: _t, ...stale } = full;
  assert.throws(() => checkAddon(stale, 'build/Release/googlenet_dnnl.node'),
    /^Error: googlenet: build\/Release\/googlenet_dnnl\.node lacks topk, adamStep; it was built from older sources: rebuild it with `npm run build` \(or `npm install`\)$/);
  assert.throws(() => checkAddon({ ...full, sgdStep: 1 }), /lacks sgdStep;/);
  assert.throws(() => checkAddon({ ...full, debugLayout: undefined }), /lacks debugLayout;/);
  assert.throws(() => checkAddon(null), /not a module object/);
});

// libgomp prints its settings at load with OMP_DISPLAY_ENV=verbose (the spin count tells a passive
// wait, 0, from libgomp's default, 300000, which it also prints as 'PASSIVE'); the child loads the
// addon and says whether the variable set for the load is still in its environment.
function spinAtLoad(env: Record<string, string>): { spin: string; left: string } {
  const backendJs = new URL('../src/tensor/tensor.js', import.meta.url).href;
  const script = `const { backend } = await import(${JSON.stringify(backendJs)}); backend().stats(); console.log('left=' + (process.env.OMP_WAIT_POLICY ?? '-'));`;
  const { OMP_WAIT_POLICY: _w, GOMP_SPINCOUNT: _s, ...rest } = process.env;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...rest, OMP_DISPLAY_ENV: 'verbose', ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout + r.stderr;
  return { spin: /GOMP_SPINCOUNT = '(\d+)'/.exec(out)?.[1] ?? 'not printed', left: /left=(\S+)/.exec(out)?.[1] ?? '?' };
}

test('OpenMP threads wait passively unless the user chose a wait policy or spin count', () => {
  assert.deepEqual(spinAtLoad({}), { spin: '0', left: '-' }, 'passive, and set for the load only');
  assert.deepEqual(spinAtLoad({ OMP_WAIT_POLICY: 'active' }), { spin: '30000000000', left: 'active' });
  assert.equal(spinAtLoad({ GOMP_SPINCOUNT: '300000' }).spin, '300000', "libgomp's default, which the bench's spinning case sets");
});

test('every tensor made here was released', () => {
  assert.equal(raw.stats().liveBytes, startBytes);
});

// Last: a method added to Backend (and so to BACKEND_METHODS) fails here until a test calls it.
test('every Backend method was called by name above', () => {
  assert.deepEqual(BACKEND_METHODS.filter((m) => !called.has(m)), []);
});
