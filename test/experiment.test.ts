import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildResults, formatDuration, MODEL_ORDER, parseDuration, renderMarkdown, SEED_TABLES, writeReport } from '../src/experiment/report.js';
import { SCHEMA_VERSION, SqliteStore } from '../src/store/sqlite.js';
import { isRefusal, type RunClaim, type RunStore } from '../src/store/store.js';
import { defaultRecipe } from '../src/train/config.js';
import { builtinNetwork, modelNames } from '../src/models/googlenet.js';
import { canonicalNetwork, describeLayers, networkHash } from '../src/models/network.js';
import { machineDifference, thisMachine } from '../src/util/machine.js';
import { repoRoot } from './helpers.js';

const spec = (model: string, params: number, macs: number) => ({
  model, dataset: 'cifar10', recipe: { ...defaultRecipe(model, 'cifar10'), epochs: 2, lr: 0.1 }, classes: 10, params, macs,
});
const epoch = (n: number, top1: number, seconds: number) => ({
  epoch: n, trainLoss: 2.1 - 0.5 * n, testLoss: 1.9 - 0.4 * n, top1Error: top1, top5Error: top1 / 6, lr: 0.1, seconds, finishedAt: new Date().toISOString(),
});
const worker = { name: 'test:1', heartbeat: 30 };

async function claimed(store: RunStore, model: string, params: number, macs: number): Promise<RunClaim> {
  const run = await store.ensureRun(spec(model, params, macs));
  const c = await store.claim(run.id, worker);
  assert.ok(!isRefusal(c), JSON.stringify(c));
  await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
  return c;
}

/** A store with googlenet-short4 complete after 2 epochs and googlenet-short3 running in epoch 2. */
async function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-test-'));
  const store = SqliteStore.open(path.join(dir, 'nested', 'experiment.sqlite'));
  const s4 = await claimed(store, 'googlenet-short4', 1551546, 156575744);
  await s4.recordEpoch(epoch(1, 0.5512, 100.25));
  await s4.recordEpoch(epoch(2, 0.4123, 101.5));
  await s4.finish('complete');
  const s3 = await claimed(store, 'googlenet-short3', 1872914, 364718080);
  await s3.recordEpoch(epoch(1, 0.6034, 250));
  return { dir, store, s3, s4 };
}

