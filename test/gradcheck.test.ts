// Finite-difference gradient checks of every differentiable op on small random shapes,
// including strides, paddings and kernel shapes the fixtures do not cover. The loss is
// L = Σ out·gout for a random gout; each analytic gradient entry checked is compared
// with the central difference (L(x+h) − L(x−h)) / 2h, computed in float64 on the host.
//
// Tolerance: oneDNN 2.6 has no float64 convolution, so the checks run in float32. L is a
// sum of ~10² terms of size ~1, so its float32 rounding is ~1e-5 absolute, which over 2h
// (h = 1e-2) is ≈ 5e-4 of noise at worst; the truncation error of the
// central difference is O(h²·L''') ≈ 1e-4 on these well-scaled (U(−1,1)) inputs. So
// |numeric − analytic| ≤ 3e-3·max(1, |numeric|) passes correct code with margin, while a
// real bug (a wrong index, a missing scale, a dropped path) is off by O(1). Inputs of
// ReLU and max pooling are spread ≥ 0.05 apart so no kink lies within ±h; the deep
// composition uses h = 2e-3 because its curvature is larger (small-batch BatchNorm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { debugAsLayout, type DebugLayoutName } from '../src/backend/onednn.js';

const H = 1e-2;

interface Spec {
  shapes: number[][];
  op: (xs: Tensor[]) => Tensor;
  /** Makes input values; default U(-1, 1). */
  init?: (n: number, rng: Rng, i: number) => Float32Array;
  /** Finite-difference step; deep compositions curve more and need a smaller one. */
  h?: number;
  /** The inputs' layout (4-d inputs), as a convolution's output has it; default plain NCHW. */
  layout?: DebugLayoutName;
}

function input(spec: Spec, d: Float32Array, i: number): Tensor {
  const t = Tensor.fromArray(d, spec.shapes[i]);
  return spec.layout ? new Tensor(debugAsLayout(t.handle, spec.layout), t.shape) : t;
}

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** Distinct values at least 0.05 apart, so max/relu kinks are far from ±h. */
function spreadArray(n: number, rng: Rng): Float32Array {
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05 + 0.025);
  rng.shuffle(vals);
  return Float32Array.from(vals);
}

function lossOf(spec: Spec, data: Float32Array[], gout: Float32Array): number {
  return tidy(() => {
    const xs = data.map((d, i) => input(spec, d, i));
    const out = spec.op(xs).toArray();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * gout[i];
    return s;
  });
}

function gradcheck(name: string, spec: Spec): void {
  test(`finite-difference gradient: ${name}`, () => {
    const rng = new Rng(1234);
    const data = spec.shapes.map((s, i) => (spec.init ?? randomArray)(s.reduce((a, b) => a * b, 1), rng, i));
    const { analytic, gout } = tidy(() => {
      const xs = data.map((d, i) => {
        const t = input(spec, d, i);
        t.requiresGrad = true;
        return t;
      });
      const out = spec.op(xs);
      const g = randomArray(out.numel, rng);
      backward(out, Tensor.fromArray(g, out.shape));
      const grads = xs.map((x) => {
        assert.ok(x.grad, `${name}: input has no gradient`);
        const a = x.grad.toArray();
        x.grad.dispose();
        return a;
      });
      return { analytic: grads, gout: g };
    });
    data.forEach((d, i) => {
      const picks = d.length <= 24 ? [...d.keys()] : Array.from({ length: 24 }, () => rng.int(d.length));
      for (const j of picks) {
        const orig = d[j];
        const h = spec.h ?? H;
        d[j] = orig + h;
        const up = lossOf(spec, data, gout);
        d[j] = orig - h;
        const down = lossOf(spec, data, gout);
        d[j] = orig;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(numeric - analytic[i][j]);
        assert.ok(err <= 3e-3 * Math.max(1, Math.abs(numeric)), `${name}: input ${i}[${j}] analytic ${analytic[i][j]} vs numeric ${numeric}`);
      }
    });
  });
}

