// PyTorch builds the same network file: scripts/torch_network.py (Debian's python3-torch) makes an
// nn.Module from each file with our state-dict names, shapes and parameter count, saves its state
// dict (BatchNorms drawn, so eval mode is no identity) with torch.save, and its eval-mode logits for
// a seeded batch of 2; we read that .pt with readWeights into our model built from the same file
// and must give the same logits within 1e-4 (relative to their scale). The seven built-in networks
// and declared ones: extra pools of both forms, dropouts, width 0.5 and 1.5, a two-unit stem, naive
// with its own settings, and one with --fix-bn-eps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noGrad } from '../src/autograd/engine.js';
import { createModel, modelNames } from '../src/models/googlenet.js';
import { BUILTIN_NETWORKS } from '../src/models/builtin-networks.js';
import { formatNetworkFile, NETWORK_FORMAT } from '../src/models/network.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { readWeights } from '../src/train/checkpoint.js';
import { repoRoot, requireTorchPython, sharedDir, TORCH_PYTHON } from './helpers.js';
import { maxRelErr } from './onnx-fixture.js';

const SCRIPT = path.join(repoRoot, 'scripts', 'torch_network.py');
const py = requireTorchPython();
const pyOpts = 'skip' in py ? { skip: py.skip } : {};
const CLASSES = 10;

const DECLARED: Record<string, unknown> = {
  'pools-dropouts': {
    format: NETWORK_FORMAT, dropout: 0.3,
    layers: ['a3', { dropout: 0.2 }, { maxpool: { kernel: 2 } }, 'b3', 'maxpool', { maxpool: { kernel: 3, stride: 1, padding: 1 } }, 'a4', { dropout: 0.2 }, 'maxpool', 'b5', { maxpool: { kernel: 2, stride: 1 } }],
  },
  'width-half': { format: NETWORK_FORMAT, width: 0.5, layers: ['a3', 'b3', 'maxpool', 'a4', 'b4', 'c4', 'd4', 'e4', 'maxpool', 'a5', 'b5'] },
  'width-one-and-half': { format: NETWORK_FORMAT, width: 1.5, layers: ['maxpool', 'a4', 'maxpool', 'b5'] },
  'two-unit-stem': { format: NETWORK_FORMAT, stem: [32, 64], layers: ['a3', 'maxpool', 'mine', 'maxpool', 'mine'], settings: { mine: [40, 24, 48, 8, 20, 16] } },
  'naive-own': { format: NETWORK_FORMAT, module: 'naive', stem: [48], layers: ['n1', 'maxpool', 'n2', 'n1', 'maxpool', 'n2'], settings: { n1: [32, 1, 48, 1, 16, 1], n2: [24, 1, 32, 1, 8, 1] } },
};

interface TorchInfo { file: string; name: string; params: number; state_dict: [string, number[]][] }
interface TorchResults { input: number[]; input_shape: number[]; networks: { file: string; logits: number[] }[] }

/** Runs torch_network.py on the files; returns what it printed and wrote. */
function torchBuild(dir: string, files: string[], extra: string[] = []): { infos: TorchInfo[]; results: TorchResults } {
  const r = spawnSync(TORCH_PYTHON, [SCRIPT, ...files, '--classes', String(CLASSES), '--out', dir, '--seed', '3', '--random-bn', '--batch', '2', ...extra],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `torch_network.py failed: ${r.stderr}`);
  const infos = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TorchInfo);
  return { infos, results: JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) };
}

