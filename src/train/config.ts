// Training configuration, in two parts. The recipe is everything that changes the numbers a
// run produces (network, data, optimizer, schedule, augmentation, precision…): a run is
// identified by it and can only resume under the same one. The run options are how and where
// it runs (paths, threads, log interval, loader workers): they may change between attempts.
// Every default and every list of choices is declared here once; the CLI derives its flags'
// defaults and choices from these.
import type { WeightsFormat } from '../io/weights.js';
import os from 'node:os';
import path from 'node:path';
import { DATASETS, type DatasetName } from '../data/cifar.js';
import { NORMALIZATIONS, type Augmentation, type Normalization } from '../data/transforms.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ConvChoice } from '../nn/conv-algorithm.js';
import type { Precision } from '../nn/layers.js';
import { Adadelta, Adam, AdamW, ADAMW_WEIGHT_DECAY, SGD, type Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, LinearLR, MultiStepLR, SequentialLR, StepLR, type LRScheduler } from '../optim/lr_scheduler.js';
import { borrowsBuiltinName, modelNames, resolveNetwork } from '../models/googlenet.js';
import { canonicalNetwork, describeLayers, isNetworkFileArgument, networkHash, validateNetwork, type Network } from '../models/network.js';
import { canonicalize } from '../util/canonical-json.js';
import { createHash } from 'node:crypto';

export const OPTIMIZERS = ['adadelta', 'sgd', 'adam', 'adamw'] as const;
export const SCHEDULERS = ['step', 'multistep', 'cosine'] as const;
export const AUGMENTATIONS = ['none', 'flip', 'flip+crop'] as const;
export const NORMALIZE_CHOICES = ['seed', 'dataset'] as const;
export const PRECISIONS = ['fp32', 'bf16'] as const satisfies readonly Precision[];
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

export type OptimizerName = (typeof OPTIMIZERS)[number];
export type SchedulerName = (typeof SCHEDULERS)[number];
export type AugmentName = (typeof AUGMENTATIONS)[number];
export type NormalizeName = (typeof NORMALIZE_CHOICES)[number];

/**
 * A network as a recipe holds it: its canonical form (src/models/network.ts), itself a valid
 * network file, so a run resumes and is reported where the file it came from is not.
 */
export type NetworkData = Readonly<Record<string, unknown>>;

/** What changes the numbers: two runs with equal recipes compute the same thing. */
export interface Recipe {
  /** The network's name (a built-in's, or a network file's `name`, by default its base name). */
  model: string;
  /** The network itself; the name is only what reports call it. */
  network: NetworkData;
  dataset: DatasetName;
  /** CIFAR-100's 20 superclasses instead of its 100 classes. */
  coarse: boolean;
  limitTrain: number | null;
  limitTest: number | null;
  /**
   * The validation hold-out: the first `val` training images (after limitTrain, before shuffling)
   * are held out, each epoch evaluates them instead of the test set, and training uses the rest.
   * 0: none (a recipe written before the field existed has none).
   */
  val: number;
  batchSize: number;
  epochs: number;
  seed: number;
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  scheduler: SchedulerName;
  gamma: number;
  milestones: number[];
  warmupEpochs: number;
  augment: AugmentName;
  normalize: NormalizeName;
  fixBnEps: boolean;
  precision: Precision;
}

/**
 * How and where a run runs; none of it changes what is computed (threads and the convolution
 * algorithm change the last bits: threads are pinned on resume, the algorithm is recorded with each
 * attempt, like the ISA, and a resume under another warns).
 */
export interface RunOptions {
  dataDir: string;
  out: string;
  /** Evaluation batch size: speed and memory only (the test set is evaluated per image). */
  testBatchSize: number;
  logInterval: number;
  /** Minutes of training between mid-epoch checkpoints (0: only at each epoch's end). */
  checkpointEvery: number;
  dryRun: boolean;
  saveModel: boolean;
  /** --save-model's file: model.safetensors, or model.pt (torch.save, for torch.load(weights_only=True)). */
  saveFormat: WeightsFormat;
  threads: number;
  workers: number;
  /** Which convolutions compute by Winograd (src/nn/conv-algorithm.ts): the rule, always direct, or the rule insisted on. */
  conv: ConvChoice;
}

export interface TrainConfig {
  recipe: Recipe;
  run: RunOptions;
}

/** The seed's recipe: Adadelta(lr 1.0), StepLR(1, 0.7) each epoch, flip + Normalize(0.5), batch 64, 14 epochs, seed 1. */
export function defaultRecipe(model = 'googlenet', dataset: DatasetName = 'cifar100'): Recipe {
  return {
    ...recipeNetwork(model), dataset, coarse: false, limitTrain: null, limitTest: null, val: 0,
    batchSize: 64, epochs: 14, seed: 1,
    optimizer: 'adadelta', lr: 1.0, weightDecay: 0, momentum: 0, nesterov: false, beta1: 0.9, beta2: 0.999,
    scheduler: 'step', gamma: 0.7, milestones: [], warmupEpochs: 0,
    augment: 'flip', normalize: 'seed', fixBnEps: false, precision: 'fp32',
  };
}

