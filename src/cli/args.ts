// What the commands share: argument parsers that name the flag and the value in their one-line
// error, the options several commands take, and the help's small helpers. Defaults and choices come
// from the config types (src/train/config.ts), never restated here.
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { modelNames } from '../models/googlenet.js';
import { CONV_CHOICES, WINOGRAD_MIN_IN_CHANNELS, type ConvChoice } from '../nn/conv-algorithm.js';
import { isNetworkFileArgument, readNetworkFile } from '../models/network.js';
import { DATASET_NAMES, defaultConfig, PRECISIONS } from '../train/config.js';
import { DEFAULT_HEARTBEAT, LEASE_BEATS } from '../store/store.js';
import { STORE_ENV } from '../store/open.js';

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got '${v}'`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

export function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
    return v as T;
  };
}

export function intList(name: string) {
  return (v: string): number[] => {
    const list = v.split(',').map((x) => Number(x.trim()));
    if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`${name} must be a comma-separated list of positive integers, got '${v}'`);
    return list;
  };
}

/** A built-in network's name or a network file (a path with / or ending in .json), checked as it is parsed. */
export function modelName(v: string): string {
  if (isNetworkFileArgument(v)) {
    try {
      readNetworkFile(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  } else if (!modelNames().includes(v)) throw new InvalidArgumentError(`unknown model '${v}'; choose one of: ${modelNames().join(', ')}, or a network file (a path with / or ending in .json)`);
  return v;
}

export function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be an integer from 0 to 65535 (0: any free port), got '${v}'`);
  return n;
}

/** The defaults every command's options show: the seed's recipe and our run options. */
export const DEFAULTS = defaultConfig();

/** `a, b or c`, with the seed's (default) choice named. */
export const listChoices = (values: readonly string[], seed?: string) =>
  `${values.slice(0, -1).join(', ')} or ${values.at(-1)}${seed ? ` (the seed's: ${seed})` : ''}`;

export const modelHelp = `network (${modelNames().join(', ')}), or a network file (a path with / or ending in .json)`;

/** `Examples:` after a command's help, one command line each. */
export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

/** This package's version, from its package.json (two folders above dist/src/cli). */
export const VERSION = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** --threads, a global option given before or after the command. */
export const globalThreads = (cmd: Command) => cmd.optsWithGlobals().threads as number | undefined;

/** --conv, a global option given before or after the command (default: the run options'). */
export const globalConv = (cmd: Command) => (cmd.optsWithGlobals().conv as ConvChoice | undefined) ?? DEFAULTS.run.conv;

export const convHelp = `convolution algorithm: auto (Winograd where the rule admits it: f32, 3x3, stride 1, at least ${WINOGRAD_MIN_IN_CHANNELS} input channels, ` +
  'oneDNN on avx512_core or better; the rest direct), winograd (the same rule; refused without AVX-512 or with bf16) or direct';
export const convOption = () => new Option('--conv <choice>', convHelp).argParser(choice('--conv', CONV_CHOICES)).default(DEFAULTS.run.conv);

export const datasetOption = () => new Option('--dataset <name>', listChoices(DATASET_NAMES)).argParser(choice('--dataset', DATASET_NAMES)).default(DEFAULTS.recipe.dataset);
export const precisionOption = (help: string) => new Option('--precision <p>', help).argParser(choice('--precision', PRECISIONS)).default(DEFAULTS.recipe.precision);

export const heartbeatOption = () => new Option('--heartbeat <seconds>', `seconds between the heartbeats that keep a claim on a run (another worker takes it after ${LEASE_BEATS} missed)`)
  .argParser(positiveNumber('--heartbeat')).default(DEFAULT_HEARTBEAT);

export const storeOption = (extra = '') => new Option('--store <url>', `run store: sqlite:PATH, postgres://user@host:port/database (password from PGPASSWORD or ~/.pgpass) or a run folder; default $${STORE_ENV}${extra}`);

/** --store, else $GOOGLENET_STORE, else `fallback` (or an error naming both). */
export function storeUrl(o: { store?: string }, fallback?: string): string {
  const url = o.store ?? process.env[STORE_ENV] ?? fallback;
  if (!url) throw new Error(`no run store: pass --store URL (sqlite:PATH, postgres://user@host:port/db or a run folder) or set ${STORE_ENV}`);
  return url;
}
