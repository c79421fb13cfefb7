// The PostgreSQL run store (`postgres://user@host:port/database`): one experiment over many
// machines. The twin of sqlite.ts (same statuses, crash counting and messages), with the
// checkpoints in the database: a checkpoint's bytes are written as 8 MiB chunks, then made
// current by one fenced transaction that names it in runs.checkpoint_id and deletes the one it
// supersedes. Claims are leases on the run row (SELECT … FOR UPDATE), fenced as store.ts says;
// every timestamp and lease age is the server's clock (now()), so skewed machines agree. Each
// operation retries for up to a minute on connection errors (a server restart), and is safe to
// retry: the same attempt carries on.
//
// Schema (version 5; created, or upgraded from version 2, 3 or 4, under an advisory lock, in one transaction):
//
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)     -- 'schema_version' = '5'
//   networks(name TEXT PRIMARY KEY, hash TEXT UNIQUE,   -- a name is one network, a network one name, per store
//     created_at TIMESTAMPTZ)
//   runs(                                               -- one row per (network_hash, dataset, recipe_key)
//     id BIGSERIAL PRIMARY KEY, model, dataset TEXT,    -- model: the network's name, for display
//     network_hash TEXT, recipe_key TEXT,               -- SHA-256 of the network, and of recipeKey (the recipe less epochs, network, name)
//     classes INTEGER, params, macs BIGINT,             -- macs: multiply-accumulates per 32x32 image
//     epochs_planned INTEGER, recipe JSONB,             -- recipe: the Recipe (its epochs the plan)
//     status TEXT,                                      -- queued | running | interrupted | complete | failed
//     error TEXT, attempt_id BIGINT,                    -- the attempt holding it (status running)
//     crashes INTEGER, checkpoint_id BIGINT,            -- the current checkpoint (checkpoints.id)
//     progress JSONB,                                   -- {epoch, batch, batches, imagesPerSecond, etaSeconds}
//     created_at, started_at, finished_at TIMESTAMPTZ, seconds DOUBLE PRECISION)
//   attempts(
//     id BIGSERIAL PRIMARY KEY, run_id BIGINT, worker TEXT,  -- worker: host:pid
//     started_at, ended_at TIMESTAMPTZ, outcome TEXT,    -- running | complete | failed | interrupted | crashed
//     error TEXT, first_epoch, first_batch INTEGER,      -- where it started training
//     refused_writes INTEGER,                            -- writes refused after it lost the run
//     cpu TEXT, cpu_family, cpu_model INTEGER, isa TEXT, onednn TEXT, threads INTEGER,
//     heartbeat_at TIMESTAMPTZ, heartbeat_seconds DOUBLE PRECISION,
//     epochs_planned INTEGER,                            -- the run's plan when claimed (null: from version 2)
//     conv TEXT)                                         -- direct | winograd (version 5; null: from before, direct)
//   epochs(run_id BIGINT, epoch INTEGER, train_loss,
//     test_loss, top1_error, top5_error,                 -- the test set's; null for a run with a hold-out
//     val_loss, val_top1_error, val_top5_error,          -- the hold-out's (recipe val); null without one
//     lr, seconds DOUBLE PRECISION, finished_at TIMESTAMPTZ, attempt_id BIGINT,  -- the attempt that wrote it
//     PRIMARY KEY(run_id, epoch))
//   checkpoints(id BIGSERIAL PRIMARY KEY, run_id, attempt_id, bytes BIGINT, created_at TIMESTAMPTZ)
//   checkpoint_chunks(checkpoint_id BIGINT, seq INTEGER, data BYTEA,  -- the safetensors bytes, in order
//     PRIMARY KEY(checkpoint_id, seq))                   -- deleted with their checkpoint (ON DELETE CASCADE)
//   searches(id TEXT PRIMARY KEY,                       -- a search of `googlenet explore`: SHA-256 of its canonical arguments
//     spec JSONB, created_at TIMESTAMPTZ)                -- spec: those arguments (JSONB reorders keys: compared as canonical JSON)
//   search_runs(                                        -- its runs: each candidate network's are ordinary runs
//     search_id TEXT REFERENCES searches(id), candidate INTEGER,  -- candidate: 0 the base, then in the order proposed
//     run_id BIGINT REFERENCES runs(id),
//     role TEXT,                                         -- search (hold-out, rung by rung) | confirm (a confirmation seed)
//     parent INTEGER, mutation JSONB,                    -- the candidate it mutates and how; null for the base
//     generation INTEGER, rung INTEGER,                  -- rung: rungs reached (raised, never lowered); 0 for confirm rows
//     PRIMARY KEY(search_id, candidate, run_id))         -- (version 4)
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { parse as parseUrl, toClientConfig } from 'pg-connection-string';
import { recipeKeyHash, recipeNetworkHash, type Recipe } from '../train/config.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/record.js';
import { canonicalize } from '../util/canonical-json.js';
import type { Machine } from '../util/machine.js';
import {
  epochValues, toAttempt, upgradedIdentities, toEpoch, toRun, toSearch, toSearchRun, type AttemptColumns, type EpochColumns, type RunColumns as SharedRunColumns,
  type SearchColumns, type SearchRunColumns,
} from './rows.js';
import { StoreClaim } from './claim.js';
import { redactUrl } from './open.js';
import { pgpassPassword } from './pgpass.js';
import {
  canonicalJson, checkNetworkName, checkSearchRun, checkSearchSpec, ClaimLostError, DEFAULT_MAX_CRASHES, holderLost, mergeSearchRun, replan, runName, SEARCH_ROLES, searchName,
  type AttemptOutcome, type AttemptRow, type ClaimRefusal, type Progress, type RunClaim, type RunRow, type RunSpec, type RunStore, type SearchRecord,
  type SearchRunRow, type WorkerIdentity,
} from './store.js';

