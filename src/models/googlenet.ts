// GoogLeNet for CIFAR as in the seed (pytorch-cifar100's GoogleNet), and the family of
// variants of the seed's experiment, declared as data: a table of Inception settings and
// which of them run at each resolution. See ../shared/variants/README.md.
import { cat } from '../autograd/ops.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';

/** (n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj), the seed's argument order. */
export type InceptionSetting = readonly [number, number, number, number, number, number];

/** The seed's nine module settings (GoogLeNet paper, table 1). */
export const SETTINGS: Record<string, InceptionSetting> = {
  a3: [64, 96, 128, 16, 32, 32],
  b3: [128, 128, 192, 32, 96, 64],
  a4: [192, 96, 208, 16, 48, 64],
  b4: [160, 112, 224, 24, 64, 64],
  c4: [128, 128, 256, 24, 64, 64],
  d4: [112, 144, 288, 32, 64, 64],
  e4: [256, 160, 320, 32, 128, 128],
  a5: [256, 160, 320, 32, 128, 128],
  b5: [384, 192, 384, 48, 128, 128],
};

export interface ModelOptions {
  /**
   * The seed builds the BatchNorm after the first 3x3 conv of the "5x5" branch as
   * `nn.BatchNorm2d(n5x5, n5x5)`, which makes its eps n5x5 (32..128) instead of 1e-5.
   * We keep that by default (PyTorch parity); true uses eps 1e-5 there.
   */
  fixBatchNormEps?: boolean;
  /** Generator for the initial weights (default: the default generator, as torch.manual_seed). */
  rng?: Rng;
  /**
   * Each BatchNorm computes the ReLU that follows it in one fused kernel (default true); false runs
   * every layer on its own (same results, one tensor more per convolution), e.g. to check the fusion.
   */
  fuse?: boolean;
}

/**
 * conv (same padding) → BatchNorm → ReLU, the unit every branch is built from. The BatchNorm is told
 * that the ReLU follows (one fused kernel); the ReLU stays a module of its own, so the seed's flat
 * Sequential indices (state-dict names such as b3.4.weight) are kept.
 */
function convBnRelu(i: number, o: number, k: number, opts: ModelOptions, eps = 1e-5): Module[] {
  const fuseRelu = opts.fuse ?? true;
  return [new Conv2d(i, o, k, { padding: (k - 1) / 2, rng: opts.rng }), new BatchNorm2d(o, eps, 0.1, { fuseRelu }), new ReLU()];
}

/** The seed's Inception module: four branches concatenated along channels. */
export class Inception extends Module {
  readonly outChannels: number;
  readonly b1: Sequential;
  readonly b2: Sequential;
  readonly b3: Sequential;
  readonly b4: Sequential;

  constructor(readonly inChannels: number, readonly setting: InceptionSetting, opts: ModelOptions = {}) {
    super();
    const [n1x1, n3x3red, n3x3, n5x5red, n5x5, poolProj] = setting;
    const quirkEps = opts.fixBatchNormEps ? 1e-5 : n5x5;
    // 1x1 conv branch
    this.b1 = this.registerModule('b1', new Sequential(...convBnRelu(inChannels, n1x1, 1, opts)));
    // 1x1 conv -> 3x3 conv branch
    this.b2 = this.registerModule('b2', new Sequential(...convBnRelu(inChannels, n3x3red, 1, opts), ...convBnRelu(n3x3red, n3x3, 3, opts)));
    // 1x1 conv -> two stacked 3x3 convs in place of one 5x5 (same receptive field, fewer parameters)
    this.b3 = this.registerModule('b3', new Sequential(
      ...convBnRelu(inChannels, n5x5red, 1, opts),
      ...convBnRelu(n5x5red, n5x5, 3, opts, quirkEps),
      ...convBnRelu(n5x5, n5x5, 3, opts),
    ));
    // 3x3 max pooling -> 1x1 conv branch
    this.b4 = this.registerModule('b4', new Sequential(new MaxPool2d(3, 1, 1), ...convBnRelu(inChannels, poolProj, 1, opts)));
    this.outChannels = n1x1 + n3x3 + n5x5 + poolProj;
  }

  forward(x: Tensor): Tensor {
    return cat([this.b1.call(x), this.b2.call(x), this.b3.call(x), this.b4.call(x)]);
  }
}

