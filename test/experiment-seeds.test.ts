// `experiment --seeds`: each network on each dataset with several seeds, each seed its own run —
// parsed and refused in one line, trained in one process on SQLite (adding seeds later trains only
// the new ones), and split between two `googlenet worker` processes through PostgreSQL's queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedOpts, sharedPath } from './helpers.js';
import { requirePostgres, startCluster } from './pg-cluster.js';
import { cli, start } from './processes.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-seeds-'));

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code');
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

interface RunStatus { id: number; model: string; dataset: string; seed: number; status: string; epochs_done: number; attempts: { worker: string; outcome: string }[] }
function status(url: string): RunStatus[] {
  const r = cli(['status', '--store', url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runs: RunStatus[] }).runs;
}

const small = ['--dataset', 'cifar10', '--limit-train', '64', '--limit-test', '20', '--batch-size', '32', '--epochs', '1'];

test('--seeds: a count or a list; 0, a seed twice, not a number, or beside --seed refused in one line; the grid is each seed of every network in turn', () => {
  const out = tmp();
  const experiment = (...args: string[]) => cli(['experiment', '--models', 'googlenet-short4', ...small, '--out', out, ...args]);
  oneLineError(experiment('--seeds', '2', '--seed', '5'), /^googlenet: --seeds and --seed 5 both choose the seed: give --seeds N or --seeds LIST for several seeds, or --seed S for one, not both$/);
  oneLineError(experiment('--seeds', '0'), /^googlenet: --seeds 0 trains nothing: give a count of 1 or more/);
  oneLineError(experiment('--seeds', '1001'), /^googlenet: --seeds 1001 would train 1001 runs of each network: give at most 1000 /);
  oneLineError(experiment('--seeds', '1,7,1'), /^googlenet: --seeds lists seed 1 twice, got '1,7,1'; give each seed once/);
  for (const bad of ['x', '', '1,', '2.5', '-1'])
    oneLineError(experiment('--seeds', bad), new RegExp(`^googlenet: --seeds must be a count N \\(seeds 1 to N\\) or a comma-separated list of seeds \\(non-negative integers, e.g. 1,7,9\\), got '${bad.replace('.', '\\.')}'$`));
  assert.deepEqual(fs.readdirSync(out), [], 'nothing recorded');

  // recorded in training order: the first seed listed of every network, then the next
  const url = `sqlite:${path.join(out, 'grid.sqlite')}`;
  const r = cli(['experiment', '--models', 'googlenet-short4,googlenet-short3', ...small, '--seeds', '7,1', '--enqueue-only', '--store', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /recorded 4 runs in sqlite:/);
  assert.deepEqual(status(url).map((x) => `${x.model} ${x.seed}`), ['googlenet-short4 7', 'googlenet-short3 7', 'googlenet-short4 1', 'googlenet-short3 1']);
  // a count: seeds 1 to N; the seeds recorded already are the same runs
  assert.equal(cli(['experiment', '--models', 'googlenet-short4,googlenet-short3', ...small, '--seeds', '2', '--enqueue-only', '--store', url]).code, 0);
  assert.deepEqual(status(url).map((x) => `${x.model} ${x.seed}`).slice(4), ['googlenet-short4 2', 'googlenet-short3 2']);
});

test('--seeds 2 trains seeds 1 and 2 as two runs; --seeds 3 later trains only seed 3', sharedOpts, () => {
  const out = tmp();
  const experiment = (seeds: string) => cli(['experiment', '--models', 'googlenet-short4', ...small, '--data-dir', sharedPath('data'), '--seeds', seeds, '--out', out]);
  const two = experiment('2');
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stderr, /^\[1\/2\] googlenet-short4 on cifar10 seed 1 \(attempt id \d+, on /m);
  assert.match(two.stderr, /^\[2\/2\] googlenet-short4 on cifar10 seed 2 \(attempt id \d+, on /m);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
    datasets: { cifar10: { model: string; recipeSeed: number; status: string }[] };
    runs: { recipe: { seed: number }; epochs: { trainLoss: number; testLoss: number }[] }[];
  };
  assert.deepEqual(json.datasets.cifar10.map((x) => [x.model, x.recipeSeed, x.status]).sort(), [['googlenet-short4', 1, 'complete'], ['googlenet-short4', 2, 'complete']]);
  const bySeed = (s: number) => json.runs.find((x) => x.recipe.seed === s)!.epochs[0]!;
  assert.notEqual(bySeed(1).trainLoss, bySeed(2).trainLoss, 'another seed, another run: other initial weights and batches');

  const three = experiment('3');
  assert.equal(three.code, 0, three.stderr);
  assert.match(three.stderr, /^\[1\/3\] googlenet-short4 on cifar10 seed 1: complete in sqlite:.*experiment\.sqlite, skipped$/m);
  assert.match(three.stderr, /^\[2\/3\] googlenet-short4 on cifar10 seed 2: complete in sqlite:.*experiment\.sqlite, skipped$/m);
  assert.match(three.stderr, /^\[3\/3\] googlenet-short4 on cifar10 seed 3 \(attempt id \d+, on /m);
  const runs = status(`sqlite:${path.join(out, 'experiment.sqlite')}`);
  assert.deepEqual(runs.map((x) => [x.seed, x.status, x.attempts.map((a) => a.outcome)]),
    [[1, 'complete', ['complete']], [2, 'complete', ['complete']], [3, 'complete', ['complete']]], 'seeds 1 and 2 not trained again');
});

const pgOpts = requirePostgres();
test('two workers on PostgreSQL split the seeds: each run trained once, by one or the other, both working', { ...sharedOpts, ...pgOpts, skip: sharedOpts.skip ?? pgOpts.skip }, async () => {
  const cluster = await startCluster();
  try {
    const url = await cluster.createDatabase('seeds');
    // 8 batches of 32: seconds a run, so that with four queued one worker cannot take them all before the other starts
    const recipe = ['--dataset', 'cifar10', '--limit-train', '256', '--limit-test', '20', '--batch-size', '32', '--epochs', '1'];
    const enqueue = (seeds: string) => cli(['experiment', '--store', url, '--models', 'googlenet-short4', ...recipe, '--seeds', seeds, '--enqueue-only']);
    const e = enqueue('4');
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /4 runs recorded in postgres:.*; 4 newly queued/);

    const workers = [0, 1].map(() => start(['--threads', '1', 'worker', '--store', url, '--data-dir', sharedPath('data'), '--until-empty']));
    assert.deepEqual(await Promise.all(workers.map((w) => w.exit)), [0, 0], workers.map((w) => w.out.stderr).join('\n'));

    const runs = status(url);
    assert.deepEqual(runs.map((r) => [r.seed, r.status, r.epochs_done]), [1, 2, 3, 4].map((s) => [s, 'complete', 1]));
    for (const r of runs) assert.deepEqual(r.attempts.map((a) => a.outcome), ['complete'], `seed ${r.seed} trained once`);
    // each worker names the runs it completed; together every seed, once
    const names = workers.map((w) => `${os.hostname()}:${w.child.pid}`);
    const completed = workers.map((w, i) => [...w.out.stderr.matchAll(new RegExp(`^${names[i]}: googlenet-short4 on cifar10 seed (\\d) complete$`, 'gm'))].map((m) => Number(m[1])));
    assert.deepEqual(completed.flat().sort(), [1, 2, 3, 4], workers.map((w) => w.out.stderr).join('\n'));
    for (const r of runs) assert.equal(r.attempts[0]!.worker, names[completed.findIndex((c) => c.includes(r.seed))], `seed ${r.seed}'s attempt`);
    assert.ok(completed.every((c) => c.length >= 1), `both workers trained: ${JSON.stringify(completed)}`);

    // a fifth seed later: only it is queued
    const more = enqueue('5');
    assert.equal(more.code, 0, more.stderr);
    assert.match(more.stderr, /5 runs recorded in postgres:.*; 1 newly queued/);
    assert.deepEqual(status(url).map((r) => [r.seed, r.status]), [[1, 'complete'], [2, 'complete'], [3, 'complete'], [4, 'complete'], [5, 'queued']]);
  } finally {
    await cluster.stop();
  }
});
