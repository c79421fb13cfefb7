// A network file (format googlenet-network/1): the one description of a network of the family —
// its stem, the body's layers in order (Inception settings, max pools, dropouts), the head's
// dropout, the module kind and a width multiplier. This module reads and validates such files
// (every refusal one line: `<file>: <JSON path>: <what is wrong>; <the fix>`), normalises them,
// serialises their canonical form (RFC 8785) and hashes it, and works out their shapes, parameters
// and multiply-accumulates without building them. googlenet.ts builds the modules; docs/network-files.md
// describes the format, src/models/network.schema.json is its JSON Schema (networkSchema()).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalize } from '../util/canonical-json.js';

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

export const NETWORK_FORMAT = 'googlenet-network/1';
/** Every key a network file may hold (`$schema`: for editors, ignored), in the order formatNetworkFile writes them. */
export const NETWORK_KEYS = ['$schema', 'format', 'name', 'description', 'origin', 'module', 'stem', 'layers', 'settings', 'width', 'dropout'] as const;
export const NETWORK_REQUIRED_KEYS = ['format', 'layers'] as const;
export const NETWORK_MODULES = ['bottleneck', 'naive'] as const;
export const SETTING_NAME_PATTERN = '^[a-z][a-z0-9]*$';
export const NETWORK_NAME_PATTERN = '^[a-z][a-z0-9-]*$';
/** Module names of the network itself, which a setting may not take. */
export const RESERVED_SETTING_NAMES = ['prelayer', 'maxpool', 'avgpool', 'dropout', 'linear', 'flatten'] as const;
/** The names of a setting's six counts, in order. */
export const SETTING_FIELDS = ['n1x1', 'n3x3_reduce', 'n3x3', 'n5x5_reduce', 'n5x5', 'pool_proj'] as const;
export const POOL_KEYS = ['kernel', 'stride', 'padding'] as const;
/** The seed's pool between stages, which the layer "maxpool" stands for: MaxPool2d(3, stride 2, padding 1). */
export const SEED_POOL: PoolParams = { kernel: 3, stride: 2, padding: 1 };
export const NETWORK_DEFAULTS = { module: 'bottleneck', stem: [192], width: 1, dropout: 0.4 } as const;
/** A network file larger than this is refused unread. */
export const NETWORK_MAX_BYTES = 1 << 20;
/** A network with more parameters (with NETWORK_CHECK_CLASSES classes) is refused. */
export const NETWORK_MAX_PARAMS = 2 ** 31;
/** The class count a file's parameter limit is checked with (CIFAR-100's); createModel checks its own. */
export const NETWORK_CHECK_CLASSES = 100;
/** The image size every pool must leave at least 1x1 of. */
export const NETWORK_IMAGE_SIZE = 32;

export interface PoolParams {
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}
export type NetworkModule = (typeof NETWORK_MODULES)[number];
/** A layer of the body, normalised: a setting's name, a max pool (always as its object) or a Dropout2d. */
export type NetworkLayer = string | { readonly maxpool: PoolParams } | { readonly dropout: number };

/** A validated network, defaults filled; its settings are those its layers use, the seed's included (counts as written, before width). */
export interface Network {
  readonly format: typeof NETWORK_FORMAT;
  /** Shown in reports; not part of the network (nor of its canonical form). */
  readonly name: string;
  readonly description?: string;
  /** Free-form JSON, e.g. a parent network and a mutation. */
  readonly origin?: unknown;
  readonly module: NetworkModule;
  readonly stem: readonly number[];
  readonly layers: readonly NetworkLayer[];
  readonly settings: Readonly<Record<string, InceptionSetting>>;
  readonly width: number;
  readonly dropout: number;
}

// ---- errors -------------------------------------------------------------------------------------

type PathPart = string | number;

/** A JSON path as `layers[3].maxpool.padding` (`$` for the document itself). */
export function jsonPath(parts: readonly PathPart[]): string {
  if (parts.length === 0) return '$';
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? (i ? `.${p}` : p) : `[${JSON.stringify(p)}]`)).join('');
}

