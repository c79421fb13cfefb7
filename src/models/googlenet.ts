// GoogLeNet for CIFAR as in the seed (pytorch-cifar100's GoogleNet), and the family of
// networks built from network files (./network.ts): a stem, a body of Inception modules, max
// pools and dropouts in order, and the seed's head. The seven networks of the seed's experiment
// are built-in network files (./builtin-networks.ts); VARIANTS keeps the seed's results beside them.
// See ../shared/variants/README.md and docs/network-files.md.
import { cat } from '../autograd/ops.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import { BUILTIN_NETWORKS } from './builtin-networks.js';
import {
  isNetworkFileArgument, NETWORK_FORMAT, NETWORK_MAX_PARAMS, networkHash, networkLayout, readNetworkFile, scaledCounts, SEED_POOL,
  validateNetwork, type InceptionSetting, type Network, type NetworkLayer,
} from './network.js';

export { SETTINGS, type InceptionSetting } from './network.js';

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

/**
 * A network of the family with the seed's metadata. The seven built-ins carry their network file
 * (`network`); a spec without one (e.g. added to VARIANTS by a user) is read as the seed's three
 * stages: the settings at 32x32, 16x16 and 8x8, with the seed's pool between them.
 */
export interface GoogLeNetSpec {
  readonly stages: readonly [readonly string[], readonly string[], readonly string[]];
  readonly naive?: boolean;
  /** Extra settings by name, beside SETTINGS (for user-declared variants). */
  readonly settings?: Record<string, InceptionSetting>;
  /** The network this spec stands for (the built-ins' network files); built from the fields above when absent. */
  readonly network?: Network;
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

const seed = (top1: number, top5: number, params: number, time: string): SeedResult => ({ top1, top5, params, time });

const isSeedPool = (l: NetworkLayer) => typeof l === 'object' && 'maxpool' in l &&
  l.maxpool.kernel === SEED_POOL.kernel && l.maxpool.stride === SEED_POOL.stride && l.maxpool.padding === SEED_POOL.padding;

/** The seed's three stages of a network whose body is settings and exactly two of the seed's pools (null otherwise). */
export function stagesOf(net: Network): GoogLeNetSpec['stages'] | null {
  const stages: string[][] = [[]];
  for (const l of net.layers) {
    if (typeof l === 'string') stages.at(-1)!.push(l);
    else if (isSeedPool(l)) stages.push([]);
    else return null;
  }
  return stages.length === 3 ? [stages[0], stages[1], stages[2]] : null;
}

const builtin = (name: string, meta: Pick<GoogLeNetSpec, 'seed' | 'reconstructed'>): GoogLeNetSpec => {
  const network = BUILTIN_NETWORKS[name];
  return { network, stages: stagesOf(network)!, ...(network.module === 'naive' ? { naive: true } : {}), ...meta };
};

/** The seven networks of the seed's experiment (../shared/variants/README.md): their network files and the seed's results. */
export const VARIANTS: Record<string, GoogLeNetSpec> = {
  googlenet: builtin('googlenet', {
    seed: { row: 1, cifar100: seed(0.34, 0.10, 6258500, '29m8s'), cifar10: seed(0.10, 0.00, 6166250, '28m45s') },
  }),
  'googlenet-naive': builtin('googlenet-naive', {
    seed: { row: 0, cifar100: seed(0.36, 0.09, 65736148, '52m38s'), cifar10: seed(0.15, 0.01, 65291098, '52m51s') },
  }),
  'googlenet-long': builtin('googlenet-long', {
    seed: { row: 2, cifar100: seed(0.35, 0.10, 9641924, '36m41s'), cifar10: seed(0.11, 0.00, 9549674, '40m12s') },
  }),
  'googlenet-short': builtin('googlenet-short', {
    seed: { row: 3, cifar100: seed(0.32, 0.09, 5271652, '23m11s'), cifar10: seed(0.10, 0.00, 5179402, '27m30s') },
  }),
  'googlenet-short2': builtin('googlenet-short2', {
    seed: { row: 4, cifar100: seed(0.32, 0.09, 3523556, '16m29s'), cifar10: seed(0.10, 0.00, 3431306, '31m57s') },
  }),
  'googlenet-short3': builtin('googlenet-short3', {
    reconstructed: true,
    seed: { row: 5, cifar100: seed(0.36, 0.11, 1985220, '9m3s'), cifar10: seed(0.11, 0.00, 1892970, '26m31s') },
  }),
  'googlenet-short4': builtin('googlenet-short4', {
    reconstructed: true,
    seed: { row: 6, cifar100: seed(0.44, 0.15, 1650084, '8m56s'), cifar10: seed(0.15, 0.01, 1557834, '25m30s') },
  }),
};

/** The network a spec stands for: its network file, or one made from its stages (refused in one line if they name unknown settings). */
export function networkOfSpec(spec: GoogLeNetSpec, name: string): Network {
  if (spec.network) return spec.network;
  const [s0, s1, s2] = spec.stages;
  return validateNetwork({
    format: NETWORK_FORMAT, name: /^[a-z][a-z0-9-]*$/.test(name) ? name : undefined,
    layers: [...s0, 'maxpool', ...s1, 'maxpool', ...s2],
    ...(spec.settings ? { settings: spec.settings } : {}),
    ...(spec.naive ? { module: 'naive' } : {}),
  }, `model '${name}'`, name);
}

/** The entry of VARIANTS of this name (its own, never an inherited property such as `constructor`), or undefined. */
export function variantOf(name: string): GoogLeNetSpec | undefined {
  return Object.hasOwn(VARIANTS, name) ? VARIANTS[name] : undefined;
}

/** A built-in network (one of the seven) by name, the same object each time; undefined for any other name. */
export function builtinNetwork(name: string): Network | undefined {
  return Object.hasOwn(BUILTIN_NETWORKS, name) ? BUILTIN_NETWORKS[name] : undefined;
}

/**
 * Whether `name` is a built-in network's and the network of SHA-256 `hash` is another one: runs,
 * reports and the seed's tables know a network by its name, so that name would pass it off as the built-in.
 */
export function borrowsBuiltinName(name: string, hash: string): boolean {
  const builtin = builtinNetwork(name);
  return builtin !== undefined && networkHash(builtin) !== hash;
}

/** The stages as the variants table writes them, e.g. `a3 b3 / a4 / a5 b5` (— for an empty stage). */
export function describeStages(spec: GoogLeNetSpec): string {
  return spec.stages.map((s) => (s.length ? s.join(' ') : '—')).join(' / ');
}

/**
 * A network of the family: `prelayer` (the stem, one flat Sequential of conv + BatchNorm + ReLU
 * units), the body's layers in order, then avgpool, dropout, flatten and linear. A setting used again
 * is named with a suffix (a5, a5_2, …). Pools and dropouts hold no parameters: a pool or dropout with
 * the same parameters as an earlier one in the body is that module again (as the seed's one `maxpool`
 * runs twice); distinct ones are named maxpool, maxpool_2, … and dropout_2, dropout_3, … (the head's
 * is `dropout`), so they add no state-dict name and rename nothing.
 */
export class GoogLeNet extends Module {
  readonly network: Network;
  readonly prelayer: Sequential;
  /** The body's modules in order (a shared pool or dropout appears at each of its places). */
  readonly body: Module[];
  readonly avgpool: AdaptiveAvgPool2d;
  readonly dropout: Dropout2d;
  readonly flatten = new Flatten();
  readonly linear: Linear;

