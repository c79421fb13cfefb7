// The step profiler (src/util/profile.ts): it changes nothing in the step it watches, its families
// never add up to more than the step, and each convolution lands in its kernel size's family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../src/autograd/engine.js';
import { createModel, VARIANTS } from '../src/models/googlenet.js';
import { Conv2d } from '../src/nn/layers.js';
import type { Module } from '../src/nn/module.js';
import { Adadelta } from '../src/optim/optimizer.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/step.js';
import { manualSeed } from '../src/util/generator.js';
import { convFamily, profile } from '../src/util/profile.js';
import { Rng } from '../src/util/rng.js';

const CLASSES = 10;

function batch(n: number) {
  const rng = new Rng(7);
  const input = Float32Array.from({ length: n * 3 * 32 * 32 }, () => rng.random() * 2 - 1);
  const targets = Int32Array.from({ length: n }, () => rng.int(CLASSES));
  return { epoch: 0, index: 0, input, shape: [n, 3, 32, 32], targets, size: n };
}

/** One step of a freshly seeded googlenet-short4: its loss, gradients and updated parameters. */
function step(profiled: boolean) {
  manualSeed(3);
  const model = createModel('googlenet-short4', CLASSES);
  const opt = new Adadelta(model.parameters());
  const grads: Float32Array[] = [];
  const run = () => trainStep(model, opt, batch(2), { beforeUpdate: () => model.parameters().forEach((p) => grads.push(p.grad!.toArray())) });
  const p = profiled ? profile(run) : { result: run(), totalMs: 0, families: new Map() };
  const params = model.parameters().map((t) => t.toArray());
  model.dispose();
  return { loss: p.result, grads, params, profile: p };
}

/** Conv2d layers of a model by family, read from its module tree (what the model declares). */
function declaredConvs(model: Module): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [, m] of model.namedModules()) if (m instanceof Conv2d) counts.set(convFamily(m.weight.shape), (counts.get(convFamily(m.weight.shape)) ?? 0) + 1);
  return counts;
}

test('profiling a googlenet-short4 step leaves its loss, gradients and update bit-identical; the families sum to at most the step', () => {
  const off = step(false);
  const on = step(true);
  assert.ok(Number.isFinite(off.loss));
  assert.equal(on.loss, off.loss);
  assert.equal(on.grads.length, off.grads.length);
  on.grads.forEach((g, i) => assert.deepEqual(g, off.grads[i], `gradient ${i}`));
  on.params.forEach((p, i) => assert.deepEqual(p, off.params[i], `parameter ${i} after the update`));
  const fams = on.profile.families;
  const sum = [...fams.values()].reduce((s, f) => s + f.forwardMs + f.backwardMs, 0);
  assert.ok(sum > 0 && sum <= on.profile.totalMs, `families ${sum} ms, step ${on.profile.totalMs} ms`);
  for (const name of ['conv 1x1', 'conv 3x3', 'batchnorm+relu (fused)', 'max pool', 'avg pool', 'concat', 'linear', 'loss', 'optimizer', 'zero_grad', 'data copy'])
    assert.ok(fams.has(name), `family ${name} missing; got ${[...fams.keys()].join(', ')}`);
  // every conv ran forward once, its backward too
  for (const f of ['conv 1x1', 'conv 3x3']) assert.ok(fams.get(f)!.backwardMs > 0, `${f} backward timed`);
});

test('each convolution of the seed\'s googlenet is counted in its kernel size\'s family, with 2·MACs flops', () => {
  manualSeed(1);
  const model = createModel('googlenet', CLASSES).eval();
  const declared = declaredConvs(model);
  // the declaration: a 3x3 prelayer, and per Inception module four 1x1 convs (b1, the two reduces,
  // the pool projection) and three 3x3 (b2's and the "5x5" branch's two)
  const modules = VARIANTS.googlenet.stages.flat().length;
  assert.deepEqual(Object.fromEntries(declared), { 'conv 3x3': 1 + 3 * modules, 'conv 1x1': 4 * modules });
  const p = profile(() => noGrad(() => tidy(() => void model.call(Tensor.fromArray(batch(1).input, [1, 3, 32, 32])))));
  const convs = [...p.families].filter(([k]) => k.startsWith('conv '));
  assert.deepEqual(Object.fromEntries(convs.map(([k, f]) => [k, f.calls])), Object.fromEntries(declared));
  // the prelayer alone at batch 1: 2·(192·32·32)·(3·3·3) flops; the whole 3x3 family is more
  assert.ok(p.families.get('conv 3x3')!.flops > 2 * 192 * 32 * 32 * 27);
  model.dispose();
});
