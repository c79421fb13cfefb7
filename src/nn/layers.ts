// The layers GoogLeNet needs, with PyTorch's constructor arguments, parameter names and
// default initialisation (kaiming-uniform with a=√5 for weights, uniform ±1/√fan_in for
// biases, BatchNorm weight 1 and bias 0, running mean 0 and var 1).
import type { ConvAlgorithm, Pair } from '../backend/backend.js';
import { needsGrad } from '../autograd/engine.js';
import * as F from '../autograd/ops.js';
import { numel } from '../tensor/host.js';
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator } from '../util/generator.js';
import type { Rng } from '../util/rng.js';
import { CounterBuffer, Module } from './module.js';
import { bf16Unsupported } from './precision.js';

function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : v;
}

function checkPositiveInt(v: number, what: string, layer: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${layer}: ${what} must be a positive integer, got ${v}`);
}

/** U(-bound, bound) with bound = 1/√fan_in: PyTorch's kaiming_uniform_(a=√5) and its bias init. */
function uniformInit(shape: number[], fanIn: number, rng: Rng): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-bound, bound);
  return Tensor.fromArray(data, shape);
}

export interface Conv2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  bias?: boolean;
  rng?: Rng;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: Pair;
  readonly padding: Pair;
  /** Compute in bfloat16 (mixed precision; see setPrecision). */
  bf16 = false;
  /** Winograd or direct, for all three passes (see setConvAlgorithm in conv-algorithm.ts). */
  algorithm: ConvAlgorithm = 'direct';

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | Pair, opts: Conv2dOptions = {}) {
    super();
    checkPositiveInt(inChannels, 'in_channels', 'Conv2d');
    checkPositiveInt(outChannels, 'out_channels', 'Conv2d');
    const [kh, kw] = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    const rng = opts.rng ?? defaultGenerator();
    const fanIn = inChannels * kh * kw;
    this.weight = this.registerParameter('weight', uniformInit([outChannels, inChannels, kh, kw], fanIn, rng));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniformInit([outChannels], fanIn, rng));
  }

  override describe(): string {
    const [, , kh, kw] = this.weight.shape;
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${kh}, ${kw}), stride=(${this.stride}), padding=(${this.padding})`;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.stride, this.padding, this.bf16, this.algorithm);
  }
}

export interface BatchNorm2dOptions {
  /**
   * A ReLU follows this layer: forward returns relu(batch_norm(x)) from one fused kernel (one
   * tensor fewer), and the ReLU module, kept in place for its name, passes that output through.
   */
  fuseRelu?: boolean;
}

// The tensors a fused BatchNorm2d returned: already rectified, so a ReLU returns them as they are.
// A fact about a value, not a mode: a ReLU given anything else computes relu. Weak: keeps nothing alive.
const rectified = new WeakSet<Tensor>();

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: CounterBuffer;
  readonly fuseRelu: boolean;

  /** momentum null = cumulative moving average, as PyTorch. */
  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum: number | null = 0.1, opts: BatchNorm2dOptions = {}) {
    super();
    checkPositiveInt(numFeatures, 'num_features', 'BatchNorm2d');
    if (!(eps > 0)) throw new Error(`BatchNorm2d: eps must be positive, got ${eps}`);
    this.fuseRelu = opts.fuseRelu ?? false;
    this.weight = this.registerParameter('weight', Tensor.full([numFeatures], 1));
    this.bias = this.registerParameter('bias', Tensor.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', Tensor.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', Tensor.full([numFeatures], 1));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', new CounterBuffer());
  }

  override describe(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.numFeatures)
      throw new Error(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got [${x.shape.join(', ')}]`);
    let momentum = this.momentum ?? 0;
    if (this.training) {
      this.numBatchesTracked.value += 1n;
      if (this.momentum === null) momentum = 1 / Number(this.numBatchesTracked.value);
    }
    const y = F.batchNorm2d(x, this.weight, this.bias, { runningMean: this.runningMean, runningVar: this.runningVar, momentum }, this.training, this.eps, this.fuseRelu);
    if (this.fuseRelu) rectified.add(y);
    return y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    // the output of a BatchNorm2d declared with fuseRelu already went through the ReLU
    return rectified.has(x) ? x : F.relu(x);
  }
}

export class MaxPool2d extends Module {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;

  constructor(kernelSize: number | Pair, stride?: number | Pair, padding: number | Pair = 0) {
    super();
    this.kernel = pair(kernelSize);
    this.stride = pair(stride ?? kernelSize);
    this.padding = pair(padding);
    if (this.padding.some((p, i) => p * 2 > this.kernel[i]))
      throw new Error(`MaxPool2d: padding should be at most half of kernel size, got kernel ${this.kernel} padding ${this.padding}`);
  }

  override describe(): string {
    return `kernel_size=${this.kernel[0]}, stride=${this.stride[0]}, padding=${this.padding[0]}`;
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernel, this.stride, this.padding);
  }
}

/** AdaptiveAvgPool2d; only the output size (1, 1) that GoogLeNet uses is implemented. */
export class AdaptiveAvgPool2d extends Module {
  constructor(outputSize: number | Pair = 1) {
    super();
    const [h, w] = pair(outputSize);
    if (h !== 1 || w !== 1) throw new Error(`AdaptiveAvgPool2d: only output size (1, 1) is supported, got (${h}, ${w})`);
  }

  override describe(): string {
    return 'output_size=(1, 1)';
  }

  forward(x: Tensor): Tensor {
    return F.globalAvgPool2d(x);
  }
}

export class Dropout extends Module {
  constructor(public p = 0.5, readonly rng?: Rng) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }

  override describe(): string {
    return `p=${this.p}`;
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.rng);
  }
}

/** Zeroes whole channels of each sample (nn.Dropout2d). */
export class Dropout2d extends Dropout {
  override forward(x: Tensor): Tensor {
    return F.dropout2d(x, this.p, this.training, this.rng);
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng = defaultGenerator()) {
    super();
    checkPositiveInt(inFeatures, 'in_features', 'Linear');
    checkPositiveInt(outFeatures, 'out_features', 'Linear');
    this.weight = this.registerParameter('weight', uniformInit([outFeatures, inFeatures], inFeatures, rng));
    this.bias = this.registerParameter('bias', uniformInit([outFeatures], inFeatures, rng));
  }

  override describe(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}`;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** x.view(N, -1) */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return F.flatten(x);
  }
}