/** The naive module (no 1x1 bottlenecks, no pool projection); uses n1x1, n3x3 and n5x5 only. */
export class NaiveInception extends Module {
  readonly outChannels: number;
  readonly b1: Sequential;
  readonly b2: Sequential;
  readonly b3: Sequential;
  readonly b4: MaxPool2d;

  constructor(readonly inChannels: number, readonly setting: InceptionSetting, opts: ModelOptions = {}) {
    super();
    const [n1x1, , n3x3, , n5x5] = setting;
    this.b1 = this.registerModule('b1', new Sequential(...convBnRelu(inChannels, n1x1, 1, opts)));
    this.b2 = this.registerModule('b2', new Sequential(...convBnRelu(inChannels, n3x3, 3, opts)));
    this.b3 = this.registerModule('b3', new Sequential(...convBnRelu(inChannels, n5x5, 3, opts, opts.fixBatchNormEps ? 1e-5 : n5x5)));
    this.b4 = this.registerModule('b4', new MaxPool2d(3, 1, 1));
    this.outChannels = n1x1 + n3x3 + n5x5 + inChannels;
  }

  forward(x: Tensor): Tensor {
    return cat([this.b1.call(x), this.b2.call(x), this.b3.call(x), this.b4.call(x)]);
  }
}

/** One row of the seed's tables (the seed document: PyTorch 1.6, 14 epochs on its GPU). */
export interface SeedResult {
  top1: number;
  top5: number;
  params: number;
  time: string;
}

/** A network of the family: which settings run at 32x32, 16x16 and 8x8, and the module kind. */
export interface GoogLeNetSpec {
  readonly stages: readonly [readonly string[], readonly string[], readonly string[]];
  readonly naive?: boolean;
  /** Extra settings by name, beside SETTINGS (for user-declared variants). */
  readonly settings?: Record<string, InceptionSetting>;
  /** The seed's own results for this network, per dataset, and its row in the seed's tables (0 first). */
  readonly seed?: { readonly row: number; readonly cifar100: SeedResult; readonly cifar10: SeedResult };
  /**
   * Set where no arrangement of the seed's settings gives the seed's parameter count, so these
   * stages are our reconstruction and the counts differ (../shared/variants/README.md).
   */
  readonly reconstructed?: boolean;
}

/**
 * The seed's parameter count for this network with `classes` outputs: its two tables differ by 90
 * classes, each a row of the linear layer (its input channels plus a bias), so any count follows.
 */
export function seedParams(spec: GoogLeNetSpec, classes: number): number | null {
  if (!spec.seed) return null;
  const perClass = (spec.seed.cifar100.params - spec.seed.cifar10.params) / 90;
  return spec.seed.cifar10.params + (classes - 10) * perClass;
}

/** Printed beside the parameter count of a reconstructed network: the seed's own count for the same class count. */
export function reconstructionNoteFor(spec: GoogLeNetSpec, classes: number): string | undefined {
  const seedCount = seedParams(spec, classes);
  return spec.reconstructed && seedCount !== null ? `reconstruction: the seed counts ${seedCount.toLocaleString('en-US')} (${classes} classes)` : undefined;
}

const standard: GoogLeNetSpec['stages'] = [['a3', 'b3'], ['a4', 'b4', 'c4', 'd4', 'e4'], ['a5', 'b5']];
const seed = (top1: number, top5: number, params: number, time: string): SeedResult => ({ top1, top5, params, time });

