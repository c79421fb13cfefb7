// Our max pooling kernels (native/maxpool.cc), which run on f32 activations in the channel-blocked
// layouts (nChw8c on AVX2 CPUs, nChw16c on AVX-512 ones): against oneDNN's pooling on the same input
// (debugMaxPool switches kernels in-process), and against PyTorch's rules written out below (the
// first maximum in row-major order, -inf padding, NaN taken; gradients summed in output order).
// nChw16c is what oneDNN picks only on AVX-512 CPUs: here both layouts are made with debugAsLayout.
// The AVX2 path runs where the CPU and oneDNN's ISA allow it (else oneDNN's pooling does, and those
// checks skip); the scalar path ('portable') runs everywhere and must agree with it to the bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handle, MaxPoolAttrs } from '../src/backend/backend.js';
import { debugAsLayout, debugMaxPool, debugRaw, type DebugLayoutName, type MaxPoolKernels } from '../src/backend/onednn.js';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { backend, Tensor, tidy } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { relErr } from './numeric.js';

const B = backend();
/** Whether 'auto' runs our AVX2 kernels here: oneDNN's ISA (at most the CPU's) includes AVX2. */
const avx2 = !['sse41', 'avx'].includes(B.cpuIsa());
const avx2Opts = avx2 ? {} : { skip: `oneDNN uses ${B.cpuIsa()} here: max pooling runs oneDNN's kernels, not our AVX2 ones` };
/** Our kernels to check: the AVX2 path where it runs, and the scalar one. */
const OURS: MaxPoolKernels[] = avx2 ? ['auto', 'portable'] : ['portable'];
const LAYOUTS: DebugLayoutName[] = ['nChw8c', 'nChw16c'];

interface Geom extends MaxPoolAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
}
const geom = (k: [number, number], s: [number, number], p: [number, number]): Geom => ({ kernel: k, stride: s, padding: p });

function outShape(shape: number[], g: Geom): number[] {
  const o = [0, 1].map((i) => Math.floor((shape[2 + i] + 2 * g.padding[i] - g.kernel[i]) / g.stride[i]) + 1);
  return [shape[0], shape[1], o[0], o[1]];
}

/**
 * PyTorch's max_pool2d on NCHW data (aten's cpu_max_pool and its backward): in each window, in
 * row-major order over its positions inside the image, take v when v > max or v is NaN, from -inf at
 * the first position; the workspace holds kh·KW + kw from the padded window's corner (oneDNN's
 * format); the backward adds each output's gradient to its maximum in output order, in float32.
 */
function reference(shape: number[], x: Float32Array, g: Geom, dy: Float32Array) {
  const [n, c, h, w] = shape;
  const [, , oh, ow] = outShape(shape, g);
  const [kh, kw] = g.kernel, [sh, sw] = g.stride, [ph, pw] = g.padding;
  const y = new Float32Array(n * c * oh * ow), ws = new Float32Array(y.length), dx = new Float32Array(x.length);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const h0 = i * sh - ph, w0 = j * sw - pw;
        let best = -Infinity, arg = -1;
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++) {
            const hh = h0 + a, ww = w0 + b;
            if (hh < 0 || hh >= h || ww < 0 || ww >= w) continue;
            if (arg < 0) arg = a * kw + b;
            const v = x[(p * h + hh) * w + ww];
            if (v > best || Number.isNaN(v)) [best, arg] = [v, a * kw + b];
          }
        const o = (p * oh + i) * ow + j;
        y[o] = best;
        ws[o] = arg;
        const at = (p * h + h0 + Math.floor(arg / kw)) * w + w0 + (arg % kw);
        dx[at] = Math.fround(dx[at] + dy[o]);
      }
  return { y, ws, dx };
}

interface Run {
  y: Float32Array;
  ws: Float32Array;
  dx: Float32Array;
  yRaw: Float32Array;
  dxRaw: Float32Array;
  calls: { onednn: number; ours: number };
}

/**
 * Max pooling of x (NCHW values) in `layout` by `kernels`: the training forward (checked against the
 * inference forward), and the backward of dy given in the same layout (or plain with dyPlain). With
 * padding, the padded channels of x and dy hold that value instead of zeros.
 */
