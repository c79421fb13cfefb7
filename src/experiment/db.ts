// The experiment database: one SQLite file (better-sqlite3, WAL journal) that every run writes
// epoch by epoch, and the single source that results.md, results.json and the plots are drawn from.
//
// Schema (version 1):
//
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)      -- 'schema_version' = '1'
//
//   runs(                                                -- one row per (model, dataset)
//     id             INTEGER PRIMARY KEY,
//     model          TEXT NOT NULL,                      -- e.g. googlenet-short2
//     dataset        TEXT NOT NULL,                      -- cifar100 | cifar10
//     classes        INTEGER NOT NULL,
//     params         INTEGER NOT NULL,                   -- trainable parameters
//     macs           INTEGER NOT NULL,                   -- multiply-accumulates per 32x32 image
//     epochs_planned INTEGER NOT NULL,
//     config         TEXT NOT NULL,                      -- JSON of every training flag
//     threads        INTEGER NOT NULL,
//     status         TEXT NOT NULL CHECK(status IN ('running','complete','failed')),
//     error          TEXT,                               -- message of a failed run
//     started_at     TEXT NOT NULL,                      -- ISO time
//     finished_at    TEXT,                               -- ISO time, once complete or failed
//     seconds        REAL,                               -- run time: sum of the epochs' seconds
//     UNIQUE(model, dataset))
//
//   epochs(                                              -- one row per finished epoch
//     run_id      INTEGER NOT NULL REFERENCES runs(id),
//     epoch       INTEGER NOT NULL,                      -- 1-based
//     train_loss  REAL NOT NULL,
//     test_loss   REAL NOT NULL,
//     top1_error  REAL NOT NULL,                         -- fraction of the test set, 0..1
//     top5_error  REAL NOT NULL,
//     lr          REAL NOT NULL,                         -- learning rate used in the epoch
//     seconds     REAL NOT NULL,                         -- wall time of the epoch: training and test pass
//     finished_at TEXT NOT NULL,                         -- ISO time
//     PRIMARY KEY(run_id, epoch))
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EpochRecord } from '../train/record.js';

export const SCHEMA_VERSION = 1;

export interface RunInfo {
  model: string; dataset: string; classes: number; params: number; macs: number;
  epochsPlanned: number; config: Record<string, unknown>; threads: number;
}
export interface RunRow extends RunInfo {
  id: number; status: 'running' | 'complete' | 'failed'; error: string | null;
  startedAt: string; finishedAt: string | null; seconds: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, model TEXT NOT NULL, dataset TEXT NOT NULL, classes INTEGER NOT NULL,
  params INTEGER NOT NULL, macs INTEGER NOT NULL, epochs_planned INTEGER NOT NULL, config TEXT NOT NULL,
  threads INTEGER NOT NULL, status TEXT NOT NULL CHECK(status IN ('running','complete','failed')),
  error TEXT, started_at TEXT NOT NULL, finished_at TEXT, seconds REAL, UNIQUE(model, dataset));
CREATE TABLE IF NOT EXISTS epochs(
  run_id INTEGER NOT NULL REFERENCES runs(id), epoch INTEGER NOT NULL, train_loss REAL NOT NULL,
  test_loss REAL NOT NULL, top1_error REAL NOT NULL, top5_error REAL NOT NULL, lr REAL NOT NULL,
  seconds REAL NOT NULL, finished_at TEXT NOT NULL, PRIMARY KEY(run_id, epoch));
