// The dashboard's server over raw HTTP (net sockets: a browser or fetch would normalise the paths
// these tests send): refusals (methods, traversal, foreign Host, token), the API against the store
// it reads, CSV escaping, live events, 100 concurrent requests, and the CLI's start and stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildResults, statisticsOf } from '../src/experiment/report.js';
import { durationCell, errorCell } from '../src/experiment/statistics.js';
import { holm } from '../src/stats/stats.js';
import { startDashboard } from '../src/dashboard/server.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { isRefusal, type RunClaim, type RunStore } from '../src/store/store.js';
import { defaultRecipe, recipeNetwork } from '../src/train/config.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { describeLayers, networkHash, readNetworkFile } from '../src/models/network.js';
import { thisMachine } from '../src/util/machine.js';
import { start, until } from './processes.js';
import { readDoc } from './helpers.js';
import { recordedSearch } from './dashboard-fixture.js';
import type { SearchSummary } from '../src/dashboard/api.js';
import { exploreCharts } from '../src/explore/charts.js';
import type { ExploreJson } from '../src/explore/explore-json.js';
import { describeMutation, type Mutation } from '../src/explore/mutations.js';
import { buildExploreJson } from '../src/explore/report.js';

const MARKUP = '<img src=x onerror=alert(1)>';

const epoch = (n: number, top1: number) => ({
  epoch: n, trainLoss: 2.1 - 0.5 * n, testLoss: 1.9 - 0.4 * n, top1Error: top1, top5Error: top1 / 6, lr: 0.1, seconds: 10 * n, finishedAt: new Date().toISOString(),
});

/** A network file's contents: a small declared network. */
const MINE = { format: 'googlenet-network/1', layers: ['maxpool', 'a4', { dropout: 0.2 }, 'maxpool', 'b5'], width: 0.5 };
const MINE_LAYERS = 'pool a4 drop(0.2) pool b5 ×0.5';

async function claimed(store: RunStore, model: string, worker = 'test:1'): Promise<RunClaim> {
  // a built-in's name, or a network file (its name is the run's model)
  const net = recipeNetwork(model);
  const run = await store.ensureRun({ model: net.model, dataset: 'cifar10', recipe: { ...defaultRecipe('googlenet', 'cifar10'), ...net, epochs: 3 }, classes: 10, params: 1000, macs: 2000 });
  const c = await store.claim(run.id, { name: worker, heartbeat: 30 });
  assert.ok(!isRefusal(c), JSON.stringify(c));
  await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
  return c;
}

/**
 * googlenet-short4 failed after 2 epochs with an error holding markup and a formula; googlenet-short3 running, 1 epoch;
 * with `declared`, a network file's network (mine) complete after 1 epoch.
 */
async function fixture(o: { declared?: boolean } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-test-'));
  const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
  if (o.declared) {
    fs.writeFileSync(path.join(dir, 'mine.json'), JSON.stringify(MINE));
    const mine = await claimed(store, path.join(dir, 'mine.json'));
    await mine.recordEpoch(epoch(1, 0.8));
    await mine.finish('complete');
  }
  const s4 = await claimed(store, 'googlenet-short4');
  await s4.recordEpoch(epoch(1, 0.6));
  await s4.recordEpoch(epoch(2, 0.5));
  await s4.finish('failed', `=HYPERLINK("x") ${MARKUP}, "quoted"`);
  const s3 = await claimed(store, 'googlenet-short3');
  await s3.recordEpoch(epoch(1, 0.7));
  return { dir, store, s3 };
}

interface Raw { status: number; headers: Record<string, string>; body: string }

/** One request as written, byte for byte, on a fresh socket. */
function raw(port: number, request: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('error', reject);
    sock.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const lines = head!.split('\r\n');
      const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}
const get = (port: number, target: string, o: { method?: string; host?: string; headers?: string[] } = {}) =>
  raw(port, `${o.method ?? 'GET'} ${target} HTTP/1.1\r\nHost: ${o.host ?? `127.0.0.1:${port}`}\r\n${(o.headers ?? []).map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`);

/** The store, with its reads counted. */
function counted(store: RunStore) {
  const n = { runs: 0 };
  return { n, store: new Proxy(store, { get: (t, k) => (k === 'runs' ? () => { n.runs++; return t.runs(); } : Reflect.get(t, k, t)) }) };
}