export const SCHEMA_VERSION = 5;
/** Bytes of a checkpoint per row of checkpoint_chunks. */
export const CHUNK_BYTES = 8 << 20;
/** How long an operation keeps retrying while the server cannot be reached. */
export const RETRY_SECONDS = 60;
/** Seconds to wait for a connection, unless the URL sets connect_timeout. */
export const CONNECT_TIMEOUT = 10;
/** pg_advisory_xact_lock key serializing schema changes ('gnet' in ASCII). */
const SCHEMA_LOCK = 0x676e6574;

/** Version 4's tables: the searches of `googlenet explore` and their runs (all a version-3 database lacks). */
const SEARCHES = `
CREATE TABLE IF NOT EXISTS searches(id TEXT PRIMARY KEY, spec JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS search_runs(
  search_id TEXT NOT NULL REFERENCES searches(id), candidate INTEGER NOT NULL, run_id BIGINT NOT NULL REFERENCES runs(id),
  role TEXT NOT NULL CHECK(role IN (${SEARCH_ROLES.map((r) => `'${r}'`).join(',')})), parent INTEGER, mutation JSONB,
  generation INTEGER NOT NULL, rung INTEGER NOT NULL, PRIMARY KEY(search_id, candidate, run_id));
CREATE INDEX IF NOT EXISTS search_runs_run_id ON search_runs(run_id);
`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS networks(name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id BIGSERIAL PRIMARY KEY, model TEXT NOT NULL, dataset TEXT NOT NULL, network_hash TEXT NOT NULL, recipe_key TEXT NOT NULL, classes INTEGER NOT NULL,
  params BIGINT NOT NULL, macs BIGINT NOT NULL, epochs_planned INTEGER NOT NULL, recipe JSONB NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('queued','running','interrupted','complete','failed')),
  error TEXT, attempt_id BIGINT, crashes INTEGER NOT NULL DEFAULT 0, checkpoint_id BIGINT, progress JSONB,
  created_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, seconds DOUBLE PRECISION,
  CONSTRAINT runs_identity UNIQUE(network_hash, dataset, recipe_key));
CREATE TABLE IF NOT EXISTS attempts(
  id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL REFERENCES runs(id), worker TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL, ended_at TIMESTAMPTZ,
  outcome TEXT NOT NULL CHECK(outcome IN ('running','complete','failed','interrupted','crashed')),
  error TEXT, first_epoch INTEGER, first_batch INTEGER, refused_writes INTEGER NOT NULL DEFAULT 0,
  cpu TEXT, cpu_family INTEGER, cpu_model INTEGER, isa TEXT, onednn TEXT, threads INTEGER,
  heartbeat_at TIMESTAMPTZ NOT NULL, heartbeat_seconds DOUBLE PRECISION NOT NULL, epochs_planned INTEGER, conv TEXT);
CREATE INDEX IF NOT EXISTS attempts_run_id ON attempts(run_id);
CREATE TABLE IF NOT EXISTS epochs(
  run_id BIGINT NOT NULL REFERENCES runs(id), epoch INTEGER NOT NULL, train_loss DOUBLE PRECISION NOT NULL,
  test_loss DOUBLE PRECISION, top1_error DOUBLE PRECISION, top5_error DOUBLE PRECISION,
  val_loss DOUBLE PRECISION, val_top1_error DOUBLE PRECISION, val_top5_error DOUBLE PRECISION,
  lr DOUBLE PRECISION NOT NULL, seconds DOUBLE PRECISION NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
  attempt_id BIGINT REFERENCES attempts(id), PRIMARY KEY(run_id, epoch));
