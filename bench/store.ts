// The run store's cost (part 3 of `npm run bench`; also `node dist/bench/store.js [--json] [--skip-naive]`):
//   1. what the store adds to a training step of googlenet-short4 at batch 64, on SQLite and on PostgreSQL:
//      per batch, the claim check, the progress hand-off to the heartbeat thread and the event-loop yield the
//      loop does; per heartbeat (every 30 s, on its own thread) one fenced write; per mid-epoch checkpoint (every
//      10 minutes by default) one checkpoint written and made current. Shares of the step time; target ≤ 1%.
//   2. checkpoint write and read MB/s into PostgreSQL for googlenet and googlenet-naive (with Adadelta's state).
// PostgreSQL is a throwaway cluster (test/pg-cluster.ts), skipped with a message when it is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Adadelta } from '../src/optim/optimizer.js';
import { createModel } from '../src/models/googlenet.js';
import { openStore } from '../src/store/open.js';
import { isRefusal, type RunClaim, type RunStore } from '../src/store/store.js';
import { CHECKPOINT_VERSION, type Checkpoint } from '../src/train/checkpoint.js';
import { defaultConfig, makeScheduler } from '../src/train/config.js';
import { runSpec } from '../src/train/spec.js';
import { trainStep } from '../src/train/step.js';
import { median } from '../src/bench/bench.js';
import { defaultGenerator, manualSeed } from '../src/util/generator.js';
import { thisMachine } from '../src/util/machine.js';
import { DEFAULT_HEARTBEAT } from '../src/store/store.js';
import { PG_BIN, startCluster } from '../test/pg-cluster.js';

const json = process.argv.includes('--json');
const skipNaive = process.argv.includes('--skip-naive');
const BATCH = 64;
const CHECKPOINT_EVERY_S = defaultConfig().run.checkpointEvery * 60;

/** A real checkpoint of `model`: weights and Adadelta state after `steps` training steps on random data; also the step time. */
function checkpointAfterSteps(model: string, steps: number): { checkpoint: Checkpoint; stepMs: number } {
  manualSeed(1);
  const net = createModel(model, 100);
  const opt = new Adadelta(net.parameters(), { lr: 1 });
  const batch = {
    epoch: 0, index: 0, size: BATCH, shape: [BATCH, 3, 32, 32],
    input: Float32Array.from({ length: BATCH * 3 * 32 * 32 }, (_, i) => Math.sin(i)), targets: Int32Array.from({ length: BATCH }, (_, i) => i % 100),
  };
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainStep(net, opt, batch);
    times.push(performance.now() - t0);
  }
  const { recipe, run } = defaultConfig(model, 'cifar100');
  const scheduler = makeScheduler(recipe, opt);
  const checkpoint: Checkpoint = {
    model: net.stateDict(), optimizer: opt.stateDict(),
    meta: { version: CHECKPOINT_VERSION, epoch: 0, position: { epoch: 1, batches: steps, lossSum: 1, seen: BATCH * steps, seconds: 1 }, recipe, run, threads: 1, params: 0, history: [], rng: defaultGenerator().getState(), scheduler: scheduler.stateDict() },
  };
  opt.dispose();
  net.dispose();
  return { checkpoint, stepMs: median(times.slice(Math.min(2, steps - 1))) };
}

const bytesOf = (c: Checkpoint) => [...c.model.values(), ...c.optimizer.tensors.values()].reduce((s, t) => s + t.data.byteLength, 0);

async function claimIn(store: RunStore, model: string): Promise<RunClaim> {
  const run = await store.ensureRun(runSpec(defaultConfig(model, 'cifar100').recipe));
  const claim = await store.claim(run.id, { name: `bench:${process.pid}`, heartbeat: DEFAULT_HEARTBEAT });
  if (isRefusal(claim)) throw new Error(claim.reason);
  await claim.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
  return claim;
}

