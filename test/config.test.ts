// The recipe apart from the run options: defaults, flags, comparison, and checkpoints written
// before the split (version 1) read back as recipe + run options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../src/io/safetensors.js';
import { f32 } from '../src/tensor/host.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { canonicalNetwork } from '../src/models/network.js';
import { configFromFlat, defaultConfig, recipeDifference, recipeProblem, resumableDifference } from '../src/train/config.js';

test('configFromFlat: unset fields from the defaults, run options apart, AdamW keeps its own weight decay', () => {
  const c = configFromFlat({ model: 'googlenet-short4', dataset: 'cifar10', lr: 0.5, out: 'somewhere', threads: 3, workers: 0, limitTrain: undefined });
  const d = defaultConfig('googlenet-short4', 'cifar10');
  assert.deepEqual(c.recipe, { ...d.recipe, lr: 0.5 });
  assert.deepEqual(c.run, { ...d.run, out: 'somewhere', threads: 3, workers: 0 });
  assert.equal(configFromFlat({ optimizer: 'adamw' }).recipe.weightDecay, 0.01);
  assert.equal(configFromFlat({ optimizer: 'adamw', weightDecay: 0 }).recipe.weightDecay, 0);
  assert.equal(configFromFlat({ optimizer: 'sgd' }).recipe.weightDecay, 0);
  assert.ok(!('out' in c.recipe) && !('threads' in c.recipe) && !('lr' in c.run), 'recipe and run options do not overlap');
});

test('recipes compare as a whole and name the flags that differ', () => {
  const a = defaultConfig().recipe;
  assert.equal(recipeDifference(a, { ...a }), null);
  assert.equal(recipeDifference(a, { ...a, lr: 0.5, limitTrain: 2000 }), '--limit-train 2000 (was unset), --lr 0.5 (was 1)');
  // every field counts, milestones included
  assert.equal(recipeDifference({ ...a, scheduler: 'multistep', milestones: [8] }, { ...a, scheduler: 'multistep', milestones: [8, 12] }), '--milestones 8,12 (was 8)');
  // a resumed run may extend its epochs, except under a cosine schedule, whose learning rates depend on them
  assert.equal(resumableDifference(a, { ...a, epochs: 20 }), null);
  assert.equal(resumableDifference({ ...a, scheduler: 'cosine' }, { ...a, scheduler: 'cosine', epochs: 20 }), '--epochs 20 (was 14)');
  assert.equal(recipeDifference(a, { ...a, epochs: 20 }), '--epochs 20 (was 14)');
});

test('recipeProblem names the inconsistent flags', () => {
  const a = defaultConfig().recipe;
  assert.equal(recipeProblem(a), null);
  assert.match(recipeProblem({ ...a, scheduler: 'multistep' })!, /--scheduler multistep needs --milestones/);
  assert.match(recipeProblem({ ...a, nesterov: true })!, /--nesterov needs --optimizer sgd/);
  assert.match(recipeProblem({ ...a, warmupEpochs: 14 })!, /--warmup-epochs 14 must be less than --epochs 14/);
});

test('a version-1 checkpoint (one flat config, snake_case history) and a version-2 one (a recipe without its network) load as version 3, with the named network', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-ckpt-v1-'));
  const file = path.join(dir, 'checkpoint.safetensors');
  // recipes before version 3 named one of the seven and held no network
  const { network, ...oldRecipe } = defaultConfig('googlenet-short4', 'cifar10').recipe;
  assert.deepEqual(network, canonicalNetwork(builtinNetwork('googlenet-short4')!));
  const flat = { ...oldRecipe, ...defaultConfig('googlenet-short4', 'cifar10').run, lr: 0.25, out: dir, threads: 2 };
  const meta = {
    version: 1, epoch: 1, config: flat, threads: 2, params: 1551546, rng: [1, 2, 3, 4], scheduler: { kind: 'StepLR', lastEpoch: 1 },
    history: [{ epoch: 1, train_loss: 2.5, test_loss: 2.25, top1_error: 0.75, top5_error: 0.25, lr: 0.25, seconds: 12.5 }],
    optimizer: { kind: 'Adadelta', groups: [], steps: [] },
  };
  writeSafetensors(file, new Map([['model.w', f32([2], [1, 2])]]), { format: 'pt', 'googlenet.checkpoint': JSON.stringify(meta) });
  const c = loadCheckpoint(file);
  assert.equal(c.meta.version, 3);
  assert.deepEqual(c.meta.recipe, { ...defaultConfig('googlenet-short4', 'cifar10').recipe, lr: 0.25 });
  assert.equal(recipeDifference(c.meta.recipe, { ...defaultConfig('googlenet-short4', 'cifar10').recipe, lr: 0.25 }), null);
  assert.equal(c.meta.run.out, dir);
  assert.deepEqual(c.meta.history, [{ epoch: 1, trainLoss: 2.5, testLoss: 2.25, top1Error: 0.75, top5Error: 0.25, lr: 0.25, seconds: 12.5, finishedAt: '' }]);
  assert.deepEqual([...c.model.keys()], ['w']);
  const v2 = { ...c.meta, version: 2, recipe: { ...oldRecipe, lr: 0.25 }, optimizer: meta.optimizer };
  writeSafetensors(file, new Map([['model.w', f32([2], [1, 2])]]), { format: 'pt', 'googlenet.checkpoint': JSON.stringify(v2) });
  const c2 = loadCheckpoint(file);
  assert.equal(c2.meta.version, 3);
  assert.deepEqual(c2.meta.recipe, c.meta.recipe);
  meta.version = 7;
  writeSafetensors(file, new Map([['model.w', f32([2], [1, 2])]]), { format: 'pt', 'googlenet.checkpoint': JSON.stringify(meta) });
  assert.throws(() => loadCheckpoint(file), /checkpoint version 7 is not supported \(this build reads 1 to 3\)/);
  fs.rmSync(dir, { recursive: true, force: true });
});
