// The seven networks of the seed's experiment as network files (../shared/variants/README.md):
// each is validated at load like any file, and `network show NAME` prints it to copy and edit.
// "maxpool" is the seed's MaxPool2d(3, stride 2, padding 1) between its stages (32x32 → 16x16 → 8x8).
import { NETWORK_FORMAT, validateNetwork, type Network } from './network.js';

const file = (name: string, description: string, layers: string[], extra: Record<string, unknown> = {}) =>
  ({ format: NETWORK_FORMAT, name, description, layers, ...extra });

const standard = ['a3', 'b3', 'maxpool', 'a4', 'b4', 'c4', 'd4', 'e4', 'maxpool', 'a5', 'b5'];
const reconstruction = 'our reconstruction: no arrangement of the seed\'s settings gives the seed\'s count (see the variants README)';

/** The seven built-in network files, as written (JSON data). */
export const BUILTIN_NETWORK_FILES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  googlenet: file('googlenet', "The seed's GoogLeNet for CIFAR (pytorch-cifar100): nine Inception modules at 32x32, 16x16 and 8x8", standard),
  'googlenet-naive': file('googlenet-naive', 'The same nine settings with naive Inception modules (no 1x1 bottlenecks, no pool projection)', standard, { module: 'naive' }),
  'googlenet-long': file('googlenet-long', 'GoogLeNet with three extra copies of a5 at 8x8',
    ['a3', 'b3', 'maxpool', 'a4', 'b4', 'c4', 'd4', 'e4', 'maxpool', 'a5', 'a5', 'a5', 'a5', 'b5']),
  'googlenet-short': file('googlenet-short', 'GoogLeNet without b4 and c4', ['a3', 'b3', 'maxpool', 'a4', 'd4', 'e4', 'maxpool', 'a5', 'b5']),
  'googlenet-short2': file('googlenet-short2', 'GoogLeNet without b4, c4, d4 and e4', ['a3', 'b3', 'maxpool', 'a4', 'maxpool', 'a5', 'b5']),
  'googlenet-short3': file('googlenet-short3', `Three Inception modules, one per resolution; ${reconstruction}`, ['a3', 'maxpool', 'c4', 'maxpool', 'b5']),
  'googlenet-short4': file('googlenet-short4', `Two Inception modules, none at 32x32; ${reconstruction}`, ['maxpool', 'a4', 'maxpool', 'b5']),
};

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** The seven built-in networks, validated; frozen, as each is the one object wherever it is named. */
export const BUILTIN_NETWORKS: Readonly<Record<string, Network>> = deepFreeze(
  Object.fromEntries(Object.entries(BUILTIN_NETWORK_FILES).map(([name, f]) => [name, validateNetwork(f, `built-in network '${name}'`, name)])),
);