/** The seed's run options (test batch 10, a log line every 10 batches) on all cores. */
export function defaultRunOptions(model = 'googlenet', dataset: DatasetName = 'cifar100'): RunOptions {
  return {
    dataDir: './data', out: path.join('runs', `${model}-${dataset}`), testBatchSize: 10, logInterval: 10, checkpointEvery: 10,
    dryRun: false, saveModel: false, saveFormat: 'safetensors', threads: os.availableParallelism(), workers: 1, conv: 'auto',
  };
}

export function defaultConfig(model = 'googlenet', dataset: DatasetName = 'cifar100'): TrainConfig {
  return { recipe: defaultRecipe(model, dataset), run: defaultRunOptions(model, dataset) };
}

/** A network as a run names it: the recipe's `model` and `network`. */
export type NamedNetwork = Pick<Recipe, 'model' | 'network'>;

/** A recipe's model and network from a built-in network's name or a network file (refused in one line). */
export function recipeNetwork(modelOrFile: string): NamedNetwork {
  const net = resolveNetwork(modelOrFile);
  if (isNetworkFileArgument(modelOrFile) && borrowsBuiltinName(net.name, networkHash(net)))
    throw new Error(`${modelOrFile}: name '${net.name}' is a built-in network's, and this network is another; give it its own "name" (or none: the file's base name)`);
  return { model: net.name, network: canonicalNetwork(net) };
}

/** The network a recipe trains, validated (a recipe edited by hand is refused like a bad file). */
export function networkOfRecipe(r: Pick<Recipe, 'model' | 'network'>): Network {
  if (r.network === undefined)
    throw new Error(`the recipe of ${r.model} holds no network, and '${r.model}' is not a network this build knows (${modelNames().join(', ')}); train it with the build that recorded it`);
  return validateNetwork(r.network, `the recipe of ${r.model}`, r.model);
}

/**
 * A recipe as stored by any version: those written before recipes held their network (checkpoint
 * versions 1 and 2, store rows of schema 2) name one of the seven, whose network it gets; those
 * written before the validation hold-out existed have none (val 0), so they compare equal to
 * today's recipes of the same run. A name this build does not know (an older build's network) is
 * left without a network: the run can still be listed and reported, and networkOfRecipe says why
 * it cannot be built.
 */
export function withNetwork(r: Omit<Recipe, 'network' | 'val'> & { network?: NetworkData; val?: number }): Recipe {
  const old = { ...r, val: r.val ?? 0 };
  if (r.network !== undefined || isNetworkFileArgument(r.model) || !modelNames().includes(r.model)) return old as Recipe;
  return { ...old, network: canonicalNetwork(resolveNetwork(r.model)) };
}

/** The SHA-256 of the network a recipe trains (what a store knows it by; the name is only shown). */
export function recipeNetworkHash(r: Pick<Recipe, 'model' | 'network'>): string {
  return networkHash(networkOfRecipe(r));
}

/**
 * What, besides its network and dataset, makes a run the run it is: the recipe less its epochs
 * (which a run may extend), its network (which the network's hash stands for) and its network's
 * name (a label), as canonical JSON (RFC 8785). Seed and hold-out are in it: two seeds are two runs.
 */
export function recipeKey(r: Recipe): string {
  const { epochs: _e, network: _n, model: _m, ...rest } = r;
  if (rest.val === undefined) rest.val = 0; // a recipe from before the hold-out existed has none
  return canonicalize(rest);
}

/** recipeKey's SHA-256 (hex): the stores' column. */
export function recipeKeyHash(r: Recipe): string {
  return createHash('sha256').update(recipeKey(r)).digest('hex');
}

/** Training images of the dataset a recipe reads: limitTrain, or the whole split. */
export function trainImages(r: Pick<Recipe, 'dataset' | 'limitTrain'>): number {
  const all = DATASETS[r.dataset].records.train;
  return r.limitTrain === null ? all : Math.min(r.limitTrain, all);
}

/** Weight decay when none is given: AdamW's own default (decoupled), none for the others. */
export function defaultWeightDecay(optimizer: OptimizerName): number {
  return optimizer === 'adamw' ? ADAMW_WEIGHT_DECAY : 0;
}

/** The recipe's inconsistencies, as one line naming the flags, or null. */
export function recipeProblem(r: Recipe): string | null {
  if (r.scheduler === 'multistep' && r.milestones.length === 0) return '--scheduler multistep needs --milestones, e.g. --milestones 8,12';
  if (r.nesterov && (r.optimizer !== 'sgd' || r.momentum <= 0)) return '--nesterov needs --optimizer sgd and a --momentum above 0';
  if (r.warmupEpochs >= r.epochs && r.warmupEpochs > 0) return `--warmup-epochs ${r.warmupEpochs} must be less than --epochs ${r.epochs}`;
  if (r.val > 0 && r.val >= trainImages(r))
    return `--val ${r.val} must be less than the ${trainImages(r)} training images${r.limitTrain === null ? ` of ${r.dataset}` : ` of --limit-train ${r.limitTrain}`}: the rest train`;
  return null;
}

