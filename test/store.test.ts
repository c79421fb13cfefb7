// The run store contract, written once and run against SqliteStore (a temp file) and PostgresStore
// (a throwaway cluster, see pg-cluster.ts): runs, claims, leases, fencing, crash counting,
// checkpoints, each attempt's machine. Then the upgrade of a schema-4 store (both), the folder
// store's record of the machine, and what only PostgreSQL has: connection errors, the password file, the schema
// lock, a server restart mid-run and a large checkpoint.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FolderStore } from '../src/store/folder.js';
import { PostgresStore, SCHEMA_VERSION as PG_SCHEMA } from '../src/store/postgres.js';
import { pgpassPassword } from '../src/store/pgpass.js';
import { SCHEMA_VERSION as SQLITE_SCHEMA, SqliteStore } from '../src/store/sqlite.js';
import { ClaimLostError, isRefusal, LEASE_BEATS, type ClaimRefusal, type Progress, type RunClaim, type RunSpec, type RunStore } from '../src/store/store.js';
import { f32, i64, type HostTensor } from '../src/tensor/host.js';
import { defaultRecipe, defaultRunOptions, recipeNetwork, recipeNetworkHash, type NamedNetwork, type Recipe } from '../src/train/config.js';
import { CHECKPOINT_VERSION, type Checkpoint } from '../src/train/checkpoint.js';
import type { EpochRecord } from '../src/train/record.js';
import type { Machine } from '../src/util/machine.js';
import { freePort, freshPostgresStore, requirePostgres, startCluster, type PgCluster } from './pg-cluster.js';

// --- fixtures ---

const recipe = defaultRecipe('googlenet', 'cifar10');
const spec: RunSpec = { model: 'googlenet', dataset: 'cifar10', recipe, classes: 10, params: 6_166_250, macs: 1_529_000_000 };
const machine: Machine = { cpu: 'Test CPU @ 2.0GHz', family: 6, modelNumber: 85, isa: 'avx512_core', onednn: '3.0.0', threads: 4, conv: 'direct' };
const epoch = (n: number): EpochRecord => ({
  epoch: n, trainLoss: 2.5 - n / 10, testLoss: 2.25 - n / 10, top1Error: 0.5 - n / 100, top5Error: 0.25 - n / 100, lr: 0.7 ** (n - 1),
  seconds: 10 + n / 4, finishedAt: new Date(Date.UTC(2026, 0, n, 12, 0, 0, 125)).toISOString(),
});
const progress: Progress = { epoch: 2, batch: 17, batches: 782, imagesPerSecond: 812.5, etaSeconds: 5400 };

/** Bits that float arithmetic would not keep: -0, a NaN with a payload, infinities, subnormals. */
function tensor(n: number, seed: number): HostTensor {
  const bits = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    bits[i] = x;
  }
  const special = [0x80000000, 0x7fc00123, 0xff800000, 0x7f800000, 0x00000001];
  for (let i = 0; i < Math.min(n, special.length); i++) bits[i] = special[i]!;
  return f32([n], new Float32Array(bits.buffer));
}

function checkpoint(epochs: number, n = 1000): Checkpoint {
  const history = Array.from({ length: epochs }, (_, i) => epoch(i + 1));
  return {
    model: new Map([['conv1.weight', tensor(n, 1 + epochs)], ['bn1.num_batches_tracked', i64([], [BigInt(epochs * 782)])], ['fc.bias', tensor(10, 7)]]),
    optimizer: { tensors: new Map([['0.square_avg', tensor(n, 99 + epochs)]]), meta: { kind: 'adadelta', groups: [{ lr: 1, rho: 0.9, eps: 1e-6 }], steps: [epochs * 782] } },
    meta: {
      version: CHECKPOINT_VERSION, epoch: epochs, position: { epoch: epochs + 1, batches: 100, lossSum: 1234.5, seen: 6400, seconds: 12.25 },
      recipe, run: defaultRunOptions('googlenet', 'cifar10'), threads: 4, params: spec.params, history, rng: [1, 2, 3, 0xdeadbeef],
      scheduler: { lastEpoch: epochs, baseLrs: [1] },
    },
  };
}

