// The SQLite run store (`sqlite:PATH`, the default of `experiment`: DIR/experiment.sqlite): the
// experiment on one machine. better-sqlite3, WAL journal. Checkpoints are files beside the
// database, in a folder of the run's own (DIR/run-<id>/checkpoint-a<attempt>-<n>.safetensors),
// written whole and then made current by one transaction that names them in runs.checkpoint;
// claims are leases in SQLite's own transactions (BEGIN IMMEDIATE), fenced as store.ts describes.
//
// Schema (version 5; a version-1 to -4 file is upgraded in place, in one transaction):
//
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)     -- 'schema_version' = '5'
//   networks(name TEXT PRIMARY KEY, hash TEXT UNIQUE,   -- a name is one network, a network one name, per store
//     created_at TEXT)
//   runs(                                               -- one row per (network_hash, dataset, recipe_key)
//     id INTEGER PRIMARY KEY, model TEXT, dataset TEXT, -- model: the network's name, for display
//     network_hash TEXT, recipe_key TEXT,               -- SHA-256 of the network, and of recipeKey (the recipe less epochs, network, name)
//     classes, params, macs INTEGER,                    -- macs: multiply-accumulates per 32x32 image
//     epochs_planned INTEGER, recipe TEXT,              -- recipe: JSON of the Recipe (its epochs the plan)
//     status TEXT,                                      -- queued | running | interrupted | complete | failed
//     error TEXT, attempt_id INTEGER,                   -- the attempt holding it (status running)
//     crashes INTEGER, checkpoint TEXT,                 -- current checkpoint file, relative to the database's folder
//     progress TEXT,                                    -- JSON {epoch, batch, batches, imagesPerSecond, etaSeconds}
//     created_at, started_at, finished_at TEXT, seconds REAL)
//   attempts(
//     id INTEGER PRIMARY KEY, run_id INTEGER, worker TEXT,   -- worker: host:pid
//     started_at, ended_at TEXT, outcome TEXT,           -- running | complete | failed | interrupted | crashed
//     error TEXT, first_epoch, first_batch INTEGER,      -- where it started training
//     refused_writes INTEGER,                            -- writes refused after it lost the run
//     cpu TEXT, cpu_family, cpu_model INTEGER, isa TEXT, onednn TEXT, threads INTEGER,
//     heartbeat_at TEXT, heartbeat_seconds REAL,
//     epochs_planned INTEGER,                            -- the run's plan when claimed (null: upgraded from version 2)
//     conv TEXT)                                         -- direct | winograd (version 5; null: from before, direct)
//   epochs(run_id, epoch, train_loss,
//     test_loss, top1_error, top5_error,                 -- the test set's; null for a run with a hold-out
//     val_loss, val_top1_error, val_top5_error,          -- the hold-out's (recipe val); null without one
//     lr, seconds, finished_at,
//     attempt_id INTEGER,                                -- the attempt that wrote it (null: upgraded from version 1)
//     PRIMARY KEY(run_id, epoch))
//   searches(id TEXT PRIMARY KEY,                       -- a search of `googlenet explore`: SHA-256 of its canonical arguments
//     spec TEXT, created_at TEXT)                        -- spec: those arguments, canonical JSON
//   search_runs(                                        -- its runs: each candidate network's are ordinary runs
//     search_id TEXT REFERENCES searches(id), candidate INTEGER,  -- candidate: 0 the base, then in the order proposed
//     run_id INTEGER REFERENCES runs(id),
//     role TEXT,                                         -- search (hold-out, rung by rung) | confirm (a confirmation seed)
//     parent INTEGER, mutation TEXT,                     -- the candidate it mutates and how (canonical JSON); null for the base
//     generation INTEGER, rung INTEGER,                  -- rung: rungs reached (raised, never lowered); 0 for confirm rows
//     PRIMARY KEY(search_id, candidate, run_id))         -- (version 4)
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { requireFreeSpace, writeFailure } from '../io/disk.js';
import { configFromFlat, recipeKeyHash, recipeNetworkHash, type Recipe } from '../train/config.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/record.js';
import { canonicalize } from '../util/canonical-json.js';
import type { Machine } from '../util/machine.js';
import {
  epochValues, toAttempt, upgradedIdentities, toEpoch, toRun, toSearch, toSearchRun, type AttemptColumns, type EpochColumns, type RunColumns as SharedRunColumns,
  type SearchColumns, type SearchRunColumns,
} from './rows.js';
import { StoreClaim } from './claim.js';
import {
  canonicalJson, checkNetworkName, checkSearchRun, checkSearchSpec, ClaimLostError, DEFAULT_MAX_CRASHES, holderLost, mergeSearchRun, replan, runName, SEARCH_ROLES, searchName,
  type AttemptOutcome, type AttemptRow, type ClaimRefusal, type Progress, type RunClaim, type RunRow, type RunSpec, type RunStore, type SearchRecord,
  type SearchRunRow, type WorkerIdentity,
} from './store.js';

