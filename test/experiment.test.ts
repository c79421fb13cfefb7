import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExperimentDb, type RunInfo } from '../src/experiment/db.js';
import { buildResults, formatDuration, MODEL_ORDER, renderMarkdown, SEED_TABLES, writeReport } from '../src/experiment/report.js';

const info = (model: string, params: number, macs: number): RunInfo => ({
  model, dataset: 'cifar10', classes: 10, params, macs, epochsPlanned: 2, config: { model, dataset: 'cifar10', epochs: 2, lr: 0.1 }, threads: 4,
});
const epoch = (n: number, top1: number, seconds: number) => ({
  epoch: n, trainLoss: 2.1 - 0.5 * n, testLoss: 1.9 - 0.4 * n, top1Error: top1, top5Error: top1 / 6, lr: 0.1, seconds,
});

function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-test-'));
  const db = ExperimentDb.open(path.join(dir, 'nested', 'experiment.sqlite'));
  const s4 = db.beginRun(info('googlenet-short4', 1551546, 156575744), 0);
  db.recordEpoch(s4, epoch(1, 0.5512, 100.25));
  db.recordEpoch(s4, epoch(2, 0.4123, 101.5));
  db.completeRun(s4);
  const s3 = db.beginRun(info('googlenet-short3', 1872914, 364718080), 0);
  db.recordEpoch(s3, epoch(1, 0.6034, 250));
  return { dir, db, s3, s4 };
}

test('ExperimentDb: schema, unique runs, resume, replace, completion', () => {
  const { dir, db, s3, s4 } = fixture();
  try {
    assert.equal(db.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(db.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get(), { value: '1' });
    assert.throws(() => db.db.prepare(`INSERT INTO runs(model, dataset, classes, params, macs, epochs_planned, config, threads, status, started_at)
      VALUES ('googlenet-short4', 'cifar10', 10, 1, 1, 1, '{}', 1, 'running', 'now')`).run(), /UNIQUE/);
    assert.throws(() => db.db.prepare(`UPDATE runs SET status = 'odd' WHERE id = ?`).run(s4), /CHECK/);

    const r4 = db.run('googlenet-short4', 'cifar10')!;
    assert.equal(r4.status, 'complete');
    assert.equal(r4.seconds, 201.75);
    assert.ok(r4.finishedAt);
    assert.deepEqual(r4.config, { model: 'googlenet-short4', dataset: 'cifar10', epochs: 2, lr: 0.1 });
    assert.equal(db.run('googlenet-short4', 'cifar100'), undefined);
    assert.deepEqual(db.runs().map((r) => r.model), ['googlenet-short4', 'googlenet-short3']);

    // recordEpoch replaces an epoch recorded twice
    db.recordEpoch(s3, epoch(1, 0.6, 240));
    assert.deepEqual(db.epochs(s3).map((e) => [e.epoch, e.top1Error, e.seconds]), [[1, 0.6, 240]]);
    db.recordEpoch(s3, epoch(1, 0.6034, 250));

    // resuming from checkpoint epoch 1: same row, back to running, epoch 2 deleted
    assert.equal(db.beginRun(info('googlenet-short4', 1551546, 156575744), 1), s4);
    const resumed = db.run('googlenet-short4', 'cifar10')!;
    assert.equal(resumed.status, 'running');
    assert.equal(resumed.seconds, null);
    assert.equal(resumed.finishedAt, null);
    assert.deepEqual(db.epochs(s4).map((e) => e.epoch), [1]);
    db.recordEpoch(s4, epoch(2, 0.4, 99));
    db.completeRun(s4);
    assert.equal(db.run('googlenet-short4', 'cifar10')!.seconds, 100.25 + 99);

    db.failRun(s3, 'out of memory');
    assert.deepEqual([db.run('googlenet-short3', 'cifar10')!.status, db.run('googlenet-short3', 'cifar10')!.error], ['failed', 'out of memory']);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('report: results.md, results.json and plots drawn from the db', async () => {
  const { dir, db, s4 } = fixture();
  try {
    const r = buildResults(db);
    assert.deepEqual(Object.keys(r.datasets), ['cifar10']);
    const rows = r.datasets.cifar10!;
    assert.deepEqual(rows.map((x) => x.model), ['googlenet-short3', 'googlenet-short4']); // table order
    assert.deepEqual(rows[1], {
      model: 'googlenet-short4', params: 1551546, macs: 156575744, top1Error: 0.4123, top5Error: 0.4123 / 6, seconds: 201.75,
      epochs: 2, status: 'complete', epochsPlanned: 2, seed: SEED_TABLES.cifar10['googlenet-short4'],
    });
    assert.equal(rows[0]!.status, 'running');
    assert.equal(rows[0]!.epochs, 1);
    assert.equal(rows[0]!.seconds, 250);
    assert.equal(MODEL_ORDER.length, 7);

    const out = path.join(dir, 'out');
    const files = await writeReport(db, out, 'my.sqlite');
    const md = fs.readFileSync(files.markdown, 'utf8');
    assert.equal(md, fs.readFileSync(path.join(out, 'results.md'), 'utf8'));
    assert.match(md, /## CIFAR-10\n/);
    assert.match(md, /\| network \| Top 1 Error \| Top 5 Error \| Parameters \| MACs \| Time \(2 epochs\) \| seed Top 1 \|/);
    assert.ok(md.includes('| googlenet-short4 | 0.41 | 0.07 | 1,551,546† | 156,575,744 | 3m22s | 0.15 | 0.01 | 1,557,834 | 25m30s |'), md);
    assert.ok(md.includes('| googlenet-short3 (running, epoch 1 of 2) | 0.60 | 0.10 | 1,872,914† | 364,718,080 | 4m10s (1 epoch) | 0.11 | 0.00 | 1,892,970 | 26m31s |'), md);
    assert.match(md, /^† googlenet-short3 is a reconstruction/m);
    assert.match(md, /^† googlenet-short4 is a reconstruction/m);
    assert.ok(md.includes('![cifar10-test-top1](plots/cifar10-test-top1.svg)'));
    assert.ok(md.includes('drawn from `my.sqlite`'));

    const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
    assert.deepEqual(json.datasets.cifar10[1].top1Error, 0.4123);
    assert.deepEqual(json.runs.map((x: { id: number }) => x.id), db.runs().map((x) => x.id).reverse());
    assert.deepEqual(json.runs.find((x: { id: number }) => x.id === s4).epochs, db.epochs(s4));

    assert.deepEqual(files.plots.map((p) => path.basename(p)).sort(),
      ['cifar10-test-top1.svg', 'cifar10-top1-vs-params.svg', 'cifar10-train-loss.svg']);
    for (const p of files.plots) {
      const svg = fs.readFileSync(p, 'utf8');
      assert.ok(svg.startsWith('<svg'), p);
      assert.ok(svg.includes('googlenet-short4') && svg.includes('googlenet-short3'), p);
    }
    const leftovers = [...fs.readdirSync(out), ...fs.readdirSync(path.join(out, 'plots'))].filter((f) => f.includes('.tmp-'));
    assert.deepEqual(leftovers, []);

    // a failed run is marked
    db.failRun(s4, 'NaN loss');
    assert.match(renderMarkdown(buildResults(db)), /\| googlenet-short4 \(failed: NaN loss\) \|/);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('formatDuration: the seed style', () => {
  assert.equal(formatDuration(1748), '29m8s');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(3723), '1h2m3s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(600), '10m0s');
});
