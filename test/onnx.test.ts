// ONNX export: every network's graph runs in onnxruntime-node (a real, independent ONNX runtime)
// on real CIFAR test images and gives our eval-mode logits; the file keeps PyTorch's names, each
// BatchNorm's own epsilon, opset 13 and a dynamic batch; `googlenet export` writes it from a
// weights file and refuses bad input with one line, leaving no file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { readCifar, type DatasetName } from '../src/data/cifar.js';
import { NORMALIZATIONS } from '../src/data/transforms.js';
import { decodeOnnx, encodeOnnx, ONNX_OPSET, type DecodedOnnx } from '../src/io/onnx.js';
import { writeWeightsFile } from '../src/io/weights.js';
import { readWeights } from '../src/train/checkpoint.js';
import { createModel, modelNames, type GoogLeNet } from '../src/models/googlenet.js';
import { toOnnx } from '../src/models/onnx-export.js';
import { NETWORK_FORMAT, networkHash, validateNetwork } from '../src/models/network.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { Module } from '../src/nn/module.js';
import { toFloat32 } from '../src/tensor/host.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { manualSeed } from '../src/util/generator.js';
import { sharedOpts, sharedPath } from './helpers.js';

/** The CLI's exports name the network they hold by its hash (src/models/network.ts). */
const SHORT4_SHA256 = networkHash(builtinNetwork('googlenet-short4')!);
import { maxRelErr, ourLogits, randomNet, TOL } from './onnx-fixture.js';
import { cli } from './processes.js';
import { toFloatBatch } from './random.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-onnx-'));
/** Runs the model bytes in onnxruntime-node on two batch sizes (one session: the batch is dynamic) and compares. */
async function assertRunsLikeOurs(bytes: Uint8Array | string, net: GoogLeNet, dataset: DatasetName, what: string): Promise<void> {
  const session = await ort.InferenceSession.create(bytes as Uint8Array);
  try {
    assert.deepEqual([session.inputNames, session.outputNames], [['input'], ['logits']], what);
    const images = readCifar(sharedPath('data'), dataset, 'test', { limit: 7 });
    for (const indices of [[0, 1, 2, 3], [4, 5, 6]]) {
      const x = toFloatBatch(images, indices, NORMALIZATIONS.half);
      const r = await session.run({ input: new ort.Tensor('float32', x, [indices.length, 3, 32, 32]) });
      const logits = r.logits;
      assert.deepEqual(logits.dims, [indices.length, net.numClasses], what);
      const ours = ourLogits(net, x, indices.length);
      const e = maxRelErr(logits.data as Float32Array, ours);
      assert.ok(e <= TOL, `${what}, batch of ${indices.length}: max relative error ${e.toExponential(3)} > ${TOL}`);
    }
  } finally {
    await session.release();
  }
}