/** The flag each recipe field is set with (error messages name flags, not fields). */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * How recipe `b` differs from `a` (`--lr 0.5 (was 1)`, …), or null when they are equal.
 * `ignore` leaves fields out of the comparison: a resumed run may extend its epochs, except
 * under a cosine schedule, whose learning rates depend on the total.
 */
export function recipeDifference(a: Recipe, b: Recipe, ignore: readonly (keyof Recipe)[] = []): string | null {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof Recipe)[];
  // canonical JSON: PostgreSQL's JSONB gives an object's keys back in its own order
  const same = (x: unknown, y: unknown) => (x === undefined || y === undefined ? x === y : canonicalize(x) === canonicalize(y));
  const diff = keys.filter((k) => !ignore.includes(k) && !same(a[k], b[k]));
  const show = (v: unknown) => (v === undefined || v === null ? 'unset' : Array.isArray(v) ? v.join(',') || 'none' : String(v));
  const network = (r: Recipe) => {
    const net = networkOfRecipe(r);
    return `${describeLayers(net)} [sha256 ${networkHash(net).slice(0, 12)}]`;
  };
  return diff.length
    ? diff.map((k) => (k === 'network' ? `the network of --model ${b.model}: ${network(b)} (was ${network(a)})` : `${flagOf(k)} ${show(b[k])} (was ${show(a[k])})`)).join(', ')
    : null;
}

/** What may differ when a run resumes: its planned epochs, unless the schedule depends on them. */
export function resumableDifference(checkpointed: Recipe, wanted: Recipe): string | null {
  return recipeDifference(checkpointed, wanted, wanted.scheduler === 'cosine' ? [] : ['epochs']);
}

/** Number of classes the labels of this recipe have. */
export function classCount(r: Pick<Recipe, 'dataset' | 'coarse'>): number {
  const info = DATASETS[r.dataset];
  return r.coarse ? info.coarseClasses ?? info.classes : info.classes;
}

export function augmentation(name: AugmentName): Augmentation {
  return { flip: name === 'none' ? 0 : 0.5, cropPadding: name === 'flip+crop' ? 4 : 0 };
}

export function normalization(r: Pick<Recipe, 'normalize' | 'dataset'>): Normalization {
  return r.normalize === 'seed' ? NORMALIZATIONS.half : NORMALIZATIONS[r.dataset];
}

export function makeOptimizer(r: Recipe, params: Tensor[]): Optimizer {
  const common = { lr: r.lr, weightDecay: r.weightDecay };
  switch (r.optimizer) {
    case 'adadelta':
      return new Adadelta(params, common);
    case 'sgd':
      return new SGD(params, { ...common, momentum: r.momentum, nesterov: r.nesterov });
    case 'adam':
      return new Adam(params, { ...common, betas: [r.beta1, r.beta2] });
    case 'adamw':
      return new AdamW(params, { ...common, betas: [r.beta1, r.beta2] });
  }
}

/** Stepped once per epoch. With warm-up, LinearLR from lr/10 over warmupEpochs, then the schedule. */
export function makeScheduler(r: Recipe, opt: Optimizer): LRScheduler {
  const main = (): LRScheduler => {
    switch (r.scheduler) {
      case 'step':
        return new StepLR(opt, 1, r.gamma);
      case 'multistep':
        return new MultiStepLR(opt, r.milestones, r.gamma);
      case 'cosine':
        return new CosineAnnealingLR(opt, Math.max(1, r.epochs - r.warmupEpochs));
    }
  };
  if (r.warmupEpochs <= 0) return main();
  const warm = new LinearLR(opt, 0.1, 1.0, r.warmupEpochs);
  return new SequentialLR(opt, [warm, main()], [r.warmupEpochs]);
}

/**
 * A configuration from one flat object of fields (command-line flags, or a version-1 checkpoint's
 * config): each recipe and run-option field taken from it when set, from the defaults otherwise.
 * Weight decay left unset is the optimizer's own default.
 */
export function configFromFlat(flat: Record<string, unknown>): TrainConfig {
  // `model` is a built-in's name or a network file; a stored flat config may hold the network itself
  const named = flat.network !== undefined ? { model: String(flat.model), network: flat.network as NetworkData } : recipeNetwork(String(flat.model ?? defaultRecipe().model));
  const dataset = (flat.dataset as DatasetName | undefined) ?? defaultRecipe().dataset;
  const d = { recipe: { ...defaultRecipe(undefined, dataset), ...named }, run: defaultRunOptions(named.model, dataset) };
  const pick = <T extends object>(defaults: T): T =>
    Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, flat[k] ?? v])) as T;
  const recipe = { ...pick(d.recipe), ...named };
  if (flat.weightDecay === undefined) recipe.weightDecay = defaultWeightDecay(recipe.optimizer);
  return { recipe, run: pick(d.run) };
}