test('dashboard server: refuses other methods, traversal (raw and percent-encoded), foreign Host headers; sets the security headers', async () => {
  const { store } = await fixture();
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 200 });
  try {
    const p = dash.port;
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await get(p, '/api/runs', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    for (const target of ['/../package.json', '/%2e%2e/package.json', '/%2E%2E/%2E%2E/package.json', '/static/..%2f..%2fpackage.json', '/app/../../package.json',
      '/app/..%5c..%5cpackage.json', '/app\\..\\..\\package.json', '/app/%00main.js', '/./style.css', '/%ZZ', 'package.json']) {
      const r = await get(p, target);
      assert.equal(r.status, 400, target);
      assert.doesNotMatch(r.body, /"name": "googlenet"/, target);
    }
    assert.equal((await get(p, '/api/nothing')).status, 404);
    assert.equal((await get(p, '/vendor/vega.js')).status, 404, 'only the allow-listed builds');
    for (const host of ['evil.example:' + p, `127.0.0.1:${p + 1}`, '127.0.0.1', '']) assert.equal((await get(p, '/', { host })).status, 421, `Host ${host}`);
    for (const host of [`localhost:${p}`, `[::1]:${p}`, `LOCALHOST:${p}`]) assert.equal((await get(p, '/', { host })).status, 200, `Host ${host}`);

    const page = await get(p, '/');
    assert.match(page.body, /<script type="module" src="\/app\/main.js"><\/script>/);
    const csp = page.headers['content-security-policy']!;
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    for (const f of ['/vendor/vega.min.js', '/vendor/vega-lite.min.js', '/vendor/vega-interpreter.min.js', '/vendor/vega-embed.min.js', '/app/main.js', '/style.css']) {
      const r = await get(p, f);
      assert.equal(r.status, 200, f);
      assert.match(r.headers['content-type']!, /^text\/(javascript|css)/);
    }
    const head = await get(p, '/api/runs', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 100);
  } finally {
    await dash.close();
    await store.close();
  }
});

