// The one boundary between TypeScript and the kernels. Everything above it (tensors,
// autograd, modules, optimizers) speaks only this interface, so another backend (CUDA/
// cuDNN) can sit beside oneDNN without changes above. Handles are opaque: a backend
// may keep activations in any physical layout; `read`/`write` convert at the edges.

/** An opaque native buffer owned by the backend. Free it with `release`. */
export type Handle = { readonly __handle: unique symbol };

export type Pair = readonly [number, number];

export interface MemoryStats {
  liveBytes: number;
  cachedBytes: number;
  peakBytes: number;
  primitives: number;
  threads: number;
}

export interface Backend {
  readonly name: string;
  version(): string;
  setThreads(n: number): void;
  stats(): MemoryStats;
  emptyCache(): void;

  // memory
  create(shape: readonly number[], init?: Float32Array | number): Handle;
  read(h: Handle): Float32Array;
  write(h: Handle, data: Float32Array): void;
  copy(h: Handle): Handle;
  release(h: Handle): void;
  layout(h: Handle): string;

  // convolution (weights [out, in, kh, kw], PyTorch's padding and floor output size). With bf16 the
  // activations and a bf16 copy of the weights are used; weight and bias gradients stay f32.
  convForward(x: Handle, w: Handle, b: Handle | null, stride: Pair, padding: Pair, training: boolean, bf16: boolean): Handle;
  convBackwardData(dy: Handle, x: Handle, w: Handle, stride: Pair, padding: Pair, hasBias: boolean, bf16: boolean): Handle;
  convBackwardWeights(dy: Handle, x: Handle, wShape: readonly number[], stride: Pair, padding: Pair, hasBias: boolean, bf16: boolean): [Handle, Handle | null];

  // batch normalization (f32 statistics for any activation type). Training returns [y, mean, biased
  // variance, workspace]; with fuseRelu y = relu(bn(x)) and the workspace (else null) serves the backward.
  batchNormForwardTraining(x: Handle, gamma: Handle, beta: Handle, eps: number, fuseRelu: boolean): [Handle, Handle, Handle, Handle | null];
  batchNormForwardInference(x: Handle, gamma: Handle, beta: Handle, mean: Handle, variance: Handle, eps: number, fuseRelu: boolean): Handle;
  /** With globalStats (eval mode) mean and variance are treated as constants; workspace: a fused ReLU's. */
  batchNormBackward(dy: Handle, x: Handle, gamma: Handle, beta: Handle, mean: Handle, variance: Handle, eps: number, globalStats: boolean, workspace: Handle | null): [Handle, Handle, Handle];
  batchNormUpdateRunning(runningMean: Handle, runningVar: Handle, mean: Handle, variance: Handle, momentum: number, count: number): void;

  reluForward(x: Handle): Handle;
  reluBackward(dy: Handle, y: Handle): Handle;

  // pooling: max returns [y, workspace]; avg is global average (AdaptiveAvgPool2d(1))
  maxPoolForward(x: Handle, kernel: Pair, stride: Pair, padding: Pair, training: boolean): [Handle, Handle | null];
  maxPoolBackward(dy: Handle, x: Handle, workspace: Handle, kernel: Pair, stride: Pair, padding: Pair): Handle;
  avgPoolForward(x: Handle, training: boolean): [Handle, null];
  avgPoolBackward(dy: Handle, x: Handle, workspace: null): Handle;

  concat(xs: Handle[]): Handle;
  concatBackward(dy: Handle, xs: Handle[]): Handle[];
  add(a: Handle, b: Handle): Handle;
  mulMask(x: Handle, mask: Float32Array, maskShape: readonly number[]): Handle;
  reshape(x: Handle, shape: readonly number[]): Handle;

  linearForward(x: Handle, w: Handle, b: Handle): Handle;
  linearBackwardData(dy: Handle, w: Handle): Handle;
  linearBackwardWeights(dy: Handle, x: Handle): [Handle, Handle];

  /** Softmax cross-entropy; with dloss given also returns d(loss·dloss)/dlogits. */
  crossEntropy(logits: Handle, targets: Int32Array, dloss?: number, reduction?: 'mean' | 'sum'): [number, Handle | null];
  topk(x: Handle, k: number): Int32Array;

  // optimizer updates, in place on plain parameter/state buffers (PyTorch semantics)
  adadeltaStep(p: Handle, g: Handle, squareAvg: Handle, accDelta: Handle, lr: number, rho: number, eps: number, weightDecay: number): void;
  sgdStep(p: Handle, g: Handle, buf: Handle | null, lr: number, momentum: number, dampening: number, nesterov: boolean, weightDecay: number, firstStep: boolean): void;
  adamStep(p: Handle, g: Handle, expAvg: Handle, expAvgSq: Handle, maxExpAvgSq: Handle | null, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, step: number): void;
}