export const SCHEMA_VERSION = 5;

const RUNS = (name: string) => `CREATE TABLE IF NOT EXISTS ${name}(
  id INTEGER PRIMARY KEY, model TEXT NOT NULL, dataset TEXT NOT NULL, network_hash TEXT NOT NULL, recipe_key TEXT NOT NULL,
  classes INTEGER NOT NULL, params INTEGER NOT NULL, macs INTEGER NOT NULL, epochs_planned INTEGER NOT NULL, recipe TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('queued','running','interrupted','complete','failed')),
  error TEXT, attempt_id INTEGER, crashes INTEGER NOT NULL DEFAULT 0, checkpoint TEXT, progress TEXT,
  created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, seconds REAL, UNIQUE(network_hash, dataset, recipe_key));`;
const EPOCHS = (name: string) => `CREATE TABLE IF NOT EXISTS ${name}(
  run_id INTEGER NOT NULL REFERENCES runs(id), epoch INTEGER NOT NULL, train_loss REAL NOT NULL,
  test_loss REAL, top1_error REAL, top5_error REAL, val_loss REAL, val_top1_error REAL, val_top5_error REAL, lr REAL NOT NULL,
  seconds REAL NOT NULL, finished_at TEXT NOT NULL, attempt_id INTEGER REFERENCES attempts(id),
  PRIMARY KEY(run_id, epoch));`;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS networks(name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
${RUNS('runs')}
CREATE TABLE IF NOT EXISTS attempts(
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), worker TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT,
  outcome TEXT NOT NULL CHECK(outcome IN ('running','complete','failed','interrupted','crashed')),
  error TEXT, first_epoch INTEGER, first_batch INTEGER, refused_writes INTEGER NOT NULL DEFAULT 0,
  cpu TEXT, cpu_family INTEGER, cpu_model INTEGER, isa TEXT, onednn TEXT, threads INTEGER,
  heartbeat_at TEXT NOT NULL, heartbeat_seconds REAL NOT NULL, epochs_planned INTEGER, conv TEXT);
${EPOCHS('epochs')}
CREATE TABLE IF NOT EXISTS searches(id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS search_runs(
  search_id TEXT NOT NULL REFERENCES searches(id), candidate INTEGER NOT NULL, run_id INTEGER NOT NULL REFERENCES runs(id),
  role TEXT NOT NULL CHECK(role IN (${SEARCH_ROLES.map((r) => `'${r}'`).join(',')})), parent INTEGER, mutation TEXT,
  generation INTEGER NOT NULL, rung INTEGER NOT NULL, PRIMARY KEY(search_id, candidate, run_id));
CREATE INDEX IF NOT EXISTS search_runs_run_id ON search_runs(run_id);
`;

/** Version 2's schema, as version 1 is upgraded to before going on to 3. */
const SCHEMA_V2 = `
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, model TEXT NOT NULL, dataset TEXT NOT NULL, classes INTEGER NOT NULL,
  params INTEGER NOT NULL, macs INTEGER NOT NULL, epochs_planned INTEGER NOT NULL, recipe TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('queued','running','interrupted','complete','failed')),
  error TEXT, attempt_id INTEGER, crashes INTEGER NOT NULL DEFAULT 0, checkpoint TEXT, progress TEXT,
  created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, seconds REAL, UNIQUE(model, dataset));