test('dashboard API: runs, a run, its epochs and attempts, results, tables, networks and charts as the store has them, a declared network with its layers and no seed; CSV escaped', async () => {
  const { store } = await fixture({ declared: true });
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 200 });
  try {
    const p = dash.port;
    const body = async (t: string) => JSON.parse((await get(p, t)).body);
    const runs = (await body('/api/runs')).runs;
    assert.deepEqual(runs.map((r: { model: string; status: string; epochsDone: number; attempts: number }) => [r.model, r.status, r.epochsDone, r.attempts]),
      [['googlenet-short3', 'running', 1, 1], ['googlenet-short4', 'failed', 2, 1], ['mine', 'complete', 1, 1]]);
    const s4net = builtinNetwork('googlenet-short4')!;
    assert.deepEqual(runs.map((r: { layers: string; builtin: boolean }) => [r.layers, r.builtin]),
      [[describeLayers(builtinNetwork('googlenet-short3')!), true], [describeLayers(s4net), true], [MINE_LAYERS, false]]);
    const mine = runs[2];
    assert.equal(mine.sha256, networkHash(readNetworkFile(path.join(store.file, '..', 'mine.json'))));
    assert.equal(mine.reconstruction, null);
    assert.deepEqual([mine.params, mine.macs], [1000, 2000]);
    const failed = runs[1];
    assert.equal(failed.lastError, `=HYPERLINK("x") ${MARKUP}, "quoted"`);
    assert.equal(failed.worker, 'test:1');
    assert.equal(failed.top1Error, 0.5);
    assert.equal(failed.seconds, 30);
    assert.match(failed.reconstruction, /googlenet-short4 is a reconstruction/);

    const detail = await body(`/api/runs/${failed.id}`);
    assert.equal(detail.run.recipe.optimizer, 'adadelta');
    assert.equal(detail.run.recipe.epochs, 3);
    assert.deepEqual(detail.attempts.map((a: { outcome: string }) => a.outcome), ['failed']);
    assert.deepEqual(await body(`/api/runs/${failed.id}/epochs`), await store.epochs(failed.id));
    assert.equal((await get(p, '/api/runs/99')).status, 404);

    const results = await body('/api/results');
    const { generatedAt: _, ...expected } = await buildResults(store);
    delete results.generatedAt;
    assert.deepEqual(results, JSON.parse(JSON.stringify(expected)));
    const tables = await body('/api/tables');
    assert.match(tables.citation, /the seed document \(PyTorch 1\.6, 14 epochs on its GPU\)/);
    type TableRow = { model: string; layers: string; sha256: string; builtin: boolean; params: number; macs: number; seed: { top1: number } | null };
    assert.deepEqual(tables.tables[0].rows.map((r: TableRow) => [r.model, r.seed?.top1 ?? null]), [['googlenet-short3', 0.11], ['googlenet-short4', 0.15], ['mine', null]]);
    const mineRow = tables.tables[0].rows[2] as TableRow;
    assert.deepEqual([mineRow.layers, mineRow.sha256, mineRow.builtin, mineRow.params, mineRow.macs], [MINE_LAYERS, mine.sha256, false, 1000, 2000]);
    assert.equal(tables.tables[0].declared, 'mine is a declared network (a network file; its layers under Networks): the seed has no results for it, so its seed cells are —.');
    assert.deepEqual(tables.networks.map((n: { model: string; layers: string; builtin: boolean; datasets: string[] }) => [n.model, n.layers, n.builtin, n.datasets]),
      [['googlenet-short3', describeLayers(builtinNetwork('googlenet-short3')!), true, ['cifar10']], ['googlenet-short4', describeLayers(s4net), true, ['cifar10']], ['mine', MINE_LAYERS, false, ['cifar10']]]);
    assert.deepEqual(await body('/api/networks'), tables.networks);
    assert.equal((await get(p, '/api/networks?format=csv')).body.split('\r\n')[3], `mine,${MINE_LAYERS},${mine.sha256},false,false,cifar10`);
    // the table's CSV: the declared network's seed cells empty, its layers, hash and kind at the end
    const tableLines = (await get(p, '/api/tables/cifar10?format=csv')).body.split('\r\n');
    assert.equal(tableLines[0], 'network,status,top1Error,top5Error,params,macs,seconds,epochs,seedTop1,seedTop5,seedParams,seedTime,reconstruction,layers,sha256,builtin,label,runId,recipeSeed,val,heldOut,group');
    assert.equal(tableLines[3], `mine,complete,0.8,${0.8 / 6},1000,2000,10,1,,,,,,${MINE_LAYERS},${mine.sha256},false,mine,${mine.id},1,0,false,mine`);
    // one run per network: a row per run, no groups
    assert.equal(tables.tables[0].groups, null);
    // the charts: mine's points in its own colour, not googlenet-short4's
    const top1 = (await body('/api/charts')).find((c: { id: string }) => c.id === 'cifar10-test-top1');
    const colour = top1.spec.layer[0].encoding.color.scale;
    assert.deepEqual(colour.domain, ['googlenet-short3', 'googlenet-short4', 'mine']);
    assert.equal(new Set(colour.range).size, 3);
    // a view of mine alone keeps its colour
    const alone = (await body(`/api/charts?runs=${mine.id}`)).find((c: { id: string }) => c.id === 'cifar10-test-top1');
    assert.deepEqual(alone.spec.layer[0].encoding.color.scale, { domain: ['mine'], range: [colour.range[2]] });
    const recipes = await body(`/api/recipes?runs=${mine.id}`);
    assert.deepEqual([recipes[0].model, recipes[0].layers, recipes[0].sha256, recipes[0].recipe.model], ['mine', MINE_LAYERS, mine.sha256, 'mine']);
    const charts = await body('/api/charts');
    assert.ok(charts.length >= 2 && charts.every((c: { id: string; spec: { datasets: object } }) => c.id.startsWith('cifar10-') && Object.keys(c.spec.datasets).length > 0));
    const one = await body(`/api/charts?runs=${failed.id}`);
    for (const c of one) for (const rows of Object.values(c.spec.datasets) as { model?: string }[][]) assert.ok(rows.every((r) => r.model === undefined || r.model === 'googlenet-short4'), c.id);
    assert.equal((await get(p, '/api/charts?runs=1,x')).status, 400);

    const csv = await get(p, '/api/runs?format=csv');
    assert.match(csv.headers['content-type']!, /^text\/csv/);
    assert.match(csv.headers['content-disposition']!, /attachment; filename="runs.csv"/);
    const lines = csv.body.split('\r\n');
    assert.equal(lines[0], 'id,model,dataset,status,worker,epoch,batch,batches,imagesPerSecond,etaSeconds,epochsDone,epochsPlanned,attempts,lastError,top1Error,top5Error,params,macs,seconds,layers,sha256,builtin,label,seed,val,heldOut');
    assert.ok(lines[3]!.startsWith(`${mine.id},mine,cifar10,complete,`) && lines[3]!.endsWith(`,${MINE_LAYERS},${mine.sha256},false,mine on cifar10,1,0,false`), lines[3]);
    // the formula is defused with ', the quotes doubled, the cell quoted for its comma
    assert.ok(lines[2]!.includes(`,"'=HYPERLINK(""x"") ${MARKUP}, ""quoted""",`), lines[2]);
    assert.equal((await get(p, `/api/runs/${failed.id}/epochs?format=csv`)).body.split('\r\n').length, 4, 'header, 2 epochs, final CRLF');
    assert.match((await get(p, '/api/tables/cifar10?format=csv')).body, /^network,status,top1Error/);
    const recipeCsv = (await get(p, `/api/recipes?runs=${runs.map((r: { id: number }) => r.id).join(',')}&format=csv`)).body;
    assert.match(recipeCsv, /^key,googlenet-short3 on cifar10,googlenet-short4 on cifar10,mine on cifar10\r\nmodel,googlenet-short3,googlenet-short4,mine\r\nnetwork,/);
    assert.match(recipeCsv, new RegExp(`\r\nlayers,${describeLayers(builtinNetwork('googlenet-short3')!)},${describeLayers(s4net)},${MINE_LAYERS.replace(/[().]/g, '\\$&')}\r\nsha256,[0-9a-f]{64},[0-9a-f]{64},${mine.sha256}\r\ndataset,`));

    // every endpoint docs/dashboard.md documents answers, as JSON (or an event stream), and as CSV where it says so
    const doc = readDoc('docs/dashboard.md');
    const documented = [...doc.matchAll(/^\| `(\/api\/[^`]*)` \| (.*) \|$/gm)].map((m) => ({ target: m[1]!, csv: /; CSV/.test(m[2]!) }));
    assert.ok(documented.length >= 10, `${documented.length} endpoints in docs/dashboard.md`);
    for (const { target, csv: hasCsv } of documented) {
      if (target === '/api/events') continue; // a stream: the events test reads it
      if (target.startsWith('/api/explore/')) continue; // a search's: the searches test reads them
      const r = await get(p, target);
      assert.equal(r.status, 200, target);
      assert.ok(!r.body.includes(store.file), `${target} names no store path or URL`);
      assert.match(r.headers['content-type']!, /^application\/json/, target);
      JSON.parse(r.body);
      if (hasCsv) assert.match((await get(p, `${target}${target.includes('?') ? '&' : '?'}format=csv`)).headers['content-type']!, /^text\/csv/, target);
    }
  } finally {
    await dash.close();
    await store.close();
  }
});

test('dashboard: an epoch recorded comes out on /api/events; 100 concurrent requests all answered from one snapshot', async () => {
  const fx = await fixture();
  const { n, store } = counted(fx.store);
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 200 });
  const events: string[] = [];
  const sock = net.connect(dash.port, '127.0.0.1', () => sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${dash.port}\r\n\r\n`));
  sock.on('data', (d) => { for (const m of String(d).matchAll(/event: change\ndata: (\{.*\})/g)) events.push(JSON.parse(m[1]!).fingerprint); });
  try {
    await until(() => events.length === 1, null, 'the first event', 5000);
    const before = (JSON.parse((await get(dash.port, '/api/runs')).body).runs[0]).epochsDone;
    assert.equal(before, 1);
    await fx.s3.recordEpoch(epoch(2, 0.65));
    await until(() => events.length === 2, null, 'an event after the epoch', 5000);
    assert.notEqual(events[1], events[0]);
    assert.equal(JSON.parse((await get(dash.port, '/api/runs')).body).runs[0].epochsDone, 2);

    const reads = n.runs;
    const targets = ['/api/runs', '/api/results', '/api/charts', '/api/tables', '/api/runs/1', '/api/runs/1/epochs', '/api/runs?format=csv', '/', '/vendor/vega.min.js', '/api/fingerprint'];
    const all = await Promise.all(Array.from({ length: 100 }, (_, i) => get(dash.port, targets[i % targets.length]!)));
    assert.deepEqual(all.filter((r) => r.status !== 200).map((r) => r.status), []);
    assert.ok(n.runs - reads <= 3, `${n.runs - reads} store reads for 100 requests: only the poll reads the store`);
  } finally {
    sock.destroy();
    await dash.close();
    await fx.store.close();
  }
});