/** The file's structure: opset, dynamic batch, initializers = state dict (minus counters) bit for bit, BatchNorms' eps. */
function assertStructure(m: DecodedOnnx, net: GoogLeNet, what: string): void {
  assert.ok(m.opset_import.some((o) => (o.domain ?? '') === '' && o.version >= 13), what);
  assert.equal(m.opset_import[0].version, ONNX_OPSET, what);
  const dims = (v: DecodedOnnx['graph']['input'][number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
  assert.deepEqual(m.graph.input.map((v) => [v.name, dims(v)]), [['input', ['batch', 3, 32, 32]]], what);
  assert.deepEqual(m.graph.output.map((v) => [v.name, dims(v)]), [['logits', ['batch', net.numClasses]]], what);
  const sd = net.stateDict();
  const floats = [...sd.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
  assert.equal(floats.length, sd.size - net.namedModules().filter(([, x]) => x instanceof BatchNorm2d).length, what);
  assert.deepEqual(m.graph.initializer.map((t) => t.name), floats, what);
  for (const t of m.graph.initializer) {
    const h = sd.get(t.name)!;
    assert.deepEqual(t.dims, h.shape, `${what}: ${t.name}`);
    assert.ok(Buffer.from(t.raw_data).equals(Buffer.from(toFloat32(h).buffer)), `${what}: ${t.name}'s values`);
  }
  const bnNodes = new Map(m.graph.node.filter((n) => n.op_type === 'BatchNormalization').map((n) => [n.name, n]));
  const bns = net.namedModules().filter((e): e is [string, BatchNorm2d] => e[1] instanceof BatchNorm2d);
  assert.equal(bnNodes.size, bns.length, what);
  for (const [name, bn] of bns) {
    const node = bnNodes.get(name);
    assert.ok(node, `${what}: no BatchNormalization node ${name}`);
    assert.deepEqual(node.input.slice(1), ['weight', 'bias', 'running_mean', 'running_var'].map((k) => `${name}.${k}`), what);
    assert.deepEqual(node.attribute.map((a) => [a.name, a.f]), [['epsilon', Math.fround(bn.eps)]], `${what}: ${name}`);
  }
  assert.equal(m.graph.node.filter((n) => n.op_type === 'Dropout').length, 0, what);
}

// all seven at CIFAR-10's 10 classes; two of them also at CIFAR-100's 100, and one with --fix-bn-eps
const CASES: { model: string; dataset: DatasetName; classes: number; fixBatchNormEps?: boolean }[] = [
  ...modelNames().map((model) => ({ model, dataset: 'cifar10' as const, classes: 10 })),
  { model: 'googlenet', dataset: 'cifar100', classes: 100 },
  { model: 'googlenet-short3', dataset: 'cifar100', classes: 100, fixBatchNormEps: true },
];

for (const [i, c] of CASES.entries()) {
  const what = `${c.model} ${c.classes} classes${c.fixBatchNormEps ? ' fix-bn-eps' : ''}`;
  test(`ONNX export of ${what}: onnxruntime-node gives our logits on real ${c.dataset} test images (batches of 4 and 3); PyTorch names, eps, opset, dynamic batch`, sharedOpts, async () => {
    const net = randomNet(c.model, c.classes, manualSeed(100 + i), c.fixBatchNormEps);
    try {
      const bytes = encodeOnnx(toOnnx(net, { model: c.model, producerVersion: 'test' }));
      const decoded = decodeOnnx(bytes);
      assertStructure(decoded, net, what);
      // the quirky BatchNorm (b3.4) keeps eps n5x5 unless fixed: the file must say so, not 1e-5 everywhere
      const epsilons = new Set(decoded.graph.node.flatMap((n) => n.attribute.filter((a) => a.name === 'epsilon').map((a) => a.f)));
      assert.equal(epsilons.size > 1, !c.fixBatchNormEps, `${what}: epsilons ${[...epsilons].join(', ')}`);
      await assertRunsLikeOurs(bytes, net, c.dataset, what);
    } finally {
      net.dispose();
    }
  });
}

test('ONNX export of a declared network (a two-unit stem, width 0.75, extra pools of both forms, dropouts, a shared pool): onnxruntime-node gives our logits', sharedOpts, async () => {
  const network = validateNetwork({
    format: NETWORK_FORMAT, name: 'declared', stem: [32, 64], width: 0.75, dropout: 0.3,
    layers: ['a3', { dropout: 0.2 }, { maxpool: { kernel: 2 } }, 'mine', { dropout: 0.2 }, 'maxpool', 'a4', { maxpool: { kernel: 3, stride: 1, padding: 1 } }, { maxpool: { kernel: 2 } }, 'b5'],
    settings: { mine: [40, 24, 48, 8, 16, 16] },
  }, 'declared.json');
  const net = randomNet(network, 10, manualSeed(42));
  try {
    const bytes = encodeOnnx(toOnnx(net, { model: 'declared', producerVersion: 'test' }));
    const decoded = decodeOnnx(bytes);
    assertStructure(decoded, net, 'declared');
    // every body pool is a MaxPool node with its own attributes; the 2x2 pool runs twice (maxpool, maxpool:2)
    const pools = decoded.graph.node.filter((n) => n.op_type === 'MaxPool' && !n.name.includes('.b4'))
      .map((n) => `${n.name} ${n.attribute.map((a) => `${a.name}=${(a.ints ?? []).join(',')}`).join(' ')}`);
    assert.deepEqual(pools, [
      'maxpool kernel_shape=2,2 strides=2,2 pads=0,0,0,0',
      'maxpool_2 kernel_shape=3,3 strides=2,2 pads=1,1,1,1',
      'maxpool_3 kernel_shape=3,3 strides=1,1 pads=1,1,1,1',
      'maxpool:2 kernel_shape=2,2 strides=2,2 pads=0,0,0,0',
    ]);
    await assertRunsLikeOurs(bytes, net, 'cifar10', 'declared');
  } finally {
    net.dispose();
  }
});

test('ONNX export names the module it cannot export, in one line', () => {
  const net = createModel('googlenet-short4', 10);
  class Mystery extends Module {
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  // replace prelayer's ReLU (registered as '2') by a module no emitter knows
  (net.prelayer as unknown as { children: Map<string, Module> }).children.set('2', new Mystery());
  assert.throws(() => toOnnx(net, { model: 'googlenet-short4', producerVersion: 'test' }), (e: Error) => {
    assert.equal(e.message, "ONNX export: no emitter for module 'prelayer.2' (Mystery)");
    return true;
  });
  net.dispose();
});

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code');
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

test('googlenet export --model --weights --format onnx: the file runs in onnxruntime-node as our network; bad input is one line and leaves no file', sharedOpts, async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
  const net = randomNet('googlenet-short4', 10, manualSeed(7));
  try {
    const weights = path.join(dir, 'w.safetensors');
    writeWeightsFile(weights, net.stateDict(), 'safetensors');
    // by --out's extension, and by --format whatever the name
    const out = path.join(dir, 'model.onnx');
    let r = cli(['export', '--model', 'googlenet-short4', '--weights', weights, '--dataset', 'cifar10', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote .*model\.onnx: googlenet-short4 for 10 classes \(onnx\)/);
    const decoded = decodeOnnx(fs.readFileSync(out));
    assertStructure(decoded, net, 'CLI export');
    assert.deepEqual(Object.fromEntries(decoded.metadata_props.map((p) => [p.key, p.value])),
      { model: 'googlenet-short4', classes: '10', dataset: 'cifar10', coarse: 'false', fix_bn_eps: 'false', network_sha256: SHORT4_SHA256 });
    await assertRunsLikeOurs(out, net, 'cifar10', 'CLI export');
    const named = path.join(dir, 'model.bin');
    r = cli(['export', '--model', 'googlenet-short4', '--weights', weights, '--format', 'onnx', '--out', named]);
    assert.equal(r.code, 0, r.stderr);
    // the same graph and tensors; only the metadata lack the dataset
    const again = decodeOnnx(fs.readFileSync(named));
    assert.deepEqual(again.graph, decoded.graph);
    assert.equal(again.metadata_props.some((p) => p.key === 'dataset'), false);
    fs.rmSync(named);
    fs.rmSync(out);

    const before = fs.readdirSync(dir).sort();
    const fails: [string[], RegExp][] = [
      [['--format', 'tflite'], /--format must be one of safetensors, pt, onnx, got 'tflite'/],
      [['--model', 'googlenet-short3'], /w\.safetensors does not fit GoogLeNet: missing .*unexpected/],
      [['--classes', '100'], /holds a classifier for 10 classes, not --classes 100/],
      [['--dataset', 'cifar100'], /holds a classifier for 10 classes, not the 100 of cifar100/],
      [['--weights', path.join(dir, 'absent.safetensors')], /absent\.safetensors/],
    ];
    for (const [flags, pattern] of fails) {
      const args = ['export', '--model', 'googlenet-short4', '--weights', weights, '--out', out, ...flags];
      oneLineError(cli(args), pattern);
      assert.deepEqual(fs.readdirSync(dir).sort(), before, `${flags.join(' ')} left a file`);
    }
    oneLineError(cli(['export', '--model', 'googlenet-short4', '--weights', weights, '--out', path.join(dir, 'no-such-dir', 'm.onnx')]), /no-such-dir/);
    oneLineError(cli(['export', '--weights', weights, '--out', out]), /export --weights needs --model/);
    oneLineError(cli(['export', 'googlenet', 'cifar10', '--fix-bn-eps', '--out', out, '--store', dir]), /--fix-bn-eps: only with --weights \(a weights file\); a run in a store brings its own recipe/);
    assert.deepEqual(fs.readdirSync(dir).sort(), before);
  } finally {
    net.dispose();
  }
});

test("googlenet export MODEL DATASET --store --format onnx: a run's checkpoint with its recipe's classes (--coarse) and eps (--fix-bn-eps)", sharedOpts, async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'store-'));
  const store = `sqlite:${path.join(dir, 'runs.sqlite')}`;
  let r = cli(['experiment', '--store', store, '--models', 'googlenet-short4', '--dataset', 'cifar100', '--coarse', '--fix-bn-eps', '--limit-train', '64', '--limit-test', '10',
    '--batch-size', '32', '--epochs', '1', '--data-dir', sharedPath('data'), '--out', path.join(dir, 'out'), '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const onnx = path.join(dir, 'model.bin');
  r = cli(['export', 'googlenet-short4', 'cifar100', '--store', store, '--format', 'onnx', '--out', onnx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /googlenet-short4 on cifar100 after 1 epochs \(complete, onnx\)/);
  const weights = path.join(dir, 'w.safetensors');
  assert.equal(cli(['export', 'googlenet-short4', 'cifar100', '--store', store, '--out', weights]).code, 0);
  const net = createModel('googlenet-short4', 20, { fixBatchNormEps: true });
  try {
    net.loadStateDict(readWeights(weights));
    net.eval();
    const decoded = decodeOnnx(fs.readFileSync(onnx));
    assertStructure(decoded, net, 'store export');
    assert.deepEqual(Object.fromEntries(decoded.metadata_props.map((p) => [p.key, p.value])),
      { model: 'googlenet-short4', classes: '20', dataset: 'cifar100', coarse: 'true', fix_bn_eps: 'true', network_sha256: SHORT4_SHA256, seed: '1', val: '0' });
    await assertRunsLikeOurs(onnx, net, 'cifar100', 'store export');
  } finally {
    net.dispose();
  }
});

test('a truncated ONNX file is refused with a line naming it', () => {
  const net = createModel('googlenet-short4', 10);
  const bytes = encodeOnnx(toOnnx(net, { model: 'googlenet-short4', producerVersion: 'test' }));
  net.dispose();
  assert.throws(() => decodeOnnx(bytes.subarray(0, 1000), 'cut.onnx'), /^Error: cut\.onnx: not an ONNX model/);
});