CREATE TABLE IF NOT EXISTS attempts(
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), worker TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT,
  outcome TEXT NOT NULL CHECK(outcome IN ('running','complete','failed','interrupted','crashed')),
  error TEXT, first_epoch INTEGER, first_batch INTEGER, refused_writes INTEGER NOT NULL DEFAULT 0,
  cpu TEXT, cpu_family INTEGER, cpu_model INTEGER, isa TEXT, onednn TEXT, threads INTEGER,
  heartbeat_at TEXT NOT NULL, heartbeat_seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS epochs(
  run_id INTEGER NOT NULL REFERENCES runs(id), epoch INTEGER NOT NULL, train_loss REAL NOT NULL,
  test_loss REAL NOT NULL, top1_error REAL NOT NULL, top5_error REAL NOT NULL, lr REAL NOT NULL,
  seconds REAL NOT NULL, finished_at TEXT NOT NULL, attempt_id INTEGER REFERENCES attempts(id),
  PRIMARY KEY(run_id, epoch));
`;

/**
 * Version 2 → 3 (foreign keys off, inside open's transaction): runs gains network_hash and
 * recipe_key, unique with the dataset instead of (model, dataset); the networks table is filled
 * from the runs' names; epochs' test columns may be null and val_* are new; attempts gains
 * epochs_planned. Every row is copied; checkpoint files stay where they are (runs.checkpoint names them).
 */
function upgradeFrom2(db: Database.Database, file: string): void {
  type V2Run = { id: number; model: string; dataset: string; recipe: string };
  const runs = db.prepare(`SELECT id, model, dataset, recipe FROM runs ORDER BY id`).all() as V2Run[];
  db.exec(RUNS('runs_v3'));
  const copy = db.prepare(`INSERT INTO runs_v3(id, model, dataset, network_hash, recipe_key, classes, params, macs, epochs_planned, recipe, status, error,
      attempt_id, crashes, checkpoint, progress, created_at, started_at, finished_at, seconds)
    SELECT id, model, dataset, @hash, @key, classes, params, macs, epochs_planned, @recipe, status, error,
      attempt_id, crashes, checkpoint, progress, created_at, started_at, finished_at, seconds FROM runs WHERE id = @id`);
  db.exec(`CREATE TABLE networks(name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)`);
  const network = db.prepare(`INSERT OR IGNORE INTO networks(name, hash, created_at) VALUES (?, ?, ?)`);
  for (const { row: r, recipe, hash, key } of upgradedIdentities(runs, `sqlite:${file}`, SCHEMA_VERSION)) {
    copy.run({ id: r.id, hash, key, recipe: JSON.stringify(recipe) });
    // a name recorded for two networks (a file edited between runs) keeps its first; the runs keep theirs
    network.run(r.model, hash, now());
  }
  db.exec(`DROP TABLE runs; ALTER TABLE runs_v3 RENAME TO runs;
    ${EPOCHS('epochs_v3')}
    INSERT INTO epochs_v3(run_id, epoch, train_loss, test_loss, top1_error, top5_error, lr, seconds, finished_at, attempt_id)
      SELECT run_id, epoch, train_loss, test_loss, top1_error, top5_error, lr, seconds, finished_at, attempt_id FROM epochs;
    DROP TABLE epochs; ALTER TABLE epochs_v3 RENAME TO epochs;
    ALTER TABLE attempts ADD COLUMN epochs_planned INTEGER;`);
}

/** Version 1 → 2: runs gains the claim, checkpoint and progress columns and its recipe as JSON; attempts is new; epochs gains attempt_id. */
function upgradeFrom1(db: Database.Database, dir: string): void {
  type V1Run = { id: number; model: string; dataset: string; classes: number; params: number; macs: number; epochs_planned: number; config: string; status: string; error: string | null; started_at: string; finished_at: string | null; seconds: number | null };
  const old = db.prepare(`SELECT * FROM runs`).all() as V1Run[];
  db.exec(`ALTER TABLE runs RENAME TO runs_v1; ALTER TABLE epochs RENAME TO epochs_v1;`);
  db.exec(SCHEMA_V2);
  const insert = db.prepare(`INSERT INTO runs(id, model, dataset, classes, params, macs, epochs_planned, recipe, status, error, checkpoint, created_at, started_at, finished_at, seconds)
    VALUES (@id, @model, @dataset, @classes, @params, @macs, @epochs_planned, @recipe, @status, @error, @checkpoint, @started_at, @started_at, @finished_at, @seconds)`);
  for (const r of old) {
    const config = JSON.parse(r.config) as Record<string, unknown>;
    const recipe = 'recipe' in config ? (config.recipe as Recipe) : configFromFlat(config).recipe;
    // version 1 kept each run's checkpoint in DIR/<model>-<dataset>/checkpoint.safetensors; a 'running' row was a run cut short
    const legacy = path.join(`${r.model}-${r.dataset}`, 'checkpoint.safetensors');
    insert.run({
      ...r, recipe: JSON.stringify(recipe), status: r.status === 'running' ? 'interrupted' : r.status,
      checkpoint: fs.existsSync(path.join(dir, legacy)) ? legacy : null,
    });
  }
  db.exec(`INSERT INTO epochs(run_id, epoch, train_loss, test_loss, top1_error, top5_error, lr, seconds, finished_at)
    SELECT run_id, epoch, train_loss, test_loss, top1_error, top5_error, lr, seconds, finished_at FROM epochs_v1;
    DROP TABLE epochs_v1; DROP TABLE runs_v1;`);
}

/** A runs row: the shared columns and this store's checkpoint pointer. */
type RunColumns = SharedRunColumns & { checkpoint: string | null };

const now = () => new Date().toISOString();
const LOST = Symbol('lost');

/** SQLite's full or read-only disk as writeFailure's line; any other error as it is. */
const diskError = (file: string, e: unknown) => (/^SQLITE_(FULL|READONLY)/.test(String((e as { code?: unknown }).code)) ? writeFailure(file, e, { flag: '--out (or --store)' }) : e);

export class SqliteStore implements RunStore {
  readonly url: string;
  private readonly dir: string;
  /** Checkpoints saved through this connection: their files' sequence numbers. */
  private saves = 0;

  private constructor(readonly file: string, private readonly db: Database.Database) {
    this.url = `sqlite:${file}`;
    this.dir = path.dirname(path.resolve(file));
  }

  /** Opens (creating if absent, with its folder) the database at `file`, upgrading a version-1 one. */
  static open(file: string): SqliteStore {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 15_000 });
      db.pragma('journal_mode = WAL');
    } catch (e) {
      throw new Error(`sqlite:${file}: cannot open (${(e as Error).message}); check the path is a writable SQLite file`);
    }
    try {
      // foreign keys are off while the schema changes (tables are rebuilt under their names), checked at its end, then on
      db.pragma('foreign_keys = OFF');
      // IMMEDIATE takes SQLite's write lock: two processes opening one old file cannot both upgrade it
      db.transaction(() => {
        const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
        const v = hasMeta ? (db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined) : undefined;
        const version = v ? Number(v.value) : null;
        if (version === SCHEMA_VERSION) return;
        if (version !== null && version > SCHEMA_VERSION)
          throw new Error(`sqlite:${file}: schema version ${version} is newer than this build's ${SCHEMA_VERSION}; use the googlenet that wrote it, or upgrade this one`);
        if (version === 1) upgradeFrom1(db, path.dirname(path.resolve(file)));
        if (version === 1 || version === 2) upgradeFrom2(db, file);
        // version 5: each attempt's convolution algorithm (null in the attempts from before: they computed direct)
        if (version !== null && version < 5) db.exec(`ALTER TABLE attempts ADD COLUMN conv TEXT`);
        // every table is CREATE … IF NOT EXISTS: a new file gets them all, a version-1 to -3 one those it lacks (4's search tables)
        db.exec(SCHEMA);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length) throw new Error(`sqlite:${file}: the upgrade to schema ${SCHEMA_VERSION} would leave ${broken.length} rows naming rows that do not exist; nothing was changed`);
        db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
      }).immediate();
      db.pragma('foreign_keys = ON');
    } catch (e) {
      db.close();
      throw diskError(file, e);
    }
    return new SqliteStore(file, db);
  }

  /** `work` in one BEGIN IMMEDIATE transaction (SQLite's write lock); a full or read-only disk rolls it back and says so in one line. */
  private immediate<T>(work: () => T): T {
    try {
      return this.db.transaction(work).immediate();
    } catch (e) {
      throw diskError(this.file, e);
    }
  }

  async ensureRun(spec: RunSpec): Promise<RunRow> {
    const hash = recipeNetworkHash(spec.recipe), key = recipeKeyHash(spec.recipe);
    return this.immediate(() => {
      checkNetworkName(this.url, spec.model, hash, this.db.prepare(`SELECT name, hash FROM networks WHERE name = ? OR hash = ?`).all(spec.model, hash) as { name: string; hash: string }[]);
      this.db.prepare(`INSERT OR IGNORE INTO networks(name, hash, created_at) VALUES (?, ?, ?)`).run(spec.model, hash, now());
      const find = () => this.db.prepare(`SELECT * FROM runs WHERE network_hash = ? AND dataset = ? AND recipe_key = ?`).get(hash, spec.dataset, key) as RunColumns | undefined;
      const old = find();
      if (!old) {
        this.db.prepare(`INSERT INTO runs(model, dataset, network_hash, recipe_key, classes, params, macs, epochs_planned, recipe, status, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)`).run(spec.model, spec.dataset, hash, key, spec.classes, spec.params, spec.macs, spec.recipe.epochs, JSON.stringify(spec.recipe), now());
        return toRun(find()!);
      }
      const done = (this.db.prepare(`SELECT count(*) AS n FROM epochs WHERE run_id = ?`).get(old.id) as { n: number }).n;
      const epochs = replan(this.url, toRun(old), spec, done);
      if (epochs === null) return toRun(old);
      // a complete run given more epochs is queued again: its next attempt continues from its last checkpoint
      this.db.prepare(`UPDATE runs SET epochs_planned = ?, recipe = ?,
          status = CASE WHEN status = 'complete' AND ? > ? THEN 'queued' ELSE status END,
          finished_at = CASE WHEN status = 'complete' AND ? > ? THEN NULL ELSE finished_at END,
          seconds = CASE WHEN status = 'complete' AND ? > ? THEN NULL ELSE seconds END WHERE id = ?`)
        .run(epochs, JSON.stringify(spec.recipe), epochs, done, epochs, done, epochs, done, old.id);
      return toRun(find()!);
    });
  }

  private runRow(model: string, dataset: string): RunRow | undefined {
    const r = this.db.prepare(`SELECT * FROM runs WHERE model = ? AND dataset = ? ORDER BY id LIMIT 1`).get(model, dataset) as RunColumns | undefined;
    return r && toRun(r);
  }

  private runById(id: number): RunColumns {
    const r = this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as RunColumns | undefined;
    if (!r) throw new Error(`${this.url}: no run with id ${id}`);
    return r;
  }

  async run(model: string, dataset: string): Promise<RunRow | undefined> {
    return this.runRow(model, dataset);
  }

  async runs(): Promise<RunRow[]> {
    return (this.db.prepare(`SELECT * FROM runs ORDER BY id`).all() as RunColumns[]).map(toRun);
  }

  async epochs(runId: number): Promise<EpochRecord[]> {
    return (this.db.prepare(`SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch`).all(runId) as EpochColumns[]).map(toEpoch);
  }

  async attempts(runId: number): Promise<AttemptRow[]> {
    return (this.db.prepare(`SELECT * FROM attempts WHERE run_id = ? ORDER BY id`).all(runId) as AttemptColumns[]).map(toAttempt);
  }

  async checkpoint(runId: number): Promise<Checkpoint | null> {
    const file = this.checkpointFile(runId);
    return file ? loadCheckpoint(file) : null;
  }

  async claim(runId: number, worker: WorkerIdentity, opts: { maxCrashes?: number } = {}): Promise<RunClaim | ClaimRefusal> {
    const maxCrashes = opts.maxCrashes ?? DEFAULT_MAX_CRASHES;
    const result = this.immediate((): { attemptId: number } | ClaimRefusal => {
      const r = this.runById(runId);
      const name = runName(r);
      if (r.status === 'complete') return { refused: 'done', reason: `${name} is complete` };
      if (r.status === 'failed') return { refused: 'failed', reason: `${name} failed: ${r.error ?? 'unknown error'}` };
      if (r.attempt_id !== null) {
        const a = this.db.prepare(`SELECT * FROM attempts WHERE id = ?`).get(r.attempt_id) as AttemptColumns;
        const silent = (Date.now() - Date.parse(a.heartbeat_at)) / 1000;
        const lost = a.outcome === 'running' ? holderLost({ worker: a.worker, heartbeatSeconds: a.heartbeat_seconds }, silent) : `it had ended (${a.outcome})`;
        if (!lost) return { refused: 'busy', reason: `${name} is held by ${a.worker} (attempt ${a.id}, heartbeat ${silent.toFixed(0)} s ago)` };
        const error = `attempt ${a.id} on ${a.worker} crashed: ${lost}`;
        this.db.prepare(`UPDATE attempts SET outcome = 'crashed', ended_at = ?, error = ? WHERE id = ? AND outcome = 'running'`).run(now(), error, a.id);
        const crashes = r.crashes + 1;
        if (crashes >= maxCrashes) {
          const msg = `${error}; ${crashes} crashed attempts, the limit: run \`googlenet retry --store ${this.url} --run ${r.id}\` to try again`;
          this.db.prepare(`UPDATE runs SET status = 'failed', attempt_id = NULL, crashes = ?, error = ?, finished_at = ? WHERE id = ?`).run(crashes, msg, now(), r.id);
          return { refused: 'failed', reason: `${name} failed: ${msg}` };
        }
        this.db.prepare(`UPDATE runs SET status = 'queued', attempt_id = NULL, crashes = ?, error = ? WHERE id = ?`).run(crashes, error, r.id);
      }
      const t = now();
      const attemptId = Number(this.db.prepare(`INSERT INTO attempts(run_id, worker, started_at, outcome, heartbeat_at, heartbeat_seconds, epochs_planned) VALUES (?, ?, ?, 'running', ?, ?, ?)`)
        .run(r.id, worker.name, t, t, worker.heartbeat, r.epochs_planned).lastInsertRowid);
      this.db.prepare(`UPDATE runs SET status = 'running', attempt_id = ?, progress = NULL, started_at = COALESCE(started_at, ?) WHERE id = ?`).run(attemptId, t, r.id);
      return { attemptId };
    });
    if ('refused' in result) return result;
    this.removeStrayCheckpoints(runId);
    const previous = (this.db.prepare(`SELECT * FROM attempts WHERE run_id = ? AND id < ? AND first_epoch IS NOT NULL ORDER BY id DESC LIMIT 1`)
      .get(runId, result.attemptId) as AttemptColumns | undefined);
    const run = toRun(this.runById(runId));
    return new StoreClaim(this, {
      attemptId: result.attemptId, run, previous: previous ? toAttempt(previous) : null, where: `${this.url}, ${runName(run)}`,
      livenessUrl: this.url, heartbeat: worker.heartbeat, maxCrashes,
    });
  }

  /** The folder of a run's checkpoints, relative to the database's: its own, by id. */
  private static folder(runId: number): string {
    return `run-${runId}`;
  }

  /**
   * Checkpoint files of the run that are not current: left by a writer that died between writing
   * one and making it current. Only the run's own: those in its folder, and, where its current
   * checkpoint is in a folder from before schema 3 (<model>-<dataset>, shared by that name's runs),
   * those there its own attempts wrote.
   */
  private removeStrayCheckpoints(runId: number): void {
    const r = this.runById(runId);
    const mine = new Set((this.db.prepare(`SELECT id FROM attempts WHERE run_id = ?`).all(runId) as { id: number }[]).map((a) => a.id));
    const folders = new Set([SqliteStore.folder(runId), ...(r.checkpoint ? [path.dirname(r.checkpoint)] : [])]);
    for (const rel of folders) {
      const folder = path.join(this.dir, rel);
      if (!fs.existsSync(folder)) continue;
      const own = rel === SqliteStore.folder(runId);
      for (const f of fs.readdirSync(folder)) {
        const m = /^checkpoint-a(\d+)-\d+\.safetensors/.exec(f);
        if (m && (own || mine.has(Number(m[1]))) && path.join(rel, f) !== r.checkpoint) fs.rmSync(path.join(folder, f), { force: true });
      }
    }
  }

  /**
   * Runs `write` in one IMMEDIATE transaction if `attemptId` still holds its run; otherwise counts
   * the refused write, commits that, and throws ClaimLostError. The check and the write cannot be split.
   */
  fenced<T>(attemptId: number, write: (runId: number) => T): T {
    let holder = '';
    const result = this.immediate((): T | typeof LOST => {
      const a = this.db.prepare(`SELECT run_id FROM attempts WHERE id = ?`).get(attemptId) as { run_id: number };
      const r = this.runById(a.run_id);
      if (r.attempt_id === attemptId) return write(r.id);
      this.db.prepare(`UPDATE attempts SET refused_writes = refused_writes + 1 WHERE id = ?`).run(attemptId);
      const h = r.attempt_id === null ? undefined : (this.db.prepare(`SELECT id, worker FROM attempts WHERE id = ?`).get(r.attempt_id) as { id: number; worker: string });
      holder = h ? `attempt ${h.id} (${h.worker})` : `another worker (the run is ${r.status})`;
      return LOST;
    });
    if (result === LOST) {
      const runId = (this.db.prepare(`SELECT run_id FROM attempts WHERE id = ?`).get(attemptId) as { run_id: number }).run_id;
      throw new ClaimLostError(attemptId, runName(this.runById(runId)), holder);
    }
    return result;
  }

  async heartbeat(attemptId: number, progress: Progress | null): Promise<boolean> {
    try {
      this.fenced(attemptId, (runId) => {
        this.db.prepare(`UPDATE attempts SET heartbeat_at = ? WHERE id = ?`).run(now(), attemptId);
        if (progress) this.db.prepare(`UPDATE runs SET progress = ? WHERE id = ?`).run(JSON.stringify(progress), runId);
      });
      return true;
    } catch (e) {
      if (e instanceof ClaimLostError) return false;
      throw e;
    }
  }

  async retry(runId: number): Promise<void> {
    const r = this.runById(runId);
    if (r.status !== 'failed') throw new Error(`${this.url}: ${runName(r)} is ${r.status}, not failed; only a failed run can be retried`);
    this.db.prepare(`UPDATE runs SET status = 'queued', crashes = 0, error = NULL, finished_at = NULL WHERE id = ? AND status = 'failed'`).run(runId);
  }

  async recordSearch(id: string, spec: unknown): Promise<void> {
    const text = canonicalJson(this.url, `${searchName(id)}'s arguments`, spec);
    this.immediate(() => {
      const old = this.db.prepare(`SELECT spec FROM searches WHERE id = ?`).get(id) as { spec: string } | undefined;
      if (old) return checkSearchSpec(this.url, id, canonicalize(JSON.parse(old.spec)), text);
      this.db.prepare(`INSERT INTO searches(id, spec, created_at) VALUES (?, ?, ?)`).run(id, text, now());
    });
  }

  async searches(): Promise<SearchRecord[]> {
    return (this.db.prepare(`SELECT * FROM searches ORDER BY created_at, id`).all() as SearchColumns[]).map((s) => toSearch(s, true));
  }

  async recordSearchRun(row: SearchRunRow): Promise<void> {
    const mutation = checkSearchRun(this.url, row);
    this.immediate(() => {
      if (!this.db.prepare(`SELECT 1 FROM searches WHERE id = ?`).get(row.search))
        throw new Error(`${this.url}: no ${searchName(row.search)} is recorded; record the search before its runs`);
      if (!this.db.prepare(`SELECT 1 FROM runs WHERE id = ?`).get(row.runId))
        throw new Error(`${this.url}: ${searchName(row.search)}, candidate ${row.candidate}: no run with id ${row.runId}; record the run before it joins the search`);
      const key = [row.search, row.candidate, row.runId] as const;
      const old = this.db.prepare(`SELECT * FROM search_runs WHERE search_id = ? AND candidate = ? AND run_id = ?`).get(...key) as SearchRunColumns | undefined;
      if (!old) {
        this.db.prepare(`INSERT INTO search_runs(search_id, candidate, run_id, role, parent, mutation, generation, rung) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(...key, row.role, row.parent, mutation, row.generation, row.rung);
        return;
      }
      const rung = mergeSearchRun(this.url, toSearchRun(old, true), row, mutation);
      if (rung !== old.rung) this.db.prepare(`UPDATE search_runs SET rung = ? WHERE search_id = ? AND candidate = ? AND run_id = ?`).run(rung, ...key);
    });
  }

  async searchRuns(search: string): Promise<SearchRunRow[]> {
    return (this.db.prepare(`SELECT * FROM search_runs WHERE search_id = ? ORDER BY candidate, run_id`).all(search) as SearchRunColumns[]).map((r) => toSearchRun(r, true));
  }

  // --- the claim's writes (SqliteClaim calls these) ---

  checkpointFile(runId: number): string | null {
    const r = this.runById(runId);
    return r.checkpoint === null ? null : path.join(this.dir, r.checkpoint);
  }

  start(attemptId: number, first: { epoch: number; batch: number }, m: Machine): void {
    this.fenced(attemptId, (runId) => {
      this.db.prepare(`UPDATE attempts SET first_epoch = ?, first_batch = ?, cpu = ?, cpu_family = ?, cpu_model = ?, isa = ?, onednn = ?, threads = ?, conv = ?, heartbeat_at = ? WHERE id = ?`)
        .run(first.epoch, first.batch, m.cpu, m.family, m.modelNumber, m.isa, m.onednn, m.threads, m.conv, now(), attemptId);
      // rows of epochs past the checkpoint were written by an attempt that died before its checkpoint became current
      this.db.prepare(`DELETE FROM epochs WHERE run_id = ? AND epoch >= ?`).run(runId, first.epoch);
    });
  }

  recordEpoch(attemptId: number, e: EpochRecord): void {
    this.fenced(attemptId, (runId) => {
      this.db.prepare(`INSERT OR REPLACE INTO epochs(run_id, epoch, train_loss, test_loss, top1_error, top5_error, val_loss, val_top1_error, val_top5_error, lr, seconds, finished_at, attempt_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(runId, e.epoch, ...epochValues(e), e.lr, e.seconds, e.finishedAt, attemptId);
    });
  }

  saveCheckpoint(attemptId: number, runId: number, c: Checkpoint): void {
    const rel = path.join(SqliteStore.folder(runId), `checkpoint-a${attemptId}-${++this.saves}.safetensors`);
    const file = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    saveCheckpoint(file, c);
    let old: string | null = null;
    try {
      this.fenced(attemptId, (id) => {
        old = this.runById(id).checkpoint;
        this.db.prepare(`UPDATE runs SET checkpoint = ? WHERE id = ?`).run(rel, id);
      });
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw e;
    }
    if (old && old !== rel) fs.rmSync(path.join(this.dir, old), { force: true });
  }

  checkSpace(runId: number, bytes: number): void {
    requireFreeSpace(path.join(this.dir, SqliteStore.folder(runId)), bytes, 'the next checkpoint');
  }

  finish(attemptId: number, outcome: Exclude<AttemptOutcome, 'running'>, error: string | null, maxCrashes: number): void {
    this.fenced(attemptId, (runId) => {
      const t = now();
      this.db.prepare(`UPDATE attempts SET outcome = ?, ended_at = ?, error = ? WHERE id = ?`).run(outcome, t, error, attemptId);
      const total = `(SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run_id = runs.id)`;
      if (outcome === 'complete')
        this.db.prepare(`UPDATE runs SET status = 'complete', attempt_id = NULL, error = NULL, progress = NULL, finished_at = ?, seconds = ${total} WHERE id = ?`).run(t, runId);
      else if (outcome === 'failed')
        this.db.prepare(`UPDATE runs SET status = 'failed', attempt_id = NULL, error = ?, progress = NULL, finished_at = ?, seconds = ${total} WHERE id = ?`).run(error, t, runId);
      else if (outcome === 'interrupted')
        this.db.prepare(`UPDATE runs SET status = 'interrupted', attempt_id = NULL, progress = NULL WHERE id = ?`).run(runId);
      else {
        const crashes = this.runById(runId).crashes + 1;
        const failed = crashes >= maxCrashes;
        this.db.prepare(`UPDATE runs SET status = ?, attempt_id = NULL, crashes = ?, error = ?, progress = NULL, finished_at = ? WHERE id = ?`)
          .run(failed ? 'failed' : 'queued', crashes, failed ? `${error}; ${crashes} crashed attempts, the limit` : error, failed ? t : null, runId);
      }
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
