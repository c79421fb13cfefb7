// What the dashboard serves, read from the store once per poll and shared by every request and
// every page: one buildResults a second, however many clients. A fingerprint (a hash of the
// results, each run's status, progress, epochs and attempts) tells when anything changed; the
// documents built from a snapshot are cached with it, so concurrent requests cost no store reads.
import crypto from 'node:crypto';
import { buildResults, type ResultsJson } from '../experiment/report.js';
import type { RunStore } from '../store/store.js';

export class Snapshot {
  private readonly cache = new Map<string, string>();
  constructor(readonly results: ResultsJson, readonly fingerprint: string) {}

  /** The document under `key`, built on first use. */
  cached(key: string, build: () => string): string {
    let s = this.cache.get(key);
    if (s === undefined) this.cache.set(key, (s = build()));
    return s;
  }
}

export async function takeSnapshot(store: RunStore): Promise<Snapshot> {
  const results = await buildResults(store);
  const { generatedAt: _, ...rest } = results;
  return new Snapshot(results, crypto.createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 16));
}

/** Polls the store every `everyMs`, one poll at a time; `onChange` hears each new fingerprint, `onError` each failed poll. */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();
  constructor(private readonly store: RunStore, public current: Snapshot, private readonly everyMs: number,
    private readonly onChange: (s: Snapshot) => void, private readonly onError: (e: Error) => void) {}

  start(): void {
    const poll = async () => {
      try {
        const s = await takeSnapshot(this.store);
        if (s.fingerprint !== this.current.fingerprint) {
          this.current = s;
          this.onChange(s);
        }
      } catch (e) {
        this.onError(e as Error);
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.everyMs);
    };
    const tick = () => { this.inFlight = poll(); };
    this.timer = setTimeout(tick, this.everyMs);
  }

  /** Stops polling, once any poll under way has ended (so the store can be closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }
}
