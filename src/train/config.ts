// Training configuration: the seed's flags and defaults, plus the optimizer, scheduler and
// augmentation choices, and how each becomes an object.
import os from 'node:os';
import path from 'node:path';
import { DATASETS, type DatasetName } from '../data/cifar.js';
import { NORMALIZATIONS, type Augmentation, type Normalization } from '../data/transforms.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Precision } from '../nn/layers.js';
import { Adadelta, Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, LinearLR, MultiStepLR, SequentialLR, StepLR, type LRScheduler } from '../optim/lr_scheduler.js';

export type OptimizerName = 'adadelta' | 'sgd' | 'adam' | 'adamw';
export type SchedulerName = 'step' | 'multistep' | 'cosine';
export type AugmentName = 'none' | 'flip' | 'flip+crop';
export type NormalizeName = 'seed' | 'dataset';

export interface TrainConfig {
  model: string;
  dataset: DatasetName;
  dataDir: string;
  out: string;
  batchSize: number;
  testBatchSize: number;
  epochs: number;
  lr: number;
  gamma: number;
  seed: number;
  logInterval: number;
  dryRun: boolean;
  saveModel: boolean;
  optimizer: OptimizerName;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  scheduler: SchedulerName;
  milestones: number[];
  warmupEpochs: number;
  augment: AugmentName;
  normalize: NormalizeName;
  limitTrain: number | null;
  limitTest: number | null;
  fixBnEps: boolean;
  /** CIFAR-100's 20 superclasses instead of its 100 classes. */
  coarse: boolean;
  precision: Precision;
  threads: number;
  workers: number;
}

/** The seed's recipe: Adadelta(lr 1.0), StepLR(1, 0.7) each epoch, flip + Normalize(0.5), batch 64/10, 14 epochs, seed 1. */
export function defaultConfig(model = 'googlenet', dataset: DatasetName = 'cifar100'): TrainConfig {
  return {
    model, dataset, dataDir: './data', out: path.join('runs', `${model}-${dataset}`),
    batchSize: 64, testBatchSize: 10, epochs: 14, lr: 1.0, gamma: 0.7, seed: 1, logInterval: 10,
    dryRun: false, saveModel: false,
    optimizer: 'adadelta', momentum: 0, weightDecay: 0, nesterov: false, beta1: 0.9, beta2: 0.999,
    scheduler: 'step', milestones: [], warmupEpochs: 0,
    augment: 'flip', normalize: 'seed', limitTrain: null, limitTest: null, fixBnEps: false, coarse: false, precision: 'fp32',
    threads: os.availableParallelism(), workers: 1,
  };
}

/** Number of classes the labels of this configuration have. */
export function classCount(c: Pick<TrainConfig, 'dataset' | 'coarse'>): number {
  const info = DATASETS[c.dataset];
  return c.coarse ? info.coarseClasses ?? info.classes : info.classes;
}

export function augmentation(name: AugmentName): Augmentation {
  return { flip: name === 'none' ? 0 : 0.5, cropPadding: name === 'flip+crop' ? 4 : 0 };
}

export function normalization(c: TrainConfig): Normalization {
  return c.normalize === 'seed' ? NORMALIZATIONS.half : NORMALIZATIONS[c.dataset];
}

export function makeOptimizer(c: TrainConfig, params: Tensor[]): Optimizer {
  const common = { lr: c.lr, weightDecay: c.weightDecay };
  switch (c.optimizer) {
    case 'adadelta':
      return new Adadelta(params, common);
    case 'sgd':
      return new SGD(params, { ...common, momentum: c.momentum, nesterov: c.nesterov });
    case 'adam':
      return new Adam(params, { ...common, betas: [c.beta1, c.beta2] });
    case 'adamw':
      return new AdamW(params, { ...common, betas: [c.beta1, c.beta2] });
  }
}

/** Stepped once per epoch. With warm-up, LinearLR from lr/10 over warmupEpochs, then the schedule. */
export function makeScheduler(c: TrainConfig, opt: Optimizer): LRScheduler {
  const main = (): LRScheduler => {
    switch (c.scheduler) {
      case 'step':
        return new StepLR(opt, 1, c.gamma);
      case 'multistep':
        return new MultiStepLR(opt, c.milestones, c.gamma);
      case 'cosine':
        return new CosineAnnealingLR(opt, Math.max(1, c.epochs - c.warmupEpochs));
    }
  };
  if (c.warmupEpochs <= 0) return main();
  const warm = new LinearLR(opt, 0.1, 1.0, c.warmupEpochs);
  return new SequentialLR(opt, [warm, main()], [c.warmupEpochs]);
}