const bytesOf = (t: HostTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function assertSameCheckpoint(got: Checkpoint | null, want: Checkpoint): void {
  assert.ok(got, 'a checkpoint');
  assert.deepEqual(got.meta, want.meta);
  assert.deepEqual(got.optimizer.meta, want.optimizer.meta);
  for (const [part, g, w] of [['model', got.model, want.model], ['optimizer', got.optimizer.tensors, want.optimizer.tensors]] as const) {
    assert.deepEqual([...g.keys()], [...w.keys()], `${part} tensor names`);
    for (const [k, t] of w) {
      const h = g.get(k)!;
      assert.equal(h.dtype, t.dtype, `${part}.${k} dtype`);
      assert.deepEqual(h.shape, t.shape, `${part}.${k} shape`);
      assert.ok(bytesOf(h).equals(bytesOf(t)), `${part}.${k} bits`);
    }
  }
}

/**
 * After an upgrade to schema 5, in `store` whose run `runId` had one attempt on `machine`: that
 * attempt reads direct (its conv is null), and a new attempt records winograd beside it.
 */
async function checkConvAfterUpgrade(store: RunStore, runId: number): Promise<void> {
  assert.deepEqual((await store.attempts(runId)).map((x) => x.machine), [machine], 'conv null: direct');
  const b = claimed(await store.claim(runId, { name: 'host-b:2', heartbeat: 30 }));
  await b.start({ epoch: 1, batch: 0 }, { ...machine, conv: 'winograd' });
  assert.deepEqual((await store.attempts(runId)).map((x) => x.machine?.conv), ['direct', 'winograd']);
  await b.finish('interrupted');
}

function claimed(c: RunClaim | ClaimRefusal): RunClaim {
  if (isRefusal(c)) assert.fail(`claim refused: ${c.refused}: ${c.reason}`);
  return c;
}

/** What a contract test needs from a store beyond its interface: where it lives, and a look at its rows and checkpoints. */
interface Harness {
  store: RunStore;
  /** Another store on the same place (another worker). */
  reopen(): Promise<RunStore>;
  /** Checkpoints stored (files, or checkpoints rows), and for PostgreSQL their chunks too. */
  checkpoints(): Promise<number>;
  /** A checkpoint a writer left when it died before making it current. */
  leaveStray(runId: number, attemptId: number): Promise<void>;
  /** epoch → attempts.id of the attempt that wrote its row. */
  epochWriters(runId: number): Promise<Record<number, number | null>>;
  close(): Promise<void>;
}

// --- the contract ---

function contract(open: () => Promise<Harness>): void {
  let h: Harness;
  let store: RunStore;
  const fresh = async () => {
    h = await open();
    store = h.store;
    return store;
  };
  const done = () => h.close();

  test('ensureRun records the run queued and finds it again; another seed, hold-out or recipe is another run beside it', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    assert.equal(run.status, 'queued');
    assert.deepEqual(run.recipe, recipe);
    assert.equal(run.epochsPlanned, 14);
    assert.deepEqual([run.classes, run.params, run.macs, run.attemptId, run.crashes, run.progress, run.startedAt], [10, spec.params, spec.macs, null, 0, null, null]);
    assert.equal((await store.ensureRun(spec)).id, run.id);
    const seed2 = await store.ensureRun({ ...spec, recipe: { ...recipe, seed: 2 } });
    const val = await store.ensureRun({ ...spec, recipe: { ...recipe, val: 5000 } });
    const lr = await store.ensureRun({ ...spec, recipe: { ...recipe, lr: 0.5 } });
    assert.equal(new Set([run.id, seed2.id, val.id, lr.id]).size, 4, 'four runs');
    assert.equal((await store.ensureRun({ ...spec, recipe: { ...recipe, seed: 2 } })).id, seed2.id);
    // a recipe from before the hold-out existed is the run without one
    const { val: _v, ...before } = recipe;
    assert.equal((await store.ensureRun({ ...spec, recipe: before as typeof recipe })).id, run.id);
    const other = await store.ensureRun({ ...spec, dataset: 'cifar100', recipe: defaultRecipe('googlenet', 'cifar100') });
    assert.deepEqual((await store.runs()).map((r) => [r.id, r.dataset, r.recipe.seed, r.recipe.val, r.recipe.lr]),
      [[run.id, 'cifar10', 1, 0, 1], [seed2.id, 'cifar10', 2, 0, 1], [val.id, 'cifar10', 1, 5000, 1], [lr.id, 'cifar10', 1, 0, 0.5], [other.id, 'cifar100', 1, 0, 1]]);
    assert.equal((await store.run('googlenet', 'cifar100'))?.id, other.id);
    assert.equal((await store.run('googlenet', 'cifar10'))?.id, run.id, 'the first of several');
    assert.equal(await store.run('googlenet', 'imagenet'), undefined);
    await done();
  });

  test("a network's name is one network per store: another network under a recorded name, or a built-in's, is refused in one line", async () => {
    await fresh();
    const mine = { ...recipeNetwork('googlenet-short4'), model: 'mine' };
    const wider = { model: 'mine', network: { ...mine.network, width: 0.5 } };
    const mineSpec = (r: Partial<Recipe>): RunSpec => ({ ...spec, model: r.model ?? 'mine', recipe: { ...recipe, ...mine, ...r } });
    await store.ensureRun(mineSpec({}));
    await store.ensureRun(mineSpec({ seed: 3 }));
    const h = (n: NamedNetwork) => recipeNetworkHash(n).slice(0, 12);
    await assert.rejects(store.ensureRun(mineSpec(wider)), {
      message: `${store.url}: the name 'mine' is recorded in this store for network sha256 ${h(mine)}, and this network is sha256 ${h(wider)}; give it another name (a name is one network per store)`,
    });
    await assert.rejects(store.ensureRun(mineSpec({ model: 'yours' })), {
      message: `${store.url}: this network (sha256 ${h(mine)}) is recorded in this store as 'mine'; name it 'mine', not 'yours' (a network has one name per store)`,
    });
    await assert.rejects(store.ensureRun(mineSpec({ ...wider, model: 'googlenet' })), {
      message: `${store.url}: 'googlenet' is a built-in network's name, and this network (sha256 ${h(wider)}) is another; give it its own name`,
    });
    assert.deepEqual((await store.runs()).map((r) => [r.model, r.recipe.seed]), [['mine', 1], ['mine', 3]]);
    await done();
  });

  test('more epochs raise the plan and queue a complete run again; fewer than done, or any change under cosine, refused in one line', async () => {
    await fresh();
    const two: RunSpec = { ...spec, recipe: { ...recipe, epochs: 2 } };
    const run = await store.ensureRun(two);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    assert.equal((await store.attempts(run.id))[0]!.epochsPlanned, 2);
    await a.start({ epoch: 1, batch: 0 }, machine);
    for (const n of [1, 2]) await a.recordEpoch(epoch(n));
    await a.saveCheckpoint(checkpoint(2));
    await a.finish('complete');
    assert.equal((await store.ensureRun(two)).status, 'complete');
    const six = await store.ensureRun({ ...spec, recipe: { ...recipe, epochs: 6 } });
    assert.deepEqual([six.id, six.epochsPlanned, six.recipe.epochs, six.status, six.finishedAt, six.seconds], [run.id, 6, 6, 'queued', null, null]);
    await assert.rejects(store.ensureRun({ ...spec, recipe: { ...recipe, epochs: 1 } }), {
      message: `${store.url}: googlenet on cifar10 has 2 epochs done; --epochs 1 is fewer than done (a run's epochs can be raised, not undone)`,
    });
    const b = claimed(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    assert.equal(b.run.recipe.epochs, 6);
    assert.equal((await store.attempts(run.id)).at(-1)!.epochsPlanned, 6, 'the attempt says it trains toward 6');
    assertSameCheckpoint(await b.loadCheckpoint(), checkpoint(2));
    await b.finish('interrupted');
    const cosine = await store.ensureRun({ ...spec, recipe: { ...recipe, scheduler: 'cosine', epochs: 2 } });
    assert.notEqual(cosine.id, run.id);
    await assert.rejects(store.ensureRun({ ...spec, recipe: { ...recipe, scheduler: 'cosine', epochs: 6 } }), {
      message: `${store.url}: googlenet on cifar10 is recorded with --epochs 2, and --scheduler cosine's learning rates depend on the total epochs, so a cosine run cannot be extended or shortened to --epochs 6; use another store for it`,
    });
    await done();
  });

  test('claim: the run is running under the attempt; a second worker finds it busy; two claiming at once get one claim', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    assert.equal(a.run.status, 'running');
    assert.equal(a.run.attemptId, a.attemptId);
    assert.equal(a.previous, null);
    assert.ok(a.where.startsWith(`${store.url}, googlenet on cifar10`), a.where);
    const b = await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 });
    assert.ok(isRefusal(b));
    assert.equal(b.refused, 'busy');
    assert.match(b.reason, new RegExp(`^googlenet on cifar10 is held by host-a:1 \\(attempt ${a.attemptId}, heartbeat 0 s ago\\)$`));
    const [att] = await store.attempts(run.id);
    assert.deepEqual([att!.id, att!.worker, att!.outcome, att!.endedAt, att!.firstBatch, att!.refusedWrites, att!.machine, att!.heartbeatSeconds],
      [a.attemptId, 'host-a:1', 'running', null, null, 0, null, 30]);
    await a.finish('interrupted');
    assert.equal((await store.run('googlenet', 'cifar10'))?.status, 'interrupted');

    // two workers (two connections) race for the run
    const other = await h.reopen();
    const both = await Promise.all([store.claim(run.id, { name: 'host-c:3', heartbeat: 30 }), other.claim(run.id, { name: 'host-d:4', heartbeat: 30 })]);
    assert.deepEqual(both.map((c) => (isRefusal(c) ? c.refused : 'claimed')).sort(), ['busy', 'claimed']);
    const winner = both.find((c): c is RunClaim => !isRefusal(c))!;
    assert.equal((await store.attempts(run.id)).filter((x) => x.outcome === 'running').length, 1);
    await winner.finish('interrupted');
    await other.close();
    await done();
  });

  test('after a takeover the old attempt is fenced: its writes are refused, counted, and the new one carries on', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 0.2 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    await a.recordEpoch(epoch(1));
    await a.saveCheckpoint(checkpoint(1));
    assert.equal(await h.checkpoints(), 1);
    // worker A stops beating (paused, cut off) but lives on; after the lease, B takes the run
    await a.abandon();
    await sleep(LEASE_BEATS * 200 + 500);
    const b = claimed(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    const [oldA] = await store.attempts(run.id);
    assert.equal(oldA!.outcome, 'crashed');
    assert.match(oldA!.error!, new RegExp(`^attempt ${a.attemptId} on host-a:1 crashed: no heartbeat for \\d+ s \\(lease 3 × 0\\.2 s\\)$`));
    assert.ok(oldA!.endedAt);
    assert.equal(b.run.crashes, 1);
    assert.equal(b.run.error, oldA!.error);
    assert.equal(b.previous?.id, a.attemptId);
    assert.deepEqual(b.previous?.machine, machine);
    assert.deepEqual(b.previous?.firstBatch, { epoch: 1, batch: 0 });

    const lostTo = `lost the run googlenet on cifar10 to attempt ${b.attemptId} (host-b:2); attempt ${a.attemptId} stopped it and wrote nothing more`;
    await assert.rejects(a.recordEpoch(epoch(2)), (e: unknown) => e instanceof ClaimLostError && e.message === lostTo && e.attemptId === a.attemptId);
    assert.equal(a.lost, true);
    await assert.rejects(a.saveCheckpoint(checkpoint(2)), (e: unknown) => e instanceof ClaimLostError && e.message === lostTo);
    await assert.rejects(a.start({ epoch: 2, batch: 0 }, machine), ClaimLostError);
    assert.equal(await store.heartbeat(a.attemptId, progress), false);
    await assert.rejects(a.finish('complete'), ClaimLostError);
    const [afterA, nowB] = await store.attempts(run.id);
    assert.equal(afterA!.refusedWrites, 5);
    assert.equal(afterA!.outcome, 'crashed');
    assert.equal(nowB!.refusedWrites, 0);
    // A's refused checkpoint is gone; its first one is still current
    assert.equal(await h.checkpoints(), 1);
    assertSameCheckpoint(await b.loadCheckpoint(), checkpoint(1));
    assert.equal((await store.run('googlenet', 'cifar10'))?.progress, null);

    await b.start({ epoch: 2, batch: 0 }, machine);
    await b.recordEpoch(epoch(2));
    assert.deepEqual(await h.epochWriters(run.id), { 1: a.attemptId, 2: b.attemptId });
    assert.deepEqual(await store.epochs(run.id), [epoch(1), epoch(2)]);
    await b.finish('complete');
    const r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.attemptId, r.error, r.crashes], ['complete', null, null, 1]);
    assert.equal(r.seconds, epoch(1).seconds + epoch(2).seconds);
    await done();
  });

  test('start() deletes the epoch rows past the checkpoint; recordEpoch replaces a row of the same epoch', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    for (const n of [1, 2, 3]) await a.recordEpoch(epoch(n));
    await a.recordEpoch({ ...epoch(3), trainLoss: 9.5 });
    assert.equal((await store.epochs(run.id))[2]!.trainLoss, 9.5);
    await a.saveCheckpoint(checkpoint(2)); // as if epoch 3's checkpoint never became current
    await a.finish('crashed', 'killed by the OOM killer');
    let r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.error, r.attemptId, r.finishedAt], ['queued', 1, 'killed by the OOM killer', null, null]);
    const b = claimed(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    assert.equal((await b.loadCheckpoint())!.meta.epoch, 2);
    await b.start({ epoch: 3, batch: 100 }, machine);
    assert.deepEqual(await store.epochs(run.id), [epoch(1), epoch(2)]);
    const [, attB] = await store.attempts(run.id);
    assert.deepEqual(attB!.firstBatch, { epoch: 3, batch: 100 });
    assert.deepEqual(attB!.machine, machine);
    await b.finish('interrupted');
    r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes], ['interrupted', 1]);
    await done();
  });

  test('crashes are counted up to maxCrashes, then the run fails; retry() queues it again', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const opts = { maxCrashes: 2 };
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }, opts));
    await a.finish('crashed', 'boom');
    let r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.error, r.finishedAt], ['queued', 1, 'boom', null]);
    const b = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }, opts));
    await b.finish('crashed', 'boom again');
    r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.error, r.attemptId], ['failed', 2, 'boom again; 2 crashed attempts, the limit', null]);
    assert.ok(r.finishedAt);
    assert.deepEqual(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }), { refused: 'failed', reason: 'googlenet on cifar10 failed: boom again; 2 crashed attempts, the limit' });
    assert.deepEqual((await store.attempts(run.id)).map((x) => [x.outcome, x.error]), [['crashed', 'boom'], ['crashed', 'boom again']]);

    await store.retry(run.id);
    r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.error, r.finishedAt], ['queued', 0, null, null]);
    await assert.rejects(store.retry(run.id), { message: `${store.url}: googlenet on cifar10 is queued, not failed; only a failed run can be retried` });

    // stale leases count the same way: the second dead holder found makes the limit
    const c = claimed(await store.claim(run.id, { name: 'host-c:3', heartbeat: 0.2 }, opts));
    await c.abandon();
    await sleep(LEASE_BEATS * 200 + 500);
    const d = claimed(await store.claim(run.id, { name: 'host-d:4', heartbeat: 0.2 }, opts));
    assert.equal(d.run.crashes, 1);
    await d.abandon();
    await sleep(LEASE_BEATS * 200 + 500);
    const e = await store.claim(run.id, { name: 'host-e:5', heartbeat: 30 }, opts);
    assert.ok(isRefusal(e));
    assert.equal(e.refused, 'failed');
    assert.match(e.reason, new RegExp(`^googlenet on cifar10 failed: attempt ${d.attemptId} on host-d:4 crashed: no heartbeat for \\d+ s \\(lease 3 × 0\\.2 s\\); 2 crashed attempts, the limit: run \`googlenet retry --store ${reEscape(store.url)} --run ${run.id}\` to try again$`));
    r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.attemptId], ['failed', 2, null]);
    assert.equal(`googlenet on cifar10 failed: ${r.error}`, e.reason);
    await done();
  });

  test('finish outcomes end the run: complete, failed, interrupted (no crash counted)', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    await a.recordEpoch(epoch(1));
    await a.finish('interrupted');
    let r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.crashes, r.attemptId, r.error, r.finishedAt, r.seconds], ['interrupted', 0, null, null, null, null]);
    const startedAt = r.startedAt;
    assert.ok(startedAt);
    const b = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await b.recordEpoch(epoch(2));
    await b.finish('complete');
    r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.attemptId, r.startedAt, r.seconds], ['complete', null, startedAt, epoch(1).seconds + epoch(2).seconds]);
    assert.ok(r.finishedAt && Date.parse(r.finishedAt) >= Date.parse(startedAt));
    assert.deepEqual(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }), { refused: 'done', reason: 'googlenet on cifar10 is complete' });
    assert.deepEqual((await store.attempts(run.id)).map((x) => x.outcome), ['interrupted', 'complete']);

    const other = await store.ensureRun({ ...spec, dataset: 'cifar100', recipe: defaultRecipe('googlenet', 'cifar100') });
    const c = claimed(await store.claim(other.id, { name: 'host-a:1', heartbeat: 30 }));
    await c.recordEpoch(epoch(1));
    await c.finish('failed', 'loss diverged (NaN) at epoch 1');
    r = (await store.run('googlenet', 'cifar100'))!;
    assert.deepEqual([r.status, r.error, r.crashes, r.seconds], ['failed', 'loss diverged (NaN) at epoch 1', 0, epoch(1).seconds]);
    assert.deepEqual(await store.claim(other.id, { name: 'host-b:2', heartbeat: 30 }), { refused: 'failed', reason: 'googlenet on cifar100 failed: loss diverged (NaN) at epoch 1' });
    await done();
  });

  test('checkpoints round-trip bit for bit; a new one supersedes (deletes) the old; a claim removes strays', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    assert.equal(await a.loadCheckpoint(), null);
    await a.saveCheckpoint(checkpoint(1));
    assertSameCheckpoint(await a.loadCheckpoint(), checkpoint(1));
    await a.saveCheckpoint(checkpoint(2));
    await a.saveCheckpoint(checkpoint(3));
    assert.equal(await h.checkpoints(), 1);
    assertSameCheckpoint(await a.loadCheckpoint(), checkpoint(3));
    await a.finish('interrupted');

    // another worker, another connection
    const other = await h.reopen();
    await h.leaveStray(run.id, a.attemptId);
    assert.equal(await h.checkpoints(), 2);
    const b = claimed(await other.claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    assert.equal(await h.checkpoints(), 1);
    assertSameCheckpoint(await b.loadCheckpoint(), checkpoint(3));
    await b.finish('complete');
    // a complete run's checkpoint holds its final weights, read without a claim
    assertSameCheckpoint(await store.checkpoint(run.id), checkpoint(3));
    assert.equal(await store.checkpoint((await store.ensureRun({ ...spec, dataset: 'cifar100', recipe: defaultRecipe('googlenet', 'cifar100') })).id), null);
    await other.close();
    await done();
  });

  test("a claim removes only its own run's stray checkpoints: another seed's are left in place", async () => {
    await fresh();
    const one = await store.ensureRun(spec), two = await store.ensureRun({ ...spec, recipe: { ...recipe, seed: 2 } });
    const a = claimed(await store.claim(one.id, { name: 'host-a:1', heartbeat: 30 }));
    const b = claimed(await store.claim(two.id, { name: 'host-b:2', heartbeat: 30 }));
    await a.saveCheckpoint(checkpoint(1));
    await b.saveCheckpoint(checkpoint(2));
    await a.finish('interrupted');
    await b.finish('interrupted');
    await h.leaveStray(one.id, a.attemptId);
    await h.leaveStray(two.id, b.attemptId);
    assert.equal(await h.checkpoints(), 4);
    const c = claimed(await store.claim(one.id, { name: 'host-c:3', heartbeat: 30 }));
    assert.equal(await h.checkpoints(), 3, "the claimed run's stray is gone, the other run's stray and both current ones stay");
    assertSameCheckpoint(await store.checkpoint(two.id), checkpoint(2));
    assertSameCheckpoint(await c.loadCheckpoint(), checkpoint(1));
    await c.finish('interrupted');
    await claimed(await store.claim(two.id, { name: 'host-d:4', heartbeat: 30 })).finish('interrupted');
    assert.equal(await h.checkpoints(), 2);
    await done();
  });

  test("an attempt's machine keeps its convolution algorithm: winograd reads back winograd, and the next attempt sees it as the previous one's", async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, { ...machine, conv: 'winograd' });
    await a.finish('interrupted');
    const b = claimed(await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    assert.deepEqual(b.previous?.machine, { ...machine, conv: 'winograd' });
    await b.start({ epoch: 1, batch: 0 }, machine);
    assert.deepEqual((await store.attempts(run.id)).map((x) => x.machine?.conv), ['winograd', 'direct']);
    await b.finish('interrupted');
    await done();
  });

  test('heartbeats renew the lease and write the progress runs() shows', async () => {
    await fresh();
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 0.2 }));
    const [first] = await store.attempts(run.id);
    a.progress(progress);
    await sleep(800);
    const [r] = await store.runs();
    assert.deepEqual(r!.progress, progress);
    const [beat] = await store.attempts(run.id);
    assert.ok(Date.parse(beat!.heartbeatAt) > Date.parse(first!.heartbeatAt), `${beat!.heartbeatAt} > ${first!.heartbeatAt}`);
    // still held after several leases' worth of time
    assert.equal((await store.claim(run.id, { name: 'host-b:2', heartbeat: 30 }) as ClaimRefusal).refused, 'busy');
    await a.abandon();
    const later = { ...progress, batch: 400, etaSeconds: 5000 };
    assert.equal(await store.heartbeat(a.attemptId, later), true);
    assert.deepEqual((await store.run('googlenet', 'cifar10'))!.progress, later);
    assert.equal(a.lost, false);
    await a.finish('complete');
    assert.equal((await store.run('googlenet', 'cifar10'))!.progress, null);
    await done();
  });
}