gradcheck('conv2d 3x3 stride 1 pad 1 with bias', { shapes: [[2, 3, 5, 6], [4, 3, 3, 3], [4]], op: ([x, w, b]) => F.conv2d(x, w, b, [1, 1], [1, 1]) });
gradcheck('conv2d 3x2 kernel stride 2 pad (1,0) no bias', { shapes: [[2, 2, 7, 6], [3, 2, 3, 2]], op: ([x, w]) => F.conv2d(x, w, null, [2, 2], [1, 0]) });
gradcheck('conv2d 5x5 stride 3 pad 2, 17 channels (blocked layout tail)', { shapes: [[1, 17, 8, 8], [5, 17, 5, 5], [5]], op: ([x, w, b]) => F.conv2d(x, w, b, [3, 3], [2, 2]) });
gradcheck('conv2d 1x1', { shapes: [[3, 4, 3, 3], [2, 4, 1, 1], [2]], op: ([x, w, b]) => F.conv2d(x, w, b) });
gradcheck('batch_norm training eps 1e-5', {
  shapes: [[4, 3, 3, 2], [3], [3]],
  op: ([x, w, b]) => F.batchNorm2d(x, w, b, { runningMean: null, runningVar: null, momentum: 0.1 }, true, 1e-5),
});
gradcheck('batch_norm training eps 32 (the seed quirk)', {
  shapes: [[2, 5, 3, 3], [5], [5]],
  op: ([x, w, b]) => F.batchNorm2d(x, w, b, { runningMean: null, runningVar: null, momentum: 0.1 }, true, 32),
});
gradcheck('batch_norm eval mode (running statistics)', {
  shapes: [[2, 3, 2, 2], [3], [3]],
  op: ([x, w, b]) => {
    const rm = Tensor.fromArray([0.1, -0.2, 0.3], [3]);
    const rv = Tensor.fromArray([0.5, 1.5, 2.0], [3]);
    return F.batchNorm2d(x, w, b, { runningMean: rm, runningVar: rv, momentum: 0.1 }, false, 1e-5);
  },
});
gradcheck('relu', { shapes: [[2, 3, 4, 4]], op: ([x]) => F.relu(x), init: spreadArray });
gradcheck('max_pool2d 3 stride 2 pad 1', { shapes: [[2, 2, 7, 8]], op: ([x]) => F.maxPool2d(x, [3, 3], [2, 2], [1, 1]), init: spreadArray });
gradcheck('max_pool2d 2 stride 2', { shapes: [[1, 3, 6, 6]], op: ([x]) => F.maxPool2d(x, [2, 2], [2, 2], [0, 0]), init: spreadArray });
gradcheck('max_pool2d 3 stride 1 pad 1', { shapes: [[1, 18, 4, 5]], op: ([x]) => F.maxPool2d(x, [3, 3], [1, 1], [1, 1]), init: spreadArray });
// on the channel-blocked layouts of convolution outputs, where our own kernels run (native/maxpool.cc)
for (const layout of ['nChw8c', 'nChw16c'] satisfies DebugLayoutName[]) {
  gradcheck(`max_pool2d 3 stride 1 pad 1, ${layout}, 11 channels`, { shapes: [[3, 11, 5, 5]], op: ([x]) => F.maxPool2d(x, [3, 3], [1, 1], [1, 1]), init: spreadArray, layout });
  gradcheck(`max_pool2d 3 stride 2 pad 1, ${layout}, 19 channels`, { shapes: [[1, 19, 7, 7]], op: ([x]) => F.maxPool2d(x, [3, 3], [2, 2], [1, 1]), init: spreadArray, layout });
  gradcheck(`max_pool2d 2 stride 2, ${layout}`, { shapes: [[2, 16, 6, 5]], op: ([x]) => F.maxPool2d(x, [2, 2], [2, 2], [0, 0]), init: spreadArray, layout });
}
gradcheck('adaptive_avg_pool2d to 1x1', { shapes: [[2, 5, 3, 4]], op: ([x]) => F.globalAvgPool2d(x) });
gradcheck('cat along channels (odd channel counts)', { shapes: [[2, 3, 2, 2], [2, 17, 2, 2], [2, 5, 2, 2]], op: (xs) => F.cat(xs) });
gradcheck('cat of conv outputs (blocked layouts)', {
  shapes: [[1, 4, 4, 4], [16, 4, 1, 1], [7, 4, 3, 3]],
  op: ([x, w1, w2]) => F.cat([F.conv2d(x, w1, null), F.conv2d(x, w2, null, [1, 1], [1, 1])]),
});
gradcheck('flatten', { shapes: [[2, 3, 2, 2]], op: ([x]) => F.flatten(x) });
gradcheck('linear', { shapes: [[3, 7], [4, 7], [4]], op: ([x, w, b]) => F.linear(x, w, b) });
gradcheck('add (shared input)', { shapes: [[2, 3, 2, 2]], op: ([x]) => F.add(x, F.relu(x)), init: spreadArray });
gradcheck('dropout p=0.3 (fixed mask)', { shapes: [[2, 3, 4, 4]], op: ([x]) => F.dropout(x, 0.3, true, new Rng(7)) });
gradcheck('dropout2d p=0.5 (fixed mask)', { shapes: [[3, 4, 2, 2]], op: ([x]) => F.dropout2d(x, 0.5, true, new Rng(7)) });
gradcheck('cross_entropy mean', { shapes: [[4, 6]], op: ([x]) => F.crossEntropy(x, Int32Array.of(0, 5, 2, 2)) });
gradcheck('cross_entropy sum', { shapes: [[3, 4]], op: ([x]) => F.crossEntropy(x, Int32Array.of(3, 1, 0), 'sum') });
gradcheck('a small Inception-like block end to end', {
  shapes: [[2, 3, 6, 6], [8, 3, 3, 3], [8], [8], [8], [5, 8, 1, 1], [10, 13]],
  op: ([x, w, b, g, beta, w2, wl]) => {
    const h = F.relu(F.batchNorm2d(F.conv2d(x, w, b, [1, 1], [1, 1]), g, beta, { runningMean: null, runningVar: null, momentum: 0.1 }, true, 1e-5));
    const y = F.cat([F.conv2d(h, w2, null), F.maxPool2d(h, [3, 3], [1, 1], [1, 1])]);
    const p = F.flatten(F.globalAvgPool2d(y));
    return F.crossEntropy(F.linear(p, wl, Tensor.zeros([10])), Int32Array.of(1, 7));
  },
  h: 2e-3,
});
