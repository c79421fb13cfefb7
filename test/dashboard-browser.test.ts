// The dashboard in a real browser (Debian's chromium, headless, through playwright-core), on the
// store of a real short experiment: its tables equal results.json, each curve has a line per run
// and a point per epoch, markup written into the store stays text (tables, tooltips, the run's
// page) and opens no dialog, an epoch recorded while the page is open appears within 5 s without
// a reload or a chart drawn afresh (and by polling when the event stream is refused), the compare
// view, no console errors, and a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { startDashboard } from '../src/dashboard/server.js';
import { buildResults, formatDuration, type ResultsJson } from '../src/experiment/report.js';
import { errorCell } from '../src/experiment/statistics.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { isRefusal } from '../src/store/store.js';
import { defaultRecipe, recipeNetwork } from '../src/train/config.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { describeLayers } from '../src/models/network.js';
import { thisMachine } from '../src/util/machine.js';
import { launchChromium, requireChromium, screenshot, VIEWPORT } from './browser.js';
import { dashboardOn, MODELS, shortExperiment } from './dashboard-fixture.js';
import { sharedOpts } from './helpers.js';

const MARKUP = '<img src=x onerror=alert(1)>';
const chromium = requireChromium();
const opts = { ...sharedOpts, ...(chromium.skip ? { skip: chromium.skip } : {}), timeout: 240_000 };

const epoch = (n: number) => ({ epoch: n, trainLoss: 2.4 - 0.2 * n, testLoss: 2.3 - 0.1 * n, top1Error: 0.9 - 0.05 * n, top5Error: 0.5 - 0.05 * n, lr: 1, seconds: 3, finishedAt: new Date().toISOString() });