`;

interface RunRecord {
  id: number; model: string; dataset: string; classes: number; params: number; macs: number;
  epochs_planned: number; config: string; threads: number; status: RunRow['status']; error: string | null;
  started_at: string; finished_at: string | null; seconds: number | null;
}
/** An epochs row as SQLite returns it. */
interface EpochColumns {
  epoch: number; train_loss: number; test_loss: number; top1_error: number; top5_error: number;
  lr: number; seconds: number; finished_at: string;
}

const toRun = (r: RunRecord): RunRow => ({
  id: r.id, model: r.model, dataset: r.dataset, classes: r.classes, params: r.params, macs: r.macs,
  epochsPlanned: r.epochs_planned, config: JSON.parse(r.config) as Record<string, unknown>, threads: r.threads,
  status: r.status, error: r.error, startedAt: r.started_at, finishedAt: r.finished_at, seconds: r.seconds,
});

const now = () => new Date().toISOString();

export class ExperimentDb {
  private constructor(readonly db: Database.Database) {}

  /** Opens (creating if absent, with its parent folder) the database at `file`. */
  static open(file: string): ExperimentDb {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
    const v = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    if (!v) db.prepare(`INSERT INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    else if (Number(v.value) !== SCHEMA_VERSION) {
      db.close();
      throw new Error(`${file}: schema version ${v.value}, expected ${SCHEMA_VERSION}`);
    }
    return new ExperimentDb(db);
  }

  /** Starts or resumes the run of (model, dataset): a new row, or the existing one set back to 'running'
   *  (its epochs kept; epochs after `keepEpochsThrough` deleted, so a resumed run that restarts from
   *  checkpoint epoch k rewrites k+1…). */
  beginRun(info: RunInfo, keepEpochsThrough: number): number {
    return this.db.transaction(() => {
      const cols = {
        model: info.model, dataset: info.dataset, classes: info.classes, params: info.params, macs: info.macs,
        epochs_planned: info.epochsPlanned, config: JSON.stringify(info.config), threads: info.threads, started_at: now(),
      };
      const old = this.db.prepare(`SELECT id FROM runs WHERE model = ? AND dataset = ?`).get(info.model, info.dataset) as { id: number } | undefined;
      if (!old) {
        return Number(this.db.prepare(`INSERT INTO runs(model, dataset, classes, params, macs, epochs_planned, config, threads, status, started_at)
          VALUES (@model, @dataset, @classes, @params, @macs, @epochs_planned, @config, @threads, 'running', @started_at)`).run(cols).lastInsertRowid);
      }
      this.db.prepare(`DELETE FROM epochs WHERE run_id = ? AND epoch > ?`).run(old.id, keepEpochsThrough);
      this.db.prepare(`UPDATE runs SET classes = @classes, params = @params, macs = @macs, epochs_planned = @epochs_planned,
        config = @config, threads = @threads, status = 'running', error = NULL, finished_at = NULL, seconds = NULL,
        started_at = CASE WHEN @keep > 0 THEN started_at ELSE @started_at END WHERE id = @id`)
        .run({ ...cols, id: old.id, keep: keepEpochsThrough });
      return old.id;
    })();
  }

  /** Records (or replaces) an epoch; without finishedAt, it finished now. */
  recordEpoch(runId: number, e: Omit<EpochRecord, 'finishedAt'> & { finishedAt?: string }): void {
    this.db.transaction(() => {
      this.db.prepare(`INSERT OR REPLACE INTO epochs(run_id, epoch, train_loss, test_loss, top1_error, top5_error, lr, seconds, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(runId, e.epoch, e.trainLoss, e.testLoss, e.top1Error, e.top5Error, e.lr, e.seconds, e.finishedAt ?? now());
    })();
  }

  /** Marks the run complete; its training time is the sum of its epochs' seconds. */
  completeRun(runId: number): void {
    this.db.prepare(`UPDATE runs SET status = 'complete', error = NULL, finished_at = ?,
      seconds = (SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run_id = runs.id) WHERE id = ?`).run(now(), runId);
  }

  failRun(runId: number, error: string): void {
    this.db.prepare(`UPDATE runs SET status = 'failed', error = ?, finished_at = ?,
      seconds = (SELECT SUM(seconds) FROM epochs WHERE run_id = runs.id) WHERE id = ?`).run(error, now(), runId);
  }

  run(model: string, dataset: string): RunRow | undefined {
    const r = this.db.prepare(`SELECT * FROM runs WHERE model = ? AND dataset = ?`).get(model, dataset) as RunRecord | undefined;
    return r && toRun(r);
  }

  runs(): RunRow[] {
    return (this.db.prepare(`SELECT * FROM runs ORDER BY id`).all() as RunRecord[]).map(toRun);
  }

  /** The run's epochs, ordered by epoch. */
  epochs(runId: number): EpochRecord[] {
    return (this.db.prepare(`SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch`).all(runId) as EpochColumns[]).map((e) => ({
      epoch: e.epoch, trainLoss: e.train_loss, testLoss: e.test_loss, top1Error: e.top1_error, top5Error: e.top5_error,
      lr: e.lr, seconds: e.seconds, finishedAt: e.finished_at,
    }));
  }

  close(): void {
    this.db.close();
  }
}