test('dashboard token: refused without it, traded from the URL for an HttpOnly SameSite=Strict cookie, or sent as a Bearer header', async () => {
  const { store } = await fixture();
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, token: 's3cret-token', pollMs: 200 });
  try {
    const p = dash.port;
    assert.equal((await get(p, '/')).status, 401);
    assert.equal((await get(p, '/api/runs')).status, 401);
    assert.equal((await get(p, '/?token=wrong')).status, 401);
    assert.equal((await get(p, '/api/runs', { headers: ['Authorization: Bearer s3cret-tokeN'] })).status, 401);
    const trade = await get(p, '/?token=s3cret-token');
    assert.equal(trade.status, 303);
    assert.equal(trade.headers.location, '/');
    assert.equal(trade.headers['set-cookie'], 'googlenet_dashboard=s3cret-token; HttpOnly; SameSite=Strict; Path=/');
    assert.equal((await get(p, '/', { headers: ['Cookie: other=1; googlenet_dashboard=s3cret-token'] })).status, 200);
    assert.equal((await get(p, '/api/runs', { headers: ['Authorization: Bearer s3cret-token'] })).status, 200);
  } finally {
    await dash.close();
    await store.close();
  }
});

test('googlenet dashboard: prints its URL and that it is loopback only, exits 0 on SIGTERM; --host 0.0.0.0 warns and prints a token; bad flags are one line', async () => {
  const { dir, store } = await fixture();
  await store.close();
  const local = start(['dashboard', '--out', dir, '--port', '0']);
  await until(() => /\n/.test(local.out.stdout), local.exit, 'the dashboard to print its URL', 20000);
  const url = new URL(local.out.stdout.trim());
  assert.equal(url.hostname, '127.0.0.1');
  assert.match(local.out.stderr, /bound to 127\.0\.0\.1: only this machine can open it/);
  assert.equal((await get(Number(url.port), '/api/runs')).status, 200);
  local.child.kill('SIGTERM');
  assert.equal(await local.exit, 0);

  const shared = start(['dashboard', '--store', `sqlite:${path.join(dir, 'experiment.sqlite')}`, '--port', '0', '--host', '0.0.0.0']);
  await until(() => /\n/.test(shared.out.stdout), shared.exit, 'the shared dashboard to print its URL', 20000);
  assert.match(shared.out.stderr, /bound to 0\.0\.0\.0: anyone who can reach port \d+ can try/);
  const u = new URL(shared.out.stdout.trim());
  const token = u.searchParams.get('token')!;
  assert.ok(token.length >= 32, token);
  assert.equal((await get(Number(u.port), '/api/runs')).status, 401);
  assert.equal((await get(Number(u.port), '/api/runs', { headers: [`Authorization: Bearer ${token}`] })).status, 200);
  assert.equal((await get(Number(u.port), '/api/runs', { host: `${os.hostname()}:${u.port}`, headers: [`Authorization: Bearer ${token}`] })).status, 200);
  shared.child.kill('SIGINT');
  assert.equal(await shared.exit, 0);

  const both = start(['dashboard', '--out', dir, '--store', 'sqlite:x.sqlite']);
  assert.equal(await both.exit, 1);
  assert.equal(both.out.stderr.trim(), 'googlenet: give --store or --out, not both');
  const short = start(['dashboard', '--out', dir, '--token', 'abc']);
  assert.equal(await short.exit, 1);
  assert.match(short.out.stderr.trim(), /^googlenet: --token must be 16 characters or more/);
  const port = start(['dashboard', '--out', dir, '--port', '70000']);
  assert.equal(await port.exit, 1);
  assert.match(port.out.stderr.trim(), /^googlenet: --port must be an integer from 0 to 65535/);
});

