// The searches of `googlenet explore` in the run store (schema 4 on): one contract, run against
// SqliteStore (a temp file) and PostgresStore (a throwaway cluster, see pg-cluster.ts): a search and
// its runs recorded, idempotent, rungs raised and never lowered, a row or spec that differs from
// the recorded one refused in one line, runs and searches that do not exist refused. Then the
// upgrade of a schema-3 store (SQLite and PostgreSQL), which keeps its runs and gains the tables,
// and the folder store, which holds one run and so no search.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FolderStore } from '../src/store/folder.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { RunRow, RunSpec, RunStore, SearchRunRow } from '../src/store/store.js';
import { defaultRecipe } from '../src/train/config.js';
import { freshPostgresStore, requirePostgres, startCluster, type PgCluster } from './pg-cluster.js';

const recipe = defaultRecipe('googlenet', 'cifar10');
const spec = (seed: number, val = 5000): RunSpec => ({ model: 'googlenet', dataset: 'cifar10', recipe: { ...recipe, seed, val }, classes: 10, params: 6_166_250, macs: 1_529_000_000 });
/** A search's id, as explore makes it: the SHA-256 of its arguments. */
const idOf = (s: string) => createHash('sha256').update(s).digest('hex');
const args = { base: 'googlenet', dataset: 'cifar10', candidates: 8, rungs: [1, 3, 9], mutations: { widths: [0.5, 0.75], drop: true } };

interface Harness {
  store: RunStore;
  /** Another store on the same place (another worker). */
  reopen(): Promise<RunStore>;
  /** SQL on the store's database, as its owner. */
  sql(text: string): Promise<void>;
  close(): Promise<void>;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const message = (e as Error).message;
    assert.ok(!message.includes('\n'), `one line: ${message}`);
    return message;
  }
  assert.fail('not refused');
}

