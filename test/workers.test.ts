// The experiment over many workers, end to end with a real PostgreSQL (a throwaway cluster) and
// real faults: a worker SIGKILLed mid-epoch, one SIGSTOPped past its lease and continued, the
// server restarted mid-run, a SIGTERM hand-back. Each scenario has a database of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readSafetensors } from '../src/io/safetensors.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { requirePostgres, startCluster, type PgCluster } from './pg-cluster.js';
import { cli, start, trainLines, until, type Running } from './processes.js';

const pgOpts = requirePostgres();
const opts = { ...sharedOpts, ...pgOpts, skip: sharedOpts.skip ?? pgOpts.skip };
let cluster: PgCluster;
before(async () => { if (!opts.skip) cluster = await startCluster(); });
after(async () => { await cluster?.stop(); });

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-workers-'));
/** 8 batches of 32 per epoch, a short test set. */
const recipe = (epochs: number) => ['--limit-train', '256', '--limit-test', '20', '--batch-size', '32', '--epochs', String(epochs)];

interface RunStatus {
  model: string; dataset: string; status: string; epochs_done: number;
  attempts: { id: number; worker: string; started_at: string; ended_at: string | null; outcome: string; first_batch: { epoch: number; batch: number } | null; refused_writes: number }[];
}
function status(url: string): RunStatus[] {
  const r = cli(['status', '--store', url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runs: RunStatus[] }).runs;
}

function worker(url: string, heartbeat: number, extra: string[] = []): Running {
  return start(['--threads', '1', 'worker', '--store', url, '--data-dir', sharedPath('data'), '--until-empty', '--heartbeat', String(heartbeat),
    '--checkpoint-every', '0.001', '--log-interval', '1', ...extra]);
}

function enqueue(url: string, models: string, dataset: string, epochs: number): void {
  const r = cli(['experiment', '--store', url, '--models', models, '--dataset', dataset, ...recipe(epochs), '--out', tmp(), '--enqueue-only']);
  assert.equal(r.code, 0, r.stderr);
}

/** Final weights of a run, exported from its store. */
function weights(url: string, model: string, dataset: string) {
  const file = path.join(tmp(), 'model.safetensors');
  const r = cli(['export', '--store', url, model, dataset, '--out', file]);
  assert.equal(r.code, 0, r.stderr);
  return readSafetensors(file);
}