test('dashboard API: two seeds of one network and a hold-out run, each named as `googlenet status` names it; the hold-out\'s errors its hold-out\'s, marked', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-test-'));
  const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
  const run = async (seed: number, val: number, top1: number) => {
    const r = await store.ensureRun({ model: 'googlenet-short4', dataset: 'cifar10', recipe: { ...defaultRecipe('googlenet-short4', 'cifar10'), epochs: 2, seed, val }, classes: 10, params: 1000, macs: 2000 });
    const c = await store.claim(r.id, { name: 'test:1', heartbeat: 30 });
    assert.ok(!isRefusal(c), JSON.stringify(c));
    await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
    for (const n of [1, 2]) {
      const e = epoch(n, top1 + 0.1 * (2 - n));
      // a hold-out run never touches the test set: its epochs carry the hold-out's numbers
      await c.recordEpoch(val ? { ...e, testLoss: null, top1Error: null, top5Error: null, valLoss: e.testLoss, valTop1Error: e.top1Error, valTop5Error: e.top5Error } : e);
    }
    await c.finish('complete');
    return r.id;
  };
  const ids = [await run(2, 0, 0.5), await run(1, 0, 0.4), await run(1, 5000, 0.3)];
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 200 });
  try {
    const p = dash.port;
    const body = async (target: string) => JSON.parse((await get(p, target)).body);
    // /api/runs: in seed, hold-out order, each with its label (runLabel's), id, seed and hold-out
    const runs = (await body('/api/runs')).runs;
    assert.deepEqual(runs.map((r: Record<string, unknown>) => [r.label, r.runId, r.seed, r.val, r.heldOut, r.top1Error]), [
      ['googlenet-short4 on cifar10 seed 1', ids[1], 1, 0, false, 0.4],
      ['googlenet-short4 on cifar10 seed 1 val 5000', ids[2], 1, 5000, true, 0.3],
      ['googlenet-short4 on cifar10 seed 2', ids[0], 2, 0, false, 0.5],
    ]);
    assert.deepEqual(runs.map((r: { id: number; runId: number }) => r.id), runs.map((r: { runId: number }) => r.runId));
    assert.equal((await body(`/api/runs/${ids[2]}`)).summary.label, 'googlenet-short4 on cifar10 seed 1 val 5000');
    // /api/tables: a row per run, labelled within its dataset's table; the hold-out's marked, with the note
    const t = (await body('/api/tables/cifar10'));
    assert.deepEqual(t.rows.map((x: Record<string, unknown>) => [x.label, x.runId, x.recipeSeed, x.val, x.heldOut, x.top1Error]), [
      ['googlenet-short4 seed 1', ids[1], 1, 0, false, 0.4],
      ['googlenet-short4 seed 1 val 5000', ids[2], 1, 5000, true, 0.3],
      ['googlenet-short4 seed 2', ids[0], 2, 0, false, 0.5],
    ]);
    assert.match(t.heldOut, /^‡ googlenet-short4 seed 1 val 5000: errors on the 5,000-image hold-out .*not the test set\.$/);
    // and a row per network group, the page's: seeds 1 and 2 pooled, the hold-out apart
    assert.deepEqual(t.groups.map((g: { label: string; heldOut: boolean; runs: { runId: number; seed: number }[]; top1Cell: string }) => [g.label, g.heldOut, g.runs.map((x) => [x.runId, x.seed]), g.top1Cell]), [
      ['googlenet-short4', false, [[ids[1], 1], [ids[0], 2]], '0.450 ± 0.071 (n=2)'],
      ['googlenet-short4 val 5000', true, [[ids[2], 1]], '0.300 (n=1)'],
    ]);
    // the hold-out is measured on other images: no comparison
    assert.deepEqual((await body(`/api/comparisons?runs=${ids.join(',')}`)).map((x: { comparisons: unknown[] }) => x.comparisons), [[]]);
    assert.deepEqual((await body('/api/networks')).map((n: { model: string; datasets: string[] }) => [n.model, n.datasets]), [['googlenet-short4', ['cifar10']]]);
    // the epochs: the hold-out's numbers as recorded, the test fields null
    const held = (await body(`/api/runs/${ids[2]}/epochs`)).at(-1);
    assert.deepEqual([held.top1Error, held.valTop1Error], [null, 0.3]);
    assert.match((await get(p, `/api/runs/${ids[2]}/epochs?format=csv`)).body, /^epoch,trainLoss,testLoss,top1Error,top5Error,valLoss,valTop1Error,valTop5Error,lr,/);
    // the recipes and charts of the compare view: by the same labels, one series per run
    const recipes = await body(`/api/recipes?runs=${ids.join(',')}`);
    assert.deepEqual(recipes.map((r: Record<string, unknown>) => [r.label, r.seed, r.val]), [
      ['googlenet-short4 on cifar10 seed 1', 1, 0], ['googlenet-short4 on cifar10 seed 1 val 5000', 1, 5000], ['googlenet-short4 on cifar10 seed 2', 2, 0]]);
    assert.match((await get(p, `/api/recipes?runs=${ids.join(',')}&format=csv`)).body,
      /^key,googlenet-short4 on cifar10 seed 1,googlenet-short4 on cifar10 seed 1 val 5000,googlenet-short4 on cifar10 seed 2\r\n/);
    // the whole store over seeds: a series per network group (seeds 1 and 2 pooled, the hold-out its own); two runs of one seed each: a series per run
    for (const target of ['/api/charts', `/api/charts?runs=${ids[2]},${ids[0]}`]) {
      const top1 = (await body(target)).find((c: { id: string }) => c.id === 'cifar10-test-top1');
      const want = target === '/api/charts' ? ['googlenet-short4', 'googlenet-short4 val 5000 (hold-out)']
        : ['googlenet-short4 seed 1 val 5000 (hold-out)', 'googlenet-short4 seed 2'];
      assert.deepEqual(top1.spec.layer[0].encoding.color.scale.domain, want, target);
      assert.deepEqual(top1.spec.datasets.epochs.filter((e: { model: string }) => e.model.endsWith('(hold-out)')).map((e: { y: number }) => e.y), [0.4, 0.3], target);
    }
  } finally {
    await dash.close();
    await store.close();
  }
});