function pool(kernels: MaxPoolKernels, layout: DebugLayoutName, shape: number[], x: Float32Array, g: Geom, dy: Float32Array,
  opts: { padding?: number; dyPlain?: boolean; backwardKernels?: MaxPoolKernels } = {}): Run {
  const owned: Handle[] = [];
  const own = <T extends Handle | null>(h: T): T => {
    if (h) owned.push(h);
    return h;
  };
  debugMaxPool(kernels);
  try {
    const xb = own(debugAsLayout(own(B.create(x, { shape })), layout, opts.padding));
    const [y, wsOrNull] = B.maxPoolForward(xb, { ...g, training: true });
    own(y);
    const ws = own(wsOrNull);
    assert.ok(ws, 'a training forward returns a workspace');
    const [yi, none] = B.maxPoolForward(xb, { ...g, training: false });
    own(yi);
    assert.equal(none, null, 'an inference forward returns no workspace');
    assert.deepEqual(B.read(yi), B.read(y), 'inference and training forwards agree');
    const dyPlain = own(B.create(dy, { shape: outShape(shape, g) }));
    const dyb = opts.dyPlain ? dyPlain : own(debugAsLayout(dyPlain, layout, opts.padding));
    const calls = opts.backwardKernels ? debugMaxPool(opts.backwardKernels) : { onednn: 0, ours: 0 };
    const dx = own(B.maxPoolBackward(dyb, xb, ws, g));
    const after = debugMaxPool('auto');
    return { y: B.read(y), ws: B.read(ws), dx: B.read(dx), yRaw: debugRaw(y), dxRaw: debugRaw(dx),
      calls: { onednn: calls.onednn + after.onednn, ours: calls.ours + after.ours } };
  } finally {
    debugMaxPool('auto');
    for (const h of owned) B.release(h);
  }
}

/** Equal to the bit (NaN equals NaN, -0 differs from +0), else the first difference. */
function sameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++)
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
}

type Fill = (n: number, rng: Rng) => Float32Array;
const ties: Fill = (n, rng) => Float32Array.from({ length: n }, () => rng.int(7) - 3); // many equal values
const uniform: Fill = (n, rng) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

const CASES: { name: string; g: Geom; shapes: number[][] }[] = [
  { name: '3x3 stride 1 pad 1 (the Inception branches)', g: geom([3, 3], [1, 1], [1, 1]), shapes: [[1, 3, 7, 7], [3, 11, 5, 5], [2, 16, 8, 7], [1, 21, 1, 1]] },
  { name: '3x3 stride 2 pad 1 (between stages)', g: geom([3, 3], [2, 2], [1, 1]), shapes: [[1, 8, 7, 7], [3, 19, 8, 8], [2, 5, 5, 6], [1, 3, 2, 2]] },
  { name: '2x2 stride 2', g: geom([2, 2], [2, 2], [0, 0]), shapes: [[2, 9, 6, 6], [1, 3, 7, 5]] },
  { name: '3x2 stride (2,1) pad (1,0)', g: geom([3, 2], [2, 1], [1, 0]), shapes: [[2, 10, 7, 6]] },
  { name: '5x5 stride 1 pad 2', g: geom([5, 5], [1, 1], [2, 2]), shapes: [[1, 17, 6, 6]] },
  { name: '3x3 stride 3 (windows apart)', g: geom([3, 3], [3, 3], [0, 0]), shapes: [[1, 8, 9, 10]] },
  { name: '1x1 stride 2 (inputs outside every window)', g: geom([1, 1], [2, 2], [0, 0]), shapes: [[1, 8, 5, 5]] },
];

for (const { name, g, shapes } of CASES)
  test(`max pooling ${name}: forward and workspace are oneDNN's to the bit, the backward PyTorch's to the bit and within 1e-6 of oneDNN's`, () => {
    const rng = new Rng(7);
    for (const shape of shapes)
      for (const fill of [ties, uniform]) {
        const x = fill(shape.reduce((a, b) => a * b), rng);
        const dy = uniform(outShape(shape, g).reduce((a, b) => a * b), rng);
        const ref = reference(shape, x, g, dy);
        for (const layout of LAYOUTS) {
          const what = `${layout} [${shape.join(',')}] ${fill === ties ? 'with ties' : 'uniform'}`;
          const theirs = pool('onednn', layout, shape, x, g, dy);
          assert.deepEqual(theirs.calls, { onednn: 3, ours: 0 });
          sameBits(theirs.y, ref.y, `${what}: oneDNN's output against PyTorch's rules`);
          sameBits(theirs.ws, ref.ws, `${what}: oneDNN's workspace against PyTorch's argmax`);
          for (const kernels of OURS) {
            const ours = pool(kernels, layout, shape, x, g, dy);
            const w = `${what}, ${kernels}`;
            assert.deepEqual(ours.calls, { onednn: 0, ours: 3 }, `${w}: our kernels ran`);
            sameBits(ours.y, theirs.y, `${w}: output`);
            sameBits(ours.ws, theirs.ws, `${w}: workspace`);
            sameBits(ours.dx, ref.dx, `${w}: input gradient against PyTorch's order`);
            const e = relErr(ours.dx, theirs.dx);
            assert.ok(e <= 1e-6, `${w}: input gradient ${e} from oneDNN's`);
          }
        }
      }
  });

