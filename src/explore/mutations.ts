// The seed's "random modifications" of a network, as data: a Mutation says what changes (insert a
// pool or a dropout, remove or duplicate an Inception module, give a module another of the seed's
// nine settings, scale the width, switch naive <-> bottleneck, change the head's dropout), so an
// architecture search can draw one, record it in the child's `origin`, show it on one line and apply
// it again. Children are network files like any other: applyMutation returns validateNetwork's
// result, so a child that breaks a rule of the format is refused in the format's one line, and
// proposeChild draws again until a child is valid, new to the search and within its limits.
import {
  NETWORK_MAX_PARAMS, NETWORK_MODULES, networkHash, networkLayout, SETTINGS, validateNetwork,
  type InceptionSetting, type Network, type NetworkLayer, type NetworkModule,
} from '../models/network.js';
import type { Rng } from '../util/rng.js';

export const MUTATION_KINDS = ['insert', 'remove', 'duplicate', 'setting', 'width', 'module', 'dropout'] as const;
/** The probabilities of an inserted Dropout2d. */
export const INSERT_DROPOUTS = [0.1, 0.2, 0.3, 0.5] as const;
/** The width multiplier is scaled by one of these. */
export const WIDTH_FACTORS = [0.75, 1.25] as const;
/** The head's dropout takes another of these. */
export const HEAD_DROPOUTS = [0, 0.2, 0.4, 0.6] as const;
/** proposeChild draws at most this many mutations before it reports the parent exhausted. */
export const MAX_DRAWS = 100;

export type MutationKind = (typeof MUTATION_KINDS)[number];
export type Mutation =
  /** Insert the seed's pool "maxpool" or a Dropout2d(p) before layers[at] (at = layers.length: at the end). */
  | { kind: 'insert'; at: number; layer: 'maxpool' | { dropout: number } }
  /** Remove the Inception module layers[at] (of setting `setting`). */
  | { kind: 'remove'; at: number; setting: string }
  /** Insert a copy of the module layers[at] right after it. */
  | { kind: 'duplicate'; at: number; setting: string }
  /** The module layers[at] takes another of the seed's nine settings. */
  | { kind: 'setting'; at: number; from: string; to: string }
  /** The width multiplied by `factor` (one of WIDTH_FACTORS), rounded to 1e-9 (widthTimes). */
  | { kind: 'width'; factor: number; from: number; to: number }
  /** naive <-> bottleneck. */
  | { kind: 'module'; from: NetworkModule; to: NetworkModule }
  /** The head's dropout takes another of HEAD_DROPOUTS. */
  | { kind: 'dropout'; from: number; to: number };

/**
 * `width`·`factor` rounded to 9 decimals. The products of 0.75 and 1.25 are exact in binary for a
 * few dozen steps, but a long chain of them (and a width written by hand, such as 0.3) would gather
 * ever longer fractions; rounding keeps the width, its canonical JSON and so the network's hash the
 * same however a search reached it (0.75·1.25 and 1.25·0.75 are one width, 0.9375).
 */
export function widthTimes(width: number, factor: number): number {
  return Math.round(width * factor * 1e9) / 1e9;
}

/** The mutation on one short line, e.g. `insert drop(0.2) at 5`, `a4 at 3 → c4`, `width ×0.75 (1 → 0.75)`. */
export function describeMutation(m: Mutation): string {
  switch (m.kind) {
    case 'insert': return `insert ${m.layer === 'maxpool' ? 'maxpool' : `drop(${m.layer.dropout})`} at ${m.at}`;
    case 'remove': return `remove ${m.setting} at ${m.at}`;
    case 'duplicate': return `duplicate ${m.setting} at ${m.at}`;
    case 'setting': return `${m.from} at ${m.at} → ${m.to}`;
    case 'width': return `width ×${m.factor} (${m.from} → ${m.to})`;
    case 'module': return `module ${m.from} → ${m.to}`;
    case 'dropout': return `head dropout ${m.from} → ${m.to}`;
  }
}