/** The seven networks of the seed's experiment (../shared/variants/README.md). */
export const VARIANTS: Record<string, GoogLeNetSpec> = {
  googlenet: {
    stages: standard,
    seed: { row: 1, cifar100: seed(0.34, 0.10, 6258500, '29m8s'), cifar10: seed(0.10, 0.00, 6166250, '28m45s') },
  },
  'googlenet-naive': {
    stages: standard, naive: true,
    seed: { row: 0, cifar100: seed(0.36, 0.09, 65736148, '52m38s'), cifar10: seed(0.15, 0.01, 65291098, '52m51s') },
  },
  'googlenet-long': {
    stages: [['a3', 'b3'], ['a4', 'b4', 'c4', 'd4', 'e4'], ['a5', 'a5', 'a5', 'a5', 'b5']],
    seed: { row: 2, cifar100: seed(0.35, 0.10, 9641924, '36m41s'), cifar10: seed(0.11, 0.00, 9549674, '40m12s') },
  },
  'googlenet-short': {
    stages: [['a3', 'b3'], ['a4', 'd4', 'e4'], ['a5', 'b5']],
    seed: { row: 3, cifar100: seed(0.32, 0.09, 5271652, '23m11s'), cifar10: seed(0.10, 0.00, 5179402, '27m30s') },
  },
  'googlenet-short2': {
    stages: [['a3', 'b3'], ['a4'], ['a5', 'b5']],
    seed: { row: 4, cifar100: seed(0.32, 0.09, 3523556, '16m29s'), cifar10: seed(0.10, 0.00, 3431306, '31m57s') },
  },
  'googlenet-short3': {
    stages: [['a3'], ['c4'], ['b5']], reconstructed: true,
    seed: { row: 5, cifar100: seed(0.36, 0.11, 1985220, '9m3s'), cifar10: seed(0.11, 0.00, 1892970, '26m31s') },
  },
  'googlenet-short4': {
    stages: [[], ['a4'], ['b5']], reconstructed: true,
    seed: { row: 6, cifar100: seed(0.44, 0.15, 1650084, '8m56s'), cifar10: seed(0.15, 0.01, 1557834, '25m30s') },
  },
};

/** The stages as the variants table writes them, e.g. `a3 b3 / a4 / a5 b5` (— for an empty stage). */
export function describeStages(spec: GoogLeNetSpec): string {
  return spec.stages.map((s) => (s.length ? s.join(' ') : '—')).join(' / ');
}

export class GoogLeNet extends Module {
  readonly prelayer: Sequential;
  readonly stages: Module[][];
  readonly maxpool: MaxPool2d;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropout: Dropout2d;
  readonly flatten = new Flatten();
  readonly linear: Linear;

  constructor(readonly spec: GoogLeNetSpec, readonly numClasses = 100, opts: ModelOptions = {}) {
    super();
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`GoogLeNet: number of classes must be a positive integer, got ${numClasses}`);
    this.prelayer = this.registerModule('prelayer', new Sequential(...convBnRelu(3, 192, 3, opts)));
    let channels = 192;
    const used = new Map<string, number>();
    const settings = { ...SETTINGS, ...spec.settings };
    // one pooling module shared by both stage transitions, registered where the seed's is
    const maxpool = new MaxPool2d(3, 2, 1);
    this.stages = spec.stages.map((names, stage) => {
      if (stage === 1) this.registerModule('maxpool', maxpool);
      return names.map((name) => {
        const s = settings[name];
        if (!s) throw new Error(`GoogLeNet: unknown Inception setting '${name}' (known: ${Object.keys(settings).join(', ')})`);
        const n = (used.get(name) ?? 0) + 1;
        used.set(name, n);
        const m = spec.naive ? new NaiveInception(channels, s, opts) : new Inception(channels, s, opts);
        channels = m.outChannels;
        return this.registerModule(n === 1 ? name : `${name}_${n}`, m);
      });
    });
    this.maxpool = maxpool;
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.dropout = this.registerModule('dropout', new Dropout2d(0.4));
    this.linear = this.registerModule('linear', new Linear(channels, numClasses, opts.rng));
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== 3)
      throw new Error(`GoogLeNet: expected images [N, 3, H, W], got [${x.shape.join(', ')}]`);
    let h = this.prelayer.call(x);
    this.stages.forEach((modules, stage) => {
      if (stage > 0) h = this.maxpool.call(h);
      for (const m of modules) h = m.call(h);
    });
    h = this.avgpool.call(h);
    h = this.dropout.call(h);
    return this.linear.call(this.flatten.call(h));
  }
}

/** The class count weights of this family were trained for: the rows of their classifier (linear.weight). */
export function classesOfWeights(sd: StateDict, source: string): number {
  const w = sd.get('linear.weight');
  if (!w || w.shape.length !== 2) throw new Error(`${source} has no linear.weight [classes, features]: not the weights of a network of this family`);
  return w.shape[0];
}

export function modelNames(): string[] {
  return Object.keys(VARIANTS);
}

/** Builds a network of the family by name, e.g. createModel('googlenet', 100). */
export function createModel(name: string, numClasses = 100, opts: ModelOptions = {}): GoogLeNet {
  const spec = VARIANTS[name];
  if (!spec) throw new Error(`unknown model '${name}'; choose one of: ${modelNames().join(', ')}`);
  return new GoogLeNet(spec, numClasses, opts);
}
