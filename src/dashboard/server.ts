// `googlenet dashboard`: a read-only HTTP server (node:http) for one page and its JSON. Every
// request passes, in order: the Host allow-list (421), GET/HEAD only (405), the path check (400),
// the token when one is set (401); then it is answered from the asset allow-list or from the
// current snapshot of the store. Live updates go out as server-sent events on /api/events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunStore } from '../store/store.js';
import {
  attemptsCsv, candidatesCsv, chartsOf, comparisonsCsv, comparisonsOf, confirmedCsv, epochsCsv, networksCsv, recipeCsv, resultTables, runDetail, runRecipe,
  rungsCsv, runsCsv, runSummary, searchesCsv, searchSummary, tableCsv,
} from './api.js';
import { exploreCharts } from '../explore/charts.js';
import { loadAssets, type Asset } from './assets.js';
import { reportNetworks } from '../experiment/report.js';
import { allowedHosts, checkPath, presentedToken, SECURITY_HEADERS, TOKEN_COOKIE, tokenMatches } from './security.js';
import { Poller, takeSnapshot, type Snapshot } from './snapshot.js';

/** The command's defaults: loopback only, TensorBoard's port, a poll a second. */
export const DASHBOARD_DEFAULTS = { host: '127.0.0.1', port: 6006, pollMs: 1000 } as const;

export interface DashboardOptions {
  store: RunStore;
  host: string;
  /** 0: any free port (the returned url names it). */
  port: number;
  /** Required from every request when set. */
  token?: string;
  /** More Host header names to accept (a reverse proxy's, a DNS name). */
  allowHosts?: string[];
  /** Milliseconds between store polls. */
  pollMs?: number;
  /** A failed poll (the last snapshot is served meanwhile). */
  onPollError?: (e: Error) => void;
}

export interface Dashboard {
  /** http://host:port/ as a browser on this machine opens it (127.0.0.1 for a wildcard bind). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Seconds between the SSE stream's keep-alive comments (proxies drop silent streams). */
const KEEPALIVE_MS = 15_000;

type Reply = { status: number; type: string; body: string | Buffer; headers?: Record<string, string> };

const json = (status: number, value: unknown): Reply => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) });
const text = (status: number, message: string, headers?: Record<string, string>): Reply => ({ status, type: 'text/plain; charset=utf-8', body: `${message}\n`, headers });
const csv = (name: string, body: string): Reply => ({
  status: 200, type: 'text/csv; charset=utf-8', body, headers: { 'Content-Disposition': `attachment; filename="${name}.csv"` },
});

/** `?runs=1,2,3` as ids, or undefined; null when malformed. */
function idList(q: URLSearchParams): number[] | undefined | null {
  const v = q.get('runs');
  if (v === null) return undefined;
  const ids = v.split(',').map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
  return ids.some(Number.isNaN) ? null : ids;
}

/** The API's answer to a path under /api/ from one snapshot (the SSE stream is handled apart). */
function api(path: string, q: URLSearchParams, s: Snapshot): Reply {
  const asCsv = q.get('format') === 'csv';
  const r = s.results;
  const cached = (key: string, build: () => unknown) => ({ ...json(200, null), body: s.cached(key, () => JSON.stringify(build())) });
  if (path === '/api/fingerprint') return json(200, { fingerprint: s.fingerprint });
  if (path === '/api/results') return cached('results', () => r);
  if (path === '/api/runs') {
    if (asCsv) return csv('runs', s.cached('runs.csv', () => runsCsv(r.runs.map((x) => runSummary(x, r.runs)))));
    return cached('runs', () => ({ fingerprint: s.fingerprint, runs: r.runs.map((x) => runSummary(x, r.runs)) }));
  }
  if (path === '/api/tables') return cached('tables', () => resultTables(r));
  if (path === '/api/networks') {
    if (asCsv) return csv('networks', s.cached('networks.csv', () => networksCsv(reportNetworks(r))));
    return cached('networks', () => reportNetworks(r));
  }
  const table = path.match(/^\/api\/tables\/([^/]+)$/);
  if (table) {
    const t = resultTables(r).tables.find((x) => x.dataset === table[1]);
    if (!t) return json(404, { error: `no results for dataset ${table[1]}` });
    return asCsv ? csv(`results-${t.dataset}`, tableCsv(t)) : json(200, t);
  }
  if (path === '/api/charts' || path === '/api/recipes' || path === '/api/comparisons') {
    const ids = idList(q);
    if (ids === null) return json(400, { error: 'runs must be a comma-separated list of run ids, e.g. ?runs=1,2' });
    if (path === '/api/charts') return cached(`charts:${ids?.join(',') ?? ''}`, () => chartsOf(r, ids));
    if (path === '/api/comparisons') return asCsv ? csv('comparisons', comparisonsCsv(comparisonsOf(r, ids))) : json(200, comparisonsOf(r, ids));
    const runs = ids ? r.runs.filter((x) => ids.includes(x.id)) : r.runs; // in the tables' order
    if (asCsv) return csv('recipes', recipeCsv(runs, r.runs));
    return json(200, runs.map((x) => runRecipe(x, r.runs)));
  }
  const m = path.match(/^\/api\/runs\/(\d+)(\/epochs|\/attempts)?$/);
  if (m) {
    const run = r.runs.find((x) => x.id === Number(m[1]));
    if (!run) return json(404, { error: `no run ${m[1]}; /api/runs lists the runs` });
    if (m[2] === '/epochs') return asCsv ? csv(`run-${run.id}-epochs`, epochsCsv(run.epochs)) : json(200, run.epochs);
    if (m[2] === '/attempts') return asCsv ? csv(`run-${run.id}-attempts`, attemptsCsv(run.attempts)) : json(200, run.attempts);
    return cached(`run:${run.id}`, () => runDetail(run, r.runs));
  }
  if (path === '/api/searches') {
    const list = () => s.searches.map((x) => searchSummary(x, s.explore.get(x.id)));
    if (asCsv) return csv('searches', s.cached('searches.csv', () => searchesCsv(list())));
    return cached('searches', list);
  }
  const e = path.match(/^\/api\/explore\/([^/]*)(\/charts|\/rungs|\/confirmed)?$/);
  if (e) {
    const id = e[1]!;
    if (!SEARCH_ID.test(id)) return json(400, { error: 'a search id is 64 lowercase hex digits (its SHA-256); /api/searches lists them' });
    const r = s.explore.get(id);
    if (!r) return json(404, { error: `no search ${id.slice(0, 12)} in the store; /api/searches lists them` });
    if ('error' in r) return json(500, { error: r.error });
    const name = `search-${id.slice(0, 12)}`;
    if (e[2] === '/charts') return cached(`explore:${id}:charts`, () => exploreCharts(r));
    if (e[2] === '/rungs') return asCsv ? csv(`${name}-rungs`, rungsCsv(r)) : json(200, r.rungs);
    if (e[2] === '/confirmed') return asCsv ? csv(`${name}-confirmed`, confirmedCsv(r)) : json(200, r.confirmed);
    return asCsv ? csv(`${name}-candidates`, s.cached(`explore:${id}.csv`, () => candidatesCsv(r))) : cached(`explore:${id}`, () => r);
  }
  return json(404, { error: `no such endpoint ${path}; see docs/dashboard.md` });
}

