// The one boundary between TypeScript and the kernels. Everything above it (tensors,
// autograd, modules, optimizers) speaks only this interface, so another backend (CUDA/
// cuDNN) can sit beside oneDNN without changes above. Handles are opaque: a backend
// may keep activations in any physical layout; `read`/`write` convert at the edges.
//
// The calling convention, one rule for every method: data goes positionally — handles (null
// where a tensor is optional), lists of handles, host arrays (Float32Array, Int32Array) — and
// every other parameter (numbers, flags, shapes, pairs, strings) goes by name in ONE trailing
// attributes object, present exactly when the method has such parameters. Swapping two numbers
// then cannot compile, and the native side checks the call as well (see Attrs in native/core.h):
// the argument count, each attribute's type, and that no attribute is unknown (a typo), each
// error naming the method and the attribute.

/** An opaque native buffer owned by the backend. Free it with `release`. */
export type Handle = { readonly __handle: unique symbol };

export type Pair = readonly [number, number];
export type Shape = readonly number[];

export interface MemoryStats {
  liveBytes: number;
  cachedBytes: number;
  peakBytes: number;
  primitives: number;
  threads: number;
}

// ---- attributes, one interface per method that has any ----------------------------------

export interface SetThreadsAttrs {
  threads: number;
}

/** A new plain f32 tensor: the data given, else filled with `fill` (default 0). */
export interface CreateAttrs {
  shape: Shape;
  fill?: number;
}

/**
 * direct, or Winograd F(4x4, 3x3): fewer multiplications, results within about 1e-6 relative of
 * direct. oneDNN 2.6 has Winograd for avx512_core only; where it has none for a shape and pass, the
 * backend computes that one direct (the same way every time on one machine).
 */
export type ConvAlgorithm = 'direct' | 'winograd';

/** Convolution geometry: PyTorch's stride and padding (floor output size); bf16: mixed precision. */
export interface ConvAttrs {
  stride: Pair;
  padding: Pair;
  bf16: boolean;
  algorithm: ConvAlgorithm;
}
export interface ConvForwardAttrs extends ConvAttrs {
  /** Whether a backward will follow (oneDNN's forward_training). */
  training: boolean;
}
export interface ConvBackwardDataAttrs extends ConvAttrs {
  hasBias: boolean;
}
export interface ConvBackwardWeightsAttrs extends ConvAttrs {
  weightShape: Shape;
  hasBias: boolean;
}

/**
 * An eval-mode convolution with the BatchNorm after it folded in (f32): PyTorch's stride and padding,
 * the BatchNorm's eps, and whether the ReLU after the BatchNorm runs as the convolution's post-op.
 */
export interface ConvBnInferenceAttrs {
  stride: Pair;
  padding: Pair;
  eps: number;
  relu: boolean;
  /** As the convolution unfolded: Winograd falls back to direct where oneDNN has none. */
  algorithm: ConvAlgorithm;
}

export interface BatchNormForwardAttrs {
  eps: number;
  /** y = relu(bn(x)) from one kernel. */
  fuseRelu: boolean;
}
export interface BatchNormBackwardAttrs {
  eps: number;
  /** Eval mode: mean and variance are constants. */
  globalStats: boolean;
}
export interface BatchNormRunningAttrs {
  /** Weight of the batch statistics (PyTorch's momentum). */
  momentum: number;
  /** Values per channel in the batch, for the unbiased variance. */
  count: number;
}

/** PyTorch's MaxPool2d geometry (floor mode). */
export interface MaxPoolAttrs {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}
export interface MaxPoolForwardAttrs extends MaxPoolAttrs {
  training: boolean;
}
export interface AvgPoolForwardAttrs {
  training: boolean;
}

export interface MulMaskAttrs {
  /** The mask's dims: the input's, or 1 where the mask broadcasts. */
  maskShape: Shape;
}
export interface ReshapeAttrs {
  shape: Shape;
}

export interface CrossEntropyAttrs {
  reduction: 'mean' | 'sum';
  /** When given, the gradient of loss·dloss with respect to the logits is returned too. */
  dloss?: number;
}
export interface TopkAttrs {
  k: number;
}

export interface AdadeltaAttrs {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}
export interface SgdAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** The momentum buffer starts as the first gradient (PyTorch). */
  firstStep: boolean;
}
export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW's weight decay (p *= 1 - lr·wd) instead of L2 added to the gradient. */
  decoupled: boolean;
  /** The step count, from 1, for the bias corrections. */
  step: number;
}

export interface Backend {
  readonly name: string;
  version(): string;
  /** The instruction set oneDNN's kernels use here, e.g. 'avx2' or 'avx512_core_bf16'. */
  cpuIsa(): string;
  setThreads(attrs: SetThreadsAttrs): void;
  stats(): MemoryStats;
  emptyCache(): void;

  // memory
  create(data: Float32Array | null, attrs: CreateAttrs): Handle;
  read(h: Handle): Float32Array;
  write(h: Handle, data: Float32Array): void;
  copy(h: Handle): Handle;
  release(h: Handle): void;