CREATE TABLE IF NOT EXISTS checkpoints(
  id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL REFERENCES runs(id), attempt_id BIGINT NOT NULL REFERENCES attempts(id),
  bytes BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE INDEX IF NOT EXISTS checkpoints_run_id ON checkpoints(run_id);
CREATE TABLE IF NOT EXISTS checkpoint_chunks(
  checkpoint_id BIGINT NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE, seq INTEGER NOT NULL, data BYTEA NOT NULL,
  PRIMARY KEY(checkpoint_id, seq));
-- tensors barely compress: store the chunks out of line without trying
ALTER TABLE checkpoint_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
${SEARCHES}`;

/**
 * Version 2 → 3, in migrate's transaction: runs gains network_hash and recipe_key (computed from
 * each row's recipe), unique with the dataset instead of (model, dataset); networks is filled from
 * the runs' names; epochs' test columns may be null and val_* are new; attempts gains epochs_planned.
 */
async function upgradeFrom2(c: Queryable, url: string): Promise<void> {
  await c.query(`ALTER TABLE runs ADD COLUMN network_hash TEXT, ADD COLUMN recipe_key TEXT;
    ALTER TABLE attempts ADD COLUMN epochs_planned INTEGER;
    ALTER TABLE epochs ALTER COLUMN test_loss DROP NOT NULL, ALTER COLUMN top1_error DROP NOT NULL, ALTER COLUMN top5_error DROP NOT NULL,
      ADD COLUMN val_loss DOUBLE PRECISION, ADD COLUMN val_top1_error DOUBLE PRECISION, ADD COLUMN val_top5_error DOUBLE PRECISION;
    CREATE TABLE networks(name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL);`);
  const runs = (await c.query<{ id: number; model: string; dataset: string; recipe: Recipe }>(`SELECT id, model, dataset, recipe FROM runs ORDER BY id`)).rows;
  for (const { row: r, recipe, hash, key } of upgradedIdentities(runs, url, SCHEMA_VERSION)) {
    await c.query(`UPDATE runs SET network_hash = $1, recipe_key = $2, recipe = $3 WHERE id = $4`, [hash, key, JSON.stringify(recipe), r.id]);
    // a name recorded for two networks (a file edited between runs) keeps its first; the runs keep theirs
    await c.query(`INSERT INTO networks(name, hash, created_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`, [r.model, hash]);
  }
  await c.query(`ALTER TABLE runs ALTER COLUMN network_hash SET NOT NULL, ALTER COLUMN recipe_key SET NOT NULL,
    DROP CONSTRAINT runs_model_dataset_key, ADD CONSTRAINT runs_identity UNIQUE(network_hash, dataset, recipe_key)`);
}

/** A runs row: the shared columns and this store's checkpoint pointer. */
type RunColumns = SharedRunColumns & { checkpoint_id: number | null };

// BIGINT as a number (ids, params and MACs are far below 2^53); TIMESTAMPTZ as an ISO string, as the other stores give it
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text');
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8) return (v: string) => Number(v);
    if (oid === pg.types.builtins.TIMESTAMPTZ) return (v: string) => (parseTimestamptz(v) as Date).toISOString();
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};


/** Transient: the connection failed or dropped, or the server is restarting (or a serialization conflict). Worth retrying. */
export function isTransient(e: unknown): boolean {
  if (e instanceof AggregateError) return e.errors.some(isTransient);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN'].includes(code)) return true;
    // 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now; 25P03: idle-in-transaction timeout; 40001/40P01: conflicts
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '25P03', '40001', '40P01'].includes(code)) return true;
  }
  const msg = e instanceof Error ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|timeout expired|not queryable|Client was closed/i.test(msg);
}

/** Where the store connects: the URL's parts, with libpq's environment defaults. */
interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Whether the URL itself names all three of host, port and database. */
  inUrl: boolean;
}

type Queryable = pg.PoolClient;
const LOST = Symbol('lost');

// The real URL (with its password) of each store: only the heartbeat thread needs it, and it stays out of the object.
const realUrls = new WeakMap<PostgresStore, string>();

export class PostgresStore implements RunStore {
  private closed = false;

  private constructor(readonly url: string, private readonly pool: pg.Pool, private readonly target: Target, private readonly secret: () => string | undefined) {}

  /** Connects, and creates or upgrades the schema; any failure is one line naming host, port and database, without the password. */
  static async open(url: string): Promise<PostgresStore> {
    const shown = redactUrl(url);
    let config: pg.PoolConfig;
    let target: Target;
    let urlPassword: string | undefined;
    let timeout = CONNECT_TIMEOUT;
    try {
      const parsed = parseUrl(url);
      urlPassword = parsed.password || undefined;
      if (parsed.connect_timeout !== undefined) {
        timeout = Number(parsed.connect_timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) throw new Error(`connect_timeout=${String(parsed.connect_timeout)} is not a positive number of seconds`);
      }
      const { password: _p, connect_timeout: _t, ...rest } = parsed;
      config = toClientConfig(rest as typeof parsed);
      const user = config.user || process.env.PGUSER || os.userInfo().username;
      target = {
        host: config.host || process.env.PGHOST || 'localhost',
        port: Number(config.port || process.env.PGPORT || 5432),
        database: config.database || process.env.PGDATABASE || user,
        user,
        inUrl: !!(config.host && config.port && config.database),
      };
    } catch (e) {
      const why = sanitize((e as Error).message, url);
      throw new Error(`${shown}: not a valid PostgreSQL URL (${why}); use postgres://user@host:port/database`);
    }
    let gave: string | undefined;
    const password = () => urlPassword ?? (process.env.PGPASSWORD || undefined) ?? pgpassPassword(target);
    const pool = new pg.Pool({
      ...config,
      // called when the server asks for one: the URL's, else PGPASSWORD, else the password file's, as libpq looks
      password: (async () => (gave = password())) as () => Promise<string>,
      connectionTimeoutMillis: timeout * 1000,
      keepAlive: true,
      // a session left idle inside a transaction (its process SIGSTOPped) would hold the run's row lock for ever
      idle_in_transaction_session_timeout: 60_000,
      application_name: config.application_name ?? 'googlenet',
      max: 4,
      allowExitOnIdle: true,
      types: TYPES,
    });
    // a connection dropped while idle (a server restart) must not crash the process; the next operation reconnects
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const store = new PostgresStore(shown, pool, target, () => gave ?? urlPassword);
    realUrls.set(store, url);
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      try {
        await store.migrate();
        return store;
      } catch (e) {
        // only a server that says it is starting up or shutting down is waited for; anything else is reported at once
        if ((e as { code?: string }).code === '57P03' && Date.now() < deadline) {
          await sleep(250);
          continue;
        }
        await pool.end().catch(() => {});
        throw store.connectError(e, timeout, gave === undefined && urlPassword === undefined);
      }
    }
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    let broken: unknown;
    try {
      const current = async () => {
        const has = await c.query(`SELECT to_regclass('meta') IS NOT NULL AS has`);
        if (!has.rows[0].has) return null;
        const v = await c.query(`SELECT value FROM meta WHERE key = 'schema_version'`);
        return v.rows.length ? Number(v.rows[0].value) : null;
      };
      if ((await current()) === SCHEMA_VERSION) return;
      await c.query('BEGIN');
      try {
        await c.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`);
        const version = await current();
        if (version !== null && version > SCHEMA_VERSION)
          throw new Error(`${this.url}: schema version ${version} is newer than this build's ${SCHEMA_VERSION}; use the googlenet that wrote it, or upgrade this one`);
        if (version === 2) await upgradeFrom2(c, this.url);
        // version 5: each attempt's convolution algorithm (null in the attempts from before: they computed direct)
        if (version !== null && version < 5) await c.query(`ALTER TABLE attempts ADD COLUMN conv TEXT`);
        // a new database gets every table; a version-2 or -3 one, 4's search tables; a version-4 one has them all (IF NOT EXISTS)
        await c.query(version === 2 || version === 3 ? SEARCHES : SCHEMA);
        await c.query(`INSERT INTO meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [String(SCHEMA_VERSION)]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch((err: unknown) => (broken = err));
        throw e;
      }
    } catch (e) {
      if (isTransient(e)) broken = e;
      throw e;
    } finally {
      c.release(broken ? true : undefined);
    }
  }

  /** One line for a failure to connect: what went wrong where, and what to check. */
  private connectError(e: unknown, timeout: number, noPassword: boolean): Error {
    if (!(e instanceof Error)) return new Error(`${this.url}: ${String(e)}`);
    if (e.message.startsWith(`${this.url}: `)) return e;
    const { host, port, database, user, inUrl } = this.target;
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const head = inUrl ? this.url : `${this.url} (${where}, database "${database}")`;
    const code = (e as { code?: string }).code ?? (e instanceof AggregateError ? (e.errors[0] as { code?: string })?.code : undefined);
    const msg = this.clean(e.message);
    let why: string;
    if (code === '28P01') why = `${msg}; check the password (PGPASSWORD or ~/.pgpass)`;
    else if (noPassword && /password/i.test(msg) && !code?.match(/^[0-9A-Z]{5}$/))
      why = `the server asks for a password for user "${user}" and none was given; put it in PGPASSWORD or ~/.pgpass (or PGPASSFILE)`;
    else if (code === '3D000') why = `database "${database}" does not exist on ${where}; create it (createdb -h ${host} -p ${port} -U ${user} ${database}) or fix the URL`;
    else if (code === '28000') why = `${msg}; the server's pg_hba.conf does not let this host in as "${user}"`;
    else if (code === 'ECONNREFUSED') why = `connection refused by ${where}; is PostgreSQL running there and listening on TCP (listen_addresses, port)?`;
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `unknown host '${host}' (${code}); check the host name`;
    else if (/timeout/i.test(msg)) why = `no answer from ${where} within ${timeout} s (connect_timeout); check the host, the port and any firewall`;
    else why = inUrl ? `${msg} (connecting to ${where}, database "${database}")` : msg;
    return new Error(`${head}: ${why}`);
  }

  /** An error's text on one line, with the password (should any library echo it) hidden. */
  private clean(message: string): string {
    return sanitize(message, realUrls.get(this) ?? '', this.secret());
  }

  /** An error of an operation as one line naming the store; ours and ClaimLostError pass through. */
  private wrap(e: unknown, what: string): Error {
    if (e instanceof ClaimLostError) return e;
    if (e instanceof Error && e.message.startsWith(`${this.url}: `)) return e;
    return new Error(`${this.url}: ${what}: ${this.clean(e instanceof Error ? e.message : String(e))}`);
  }

  /**
   * Runs `fn`, again (with `retrying` set) while it fails for a transient reason, for up to RETRY_SECONDS:
   * every operation is written so that running it twice, or after half of it ran, is safe.
   */
  private async op<T>(what: string, fn: (retrying: boolean) => Promise<T>): Promise<T> {
    const start = Date.now();
    for (let n = 0; ; n++) {
      try {
        return await fn(n > 0);
      } catch (e) {
        if (!isTransient(e) || this.closed) throw this.wrap(e, what);
        const waited = (Date.now() - start) / 1000;
        if (waited >= RETRY_SECONDS)
          throw new Error(`${this.url}: ${what}: the server was unreachable for ${waited.toFixed(0)} s (${this.clean((e as Error).message)}); check that PostgreSQL is up at ${this.target.host}:${this.target.port}`);
        await sleep(Math.min(100 * 2 ** n, 1000));
      }
    }
  }

  /** `fn` in one transaction on one connection; a connection that failed is discarded, not reused. */
  private async tx<T>(fn: (c: Queryable) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const c = await this.pool.connect();
    let broken: unknown;
    try {
      await c.query(begin);
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (e) {
      if (isTransient(e)) broken = e;
      else await c.query('ROLLBACK').catch((err: unknown) => (broken = err));
      throw e;
    } finally {
      c.release(broken ? true : undefined);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(text, values)).rows;
  }

  async ensureRun(spec: RunSpec): Promise<RunRow> {
    const hash = recipeNetworkHash(spec.recipe), key = recipeKeyHash(spec.recipe);
    return this.op('recording the run', () => this.tx(async (c) => {
      await c.query(`INSERT INTO networks(name, hash, created_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`, [spec.model, hash]);
      checkNetworkName(this.url, spec.model, hash, (await c.query<{ name: string; hash: string }>(`SELECT name, hash FROM networks WHERE name = $1 OR hash = $2`, [spec.model, hash])).rows);
      await c.query(`INSERT INTO runs(model, dataset, network_hash, recipe_key, classes, params, macs, epochs_planned, recipe, status, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', now()) ON CONFLICT (network_hash, dataset, recipe_key) DO NOTHING`,
        [spec.model, spec.dataset, hash, key, spec.classes, spec.params, spec.macs, spec.recipe.epochs, JSON.stringify(spec.recipe)]);
      const find = async () => (await c.query<RunColumns>(`SELECT * FROM runs WHERE network_hash = $1 AND dataset = $2 AND recipe_key = $3 FOR UPDATE`, [hash, spec.dataset, key])).rows[0]!;
      const old = await find();
      const [{ n: done }] = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM epochs WHERE run_id = $1`, [old.id])).rows as [{ n: number }];
      const epochs = replan(this.url, toRun(old), spec, done);
      if (epochs === null) return toRun(old);
      // a complete run given more epochs is queued again: its next attempt continues from its last checkpoint
      const reopen = `status = 'complete' AND $1::int > $3::int`;
      await c.query(`UPDATE runs SET epochs_planned = $1, recipe = $2, status = CASE WHEN ${reopen} THEN 'queued' ELSE status END,
          finished_at = CASE WHEN ${reopen} THEN NULL ELSE finished_at END, seconds = CASE WHEN ${reopen} THEN NULL ELSE seconds END WHERE id = $4`,
        [epochs, JSON.stringify(spec.recipe), done, old.id]);
      return toRun(await find());
    }));
  }

  private async runRow(model: string, dataset: string): Promise<RunRow | undefined> {
    const [r] = await this.query<RunColumns>(`SELECT * FROM runs WHERE model = $1 AND dataset = $2 ORDER BY id LIMIT 1`, [model, dataset]);
    return r && toRun(r);
  }

  private async runById(c: Queryable | null, id: number, lock = false): Promise<RunColumns> {
    const text = `SELECT * FROM runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`;
    const [r] = c ? (await c.query<RunColumns>(text, [id])).rows : await this.query<RunColumns>(text, [id]);
    if (!r) throw new Error(`${this.url}: no run with id ${id}`);
    return r;
  }

  async run(model: string, dataset: string): Promise<RunRow | undefined> {
    return this.op('reading the run', () => this.runRow(model, dataset));
  }

  async runs(): Promise<RunRow[]> {
    return this.op('reading the runs', async () => (await this.query<RunColumns>(`SELECT * FROM runs ORDER BY id`)).map(toRun));
  }

  async epochs(runId: number): Promise<EpochRecord[]> {
    return this.op('reading the epochs', async () => (await this.query<EpochColumns>(`SELECT * FROM epochs WHERE run_id = $1 ORDER BY epoch`, [runId])).map(toEpoch));
  }

  async attempts(runId: number): Promise<AttemptRow[]> {
    return this.op('reading the attempts', async () => (await this.query<AttemptColumns>(`SELECT * FROM attempts WHERE run_id = $1 ORDER BY id`, [runId])).map(toAttempt));
  }

  async claim(runId: number, worker: WorkerIdentity, opts: { maxCrashes?: number } = {}): Promise<RunClaim | ClaimRefusal> {
    const maxCrashes = opts.maxCrashes ?? DEFAULT_MAX_CRASHES;
    const result = await this.op('claiming the run', (retrying) => this.tx(async (c): Promise<{ attemptId: number } | ClaimRefusal> => {
      const r = await this.runById(c, runId, true);
      const name = runName(r);
      if (r.status === 'complete') return { refused: 'done', reason: `${name} is complete` };
      if (r.status === 'failed') return { refused: 'failed', reason: `${name} failed: ${r.error ?? 'unknown error'}` };
      if (r.attempt_id !== null) {
        const [a] = (await c.query<AttemptColumns & { silent: number }>(
          `SELECT *, EXTRACT(EPOCH FROM now() - heartbeat_at)::float8 AS silent FROM attempts WHERE id = $1`, [r.attempt_id])).rows;
        const silent = Math.max(0, a!.silent);
        const lost = a!.outcome === 'running' ? holderLost({ worker: a!.worker, heartbeatSeconds: a!.heartbeat_seconds }, silent) : `it had ended (${a!.outcome})`;
        const alive = !lost;
        // a retry after a lost reply to a claim that did commit finds that claim's own attempt: it is ours
        if (alive && retrying && a!.worker === worker.name && a!.heartbeat_seconds === worker.heartbeat && a!.first_epoch === null) return { attemptId: a!.id };
        if (alive) return { refused: 'busy', reason: `${name} is held by ${a!.worker} (attempt ${a!.id}, heartbeat ${silent.toFixed(0)} s ago)` };
        const error = `attempt ${a!.id} on ${a!.worker} crashed: ${lost}`;
        await c.query(`UPDATE attempts SET outcome = 'crashed', ended_at = now(), error = $1 WHERE id = $2 AND outcome = 'running'`, [error, a!.id]);
        const crashes = r.crashes + 1;
        if (crashes >= maxCrashes) {
          const msg = `${error}; ${crashes} crashed attempts, the limit: run \`googlenet retry --store ${this.url} --run ${r.id}\` to try again`;
          await c.query(`UPDATE runs SET status = 'failed', attempt_id = NULL, crashes = $1, error = $2, finished_at = now() WHERE id = $3`, [crashes, msg, r.id]);
          return { refused: 'failed', reason: `${name} failed: ${msg}` };
        }
        await c.query(`UPDATE runs SET status = 'queued', attempt_id = NULL, crashes = $1, error = $2 WHERE id = $3`, [crashes, error, r.id]);
      }
      const [{ id: attemptId }] = (await c.query<{ id: number }>(
        `INSERT INTO attempts(run_id, worker, started_at, outcome, heartbeat_at, heartbeat_seconds, epochs_planned) VALUES ($1, $2, now(), 'running', now(), $3, $4) RETURNING id`,
        [r.id, worker.name, worker.heartbeat, r.epochs_planned])).rows as [{ id: number }];
      await c.query(`UPDATE runs SET status = 'running', attempt_id = $1, progress = NULL, started_at = COALESCE(started_at, now()) WHERE id = $2`, [attemptId, r.id]);
      return { attemptId };
    }));
    if ('refused' in result) return result;
    await this.op('removing stray checkpoints', () => this.removeStrayCheckpoints(runId));
    const [previous] = await this.op('reading the attempts', () => this.query<AttemptColumns>(
      `SELECT * FROM attempts WHERE run_id = $1 AND id < $2 AND first_epoch IS NOT NULL ORDER BY id DESC LIMIT 1`, [runId, result.attemptId]));
    const run = await this.op('reading the run', () => this.runById(null, runId));
    const row = toRun(run);
    // the heartbeat thread connects by itself: it needs the real URL (password and all), which stays in this process
    return new StoreClaim(this, {
      attemptId: result.attemptId, run: row, previous: previous ? toAttempt(previous) : null, where: `${this.url}, ${runName(row)}`,
      livenessUrl: realUrls.get(this)!, heartbeat: worker.heartbeat, maxCrashes,
    });
  }

  /** Checkpoints of the run that are not current: left by a writer that died between writing one and making it current. */
  private async removeStrayCheckpoints(runId: number): Promise<void> {
    await this.query(`DELETE FROM checkpoints WHERE run_id = $1 AND id IS DISTINCT FROM (SELECT checkpoint_id FROM runs WHERE id = $1)`, [runId]);
  }

  /**
   * Runs `write` in one transaction if `attemptId` still holds its run (the run row locked first);
   * otherwise counts the refused write, commits that, and throws ClaimLostError. `done`, asked
   * only on a retry, says the write already committed before the reply was lost (finish's case).
   */
  async fenced<T>(attemptId: number, what: string, write: (c: Queryable, runId: number) => Promise<T>, done?: (c: Queryable) => Promise<boolean>): Promise<T> {
    let lost: { run: string; holder: string } | null = null;
    const result = await this.op(what, (retrying) => this.tx(async (c): Promise<T | typeof LOST> => {
      const [r] = (await c.query<{ id: number; attempt_id: number | null; status: string; model: string; dataset: string }>(
        `SELECT r.id, r.attempt_id, r.status, r.model, r.dataset FROM runs r JOIN attempts a ON a.run_id = r.id WHERE a.id = $1 FOR UPDATE OF r`, [attemptId])).rows;
      if (!r) throw new Error(`${this.url}: no attempt with id ${attemptId}`);
      if (r.attempt_id === attemptId) return write(c, r.id);
      if (retrying && done && (await done(c))) return undefined as T;
      await c.query(`UPDATE attempts SET refused_writes = refused_writes + 1 WHERE id = $1`, [attemptId]);
      const [h] = r.attempt_id === null ? [] : (await c.query<{ id: number; worker: string }>(`SELECT id, worker FROM attempts WHERE id = $1`, [r.attempt_id])).rows;
      lost = { run: runName(r), holder: h ? `attempt ${h.id} (${h.worker})` : `another worker (the run is ${r.status})` };
      return LOST;
    }));
    if (result === LOST) throw new ClaimLostError(attemptId, lost!.run, lost!.holder);
    return result;
  }

  async heartbeat(attemptId: number, progress: Progress | null): Promise<boolean> {
    try {
      await this.fenced(attemptId, 'renewing the heartbeat', async (c, runId) => {
        await c.query(`UPDATE attempts SET heartbeat_at = now() WHERE id = $1`, [attemptId]);
        if (progress) await c.query(`UPDATE runs SET progress = $1 WHERE id = $2`, [JSON.stringify(progress), runId]);
      });
      return true;
    } catch (e) {
      if (e instanceof ClaimLostError) return false;
      throw e;
    }
  }

  async retry(runId: number): Promise<void> {
    await this.op('retrying the run', async (retrying) => {
      const done = await this.query(`UPDATE runs SET status = 'queued', crashes = 0, error = NULL, finished_at = NULL WHERE id = $1 AND status = 'failed' RETURNING id`, [runId]);
      if (done.length) return;
      const r = await this.runById(null, runId);
      // a retry after a lost reply to an update that did commit
      if (retrying && r.status === 'queued' && r.crashes === 0 && r.error === null) return;
      throw new Error(`${this.url}: ${runName(r)} is ${r.status}, not failed; only a failed run can be retried`);
    });
  }

  async recordSearch(id: string, spec: unknown): Promise<void> {
    const text = canonicalJson(this.url, `${searchName(id)}'s arguments`, spec);
    // ON CONFLICT: two workers recording one search at once, or a retry after a lost reply, find the row and compare
    await this.op('recording the search', () => this.tx(async (c) => {
      await c.query(`INSERT INTO searches(id, spec, created_at) VALUES ($1, $2, now()) ON CONFLICT (id) DO NOTHING`, [id, text]);
      const [old] = (await c.query<{ spec: unknown }>(`SELECT spec FROM searches WHERE id = $1`, [id])).rows;
      // JSONB reorders keys (and respells numbers): compared as canonical JSON
      checkSearchSpec(this.url, id, canonicalize(old!.spec), text);
    }));
  }

  async searches(): Promise<SearchRecord[]> {
    return this.op('reading the searches', async () => (await this.query<SearchColumns>(`SELECT * FROM searches ORDER BY created_at, id`)).map((s) => toSearch(s, false)));
  }

  async recordSearchRun(row: SearchRunRow): Promise<void> {
    const mutation = checkSearchRun(this.url, row);
    const key = [row.search, row.candidate, row.runId];
    await this.op('recording the run of the search', () => this.tx(async (c) => {
      if (!(await c.query(`SELECT 1 FROM searches WHERE id = $1`, [row.search])).rows.length)
        throw new Error(`${this.url}: no ${searchName(row.search)} is recorded; record the search before its runs`);
      if (!(await c.query(`SELECT 1 FROM runs WHERE id = $1`, [row.runId])).rows.length)
        throw new Error(`${this.url}: ${searchName(row.search)}, candidate ${row.candidate}: no run with id ${row.runId}; record the run before it joins the search`);
      const added = await c.query(`INSERT INTO search_runs(search_id, candidate, run_id, role, parent, mutation, generation, rung) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (search_id, candidate, run_id) DO NOTHING`, [...key, row.role, row.parent, mutation, row.generation, row.rung]);
      if (added.rowCount) return;
      // recorded before (or by another worker at once, or by this call before a lost reply): the same row, its rung raised
      const [old] = (await c.query<SearchRunColumns>(`SELECT * FROM search_runs WHERE search_id = $1 AND candidate = $2 AND run_id = $3 FOR UPDATE`, key)).rows;
      const rung = mergeSearchRun(this.url, toSearchRun(old!, false), row, mutation);
      if (rung !== old!.rung) await c.query(`UPDATE search_runs SET rung = $4 WHERE search_id = $1 AND candidate = $2 AND run_id = $3`, [...key, rung]);
    }));
  }

  async searchRuns(search: string): Promise<SearchRunRow[]> {
    return this.op('reading the runs of the search', async () =>
      (await this.query<SearchRunColumns>(`SELECT * FROM search_runs WHERE search_id = $1 ORDER BY candidate, run_id`, [search])).map((r) => toSearchRun(r, false)));
  }

  async checkpoint(runId: number): Promise<Checkpoint | null> {
    const loaded = await this.op('reading the checkpoint', () => this.tx(async (c) => {
      const [r] = (await c.query<{ checkpoint_id: number | null; model: string; dataset: string }>(`SELECT checkpoint_id, model, dataset FROM runs WHERE id = $1`, [runId])).rows;
      if (!r) throw new Error(`${this.url}: no run with id ${runId}`);
      if (r.checkpoint_id === null) return null;
      const name = `${this.url}, ${runName(r)}, checkpoint ${r.checkpoint_id}`;
      const [meta] = (await c.query<{ bytes: number }>(`SELECT bytes FROM checkpoints WHERE id = $1`, [r.checkpoint_id])).rows;
      if (!meta) throw new Error(`${name}: the run names it but it is not in the checkpoints table`);
      const buf = Buffer.allocUnsafe(meta.bytes);
      let pos = 0;
      for (let seq = 0; ; ) {
        // a few chunks per query: bytea arrives as hex text, twice its size
        const rows = (await c.query<{ seq: number; data: Buffer }>(
          `SELECT seq, data FROM checkpoint_chunks WHERE checkpoint_id = $1 AND seq >= $2 ORDER BY seq LIMIT 4`, [r.checkpoint_id, seq])).rows;
        if (!rows.length) break;
        for (const row of rows) {
          if (row.seq !== seq || pos + row.data.length > buf.length) throw new Error(`${name}: chunk ${row.seq} is out of place (expected chunk ${seq} at byte ${pos} of ${buf.length}); the checkpoint is corrupt`);
          row.data.copy(buf, pos);
          pos += row.data.length;
          seq++;
        }
      }
      if (pos !== buf.length) throw new Error(`${name}: holds ${pos} of its ${buf.length} bytes; the checkpoint is incomplete`);
      return { buf, name };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'));
    return loaded && decodeCheckpoint(loaded.buf, loaded.name);
  }

  // --- the claim's writes (PostgresClaim calls these) ---

  async start(attemptId: number, first: { epoch: number; batch: number }, m: Machine): Promise<void> {
    await this.fenced(attemptId, 'recording the start', async (c, runId) => {
      await c.query(`UPDATE attempts SET first_epoch = $1, first_batch = $2, cpu = $3, cpu_family = $4, cpu_model = $5, isa = $6, onednn = $7, threads = $8, conv = $9, heartbeat_at = now() WHERE id = $10`,
        [first.epoch, first.batch, m.cpu, m.family, m.modelNumber, m.isa, m.onednn, m.threads, m.conv, attemptId]);
      // rows of epochs past the checkpoint were written by an attempt that died before its checkpoint became current
      await c.query(`DELETE FROM epochs WHERE run_id = $1 AND epoch >= $2`, [runId, first.epoch]);
    });
  }

  async recordEpoch(attemptId: number, e: EpochRecord): Promise<void> {
    await this.fenced(attemptId, `recording epoch ${e.epoch}`, async (c, runId) => {
      await c.query(`INSERT INTO epochs(run_id, epoch, train_loss, test_loss, top1_error, top5_error, val_loss, val_top1_error, val_top5_error, lr, seconds, finished_at, attempt_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (run_id, epoch) DO UPDATE SET train_loss = EXCLUDED.train_loss, test_loss = EXCLUDED.test_loss, top1_error = EXCLUDED.top1_error,
          top5_error = EXCLUDED.top5_error, val_loss = EXCLUDED.val_loss, val_top1_error = EXCLUDED.val_top1_error, val_top5_error = EXCLUDED.val_top5_error,
          lr = EXCLUDED.lr, seconds = EXCLUDED.seconds, finished_at = EXCLUDED.finished_at, attempt_id = EXCLUDED.attempt_id`,
        [runId, e.epoch, ...epochValues(e), e.lr, e.seconds, e.finishedAt, attemptId]);
    });
  }

  /** Writes the checkpoint's chunks under a new checkpoints row, then makes it current (fenced), deleting the one it supersedes. */
  async saveCheckpoint(attemptId: number, runId: number, c: Checkpoint): Promise<void> {
    const parts = encodeCheckpoint(c, `${this.url}, checkpoint of run ${runId}`);
    const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
    // each try writes a new row: one that failed halfway is left for removeStrayCheckpoints (or the make-current below)
    const id = await this.op('writing the checkpoint', async () => {
      const [{ id }] = await this.query<{ id: number }>(`INSERT INTO checkpoints(run_id, attempt_id, bytes, created_at) VALUES ($1, $2, $3, now()) RETURNING id`, [runId, attemptId, bytes]) as [{ id: number }];
      let seq = 0;
      for (const chunk of chunks(parts, CHUNK_BYTES))
        await this.query(`INSERT INTO checkpoint_chunks(checkpoint_id, seq, data) VALUES ($1, $2, $3)`, [id, seq++, chunk]);
      return id;
    }).catch(async (e: unknown) => {
      // a claim by another worker deletes stray checkpoints, this one's rows among them: say the run is lost, if it is
      await this.fenced(attemptId, 'writing the checkpoint', async () => {});
      throw e;
    });
    try {
      await this.fenced(attemptId, 'making the checkpoint current', async (q, run) => {
        const [{ checkpoint_id: old }] = (await q.query<{ checkpoint_id: number | null }>(`SELECT checkpoint_id FROM runs WHERE id = $1`, [run])).rows as [{ checkpoint_id: number | null }];
        await q.query(`UPDATE runs SET checkpoint_id = $1 WHERE id = $2`, [id, run]);
        // the superseded one, and any of this attempt's own tries that failed halfway
        await q.query(`DELETE FROM checkpoints WHERE run_id = $1 AND id <> $2 AND (id = $3 OR attempt_id = $4)`, [run, id, old ?? -1, attemptId]);
      });
    } catch (e) {
      await this.query(`DELETE FROM checkpoints WHERE id = $1 AND id IS DISTINCT FROM (SELECT checkpoint_id FROM runs WHERE id = $2)`, [id, runId]).catch(() => {});
      throw e;
    }
  }

  async finish(attemptId: number, outcome: Exclude<AttemptOutcome, 'running'>, error: string | null, maxCrashes: number): Promise<void> {
    const done = async (c: Queryable) =>
      (await c.query(`SELECT 1 FROM attempts WHERE id = $1 AND outcome = $2 AND ended_at IS NOT NULL`, [attemptId, outcome])).rows.length > 0;
    await this.fenced(attemptId, 'finishing the attempt', async (c, runId) => {
      await c.query(`UPDATE attempts SET outcome = $1, ended_at = now(), error = $2 WHERE id = $3`, [outcome, error, attemptId]);
      const total = `(SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run_id = runs.id)`;
      if (outcome === 'complete')
        await c.query(`UPDATE runs SET status = 'complete', attempt_id = NULL, error = NULL, progress = NULL, finished_at = now(), seconds = ${total} WHERE id = $1`, [runId]);
      else if (outcome === 'failed')
        await c.query(`UPDATE runs SET status = 'failed', attempt_id = NULL, error = $1, progress = NULL, finished_at = now(), seconds = ${total} WHERE id = $2`, [error, runId]);
      else if (outcome === 'interrupted')
        await c.query(`UPDATE runs SET status = 'interrupted', attempt_id = NULL, progress = NULL WHERE id = $1`, [runId]);
      else {
        const crashes = (await this.runById(c, runId)).crashes + 1;
        const failed = crashes >= maxCrashes;
        await c.query(`UPDATE runs SET status = $1, attempt_id = NULL, crashes = $2, error = $3, progress = NULL, finished_at = ${failed ? 'now()' : 'NULL'} WHERE id = $4`,
          [failed ? 'failed' : 'queued', crashes, failed ? `${error}; ${crashes} crashed attempts, the limit` : error, runId]);
      }
    }, done);
  }

  /**
   * This store's pool as pg-boss's `db` adapter (src/queue/): its SQL runs as given, neither
   * retried nor its errors reworded (pg-boss reads their codes), with the same connection settings.
   */
  queueDb(): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
    return { executeSql: async (text, values) => ({ rows: (await this.pool.query(text, values)).rows }) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** `parts` as chunks of `size` bytes (the last shorter): views of a part where one holds a whole chunk, copies where chunks straddle parts. */
export function* chunks(parts: readonly Uint8Array[], size: number): Generator<Buffer> {
  let stage: Buffer | null = null;
  let fill = 0;
  for (const p of parts) {
    for (let pos = 0; pos < p.byteLength; ) {
      if (fill === 0 && p.byteLength - pos >= size) {
        yield Buffer.from(p.buffer, p.byteOffset + pos, size);
        pos += size;
        continue;
      }
      stage ??= Buffer.allocUnsafe(size);
      const n = Math.min(size - fill, p.byteLength - pos);
      stage.set(p.subarray(pos, pos + n), fill);
      fill += n;
      pos += n;
      if (fill === size) {
        yield stage;
        stage = null;
        fill = 0;
      }
    }
  }
  if (fill > 0) yield stage!.subarray(0, fill);
}

/** `message` on one line, with the URL's password (and `secret`) replaced by ***. */
function sanitize(message: string, url: string, secret?: string): string {
  let out = message.replace(/\s*\n\s*/g, ' ');
  const m = url.match(/^postgres(?:ql)?:\/\/[^:@/]*:([^@]*)@/i) ?? url.match(/^postgres(?:ql)?:\/\/[^:]*:(.*)@/i);
  const secrets = [secret, m?.[1], m?.[1] && safeDecode(m[1])].filter((s): s is string => !!s && s.length > 0);
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