test('the workspace is oneDNN\'s format: our backward reads oneDNN\'s forward, and oneDNN\'s backward ours', () => {
  const rng = new Rng(9);
  for (const g of [geom([3, 3], [1, 1], [1, 1]), geom([3, 3], [2, 2], [1, 1])])
    for (const layout of LAYOUTS) {
      const shape = [2, 13, 7, 6];
      const x = ties(shape.reduce((a, b) => a * b), rng);
      const dy = uniform(outShape(shape, g).reduce((a, b) => a * b), rng);
      const theirs = pool('onednn', layout, shape, x, g, dy);
      for (const kernels of OURS) {
        const ours = pool(kernels, layout, shape, x, g, dy);
        const w = `${layout}, stride ${g.stride[0]}, ${kernels}`;
        const oursAfterTheirs = pool('onednn', layout, shape, x, g, dy, { backwardKernels: kernels });
        assert.deepEqual(oursAfterTheirs.calls, { onednn: 2, ours: 1 });
        sameBits(oursAfterTheirs.dx, ours.dx, `${w}: our backward of oneDNN's forward`);
        const theirsAfterOurs = pool(kernels, layout, shape, x, g, dy, { backwardKernels: 'onednn' });
        assert.deepEqual(theirsAfterOurs.calls, { onednn: 1, ours: 2 });
        sameBits(theirsAfterOurs.dx, theirs.dx, `${w}: oneDNN's backward of our forward`);
      }
    }
});

test('ties, constant maps and the -inf padding: the first maximum in row-major order, as PyTorch and oneDNN', () => {
  const g = geom([3, 3], [1, 1], [1, 1]);
  const shape = [2, 11, 5, 5];
  const n = 2 * 11 * 25;
  const inputs: Record<string, Float32Array> = {
    constant: new Float32Array(n).fill(2.5),
    'all negative (the padding is -inf, not 0)': Float32Array.from({ length: n }, (_, i) => -1 - (i % 7)),
    'constant rows': Float32Array.from({ length: n }, (_, i) => Math.floor(i / 5) % 3),
    'constant columns': Float32Array.from({ length: n }, (_, i) => (i % 5) % 2),
    '+0 and -0 (equal: the first stays)': Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -0 : 0)),
  };
  const dy = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 11) - 5);
  for (const [name, x] of Object.entries(inputs)) {
    const ref = reference(shape, x, g, dy);
    for (const layout of LAYOUTS) {
      const theirs = pool('onednn', layout, shape, x, g, dy);
      for (const kernels of OURS) {
        const ours = pool(kernels, layout, shape, x, g, dy);
        sameBits(ours.y, ref.y, `${name}, ${layout}, ${kernels}: output`);
        sameBits(ours.y, theirs.y, `${name}, ${layout}, ${kernels}: output against oneDNN's`);
        sameBits(ours.ws, ref.ws, `${name}, ${layout}, ${kernels}: workspace`);
        sameBits(ours.dx, ref.dx, `${name}, ${layout}, ${kernels}: input gradient`);
      }
    }
  }
});

test('-inf and NaN as PyTorch (oneDNN 2.6 differs): an all -inf window gives -inf and its first position inside the image; the last NaN is taken', () => {
  const g = geom([3, 3], [1, 1], [1, 1]);
  const shape = [1, 9, 4, 4];
  const n = 9 * 16;
  const x = Float32Array.from({ length: n }, (_, i) => {
    const c = Math.floor(i / 16), p = i % 16;
    if (c < 3) return p === 15 && c === 0 ? 5 : -Infinity; // -inf maps, one with a finite corner
    if (c < 6) return p % 5 === c - 3 ? NaN : p; // NaNs among numbers
    return (p * 7) % 5;
  });
  const dy = Float32Array.from({ length: n }, (_, i) => (i % 13) - 6);
  const ref = reference(shape, x, g, dy);
  assert.equal(ref.y[0], -Infinity);
  assert.ok(Number.isNaN(ref.y[3 * 16]));
  for (const layout of LAYOUTS)
    for (const kernels of OURS) {
      const ours = pool(kernels, layout, shape, x, g, dy);
      sameBits(ours.y, ref.y, `${layout}, ${kernels}: output`);
      sameBits(ours.ws, ref.ws, `${layout}, ${kernels}: workspace`);
      sameBits(ours.dx, ref.dx, `${layout}, ${kernels}: input gradient`);
    }
  // what oneDNN 2.6 does instead, so a change in it shows here: -FLT_MAX for an all -inf window
  const theirs = pool('onednn', 'nChw8c', shape, x, g, dy);
  assert.equal(theirs.y[0], -3.4028234663852886e38);
});