test('three workers train a grid of four runs; one SIGKILLed mid-epoch is resumed at its next batch; all match one process on SQLite bit for bit', opts, async () => {
  const url = await cluster.createDatabase('grid');
  const models = 'googlenet-short4,googlenet-short3';
  enqueue(url, models, 'both', 2);
  // enqueuing again, even twice at once, queues nothing twice
  const again = [start(['experiment', '--store', url, '--models', models, '--dataset', 'both', ...recipe(2), '--out', tmp(), '--enqueue-only']),
    start(['experiment', '--store', url, '--models', models, '--dataset', 'both', ...recipe(2), '--out', tmp(), '--enqueue-only'])];
  assert.deepEqual(await Promise.all(again.map((a) => a.exit)), [0, 0]);
  for (const a of again) assert.match(a.out.stderr, /4 runs recorded in postgres:\/\/\w+:\*\*\*@127\.0\.0\.1:\d+\/grid; 0 newly queued/);
  assert.doesNotMatch(again[0].out.stderr + again[1].out.stderr, new RegExp(cluster.password));

  const workers = [worker(url, 2), worker(url, 2), worker(url, 2)];
  // kill the first worker seen 3 batches into its first run
  let victim: Running | undefined;
  await until(() => (victim = workers.find((w) => trainLines(w.out.stdout) >= 3)) !== undefined, Promise.race(workers.map((w) => w.exit)), 'a worker ended first');
  const held = victim!.out.stderr.match(/: (googlenet-\S+) on (cifar\d+) \(attempt id (\d+)\)/)!;
  victim!.child.kill('SIGKILL');
  const killedAt = Date.now();
  assert.equal(await victim!.exit, 'SIGKILL');
  const killedBatches = trainLines(victim!.out.stdout);
  const rest = workers.filter((w) => w !== victim);
  assert.deepEqual(await Promise.all(rest.map((w) => w.exit)), [0, 0], rest.map((w) => w.out.stderr).join('\n'));

  const runs = status(url);
  assert.equal(runs.length, 4);
  for (const r of runs) assert.deepEqual([r.status, r.epochs_done], ['complete', 2], `${r.model} on ${r.dataset}`);
  const killed = runs.find((r) => r.model === held[1] && r.dataset === held[2])!;
  assert.deepEqual(killed.attempts.map((a) => a.outcome), ['crashed', 'complete']);
  assert.equal(killed.attempts[0].id, Number(held[3]));
  const taker = killed.attempts[1];
  assert.ok(Date.parse(taker.started_at) - killedAt < 120_000, 'taken over within 2 minutes');
  // it resumed at the batch after the last checkpoint, not at the epoch's start: the batches trained in all
  // (the killed attempt's, then the taker's from its first batch on) are the run's 16 plus at most one checkpoint interval (here one batch)
  const from = (taker.first_batch!.epoch - 1) * 8 + taker.first_batch!.batch;
  assert.ok(from > 0 && from <= killedBatches, `taker starts at batch ${from}, the killed attempt trained ${killedBatches}`);
  assert.ok(killedBatches + (16 - from) <= 16 + 1, `${killedBatches + 16 - from} batches trained for 16`);

  // the same grid in one process on SQLite, one thread: the same epochs and the same weights, bit for bit
  const dir = tmp();
  const one = cli(['--threads', '1', 'experiment', '--models', models, '--dataset', 'both', ...recipe(2), '--data-dir', sharedPath('data'), '--out', dir]);
  assert.equal(one.code, 0, one.stderr);
  const sqlite = `sqlite:${path.join(dir, 'experiment.sqlite')}`;
  const rows = (epochs: unknown[]) => epochs;
  const db = new Database(path.join(dir, 'experiment.sqlite'), { readonly: true });
  const ref = db.prepare(`SELECT r.model, r.dataset, e.epoch, e.train_loss, e.test_loss, e.top1_error, e.top5_error, e.lr FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY r.model, r.dataset, e.epoch`).all();
  db.close();
  const pgRows = (await cluster.superQuery(`SELECT r.model, r.dataset, e.epoch, e.train_loss, e.test_loss, e.top1_error, e.top5_error, e.lr FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY r.model, r.dataset, e.epoch`, 'grid')).rows;
  assert.deepEqual(rows(pgRows), rows(ref), 'one row per epoch, metrics equal');
  for (const r of runs) {
    const a = weights(url, r.model, r.dataset), b = weights(sqlite, r.model, r.dataset);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, v] of a) assert.deepEqual(v.data, b.get(k)!.data, `${r.model} on ${r.dataset}: ${k}`);
  }
});

test('a worker SIGSTOPped past its lease loses its run to another, and once continued writes nothing more for it', opts, async () => {
  const url = await cluster.createDatabase('stopped');
  enqueue(url, 'googlenet-short4', 'cifar10', 1);
  const first = worker(url, 1);
  await until(() => trainLines(first.out.stdout) >= 3, first.exit, 'the worker ended before it was stopped');
  first.child.kill('SIGSTOP');
  const second = worker(url, 1);
  try {
    await until(() => trainLines(second.out.stdout) >= 3, second.exit, 'the second worker never took the run');
  } finally {
    first.child.kill('SIGCONT');
  }
  assert.deepEqual(await Promise.all([first.exit, second.exit]), [0, 0], first.out.stderr + second.out.stderr);
  assert.match(first.out.stderr, /googlenet-short4 on cifar10: lost the run googlenet-short4 on cifar10 to (attempt 2|another attempt)/);
  const [run] = status(url);
  assert.equal(run.status, 'complete');
  assert.deepEqual(run.attempts.map((a) => a.outcome), ['crashed', 'complete']);
  assert.ok(run.attempts[0].refused_writes > 0, `refused writes: ${run.attempts[0].refused_writes}`);
  const epochs = (await cluster.superQuery('SELECT epoch, attempt_id FROM epochs ORDER BY epoch', 'stopped')).rows;
  assert.deepEqual(epochs.map((e) => Number(e.attempt_id)), [run.attempts[1].id], 'every epoch row after the takeover is the new attempt\'s');
});

