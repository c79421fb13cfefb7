// The library's public surface.
export type {
  Backend, BackendMethod, Handle, MemoryStats, Pair, Shape, SetThreadsAttrs, CreateAttrs, ConvAttrs, ConvForwardAttrs,
  ConvBackwardDataAttrs, ConvBackwardWeightsAttrs, BatchNormForwardAttrs, BatchNormBackwardAttrs, BatchNormRunningAttrs,
  MaxPoolAttrs, MaxPoolForwardAttrs, AvgPoolForwardAttrs, MulMaskAttrs, ReshapeAttrs, CrossEntropyAttrs, TopkAttrs,
  AdadeltaAttrs, SgdAttrs, AdamAttrs, ConvAlgorithm,
} from './backend/backend.js';
export { BACKEND_METHODS } from './backend/backend.js';
export { Tensor, tidy, backend, setBackend, memory, type MemoryInfo } from './tensor/tensor.js';
export { backward, noGrad, isGradEnabled } from './autograd/engine.js';
export * from './autograd/ops.js';
export { Module, CounterBuffer, type StateDict } from './nn/module.js';
export * from './nn/layers.js';
export * from './nn/conv-algorithm.js';
export * from './models/googlenet.js';
export {
  NETWORK_FORMAT, NETWORK_KEYS, NETWORK_REQUIRED_KEYS, NETWORK_MODULES, SETTING_NAME_PATTERN, NETWORK_NAME_PATTERN, RESERVED_SETTING_NAMES,
  SETTING_FIELDS, POOL_KEYS, SEED_POOL, NETWORK_DEFAULTS, NETWORK_MAX_BYTES, NETWORK_MAX_PARAMS, NETWORK_CHECK_CLASSES, NETWORK_IMAGE_SIZE,
  validateNetwork, parseNetwork, readNetworkFile, defaultNetworkName, canonicalNetwork, canonicalNetworkJson, networkHash, describeLayers,
  formatNetworkFile, isNetworkFileArgument, networkSchema, networkLayout, scaleChannels, scaledCounts, poolOutput, jsonPath,
  type Network, type NetworkLayer, type NetworkModule, type PoolParams, type LayoutRow,
} from './models/network.js';
export { BUILTIN_NETWORKS, BUILTIN_NETWORK_FILES } from './models/builtin-networks.js';
// architecture search: mutations of a network and non-dominated sorting of (error, MACs)
export {
  MUTATION_KINDS, INSERT_DROPOUTS, WIDTH_FACTORS, HEAD_DROPOUTS, MAX_DRAWS, widthTimes, describeMutation, possibleKinds, drawMutation, applyMutation, proposeChild,
  type Mutation, type MutationKind, type ChildOptions, type Child, type Exhausted, type ExhaustedReason,
} from './explore/mutations.js';
export { dominates, paretoRanks, paretoFront, paretoOrder, promoted, type Scored } from './explore/pareto.js';
export { canonicalize } from './util/canonical-json.js';
export * from './optim/optimizer.js';
export * from './optim/lr_scheduler.js';
export * from './tensor/host.js';
export * from './io/safetensors.js';
export { readTorch, parseTorch, writeTorch, encodeTorch, CHECKPOINT_KEYS, type TorchRead } from './io/torch.js';
export { readWeightsFile, parseWeights, writeWeightsFile, sniffWeights, formatOfName, WEIGHTS_FORMATS, type WeightsFormat } from './io/weights.js';
export { EXPORT_FORMATS, exportFormatOfName, type ExportFormat } from './io/weights.js';
export { encodeOnnx, decodeOnnx, writeOnnxFile, ONNX_OPSET, ONNX_IR_VERSION, type OnnxModel, type OnnxNode, type OnnxValue, type OnnxAttribute, type DecodedOnnx } from './io/onnx.js';
export { toOnnx, ONNX_INPUT, ONNX_OUTPUT, ONNX_BATCH, type OnnxExportInfo } from './models/onnx-export.js';
export { readWeights } from './train/checkpoint.js';
export { Rng } from './util/rng.js';
export { manualSeed, defaultGenerator } from './util/generator.js';
export * from './models/summary.js';
export { trainStep, type StepObserver } from './train/step.js';
// data: CIFAR, its transforms and the seeded loader
export { DATASETS, FORMATS, readCifar, type CifarSplit, type DataFormat, type DatasetName, type DatasetInfo, type ReadOptions, type Split } from './data/cifar.js';
export { DataLoader, type Batch, type LoaderOptions } from './data/loader.js';
export { NORMALIZATIONS, NO_AUGMENTATION, type Augmentation, type Normalization } from './data/transforms.js';
export { loadData, type DataRequest } from './data/load.js';
export { ensureDataset } from './data/download.js';
// training: the recipe and run options, the loop, evaluation, run stores
export {
  defaultConfig, defaultRecipe, defaultRunOptions, configFromFlat, recipeDifference, makeOptimizer, makeScheduler, augmentation, normalization, classCount,
  OPTIMIZERS, SCHEDULERS, AUGMENTATIONS, NORMALIZE_CHOICES, PRECISIONS, DATASET_NAMES,
  type Recipe, type RunOptions, type TrainConfig, type OptimizerName, type SchedulerName, type AugmentName, type NormalizeName,
} from './train/config.js';
export { train, type TrainOptions, type TrainHooks, type TrainResult } from './train/trainer.js';
export { evaluate, type EvalResult } from './train/evaluate.js';
export type { EpochRecord } from './train/record.js';
export { StopRequest } from './train/stop.js';
export { openStore, redactUrl } from './store/open.js';
export type { RunStore, RunClaim, RunRow, AttemptRow, RunSpec } from './store/store.js';