/** The cells' text of a table's rows, by its data-table name. */
const rows = (page: Page, name: string) => page.$$eval(`[data-table="${name}"] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
/** Paths of a chart's line marks and of its point marks. */
const marks = (page: Page, id: string) => page.$eval(`[data-chart="${id}"]`, (box) => ({
  lines: box.querySelectorAll('g.mark-line.role-mark path').length, points: box.querySelectorAll('g.mark-symbol.role-mark path').length,
}));

test('dashboard in Chromium: tables equal results.json, curves per run and epoch, markup stays text, a new epoch shows live, compare view, no console errors', opts, async () => {
  const dir = shortExperiment();
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsJson;
  const { url, running } = await dashboardOn(dir);
  const browser = await launchChromium();
  const problems: string[] = [], dialogs: string[] = [];
  let navigations = 0;
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    await page.goto(url);
    await page.waitForSelector('[data-chart="cifar10-test-top1"] svg');

    // the results table: ours as results.json has them, the seed's beside
    const table = await rows(page, 'results-cifar10');
    assert.equal(table.length, MODELS.length);
    for (const r of results.datasets.cifar10!) {
      const cells = table.find((c) => c[0]!.startsWith(r.model))!;
      assert.ok(cells, r.model);
      assert.deepEqual(cells, [`${r.model}†`, r.top1Error!.toFixed(4), r.top5Error!.toFixed(4), r.params.toLocaleString('en-US'), r.macs.toLocaleString('en-US'),
        formatDuration(r.seconds!), r.seed!.top1.toFixed(2), r.seed!.top5.toFixed(2), r.seed!.params.toLocaleString('en-US'), r.seed!.time]);
    }
    assert.match(await page.textContent('main') ?? '', /Seed columns quote the seed document \(PyTorch 1\.6, 14 epochs on its GPU\)/);
    assert.match(await page.textContent('main') ?? '', /† googlenet-short3 is a reconstruction/);
    for (const id of ['cifar10-test-top1', 'cifar10-train-loss']) assert.deepEqual(await marks(page, id), { lines: 2, points: 4 }, id);

    // markup straight into the store: a run's error, a recipe value, an attempt's error; and a third run named with markup, on a worker so named,
    // of a declared network (a network file's)
    const db = new Database(path.join(dir, 'experiment.sqlite'));
    db.prepare(`UPDATE runs SET error = ? WHERE model = 'googlenet-short4'`).run(MARKUP);
    db.prepare(`UPDATE runs SET recipe = json_set(recipe, '$.augment', ?) WHERE model = 'googlenet-short3'`).run(MARKUP);
    db.prepare(`UPDATE attempts SET error = ?`).run(MARKUP);
    db.close();
    const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-network-')), 'mine.json');
    fs.writeFileSync(file, JSON.stringify({ format: 'googlenet-network/1', layers: ['maxpool', 'a4', { dropout: 0.2 }, 'maxpool', 'b5'], width: 0.5 }));
    const mineLayers = 'pool a4 drop(0.2) pool b5 ×0.5';
    const run = await store.ensureRun({ model: MARKUP, dataset: 'cifar10', recipe: { ...defaultRecipe('googlenet-short4', 'cifar10'), ...recipeNetwork(file), epochs: 3 }, classes: 10, params: 1_600_000, macs: 1e8 });
    const claim = await store.claim(run.id, { name: `${MARKUP}:1`, heartbeat: 30 });
    assert.ok(!isRefusal(claim));
    await claim.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
    await claim.recordEpoch(epoch(1));

    await page.waitForFunction(() => document.querySelectorAll('[data-table="runs"] tbody tr').length === 3, null, { timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-chart="cifar10-test-top1"] g.mark-symbol.role-mark path').length === 5, null, { timeout: 5000 });
    const runsTable = await rows(page, 'runs');
    const byModel = (m: string) => runsTable.find((c) => c[1]!.startsWith(m))!;
    assert.equal(byModel('googlenet-short4')[10], MARKUP, 'the run error, as text');
    assert.deepEqual(byModel(MARKUP).slice(1, 5), [`${MARKUP} on cifar10`, mineLayers, 'running', `${MARKUP}:1`]);
    assert.equal(byModel('googlenet-short4')[2], describeLayers(builtinNetwork('googlenet-short4')!), 'a built-in\'s layers');
    // the declared network: its row after the seven's with empty seed cells and a note, its layers under Networks
    const declaredRow = (await rows(page, 'results-cifar10')).find((c) => c[0]!.startsWith(MARKUP));
    assert.ok(declaredRow, 'the markup run in the results table');
    assert.deepEqual(declaredRow.slice(3, 5).concat(declaredRow.slice(6)), ['1,600,000', '100,000,000', '—', '—', '—', '—']);
    assert.match(await page.textContent('main') ?? '', /is a declared network \(a network file; its layers under Networks\): the seed has no results for it/);
    assert.deepEqual((await rows(page, 'networks')).map((c) => [c[0], c[1], c[3]]), [
      ['googlenet-short3', describeLayers(builtinNetwork('googlenet-short3')!), 'built-in, a reconstruction †'],
      ['googlenet-short4', describeLayers(builtinNetwork('googlenet-short4')!), 'built-in, a reconstruction †'],
      [MARKUP, mineLayers, 'declared: the seed has no results for it'],
    ]);

    // hover the markup run's point: vega-tooltip shows its name as text
    await page.locator('[data-chart="cifar10-test-top1"] g.mark-symbol.role-mark path').last().hover();
    const tip = page.locator('#vg-tooltip-element.visible');
    await tip.waitFor({ timeout: 5000 });
    assert.ok((await tip.textContent())!.includes(MARKUP), await tip.textContent() ?? '');
    assert.equal(await tip.locator('img').count(), 0);

    // an epoch while the page is open: within 5 s, no reload, the same chart element updated in place
    const before = navigations;
    await page.evaluate(() => {
      (window as unknown as { mark: unknown }).mark = document.querySelector('[data-chart="cifar10-test-top1"] svg');
    });
    const t0 = Date.now();
    await claim.recordEpoch(epoch(2));
    await page.waitForFunction(() => document.querySelectorAll('[data-chart="cifar10-test-top1"] g.mark-symbol.role-mark path').length === 6, null, { timeout: 5000 });
    const seenAfter = Date.now() - t0;
    assert.equal(navigations, before, 'no navigation');
    assert.ok(await page.evaluate(() => (window as unknown as { mark: unknown }).mark === document.querySelector('[data-chart="cifar10-test-top1"] svg')), 'the chart was updated, not embedded again');
    assert.deepEqual(await marks(page, 'cifar10-train-loss'), { lines: 3, points: 6 });
    console.log(`# the new epoch appeared after ${seenAfter} ms`);

    // the run pages: the recipe value and the attempt's error as text
    const s3 = results.runs.find((r) => r.model === 'googlenet-short3')!;
    await page.click(`[data-table="runs"] a[href="#/runs/${s3.id}"]`);
    await page.waitForSelector('[data-table="recipe"]');
    assert.deepEqual((await rows(page, 'recipe')).find((c) => c[0] === 'augment'), ['augment', MARKUP]);
    assert.equal((await rows(page, 'epochs')).length, 2);
    const attempts = await rows(page, 'attempts');
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]![7], MARKUP);
    await page.waitForSelector('[data-chart="cifar10-test-top1"] svg');
    assert.deepEqual(await marks(page, 'cifar10-test-top1'), { lines: 1, points: 2 });

    // compare: tick two runs, see their recipes side by side (the differing rows marked) and their curves
    await page.goto(`${url}#/`);
    await page.waitForSelector('[data-table="runs"] input');
    const boxes = page.locator('[data-table="runs"] input[type=checkbox]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.click('a.button:not(.disabled)');
    await page.waitForSelector('[data-table="compare-recipes"]');
    const recipes = await rows(page, 'compare-recipes');
    assert.deepEqual(recipes.find((c) => c[0]!.startsWith('model')), ['model ≠', 'googlenet-short3', 'googlenet-short4']);
    assert.deepEqual(recipes.find((c) => c[0]!.startsWith('epochs')), ['epochs', '2', '2']);
    await page.waitForSelector('[data-chart="cifar10-test-top1"] svg');
    assert.deepEqual(await marks(page, 'cifar10-test-top1'), { lines: 2, points: 4 });

    // the declared network's page: its layers and kind
    await page.goto(`${url}#/runs/${run.id}`);
    await page.waitForSelector('[data-table="recipe"]');
    assert.match((await page.textContent('p.network')) ?? '', new RegExp(`^layers: ${mineLayers.replace(/[().]/g, '\\$&')} \\(sha256 [0-9a-f]{12}\\); declared: the seed has no results for it$`));

    // nowhere did the markup become an element
    for (const view of ['#/', `#/runs/${s3.id}`, `#/runs/${run.id}`]) {
      await page.goto(`${url}${view}`);
      await page.waitForSelector('[data-chart] svg');
      assert.equal(await page.locator('main img, [onerror]').count(), 0, view);
      assert.ok((await page.textContent('main'))!.includes(MARKUP), view);
    }
    const png = await screenshot(page, path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-shot-')), 'dashboard.png'));
    assert.ok(png.length > 10_000 && png.length < 300_000, `${png.length} bytes`);
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [VIEWPORT.width, 1700]);

    // with the event stream refused, the page polls: a third epoch still shows, without a reload
    const polling = await browser.newPage({ viewport: VIEWPORT });
    polling.on('console', (m) => { if (m.type() === 'error' && !/api\/events/.test(m.location().url)) problems.push(`console (polling page) error: ${m.text()}`); });
    await polling.route('**/api/events', (route) => route.abort());
    await polling.goto(url);
    await polling.waitForFunction(() => /polling/.test(document.getElementById('live')!.textContent ?? ''), null, { timeout: 5000 });
    await polling.waitForSelector('[data-chart="cifar10-test-top1"] svg');
    assert.equal(await polling.locator('[data-chart="cifar10-test-top1"] g.mark-symbol.role-mark path').count(), 6);
    await claim.recordEpoch(epoch(3));
    await polling.waitForFunction(() => document.querySelectorAll('[data-chart="cifar10-test-top1"] g.mark-symbol.role-mark path').length === 7, null, { timeout: 6000 });
    await polling.close();

    // with a token: the printed URL's token becomes a cookie, the address bar loses it, the page and its stream work
    const guarded = await startDashboard({ store, host: '127.0.0.1', port: 0, token: 'a-token-of-24-characters' });
    const withToken = await browser.newPage({ viewport: VIEWPORT });
    withToken.on('console', (m) => { if (m.type() === 'error') problems.push(`console (token page) error: ${m.text()}`); });
    await withToken.goto(`${guarded.url}?token=a-token-of-24-characters`);
    await withToken.waitForSelector('[data-chart="cifar10-test-top1"] svg');
    assert.equal(withToken.url(), guarded.url);
    await withToken.waitForFunction(() => document.getElementById('live')!.textContent === 'live', null, { timeout: 5000 });
    await withToken.close();
    await guarded.close();
    await claim.finish('complete');
    await store.close();

    assert.deepEqual(problems, []);
    assert.deepEqual(dialogs, []);
  } finally {
    await browser.close();
    running.child.kill('SIGTERM');
    assert.equal(await running.exit, 0);
  }
});