  // convolution (weights [out, in, kh, kw]). With bf16 the activations and a bf16 copy of the
  // weights are used; weight and bias gradients stay f32.
  convForward(x: Handle, w: Handle, b: Handle | null, attrs: ConvForwardAttrs): Handle;
  convBackwardData(dy: Handle, x: Handle, w: Handle, attrs: ConvBackwardDataAttrs): Handle;
  convBackwardWeights(dy: Handle, x: Handle, attrs: ConvBackwardWeightsAttrs): [Handle, Handle | null];
  /**
   * y = [relu](batch_norm_eval(conv(x, w, b))) as one f32 convolution (forward_inference, no backward):
   * weights w·s and bias (b − mean)·s + beta, s = gamma/√(variance + eps) per output channel, folded
   * anew on every call (nothing kept that could go stale); gamma, beta, mean and variance hold one
   * value per output channel.
   */
  convBnForwardInference(x: Handle, w: Handle, b: Handle | null, gamma: Handle, beta: Handle, mean: Handle, variance: Handle, attrs: ConvBnInferenceAttrs): Handle;

  // batch normalization (f32 statistics for any activation type). Training returns [y, mean, biased
  // variance, workspace]; with fuseRelu y = relu(bn(x)) and the workspace (else null) serves the backward.
  batchNormForwardTraining(x: Handle, gamma: Handle, beta: Handle, attrs: BatchNormForwardAttrs): [Handle, Handle, Handle, Handle | null];
  batchNormForwardInference(x: Handle, gamma: Handle, beta: Handle, mean: Handle, variance: Handle, attrs: BatchNormForwardAttrs): Handle;
  /** workspace: a fused ReLU's, from the training forward. */
  batchNormBackward(dy: Handle, x: Handle, gamma: Handle, beta: Handle, mean: Handle, variance: Handle, workspace: Handle | null, attrs: BatchNormBackwardAttrs): [Handle, Handle, Handle];
  batchNormUpdateRunning(runningMean: Handle, runningVar: Handle, mean: Handle, variance: Handle, attrs: BatchNormRunningAttrs): void;

  reluForward(x: Handle): Handle;
  reluBackward(dy: Handle, y: Handle): Handle;

  // pooling: max returns [y, workspace]; avg is global average (AdaptiveAvgPool2d(1))
  maxPoolForward(x: Handle, attrs: MaxPoolForwardAttrs): [Handle, Handle | null];
  maxPoolBackward(dy: Handle, x: Handle, workspace: Handle, attrs: MaxPoolAttrs): Handle;
  avgPoolForward(x: Handle, attrs: AvgPoolForwardAttrs): [Handle, null];
  avgPoolBackward(dy: Handle, x: Handle, workspace: null): Handle;

  concat(xs: Handle[]): Handle;
  concatBackward(dy: Handle, xs: Handle[]): Handle[];
  /** a + b in a's layout (b is converted to it). */
  add(a: Handle, b: Handle): Handle;
  /** a += b in place, in a's layout: bit for bit what add(a, b) returns (gradient accumulation). */
  addInPlace(a: Handle, b: Handle): void;
  mulMask(x: Handle, mask: Float32Array, attrs: MulMaskAttrs): Handle;
  reshape(x: Handle, attrs: ReshapeAttrs): Handle;

  linearForward(x: Handle, w: Handle, b: Handle): Handle;
  linearBackwardData(dy: Handle, w: Handle): Handle;
  linearBackwardWeights(dy: Handle, x: Handle): [Handle, Handle];

  /** Softmax cross-entropy: [loss, d(loss·dloss)/dlogits when dloss is given, else null]. */
  crossEntropy(logits: Handle, targets: Int32Array, attrs: CrossEntropyAttrs): [number, Handle | null];
  topk(x: Handle, attrs: TopkAttrs): Int32Array;

  // optimizer updates, in place on plain parameter/state buffers (PyTorch semantics)
  adadeltaStep(p: Handle, g: Handle, squareAvg: Handle, accDelta: Handle, attrs: AdadeltaAttrs): void;
  sgdStep(p: Handle, g: Handle, buf: Handle | null, attrs: SgdAttrs): void;
  adamStep(p: Handle, g: Handle, expAvg: Handle, expAvgSq: Handle, maxExpAvgSq: Handle | null, attrs: AdamAttrs): void;
}

export type BackendMethod = Exclude<keyof Backend, 'name'>;

/** Every method a backend implements, for the load-time check of the native addon and its test. */
export const BACKEND_METHODS = [
  'version', 'cpuIsa', 'setThreads', 'stats', 'emptyCache',
  'create', 'read', 'write', 'copy', 'release',
  'convForward', 'convBackwardData', 'convBackwardWeights', 'convBnForwardInference',
  'batchNormForwardTraining', 'batchNormForwardInference', 'batchNormBackward', 'batchNormUpdateRunning',
  'reluForward', 'reluBackward',
  'maxPoolForward', 'maxPoolBackward', 'avgPoolForward', 'avgPoolBackward',
  'concat', 'concatBackward', 'add', 'addInPlace', 'mulMask', 'reshape',
  'linearForward', 'linearBackwardData', 'linearBackwardWeights',
  'crossEntropy', 'topk',
  'adadeltaStep', 'sgdStep', 'adamStep',
] as const satisfies readonly BackendMethod[];

// Compile-time proof that the list is complete: a method added to Backend but not to the list
// makes this line fail, with the missing name in the error.
type Unlisted = Exclude<BackendMethod, (typeof BACKEND_METHODS)[number]>;
const listed: [Unlisted] extends [never] ? true : { missingFromBackendMethods: Unlisted } = true;
void listed;