/** Checks names, shapes, count and eval logits of our model from `file` (weights read from PyTorch's k.pt) against PyTorch's. */
function compare(dir: string, k: number, file: string, info: TorchInfo, results: TorchResults, fixBatchNormEps = false): void {
  const what = path.basename(file);
  const model = createModel(file, CLASSES, { fixBatchNormEps });
  try {
    assert.deepEqual([...model.stateDict()].map(([n, t]) => [n, t.shape]), info.state_dict, `${what}: state-dict names and shapes`);
    assert.equal(model.parameterCount(), info.params, `${what}: parameters`);
    const notes: string[] = [];
    model.loadStateDict(readWeights(path.join(dir, `${k}.pt`), (l) => notes.push(l)), `${k}.pt`);
    assert.deepEqual(notes, [], what);
    model.eval();
    const ours = tidy(() => noGrad(() => model.forward(Tensor.fromArray(Float32Array.from(results.input), results.input_shape)).toArray()));
    const theirs = results.networks[k].logits;
    assert.equal(ours.length, theirs.length, what);
    const e = maxRelErr(ours, theirs);
    assert.ok(e <= 1e-4, `${what}: max relative error of the logits ${e.toExponential(3)} > 1e-4`);
  } finally {
    model.dispose();
  }
}

test('scripts/torch_network.py builds the seven built-in networks and five declared ones as ours: names, shapes, counts, and eval logits (within 1e-4) from the state dicts PyTorch saves', pyOpts, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-torch-net-'));
  try {
    const files: string[] = [];
    for (const name of modelNames()) {
      files.push(path.join(dir, `${name}.json`));
      fs.writeFileSync(files.at(-1)!, formatNetworkFile(BUILTIN_NETWORKS[name]));
    }
    for (const [name, f] of Object.entries(DECLARED)) {
      files.push(path.join(dir, `${name}.json`));
      fs.writeFileSync(files.at(-1)!, JSON.stringify(f, null, 2));
    }
    const { infos, results } = torchBuild(dir, files);
    assert.deepEqual(infos.map((i) => i.file), files);
    assert.deepEqual(infos.map((i) => i.name), files.map((f) => path.basename(f, '.json')));
    for (const [k, file] of files.entries()) {
      compare(dir, k, file, infos[k], results);
      fs.rmSync(path.join(dir, `${k}.pt`));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('scripts/torch_network.py --fix-bn-eps gives the fixed eps, as our fixBatchNormEps (a declared network at width 0.5)', pyOpts, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-torch-net-'));
  try {
    const file = path.join(dir, 'fixed.json');
    fs.writeFileSync(file, JSON.stringify({ format: NETWORK_FORMAT, width: 0.5, layers: ['a3', { dropout: 0.1 }, 'maxpool', 'c4', { maxpool: { kernel: 2 } }, 'b5'] }));
    const { infos, results } = torchBuild(dir, [file], ['--fix-bn-eps']);
    compare(dir, 0, file, infos[0], results, true);
    // and without the fix our logits differ from PyTorch's fixed ones: the eps matters in this check
    const model = createModel(file, CLASSES);
    try {
      model.loadStateDict(readWeights(path.join(dir, '0.pt')), '0.pt');
      model.eval();
      const ours = tidy(() => noGrad(() => model.forward(Tensor.fromArray(Float32Array.from(results.input), results.input_shape)).toArray()));
      assert.ok(maxRelErr(ours, results.networks[0].logits) > 1e-3, 'the quirky eps changes the logits');
    } finally {
      model.dispose();
    }
    // the commands read PyTorch's .pt of a declared network as well: test's metrics, export's ONNX
    const googlenet = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), ...args], { encoding: 'utf8' });
    const pt = path.join(dir, '0.pt');
    if (sharedDir()) {
      const r = googlenet('test', '--model', file, '--fix-bn-eps', '--weights', pt, '--dataset', 'cifar10', '--data-dir', path.join(sharedDir()!, 'data'), '--limit-test', '20', '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { n: number }).n, 20);
    }
    const onnx = googlenet('export', '--model', file, '--fix-bn-eps', '--weights', pt, '--out', path.join(dir, 'fixed.onnx'));
    assert.equal(onnx.status, 0, onnx.stderr);
    assert.match(onnx.stderr, /wrote .*fixed\.onnx: fixed for 10 classes \(onnx\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
