// The library's public surface.
export type {
  Backend, BackendMethod, Handle, MemoryStats, Pair, Shape, SetThreadsAttrs, CreateAttrs, ConvAttrs, ConvForwardAttrs,
  ConvBackwardDataAttrs, ConvBackwardWeightsAttrs, BatchNormForwardAttrs, BatchNormBackwardAttrs, BatchNormRunningAttrs,
  MaxPoolAttrs, MaxPoolForwardAttrs, AvgPoolForwardAttrs, MulMaskAttrs, ReshapeAttrs, CrossEntropyAttrs, TopkAttrs,
  AdadeltaAttrs, SgdAttrs, AdamAttrs,
} from './backend/backend.js';
export { BACKEND_METHODS } from './backend/backend.js';
export { Tensor, tidy, backend, setBackend } from './tensor/tensor.js';
export { backward, noGrad, isGradEnabled } from './autograd/engine.js';
export * from './autograd/ops.js';
export { Module, CounterBuffer, type StateDict } from './nn/module.js';
export * from './nn/layers.js';
export * from './models/googlenet.js';
export * from './optim/optimizer.js';
export * from './optim/lr_scheduler.js';
export * from './tensor/host.js';
export * from './io/safetensors.js';
export { Rng } from './util/rng.js';
export { manualSeed, defaultGenerator } from './util/generator.js';
export * from './models/summary.js';
export { trainStep, type StepObserver } from './train/step.js';
export type { Batch } from './data/loader.js';