/** A Conv2d, the BatchNorm2d after it, and whether the ReLU module after that is fused too. */
interface Fold {
  conv: Conv2d;
  bn: BatchNorm2d;
  reluModule: boolean;
}

/**
 * Whether layers[i] starts a run that computes as one folded convolution on input x: a f32 Conv2d
 * directly followed by its BatchNorm2d in eval mode, no gradient needed, and no forward hook on
 * either (a hook must see the module's real output, so hooks are the way to watch every layer). The
 * ReLU module directly after joins when it has no hook either. Exact classes, not subclasses: a
 * subclass may compute something else in its forward, which the fold would skip.
 */
function foldAt(layers: readonly Module[], i: number, x: Tensor): Fold | null {
  const conv = layers[i], bn = layers[i + 1], relu = layers[i + 2];
  if (!exactly(conv, Conv2d) || !exactly(bn, BatchNorm2d)) return null;
  if (bn.training || conv.bf16 || bn.numFeatures !== conv.outChannels || conv.hasForwardHooks() || bn.hasForwardHooks()) return null;
  if (needsGrad([x, conv.weight, conv.bias, bn.weight, bn.bias])) return null;
  return { conv, bn, reluModule: exactly(relu, ReLU) && !relu.hasForwardHooks() };
}

function exactly<M extends Module>(m: Module | undefined, cls: abstract new (...args: never[]) => M): m is M {
  return m !== undefined && m.constructor === cls;
}

/**
 * Children named '0', '1', … as PyTorch's nn.Sequential.
 *
 * In eval mode without gradients (noGrad, or nothing requires grad), a Conv2d directly followed by a
 * BatchNorm2d runs as one convolution with the BatchNorm folded into its weights and bias
 * (F.conv2dBatchNormEval), and a ReLU directly after the BatchNorm runs as that convolution's
 * post-op: the BatchNorm's and the ReLU's modules are then not called at all. The quirk: this is
 * seen only within one Sequential (a ReLU elsewhere, e.g. in the parent, is not fused, though a
 * BatchNorm declared with fuseRelu still rectifies). A forward hook on the Conv2d or the BatchNorm2d,
 * a bf16 convolution, training mode or a forward that records a graph runs each module as usual (the
 * same values to float rounding, by separate kernels); a hook on the ReLU leaves only it to run apart.
 */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  forward(x: Tensor): Tensor {
    const layers = this.layers;
    let h = x;
    for (let i = 0; i < layers.length; ) {
      const fold = foldAt(layers, i, h);
      if (!fold) {
        h = layers[i++].call(h);
        continue;
      }
      const { conv, bn, reluModule } = fold;
      // a BatchNorm declared with fuseRelu returns rectified values whatever follows it
      const relu = bn.fuseRelu || reluModule;
      h = F.conv2dBatchNormEval(h, conv.weight, conv.bias, bn, conv.stride, conv.padding, bn.eps, relu, conv.algorithm);
      if (relu) rectified.add(h);
      i += reluModule ? 3 : 2;
    }
    return h;
  }
}

export type Precision = 'fp32' | 'bf16';

/**
 * fp32, or bf16 mixed precision: convolutions compute in bfloat16 (activations bf16, weights
 * converted on the fly from the f32 master copy, weight gradients f32); BatchNorm keeps f32
 * statistics, and the classifier and loss run in f32.
 */
export function setPrecision(model: Module, precision: Precision): void {
  const unsupported = precision === 'bf16' ? bf16Unsupported() : null;
  if (unsupported) throw new Error(unsupported);
  for (const [, m] of model.namedModules()) if (m instanceof Conv2d) m.bf16 = precision === 'bf16';
}