test('dashboard in Chromium over seeds: a results row per network with its seeds linked, bands, bars and seed dots in the charts, and the compare view\'s differences with their CI and p', { ...(chromium.skip ? { skip: chromium.skip } : {}), timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-seeds-'));
  const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
  // two networks, three seeds each, two epochs: googlenet-short4 clearly worse
  const ids: Record<string, number[]> = {};
  for (const [model, base] of [['googlenet-short4', 0.5], ['googlenet-short3', 0.3]] as const) for (const seed of [1, 2, 3]) {
    const r = await store.ensureRun({ model, dataset: 'cifar10', recipe: { ...defaultRecipe(model, 'cifar10'), epochs: 2, seed }, classes: 10, params: model === 'googlenet-short4' ? 1_500_000 : 1_900_000, macs: 1e8 });
    const c = await store.claim(r.id, { name: 'test:1', heartbeat: 30 });
    assert.ok(!isRefusal(c));
    await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
    const top1 = base + [0, 0.012, -0.007][seed - 1]!;
    for (const n of [1, 2]) await c.recordEpoch({ ...epoch(n), top1Error: top1 + 0.1 * (2 - n), top5Error: top1 / 5 + 0.02 * (2 - n) });
    await c.finish('complete');
    (ids[model] ??= []).push(r.id);
  }
  const stats = (await buildResults(store)).statistics.cifar10!;
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0 });
  const browser = await launchChromium();
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(dash.url);
    await page.waitForSelector('[data-chart="cifar10-top1-vs-params"] svg');
    // a row per network: mean ± sd (n) over its seeds, each seed a link to its run
    const table = await rows(page, 'results-cifar10');
    assert.deepEqual(table.map((c) => c.slice(0, 3)), stats.networks.map((n) => [`${n.label}†seeds ${n.seeds.map((x) => x.seed).join(' · ')}`, errorCell(n.top1), errorCell(n.top5)]));
    assert.deepEqual(await page.$$eval('[data-table="results-cifar10"] tbody tr:first-child a', (as) => as.map((a) => a.getAttribute('href'))), stats.networks[0]!.runIds.map((id) => `#/runs/${id}`));
    assert.match(await page.textContent('main') ?? '', /Over seeds: a row per network, each cell the mean ± the sample standard deviation/);
    // the charts over seeds: a band per network, a bar per network, a dot per seed
    const count = (id: string, selector: string) => page.$eval(`[data-chart="${id}"]`, (box, sel) => box.querySelectorAll(sel).length, selector);
    assert.equal(await count('cifar10-test-top1', 'g.mark-area.role-mark path'), 2, 'a band per network');
    assert.equal(await count('cifar10-test-top1', 'g.mark-line.role-mark path'), 2, 'a line per network');
    assert.equal(await count('cifar10-top1-vs-params', 'g.mark-rule.role-mark line'), 2, 'a CI bar per network');
    assert.equal(await count('cifar10-top1-vs-params', 'g.mark-symbol.role-mark path'), 2 + 2 + 6, 'a mean and a seed mark per network, a dot per seed');
    const shot = await screenshot(page, path.join(dir, 'overview.png'));
    assert.ok(shot.length > 10_000);

    // compare one run of each: the differences over all their seeds, as results.json has them
    await page.goto(`${dash.url}#/compare/${ids['googlenet-short4']![0]},${ids['googlenet-short3']![1]}`);
    await page.waitForSelector('[data-table="comparisons-cifar10"]');
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
    const p = (x: number) => (x < 0.001 ? x.toExponential(1) : x.toPrecision(2));
    assert.deepEqual(await rows(page, 'comparisons-cifar10'), stats.comparisons.map((c) => [`${c.a} − ${c.b}`, c.metric === 'top1' ? 'top-1 error' : 'top-5 error', signed(c.difference),
      `[${signed(c.ci95![0])}, ${signed(c.ci95![1])}]`, p(c.p!), p(c.pHolm!), c.significant ? 'significant' : 'not significant']));
    assert.ok(stats.comparisons.some((c) => c.significant), 'the fixture has a significant difference');
    assert.match(await page.textContent('main') ?? '', new RegExp(`googlenet-short4 \\(runs ${ids['googlenet-short4']!.join(', ')}: 3 complete\\)`));
    // its charts: the two runs asked for, one seed each, a line per run
    await page.waitForSelector('[data-chart="cifar10-test-top1"] svg');
    assert.equal(await count('cifar10-test-top1', 'g.mark-area.role-mark path'), 0);
    assert.equal(await count('cifar10-test-top1', 'g.mark-line.role-mark path'), 2);
    await screenshot(page, path.join(dir, 'compare.png'));
    console.log(`# screenshots in ${dir}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await dash.close();
    await store.close();
  }
});