function contract(open: () => Promise<Harness>): void {
  let h: Harness;
  let store: RunStore;
  let runs: RunRow[];
  const fresh = async () => {
    h = await open();
    store = h.store;
    runs = [];
    for (const seed of [1, 2, 3]) runs.push(await store.ensureRun(spec(seed)));
    return store;
  };
  const row = (over: Partial<SearchRunRow>): SearchRunRow => ({
    search: idOf('a'), candidate: 1, runId: runs[0]!.id, role: 'search', parent: 0, mutation: { op: 'width', block: 'a4', width: 0.5 }, generation: 0, rung: 1, ...over,
  });

  test('a search and its runs are recorded, and read back by candidate, then run', async () => {
    await fresh();
    try {
      const id = idOf('a');
      assert.deepEqual(await store.searches(), []);
      assert.deepEqual(await store.searchRuns(id), []);
      await store.recordSearch(id, args);
      const [s, ...none] = await store.searches();
      assert.deepEqual(none, []);
      assert.deepEqual([s!.id, s!.spec], [id, args]);
      assert.ok(Number.isFinite(Date.parse(s!.createdAt)), s!.createdAt);
      // recorded out of order; a mutation may be any JSON, a string too
      const rows: SearchRunRow[] = [
        row({ candidate: 2, runId: runs[1]!.id, mutation: 'drop a4', generation: 1, parent: 1 }),
        row({ candidate: 0, runId: runs[2]!.id, parent: null, mutation: null }),
        row({ candidate: 3, runId: runs[2]!.id, role: 'confirm', parent: null, mutation: null, generation: 0, rung: 0 }),
        row({ candidate: 3, runId: runs[0]!.id, role: 'confirm', parent: null, mutation: null, generation: 0, rung: 0 }),
        row({ candidate: 0, runId: runs[0]!.id, parent: null, mutation: null }),
        row({ candidate: 1, runId: runs[0]!.id, mutation: { op: 'width', block: 'a4', width: 0.5, extra: [1, 2.5, 1e-7, { z: null, a: true }] } }),
      ];
      for (const r of rows) await store.recordSearchRun(r);
      const byKey = (a: SearchRunRow, b: SearchRunRow) => a.candidate - b.candidate || a.runId - b.runId;
      assert.deepEqual(await store.searchRuns(id), [...rows].sort(byKey));
      // another search's rows are its own; the same run may be in both
      await store.recordSearch(idOf('b'), { ...args, candidates: 4 });
      await store.recordSearchRun(row({ search: idOf('b'), candidate: 0, parent: null, mutation: null }));
      assert.deepEqual((await store.searchRuns(idOf('b'))).map((r) => [r.candidate, r.runId]), [[0, runs[0]!.id]]);
      assert.equal((await store.searchRuns(id)).length, rows.length);
      // and another worker sees them all
      const other = await h.reopen();
      assert.deepEqual(await other.searchRuns(id), [...rows].sort(byKey));
    } finally {
      await h.close();
    }
  });

  test('recording again is a no-op, a higher rung raises it and a lower one never lowers it; another worker at once records it once', async () => {
    await fresh();
    try {
      const id = idOf('a');
      await store.recordSearch(id, args);
      // the same arguments with their keys in another order are the same search
      await store.recordSearch(id, { mutations: { drop: true, widths: [0.5, 0.75] }, rungs: [1, 3, 9], candidates: 8, dataset: 'cifar10', base: 'googlenet' });
      assert.equal((await store.searches()).length, 1);
      const r = row({});
      await store.recordSearchRun(r);
      // the mutation's keys in another order are the same mutation
      await store.recordSearchRun({ ...r, mutation: { width: 0.5, block: 'a4', op: 'width' } });
      assert.deepEqual(await store.searchRuns(id), [r]);
      await store.recordSearchRun({ ...r, rung: 3 });
      assert.deepEqual((await store.searchRuns(id)).map((x) => x.rung), [3]);
      await store.recordSearchRun({ ...r, rung: 2 });
      await store.recordSearchRun(r);
      assert.deepEqual(await store.searchRuns(id), [{ ...r, rung: 3 }]);
      const other = await h.reopen();
      await Promise.all([store.recordSearchRun({ ...r, candidate: 5, rung: 2 }), other.recordSearchRun({ ...r, candidate: 5, rung: 4 }), other.recordSearch(id, args)]);
      assert.deepEqual((await store.searchRuns(id)).map((x) => [x.candidate, x.rung]), [[1, 3], [5, 4]]);
    } finally {
      await h.close();
    }
  });

  test('a row that differs from the recorded one in role, parent, mutation or generation is refused in one line naming the search and candidate', async () => {
    await fresh();
    try {
      const id = idOf('a');
      await store.recordSearch(id, args);
      const r = row({ candidate: 4 });
      await store.recordSearchRun(r);
      const head = `${store.url}: search ${id.slice(0, 12)}, candidate 4 (run ${r.runId}) is recorded with`;
      const tail = '; the search was resumed with other arguments: resume it with its own, or start another search';
      assert.equal(await refusal(store.recordSearchRun({ ...r, role: 'confirm' })), `${head} role 'search', not 'confirm'${tail}`);
      assert.equal(await refusal(store.recordSearchRun({ ...r, parent: 2 })), `${head} parent 0, not 2${tail}`);
      assert.equal(await refusal(store.recordSearchRun({ ...r, parent: null })), `${head} parent 0, not none${tail}`);
      assert.equal(await refusal(store.recordSearchRun({ ...r, mutation: { op: 'width', block: 'a4', width: 0.75 } })),
        `${head} mutation {"block":"a4","op":"width","width":0.5}, not {"block":"a4","op":"width","width":0.75}${tail}`);
      assert.equal(await refusal(store.recordSearchRun({ ...r, mutation: null, generation: 2, rung: 5 })), `${head} mutation {"block":"a4","op":"width","width":0.5}, not none, generation 0, not 2${tail}`);
      // nothing refused was written, the rung neither
      assert.deepEqual(await store.searchRuns(id), [r]);
      // a row that is no row
      assert.match(await refusal(store.recordSearchRun({ ...r, role: 'other' as 'search' })), /search [0-9a-f]{12}, candidate 4: role 'other' is none of search, confirm$/);
      assert.match(await refusal(store.recordSearchRun({ ...r, candidate: -1 })), /candidate -1: candidate -1 is not a whole number ≥ 0$/);
      assert.match(await refusal(store.recordSearchRun({ ...r, rung: 1.5 })), /candidate 4: rung 1.5 is not a whole number ≥ 0$/);
      assert.match(await refusal(store.recordSearchRun({ ...r, candidate: 6, mutation: { width: NaN } })), /candidate 6: the mutation is not JSON \(canonicalize: NaN is no JSON number\)/);
      assert.deepEqual(await store.searchRuns(id), [r]);
    } finally {
      await h.close();
    }
  });

  test('a run of a search not recorded, or of a run that does not exist, is refused; so is a spec other than the recorded one', async () => {
    await fresh();
    try {
      const id = idOf('a'), unknown = idOf('nowhere');
      assert.equal(await refusal(store.recordSearchRun(row({ search: unknown }))), `${store.url}: no search ${unknown.slice(0, 12)} is recorded; record the search before its runs`);
      await store.recordSearch(id, args);
      assert.equal(await refusal(store.recordSearchRun(row({ runId: 999 }))),
        `${store.url}: search ${id.slice(0, 12)}, candidate 1: no run with id 999; record the run before it joins the search`);
      assert.deepEqual(await store.searchRuns(id), []);
      assert.equal(await refusal(store.recordSearch(id, { ...args, candidates: 9 })),
        `${store.url}: search ${id.slice(0, 12)} is recorded with other arguments than these; a search's id is the hash of its arguments, so give these their own id`);
      assert.match(await refusal(store.recordSearch(idOf('c'), { n: undefined, f: () => 1 })), /search [0-9a-f]{12}'s arguments is not JSON/);
      assert.deepEqual((await store.searches()).map((s) => [s.id, s.spec]), [[id, args]]);
    } finally {
      await h.close();
    }
  });

  test('searches() are in the order recorded, ties by id', async () => {
    await fresh();
    try {
      const [x, y, z] = ['x', 'y', 'z'].map(idOf).sort() as [string, string, string];
      for (const id of [z, x, y]) {
        await store.recordSearch(id, { id });
        await sleep(5);
      }
      assert.deepEqual((await store.searches()).map((s) => s.id), [z, x, y]);
      const t = new Date(Date.UTC(2026, 0, 1)).toISOString();
      await h.sql(`UPDATE searches SET created_at = '${t}' WHERE id IN ('${y}', '${z}')`);
      const got = await store.searches();
      assert.deepEqual(got.map((s) => s.id), [y, z, x]);
      assert.deepEqual(got.map((s) => s.createdAt).slice(0, 2), [t, t]);
    } finally {
      await h.close();
    }
  });
}

// --- SQLite ---

function sqliteHarness(dir: string, file: string, store: SqliteStore): Harness {
  const stores: RunStore[] = [store];
  return {
    store,
    reopen: async () => {
      const s = SqliteStore.open(file);
      stores.push(s);
      return s;
    },
    sql: async (text) => {
      const db = new Database(file);
      try {
        db.exec(text);
      } finally {
        db.close();
      }
    },
    close: async () => {
      for (const s of stores) await s.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('SqliteStore', () => {
  contract(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-search-'));
    const file = path.join(dir, 'experiment.sqlite');
    return sqliteHarness(dir, file, SqliteStore.open(file));
  });

  test('a schema-3 file upgrades to 5 in place: its runs kept, the search tables and attempts.conv gained; a schema newer than 5 is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-search-v3-'));
    const file = path.join(dir, 'experiment.sqlite');
    try {
      // schema 3 is today's schema less the search tables and attempts.conv
      let store = SqliteStore.open(file);
      const a = await store.ensureRun(spec(1)), b = await store.ensureRun(spec(2, 0));
      await store.close();
      const exec = (text: string) => {
        const db = new Database(file);
        try {
          db.exec(text);
        } finally {
          db.close();
        }
      };
      exec(`DROP TABLE search_runs; DROP TABLE searches; ALTER TABLE attempts DROP COLUMN conv; UPDATE meta SET value = '3' WHERE key = 'schema_version'`);
      const look = (text: string) => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(text).all();
        } finally {
          db.close();
        }
      };
      const tables = `SELECT name FROM sqlite_master WHERE name IN ('searches', 'search_runs', 'search_runs_run_id') ORDER BY name`;
      assert.deepEqual(look(tables), []);
      const before = look(`SELECT * FROM runs ORDER BY id`);
      store = SqliteStore.open(file);
      try {
        assert.deepEqual(look(`SELECT value FROM meta WHERE key = 'schema_version'`), [{ value: '5' }]);
        assert.deepEqual(look(tables), [{ name: 'search_runs' }, { name: 'search_runs_run_id' }, { name: 'searches' }]);
        assert.ok((look(`PRAGMA table_info(attempts)`) as { name: string }[]).some((c) => c.name === 'conv'), 'attempts.conv gained');
        assert.deepEqual(look(`SELECT * FROM runs ORDER BY id`), before);
        assert.deepEqual((await store.runs()).map((r) => [r.id, r.recipe.seed, r.recipe.val]), [[a.id, 1, 5000], [b.id, 2, 0]]);
        await store.recordSearch(idOf('a'), args);
        await store.recordSearchRun({ search: idOf('a'), candidate: 0, runId: a.id, role: 'search', parent: null, mutation: null, generation: 0, rung: 1 });
        assert.equal((await store.searchRuns(idOf('a'))).length, 1);
      } finally {
        await store.close();
      }
      exec(`UPDATE meta SET value = '6' WHERE key = 'schema_version'`);
      assert.throws(() => SqliteStore.open(file), { message: `sqlite:${file}: schema version 6 is newer than this build's 5; use the googlenet that wrote it, or upgrade this one` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- PostgreSQL ---

describe('PostgresStore', requirePostgres(), () => {
  let cluster: PgCluster;
  let dbs = 0;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  const freshDb = async () => {
    const name = `s${++dbs}`;
    return { name, url: await cluster.createDatabase(name) };
  };

  contract(async () => {
    const name = `s${++dbs}`;
    const { store, reopen, close } = await freshPostgresStore(cluster, name);
    return {
      store,
      reopen,
      sql: async (text) => void (await cluster.superQuery(text, name)),
      close,
    };
  });

  test('a schema-3 database upgrades to 5 in place: its runs kept, the search tables and attempts.conv gained', async () => {
    const { name, url } = await freshDb();
    const q = async (text: string) => (await cluster.superQuery(text, name)).rows;
    let store = await PostgresStore.open(url);
    const a = await store.ensureRun(spec(1));
    await store.close();
    // schema 3 is today's schema less the search tables and attempts.conv
    await q(`DROP TABLE search_runs; DROP TABLE searches; ALTER TABLE attempts DROP COLUMN conv; UPDATE meta SET value = '3' WHERE key = 'schema_version'`);
    const tables = `SELECT tablename FROM pg_tables WHERE tablename IN ('searches', 'search_runs') ORDER BY tablename`;
    assert.deepEqual(await q(tables), []);
    const before = await q(`SELECT * FROM runs ORDER BY id`);
    // two workers at once: one upgrades, the other finds it done
    const [s1, s2] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    await s2.close();
    store = s1;
    try {
      assert.deepEqual(await q(`SELECT value FROM meta WHERE key = 'schema_version'`), [{ value: '5' }]);
      assert.deepEqual(await q(tables), [{ tablename: 'search_runs' }, { tablename: 'searches' }]);
      assert.deepEqual(await q(`SELECT column_name FROM information_schema.columns WHERE table_name = 'attempts' AND column_name = 'conv'`), [{ column_name: 'conv' }]);
      assert.deepEqual(await q(`SELECT * FROM runs ORDER BY id`), before);
      await store.recordSearch(idOf('a'), args);
      await store.recordSearchRun({ search: idOf('a'), candidate: 0, runId: a.id, role: 'search', parent: null, mutation: null, generation: 0, rung: 1 });
      assert.equal((await store.searchRuns(idOf('a'))).length, 1);
    } finally {
      await store.close();
    }
  });
});

// --- the folder ---

test('a run folder holds one run and so no search: recording one is refused in one line, reading finds none', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'googlenet-search-folder-'));
  try {
    const store = new FolderStore(dir);
    const want = `${dir}: a run folder holds one run; a search needs sqlite:PATH or postgres://…`;
    assert.equal(await refusal(store.recordSearch(idOf('a'), args)), want);
    assert.equal(await refusal(store.recordSearchRun({ search: idOf('a'), candidate: 0, runId: 1, role: 'search', parent: null, mutation: null, generation: 0, rung: 1 })), want);
    assert.deepEqual(await store.searches(), []);
    assert.deepEqual(await store.searchRuns(idOf('a')), []);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