test('dashboard API over seeds: the tables a row per network group; /api/comparisons the pairs of the groups of the runs asked for, over all their seeds, with results.json\'s numbers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-test-'));
  const store = SqliteStore.open(path.join(dir, 'experiment.sqlite'));
  const run = async (model: string, seed: number, top1: number) => {
    const r = await store.ensureRun({ model, dataset: 'cifar10', recipe: { ...defaultRecipe(model, 'cifar10'), epochs: 2, seed }, classes: 10, params: 1000, macs: 2000 });
    const c = await store.claim(r.id, { name: 'test:1', heartbeat: 30 });
    assert.ok(!isRefusal(c), JSON.stringify(c));
    await c.start({ epoch: 1, batch: 0 }, thisMachine(1, 'direct'));
    for (const n of [1, 2]) await c.recordEpoch(epoch(n, top1 + 0.1 * (2 - n)));
    await c.finish('complete');
    return r.id;
  };
  // three networks, three seeds each: googlenet-short4 clearly worse than googlenet-short3, googlenet-short2 between
  const ids: Record<string, number[]> = {};
  for (const [model, base] of [['googlenet-short4', 0.5], ['googlenet-short3', 0.3], ['googlenet-short2', 0.35]] as const)
    for (const seed of [1, 2, 3]) (ids[model] ??= []).push(await run(model, seed, base + [0, 0.011, -0.007][seed - 1]!));
  const results = await buildResults(store);
  const stats = statisticsOf(results).cifar10!;
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 200 });
  try {
    const p = dash.port;
    const body = async (target: string) => JSON.parse((await get(p, target)).body);
    // the table: a row per group, its cells errorCell's and durationCell's over the complete seeds; the runs still a row each (and in the CSV)
    const t = await body('/api/tables/cifar10');
    assert.equal(t.rows.length, 9);
    assert.deepEqual(t.groups.map((g: { label: string; runs: { runId: number }[]; top1Cell: string; top5Cell: string; time: string; top1: unknown }) => [g.label, g.runs.map((x) => x.runId), g.top1Cell, g.top5Cell, g.time, g.top1]),
      stats.networks.map((n) => [n.label, n.runIds, errorCell(n.top1), errorCell(n.top5), durationCell(n.seconds), JSON.parse(JSON.stringify(n.top1))]));
    const lines = (await get(p, '/api/tables/cifar10?format=csv')).body.split('\r\n');
    assert.ok(lines[0]!.endsWith(',group'));
    assert.equal(lines.filter((l) => l.endsWith(',googlenet-short4')).length, 3, 'each run with its group');

    // one run of googlenet-short4 and one of googlenet-short3: their groups with all three seeds each, the pair's comparisons as results.json has them
    const asked = [ids['googlenet-short4']![1]!, ids['googlenet-short3']![0]!];
    const cmp = await body(`/api/comparisons?runs=${asked.join(',')}`);
    assert.equal(cmp.length, 1);
    assert.deepEqual(cmp[0].networks.map((n: { label: string; runIds: number[]; seeds: number[] }) => [n.label, n.runIds, n.seeds]),
      [['googlenet-short3', ids['googlenet-short3'], [1, 2, 3]], ['googlenet-short4', ids['googlenet-short4'], [1, 2, 3]]]);
    const pair = stats.comparisons.filter((c) => [c.a, c.b].sort().join() === 'googlenet-short3,googlenet-short4');
    assert.equal(pair.length, 2, 'top-1 and top-5');
    assert.deepEqual(cmp[0].comparisons, JSON.parse(JSON.stringify(pair)));
    // Holm over the dataset's whole family (three pairs per metric), not over the one pair asked for
    const top1 = pair.find((c) => c.metric === 'top1')!;
    assert.ok(top1.testable && top1.significant && top1.pHolm! > top1.p!, JSON.stringify(top1));
    assert.equal(top1.pHolm, holm(stats.comparisons.filter((c) => c.metric === 'top1').map((c) => c.p!))[stats.comparisons.filter((c) => c.metric === 'top1').indexOf(top1)]);
    // without runs: every pair of the dataset; one group asked for: nothing to compare
    assert.deepEqual((await body('/api/comparisons'))[0].comparisons, JSON.parse(JSON.stringify(stats.comparisons)));
    assert.deepEqual(await body(`/api/comparisons?runs=${ids['googlenet-short2']!.join(',')}`), []);
    assert.equal((await get(p, '/api/comparisons?runs=x')).status, 400);
    const csv = (await get(p, `/api/comparisons?runs=${asked.join(',')}&format=csv`)).body.split('\r\n');
    assert.equal(csv[0], 'dataset,a,b,metric,difference,ci95Low,ci95High,p,pHolm,significant,testable,reason');
    assert.equal(csv[1], ['cifar10', top1.a, top1.b, 'top1', top1.difference, top1.ci95![0], top1.ci95![1], top1.p, top1.pHolm, true, true, ''].join(','));

    // the charts: the whole store over seeds; a view of one seed per network per run; of two whole groups over seeds again
    const series = async (q: string) => (await body(`/api/charts${q}`)).find((c: { id: string }) => c.id === 'cifar10-test-top1').spec.layer.find((l: { mark: { type: string } }) => l.mark.type === 'line').encoding.color.scale.domain;
    assert.deepEqual(await series(''), stats.networks.map((n) => n.label));
    assert.deepEqual(await series(`?runs=${asked.join(',')}`), ['googlenet-short3 seed 1', 'googlenet-short4 seed 2']);
    assert.deepEqual(await series(`?runs=${[...ids['googlenet-short4']!, ...ids['googlenet-short3']!].join(',')}`), ['googlenet-short3', 'googlenet-short4']);
  } finally {
    await dash.close();
    await store.close();
  }
});

