// The GoogLeNet family (../shared/variants/README.md): exact parameter counts and MACs,
// counted from the built modules; state-dict names kept; every network trains a step; docs/networks.md's eighth variant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { backward } from '../src/autograd/engine.js';
import { crossEntropy } from '../src/autograd/ops.js';
import { createModel, modelNames, reconstructionNoteFor, seedParams, VARIANTS } from '../src/models/googlenet.js';
import { formatSummary, summarize } from '../src/models/summary.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { readDoc, repoRoot } from './helpers.js';
import { COUNTS as expected } from './counts.js';


test('the family holds exactly the seven networks of the seed', () => {
  assert.deepEqual(modelNames().sort(), Object.keys(expected).sort());
  assert.equal(reconstructionNoteFor(VARIANTS['googlenet-short3'], 100), 'reconstruction: the seed counts 1,985,220 (100 classes)');
  assert.equal(reconstructionNoteFor(VARIANTS['googlenet-short4'], 100), 'reconstruction: the seed counts 1,650,084 (100 classes)');
  // the seed's CIFAR-10 table, for 10 classes; the same arithmetic for any other count
  assert.equal(reconstructionNoteFor(VARIANTS['googlenet-short4'], 10), `reconstruction: the seed counts ${VARIANTS['googlenet-short4'].seed!.cifar10.params.toLocaleString('en-US')} (10 classes)`);
  assert.equal(seedParams(VARIANTS['googlenet-short4'], 10), VARIANTS['googlenet-short4'].seed!.cifar10.params);
  assert.equal(seedParams(VARIANTS['googlenet'], 20), 6258500 - 80 * 1025, 'CIFAR-100 superclasses: 80 classes fewer');
  assert.equal(seedParams(VARIANTS['googlenet-naive'], 100), VARIANTS['googlenet-naive'].seed!.cifar100.params);
  assert.equal(reconstructionNoteFor(VARIANTS['googlenet'], 10), undefined);
});

for (const [name, want] of Object.entries(expected)) {
  test(`${name}: parameters (100 and 10 classes) and MACs per image`, () => {
    const m100 = createModel(name, 100);
    const s = summarize(m100, name);
    assert.equal(s.params, want.c100);
    assert.equal(s.macs, want.macs);
    assert.equal(s.layers.reduce((t, l) => t + l.params, 0), want.c100, 'per-layer parameters add up');
    m100.dispose();
    const m10 = createModel(name, 10);
    assert.equal(m10.parameterCount(), want.c10);
    m10.dispose();
    // an unusual class count: only the linear layer changes, by (in features + 1) per class
    const m37 = createModel(name, 37);
    const perClass = name === 'googlenet-naive' ? 4945 : 1025;
    assert.equal(m37.parameterCount(), want.c100 + (37 - 100) * perClass);
    m37.dispose();
  });
}

test('the state-dict names, order and shapes of the seven networks are those recorded in test/data', () => {
  // recorded before the BatchNorm+ReLU fusion was declared in the layers: the seed's flat branch indices stay
  const recorded: Record<string, Record<string, number[]>> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'state-dict-names.json'), 'utf8'));
  assert.deepEqual(Object.keys(recorded).sort(), modelNames().sort());
  for (const name of modelNames()) {
    const m = createModel(name, 100);
    const ours = [...m.stateDict()].map(([k, v]) => [k, v.shape]);
    m.dispose();
    assert.deepEqual(ours, Object.entries(recorded[name]), name);
  }
});

test('the summary traces the input size it is given, and prints it', () => {
  const m = createModel('googlenet-short4', 10);
  const s = summarize(m, 'googlenet-short4', 16);
  m.dispose();
  assert.deepEqual(s.input, [1, 3, 16, 16]);
  assert.deepEqual(s.layers[0].output, [1, 192, 16, 16]);
  assert.deepEqual(s.layers.at(-1)!.output, [1, 10]);
  assert.match(formatSummary(s), /^googlenet-short4, 10 classes, input 1x3x16x16\n/);
});

test("the seed's bottleneck arithmetic per module: a3's MACs beside the naive module", () => {
  const m = createModel('googlenet', 100);
  const a3 = summarize(m, 'googlenet').modules.find((r) => r.name === 'a3')!;
  m.dispose();
  // a3 at 32x32, 192 -> 256 channels; naive = 1x1 (192->64) + 3x3 (192->128) + 3x3 (192->32)
  assert.equal(a3.naiveMacs, 32 * 32 * 192 * (64 + 9 * 128 + 9 * 32));
  // ours: b1 1x1 192->64; b2 1x1 192->96, 3x3 96->128; b3 1x1 192->16, 3x3 16->32, 3x3 32->32; b4 1x1 192->32
  assert.equal(a3.macs, 32 * 32 * (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 9 * 16 * 32 + 9 * 32 * 32 + 192 * 32));
  assert.deepEqual(a3.output, [1, 256, 32, 32]);
});

test('googlenet-long names its repeated modules a5, a5_2, a5_3, a5_4', () => {
  const m = createModel('googlenet-long', 10);
  const names = m.namedChildren().map(([n]) => n);
  assert.deepEqual(names.filter((n) => n.startsWith('a5')), ['a5', 'a5_2', 'a5_3', 'a5_4']);
  m.dispose();
});

for (const name of Object.keys(expected)) {
  test(`${name}: forward and backward at batch 2`, () => {
    const m = createModel(name, 10);
    tidy(() => {
      const x = Tensor.fromArray(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.01)), [2, 3, 32, 32]);
      const logits = m.forward(x);
      assert.deepEqual([...logits.shape], [2, 10]);
      const loss = crossEntropy(logits, Int32Array.of(3, 7));
      assert.ok(Number.isFinite(loss.item()));
      backward(loss);
    });
    for (const [n, p] of m.namedParameters()) assert.ok(p.grad, `${n} has no gradient`);
    const g = m.linear.weight.grad!.toArray();
    assert.ok(g.some((v) => v !== 0), 'linear gradient is zero');
    m.dispose();
  });
}

test("docs/networks.md's example declares an eighth variant that builds, counts and runs", () => {
  const match = readDoc('docs/networks.md').match(/<!-- variant-example -->\s*```ts\n([\s\S]*?)```/);
  assert.ok(match, 'docs/networks.md has no <!-- variant-example --> code block');
  // run it as a user would: an ES module importing the package by name
  const file = path.join(repoRoot, 'dist', 'docs-variant-example.mjs');
  fs.writeFileSync(file, match[1]);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  fs.rmSync(file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /googlenet-tiny: 2 Inception modules, [\d,]+ parameters/);
});

test('googlenet summary --json prints one object with totals and layers', () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), 'summary', '--model', 'googlenet-short2', '--classes', '10', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.model, 'googlenet-short2');
  assert.equal(s.classes, 10);
  assert.equal(s.params, 3431306);
  assert.equal(s.macs, expected['googlenet-short2'].macs - 1024 * 90);
  assert.ok(Array.isArray(s.layers) && s.layers.length > 50);
  assert.deepEqual(s.layers.at(-1), { name: 'linear', kind: 'Linear', output: [1, 10], params: 10250, macs: 10240 });
  const text = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), 'summary', '--model', 'googlenet-short4'], { encoding: 'utf8' });
  assert.match(text.stdout, /Total parameters: 1,643,796 {2}\(reconstruction: the seed counts 1,650,084/);
  assert.match(text.stdout, /Total MACs \(conv \+ linear, one image\): 156,667,904/);
});