test(`SQLite store: WAL, schema ${SCHEMA_VERSION}, unique runs, status values, one claim at a time`, async () => {
  const { dir, store, s3 } = await fixture();
  try {
    const db = new Database(store.file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(SCHEMA_VERSION, 5);
    assert.deepEqual(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get(), { value: '5' });
    db.close();
    const rw = new Database(store.file);
    assert.throws(() => rw.prepare(`INSERT INTO runs(model, dataset, network_hash, recipe_key, classes, params, macs, epochs_planned, recipe, status, created_at)
      SELECT 'other', dataset, network_hash, recipe_key, 10, 1, 1, 1, '{}', 'queued', 'now' FROM runs WHERE model = 'googlenet-short4'`).run(), /UNIQUE/);
    assert.throws(() => rw.prepare(`UPDATE runs SET status = 'odd' WHERE id = ?`).run(s3.run.id), /CHECK/);
    rw.close();

    const r4 = (await store.run('googlenet-short4', 'cifar10'))!;
    assert.equal(r4.status, 'complete');
    assert.equal(r4.seconds, 201.75);
    assert.ok(r4.finishedAt);
    assert.deepEqual([r4.recipe.epochs, r4.recipe.lr], [2, 0.1]);
    assert.equal(await store.run('googlenet-short4', 'cifar100'), undefined);
    assert.deepEqual((await store.runs()).map((r) => r.model), ['googlenet-short4', 'googlenet-short3']);

    // another recipe of a recorded network and dataset is another run beside it
    const lr = await store.ensureRun({ ...spec('googlenet-short4', 1551546, 156575744), recipe: { ...spec('googlenet-short4', 0, 0).recipe, lr: 0.5 } });
    assert.deepEqual([lr.status, lr.recipe.lr, (await store.runs()).length], ['queued', 0.5, 3]);
    // the run s3 holds is busy for another worker; a complete one is done
    const other = { name: 'other:2', heartbeat: 30 };
    assert.match((await store.claim(s3.run.id, other) as { reason: string }).reason, /googlenet-short3 on cifar10 is held by test:1 \(attempt 2, heartbeat \d+ s ago\)/);
    assert.deepEqual(await store.claim(r4.id, other), { refused: 'done', reason: 'googlenet-short4 on cifar10 is complete' });

    // recordEpoch replaces an epoch recorded twice, and records the attempt that wrote it
    await s3.recordEpoch(epoch(1, 0.6, 240));
    assert.deepEqual((await store.epochs(s3.run.id)).map((e) => [e.epoch, e.top1Error, e.seconds]), [[1, 0.6, 240]]);
    const ro = new Database(store.file, { readonly: true });
    assert.deepEqual(ro.prepare(`SELECT attempt_id FROM epochs WHERE run_id = ?`).all(s3.run.id), [{ attempt_id: s3.attemptId }]);
    ro.close();
    await s3.finish('failed', 'out of memory');
    const r3 = (await store.run('googlenet-short3', 'cifar10'))!;
    assert.deepEqual([r3.status, r3.error, r3.attemptId], ['failed', 'out of memory', null]);
    assert.deepEqual((await store.attempts(r3.id)).map((a) => [a.outcome, a.worker, a.firstBatch]), [['failed', 'test:1', { epoch: 1, batch: 0 }]]);
    await store.retry(r3.id);
    assert.equal((await store.run('googlenet-short3', 'cifar10'))!.status, 'queued');
    await assert.rejects(store.retry(r4.id), /googlenet-short4 on cifar10 is complete, not failed/);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a schema-1 experiment.sqlite from before the store opens, upgrades in place and reports the same numbers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema1-'));
  const fixtureDir = path.join(repoRoot, 'test', 'data', 'schema1');
  fs.copyFileSync(path.join(fixtureDir, 'experiment.sqlite'), path.join(dir, 'experiment.sqlite'));
  const before = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'results.json'), 'utf8'));
  const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
  try {
    const after = await buildResults(store);
    // a run version 1 left 'running' was cut short: it is now 'interrupted' (it resumes); all else is as it was
    for (const rows of Object.values(before.datasets) as { status: string }[][]) for (const r of rows) if (r.status === 'running') r.status = 'interrupted';
    // the rows now also name their network (layers, sha256, builtin): the rest as it was. googlenet-short1
    // (an older build's network, not one of today's seven) has none, and the report says so
    const known = (model: string) => modelNames().includes(model);
    const numbers = Object.fromEntries(Object.entries(after.datasets).map(([d, rows]) => [d, rows.map(({ layers, sha256, builtin, label, runId, recipeSeed, val, heldOut, ...rest }) => {
      // and name their run (one per network here: the label is the network's name; no hold-out before schema 3)
      assert.deepEqual([label, typeof runId, recipeSeed, val, heldOut], [rest.model, 'number', 1, 0, false]);
      if (known(rest.model)) assert.ok(layers && sha256 && builtin, `${rest.model}: its network named`);
      else assert.deepEqual([sha256, builtin], [null, false], `${rest.model}: no network known`);
      return rest;
    })]));
    assert.ok(!Object.values(after.datasets).flat().every((r) => known(r.model)), 'the fixture holds a network this build does not know');
    assert.deepEqual(numbers, before.datasets, 'every table row the same: errors, params, MACs, times, statuses');
    assert.equal(after.runs.length, 4);
    for (const r of before.runs) {
      const now = after.runs.find((x) => x.model === r.model && x.dataset === r.dataset)!;
      assert.deepEqual(now.epochs, r.epochs, `${r.model} on ${r.dataset}: epochs kept`);
      // the recipe kept, with today's fields: the network of its name where this build knows it, and no hold-out
      const { network, val, ...rest } = now.recipe;
      assert.deepEqual(rest, r.config.recipe, 'the recipe kept');
      assert.equal(val, 0);
      assert.deepEqual(network, known(r.model) ? canonicalNetwork(builtinNetwork(r.model)!) : undefined, 'a network this build does not know is kept by its name');
      assert.equal(now.status, r.status === 'running' ? 'interrupted' : r.status);
    }
    const db = new Database(store.file, { readonly: true });
    assert.deepEqual(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get(), { value: String(SCHEMA_VERSION) });
    assert.deepEqual(db.prepare(`SELECT COUNT(*) AS n FROM epochs WHERE attempt_id IS NULL`).get(), { n: 5 });
    db.close();
    // and it takes new attempts, recording their convolution algorithm (schema 5)
    const short2 = after.runs.find((r) => r.model === 'googlenet-short2')!;
    const c = await store.claim(short2.id, worker);
    assert.ok(!isRefusal(c));
    await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'winograd'));
    assert.equal((await store.attempts(short2.id)).at(-1)!.machine?.conv, 'winograd');
    await c.abandon();
  } finally {
    await store.close();
  }
  // a store newer than this build is refused with one line
  const db = new Database(path.join(dir, 'experiment.sqlite'));
  db.prepare(`UPDATE meta SET value = '6' WHERE key = 'schema_version'`).run();
  db.close();
  assert.throws(() => SqliteStore.open(path.join(dir, 'experiment.sqlite')), /schema version 6 is newer than this build's 5; use the googlenet that wrote it/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('report: results.md, results.json and plots drawn from the store', async () => {
  const { dir, store, s3, s4 } = await fixture();
  try {
    const r = await buildResults(store);
    assert.deepEqual(Object.keys(r.datasets), ['cifar10']);
    const rows = r.datasets.cifar10!;
    assert.deepEqual(rows.map((x) => x.model), ['googlenet-short3', 'googlenet-short4']); // table order
    const s4net = builtinNetwork('googlenet-short4')!;
    assert.deepEqual(rows[1], {
      model: 'googlenet-short4', layers: describeLayers(s4net), sha256: networkHash(s4net), builtin: true, params: 1551546, macs: 156575744, top1Error: 0.4123, top5Error: 0.4123 / 6, seconds: 201.75,
      epochs: 2, status: 'complete', epochsPlanned: 2, seed: SEED_TABLES.cifar10['googlenet-short4'],
      label: 'googlenet-short4', runId: s4.run.id, recipeSeed: 1, val: 0, heldOut: false,
    });
    assert.equal(rows[0]!.status, 'running');
    assert.equal(rows[0]!.epochs, 1);
    assert.equal(rows[0]!.seconds, 250);
    assert.equal(MODEL_ORDER.length, 7);

    const out = path.join(dir, 'out');
    const files = await writeReport(store, out);
    const md = fs.readFileSync(files.markdown, 'utf8');
    assert.equal(md, fs.readFileSync(path.join(out, 'results.md'), 'utf8'));
    assert.ok(md.includes("## CIFAR-10\n\nOurs: CIFAR-10 · 50,000 training images · 10,000 test images · 2 of 14 epochs · adadelta lr 0.1 · batch 64. " +
      "The seed columns are the seed's own runs: all 50,000 training images, 14 epochs, PyTorch 1.6 on its GPU.\n"), md);
    assert.match(md, /\| network \| Top 1 Error \| Top 5 Error \| Parameters \| MACs \| Time \(2 epochs\) \| seed Top 1 \|/);
    assert.ok(md.includes('| googlenet-short4 | 0.41 | 0.07 | 1,551,546† | 156,575,744 | 3m22s | 0.15 | 0.01 | 1,557,834 | 25m30s |'), md);
    assert.ok(md.includes('| googlenet-short3 (running, epoch 1 of 2) | 0.60 | 0.10 | 1,872,914† | 364,718,080 | 4m10s (1 epoch) | 0.11 | 0.00 | 1,892,970 | 26m31s |'), md);
    assert.match(md, /^† googlenet-short3 is a reconstruction/m);
    assert.match(md, /^† googlenet-short4 is a reconstruction/m);
    assert.ok(md.includes('![cifar10-test-top1](plots/cifar10-test-top1.svg)'));
    assert.ok(md.includes(`drawn from \`sqlite:${store.file}\``));

    const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
    assert.deepEqual(json.datasets.cifar10[1].top1Error, 0.4123);
    assert.deepEqual(json.runs.map((x: { id: number }) => x.id), (await store.runs()).map((x) => x.id).reverse());
    assert.deepEqual(json.runs.find((x: { id: number }) => x.id === s4.run.id).epochs, await store.epochs(s4.run.id));

    assert.deepEqual(files.plots.map((p) => path.basename(p)).sort(),
      ['cifar10-lr.svg', 'cifar10-test-top1.svg', 'cifar10-test-top5.svg', 'cifar10-time.svg', 'cifar10-top1-vs-macs.svg',
        'cifar10-top1-vs-params.svg', 'cifar10-top5-vs-params.svg', 'cifar10-train-loss.svg']);
    for (const p of files.plots) {
      const svg = fs.readFileSync(p, 'utf8');
      assert.ok(svg.startsWith('<svg'), p);
      assert.ok(svg.includes('googlenet-short4') && svg.includes('googlenet-short3'), p);
    }
    const leftovers = [...fs.readdirSync(out), ...fs.readdirSync(path.join(out, 'plots'))].filter((f) => f.includes('.tmp-'));
    assert.deepEqual(leftovers, []);

    // a failed run is marked
    await s3.finish('failed', 'NaN loss');
    assert.match(renderMarkdown(await buildResults(store)), /\| googlenet-short3 \(failed: NaN loss\) \|/);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('formatDuration and parseDuration: the seed style, both ways', () => {
  for (const t of ['29m8s', '52m51s', '8m56s', '1h2m3s', '45s', '0s']) assert.equal(formatDuration(parseDuration(t)), t);
  assert.equal(parseDuration('29m8s'), 1748);
  assert.equal(parseDuration('2h'), 7200);
  for (const bad of ['', '29 min', '8s29m', 'm']) assert.throws(() => parseDuration(bad), /parseDuration: '.*' is not a duration like 29m8s or 1h2m3s/);
  assert.equal(formatDuration(1748), '29m8s');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(3723), '1h2m3s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(600), '10m0s');
});

test('machineDifference names what changes a run\'s bits: CPU, ISA, oneDNN version, threads, convolution algorithm', () => {
  // "another machine" is derived from this one, whatever CPU, ISA and oneDNN these tests run on
  const here = thisMachine(2, 'direct');
  const otherIsa = here.isa === 'avx2' ? 'avx512_core_bf16' : 'avx2';
  const otherOnednn = here.onednn.replace(/\d+$/, (patch) => String(Number(patch) + 1));
  assert.equal(machineDifference(here, { ...here }), null);
  assert.equal(machineDifference({ ...here, isa: otherIsa, threads: 16 }, here), `ISA ${here.isa} (was ${otherIsa}), 2 threads (was 16)`);
  assert.equal(machineDifference({ ...here, onednn: otherOnednn }, here), `oneDNN ${here.onednn} (was ${otherOnednn})`);
  const other = { ...here, cpu: `Other than ${here.cpu}`, family: (here.family ?? 0) + 1, modelNumber: (here.modelNumber ?? 0) + 1 };
  assert.equal(machineDifference(other, here),
    `CPU ${here.cpu} family ${here.family ?? '?'} model ${here.modelNumber ?? '?'} (was ${other.cpu} family ${other.family} model ${other.modelNumber})`);
  assert.match(machineDifference({ ...here, family: other.family }, here)!, /^CPU /, 'the family number alone differs');
  assert.equal(machineDifference(here, { ...here, conv: 'winograd' }), 'convolutions winograd (was direct)');
  assert.equal(machineDifference({ ...here, conv: 'winograd', threads: 16 }, here), '2 threads (was 16), convolutions direct (was winograd)');
});