/** The one-line refusal: `<source>: <path>: <what>; <fix>`. */
function refuse(source: string, at: readonly PathPart[], what: string, fix: string): never {
  const line = `${source}: ${jsonPath(at)}: ${what}; ${fix}`;
  throw new Error(line.replace(/\s*\n\s*/g, ' '));
}

/** A value as it appears in a message: short, on one line. */
function shown(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

function closest(word: string, known: readonly string[]): string | undefined {
  const best = known.map((k) => [k, editDistance(word.toLowerCase(), k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= (word.length >= 4 ? 2 : 1) ? best[0] : undefined;
}

function unknownKeys(source: string, at: readonly PathPart[], o: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = closest(k, known);
    refuse(source, [...at, k], 'unknown key', near ? `did you mean '${near}'? (keys: ${known.join(', ')})` : `remove it (keys: ${known.join(', ')})`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- width and shapes ---------------------------------------------------------------------------

/** A channel count at `width`: as written at 1, else max(8, 8·⌊c·width/8 + ½⌋) (half up to a multiple of 8). */
export function scaleChannels(c: number, width: number): number {
  return width === 1 ? c : Math.max(8, 8 * Math.floor((c * width) / 8 + 0.5));
}

/** The counts the network is built with: stem and every setting it uses, at its width. */
export function scaledCounts(net: Network): { stem: number[]; settings: Record<string, InceptionSetting> } {
  const s = (c: number) => scaleChannels(c, net.width);
  return {
    stem: net.stem.map(s),
    settings: Object.fromEntries(Object.entries(net.settings).map(([k, v]) => [k, v.map(s) as unknown as InceptionSetting])),
  };
}

/** Output size of a max pool (PyTorch, ceil_mode false). */
export function poolOutput(size: number, p: PoolParams): number {
  return Math.floor((size + 2 * p.padding - p.kernel) / p.stride) + 1;
}

/** Parameters of conv (with bias) + BatchNorm. */
const unitParams = (i: number, o: number, k: number) => i * o * k * k + o + 2 * o;

/**
 * Multiply-accumulates of one conv for one image at `size`x`size`, as summarize() counts them
 * (Cin·Cout·k·k·Hout·Wout): every conv of the family keeps the spatial size (stride 1, same padding).
 */
const unitMacs = (i: number, o: number, k: number, size: number) => i * o * k * k * size * size;

/** Parameters and output channels of one Inception module of `kind` with `inChannels` inputs. */
export function inceptionShape(kind: NetworkModule, inChannels: number, s: InceptionSetting): { params: number; out: number } {
  const [n1, r3, n3, r5, n5, pp] = s;
  if (kind === 'naive') {
    return { params: unitParams(inChannels, n1, 1) + unitParams(inChannels, n3, 3) + unitParams(inChannels, n5, 3), out: n1 + n3 + n5 + inChannels };
  }
  const params = unitParams(inChannels, n1, 1) + unitParams(inChannels, r3, 1) + unitParams(r3, n3, 3) +
    unitParams(inChannels, r5, 1) + unitParams(r5, n5, 3) + unitParams(n5, n5, 3) + unitParams(inChannels, pp, 1);
  return { params, out: n1 + n3 + n5 + pp };
}

/** Multiply-accumulates of one Inception module of `kind` with `inChannels` inputs at `size`x`size` (its pools count 0). */
export function inceptionMacs(kind: NetworkModule, inChannels: number, s: InceptionSetting, size: number): number {
  const [n1, r3, n3, r5, n5, pp] = s;
  const m = (i: number, o: number, k: number) => unitMacs(i, o, k, size);
  if (kind === 'naive') return m(inChannels, n1, 1) + m(inChannels, n3, 3) + m(inChannels, n5, 3);
  return m(inChannels, n1, 1) + m(inChannels, r3, 1) + m(r3, n3, 3) + m(inChannels, r5, 1) + m(r5, n5, 3) + m(n5, n5, 3) + m(inChannels, pp, 1);
}

export interface LayoutRow {
  /** 'stem', a layer's index in `layers`, or 'head'. */
  at: 'stem' | number | 'head';
  kind: 'stem' | 'inception' | 'maxpool' | 'dropout' | 'head';
  channels: number;
  size: number;
  params: number;
  /** Multiply-accumulates for one image (convolutions and the linear layer; pools, BatchNorm, ReLU and dropout count 0). */
  macs: number;
}

/**
 * The network's channels, image size, parameters and multiply-accumulates (for one image) after the
 * stem, each layer and the head, for `classes` outputs and a `size`x`size` input — worked out, not
 * built, and counted as summarize() counts the built model. Stops at the first pool that leaves less
 * than 1x1 (that row has size < 1).
 */
export function networkLayout(net: Network, classes: number, size = NETWORK_IMAGE_SIZE): { rows: LayoutRow[]; params: number; macs: number } {
  const { stem, settings } = scaledCounts(net);
  const rows: LayoutRow[] = [];
  let channels = 3;
  let params = 0;
  let macs = 0;
  for (const o of stem) {
    params += unitParams(channels, o, 3);
    macs += unitMacs(channels, o, 3, size);
    channels = o;
  }
  rows.push({ at: 'stem', kind: 'stem', channels, size, params, macs });
  for (const [i, layer] of net.layers.entries()) {
    let p = 0;
    let m = 0;
    let kind: LayoutRow['kind'];
    if (typeof layer === 'string') {
      const shape = inceptionShape(net.module, channels, settings[layer]);
      m = inceptionMacs(net.module, channels, settings[layer], size);
      p = shape.params;
      channels = shape.out;
      kind = 'inception';
    } else if ('maxpool' in layer) {
      size = poolOutput(size, layer.maxpool);
      kind = 'maxpool';
    } else kind = 'dropout';
    params += p;
    macs += m;
    rows.push({ at: i, kind, channels, size, params: p, macs: m });
    if (size < 1) return { rows, params, macs };
  }
  // average pool to 1x1, then the linear layer: in·out multiply-accumulates, (in + 1)·out parameters
  const head = (channels + 1) * classes;
  const headMacs = channels * classes;
  params += head;
  macs += headMacs;
  rows.push({ at: 'head', kind: 'head', channels: classes, size: 1, params: head, macs: headMacs });
  return { rows, params, macs };
}

// ---- validation ---------------------------------------------------------------------------------

function count(source: string, at: PathPart[], v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) refuse(source, at, `${what} must be a whole number, got ${shown(v)}`, 'write a whole number of channels, at least 1');
  if (v < 1) refuse(source, at, `${what} must be at least 1, got ${v}`, 'write a count of at least 1 (leave the branch out by choosing another setting)');
  return v;
}

function probability(source: string, at: PathPart[], v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    refuse(source, at, `${what} must be a number in [0, 1), got ${shown(v)}`, 'write a drop probability such as 0.2 (0 drops nothing)');
  return v;
}

function poolParams(source: string, at: PathPart[], v: unknown): PoolParams {
  if (!isObject(v)) refuse(source, at, `a pool must be an object {"kernel": k, "stride": s, "padding": p}, got ${shown(v)}`, 'write e.g. {"maxpool": {"kernel": 3, "stride": 2, "padding": 1}}, or "maxpool" for that pool');
  unknownKeys(source, at, v, POOL_KEYS);
  if (v.kernel === undefined) refuse(source, [...at, 'kernel'], 'missing', 'give the pool its kernel size, e.g. "kernel": 2');
  const int = (k: 'kernel' | 'stride' | 'padding', min: number) => {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min)
      refuse(source, [...at, k], `${k} must be a whole number ≥ ${min}, got ${shown(x)}`, k === 'padding' ? 'write 0 or more, at most half the kernel' : `write ${min} or more`);
    return x;
  };
  const kernel = int('kernel', 1);
  const stride = v.stride === undefined ? kernel : int('stride', 1);
  const padding = v.padding === undefined ? 0 : int('padding', 0);
  if (2 * padding > kernel) refuse(source, [...at, 'padding'], `padding ${padding} is more than half the kernel ${kernel}`, `write a padding of at most ${Math.floor(kernel / 2)}`);
  return { kernel, stride, padding };
}

/** The file's base name without .json, as the default `name`. */
export function defaultNetworkName(file: string): string {
  return path.basename(file).replace(/\.json$/i, '');
}

/**
 * Validates a parsed network file (`value`) and normalises it: defaults filled, pools as objects,
 * settings narrowed to those the layers use (the seed's inlined). `source` names it in refusals
 * (its file); `name` is the default name (the file's base name).
 */
export function validateNetwork(value: unknown, source: string, name = defaultNetworkName(source)): Network {
  if (!isObject(value)) refuse(source, [], `a network file is a JSON object, got ${Array.isArray(value) ? 'an array' : shown(value)}`, `write {"format": "${NETWORK_FORMAT}", "layers": [...]}`);
  if (value.format === undefined) refuse(source, ['format'], 'missing', `add "format": "${NETWORK_FORMAT}"`);
  if (value.format !== NETWORK_FORMAT) refuse(source, ['format'], `${shown(value.format)} is not a format this version reads`, `write "format": "${NETWORK_FORMAT}"`);
  unknownKeys(source, [], value, NETWORK_KEYS);
  if (value.layers === undefined) refuse(source, ['layers'], 'missing', 'add "layers": the body in order, e.g. ["a3", "b3", "maxpool", "a4"]');

  if (value.name !== undefined) {
    if (typeof value.name !== 'string' || !new RegExp(NETWORK_NAME_PATTERN).test(value.name))
      refuse(source, ['name'], `${shown(value.name)} is not a network name (${NETWORK_NAME_PATTERN})`, 'use lower-case letters, digits and -, starting with a letter');
    name = value.name;
  }
  if (value.$schema !== undefined && typeof value.$schema !== 'string')
    refuse(source, ['$schema'], `must be a string, got ${shown(value.$schema)}`, 'write the path or URL of network.schema.json, or leave it out');
  if (value.description !== undefined && typeof value.description !== 'string')
    refuse(source, ['description'], `must be a string, got ${shown(value.description)}`, 'write the description as one string');
  let module: NetworkModule = NETWORK_DEFAULTS.module;
  if (value.module !== undefined) {
    if (!(NETWORK_MODULES as readonly unknown[]).includes(value.module))
      refuse(source, ['module'], `${shown(value.module)} is no module kind`, `write one of ${NETWORK_MODULES.map((m) => `"${m}"`).join(', ')}`);
    module = value.module as NetworkModule;
  }
  let width: number = NETWORK_DEFAULTS.width;
  if (value.width !== undefined) {
    if (typeof value.width !== 'number' || !(value.width > 0) || !Number.isFinite(value.width))
      refuse(source, ['width'], `must be a number > 0, got ${shown(value.width)}`, 'write a multiplier of every channel count such as 0.5 or 1.5 (1 keeps them)');
    width = value.width;
  }
  const dropout = value.dropout === undefined ? NETWORK_DEFAULTS.dropout : probability(source, ['dropout'], value.dropout, "the head's dropout");
  let stem: number[] = [...NETWORK_DEFAULTS.stem];
  if (value.stem !== undefined) {
    if (!Array.isArray(value.stem)) refuse(source, ['stem'], `must be a list of channel counts, got ${shown(value.stem)}`, 'write e.g. [192] (one 3x3 conv + BatchNorm + ReLU per count)');
    stem = value.stem.map((c, i) => count(source, ['stem', i], c, 'a stem unit\'s channel count'));
  }

  const declared: Record<string, InceptionSetting> = {};
  if (value.settings !== undefined) {
    if (!isObject(value.settings)) refuse(source, ['settings'], `must be an object of settings by name, got ${shown(value.settings)}`, 'write e.g. {"a3w": [96, 96, 128, 16, 32, 32]}');
    for (const [k, v] of Object.entries(value.settings)) {
      const at = ['settings', k];
      if (!new RegExp(SETTING_NAME_PATTERN).test(k)) refuse(source, at, `'${k}' is not a setting name (${SETTING_NAME_PATTERN})`, 'use lower-case letters and digits, starting with a letter (the name becomes a module name)');
      if ((RESERVED_SETTING_NAMES as readonly string[]).includes(k)) refuse(source, at, `'${k}' is a module name of the network itself`, `give the setting another name (not ${RESERVED_SETTING_NAMES.join(', ')})`);
      if (!Array.isArray(v) || v.length !== 6)
        refuse(source, at, `a setting is 6 counts [${SETTING_FIELDS.join(', ')}], got ${Array.isArray(v) ? `${v.length}` : shown(v)}`, 'write six channel counts in the seed\'s argument order');
      const counts = v.map((c, i) => count(source, [...at, i], c, SETTING_FIELDS[i])) as unknown as InceptionSetting;
      const seed = SETTINGS[k];
      if (seed && seed.some((c, i) => c !== counts[i]))
        refuse(source, at, `'${k}' is one of the seed's nine settings [${seed.join(', ')}] and cannot be redefined`, `give yours another name, e.g. '${k}w'`);
      declared[k] = counts;
    }
  }

  if (!Array.isArray(value.layers)) refuse(source, ['layers'], `must be a list, got ${shown(value.layers)}`, 'write the body in order, e.g. ["a3", "b3", "maxpool", "a4"]');
  const known = { ...SETTINGS, ...declared };
  const used: Record<string, InceptionSetting> = {};
  const layers: NetworkLayer[] = value.layers.map((l: unknown, i: number): NetworkLayer => {
    const at = ['layers', i];
    if (typeof l === 'string') {
      if (l === 'maxpool') return { maxpool: SEED_POOL };
      const s = known[l];
      if (!s) {
        const near = closest(l, [...Object.keys(known), 'maxpool']);
        refuse(source, at, `unknown Inception setting '${l}'`, `${near ? `did you mean '${near}'? ` : ''}use one of the seed's nine (${Object.keys(SETTINGS).join(' ')}), one declared under "settings", or "maxpool"`);
      }
      used[l] = s;
      return l;
    }
    if (isObject(l)) {
      const keys = Object.keys(l);
      if (keys.length === 1 && keys[0] === 'maxpool') return { maxpool: poolParams(source, [...at, 'maxpool'], l.maxpool) };
      if (keys.length === 1 && keys[0] === 'dropout') return { dropout: probability(source, [...at, 'dropout'], l.dropout, 'a dropout layer\'s probability') };
      if (keys.length === 1) {
        const near = closest(keys[0], ['maxpool', 'dropout']);
        refuse(source, [...at, keys[0]], 'unknown layer kind', `${near ? `did you mean '${near}'? ` : ''}a layer object is {"maxpool": {...}} or {"dropout": p}`);
      }
    }
    return refuse(source, at, `${shown(l)} is no layer`, 'write a setting\'s name ("a3"), "maxpool", {"maxpool": {"kernel": k, "stride": s, "padding": p}} or {"dropout": p}');
  });

  const net: Network = {
    format: NETWORK_FORMAT, name,
    ...(value.description !== undefined ? { description: value.description as string } : {}),
    ...(value.origin !== undefined ? { origin: value.origin } : {}),
    module, stem, layers, settings: used, width, dropout,
  };
  const layout = networkLayout(net, NETWORK_CHECK_CLASSES);
  const last = layout.rows.at(-1)!;
  if (last.size < 1) {
    const layer = net.layers[last.at as number] as { maxpool: PoolParams };
    const { kernel, stride, padding } = layer.maxpool;
    const before = layout.rows.at(-2)!.size;
    const isSeedPool = value.layers[last.at as number] === 'maxpool';
    refuse(source, isSeedPool ? ['layers', last.at] : ['layers', last.at, 'maxpool'],
      `MaxPool2d(kernel ${kernel}, stride ${stride}, padding ${padding}) shrinks the ${before}x${before} image below 1x1 (the input is ${NETWORK_IMAGE_SIZE}x${NETWORK_IMAGE_SIZE})`,
      'remove a pool or give it a smaller kernel or stride');
  }
  if (layout.params > NETWORK_MAX_PARAMS)
    refuse(source, [], `the network has ${layout.params.toLocaleString('en-US')} parameters (${NETWORK_CHECK_CLASSES} classes), more than 2^31`, 'make it smaller: fewer or narrower layers, or a smaller width');
  return net;
}

/** Parses and validates the text of a network file (see validateNetwork). */
export function parseNetwork(text: string, source: string, name = defaultNetworkName(source)): Network {
  if (Buffer.byteLength(text) > NETWORK_MAX_BYTES) refuse(source, [], `${Buffer.byteLength(text).toLocaleString('en-US')} bytes, more than the 1 MiB a network file may have`, 'check that this is a network file');
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    let msg = (e as Error).message.replace(/\s+/g, ' ');
    const at = /at position (\d+)(?: \(line \d+ column \d+\))?/.exec(msg);
    if (at) {
      const before = text.replace(/^\uFEFF/, '').slice(0, Number(at[1])).split('\n');
      msg = msg.replace(at[0], `at line ${before.length} column ${before.at(-1)!.length + 1}`);
    }
    refuse(source, [], `invalid JSON (${msg.length > 120 ? `${msg.slice(0, 117)}...` : msg})`, 'fix the JSON syntax (no comments, no trailing commas, keys in double quotes)');
  }
  return validateNetwork(value, source, name);
}

/** Reads, parses and validates a network file; refuses one over 1 MiB unread. */
export function readNetworkFile(file: string): Network {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(file, [], code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`, 'check the path of the network file');
  }
  if (size > NETWORK_MAX_BYTES) refuse(file, [], `${size.toLocaleString('en-US')} bytes, more than the 1 MiB a network file may have`, 'check that this is a network file');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(file, [], `cannot read it (${code ?? (e as Error).message})`, 'check the path of the network file');
  }
  return parseNetwork(text, file);
}

// ---- canonical form -----------------------------------------------------------------------------

/** The network as data only: defaults filled, pools as objects, the settings it uses inlined, no name, description or origin. */
export function canonicalNetwork(net: Network): Record<string, unknown> {
  return {
    format: net.format,
    module: net.module,
    stem: [...net.stem],
    layers: net.layers.map((l) => (typeof l === 'string' ? l : 'maxpool' in l ? { maxpool: { ...l.maxpool } } : { dropout: l.dropout })),
    settings: Object.fromEntries(Object.entries(net.settings).map(([k, v]) => [k, [...v]])),
    width: net.width,
    dropout: net.dropout,
  };
}

/** The canonical form serialised by RFC 8785 (JSON Canonicalization): one network, one string. */
export function canonicalNetworkJson(net: Network): string {
  return canonicalize(canonicalNetwork(net));
}

/** The network's identity: the SHA-256 of its canonical JSON (UTF-8), 64 lower-case hex digits. */
export function networkHash(net: Network): string {
  return createHash('sha256').update(canonicalNetworkJson(net), 'utf8').digest('hex');
}

// ---- text forms ---------------------------------------------------------------------------------

const isSeedPool = (p: PoolParams) => p.kernel === SEED_POOL.kernel && p.stride === SEED_POOL.stride && p.padding === SEED_POOL.padding;

/**
 * The body on one line: settings by name, `pool` for the seed's pool, `pool(k,s,p)` for another
 * (kernel, stride, padding), `drop(p)` for a dropout, then `×width` when it is not 1,
 * e.g. `a3 b3 pool a4 drop(0.2) pool(2,2,0) b5 ×0.75`; `—` for an empty body.
 */
export function describeLayers(net: Network): string {
  const body = net.layers.map((l) => (typeof l === 'string' ? l : 'maxpool' in l
    ? (isSeedPool(l.maxpool) ? 'pool' : `pool(${l.maxpool.kernel},${l.maxpool.stride},${l.maxpool.padding})`)
    : `drop(${l.dropout})`)).join(' ') || '—';
  return net.width === 1 ? body : `${body} ×${net.width}`;
}

/**
 * The network as a file to copy and edit (what `network show` prints): every key written out,
 * "maxpool" for the seed's pool, the settings beyond the seed's nine, one line per list.
 */
export function formatNetworkFile(net: Network): string {
  const own = Object.entries(net.settings).filter(([k]) => !SETTINGS[k]);
  const layers = net.layers.map((l) => (typeof l === 'object' && 'maxpool' in l && isSeedPool(l.maxpool) ? 'maxpool' : l));
  const fields: [string, string][] = [
    ['format', JSON.stringify(net.format)],
    ['name', JSON.stringify(net.name)],
    ...(net.description !== undefined ? [['description', JSON.stringify(net.description)] as [string, string]] : []),
    ...(net.origin !== undefined ? [['origin', JSON.stringify(net.origin)] as [string, string]] : []),
    ['module', JSON.stringify(net.module)],
    ['stem', JSON.stringify(net.stem)],
    ['layers', `[${layers.map((l) => JSON.stringify(l).replace(/([,:])/g, '$1 ')).join(', ')}]`],
    ...(own.length ? [['settings', `{\n${own.map(([k, v]) => `    ${JSON.stringify(k)}: [${v.join(', ')}]`).join(',\n')}\n  }`] as [string, string]] : []),
    ['width', JSON.stringify(net.width)],
    ['dropout', JSON.stringify(net.dropout)],
  ];
  return `{\n${fields.map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`).join(',\n')}\n}\n`;
}

/** Is this argument a network file (contains / or ends in .json) rather than a built-in network's name? */
export function isNetworkFileArgument(arg: string): boolean {
  return arg.includes('/') || arg.endsWith('.json');
}

// ---- JSON Schema --------------------------------------------------------------------------------

/** The JSON Schema (2020-12) of the format, made from the constants the validator uses; shipped as src/models/network.schema.json. */
export function networkSchema(): Record<string, unknown> {
  const probabilitySchema = { type: 'number', minimum: 0, exclusiveMaximum: 1 };
  const countSchema = { type: 'integer', minimum: 1 };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `GoogLeNet network file (${NETWORK_FORMAT})`,
    description: 'One network of the GoogLeNet family: the stem, the body in order and the head. See docs/network-files.md.',
    type: 'object',
    required: [...NETWORK_REQUIRED_KEYS],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'for editors: where this schema is; ignored' },
      format: { const: NETWORK_FORMAT },
      name: { type: 'string', pattern: NETWORK_NAME_PATTERN, description: "shown in reports (default: the file's base name); not part of the network" },
      description: { type: 'string' },
      origin: { description: 'free-form, e.g. a parent network and a mutation; not part of the network' },
      module: { enum: [...NETWORK_MODULES], default: NETWORK_DEFAULTS.module },
      stem: { type: 'array', items: countSchema, default: [...NETWORK_DEFAULTS.stem], description: 'output channels of the 3x3 conv + BatchNorm + ReLU units before the body' },
      layers: {
        type: 'array',
        description: 'the body in order: a setting\'s name, "maxpool" (MaxPool2d(3, 2, 1)), {"maxpool": {...}} or {"dropout": p}',
        items: {
          oneOf: [
            { type: 'string', pattern: SETTING_NAME_PATTERN },
            {
              type: 'object', required: ['maxpool'], additionalProperties: false,
              properties: {
                maxpool: {
                  type: 'object', required: ['kernel'], additionalProperties: false,
                  properties: { kernel: countSchema, stride: countSchema, padding: { type: 'integer', minimum: 0 } },
                },
              },
            },
            { type: 'object', required: ['dropout'], additionalProperties: false, properties: { dropout: probabilitySchema } },
          ],
        },
      },
      settings: {
        type: 'object',
        description: `extra Inception settings by name: [${SETTING_FIELDS.join(', ')}]`,
        propertyNames: { pattern: SETTING_NAME_PATTERN, not: { enum: [...RESERVED_SETTING_NAMES] } },
        // the seed's nine may be repeated only as they are
        properties: Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, { const: [...v] }])),
        additionalProperties: { type: 'array', items: countSchema, minItems: 6, maxItems: 6 },
      },
      width: { type: 'number', exclusiveMinimum: 0, default: NETWORK_DEFAULTS.width },
      dropout: { ...probabilitySchema, default: NETWORK_DEFAULTS.dropout },
    },
  };
}
