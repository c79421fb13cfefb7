// Train a set of recorded runs to their planned epochs, as `explore` needs after each generation
// and rung: with a PostgreSQL store, through its queue (the runs are enqueued; this process works
// as one more worker unless told not to, and otherwise watches the store until workers are done);
// with SQLite, here, one run after another (claimed, trained, recorded, as `experiment` does). A
// run another process holds is left to it and waited for. Returns when every run is complete or
// failed, or when a signal stopped training here (the attempt was handed back).
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SplitCache } from '../data/load.js';
import type { RunQueue } from '../queue/queue.js';
import { runLabel } from '../store/label.js';
import { isRefusal, type RunRow, type RunStore, type WorkerIdentity } from '../store/store.js';
import { runAttempt, type AttemptEnd } from '../train/attempt.js';
import type { RunOptions } from '../train/config.js';
import type { StopRequest, StopSignal } from '../train/stop.js';
import { runWorker } from '../experiment/worker.js';
import { runFolder } from '../experiment/experiment.js';
import { display } from '../util/display.js';

export interface TrainRunsOptions {
  store: RunStore;
  queue?: RunQueue;
  worker: WorkerIdentity;
  /** How this machine trains (data folder, threads…); each run's recipe comes from the store. `out` is the folder runs' own folders go under. */
  run: RunOptions;
  /** With a queue: false leaves the training to `googlenet worker`s and only waits. Without one, runs always train here. */
  trainHere: boolean;
  stop?: StopRequest;
  mirror?: string | null;
  info?: (line: string) => void;
  log?: (line: string) => void;
}

/**
 * done: every run is complete or failed. stopped: a signal asked to stop; `interrupted` is the
 * attempt it stopped (its checkpoint kept, the run handed back), or null when it came between runs
 * or while waiting for other workers.
 */
export type TrainRunsEnd = { done: true } | { done: false; signal: StopSignal; interrupted: Extract<AttemptEnd, { outcome: 'interrupted' }> | null };

/** Seconds between looks at runs other processes train. */
const POLL_SECONDS = 2;
const settled = (r: RunRow) => r.status === 'complete' || r.status === 'failed';

export async function trainRuns(o: TrainRunsOptions, runIds: readonly number[]): Promise<TrainRunsEnd> {
  const info = o.info ?? ((l: string) => display.info(l));
  const ids = new Set(runIds);
  const mine = async () => (await o.store.runs()).filter((r) => ids.has(r.id));
  if (o.queue) {
    for (const r of await mine()) if (!settled(r)) await o.queue.enqueue(r);
    if (o.trainHere) {
      const { interrupted } = await runWorker({ store: o.store, queue: o.queue, worker: o.worker, run: o.run, untilEmpty: true, only: ids, stop: o.stop, mirror: o.mirror, info, log: o.log });
      if (interrupted) return { done: false, signal: interrupted.signal, interrupted };
    }
    return waitFor(o, mine, info);
  }
  const data = new SplitCache(o.run.dataDir, o.mirror);
  let waitingFor = '';
  for (;;) {
    const all = await o.store.runs();
    const open = all.filter((r) => ids.has(r.id) && !settled(r));
    if (!open.length) return { done: true };
    let trained = false;
    const busy: string[] = [];
    for (const r of open) {
      if (o.stop?.requested) return { done: false, signal: o.stop.requested, interrupted: null };
      const claim = await o.store.claim(r.id, o.worker);
      if (isRefusal(claim)) {
        if (claim.refused === 'busy') busy.push(claim.reason);
        continue;
      }
      trained = true;
      const name = runLabel(claim.run, all);
      info(`${name} (attempt id ${claim.attemptId}, on ${o.worker.name})`);
      const { recipe } = claim.run;
      const end = await runAttempt(claim, { recipe, run: { ...o.run, out: path.join(o.run.out, runFolder(recipe)) } }, { data: await data.get(recipe), stop: o.stop }, { log: o.log, info });
      if (end.outcome === 'interrupted') return { done: false, signal: end.signal, interrupted: end };
      if (end.outcome === 'failed') info(`${name} failed: ${end.error}`);
      else if (end.outcome === 'crashed') info(`${name} crashed: ${end.error}; it is tried again`);
    }
    if (!trained) {
      const now = busy.join('; ');
      if (now !== waitingFor) info(`waiting for runs other processes hold: ${now}`);
      waitingFor = now;
      if (o.stop?.requested) return { done: false, signal: o.stop.requested, interrupted: null };
      await sleep(POLL_SECONDS * 1000);
    }
  }
}

/** Until every run is complete or failed (trained by others), saying what it waits for when that changes; a stop request ends the wait. */
async function waitFor(o: TrainRunsOptions, mine: () => Promise<RunRow[]>, info: (l: string) => void): Promise<TrainRunsEnd> {
  let said = '';
  for (;;) {
    const rows = await mine();
    const open = rows.filter((r) => !settled(r));
    if (!open.length) return { done: true };
    if (o.stop?.requested) return { done: false, signal: o.stop.requested, interrupted: null };
    const now = `waiting for workers: ${open.map((r) => `${r.model} ${r.status}`).join(', ')}`;
    if (now !== said) info(now);
    said = now;
    await sleep(POLL_SECONDS * 1000);
  }
}
