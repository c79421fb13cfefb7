// A search of `googlenet explore` on the dashboard, in a real browser (Debian's chromium, headless,
// through playwright-core): the overview lists the store's searches, a search's page
// (#/explore/ID) shows its arguments, candidates (the front marked ★), rungs, front and a chart per
// rung drawn with vega-embed, and a candidate promoted in the store shows without a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startDashboard } from '../src/dashboard/server.js';
import { buildExploreJson } from '../src/explore/report.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { launchChromium, requireChromium, screenshot, VIEWPORT } from './browser.js';
import { recordedSearch } from './dashboard-fixture.js';

const chromium = requireChromium();
const rows = (page: Page, name: string) => page.$$eval(`[data-table="${name}"] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

test('dashboard in Chromium: a search listed, its page with candidates, rungs, front and a chart per rung; a raised rung shows live', { ...(chromium.skip ? { skip: chromium.skip } : {}), timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-explore-'));
  const store = SqliteStore.open(path.join(dir, 'explore.sqlite'));
  const s = await recordedSearch(store);
  const r = await buildExploreJson(store, s.id);
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0 });
  const browser = await launchChromium();
  const problems: string[] = [];
  let navigations = 0;
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    await page.goto(dash.url);
    await page.waitForSelector(`[data-table="searches"] a[href="#/explore/${s.id}"]`);
    assert.deepEqual((await rows(page, 'searches')).map((c) => c.slice(0, 8)), [[s.id.slice(0, 12), 'random', 'googlenet-short4', 'CIFAR-10', '2', '1, 2', '3', 'base']]);

    await page.click(`[data-table="searches"] a[href="#/explore/${s.id}"]`);
    await page.waitForSelector('[data-table="candidates"] tbody tr');
    assert.match(await page.textContent('main h2') ?? '', new RegExp(`^Search ${s.id.slice(0, 12)}: random from googlenet-short4 on CIFAR-10$`));
    assert.match(await page.textContent('p.search-args') ?? '', /^2 candidates at the first rung \(rng 1\), rungs of 1, 2 epochs, the best 1\/2 of each rung/);
    const int = (n: number) => n.toLocaleString('en-US');
    const candidates = await rows(page, 'candidates');
    assert.deepEqual(candidates, r.candidates.map((c) => [`${c.id === 0 ? '★ ' : ''}c${c.id}`, c.network, c.mutationText ?? '(base)', c.parent === null ? '—' : `c${c.parent}`,
      int(c.params), int(c.macs), String(c.rung), c.valErrors['1']!.toFixed(4), c.valErrors['2']?.toFixed(4) ?? '—', `${Math.round(c.seconds!)}s`, c.status]));
    assert.deepEqual(await page.$$eval('[data-table="candidates"] tbody tr.front', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.candidate)), ['0']);
    assert.deepEqual(await rows(page, 'rungs'), [['1', '1', '3', 'all', r.rungs[0]!.front.map((id) => (id === 0 ? 'base' : `c${id}`)).join(', ')], ['2', '2', '2', 'not yet', 'base']]);
    assert.match(await page.textContent('[data-list="front"]') ?? '', /^base googlenet-short4: /);
    // a chart per rung, drawn (an svg with a point per candidate that finished the rung)
    await page.waitForSelector('[data-chart="explore-rung1"] svg');
    await page.waitForSelector('[data-chart="explore-rung2"] svg');
    const points = (id: string) => page.$eval(`[data-chart="${id}"]`, (box) => box.querySelectorAll('g.mark-symbol.role-mark path').length);
    assert.equal(await points('explore-rung1'), 3);
    assert.equal(await points('explore-rung2'), 1);
    assert.equal(await page.locator('a.csv[href="/api/explore/' + s.id + '?format=csv"]').count(), 1);

    // candidate 2 promoted in the store: its rung and the second rung's candidates change within 5 s, without a reload
    const before = navigations;
    await page.evaluate(() => { (window as unknown as { mark: unknown }).mark = document.querySelector('[data-chart="explore-rung1"] svg'); });
    await s.raise();
    await page.waitForFunction(() => document.querySelector('[data-table="rungs"] tbody tr:nth-child(2) td:nth-child(3)')?.textContent === '3', null, { timeout: 5000 });
    assert.equal((await rows(page, 'candidates'))[2]![6], '2');
    assert.equal(navigations, before, 'no navigation');
    assert.ok(await page.evaluate(() => (window as unknown as { mark: unknown }).mark === document.querySelector('[data-chart="explore-rung1"] svg')), 'the unchanged chart was kept, not embedded again');

    // the confirmation: a row per network, the difference from the base with its CI, p and Holm p
    await s.confirm();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-table="confirmed"] tbody tr td:nth-child(3)')].map((td) => td.textContent).join() === '2/2,2/2', null, { timeout: 5000 });
    const confirmed = (await buildExploreJson(store, s.id)).confirmed;
    const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
    const v = confirmed[1]!.vsBase!.find((x) => x.metric === 'top1')!;
    assert.deepEqual((await rows(page, 'confirmed')).map((c) => c.slice(0, 5)), confirmed.map((c) => [`${c.id === 0 ? 'base' : `c${c.id}`} ${c.network}`, c.why.join(', '), '2/2',
      `${c.top1!.mean.toFixed(4)} ± ${c.top1!.sd!.toFixed(4)}`, `${c.top5!.mean.toFixed(4)} ± ${c.top5!.sd!.toFixed(4)}`]));
    assert.equal((await rows(page, 'confirmed'))[1]![5], `${signed(v.difference!)} [${signed(v.ci95![0])}, ${signed(v.ci95![1])}]${v.significant ? ' significant' : ''}`);

    // an unknown search's page says so
    await page.goto(`${dash.url}#/explore/${'f'.repeat(64)}`);
    await page.waitForFunction(() => /^No search ffffffffffff in the store/.test(document.querySelector('main h2')?.textContent ?? ''), null, { timeout: 5000 });
    await page.goto(`${dash.url}#/explore/${s.id}`);
    await page.waitForSelector('[data-chart="explore-rung1"] svg');
    await screenshot(page, path.join(dir, 'explore.png'));
    console.log(`# screenshot in ${dir}`);
    assert.deepEqual(problems.filter((p) => !/404/.test(p)), []);
  } finally {
    await browser.close();
    await dash.close();
    await store.close();
  }
});