/** Resolves once nothing listens on `port` (the server is down). */
async function refusing(port: number): Promise<void> {
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true))).on('error', () => resolve(false));
    });
    if (!up) return;
    await sleep(25);
  }
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// --- SQLite ---

describe('SqliteStore', () => {
  contract(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-store-'));
    const file = path.join(dir, 'experiment.sqlite');
    const store = SqliteStore.open(file);
    const stores: RunStore[] = [store];
    const files = () => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /checkpoint-a\d+-\d+\.safetensors$/.test(f));
    return {
      store,
      reopen: async () => {
        const s = SqliteStore.open(file);
        stores.push(s);
        return s;
      },
      checkpoints: async () => files().length,
      leaveStray: async (runId, attemptId) => {
        fs.mkdirSync(path.join(dir, `run-${runId}`), { recursive: true });
        fs.writeFileSync(path.join(dir, `run-${runId}`, `checkpoint-a${attemptId}-99.safetensors`), 'half a checkpoint');
      },
      epochWriters: async (runId) => {
        const db = new Database(file, { readonly: true });
        try {
          const rows = db.prepare(`SELECT epoch, attempt_id FROM epochs WHERE run_id = ? ORDER BY epoch`).all(runId) as { epoch: number; attempt_id: number | null }[];
          return Object.fromEntries(rows.map((r) => [r.epoch, r.attempt_id]));
        } finally {
          db.close();
        }
      },
      close: async () => {
        for (const s of stores) await s.close().catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

test('SQLite: a schema-4 file upgrades to 5 in place: attempts gain conv, those from before read direct, new ones record theirs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-store-v4-'));
  const file = path.join(dir, 'experiment.sqlite');
  try {
    let store = SqliteStore.open(file);
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    await a.finish('interrupted');
    await store.close();
    // schema 4 is today's schema less attempts.conv
    const db = new Database(file);
    db.exec(`ALTER TABLE attempts DROP COLUMN conv; UPDATE meta SET value = '4' WHERE key = 'schema_version'`);
    const before = db.prepare(`SELECT * FROM attempts`).all();
    db.close();
    store = SqliteStore.open(file);
    try {
      const look = new Database(file, { readonly: true });
      try {
        assert.deepEqual(look.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).all(), [{ value: String(SQLITE_SCHEMA) }]);
        assert.deepEqual(look.prepare(`SELECT * FROM attempts`).all(), (before as object[]).map((r) => ({ ...r, conv: null })), 'every attempt kept');
      } finally {
        look.close();
      }
      await checkConvAfterUpgrade(store, run.id);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the folder store: an attempt's convolution algorithm reads back; a run.json from before it was recorded reads direct", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-store-folder-'));
  try {
    const store = new FolderStore(dir);
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, { ...machine, conv: 'winograd' });
    await a.finish('interrupted');
    assert.deepEqual((await new FolderStore(dir).attempts(run.id)).map((x) => x.machine?.conv), ['winograd']);
    const b = claimed(await new FolderStore(dir).claim(run.id, { name: 'host-b:2', heartbeat: 30 }));
    assert.equal(b.previous?.machine?.conv, 'winograd');
    await b.finish('interrupted');
    // as an older build wrote it: the machine without conv
    const file = path.join(dir, 'run.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { attempts: { machine: Record<string, unknown> | null }[] };
    delete json.attempts[0]!.machine!.conv;
    fs.writeFileSync(file, JSON.stringify(json));
    assert.deepEqual((await new FolderStore(dir).attempts(run.id)).map((x) => x.machine), [machine, null]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- PostgreSQL ---

describe('PostgresStore', requirePostgres(), () => {
  let cluster: PgCluster;
  let dbs = 0;
  const env = { PGPASSWORD: process.env.PGPASSWORD, PGPASSFILE: process.env.PGPASSFILE };
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-pgpass-'));
    // the runner's own ~/.pgpass or PGPASSWORD must not change what these tests see
    delete process.env.PGPASSWORD;
    process.env.PGPASSFILE = path.join(tmp, 'absent');
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
    for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const freshDb = async () => {
    const name = `t${++dbs}`;
    return { name, url: await cluster.createDatabase(name) };
  };

  contract(async () => {
    const name = `t${++dbs}`;
    const { store, reopen, close } = await freshPostgresStore(cluster, name);
    const q = (sql: string) => cluster.superQuery(sql, name);
    return {
      store,
      reopen,
      checkpoints: async () => {
        const { rows: [c] } = await q(`SELECT (SELECT count(*) FROM checkpoints) AS n, (SELECT count(DISTINCT checkpoint_id) FROM checkpoint_chunks) AS chunked`);
        assert.equal(c.n, c.chunked, 'every checkpoint has chunks, and no chunk outlives its checkpoint');
        return Number(c.n);
      },
      leaveStray: async (runId, attemptId) => {
        const { rows: [c] } = await q(`INSERT INTO checkpoints(run_id, attempt_id, bytes, created_at) VALUES (${runId}, ${attemptId}, 1000, now()) RETURNING id`);
        await q(`INSERT INTO checkpoint_chunks(checkpoint_id, seq, data) VALUES (${c.id}, 0, '\\x0102')`);
      },
      epochWriters: async (runId) => {
        const { rows } = await q(`SELECT epoch, attempt_id FROM epochs WHERE run_id = ${runId} ORDER BY epoch`);
        return Object.fromEntries(rows.map((r) => [r.epoch, r.attempt_id === null ? null : Number(r.attempt_id)]));
      },
      close,
    };
  });

  /** The one-line error open() gives for `url`, and how long it took. */
  async function openError(url: string): Promise<{ message: string; seconds: number }> {
    const t0 = performance.now();
    try {
      const s = await PostgresStore.open(url);
      await s.close();
    } catch (e) {
      return { message: (e as Error).message, seconds: (performance.now() - t0) / 1000 };
    }
    assert.fail(`opening ${url} succeeded`);
  }

  function assertOneLine(e: { message: string; seconds: number }, want: string | RegExp, secret: string) {
    if (typeof want === 'string') assert.equal(e.message, want);
    else assert.match(e.message, want);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(!e.message.includes(secret), `no password in: ${e.message}`);
    assert.ok(e.seconds < 15, `${e.seconds} s`);
  }

  test('connection errors are one line naming host, port and database, never the password', async () => {
    const { host, port, user } = cluster;
    const wrong = await openError(`postgres://${user}:not-the-password@${host}:${port}/runs`);
    assertOneLine(wrong, `postgres://gn:***@${host}:${port}/runs: password authentication failed for user "gn"; check the password (PGPASSWORD or ~/.pgpass)`, 'not-the-password');

    const none = await openError(cluster.urlWithoutPassword);
    assertOneLine(none, `postgres://gn@${host}:${port}/runs: the server asks for a password for user "gn" and none was given; put it in PGPASSWORD or ~/.pgpass (or PGPASSFILE)`, cluster.password);

    const closed = await freePort();
    const refused = await openError(`postgres://${user}:${cluster.password}@${host}:${closed}/runs`);
    assertOneLine(refused, `postgres://gn:***@${host}:${closed}/runs: connection refused by ${host}:${closed}; is PostgreSQL running there and listening on TCP (listen_addresses, port)?`, cluster.password);

    const bad = await openError(`postgres://${user}:s3cr/et@${host}:99999/runs`);
    assertOneLine(bad, /^postgres:\/\/gn:\*\*\*@127\.0\.0\.1:99999\/runs: not a valid PostgreSQL URL \(.+\); use postgres:\/\/user@host:port\/database$/, 's3cr');

    const unknown = await openError(`postgres://${user}:${cluster.password}@${host}:${port}/nope`);
    assertOneLine(unknown, `postgres://gn:***@${host}:${port}/nope: database "nope" does not exist on ${host}:${port}; create it (createdb -h ${host} -p ${port} -U gn nope) or fix the URL`, cluster.password);

    // a server that accepts the connection and never answers
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sp = (silent.address() as net.AddressInfo).port;
    try {
      const hung = await openError(`postgres://${user}:${cluster.password}@${host}:${sp}/runs?connect_timeout=1`);
      assertOneLine(hung, `postgres://gn:***@${host}:${sp}/runs?connect_timeout=1: no answer from ${host}:${sp} within 1 s (connect_timeout); check the host, the port and any firewall`, cluster.password);
      assert.ok(hung.seconds < 3, `${hung.seconds} s`);
    } finally {
      silent.close();
    }
  });

  test('the store shows its URL redacted and keeps the password out of the object', async () => {
    const store = await PostgresStore.open(cluster.url);
    try {
      assert.equal(store.url, `postgres://gn:***@${cluster.host}:${cluster.port}/runs`);
      await store.runs(); // a connection made, so a client holds whatever it keeps
      assert.ok(!inspect(store, { depth: 8, showHidden: false }).includes(cluster.password));
      assert.ok(!JSON.stringify(Object.entries(store).filter(([k]) => k !== 'pool')).includes(cluster.password));
    } finally {
      await store.close();
    }
  });

  test('the password may come from PGPASSWORD or a password file (0600; one others may read is ignored)', async () => {
    const { host, port, user, password } = cluster;
    const file = path.join(tmp, 'pgpass');
    fs.writeFileSync(file, [
      '# comment',
      `${host}:${port}:other:${user}:wrong`,
      `${host}:${port}:*:${user}:${password.replace(/[:\\]/g, '\\$&')}`,
      '*:*:*:*:fallback',
    ].join('\n') + '\n', { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    const target = { host, port, database: 'runs', user };
    assert.equal(pgpassPassword(target, file), password);
    assert.equal(pgpassPassword({ ...target, database: 'other' }, file), 'wrong');
    assert.equal(pgpassPassword({ ...target, port: 1 }, file), 'fallback');
    assert.equal(pgpassPassword({ ...target, host: '/var/run/postgresql', port: 5432 }, file), 'fallback');
    const escaped = path.join(tmp, 'pgpass-escaped');
    fs.writeFileSync(escaped, 'db\\:1:5432:runs:gn:pa\\:ss\\\\wo:rd\nlocalhost:5432:\\*:gn:literal-star\n', { mode: 0o600 });
    assert.equal(pgpassPassword({ host: 'db:1', port: 5432, database: 'runs', user: 'gn' }, escaped), 'pa:ss\\wo');
    assert.equal(pgpassPassword({ host: '', port: 5432, database: '*', user: 'gn' }, escaped), 'literal-star');
    assert.equal(pgpassPassword({ host: 'localhost', port: 5432, database: 'runs', user: 'gn' }, escaped), undefined);

    process.env.PGPASSFILE = file;
    try {
      const store = await PostgresStore.open(cluster.urlWithoutPassword);
      assert.equal(store.url, cluster.urlWithoutPassword);
      assert.deepEqual(await store.runs(), []);
      await store.close();
      fs.chmodSync(file, 0o644);
      const ignored = await openError(cluster.urlWithoutPassword);
      assert.match(ignored.message, /and none was given/);
    } finally {
      process.env.PGPASSFILE = path.join(tmp, 'absent');
    }
    process.env.PGPASSWORD = password;
    try {
      const store = await PostgresStore.open(cluster.urlWithoutPassword);
      assert.deepEqual(await store.runs(), []);
      await store.close();
    } finally {
      delete process.env.PGPASSWORD;
    }
  });

  test('workers opening a new database at once migrate it once; a schema newer than this build is refused', async () => {
    const { name, url } = await freshDb();
    const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(url)));
    await Promise.all(stores.map((s) => s.close()));
    const { rows } = await cluster.superQuery(`SELECT value FROM meta WHERE key = 'schema_version'`, name);
    assert.deepEqual(rows, [{ value: String(PG_SCHEMA) }]);
    await cluster.superQuery(`UPDATE meta SET value = '${PG_SCHEMA + 1}' WHERE key = 'schema_version'`, name);
    const newer = await openError(url);
    assertOneLine(newer, `postgres://gn:***@${cluster.host}:${cluster.port}/${name}: schema version ${PG_SCHEMA + 1} is newer than this build's ${PG_SCHEMA}; use the googlenet that wrote it, or upgrade this one`, cluster.password);
  });

  test('a schema-4 database upgrades to 5 in place: attempts gain conv, those from before read direct, new ones record theirs', async () => {
    const { name, url } = await freshDb();
    const q = async (text: string) => (await cluster.superQuery(text, name)).rows;
    let store = await PostgresStore.open(url);
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    await a.finish('interrupted');
    await store.close();
    // schema 4 is today's schema less attempts.conv
    await q(`ALTER TABLE attempts DROP COLUMN conv; UPDATE meta SET value = '4' WHERE key = 'schema_version'`);
    const before = await q(`SELECT * FROM attempts`);
    store = await PostgresStore.open(url);
    try {
      assert.deepEqual(await q(`SELECT value FROM meta WHERE key = 'schema_version'`), [{ value: String(PG_SCHEMA) }]);
      assert.deepEqual(await q(`SELECT * FROM attempts`), before.map((r) => ({ ...r, conv: null })), 'every attempt kept');
      await checkConvAfterUpgrade(store, run.id);
    } finally {
      await store.close();
    }
  });

  test('a server restart mid-run: the same claim keeps writing afterwards, no new attempt', async () => {
    const { name, url } = await freshDb();
    const store = await PostgresStore.open(url);
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 0.5 }));
    await a.start({ epoch: 1, batch: 0 }, machine);
    await a.recordEpoch(epoch(1));
    await a.saveCheckpoint(checkpoint(1));
    a.progress(progress);
    const restarting = cluster.restart(3);
    const slow: number[] = [];
    const t0 = performance.now();
    try {
      await refusing(cluster.port); // the server is down
      for (const n of [2, 3, 4]) {
        const t = performance.now();
        await a.recordEpoch(epoch(n));
        slow.push((performance.now() - t) / 1000);
      }
      await a.saveCheckpoint(checkpoint(4));
    } finally {
      await restarting;
    }
    const back = Date.now();
    process.stdout.write(`# writes during the restart took ${slow.map((s) => s.toFixed(2)).join(", ")} s\n`);
    assert.ok(slow[0]! > 2, `the first write waited for the server (${slow.map((s) => s.toFixed(2)).join(', ')} s)`);
    assert.ok((performance.now() - t0) / 1000 < 30);
    await sleep(1500); // the heartbeat thread reconnects by itself
    const attempts = await store.attempts(run.id);
    assert.equal(attempts.length, 1);
    assert.deepEqual([attempts[0]!.id, attempts[0]!.outcome, attempts[0]!.refusedWrites], [a.attemptId, 'running', 0]);
    assert.ok(Date.parse(attempts[0]!.heartbeatAt) > back - 1000, `heartbeat ${attempts[0]!.heartbeatAt} after the restart`);
    assert.equal(a.lost, false);
    assert.deepEqual(await store.epochs(run.id), [1, 2, 3, 4].map(epoch));
    let r = (await store.run('googlenet', 'cifar10'))!;
    assert.deepEqual([r.status, r.attemptId, r.crashes], ['running', a.attemptId, 0]);
    assert.deepEqual(r.progress, progress);
    assertSameCheckpoint(await a.loadCheckpoint(), checkpoint(4));
    const count = async () => Number((await cluster.superQuery(`SELECT count(*) AS n FROM checkpoints`, name)).rows[0].n);
    assert.equal(await count(), 1);

    // a checkpoint save cut off halfway: retried under a new row, the half-written one removed
    const big = checkpoint(5, 12_500_003);
    const saving = a.saveCheckpoint(big);
    let half: number;
    for (;;) {
      const { rows: [w] } = await cluster.superQuery(`SELECT max(checkpoint_id) AS id FROM checkpoint_chunks WHERE checkpoint_id > (SELECT checkpoint_id FROM runs)`, name);
      if (w.id !== null) {
        half = Number(w.id);
        break;
      }
      await sleep(10);
    }
    await cluster.restart(1);
    await saving;
    r = (await store.run('googlenet', 'cifar10'))!;
    const { rows: [cur] } = await cluster.superQuery(`SELECT checkpoint_id FROM runs`, name);
    assert.ok(Number(cur.checkpoint_id) > half, `the save was retried under a new row (${cur.checkpoint_id} > ${half})`);
    assert.equal(await count(), 1);
    assertSameCheckpoint(await a.loadCheckpoint(), big);
    assert.equal((await store.attempts(run.id)).length, 1);
    await a.finish('complete');
    assert.equal((await store.run('googlenet', 'cifar10'))!.status, 'complete');
    await store.close();
  });

  test('a checkpoint of ~100 MB round-trips', async () => {
    const { name, url } = await freshDb();
    const store = await PostgresStore.open(url);
    const run = await store.ensureRun(spec);
    const a = claimed(await store.claim(run.id, { name: 'host-a:1', heartbeat: 30 }));
    const big = checkpoint(1, 12_500_003); // 50 MB of model, as much optimizer state: chunks straddle tensors
    let t = performance.now();
    await a.saveCheckpoint(big);
    const saved = (performance.now() - t) / 1000;
    t = performance.now();
    const got = await a.loadCheckpoint();
    const loaded = (performance.now() - t) / 1000;
    assertSameCheckpoint(got, big);
    const { rows: [c] } = await cluster.superQuery(`SELECT count(*) AS n, sum(octet_length(data)) AS bytes FROM checkpoint_chunks`, name);
    assert.equal(Number(c.n), Math.ceil(Number(c.bytes) / (8 << 20)));
    assert.ok(Number(c.bytes) > 100_000_000);
    process.stdout.write(`# ${(Number(c.bytes) / 1e6).toFixed(0)} MB checkpoint: saved in ${saved.toFixed(1)} s, loaded in ${loaded.toFixed(1)} s\n`);
    await a.finish('interrupted');
    await store.close();
  });
});
