// What the dashboard serves, read from the store once per poll and shared by every request and
// every page: one buildResults a second, however many clients. A fingerprint (a hash of the
// results, each run's status, progress, epochs and attempts, and the store's searches with their
// rows) tells when anything changed; the documents built from a snapshot are cached with it, so
// concurrent requests cost no store reads. Each search's record (ExploreJson, as `explore` writes
// explore.json) is built from the same reads, once per change.
import crypto from 'node:crypto';
import { buildResults, type ResultsJson } from '../experiment/report.js';
import type { ExploreJson } from '../explore/explore-json.js';
import { buildExploreJson } from '../explore/report.js';
import type { RunStore, SearchRecord, SearchRunRow } from '../store/store.js';

export class Snapshot {
  private readonly cache = new Map<string, string>();
  constructor(readonly results: ResultsJson, readonly fingerprint: string,
    /** The store's searches (by createdAt, then id) and each one's record by id, or why it could not be built (one line). */
    readonly searches: SearchRecord[] = [], readonly explore: ReadonlyMap<string, ExploreJson | { error: string }> = new Map()) {}

  /** The document under `key`, built on first use. */
  cached(key: string, build: () => string): string {
    let s = this.cache.get(key);
    if (s === undefined) this.cache.set(key, (s = build()));
    return s;
  }
}

/**
 * The store as it is now; `previous` is returned as it is when nothing changed (the searches'
 * records are not built again). The searches and their rows are read before the runs: a row names
 * a run that exists, so every run a row names is among the runs read after it.
 */
export async function takeSnapshot(store: RunStore, previous?: Snapshot): Promise<Snapshot> {
  const searches = await store.searches();
  const rows = new Map<string, SearchRunRow[]>();
  for (const s of searches) rows.set(s.id, await store.searchRuns(s.id));
  const results = await buildResults(store);
  const { generatedAt: _, ...rest } = results;
  const fingerprint = crypto.createHash('sha256').update(JSON.stringify(rest)).update(JSON.stringify({ searches, rows: [...rows] }))
    .digest('base64url').slice(0, 16);
  if (previous?.fingerprint === fingerprint) return previous;
  // each record from these reads alone: the runs and epochs buildResults read, not the store again
  const view = {
    url: store.url,
    searches: async () => searches,
    searchRuns: async (id: string) => rows.get(id) ?? [],
    runs: async () => results.runs,
    epochs: async (id: number) => results.runs.find((r) => r.id === id)?.epochs ?? [],
  } as unknown as RunStore;
  const explore = new Map<string, ExploreJson | { error: string }>();
  for (const s of searches) {
    try {
      explore.set(s.id, { ...(await buildExploreJson(view, s.id)), generatedAt: results.generatedAt });
    } catch (e) {
      // a search this build cannot read (another format of arguments): said for it alone, the rest served
      explore.set(s.id, { error: (e as Error).message.split('\n')[0]! });
    }
  }
  return new Snapshot(results, fingerprint, searches, explore);
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
        const s = await takeSnapshot(this.store, this.current);
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