/** A search's id: the SHA-256 of its arguments in hex, as the store records it. */
const SEARCH_ID = /^[0-9a-f]{64}$/;

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const assets: Map<string, Asset> = loadAssets();
  const streams = new Set<http.ServerResponse>();
  const poller = new Poller(o.store, await takeSnapshot(o.store), o.pollMs ?? DASHBOARD_DEFAULTS.pollMs, (s) => {
    for (const res of streams) res.write(`event: change\ndata: ${JSON.stringify({ fingerprint: s.fingerprint })}\n\n`);
  }, (e) => o.onPollError?.(e));
  let hosts = new Set<string>();

  const send = (req: http.IncomingMessage, res: http.ServerResponse, r: Reply) => {
    res.writeHead(r.status, {
      ...SECURITY_HEADERS, 'Content-Type': r.type, 'Content-Length': Buffer.byteLength(r.body), 'Cache-Control': 'no-store', ...r.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : r.body);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) return send(req, res, text(421, 'unknown Host header: open the dashboard by the address it printed'));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(req, res, text(405, 'the dashboard is read-only: GET and HEAD only', { Allow: 'GET, HEAD' }));
    const target = checkPath(req.url ?? '');
    if ('refused' in target) return send(req, res, text(400, `bad path: ${target.refused}`));
    const { path, query } = target;
    if (o.token !== undefined) {
      const offered = query.get('token');
      if (offered !== null) {
        if (!tokenMatches(offered, o.token)) return send(req, res, text(401, 'wrong token'));
        // trade the URL's token for a cookie, and drop it from the address bar (and from history)
        query.delete('token');
        const rest = query.toString();
        return send(req, res, {
          ...text(303, 'token accepted'),
          headers: { Location: `${path}${rest ? `?${rest}` : ''}`, 'Set-Cookie': `${TOKEN_COOKIE}=${o.token}; HttpOnly; SameSite=Strict; Path=/` },
        });
      }
      if (!tokenMatches(presentedToken(req.headers), o.token)) return send(req, res, text(401, 'this dashboard needs its token: open the URL it printed (…/?token=…) or send Authorization: Bearer TOKEN'));
    }
    const asset = assets.get(path);
    if (asset) return send(req, res, { status: 200, type: asset.type, body: asset.body, headers: { 'Cache-Control': asset.vendor ? 'max-age=86400' : 'no-cache' } });
    if (path === '/api/events') return stream(req, res);
    if (path.startsWith('/api/')) return send(req, res, api(path, query, poller.current));
    return send(req, res, text(404, 'not found'));
  };

  const stream = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') return res.end();
    res.write(`retry: 2000\nevent: change\ndata: ${JSON.stringify({ fingerprint: poller.current.fingerprint })}\n\n`);
    streams.add(res);
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    res.on('close', () => {
      clearInterval(keepalive);
      streams.delete(res);
    });
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      send(req, res, text(500, `internal error: ${(e as Error).message}`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${o.port} on ${o.host} is in use; choose another with --port (0 picks a free one)` : `cannot listen on ${o.host}:${o.port}: ${e.message}`)));
    server.listen(o.port, o.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(o.host, port, o.allowHosts);
  poller.start();
  const shown = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    async close() {
      await poller.stop();
      for (const res of streams) res.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
