// Differentiable ops. Each op's forward and backward sit side by side: the forward
// calls the backend, and `record` attaches the backward closure, which captures what
// the backward needs (inputs, outputs, statistics, workspaces).
import type { ConvAlgorithm, Pair } from '../backend/backend.js';
import { numel } from '../tensor/host.js';
import { backend, Tensor } from '../tensor/tensor.js';
import { needsGrad, record } from './engine.js';
import type { Rng } from '../util/rng.js';
import { defaultGenerator } from '../util/generator.js';
import { convFamily, convFlops, timed } from '../util/profile.js';

function outSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** A convolution's output shape [N, out channels, H', W'] (PyTorch's floor size). */
function convOutShape(x: Tensor, w: Tensor, stride: Pair, padding: Pair): number[] {
  return [x.shape[0], w.shape[0], outSize(x.shape[2], w.shape[2], stride[0], padding[0]), outSize(x.shape[3], w.shape[3], stride[1], padding[1])];
}

function expectRank(x: Tensor, rank: number, op: string): void {
  if (x.shape.length !== rank)
    throw new Error(`${op}: expected a ${rank}-d input, got shape [${x.shape.join(', ')}]`);
}

// ---- convolution ----------------------------------------------------------------------

/**
 * 2-d convolution. With bf16, it computes in bfloat16 (mixed precision: the output is bf16, the
 * f32 weights are converted on the fly, and weight gradients are f32). The algorithm serves all
 * three passes (see ConvAlgorithm).
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, stride: Pair = [1, 1], padding: Pair = [0, 0], bf16 = false, algorithm: ConvAlgorithm = 'direct'): Tensor {
  expectRank(x, 4, 'conv2d');
  const B = backend();
  const shape = convOutShape(x, w, stride, padding);
  const family = convFamily(w.shape), flops = convFlops(shape, w.shape);
  const y = new Tensor(timed(family, 'forward', flops, () => B.convForward(x.handle, w.handle, b?.handle ?? null, { stride, padding, bf16, algorithm, training: needsGrad([x, w, b]) })), shape);
  return record(y, 'conv2d', [x, w, b], (gy) => {
    const hasBias = b !== null;
    const gx = x.requiresGrad ? new Tensor(timed(family, 'backward', flops, () => B.convBackwardData(gy.handle, x.handle, w.handle, { stride, padding, bf16, algorithm, hasBias })), x.shape) : null;
    if (!w.requiresGrad && !b?.requiresGrad) return [gx, null, null];
    const [gw, gb] = timed(family, 'backward', flops, () => B.convBackwardWeights(gy.handle, x.handle, { stride, padding, bf16, algorithm, weightShape: w.shape, hasBias }));
    return [gx, new Tensor(gw, w.shape), gb ? new Tensor(gb, [w.shape[0]]) : null];
  });
}

/**
 * Eval-mode conv2d → batch_norm (running statistics) → [relu] as one f32 convolution, the BatchNorm
 * folded into its weights and bias on every call and the ReLU run as its post-op. Inference only: it
 * records no graph, so it refuses inputs that need a gradient. Timed as the convolution (its family
 * and flops), which it is.
 */
export function conv2dBatchNormEval(x: Tensor, w: Tensor, b: Tensor | null, bn: { weight: Tensor; bias: Tensor; runningMean: Tensor; runningVar: Tensor }, stride: Pair, padding: Pair, eps: number, relu: boolean, algorithm: ConvAlgorithm = 'direct'): Tensor {
  expectRank(x, 4, 'conv2d_batch_norm_eval');
  if (needsGrad([x, w, b, bn.weight, bn.bias]))
    throw new Error('conv2d_batch_norm_eval: inference only, but an input requires grad; run it under noGrad, or run conv2d and batchNorm2d');
  const B = backend();
  const shape = convOutShape(x, w, stride, padding);
  return new Tensor(timed(convFamily(w.shape), 'forward', convFlops(shape, w.shape), () =>
    B.convBnForwardInference(x.handle, w.handle, b?.handle ?? null, bn.weight.handle, bn.bias.handle, bn.runningMean.handle, bn.runningVar.handle, { stride, padding, eps, relu, algorithm })), shape);
}