test('the padded channels of a blocked layout come out zero, whatever the input\'s padding holds', () => {
  const rng = new Rng(3);
  for (const [layout, block] of [['nChw8c', 8], ['nChw16c', 16]] as const)
    for (const g of [geom([3, 3], [1, 1], [1, 1]), geom([3, 3], [2, 2], [1, 1])])
      for (const kernels of OURS) {
        const shape = [3, block + 3, 5, 6];
        const x = uniform(shape.reduce((a, b) => a * b), rng);
        const dy = uniform(outShape(shape, g).reduce((a, b) => a * b), rng);
        const clean = pool(kernels, layout, shape, x, g, dy);
        const poisoned = pool(kernels, layout, shape, x, g, dy, { padding: 7 });
        const w = `${layout}, stride ${g.stride[0]}, ${kernels}`;
        sameBits(poisoned.y, clean.y, `${w}: output`);
        sameBits(poisoned.dx, clean.dx, `${w}: input gradient`);
        for (const [raw, what] of [[poisoned.yRaw, 'output'], [poisoned.dxRaw, 'input gradient']] as const) {
          // [n][2 blocks][positions][block]: the second block's channels past 3 are padding
          const positions = raw.length / (3 * 2 * block);
          for (let i = 0; i < raw.length; i++) {
            const blk = Math.floor(i / (positions * block)) % 2, lane = i % block;
            if (blk === 1 && lane >= 3) assert.equal(raw[i], 0, `${w}: ${what} padding [${i}]`);
          }
        }
      }
});

test('the backward takes its gradient in another layout (plain), and the threads do not change a bit', () => {
  const rng = new Rng(11);
  const g = geom([3, 3], [1, 1], [1, 1]);
  const shape = [4, 24, 6, 6];
  const x = ties(shape.reduce((a, b) => a * b), rng);
  const dy = uniform(x.length, rng);
  const ref = reference(shape, x, g, dy);
  const threads = B.stats().threads;
  try {
    for (const kernels of OURS)
      for (const t of [1, 2, 3]) {
        B.setThreads({ threads: t });
        const r = pool(kernels, 'nChw8c', shape, x, g, dy, { dyPlain: true });
        sameBits(r.y, ref.y, `${kernels}, ${t} threads: output`);
        sameBits(r.dx, ref.dx, `${kernels}, ${t} threads: input gradient`);
      }
  } finally {
    B.setThreads({ threads });
  }
});

test('a workspace from another pooling is refused', avx2Opts, () => {
  const owned: Handle[] = [];
  try {
    const x = debugAsLayout(B.create(null, { shape: [1, 8, 6, 6] }), 'nChw8c');
    const other = debugAsLayout(B.create(null, { shape: [1, 8, 5, 5] }), 'nChw8c');
    owned.push(x, other);
    const g = geom([3, 3], [1, 1], [1, 1]);
    const [y, ws] = B.maxPoolForward(other, { ...g, training: true });
    owned.push(y, ws!);
    const dy = debugAsLayout(B.create(null, { shape: [1, 8, 6, 6] }), 'nChw8c');
    owned.push(dy);
    assert.throws(() => B.maxPoolBackward(dy, x, ws!, g), /maxpool backward: the workspace does not belong to a max pooling of input \[1,8,6,6\]/);
  } finally {
    for (const h of owned) B.release(h);
  }
});

test('in a network, max pooling of a convolution\'s output runs our kernels; of plain input, oneDNN\'s', () => {
  tidy(() => {
    const rng = new Rng(5);
    const x = Tensor.fromArray(uniform(2 * 3 * 8 * 8, rng), [2, 3, 8, 8]);
    x.requiresGrad = true;
    const w = Tensor.fromArray(uniform(16 * 3 * 9, rng), [16, 3, 3, 3]);
    w.requiresGrad = true;
    debugMaxPool('auto');
    const h = F.conv2d(x, w, null, [1, 1], [1, 1]);
    const y = F.maxPool2d(F.maxPool2d(h, [3, 3], [1, 1], [1, 1]), [3, 3], [2, 2], [1, 1]);
    backward(y, Tensor.full(y.shape, 1));
    assert.deepEqual(debugMaxPool('auto'), avx2 ? { onednn: 0, ours: 4 } : { onednn: 4, ours: 0 });
    const p = F.maxPool2d(x, [3, 3], [1, 1], [1, 1]);
    backward(p, Tensor.full(p.shape, 1));
    assert.deepEqual(debugMaxPool('auto'), { onednn: 2, ours: 0 }, 'plain NCHW input: oneDNN');
  });
});