test('dashboard server: searches: /api/searches and /api/explore/ID as buildExploreJson builds them, their charts and CSV, ids refused (400) or unknown (404), and a raised rung changes the fingerprint', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-search-'));
  const store = SqliteStore.open(path.join(dir, 'explore.sqlite'));
  const s = await recordedSearch(store);
  // a search whose arguments this build cannot read: said for it alone
  const odd = 'e'.repeat(64);
  await store.recordSearch(odd, { rungs: 'many' });
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0, pollMs: 100 });
  try {
    const p = dash.port;
    const body = async (target: string) => {
      const r = await get(p, target);
      assert.equal(r.status, 200, `${target}: ${r.body}`);
      return JSON.parse(r.body) as unknown;
    };
    const expected = await buildExploreJson(store, s.id);
    const r = await body(`/api/explore/${s.id}`) as ExploreJson;
    assert.deepEqual({ ...r, generatedAt: expected.generatedAt }, expected);
    // the fixture's search: the base and candidate 1 at rung 2, the base alone finished it; candidate 2 at rung 1
    assert.deepEqual(r.candidates.map((c) => [c.id, c.rung, c.valErrors, c.status]), [
      [0, 2, { 1: 0.62, 2: 0.55 }, 'complete'], [1, 2, { 1: 0.58 }, 'queued'], [2, 1, { 1: 0.7 }, 'complete']]);
    assert.deepEqual(r.rungs.map((g) => [g.epochs, g.candidates, g.done]), [[1, [0, 1, 2], true], [2, [0, 1], false]]);
    assert.deepEqual(r.front, [0]);
    assert.equal(r.candidates[1]!.mutationText, describeMutation(r.candidates[1]!.mutation as Mutation));

    const list = await body('/api/searches') as SearchSummary[];
    const created = (await store.searches()).find((x) => x.id === s.id)!.createdAt;
    assert.deepEqual(list.find((x) => x.id === s.id), {
      id: s.id, strategy: 'random', base: 'googlenet-short4', dataset: 'cifar10', budget: 2, rungs: [1, 2], createdAt: created, candidates: 3, front: [0], error: null,
    });
    const bad = list.find((x) => x.id === odd)!;
    assert.equal(bad.candidates, 0);
    assert.match(bad.error!, /^[^\n]+$/);
    assert.equal((await get(p, `/api/explore/${odd}`)).status, 500);

    assert.deepEqual(await body(`/api/explore/${s.id}/charts`), JSON.parse(JSON.stringify(exploreCharts(expected))));
    assert.deepEqual((await body(`/api/explore/${s.id}/charts`) as { id: string }[]).map((c) => c.id), ['explore-rung1', 'explore-rung2']);
    assert.deepEqual(await body(`/api/explore/${s.id}/rungs`), expected.rungs);
    assert.deepEqual(await body(`/api/explore/${s.id}/confirmed`), []);
    const csv = await get(p, `/api/explore/${s.id}?format=csv`);
    assert.match(csv.headers['content-type']!, /^text\/csv/);
    assert.equal(csv.headers['content-disposition'], `attachment; filename="search-${s.id.slice(0, 12)}-candidates.csv"`);
    const lines = csv.body.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,front,network,layers,sha256,mutation,parent,generation,params,macs,rung,valTop1@1,valTop1@2,seconds,status,runId');
    assert.equal(lines.length, 4);
    assert.match(lines[1]!, /^0,true,googlenet-short4,/);
    assert.match((await get(p, '/api/searches?format=csv')).body, new RegExp(`^id,strategy,base,dataset,budget,rungs,createdAt,candidates,front,error\r\n${s.id},random,googlenet-short4,cifar10,2,1 2,`));
    assert.match((await get(p, `/api/explore/${s.id}/rungs?format=csv`)).body, /^rung,epochs,candidates,done,front\r\n1,1,0 1 2,true,/);

    // every search endpoint docs/dashboard.md documents answers, as JSON, and as CSV where it says so
    const documented = [...readDoc('docs/dashboard.md').matchAll(/^\| `(\/api\/explore\/ID[^`]*)` \| (.*) \|$/gm)].map((m) => ({ target: m[1]!.replace('ID', s.id), csv: /; CSV/.test(m[2]!) }));
    assert.equal(documented.length, 4);
    for (const { target, csv: hasCsv } of documented) {
      const x = await get(p, target);
      assert.equal(x.status, 200, target);
      assert.match(x.headers['content-type']!, /^application\/json/, target);
      if (hasCsv) assert.match((await get(p, `${target}?format=csv`)).headers['content-type']!, /^text\/csv/, target);
    }

    // ids: 64 lowercase hex digits, else 400; an unknown one 404; in one line
    for (const id of ['abc', s.id.toUpperCase(), s.id.slice(1), `${s.id}0`, `${s.id.slice(1)}g`, '']) {
      const x = await get(p, `/api/explore/${id}`);
      assert.equal(x.status, 400, id);
      assert.match((JSON.parse(x.body) as { error: string }).error, /^a search id is 64 lowercase hex digits[^\n]*$/);
    }
    const unknown = await get(p, `/api/explore/${'f'.repeat(64)}/charts`);
    assert.equal(unknown.status, 404);
    assert.equal((JSON.parse(unknown.body) as { error: string }).error, 'no search ffffffffffff in the store; /api/searches lists them');
    assert.equal((await get(p, `/api/explore/${s.id}/other`)).status, 404);

    // candidate 2 promoted (its row alone changes): a new fingerprint, and the record with it
    const fingerprint = async () => (await body('/api/fingerprint') as { fingerprint: string }).fingerprint;
    const before = await fingerprint();
    await s.raise();
    let after = before;
    for (let t = Date.now(); after === before && Date.now() - t < 5000; await new Promise((w) => setTimeout(w, 50))) after = await fingerprint();
    assert.notEqual(after, before);
    const raised = await body(`/api/explore/${s.id}`) as ExploreJson;
    assert.equal(raised.candidates[2]!.rung, 2);
    assert.deepEqual(raised.rungs[1]!.candidates, [0, 1, 2]);
    assert.deepEqual(raised, { ...(await buildExploreJson(store, s.id)), generatedAt: raised.generatedAt });

    // the confirmation: its table and CSV as the record has them
    await s.confirm();
    const expectedConfirmed = JSON.stringify((await buildExploreJson(store, s.id)).confirmed);
    let confirmed: ExploreJson['confirmed'] = [];
    for (let t = Date.now(); JSON.stringify(confirmed) !== expectedConfirmed && Date.now() - t < 5000; await new Promise((w) => setTimeout(w, 50))) confirmed = await body(`/api/explore/${s.id}/confirmed`) as ExploreJson['confirmed'];
    assert.deepEqual(confirmed, JSON.parse(expectedConfirmed));
    assert.deepEqual(confirmed.map((c) => [c.id, c.why, c.seeds.length, c.vsBase?.map((v) => v.testable) ?? null]), [[0, ['base'], 2, null], [1, ['confirm'], 2, [true, true]]]);
    const confirmedLines = (await get(p, `/api/explore/${s.id}/confirmed?format=csv`)).body.trimEnd().split('\r\n');
    assert.equal(confirmedLines.length, 3);
    assert.match(confirmedLines[2]!, new RegExp(`^1,${confirmed[1]!.network},.*,confirm,2,2,0\\.46`));
  } finally {
    await dash.close();
    await store.close();
  }
});