// ---- batch normalization ----------------------------------------------------------------

export interface BatchNormState {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  /** Weight of the new batch statistics in the running averages (PyTorch's momentum). */
  momentum: number;
}

/** The profiler's BatchNorm families: on its own, and with the ReLU fused into its kernel. */
export const BN = 'batchnorm', BN_RELU = 'batchnorm+relu (fused)';

/**
 * Training mode normalises with the batch statistics (biased variance) and updates the
 * running averages with the unbiased variance; eval mode uses the running averages.
 * With fuseRelu, returns relu(batch_norm(x)) from one fused kernel (no intermediate tensor).
 */
export function batchNorm2d(x: Tensor, weight: Tensor, bias: Tensor, state: BatchNormState, training: boolean, eps: number, fuseRelu = false): Tensor {
  if (x.shape.length < 2) throw new Error(`batch_norm: expected an input with a channel dim, got shape [${x.shape.join(', ')}]`);
  const B = backend();
  if (!training) {
    if (!state.runningMean || !state.runningVar) throw new Error('batch_norm: eval mode needs running statistics');
    const { runningMean, runningVar } = state;
    const grad = needsGrad([x, weight, bias]);
    // the fused inference kernel keeps no ReLU mask, so with a backward the ReLU runs on its own
    const y = new Tensor(timed(BN, 'forward', 0, () => B.batchNormForwardInference(x.handle, weight.handle, bias.handle, runningMean.handle, runningVar.handle, { eps, fuseRelu: fuseRelu && !grad })), x.shape);
    if (!grad) return y;
    // the running statistics may change before backward (they are buffers): snapshot them
    const mean = runningMean.clone();
    const variance = runningVar.clone();
    const out = record(y, 'batch_norm_eval', [x, weight, bias], (gy) => timed(BN, 'backward', 0, () => bnBackward(gy, x, weight, bias, mean, variance, eps, true, null)));
    return fuseRelu ? relu(out) : out;
  }
  const family = fuseRelu ? BN_RELU : BN;
  const [hy, hmean, hvar, hws] = timed(family, 'forward', 0, () => B.batchNormForwardTraining(x.handle, weight.handle, bias.handle, { eps, fuseRelu }));
  const y = new Tensor(hy, x.shape);
  const workspace = hws ? new Tensor(hws, [0]) : null;
  const mean = new Tensor(hmean, [x.shape[1]]);
  const variance = new Tensor(hvar, [x.shape[1]]);
  const { runningMean, runningVar } = state;
  if (runningMean && runningVar) {
    const count = x.numel / x.shape[1];
    timed(family, 'forward', 0, () => B.batchNormUpdateRunning(runningMean.handle, runningVar.handle, mean.handle, variance.handle, { momentum: state.momentum, count }));
  }
  if (!needsGrad([x, weight, bias])) {
    mean.dispose();
    variance.dispose();
    workspace?.dispose();
    return y;
  }
  return record(y, fuseRelu ? 'batch_norm_relu' : 'batch_norm', [x, weight, bias], (gy) => timed(family, 'backward', 0, () => bnBackward(gy, x, weight, bias, mean, variance, eps, false, workspace)));
}

function bnBackward(gy: Tensor, x: Tensor, weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: number, globalStats: boolean, workspace: Tensor | null): Tensor[] {
  const [gx, gw, gb] = backend().batchNormBackward(gy.handle, x.handle, weight.handle, bias.handle, mean.handle, variance.handle, workspace?.handle ?? null, { eps, globalStats });
  mean.dispose();
  variance.dispose();
  workspace?.dispose();
  return [new Tensor(gx, x.shape), new Tensor(gw, weight.shape), new Tensor(gb, bias.shape)];
}

