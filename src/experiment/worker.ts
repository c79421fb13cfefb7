// A worker: takes a run from the queue, claims it in the store, trains it (downloading and
// verifying its dataset locally when missing), records it, takes the next. A run whose holder
// went silent is sent to the queue again by whichever worker is idle, and taken over like any
// other (resuming at the batch after its last checkpoint). A SIGINT/SIGTERM checkpoints, hands
// the run back (queued again at once) and stops the worker.
import { setTimeout as sleep } from 'node:timers/promises';
import { SplitCache, type Splits } from '../data/load.js';
import type { RunQueue } from '../queue/queue.js';
import { runLabel } from '../store/label.js';
import { holderLost, isRefusal, type RunRow, type RunStore, type WorkerIdentity } from '../store/store.js';
import { runAttempt, type AttemptEnd } from '../train/attempt.js';
import type { RunOptions } from '../train/config.js';
import type { StopRequest } from '../train/stop.js';
import { display } from '../util/display.js';

export interface WorkerOptions {
  store: RunStore;
  queue: RunQueue;
  worker: WorkerIdentity;
  /** How this machine runs what it takes (data folder, threads, checkpoint interval…); the recipe comes from the store. */
  run: RunOptions;
  /** Exit once every run in the store is complete or failed, instead of waiting for more. */
  untilEmpty: boolean;
  /** With untilEmpty: exit once these runs (not every run in the store) are complete or failed; `explore` trains a rung so. */
  only?: ReadonlySet<number>;
  stop?: StopRequest;
  mirror?: string | null;
  info?: (line: string) => void;
  log?: (line: string) => void;
}

export interface WorkerResult {
  trained: { run: string; outcome: AttemptEnd['outcome'] }[];
  interrupted?: Extract<AttemptEnd, { outcome: 'interrupted' }>;
}

/** Seconds between looks at the queue while there is nothing to do. */
const IDLE_POLL = 1;

/** Whether a run needs a job: waiting for a worker, or held by one whose lease ran out (judged by this clock; the claim decides by the store's). */
async function needsWorker(store: RunStore, r: RunRow): Promise<boolean> {
  if (r.status === 'queued' || r.status === 'interrupted') return true;
  if (r.status !== 'running' || r.attemptId === null) return false;
  const a = (await store.attempts(r.id)).find((x) => x.id === r.attemptId);
  return !a || holderLost(a, (Date.now() - Date.parse(a.heartbeatAt)) / 1000) !== null;
}

export async function runWorker(o: WorkerOptions): Promise<WorkerResult> {
  const info = o.info ?? ((l: string) => display.info(l));
  const trained: WorkerResult['trained'] = [];
  const data = new SplitCache(o.run.dataDir, o.mirror);
  let idle = '';
  for (;;) {
    if (o.stop?.requested) return { trained };
    const job = await o.queue.take();
    if (!job) {
      const all = await o.store.runs();
      const open = all.filter((r) => r.status !== 'complete' && r.status !== 'failed');
      if (o.untilEmpty && !open.some((r) => !o.only || o.only.has(r.id))) {
        info(o.only ? `${o.worker.name}: the ${o.only.size} runs asked for are complete or failed` : `${o.worker.name}: every run in ${o.store.url} is complete or failed; exiting`);
        return { trained };
      }
      for (const r of open) if (await needsWorker(o.store, r)) await o.queue.enqueue(r);
      const now = open.length ? `waiting: ${open.map((r) => `${runLabel(r, all)} ${r.status}`).join(', ')}` : 'waiting for runs to be enqueued';
      if (now !== idle) info(`${o.worker.name}: ${now}`);
      idle = now;
      await sleep(IDLE_POLL * 1000);
      continue;
    }
    idle = '';
    const claim = await o.store.claim(job.runId, o.worker);
    if (isRefusal(claim)) {
      if (claim.refused === 'busy') info(`${o.worker.name}: ${claim.reason}; left to it`);
      continue;
    }
    const { recipe } = claim.run;
    // named among the store's runs, as `status` names it: ` seed 2` where its network and dataset have several seeds
    const name = runLabel(claim.run, await o.store.runs());
    info(`${o.worker.name}: ${name} (attempt id ${claim.attemptId})`);
    let splits: Splits;
    try {
      splits = await data.get(recipe);
    } catch (e) {
      // this machine cannot read or fetch the data: the run goes back to the queue for another one
      await claim.finish('crashed', `${o.worker.name}: ${(e as Error).message}`);
      await o.queue.enqueue(claim.run);
      throw e;
    }
    const end = await runAttempt(claim, { recipe, run: o.run }, { data: splits, stop: o.stop }, { log: o.log, info });
    trained.push({ run: name, outcome: end.outcome });
    if (end.outcome === 'interrupted') {
      await o.queue.enqueue(claim.run); // handed back: another worker resumes it now, not after a lease
      return { trained, interrupted: end };
    }
    if (end.outcome === 'crashed') {
      info(`${o.worker.name}: ${name} crashed: ${end.error}; queued again`);
      await o.queue.enqueue(claim.run);
    } else if (end.outcome === 'failed') info(`${o.worker.name}: ${name} failed: ${end.error}`);
    else if (end.outcome === 'complete') info(`${o.worker.name}: ${name} complete`);
  }
}
