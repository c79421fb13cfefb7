// Network files (src/models/network.ts, docs/network-files.md): each refusal in one line naming
// the file, the JSON path and the fix; the canonical form (RFC 8785) and its SHA-256; the seven
// built-in files build exactly today's networks; declared networks (pools, dropouts, width, stems,
// naive) build, count and summarise as worked out; the shipped JSON Schema is the validator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createModel, modelNames, resolveNetwork, stagesOf, VARIANTS, builtinNetwork, GoogLeNet } from '../src/models/googlenet.js';
import { BUILTIN_NETWORKS } from '../src/models/builtin-networks.js';
import {
  canonicalNetwork, canonicalNetworkJson, describeLayers, formatNetworkFile, NETWORK_FORMAT, NETWORK_KEYS, NETWORK_MODULES, NETWORK_NAME_PATTERN,
  NETWORK_REQUIRED_KEYS, networkHash, networkLayout, networkSchema, parseNetwork, readNetworkFile, RESERVED_SETTING_NAMES, scaleChannels,
  SETTING_NAME_PATTERN, SETTINGS, validateNetwork, type Network,
} from '../src/models/network.js';
import { summarize } from '../src/models/summary.js';
import { canonicalize } from '../src/util/canonical-json.js';
import { repoRoot } from './helpers.js';
import { COUNTS } from './counts.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-network-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const F = NETWORK_FORMAT;
/** Asserts that `file` (a JSON value, written to f.json) is refused with exactly `message` after "f.json: ". */
function refused(file: unknown, message: string): void {
  assert.throws(() => validateNetwork(file, 'f.json'), (e: Error) => {
    assert.equal(e.message, `f.json: ${message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

// ---- RFC 8785 -----------------------------------------------------------------------------------

test('canonicalize follows RFC 8785: its sorting and serialisation examples, and its number table for the numbers we meet', () => {
  // RFC 8785 section 3.2.2, the serialisation example
  const input = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}');
  assert.equal(canonicalize(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  // section 3.2.3, the sorting example (UTF-16 code units: the emoji's surrogates sort before U+FB33)
  const keys = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', 1: 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  assert.equal(canonicalize(keys), '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  // Appendix B: IEEE 754 bits → text
  const bits = (hex: string) => new DataView(new BigUint64Array([BigInt(`0x${hex}`)]).buffer).getFloat64(0, true);
  for (const [hex, text] of [['0000000000000000', '0'], ['8000000000000000', '0'], ['0000000000000001', '5e-324'], ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'], ['4340000000000000', '9007199254740992'], ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'], ['44b52d02c7e14af5', '9.999999999999997e+22'], ['44b52d02c7e14af6', '1e+23'],
    ['3eb0c6f7a0b5ed8d', '0.000001'], ['41b3de4355555555', '333333333.3333333']])
    assert.equal(canonicalize(bits(hex)), text, hex);
  // the numbers of network files
  assert.equal(canonicalize([192, 0.4, 0.75, 1, 1.5, 0, 2147483648]), '[192,0.4,0.75,1,1.5,0,2147483648]');
  assert.equal(canonicalize({ b: [1, { d: 1, c: 2 }], a: 'x' }), '{"a":"x","b":[1,{"c":2,"d":1}]}');
  for (const bad of [NaN, Infinity, '\ud800', () => 1, new Date(0)]) assert.throws(() => canonicalize(bad), /canonicalize: /);
});

// ---- refusals: one per kind, the exact line -----------------------------------------------------

test('refused: invalid JSON (line and column), a file over 1 MiB, a missing file', () => {
  // the words between the parentheses are Node's own (they differ between its versions), on one line
  assert.throws(() => parseNetwork('{\n  "format": "googlenet-network/1",\n  "layers": ["a3",]\n}', 'f.json'),
    /^Error: f\.json: \$: invalid JSON \([^\n]*\); fix the JSON syntax \(no comments, no trailing commas, keys in double quotes\)$/);
  assert.throws(() => parseNetwork('{"format": "googlenet-network/1",\n "layers": []', 'f.json'),
    /^Error: f\.json: \$: invalid JSON \([^\n]*at line 2 column 14\); fix the JSON syntax \(no comments, no trailing commas, keys in double quotes\)$/);
  const big = path.join(tmp, 'big.json');
  fs.writeFileSync(big, `{"format": "${F}", "layers": [], "description": "${'x'.repeat(1 << 20)}"}`);
  assert.throws(() => readNetworkFile(big), { message: `${big}: $: ${fs.statSync(big).size.toLocaleString('en-US')} bytes, more than the 1 MiB a network file may have; check that this is a network file` });
  assert.throws(() => readNetworkFile(path.join(tmp, 'none.json')), { message: `${path.join(tmp, 'none.json')}: $: no such file; check the path of the network file` });
  assert.throws(() => parseNetwork('[]', 'f.json'), { message: 'f.json: $: a network file is a JSON object, got an array; write {"format": "googlenet-network/1", "layers": [...]}' });
});

test('refused: a missing or other format, a missing layers', () => {
  refused({ layers: [] }, 'format: missing; add "format": "googlenet-network/1"');
  refused({ format: 'googlenet-network/2', layers: [] }, 'format: "googlenet-network/2" is not a format this version reads; write "format": "googlenet-network/1"');
  refused({ format: F }, 'layers: missing; add "layers": the body in order, e.g. ["a3", "b3", "maxpool", "a4"]');
});

test('refused: unknown keys (a typo is named, with the key it is likely to be)', () => {
  refused({ format: F, layers: [], widht: 2 }, `widht: unknown key; did you mean 'width'? (keys: ${NETWORK_KEYS.join(', ')})`);
  refused({ format: F, layers: [], colour: 'red' }, `colour: unknown key; remove it (keys: ${NETWORK_KEYS.join(', ')})`);
  refused({ format: F, layers: [{ maxpool: { kernel: 2, strides: 2 } }] }, "layers[0].maxpool.strides: unknown key; did you mean 'stride'? (keys: kernel, stride, padding)");
  refused({ format: F, layers: [{ maxpol: { kernel: 2 } }] }, "layers[0].maxpol: unknown layer kind; did you mean 'maxpool'? a layer object is {\"maxpool\": {...}} or {\"dropout\": p}");
  refused({ format: F, layers: [{ maxpool: { kernel: 2 }, dropout: 0.1 }] }, 'layers[0]: {"maxpool":{"kernel":2},"dropout":0.1} is no layer; write a setting\'s name ("a3"), "maxpool", {"maxpool": {"kernel": k, "stride": s, "padding": p}} or {"dropout": p}');
});

test('refused: unknown or malformed setting names, reserved names, the seed\'s nine redefined', () => {
  refused({ format: F, layers: ['a3', 'a6'] }, "layers[1]: unknown Inception setting 'a6'; did you mean 'a3'? use one of the seed's nine (a3 b3 a4 b4 c4 d4 e4 a5 b5), one declared under \"settings\", or \"maxpool\"");
  refused({ format: F, layers: ['zzzzzz'] }, "layers[0]: unknown Inception setting 'zzzzzz'; use one of the seed's nine (a3 b3 a4 b4 c4 d4 e4 a5 b5), one declared under \"settings\", or \"maxpool\"");
  refused({ format: F, layers: [], settings: { My_set: [1, 1, 1, 1, 1, 1] } }, "settings.My_set: 'My_set' is not a setting name (^[a-z][a-z0-9]*$); use lower-case letters and digits, starting with a letter (the name becomes a module name)");
  refused({ format: F, layers: [], settings: { linear: [1, 1, 1, 1, 1, 1] } }, "settings.linear: 'linear' is a module name of the network itself; give the setting another name (not prelayer, maxpool, avgpool, dropout, linear, flatten)");
  refused({ format: F, layers: [], settings: { a3: [64, 96, 128, 16, 32, 33] } }, "settings.a3: 'a3' is one of the seed's nine settings [64, 96, 128, 16, 32, 32] and cannot be redefined; give yours another name, e.g. 'a3w'");
  // repeating one of the seed's nine as it is (as the canonical form does) is no redefinition
  assert.deepEqual(validateNetwork({ format: F, layers: ['a3'], settings: { a3: [...SETTINGS.a3] } }, 'f.json').settings, { a3: SETTINGS.a3 });
});

test('refused: a setting of the wrong length, a count below 1 or not whole', () => {
  refused({ format: F, layers: [], settings: { mine: [1, 2, 3, 4, 5] } }, "settings.mine: a setting is 6 counts [n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj], got 5; write six channel counts in the seed's argument order");
  refused({ format: F, layers: [], settings: { mine: [1, 2, 3, 4, 0, 6] } }, 'settings.mine[4]: n5x5 must be at least 1, got 0; write a count of at least 1 (leave the branch out by choosing another setting)');
  refused({ format: F, layers: [], settings: { mine: [1, 2.5, 3, 4, 5, 6] } }, 'settings.mine[1]: n3x3_reduce must be a whole number, got 2.5; write a whole number of channels, at least 1');
  refused({ format: F, layers: [], stem: [64, 0] }, "stem[1]: a stem unit's channel count must be at least 1, got 0; write a count of at least 1 (leave the branch out by choosing another setting)");
});

test('refused: width ≤ 0, dropouts outside [0, 1)', () => {
  refused({ format: F, layers: [], width: 0 }, 'width: must be a number > 0, got 0; write a multiplier of every channel count such as 0.5 or 1.5 (1 keeps them)');
  refused({ format: F, layers: [], width: -1 }, 'width: must be a number > 0, got -1; write a multiplier of every channel count such as 0.5 or 1.5 (1 keeps them)');
  refused({ format: F, layers: [], dropout: 1 }, "dropout: the head's dropout must be a number in [0, 1), got 1; write a drop probability such as 0.2 (0 drops nothing)");
  refused({ format: F, layers: ['a3', { dropout: -0.1 }] }, "layers[1].dropout: a dropout layer's probability must be a number in [0, 1), got -0.1; write a drop probability such as 0.2 (0 drops nothing)");
});

test('refused: a pool with kernel < 1, stride < 1 or padding over half the kernel; pooling below 1x1', () => {
  refused({ format: F, layers: [{ maxpool: { kernel: 0 } }] }, 'layers[0].maxpool.kernel: kernel must be a whole number ≥ 1, got 0; write 1 or more');
  refused({ format: F, layers: [{ maxpool: { kernel: 2, stride: 0 } }] }, 'layers[0].maxpool.stride: stride must be a whole number ≥ 1, got 0; write 1 or more');
  refused({ format: F, layers: ['a3', 'b3', { maxpool: { kernel: 3, stride: 2, padding: 2 } }] }, 'layers[2].maxpool.padding: padding 2 is more than half the kernel 3; write a padding of at most 1');
  refused({ format: F, layers: [{ maxpool: { stride: 2 } }] }, 'layers[0].maxpool.kernel: missing; give the pool its kernel size, e.g. "kernel": 2');
  // 32 → 16 → 8 → 4 → 2 → 1 → 1 (the seed's pool keeps 1x1), but a kernel of 4 over 2x2 leaves nothing
  refused({ format: F, layers: ['maxpool', 'maxpool', 'maxpool', 'maxpool', 'maxpool', 'maxpool', { maxpool: { kernel: 2 } }] },
    'layers[6].maxpool: MaxPool2d(kernel 2, stride 2, padding 0) shrinks the 1x1 image below 1x1 (the input is 32x32); remove a pool or give it a smaller kernel or stride');
  refused({ format: F, layers: [{ maxpool: { kernel: 16 } }, { maxpool: { kernel: 2 } }, 'maxpool', { maxpool: { kernel: 4, padding: 1 } }] },
    'layers[3].maxpool: MaxPool2d(kernel 4, stride 4, padding 1) shrinks the 1x1 image below 1x1 (the input is 32x32); remove a pool or give it a smaller kernel or stride');
});

test('refused: more than 2^31 parameters; a network name off its pattern', () => {
  refused({ format: F, layers: ['big'], settings: { big: [1, 1, 1, 1, 20000, 1] } },
    '$: the network has 3,602,306,952 parameters (100 classes), more than 2^31; make it smaller: fewer or narrower layers, or a smaller width');
  refused({ format: F, layers: ['b5'], width: 100 }, '$: the network has 10,118,113,700 parameters (100 classes), more than 2^31; make it smaller: fewer or narrower layers, or a smaller width');
  refused({ format: F, name: 'My Net', layers: [] }, 'name: "My Net" is not a network name (^[a-z][a-z0-9-]*$); use lower-case letters, digits and -, starting with a letter');
  assert.throws(() => createModel(validateNetwork({ format: F, layers: ['b5'], width: 40 }, 'w.json'), 100000),
    { message: "network 'w': 5,713,598,240 parameters with 100000 classes, more than 2^31; make it smaller or use fewer classes" });
});

// ---- canonical form and hash --------------------------------------------------------------------

test('canonical form: defaults filled, pools written out, the used settings inlined, no name/description/origin; one network, one hash', () => {
  const short = { format: F, layers: ['maxpool', 'a4', 'maxpool', 'b5'] };
  const net = validateNetwork(short, 'short.json');
  assert.equal(net.name, 'short');
  assert.equal(canonicalNetworkJson(net),
    '{"dropout":0.4,"format":"googlenet-network/1","layers":[{"maxpool":{"kernel":3,"padding":1,"stride":2}},"a4",{"maxpool":{"kernel":3,"padding":1,"stride":2}},"b5"],' +
    '"module":"bottleneck","settings":{"a4":[192,96,208,16,48,64],"b5":[384,192,384,48,128,128]},"stem":[192],"width":1}');
  // the same network written another way: defaults spelled out, pools as objects (stride and padding defaulted
  // or not), an unused setting, other name, description and origin, keys in another order
  const same = validateNetwork({
    origin: { parent: 'googlenet-short4', mutation: 'none' }, description: 'the same', name: 'other', dropout: 0.4, width: 1, stem: [192], module: 'bottleneck',
    settings: { spare: [1, 2, 3, 4, 5, 6], a4: [...SETTINGS.a4] },
    layers: [{ maxpool: { padding: 1, stride: 2, kernel: 3 } }, 'a4', { maxpool: { kernel: 3, stride: 2, padding: 1 } }, 'b5'], format: F,
  }, 'elsewhere/other.json');
  assert.equal(networkHash(same), networkHash(net));
  assert.equal(networkHash(net), networkHash(BUILTIN_NETWORKS['googlenet-short4']), 'the built-in googlenet-short4');
  assert.match(networkHash(net), /^[0-9a-f]{64}$/);
  // and the canonical form is itself a network file of the same network
  assert.equal(networkHash(parseNetwork(canonicalNetworkJson(net), 'c.json')), networkHash(net));
  // a pool's defaults: {"kernel": 2} is MaxPool2d(2, stride 2, padding 0)
  assert.equal(networkHash(validateNetwork({ format: F, layers: [{ maxpool: { kernel: 2 } }] }, 'a')), networkHash(validateNetwork({ format: F, layers: [{ maxpool: { kernel: 2, stride: 2, padding: 0 } }] }, 'b')));
  // what does change the network changes the hash
  const hashes = [short, { ...short, width: 0.5 }, { ...short, dropout: 0.3 }, { ...short, module: 'naive' }, { ...short, stem: [64] }, { ...short, layers: ['maxpool', 'a4', 'b5'] },
    { ...short, layers: ['maxpool', 'a4', { dropout: 0 }, 'maxpool', 'b5'] }].map((f) => networkHash(validateNetwork(f, 'x.json')));
  assert.equal(new Set(hashes).size, hashes.length);
  // a declared setting is inlined under its name
  assert.deepEqual(canonicalNetwork(validateNetwork({ format: F, layers: ['mine'], settings: { mine: [8, 8, 8, 8, 8, 8], unused: [1, 1, 1, 1, 1, 1] } }, 'x')).settings, { mine: [8, 8, 8, 8, 8, 8] });
});

// ---- the seven built-ins ------------------------------------------------------------------------

const OLD_STAGES: Record<string, string[][]> = {
  googlenet: [['a3', 'b3'], ['a4', 'b4', 'c4', 'd4', 'e4'], ['a5', 'b5']],
  'googlenet-naive': [['a3', 'b3'], ['a4', 'b4', 'c4', 'd4', 'e4'], ['a5', 'b5']],
  'googlenet-long': [['a3', 'b3'], ['a4', 'b4', 'c4', 'd4', 'e4'], ['a5', 'a5', 'a5', 'a5', 'b5']],
  'googlenet-short': [['a3', 'b3'], ['a4', 'd4', 'e4'], ['a5', 'b5']],
  'googlenet-short2': [['a3', 'b3'], ['a4'], ['a5', 'b5']],
  'googlenet-short3': [['a3'], ['c4'], ['b5']],
  'googlenet-short4': [[], ['a4'], ['b5']],
};

test('the seven built-in networks are network files of the stages they had, the same objects wherever named', () => {
  assert.deepEqual(Object.keys(BUILTIN_NETWORKS).sort(), modelNames().sort());
  for (const name of modelNames()) {
    const net = BUILTIN_NETWORKS[name];
    assert.equal(builtinNetwork(name), net);
    assert.equal(VARIANTS[name].network, net);
    assert.equal(resolveNetwork(name), net);
    assert.equal(net.name, name);
    assert.deepEqual(stagesOf(net), OLD_STAGES[name], name);
    assert.deepEqual(VARIANTS[name].stages, OLD_STAGES[name], name);
    assert.equal(net.module, name === 'googlenet-naive' ? 'naive' : 'bottleneck');
    // `network show` prints a file that reads back as the same network, name and description
    const again = parseNetwork(formatNetworkFile(net), `${name}.json`);
    assert.equal(networkHash(again), networkHash(net), name);
    assert.deepEqual([again.name, again.description], [net.name, net.description]);
  }
  assert.equal(builtinNetwork('constructor'), undefined);
  assert.equal(describeLayers(BUILTIN_NETWORKS.googlenet), 'a3 b3 pool a4 b4 c4 d4 e4 pool a5 b5');
  assert.equal(describeLayers(BUILTIN_NETWORKS['googlenet-short4']), 'pool a4 pool b5');
  assert.equal(formatNetworkFile(BUILTIN_NETWORKS['googlenet-long']), `{
  "format": "googlenet-network/1",
  "name": "googlenet-long",
  "description": "GoogLeNet with three extra copies of a5 at 8x8",
  "module": "bottleneck",
  "stem": [192],
  "layers": ["a3", "b3", "maxpool", "a4", "b4", "c4", "d4", "e4", "maxpool", "a5", "a5", "a5", "a5", "b5"],
  "width": 1,
  "dropout": 0.4
}
`);
});

test('the seven built from their files: the recorded state-dict names and shapes, the counts and MACs; worked-out counts agree', () => {
  const recorded: Record<string, Record<string, number[]>> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'state-dict-names.json'), 'utf8'));
  for (const name of modelNames()) {
    // through a file on disk, as a user's copy would be
    const file = path.join(tmp, `${name}.json`);
    fs.writeFileSync(file, formatNetworkFile(BUILTIN_NETWORKS[name]));
    const m = createModel(file, 100);
    assert.deepEqual([...m.stateDict()].map(([k, v]) => [k, v.shape]), Object.entries(recorded[name]), name);
    const s = summarize(m, name);
    m.dispose();
    assert.deepEqual([s.params, s.macs], [COUNTS[name].c100, COUNTS[name].macs], name);
    assert.equal(networkLayout(BUILTIN_NETWORKS[name], 100).params, COUNTS[name].c100, `${name}: worked out`);
    assert.equal(networkLayout(BUILTIN_NETWORKS[name], 10).params, COUNTS[name].c10, `${name}: worked out, 10 classes`);
  }
});

// ---- declared networks --------------------------------------------------------------------------

test('width: counts round half up to a multiple of 8, at least 8; as written at 1', () => {
  assert.deepEqual([192, 64, 96, 16, 32, 20, 12, 3].map((c) => scaleChannels(c, 0.5)), [96, 32, 48, 8, 16, 8, 8, 8]);
  assert.deepEqual([192, 64, 96, 16, 20, 12, 3].map((c) => scaleChannels(c, 1.5)), [288, 96, 144, 24, 32, 16, 8]);
  assert.deepEqual([20, 12, 3].map((c) => scaleChannels(c, 0.75)), [16, 8, 8]); // 15 → 16 (half up), 9 → 8
  assert.deepEqual([20, 12, 3].map((c) => scaleChannels(c, 1)), [20, 12, 3]);
});

test('a declared network: stem units, pools (both forms), dropouts, width, a repeated and a declared setting — names, shapes, counts and the summary', () => {
  const net = validateNetwork({
    format: F, name: 'declared', stem: [32, 64], width: 0.5, dropout: 0.25,
    layers: ['a3', { dropout: 0.1 }, 'mine', { maxpool: { kernel: 2 } }, 'a4', { dropout: 0.1 }, 'maxpool', 'mine', { maxpool: { kernel: 2 } }, 'b5'],
    settings: { mine: [40, 24, 48, 8, 16, 16] },
  }, 'declared.json');
  assert.equal(describeLayers(net), 'a3 drop(0.1) mine pool(2,2,0) a4 drop(0.1) pool mine pool(2,2,0) b5 ×0.5');
  const m = createModel(net, 10);
  try {
    // parameter-free layers: registered once per distinct kind and parameters, no state-dict names
    assert.deepEqual(m.namedChildren().map(([n]) => n), ['prelayer', 'a3', 'dropout_2', 'mine', 'maxpool', 'a4', 'maxpool_2', 'mine_2', 'b5', 'avgpool', 'dropout', 'linear']);
    assert.equal(m.body.length, 10);
    assert.equal(m.body[3], m.body[8], 'the second pool(2,2,0) is the first one again');
    const sd = m.stateDict();
    assert.deepEqual([...sd.keys()].filter((k) => k.startsWith('prelayer')).map((k) => `${k} ${sd.get(k)!.shape.join('x')}`), [
      'prelayer.0.weight 16x3x3x3', 'prelayer.0.bias 16', 'prelayer.1.weight 16', 'prelayer.1.bias 16', 'prelayer.1.running_mean 16', 'prelayer.1.running_var 16', 'prelayer.1.num_batches_tracked ',
      'prelayer.3.weight 32x16x3x3', 'prelayer.3.bias 32', 'prelayer.4.weight 32', 'prelayer.4.bias 32', 'prelayer.4.running_mean 32', 'prelayer.4.running_var 32', 'prelayer.4.num_batches_tracked ',
    ]);
    assert.ok([...sd.keys()].every((k) => !/^(maxpool|dropout)/.test(k)));
    // a3 at width 0.5: [32, 48, 64, 8, 16, 16] → 128 channels; mine → [24, 16, 24, 8, 8, 8]; eps quirk follows the scaled n5x5
    assert.deepEqual(sd.get('a3.b3.3.weight')!.shape, [16, 8, 3, 3]);
    assert.equal((m.namedModules().find(([n]) => n === 'a3.b3.4')![1] as unknown as { eps: number }).eps, 16);
    assert.deepEqual(sd.get('mine.b1.0.weight')!.shape, [24, 128, 1, 1]);
    assert.deepEqual(sd.get('linear.weight')!.shape, [10, 512]); // b5 at 0.5: 192 + 192 + 64 + 64
    const s = summarize(m, 'declared');
    assert.equal(s.params, m.parameterCount());
    assert.equal(s.params, networkLayout(net, 10).params, 'worked out');
    assert.equal(s.layers.reduce((t, l) => t + l.params, 0), s.params);
    const shapeOf = (name: string) => s.layers.filter((l) => l.name === name).map((l) => l.output.slice(1).join('x'));
    assert.deepEqual(shapeOf('maxpool'), ['64x16x16', '64x4x4'], 'pool(2,2,0) at 32x32 and again at 8x8');
    assert.deepEqual(shapeOf('maxpool_2'), ['256x8x8']);
    assert.deepEqual(shapeOf('dropout_2'), ['128x32x32', '256x16x16']);
    assert.deepEqual(s.modules.map((r) => `${r.name} ${r.output.slice(1).join('x')}`), ['a3 128x32x32', 'mine 64x32x32', 'a4 256x16x16', 'mine_2 64x8x8', 'b5 512x4x4']);
    assert.equal(m.dropout.p, 0.25);
  } finally {
    m.dispose();
  }
});

test('naive with its own settings, width 1.5, an empty body: build and count as worked out', () => {
  for (const f of [
    { format: F, module: 'naive', layers: ['n1', 'maxpool', 'n2'], settings: { n1: [16, 1, 24, 1, 8, 1], n2: [32, 1, 32, 1, 16, 1] }, stem: [24] },
    { format: F, layers: ['a3', 'maxpool', 'c4'], width: 1.5 },
    { format: F, layers: [], stem: [16] },
  ]) {
    const net = validateNetwork(f, 'n.json');
    const m = createModel(net, 10);
    assert.equal(summarize(m, 'n').params, networkLayout(net, 10).params, JSON.stringify(f));
    m.dispose();
  }
});

test('networkLayout works out the parameters and MACs summarize() counts on the built model: the seven, the docs example, odd networks', () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'network-files.md'), 'utf8');
  const example = parseNetwork(doc.match(/<!-- network-example -->\s*```json\n([\s\S]*?)```/)![1], 'docs/network-files.md example');
  const odd = [
    { format: F, name: 'naive-odd', module: 'naive', layers: ['a3', 'maxpool', 'b4', { maxpool: { kernel: 2 } }, 'b5'] },
    { format: F, name: 'narrow', layers: ['a3', 'maxpool', 'c4', { dropout: 0.2 }, 'maxpool', 'a5'], width: 0.75 },
    { format: F, name: 'wide', layers: ['b3', 'maxpool', 'e4'], width: 1.25, stem: [64] },
    { format: F, name: 'pool2', layers: [{ maxpool: { kernel: 2 } }, 'a4', { maxpool: { kernel: 3, stride: 3, padding: 1 } }, 'b5'] },
    { format: F, name: 'two-stem', stem: [32, 96], layers: ['a3', 'maxpool', 'mine'], settings: { mine: [40, 24, 48, 8, 16, 16] } },
    { format: F, name: 'naive-narrow', module: 'naive', stem: [48, 64], width: 0.75, layers: ['a3', 'maxpool', 'a3'] },
    { format: F, name: 'empty', layers: [], stem: [16] },
  ].map((f) => validateNetwork(f, `${f.name}.json`));
  const nets: [string, Network][] = [...modelNames().map((n): [string, Network] => [n, builtinNetwork(n)!]), [example.name, example], ...odd.map((n): [string, Network] => [n.name, n])];
  for (const [name, net] of nets) {
    for (const classes of [10, 100]) {
      const m = createModel(net, classes);
      const s = summarize(m, name);
      m.dispose();
      const layout = networkLayout(net, classes);
      assert.deepEqual([layout.params, layout.macs], [s.params, s.macs], `${name}, ${classes} classes`);
      assert.equal(layout.rows.reduce((t, r) => t + r.macs, 0), layout.macs, `${name}: the rows add up`);
      // per module: the rows of the Inception layers are summarize's module rows
      assert.deepEqual(layout.rows.filter((r) => r.kind === 'inception').map((r) => r.macs), s.modules.map((r) => r.macs), `${name}: per module`);
      assert.equal(layout.rows.at(-1)!.macs, s.layers.at(-1)!.macs, `${name}: the linear layer`);
    }
  }
  assert.equal(networkLayout(builtinNetwork('googlenet')!, 100).macs, COUNTS.googlenet.macs);
  // pools, dropouts and the head's average pool hold no MACs
  assert.ok(networkLayout(odd[1], 10).rows.every((r) => (r.kind === 'maxpool' || r.kind === 'dropout') === (r.macs === 0)));
});

test('createModel and resolveNetwork: a file where the argument has / or ends in .json, else a built-in name', () => {
  const dir = path.join(tmp, 'nets');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tiny-one.json'), JSON.stringify({ format: F, layers: ['a3'] }));
  const cwd = process.cwd();
  try {
    process.chdir(tmp);
    assert.equal(resolveNetwork('nets/tiny-one.json').name, 'tiny-one');
    fs.copyFileSync(path.join(dir, 'tiny-one.json'), path.join(tmp, 'bare.json'));
    assert.equal(resolveNetwork('bare.json').name, 'bare');
    assert.throws(() => resolveNetwork('nets/absent'), { message: 'nets/absent: $: no such file; check the path of the network file' });
  } finally {
    process.chdir(cwd);
  }
  assert.throws(() => resolveNetwork('googlenet-tiny'), /^Error: unknown model 'googlenet-tiny'; choose one of: googlenet, googlenet-naive, .*, or a network file \(a path with \/ or ending in \.json\)$/);
  const m = createModel(path.join(dir, 'tiny-one.json'), 10);
  assert.ok(m instanceof GoogLeNet);
  assert.equal(m.network.name, 'tiny-one');
  m.dispose();
});

// ---- the JSON Schema ----------------------------------------------------------------------------

/** A JSON Schema validator for the keywords network.schema.json uses; returns the paths where `v` fails. */
function schemaErrors(s: Record<string, any>, v: unknown, at = '$'): string[] {
  const errs: string[] = [];
  const fail = (why: string) => errs.push(`${at}: ${why}`);
  const type = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'number' && Number.isInteger(v) ? 'integer' : typeof v;
  if (s.type && !(s.type === type || (s.type === 'number' && type === 'integer'))) return [`${at}: not ${s.type}`];
  if ('const' in s && canonicalize(s.const) !== canonicalize(v)) fail('const');
  if (s.enum && !s.enum.some((e: unknown) => canonicalize(e) === canonicalize(v))) fail('enum');
  if (s.pattern && typeof v === 'string' && !new RegExp(s.pattern, 'u').test(v)) fail('pattern');
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) fail('minimum');
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) fail('exclusiveMinimum');
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) fail('exclusiveMaximum');
  }
  if (s.not && schemaErrors(s.not, v, at).length === 0) fail('not');
  if (s.oneOf && s.oneOf.filter((o: Record<string, any>) => schemaErrors(o, v, at).length === 0).length !== 1) fail('oneOf');
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) fail('minItems');
    if (s.maxItems !== undefined && v.length > s.maxItems) fail('maxItems');
    if (s.items) v.forEach((x, i) => errs.push(...schemaErrors(s.items, x, `${at}[${i}]`)));
  }
  if (type === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) fail(`required ${k}`);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames) errs.push(...schemaErrors(s.propertyNames, k, `${at}.${k} (name)`));
      if (s.properties && k in s.properties) errs.push(...schemaErrors(s.properties[k], x, `${at}.${k}`));
      else if (s.additionalProperties === false) fail(`additional ${k}`);
      else if (typeof s.additionalProperties === 'object') errs.push(...schemaErrors(s.additionalProperties, x, `${at}.${k}`));
    }
  }
  return errs;
}

test('the shipped JSON Schema is the one made from the validator\'s constants, and it agrees with the validator', () => {
  const shipped: Record<string, any> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'src', 'models', 'network.schema.json'), 'utf8'));
  assert.deepEqual(shipped as unknown, networkSchema() as unknown, 'src/models/network.schema.json is stale: write networkSchema() to it');
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  assert.ok(pkg.files.includes('src/models/network.schema.json'), 'the package ships the schema');
  assert.deepEqual(shipped.required, [...NETWORK_REQUIRED_KEYS]);
  assert.deepEqual(Object.keys(shipped.properties).sort(), [...NETWORK_KEYS].sort());
  assert.deepEqual(shipped.properties.module.enum, [...NETWORK_MODULES]);
  assert.equal(shipped.properties.name.pattern, NETWORK_NAME_PATTERN);
  assert.equal(shipped.properties.settings.propertyNames.pattern, SETTING_NAME_PATTERN);
  assert.deepEqual(shipped.properties.settings.propertyNames.not.enum, [...RESERVED_SETTING_NAMES]);
  // the seven as files and as canonical forms, and the declared ones above, are valid
  const valid: unknown[] = [...Object.values(BUILTIN_NETWORKS).flatMap((n) => [JSON.parse(formatNetworkFile(n)), JSON.parse(canonicalNetworkJson(n))]),
    { $schema: './network.schema.json', format: F, layers: ['a3', { dropout: 0.1 }, { maxpool: { kernel: 2 } }, 'mine'], settings: { mine: [1, 2, 3, 4, 5, 6] }, width: 0.5, stem: [32, 64], module: 'naive', origin: { any: [1] } }];
  for (const v of valid) assert.deepEqual(schemaErrors(shipped, v), [], JSON.stringify(v));
  // what the validator refuses by its form alone, the schema refuses too
  const invalid: unknown[] = [
    { layers: [] }, { format: 'googlenet-network/2', layers: [] }, { format: F, layers: [], widht: 1 }, { format: F, layers: ['A3'] },
    { format: F, layers: [], settings: { My_set: [1, 1, 1, 1, 1, 1] } }, { format: F, layers: [], settings: { linear: [1, 1, 1, 1, 1, 1] } },
    { format: F, layers: [], settings: { a3: [1, 1, 1, 1, 1, 1] } }, { format: F, layers: [], settings: { mine: [1, 1, 1, 1, 1] } },
    { format: F, layers: [], settings: { mine: [1, 1, 1, 1, 0, 1] } }, { format: F, layers: [], width: 0 }, { format: F, layers: [], dropout: 1 },
    { format: F, layers: [{ dropout: -0.1 }] }, { format: F, layers: [{ maxpool: { kernel: 0 } }] }, { format: F, layers: [{ maxpool: { kernel: 2, stride: 0 } }] },
    { format: F, layers: [{ maxpool: { stride: 2 } }] }, { format: F, layers: [{ maxpool: { kernel: 2 }, dropout: 0.1 }] }, { format: F, name: 'My Net', layers: [] },
    { format: F, layers: [], module: 'wide' }, { format: F, layers: [], stem: [0] },
  ];
  for (const v of invalid) {
    assert.notDeepEqual(schemaErrors(shipped, v), [], `schema accepts ${JSON.stringify(v)}`);
    assert.throws(() => validateNetwork(v, 'x.json'), /^Error: x\.json: /, `validator accepts ${JSON.stringify(v)}`);
  }
});

// ---- the documentation's example ----------------------------------------------------------------

test('docs/network-files.md: its example file builds, and has the parameters and MACs the page states', () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'network-files.md'), 'utf8');
  const match = doc.match(/<!-- network-example -->\s*```json\n([\s\S]*?)```/);
  assert.ok(match, 'docs/network-files.md has no <!-- network-example --> json block');
  const net: Network = parseNetwork(match[1], 'docs/network-files.md example');
  const m = createModel(net, 100);
  const s = summarize(m, net.name);
  m.dispose();
  const stated = doc.match(/<!-- network-example-counts -->[^\n]*?([\d,]+) parameters[^\n]*?([\d,]+) MACs/);
  assert.ok(stated, 'the page states the example\'s parameters and MACs after <!-- network-example-counts -->');
  assert.deepEqual([s.params, s.macs].map((n) => n.toLocaleString('en-US')), [stated[1], stated[2]]);
  assert.equal(s.params, networkLayout(net, 100).params);
  const line = doc.match(/<!-- network-example-layers -->\s*`([^`]+)`/);
  assert.ok(line, 'the page shows the example\'s one-line form after <!-- network-example-layers -->');
  assert.equal(line[1], describeLayers(net));
  assert.ok(doc.includes(networkHash(net)), 'the page quotes the example\'s hash');
});
