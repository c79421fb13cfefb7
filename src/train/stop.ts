// The stopping rule of train, experiment and worker alike: the first SIGINT or SIGTERM asks the
// loop to checkpoint at the next batch and hand the run back; the command then exits 130 for
// SIGINT, 0 for SIGTERM. The handlers are removed as the first signal is seen, so a second one
// has the default effect and ends the process at once (the checkpoint on disk or in the store
// is always whole: each is written completely before it becomes current).
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Exit codes of a stop asked for by each signal. */
export const STOP_EXIT_CODE: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 0 };

export class StopRequest {
  private signal: StopSignal | null = null;
  private readonly handler = (s: StopSignal) => {
    this.signal = s;
    this.remove();
    this.onSignal?.(s);
  };

  /** `onSignal` is told of the first signal (e.g. to print what will happen). */
  constructor(private readonly onSignal?: (s: StopSignal) => void) {}

  /** Listens for SIGINT and SIGTERM until remove() or the first of them. */
  install(): this {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    return this;
  }

  remove(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  /** The signal that asked to stop, or null. */
  get requested(): StopSignal | null {
    return this.signal;
  }

  /** Asks to stop as a signal would (tests, and callers with their own reasons). */
  request(s: StopSignal): void {
    this.handler(s);
  }
}

/** Thrown by the training loop when a stop was asked for: the checkpoint at `position` is current. */
export class Interrupted extends Error {
  constructor(readonly signal: StopSignal, readonly epoch: number, readonly batch: number) {
    super(`stopped by ${signal} at epoch ${epoch}, batch ${batch}; the checkpoint there is kept`);
  }
}
