// An attempt's heartbeat, on a thread of its own: a training step is seconds of synchronous
// native work (10-20 s for googlenet-naive), so the training thread's event loop cannot be what
// keeps a claim alive. The thread opens its own connection to the store, renews the attempt's
// heartbeat every `seconds` (writing the latest progress with it, fenced like every write) and
// raises a shared flag when the store says another attempt holds the run. If this process is
// SIGKILLed or SIGSTOPped, or its network hangs, the heartbeats stop and the lease runs out.
import { Worker } from 'node:worker_threads';
import type { Progress } from './store.js';

export class Liveness {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** `url` is the store's real URL (with its password, if any): it stays in this process. */
  constructor(url: string, attemptId: number, seconds: number) {
    this.worker = new Worker(new URL('./liveness-thread.js', import.meta.url), { workerData: { url, attemptId, seconds, flag: this.flag } });
    this.worker.on('error', (e) => process.stderr.write(`googlenet: heartbeat thread of attempt ${attemptId} stopped: ${e.message}\n`));
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.unref();
  }

  /** True once the store refused a heartbeat: the run is no longer this attempt's. */
  get lost(): boolean {
    return Atomics.load(this.flag, 0) === 1;
  }

  progress(p: Progress): void {
    this.worker.postMessage({ progress: p });
  }

  /** Stops the heartbeats (before the attempt's last write) and waits for the thread to end; again, a no-op. */
  async stop(): Promise<void> {
    this.worker.ref(); // unref'd while it beats, so it never keeps a finished process alive; waited for here
    this.worker.postMessage({ stop: true });
    await this.exited;
  }
}
