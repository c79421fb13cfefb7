// The full GoogLeNet training step against PyTorch (../shared/fixtures), run through the
// CLI exactly as a user would: `googlenet step` on the init weights and the fixture batch.
// Tolerances are those of ../shared/fixtures/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors } from '../src/io/safetensors.js';
import { toFloat32, type HostTensor } from '../src/tensor/host.js';
import { Adadelta } from '../src/optim/optimizer.js';
import { Tensor } from '../src/tensor/tensor.js';
import { repoRoot, sharedOpts, sharedPath } from './helpers.js';
import { diffNorm, norm, relErr } from './numeric.js';

const fixture = (name: string) => sharedPath('fixtures', name);

function adadeltaReference(p: Float32Array, g: Float32Array): Float64Array {
  // torch.optim.Adadelta's first step from zero state, in float64: rho 0.9, eps 1e-6, lr 1
  const rho = 0.9, eps = 1e-6;
  return Float64Array.from(p, (v, i) => {
    const sq = (1 - rho) * g[i] * g[i];
    const delta = (Math.sqrt(eps) / Math.sqrt(sq + eps)) * g[i];
    return v - delta;
  });
}

test('googlenet step (CLI) matches the PyTorch step fixtures', sharedOpts, () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gn-step-')), 'result.safetensors');
  execFileSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), 'step', '--model', 'googlenet', '--classes', '100',
    '--weights', fixture('googlenet-c100-init.safetensors'), '--input', fixture('googlenet-c100-step.safetensors'), '--out', out], { stdio: 'pipe' });
  const ours = readSafetensors(out);
  const ref = readSafetensors(fixture('googlenet-c100-step.safetensors'));
  const init = readSafetensors(fixture('googlenet-c100-init.safetensors'));
  const after = readSafetensors(fixture('googlenet-c100-after-step.safetensors'));
  const get = (m: Map<string, HostTensor>, k: string) => {
    const t = m.get(k);
    assert.ok(t, `missing ${k}`);
    return toFloat32(t);
  };

  assert.ok(relErr(get(ours, 'train_logits'), get(ref, 'train_logits')) <= 1e-4, 'train_logits');
  assert.deepEqual(ours.get('loss')!.shape, []);
  assert.ok(relErr(get(ours, 'loss'), get(ref, 'loss')) <= 1e-4, 'loss');
  assert.ok(relErr(get(ours, 'eval_logits_after_step'), get(ref, 'eval_logits_after_step')) <= 1e-3, 'eval_logits_after_step');

  // gradients: ‖ours − ref‖ ≤ 5e-2 · (‖ref‖ + 1e-2·G)
  const gradNames = [...ref.keys()].filter((k) => k.startsWith('grad.'));
  assert.equal(gradNames.length, [...init.keys()].filter((k) => !/running_|num_batches/.test(k)).length);
  const G = Math.sqrt(gradNames.reduce((s, k) => s + norm(get(ref, k)) ** 2, 0));
  for (const k of gradNames) {
    const d = diffNorm(get(ours, k), get(ref, k));
    assert.ok(d <= 5e-2 * (norm(get(ref, k)) + 1e-2 * G), `${k}: difference ${d} too large`);
  }

  // after-step parameters = Adadelta applied to the init state with our own gradients
  for (const k of gradNames) {
    const name = k.slice('grad.'.length);
    const expected = adadeltaReference(get(init, name), get(ours, k));
    const actual = get(ours, name);
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    assert.ok(worst <= 1e-6, `${name}: after-step parameter off by ${worst}`);
  }

  // BatchNorm running statistics and counters after the training forward
  for (const [k, v] of after) {
    if (k.endsWith('num_batches_tracked')) assert.deepEqual(ours.get(k)!.data, v.data, k);
    else if (k.includes('running_')) assert.ok(relErr(get(ours, k), toFloat32(v)) <= 1e-4, k);
  }
  // the file holds exactly the fixture's names, plus the after-step state dict
  assert.deepEqual(new Set(ours.keys()), new Set([...ref.keys(), ...after.keys()].filter((k) => k !== 'input' && k !== 'target')));
});

test('Adadelta with the fixture gradients reproduces the fixture after-step parameters', sharedOpts, () => {
  const ref = readSafetensors(fixture('googlenet-c100-step.safetensors'));
  const init = readSafetensors(fixture('googlenet-c100-init.safetensors'));
  const after = readSafetensors(fixture('googlenet-c100-after-step.safetensors'));
  const names = [...ref.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
  const params = names.map((n) => Tensor.fromArray(toFloat32(init.get(n)!), init.get(n)!.shape).keep());
  params.forEach((p, i) => (p.grad = Tensor.fromArray(toFloat32(ref.get(`grad.${names[i]}`)!), p.shape).keep()));
  const opt = new Adadelta(params, { lr: 1.0 });
  opt.step();
  params.forEach((p, i) => {
    const want = toFloat32(after.get(names[i])!);
    const got = p.toArray();
    let worst = 0;
    for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
    assert.ok(worst <= 1e-6, `${names[i]}: off by ${worst}`);
    p.grad!.dispose();
    p.dispose();
  });
  opt.dispose();
});