/** Indices of the body's Inception modules. */
function moduleIndices(net: Network): number[] {
  return net.layers.flatMap((l, i) => (typeof l === 'string' ? [i] : []));
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

/**
 * The kinds drawMutation may draw for `net`: removing, duplicating, re-setting a module and switching
 * the module kind need a module (without one, 'module' would build the same model under another hash).
 */
export function possibleKinds(net: Network): MutationKind[] {
  const hasModule = net.layers.some((l) => typeof l === 'string');
  return MUTATION_KINDS.filter((k) => hasModule || !(k === 'remove' || k === 'duplicate' || k === 'setting' || k === 'module'));
}

/**
 * A random mutation of `net`: a kind uniformly among possibleKinds(net), then its parameters
 * uniformly (an insert's place among the layers.length + 1 places and its layer among the five:
 * "maxpool" and the four INSERT_DROPOUTS; a module among the body's modules; a setting, width
 * factor or head dropout among those that change something). Consumes `rng` deterministically.
 */
export function drawMutation(net: Network, rng: Rng): Mutation {
  const kind = pick(rng, possibleKinds(net));
  switch (kind) {
    case 'insert': {
      const at = rng.int(net.layers.length + 1);
      // a pool or a dropout as often as each other (the seed added both), then the dropout's probability
      const layer: 'maxpool' | { dropout: number } = rng.int(2) === 0 ? 'maxpool' : { dropout: pick(rng, INSERT_DROPOUTS) };
      return { kind, at, layer };
    }
    case 'remove':
    case 'duplicate': {
      const at = pick(rng, moduleIndices(net));
      return { kind, at, setting: net.layers[at] as string };
    }
    case 'setting': {
      const at = pick(rng, moduleIndices(net));
      const from = net.layers[at] as string;
      return { kind, at, from, to: pick(rng, Object.keys(SETTINGS).filter((s) => s !== from)) };
    }
    case 'width': {
      const factor = pick(rng, WIDTH_FACTORS);
      return { kind, factor, from: net.width, to: widthTimes(net.width, factor) };
    }
    case 'module':
      return { kind, from: net.module, to: NETWORK_MODULES.find((m) => m !== net.module)! };
    case 'dropout':
      return { kind, from: net.dropout, to: pick(rng, HEAD_DROPOUTS.filter((p) => p !== net.dropout)) };
  }
}

/** Throws unless layers[at] is a module of `setting` (else the mutation was drawn for another network). */
function expectModule(net: Network, m: Mutation, at: number, setting: string): void {
  if (net.layers[at] !== setting)
    throw new Error(`applyMutation: '${describeMutation(m)}' does not apply to '${net.name}': layers[${at}] is ${JSON.stringify(net.layers[at]) ?? 'past the end'}, not '${setting}'`);
}

function mismatch(net: Network, m: Mutation, what: string, is: unknown): never {
  throw new Error(`applyMutation: '${describeMutation(m)}' does not apply to '${net.name}': its ${what} is ${JSON.stringify(is)}`);
}

/**
 * The child as a network file's contents (not yet validated): the parent's data with the mutation
 * made, and the parent's own settings the child still uses (the seed's nine need no declaring).
 * Throws (not a format refusal) when the mutation was not made for this parent.
 */
function childFile(net: Network, m: Mutation): Record<string, unknown> {
  const layers: (NetworkLayer | 'maxpool')[] = [...net.layers];
  let { module, width, dropout } = net;
  switch (m.kind) {
    case 'insert':
      if (!Number.isInteger(m.at) || m.at < 0 || m.at > layers.length) mismatch(net, m, 'body length', layers.length);
      layers.splice(m.at, 0, m.layer === 'maxpool' ? 'maxpool' : { dropout: m.layer.dropout });
      break;
    case 'remove':
      expectModule(net, m, m.at, m.setting);
      layers.splice(m.at, 1);
      break;
    case 'duplicate':
      expectModule(net, m, m.at, m.setting);
      layers.splice(m.at + 1, 0, m.setting);
      break;
    case 'setting':
      expectModule(net, m, m.at, m.from);
      if (m.to === m.from) mismatch(net, m, `setting at ${m.at}`, m.from);
      layers[m.at] = m.to;
      break;
    case 'width':
      if (m.from !== width || m.to !== widthTimes(m.from, m.factor)) mismatch(net, m, 'width', width);
      width = m.to;
      break;
    case 'module':
      if (m.from !== module || m.to === m.from) mismatch(net, m, 'module', module);
      module = m.to;
      break;
    case 'dropout':
      if (m.from !== dropout || m.to === m.from) mismatch(net, m, 'head dropout', dropout);
      dropout = m.to;
      break;
  }
  const used = new Set(layers.filter((l): l is string => typeof l === 'string'));
  const own: [string, InceptionSetting][] = Object.entries(net.settings).filter(([k]) => !SETTINGS[k] && used.has(k));
  return {
    format: net.format, module, stem: [...net.stem], layers,
    ...(own.length ? { settings: Object.fromEntries(own.map(([k, v]) => [k, [...v]])) } : {}),
    width, dropout,
  };
}

const defaultSource = (net: Network, m: Mutation) => `${net.name} with ${describeMutation(m)}`;

/**
 * The child of `net` by `m` (pure): validateNetwork of the changed network file, so a child that
 * breaks a rule of the format (pools shrinking 32x32 below 1x1, more than 2^31 parameters, a
 * dropout outside [0, 1), …) throws the format's one-line refusal, naming `source`. The child keeps
 * the parent's name until proposeChild names it, and has no description or origin.
 */
export function applyMutation(net: Network, m: Mutation, source = defaultSource(net, m)): Network {
  return validateNetwork(childFile(net, m), source, net.name);
}

export interface ChildOptions {
  /** The parameter and MAC limits are checked with this class count. */
  classes: number;
  maxParams?: number;
  maxMacs?: number;
  /** Network hashes already in the search (the base's included): a child with one of them is drawn again. */
  seen: ReadonlySet<string>;
  /** The child's network name from its hash. */
  name: (hash: string) => string;
  /** Recorded in the child's origin. */
  parent: { name: string; candidate: number | null };
}

export interface Child {
  network: Network;
  hash: string;
  mutation: Mutation;
  /** Counted by networkLayout with ChildOptions.classes (what summarize() counts on the built model). */
  params: number;
  macs: number;
  /** Mutations drawn for this child, the accepted one included. */
  draws: number;
}

export type ExhaustedReason = 'invalid' | 'seen' | 'max-params' | 'max-macs';
export interface Exhausted {
  exhausted: true;
  draws: number;
  /** How many draws each reason turned down (every reason present, 0 where none). */
  why: Record<ExhaustedReason, number>;
}

/**
 * A new child of `parent`: draws a mutation and applies it, and draws again — MAX_DRAWS draws in
 * all — while the child breaks a rule of the format or has more than 2^31 parameters with
 * `o.classes` classes ('invalid'), was seen ('seen'), or exceeds maxParams or maxMacs (counted by
 * networkLayout, without building). The accepted child is named `o.name(hash)` and records its
 * parent and mutation in `origin` (neither changes its hash). Deterministic in `rng`'s state and the inputs.
 */
export function proposeChild(parent: Network, rng: Rng, o: ChildOptions): Child | Exhausted {
  const why: Record<ExhaustedReason, number> = { invalid: 0, seen: 0, 'max-params': 0, 'max-macs': 0 };
  for (let draws = 1; draws <= MAX_DRAWS; draws++) {
    const mutation = drawMutation(parent, rng);
    const file = childFile(parent, mutation);
    const source = defaultSource(parent, mutation);
    let child: Network;
    try {
      child = validateNetwork(file, source, parent.name);
    } catch {
      why.invalid++;
      continue;
    }
    const hash = networkHash(child);
    if (o.seen.has(hash)) {
      why.seen++;
      continue;
    }
    const { params, macs } = networkLayout(child, o.classes);
    // createModel refuses more than 2^31 parameters at its own class count, which may be over the file check's 100
    if (params > NETWORK_MAX_PARAMS) {
      why.invalid++;
      continue;
    }
    if (o.maxParams !== undefined && params > o.maxParams) {
      why['max-params']++;
      continue;
    }
    if (o.maxMacs !== undefined && macs > o.maxMacs) {
      why['max-macs']++;
      continue;
    }
    // origin holds its own copy of the mutation (plain JSON), so the caller's Child.mutation can be changed freely
    const origin = { parent: o.parent.name, candidate: o.parent.candidate, mutation: JSON.parse(JSON.stringify(mutation)) as Mutation, text: describeMutation(mutation) };
    const network = validateNetwork({ ...file, name: o.name(hash), origin }, source);
    return { network, hash, mutation, params, macs, draws };
  }
  return { exhausted: true, draws: MAX_DRAWS, why };
}
