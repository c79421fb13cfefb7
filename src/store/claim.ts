// The one RunClaim of every store: an attempt's writes go to its store's fenced operations, its
// heartbeat to a liveness thread, and any write refused because another attempt took the run
// marks the claim lost. Stores differ only in the AttemptWriter they give it.
import type { Checkpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/record.js';
import type { Machine } from '../util/machine.js';
import { Liveness } from './liveness.js';
import { ClaimLostError, type AttemptOutcome, type AttemptRow, type Progress, type RunClaim, type RunRow } from './store.js';

/** A store's fenced writes of one attempt: each refused with ClaimLostError once another attempt holds the run. */
export interface AttemptWriter {
  checkpoint(runId: number): Promise<Checkpoint | null>;
  start(attemptId: number, first: { epoch: number; batch: number }, machine: Machine): unknown;
  recordEpoch(attemptId: number, e: EpochRecord): unknown;
  saveCheckpoint(attemptId: number, runId: number, c: Checkpoint): unknown;
  /** Throws the no-space line unless a checkpoint of `bytes` fits now; absent where the store cannot tell (PostgreSQL). */
  checkSpace?(runId: number, bytes: number): void;
  finish(attemptId: number, outcome: Exclude<AttemptOutcome, 'running'>, error: string | null, maxCrashes: number): unknown;
}

export interface ClaimInit {
  attemptId: number;
  run: RunRow;
  previous: AttemptRow | null;
  /** Where its checkpoint lives, for messages. */
  where: string;
  /** The URL the heartbeat thread opens the store with (a PostgreSQL one with its password: it stays in this process). */
  livenessUrl: string;
  heartbeat: number;
  maxCrashes: number;
}

export class StoreClaim implements RunClaim {
  readonly attemptId: number;
  readonly run: RunRow;
  readonly previous: AttemptRow | null;
  readonly where: string;
  private readonly liveness: Liveness;
  private lostFlag = false;

  constructor(private readonly store: AttemptWriter, private readonly init: ClaimInit) {
    ({ attemptId: this.attemptId, run: this.run, previous: this.previous, where: this.where } = init);
    this.liveness = new Liveness(init.livenessUrl, init.attemptId, init.heartbeat);
  }

  get lost(): boolean {
    return this.lostFlag || this.liveness.lost;
  }

  private async guard(write: () => unknown): Promise<void> {
    try {
      await write();
    } catch (e) {
      if (e instanceof ClaimLostError) this.lostFlag = true;
      throw e;
    }
  }

  loadCheckpoint(): Promise<Checkpoint | null> {
    return this.store.checkpoint(this.run.id);
  }

  start(first: { epoch: number; batch: number }, machine: Machine): Promise<void> {
    return this.guard(() => this.store.start(this.attemptId, first, machine));
  }

  recordEpoch(e: EpochRecord): Promise<void> {
    return this.guard(() => this.store.recordEpoch(this.attemptId, e));
  }

  async ensureSpace(bytes: number): Promise<void> {
    this.store.checkSpace?.(this.run.id, bytes);
  }

  saveCheckpoint(c: Checkpoint): Promise<void> {
    return this.guard(() => this.store.saveCheckpoint(this.attemptId, this.run.id, c));
  }

  progress(p: Progress): void {
    this.liveness.progress(p);
  }

  async abandon(): Promise<void> {
    await this.liveness.stop();
  }

  async finish(outcome: Exclude<AttemptOutcome, 'running'>, error?: string): Promise<void> {
    await this.liveness.stop(); // no heartbeat after the attempt's last write
    await this.guard(() => this.store.finish(this.attemptId, outcome, error ?? null, this.init.maxCrashes));
  }
}
