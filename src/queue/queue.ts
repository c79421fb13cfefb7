// The work queue of an experiment over many machines: pg-boss 10 (Node 20; pg-boss 11 needs
// Node 22) in the PostgreSQL store's database, over the store's own connection pool (one place
// for timeouts, .pgpass, retries and redaction). A job says "run R wants a worker"; it is
// completed as soon as a worker has claimed R, so no job stays active for long and pg-boss's
// job expiry (at most 24 h, while a googlenet-naive run is 35-60 h here) never decides anything.
// Who holds a run, and whether it is alive, is the store's claim and heartbeat (store.ts): a
// worker with nothing to do sends a job for any run whose holder's lease ran out, so the run is
// taken over through the queue like any other. The queue is 'short': at most one job per run
// is waiting (singletonKey = the run's id: two seeds of one network are two jobs), so enqueuing twice, or from two machines, queues it once.
import PgBoss from 'pg-boss';
import type { PostgresStore } from '../store/postgres.js';
import type { RunRow } from '../store/store.js';

export const QUEUE = 'googlenet-runs';

export interface RunJob {
  runId: number;
  model: string;
  dataset: string;
}

export class RunQueue {
  private constructor(private readonly boss: PgBoss) {}

  static async open(store: PostgresStore): Promise<RunQueue> {
    const boss = new PgBoss({ db: store.queueDb(), schema: 'pgboss' });
    boss.on('error', (e) => process.stderr.write(`googlenet: queue (${store.url}): ${e.message}\n`));
    // processes starting at once on a fresh database race to install pg-boss's schema and to create
    // the queue: the losers see a duplicate key or a deadlock, and simply try again
    await racing(() => boss.start());
    await racing(async () => {
      if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE, { name: QUEUE, policy: 'short', retryLimit: 0 });
    });
    return new RunQueue(boss);
  }

  /** Queues a job for the run unless one is already waiting; true if this call queued it. */
  async enqueue(run: Pick<RunRow, 'id' | 'model' | 'dataset'>): Promise<boolean> {
    const id = await this.boss.send(QUEUE, { runId: run.id, model: run.model, dataset: run.dataset } satisfies RunJob, { singletonKey: `run ${run.id}`, retryLimit: 0 });
    return id !== null;
  }

  /** The next waiting job, taken off the queue, or null. */
  async take(): Promise<RunJob | null> {
    const [job] = await this.boss.fetch<RunJob>(QUEUE, { batchSize: 1 });
    if (!job) return null;
    await this.boss.complete(QUEUE, job.id);
    return job.data;
  }

  /** Jobs waiting. */
  async waiting(): Promise<number> {
    return this.boss.getQueueSize(QUEUE);
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false, wait: true });
  }
}

/** SQLSTATEs of a lost race between two installers: unique_violation, deadlock_detected. */
const RACE_CODES = new Set(['23505', '40P01']);
const RACE_TRIES = 8;

/** `work`, tried again after a short random pause while it loses a race with another process's same work. */
async function racing(work: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await work();
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= RACE_TRIES || !code || !RACE_CODES.has(code)) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400 * attempt));
    }
  }
}
