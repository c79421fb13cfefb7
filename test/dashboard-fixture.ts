// What the dashboard's browser test and the screenshot in docs/dashboard.md share: a real short experiment
// (two networks, two epochs on a few CIFAR-10 images) and the dashboard started on it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, start, until, type Running } from './processes.js';
import { sharedPath } from './helpers.js';
import type { SearchSpec } from '../src/explore/explore-json.js';
import { searchIdOf, searchSpecOf } from '../src/explore/explore.js';
import { proposeChild, type Mutation } from '../src/explore/mutations.js';
import { canonicalNetwork, networkHash } from '../src/models/network.js';
import { isRefusal, type RunStore } from '../src/store/store.js';
import { defaultRecipe, networkOfRecipe, recipeNetwork, type NamedNetwork, type Recipe } from '../src/train/config.js';
import { runSpec } from '../src/train/spec.js';
import { Rng } from '../src/util/rng.js';
import { thisMachine } from '../src/util/machine.js';

export const MODELS = ['googlenet-short4', 'googlenet-short3'];

/** Runs the experiment into a new folder; returns it (experiment.sqlite, results.json inside). */
export function shortExperiment(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-experiment-'));
  const r = cli(['--quiet', 'experiment', '--dataset', 'cifar10', '--models', MODELS.join(','), '--data-dir', sharedPath('data'),
    '--limit-train', '128', '--limit-test', '100', '--batch-size', '16', '--test-batch-size', '50', '--epochs', '2', '--out', out]);
  if (r.code !== 0) throw new Error(`experiment failed: ${r.stderr}`);
  return out;
}

/** `googlenet dashboard --out DIR --port 0`, once it has printed its URL. */
export async function dashboardOn(dir: string): Promise<{ url: string; running: Running }> {
  const running = start(['dashboard', '--out', dir, '--port', '0']);
  await until(() => running.out.stdout.includes('\n'), running.exit, 'the dashboard exited before printing its URL', 20000).catch((e: Error) => {
    throw new Error(`${e.message}: ${running.out.stderr}`);
  });
  return { url: running.out.stdout.trim(), running };
}

/**
 * A search as `explore` records it, through the store's API: a random search from googlenet-short4
 * (rungs of 1 and 2 epochs, a 16-image hold-out), the base and two mutations of it each a run with
 * its first epoch's hold-out errors, the base and candidate 1 promoted to the second rung (the base
 * with its second epoch), candidate 2 still at the first. `raise` records candidate 2 at rung 2 (its row alone: the run as it was);
 * `confirm` the confirmation of the base and candidate 1.
 */
export async function recordedSearch(store: RunStore): Promise<{ id: string; spec: SearchSpec; runs: number[]; raise: () => Promise<void>; confirm: () => Promise<void> }> {
  const base = recipeNetwork('googlenet-short4');
  const recipe: Recipe = { ...defaultRecipe('googlenet-short4', 'cifar10'), ...base, val: 16, limitTrain: 64, limitTest: 32, batchSize: 16 };
  const spec = searchSpecOf({ base, recipe, strategy: 'random', rng: 1, budget: 2, rungs: [1, 2], eta: 2, maxParams: null, maxMacs: null, population: 0, tournament: 0, generation: 0 });
  const id = searchIdOf(spec);
  await store.recordSearch(id, spec);
  const rng = new Rng(1), seen = new Set([networkHash(networkOfRecipe(base))]);
  const nets: { named: NamedNetwork; mutation: Mutation | null }[] = [{ named: base, mutation: null }];
  for (let i = 0; i < 2; i++) {
    const child = proposeChild(networkOfRecipe(base), rng, { classes: 10, seen, name: (h) => `net-${h.slice(0, 10)}`, parent: { name: base.model, candidate: 0 } });
    if ('exhausted' in child) throw new Error('no mutation of googlenet-short4');
    seen.add(child.hash);
    nets.push({ named: { model: child.network.name, network: canonicalNetwork(child.network) }, mutation: child.mutation });
  }
  const hold = (e: number, n: number) => ({ epoch: n, trainLoss: 2.3 - 0.1 * n, testLoss: null, top1Error: null, top5Error: null, valLoss: 2.2, valTop1Error: e, valTop5Error: e / 3, lr: 1, seconds: 2, finishedAt: new Date().toISOString() });
  const errors = [[0.62, 0.55], [0.58, 0.6], [0.7]];
  const runs: number[] = [];
  for (const [k, n] of nets.entries()) {
    const rungs = errors[k]!.length;
    const run = await store.ensureRun(runSpec({ ...recipe, ...n.named, epochs: rungs }));
    runs.push(run.id);
    await store.recordSearchRun({ search: id, candidate: k, runId: run.id, role: 'search', parent: k === 0 ? null : 0, mutation: n.mutation, generation: 0, rung: rungs });
    const c = await store.claim(run.id, { name: 'test:1', heartbeat: 30 });
    if (isRefusal(c)) throw new Error(JSON.stringify(c));
    await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
    await c.recordEpoch(hold(errors[k]![0]!, 1));
    // the base trains its second epoch; candidate 1 was promoted and waits for it
    if (k === 0) await c.recordEpoch(hold(errors[k]![1]!, 2));
    await c.finish(k === 1 ? 'interrupted' : 'complete');
  }
  const raise = async () => {
    await store.recordSearchRun({ search: id, candidate: 2, runId: runs[2]!, role: 'search', parent: 0, mutation: nets[2]!.mutation, generation: 0, rung: 2 });
  };
  /** The confirmation: the base and candidate 1, seeds 1 and 2, without the hold-out, 2 epochs each, tested. */
  const confirm = async () => {
    for (const k of [0, 1]) for (const seed of [1, 2]) {
      const run = await store.ensureRun(runSpec({ ...recipe, ...nets[k]!.named, val: 0, seed, epochs: 2 }));
      await store.recordSearchRun({ search: id, candidate: k, runId: run.id, role: 'confirm', parent: null, mutation: null, generation: 0, rung: 0 });
      const c = await store.claim(run.id, { name: 'test:1', heartbeat: 30 });
      if (isRefusal(c)) throw new Error(JSON.stringify(c));
      await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
      const top1 = [0.5, 0.45][k]! + [0, 0.02][seed - 1]!;
      for (const n of [1, 2]) await c.recordEpoch({ epoch: n, trainLoss: 2, testLoss: 1.9, top1Error: top1 + 0.05 * (2 - n), top5Error: top1 / 4, lr: 1, seconds: 2, finishedAt: new Date().toISOString() });
      await c.finish('complete');
    }
  };
  return { id, spec, runs, raise, confirm };
}