  constructor(network: Network | GoogLeNetSpec, readonly numClasses = 100, opts: ModelOptions = {}) {
    super();
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`GoogLeNet: number of classes must be a positive integer, got ${numClasses}`);
    const net = 'format' in network ? network : networkOfSpec(network, 'GoogLeNet');
    this.network = net;
    const params = networkLayout(net, numClasses).params;
    if (params > NETWORK_MAX_PARAMS)
      throw new Error(`network '${net.name}': ${params.toLocaleString('en-US')} parameters with ${numClasses} classes, more than 2^31; make it smaller or use fewer classes`);
    const { stem, settings } = scaledCounts(net);
    this.prelayer = this.registerModule('prelayer', new Sequential(...stem.flatMap((o, i) => convBnRelu(i ? stem[i - 1] : 3, o, 3, opts))));
    let channels = stem.at(-1) ?? 3;
    const used = new Map<string, number>();
    const unique = (base: string, first: number) => {
      const n = (used.get(base) ?? first - 1) + 1;
      used.set(base, n);
      return n === 1 ? base : `${base}_${n}`;
    };
    const shared = new Map<string, Module>();
    const parameterFree = (key: string, make: () => Module, base: string, first: number) => {
      let m = shared.get(key);
      if (!m) shared.set(key, (m = this.registerModule(unique(base, first), make())));
      return m;
    };
    this.body = net.layers.map((layer) => {
      if (typeof layer === 'string') {
        const s = settings[layer];
        const m = net.module === 'naive' ? new NaiveInception(channels, s, opts) : new Inception(channels, s, opts);
        channels = m.outChannels;
        return this.registerModule(unique(layer, 1), m);
      }
      if ('maxpool' in layer) {
        const { kernel, stride, padding } = layer.maxpool;
        return parameterFree(`maxpool ${kernel} ${stride} ${padding}`, () => new MaxPool2d(kernel, stride, padding), 'maxpool', 1);
      }
      return parameterFree(`dropout ${layer.dropout}`, () => new Dropout2d(layer.dropout), 'dropout', 2);
    });
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.dropout = this.registerModule('dropout', new Dropout2d(net.dropout));
    this.linear = this.registerModule('linear', new Linear(channels, numClasses, opts.rng));
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== 3)
      throw new Error(`GoogLeNet: expected images [N, 3, H, W], got [${x.shape.join(', ')}]`);
    let h = this.prelayer.call(x);
    for (const m of this.body) h = m.call(h);
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

/**
 * The network an argument names: a network file where it contains `/` or ends in `.json` (read
 * and validated, refused in one line), otherwise a network of VARIANTS by name.
 */
export function resolveNetwork(arg: string): Network {
  if (isNetworkFileArgument(arg)) return readNetworkFile(arg);
  const spec = variantOf(arg);
  if (!spec) throw new Error(`unknown model '${arg}'; choose one of: ${modelNames().join(', ')}, or a network file (a path with / or ending in .json)`);
  return networkOfSpec(spec, arg);
}

/**
 * Builds a network of the family: by name (createModel('googlenet', 100)), from a network file
 * (createModel('./my-net.json', 10)) or from a Network (e.g. readNetworkFile's).
 */
export function createModel(model: string | Network, numClasses = 100, opts: ModelOptions = {}): GoogLeNet {
  return new GoogLeNet(typeof model === 'string' ? resolveNetwork(model) : model, numClasses, opts);
}