/** Part 1 on one store. */
async function stepCost(store: RunStore, short4: { checkpoint: Checkpoint; stepMs: number }) {
  const claim = await claimIn(store, 'googlenet-short4');
  // per batch: what trainer.ts does after each step
  const n = 2000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (claim.lost) throw new Error('lost');
    claim.progress({ epoch: 1, batch: i, batches: 782, imagesPerSecond: 40, etaSeconds: 1000 });
    await new Promise((r) => setImmediate(r));
  }
  const perBatchMs = (performance.now() - t0) / n;
  const beats: number[] = [], saves: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await store.heartbeat(claim.attemptId, { epoch: 1, batch: i, batches: 782, imagesPerSecond: 40, etaSeconds: 1000 });
    beats.push(performance.now() - t);
  }
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await claim.saveCheckpoint(short4.checkpoint);
    saves.push(performance.now() - t);
  }
  await claim.finish('interrupted');
  const beatMs = median(beats), saveMs = median(saves);
  const share = {
    per_batch: perBatchMs / short4.stepMs,
    heartbeat: beatMs / (DEFAULT_HEARTBEAT * 1000),
    checkpoint: saveMs / (CHECKPOINT_EVERY_S * 1000),
  };
  return { per_batch_ms: perBatchMs, heartbeat_ms: beatMs, checkpoint_ms: saveMs, checkpoint_mb: bytesOf(short4.checkpoint) / 2 ** 20, share, total_share: share.per_batch + share.heartbeat + share.checkpoint };
}

/** Part 2: MB/s of one checkpoint into PostgreSQL and back. */
async function throughput(store: RunStore, model: string) {
  const { checkpoint } = checkpointAfterSteps(model, 1);
  const mb = bytesOf(checkpoint) / 2 ** 20;
  const claim = await claimIn(store, model);
  let t = performance.now();
  await claim.saveCheckpoint(checkpoint);
  const write = (performance.now() - t) / 1000;
  t = performance.now();
  const back = await claim.loadCheckpoint();
  const read = (performance.now() - t) / 1000;
  if (!back || back.model.size !== checkpoint.model.size) throw new Error('checkpoint did not come back');
  await claim.finish('interrupted');
  return { model, mb, write_mb_per_s: mb / write, read_mb_per_s: mb / read, write_s: write, read_s: read };
}

const report: Record<string, unknown> = { step_model: 'googlenet-short4', batch_size: BATCH, checkpoint_every_s: CHECKPOINT_EVERY_S, heartbeat_s: DEFAULT_HEARTBEAT };
const short4 = checkpointAfterSteps('googlenet-short4', 6);
console.log(`\n== the run store's cost on a training step of googlenet-short4, batch ${BATCH}: ${short4.stepMs.toFixed(0)} ms/step ==`);
const show = (name: string, r: Awaited<ReturnType<typeof stepCost>>) =>
  console.log(`${name}: per batch ${(r.per_batch_ms * 1000).toFixed(0)} µs (${(100 * r.share.per_batch).toFixed(3)}%), heartbeat ${r.heartbeat_ms.toFixed(1)} ms every ${DEFAULT_HEARTBEAT} s (${(100 * r.share.heartbeat).toFixed(4)}%), ` +
    `checkpoint ${r.checkpoint_mb.toFixed(0)} MB in ${r.checkpoint_ms.toFixed(0)} ms every ${CHECKPOINT_EVERY_S / 60} min (${(100 * r.share.checkpoint).toFixed(3)}%): ` +
    `${(100 * r.total_share).toFixed(3)}% of the step (target ≤ 1%)`);
report.step_ms = short4.stepMs;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-bench-store-'));
const sqlite = await openStore(`sqlite:${path.join(dir, 'bench.sqlite')}`);
const s = await stepCost(sqlite, short4);
await sqlite.close();
show('SQLite    ', s);
report.sqlite = s;

if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) console.log(`PostgreSQL: ${PG_BIN}/initdb not found (install postgresql); skipped`);
else {
  const cluster = await startCluster();
  try {
    const pg = await openStore(cluster.url);
    const p = await stepCost(pg, short4);
    show('PostgreSQL', p);
    report.postgres = p;
    console.log(`\n== checkpoints into PostgreSQL 15 (throwaway cluster on this machine, 8 MiB bytea chunks; weights + Adadelta state) ==`);
    const rows = [];
    for (const model of skipNaive ? ['googlenet'] : ['googlenet', 'googlenet-naive']) {
      const r = await throughput(pg, model);
      console.log(`${model}: ${r.mb.toFixed(0)} MB, write ${r.write_mb_per_s.toFixed(0)} MB/s (${r.write_s.toFixed(1)} s), read ${r.read_mb_per_s.toFixed(0)} MB/s (${r.read_s.toFixed(1)} s)`);
      rows.push(r);
    }
    report.postgres_checkpoints = rows;
    await pg.close();
  } finally {
    await cluster.stop();
  }
}
fs.rmSync(dir, { recursive: true, force: true });
if (json) console.log(JSON.stringify(report));