// ---- ReLU ----------------------------------------------------------------------------------

export function relu(x: Tensor): Tensor {
  const B = backend();
  const y = new Tensor(timed('relu', 'forward', 0, () => B.reluForward(x.handle)), x.shape);
  // the backward reads only the output (gradient flows where y > 0), not x; x stays referenced
  // as the node's input until the graph is dropped (nothing frees it sooner)
  return record(y, 'relu', [x], (gy) => [new Tensor(timed('relu', 'backward', 0, () => B.reluBackward(gy.handle, y.handle)), x.shape)]);
}

// ---- pooling --------------------------------------------------------------------------------

/** PyTorch's MaxPool2d: implicit -inf padding, floor output size. */
export function maxPool2d(x: Tensor, kernel: Pair, stride: Pair = kernel, padding: Pair = [0, 0]): Tensor {
  expectRank(x, 4, 'max_pool2d');
  const B = backend();
  const shape = [x.shape[0], x.shape[1], outSize(x.shape[2], kernel[0], stride[0], padding[0]), outSize(x.shape[3], kernel[1], stride[1], padding[1])];
  const training = needsGrad([x]);
  const [hy, hws] = timed('max pool', 'forward', 0, () => B.maxPoolForward(x.handle, { kernel, stride, padding, training }));
  const y = new Tensor(hy, shape);
  if (!training) return y;
  const workspace = new Tensor(hws!, [0]);
  return record(y, 'max_pool2d', [x], (gy) => {
    const gx = new Tensor(timed('max pool', 'backward', 0, () => B.maxPoolBackward(gy.handle, x.handle, workspace.handle, { kernel, stride, padding })), x.shape);
    workspace.dispose();
    return [gx];
  });
}

/** AdaptiveAvgPool2d((1, 1)): the mean over each channel's whole map. */
export function globalAvgPool2d(x: Tensor): Tensor {
  expectRank(x, 4, 'adaptive_avg_pool2d');
  const B = backend();
  const [hy] = timed('avg pool', 'forward', 0, () => B.avgPoolForward(x.handle, { training: needsGrad([x]) }));
  const y = new Tensor(hy, [x.shape[0], x.shape[1], 1, 1]);
  return record(y, 'adaptive_avg_pool2d', [x], (gy) => [new Tensor(timed('avg pool', 'backward', 0, () => B.avgPoolBackward(gy.handle, x.handle, null)), x.shape)]);
}

// ---- shape ops -------------------------------------------------------------------------------

/** torch.cat(xs, dim=1) for NCHW tensors; the backward hands each input its slice. */
export function cat(xs: Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('cat: needs at least one tensor');
  const B = backend();
  const shape = [...xs[0].shape];
  shape[1] = xs.reduce((s, t) => s + t.shape[1], 0);
  const y = new Tensor(timed('concat', 'forward', 0, () => B.concat(xs.map((t) => t.handle))), shape);
  return record(y, 'cat', xs, (gy) => timed('concat', 'backward', 0, () => B.concatBackward(gy.handle, xs.map((t) => t.handle))).map((h, i) => new Tensor(h, xs[i].shape)));
}

/** x.view(N, -1). */
export function flatten(x: Tensor): Tensor {
  const B = backend();
  const shape = [x.shape[0], x.numel / x.shape[0]];
  const y = new Tensor(timed('other ops', 'forward', 0, () => B.reshape(x.handle, { shape })), shape);
  return record(y, 'flatten', [x], (gy) => [new Tensor(timed('other ops', 'backward', 0, () => B.reshape(gy.handle, { shape: x.shape })), x.shape)]);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const B = backend();
  const y = new Tensor(timed('other ops', 'forward', 0, () => B.add(a.handle, b.handle)), a.shape);
  return record(y, 'add', [a, b], (gy) => [gy.clone(), gy.clone()]);
}