test('the PostgreSQL server restarted mid-run (shorter than a heartbeat): the same attempt goes on, nothing lost', opts, async () => {
  const url = await cluster.createDatabase('restarted');
  enqueue(url, 'googlenet-short4', 'cifar10', 1);
  const w = worker(url, 10);
  await until(() => trainLines(w.out.stdout) >= 2, w.exit, 'the worker ended before the restart');
  await cluster.restart(3);
  assert.equal(await w.exit, 0, w.out.stderr);
  const [run] = status(url);
  assert.deepEqual([run.status, run.epochs_done, run.attempts.map((a) => a.outcome)], ['complete', 1, ['complete']]);
  assert.equal(trainLines(w.out.stdout), 8, 'every batch trained once');
});

test('SIGTERM: the worker checkpoints, hands the run back and exits 0; a waiting worker resumes it at the next batch at once', opts, async () => {
  const url = await cluster.createDatabase('handback');
  enqueue(url, 'googlenet-short4', 'cifar10', 1);
  const first = worker(url, 30);
  await until(() => trainLines(first.out.stdout) >= 3, first.exit, 'the worker ended before SIGTERM');
  const second = worker(url, 30);
  await until(() => /waiting: googlenet-short4 on cifar10 running/.test(second.out.stderr), second.exit, 'the second worker did not wait');
  first.child.kill('SIGTERM');
  assert.equal(await first.exit, 0, first.out.stderr);
  const stopped = Number(first.out.stderr.match(/stopped at epoch 1, batch (\d+);.* Resume with: googlenet --threads 1 worker /)?.[1]);
  assert.ok(stopped >= 3, first.out.stderr);
  assert.equal(await second.exit, 0, second.out.stderr);
  const [run] = status(url);
  assert.deepEqual(run.attempts.map((a) => [a.outcome, a.first_batch]), [['interrupted', { epoch: 1, batch: 0 }], ['complete', { epoch: 1, batch: stopped }]]);
  const gap = Date.parse(run.attempts[1].started_at) - Date.parse(run.attempts[0].ended_at!);
  assert.ok(gap < 5000, `resumed ${gap} ms after the hand-back, not after a lease (90 s)`);
});

test('store URLs that cannot work: one line naming host and database, never the password, within 15 s', opts, async () => {
  const t0 = Date.now();
  const bad = [
    [`postgres://${cluster.user}:wrong-secret@127.0.0.1:${cluster.port}/${cluster.database}`, /password authentication failed/],
    [`postgres://${cluster.user}:wrong-secret@127.0.0.1:1/${cluster.database}`, /127\.0\.0\.1:1\/.*(refused|ECONNREFUSED)/i],
    ['mysql://u:wrong-secret@h/db', /unknown scheme 'mysql:'/],
  ] as const;
  for (const [url, pattern] of bad) {
    const r = cli(['status', '--store', url], 20000);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(r.stderr + r.stdout, /wrong-secret/);
  }
  // the password may come from the environment instead of the URL
  const env = { ...process.env, PGPASSWORD: cluster.password };
  const r = cli(['status', '--store', cluster.urlWithoutPassword], 20000, env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 < 4 * 15000);
});

test('eight workers started at once on a fresh database all open its queue (pg-boss\'s install and the queue\'s creation race; the losers try again)', opts, async () => {
  const url = await cluster.createDatabase('fresh');
  // processes, not connections of one process: each installs pg-boss from scratch on its own
  const workers = Array.from({ length: 8 }, () => start(['--threads', '1', 'worker', '--store', url, '--data-dir', tmp(), '--until-empty']));
  const codes = await Promise.all(workers.map((w) => w.exit));
  assert.deepEqual(codes, [0, 0, 0, 0, 0, 0, 0, 0], workers.map((w) => w.out.stderr).join('\n---\n'));
  for (const w of workers) assert.match(w.out.stderr, /every run in postgres:.* is complete or failed; exiting/);
});
