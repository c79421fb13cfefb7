// The heartbeat thread's body (see liveness.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './open.js';
import type { Progress, RunStore } from './store.js';

const { url, attemptId, seconds, flag } = workerData as { url: string; attemptId: number; seconds: number; flag: Int32Array };
let progress: Progress | null = null;
let stopped = false;
let store: RunStore | null = null;
let timer: NodeJS.Timeout | null = null;
let beating: Promise<void> = Promise.resolve();

async function beat(): Promise<void> {
  try {
    store ??= await openStore(url);
    if (stopped) return;
    if (!(await store.heartbeat(attemptId, progress))) {
      Atomics.store(flag, 0, 1);
      await finish();
    }
  } catch {
    // the store is unreachable: this beat is missed; the next one retries (a lease outlives a few)
  }
}

async function finish(): Promise<void> {
  stopped = true;
  if (timer) clearInterval(timer);
  const s = store;
  store = null;
  await s?.close().catch(() => {});
  parentPort!.close();
}

parentPort!.on('message', (m: { progress?: Progress; stop?: boolean }) => {
  if (m.progress) progress = m.progress;
  if (m.stop) void beating.then(finish);
});
timer = setInterval(() => { beating = beating.then(beat); }, seconds * 1000);
beating = beat();