// ---- linear --------------------------------------------------------------------------------

/** y = x Wᵀ + b with W [out, in], as torch.nn.functional.linear. */
export function linear(x: Tensor, w: Tensor, b: Tensor): Tensor {
  expectRank(x, 2, 'linear');
  const B = backend();
  const flops = 2 * x.shape[0] * x.shape[1] * w.shape[0];
  const y = new Tensor(timed('linear', 'forward', flops, () => B.linearForward(x.handle, w.handle, b.handle)), [x.shape[0], w.shape[0]]);
  return record(y, 'linear', [x, w, b], (gy) => {
    const gx = x.requiresGrad ? new Tensor(timed('linear', 'backward', flops, () => B.linearBackwardData(gy.handle, w.handle)), x.shape) : null;
    if (!w.requiresGrad && !b.requiresGrad) return [gx, null, null];
    const [gw, gb] = timed('linear', 'backward', flops, () => B.linearBackwardWeights(gy.handle, x.handle));
    return [gx, new Tensor(gw, w.shape), new Tensor(gb, b.shape)];
  });
}

// ---- dropout ---------------------------------------------------------------------------------

function maskedDropout(x: Tensor, p: number, maskShape: number[], rng: Rng, name: string): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`${name}: probability must be in [0, 1], got ${p}`);
  const keep = 1 - p;
  const mask = new Float32Array(numel(maskShape));
  for (let i = 0; i < mask.length; i++) mask[i] = keep > 0 && rng.random() < keep ? 1 / keep : 0;
  const B = backend();
  const y = new Tensor(timed('dropout', 'forward', 0, () => B.mulMask(x.handle, mask, { maskShape })), x.shape);
  return record(y, name, [x], (gy) => [new Tensor(timed('dropout', 'backward', 0, () => B.mulMask(gy.handle, mask, { maskShape })), x.shape)]);
}

/** Zeroes each element with probability p and scales the rest by 1/(1-p) (training only). */
export function dropout(x: Tensor, p: number, training: boolean, rng: Rng = defaultGenerator()): Tensor {
  if (!training || p === 0) return x;
  return maskedDropout(x, p, [...x.shape], rng, 'dropout');
}

/** Zeroes whole channels (per sample) with probability p, scaling the rest by 1/(1-p). */
export function dropout2d(x: Tensor, p: number, training: boolean, rng: Rng = defaultGenerator()): Tensor {
  if (!training || p === 0) return x;
  expectRank(x, 4, 'dropout2d');
  return maskedDropout(x, p, [x.shape[0], x.shape[1], 1, 1], rng, 'dropout2d');
}

// ---- loss and metrics ---------------------------------------------------------------------------

export function toTargets(targets: Int32Array | number[] | BigInt64Array): Int32Array {
  if (targets instanceof Int32Array) return targets;
  return Int32Array.from(targets as ArrayLike<number | bigint>, (v) => Number(v));
}

/** F.cross_entropy(logits, targets, reduction): a scalar tensor. */
export function crossEntropy(logits: Tensor, labels: Int32Array | number[], reduction: 'mean' | 'sum' = 'mean'): Tensor {
  const targets = toTargets(labels);
  expectRank(logits, 2, 'cross_entropy');
  const B = backend();
  const [loss] = timed('loss', 'forward', 0, () => B.crossEntropy(logits.handle, targets, { reduction }));
  const y = Tensor.fromArray([loss], []);
  return record(y, 'cross_entropy', [logits], (gy) => {
    const [, g] = timed('loss', 'backward', 0, () => B.crossEntropy(logits.handle, targets, { reduction, dloss: gy.item() }));
    return [new Tensor(g!, logits.shape)];
  });
}

/** Indices of the k largest values of each row, best first (torch.topk(k, 1, True, True).indices). */
export function topk(x: Tensor, k: number): Int32Array {
  expectRank(x, 2, 'topk');
  return backend().topk(x.handle, { k });
}
