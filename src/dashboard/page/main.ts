// The dashboard page: four views by the URL's hash (#/ the overview, #/runs/ID a run, #/compare/1,2
// runs side by side, #/explore/ID a search of `googlenet explore`), each drawn from the server's JSON and drawn again in place when the server's
// event stream says the store changed (polling /api/fingerprint while the stream is down).
import { ChartSet } from './charts.js';
import { el, err, fixed, int, table, when, type Column } from './dom.js';
import type {
  Chart, ComparisonTable, ConfirmedNetwork, EpochRecord, ExploreCandidate, ExploreJson, ExploreRung, NetworkEntry, ResultTable, ResultTables, RunDetail, RunRecipe, RunSummary,
  SearchSummary,
} from './types.js';

const main = document.getElementById('main')!;
const live = document.getElementById('live')!;

class HttpError extends Error {
  constructor(url: string, readonly status: number) { super(`${url}: HTTP ${status}`); }
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new HttpError(url, r.status);
  return (await r.json()) as T;
}

interface View { render(): Promise<void>; dispose(): void }

const selected = new Set<number>();
const runLink = (id: number | null, text: string) => (id === null ? text : el('a', { href: `#/runs/${id}` }, text));
const statusBadge = (status: string) => el('span', { class: `status status-${status.replace(/:.*$/s, '')}` }, status);
const recipeValue = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const titles = new Map<string, string>();
const datasetTitle = (d: string) => titles.get(d) ?? d;
type Tables = ResultTables;
/** A network's kind as results.md's Networks table words it. */
const kindOf = (n: Pick<NetworkEntry, 'builtin' | 'reconstructed'>) =>
  (!n.builtin ? 'declared: the seed has no results for it' : n.reconstructed ? 'built-in, a reconstruction †' : "built-in, the seed's");
const shortHash = (h: string | null) => (h ? h.slice(0, 12) : '—');
/** The tables, whose dataset titles (CIFAR-10) head each view's charts. */
async function getTables(): Promise<Tables> {
  const t = await getJson<Tables>('/api/tables');
  for (const x of t.tables) titles.set(x.dataset, x.title);
  return t;
}

/** An error cell, marked ‡ where it is the hold-out's rather than the test set's. */
const heldOut = (text: string, held: boolean) => (held ? el('span', { class: 'held-out', title: 'on the validation hold-out, not the test set' }, `${text}‡`) : text);

type Group = NonNullable<ResultTable['groups']>[number];
/** A group's name and, under it, a link to each of its runs by seed (with its status where not complete). */
function groupName(g: Group): HTMLElement {
  const seeds = g.runs.flatMap((x, i) => [i ? ' · ' : '', runLink(x.runId, String(x.seed)),
    x.status === 'complete' ? '' : ` (${x.status.startsWith('failed') ? 'failed' : `${x.status}, epoch ${x.epochs} of ${x.epochsPlanned ?? '?'}`})`]);
  return el('span', {}, g.label, g.reconstruction ? el('span', { class: 'dagger', title: g.reconstruction }, '†') : null,
    el('span', { class: 'row-status seeds' }, `seed${g.runs.length === 1 ? '' : 's'} `, ...seeds));
}

/** A table over seeds: a row per network group, its errors and time as mean ± sd (n) over its complete seeds. */
function groupsTable(t: ResultTable, groups: Group[]): HTMLElement {
  const cols: Column<Group>[] = [
    { head: 'network', cell: groupName, cls: () => 'name' },
    { head: 'Top-1 error', num: true, cell: (g) => heldOut(g.top1Cell, g.heldOut) },
    { head: 'Top-5 error', num: true, cell: (g) => heldOut(g.top5Cell, g.heldOut) },
    { head: 'Parameters', num: true, cell: (g) => int(g.params) },
    { head: 'MACs', num: true, cell: (g) => int(g.macs) },
    { head: t.timeHead, num: true, cell: (g) => g.time },
    ...seedColumns<Group>(t),
  ];
  return table(`results-${t.dataset}`, cols, groups, { csv: `/api/tables/${encodeURIComponent(t.dataset)}?format=csv`, rowData: (g) => ({ model: g.model, group: g.label }) });
}

/** The seed's four columns, beside ours. */
const seedColumns = <T extends { seed: ResultTable['rows'][number]['seed'] }>(t: ResultTable): Column<T>[] => [
  { head: 'seed Top-1', num: true, cell: (x) => fixed(x.seed?.top1, 2), cls: () => 'seed' },
  { head: 'seed Top-5', num: true, cell: (x) => fixed(x.seed?.top5, 2), cls: () => 'seed' },
  { head: 'seed Parameters', num: true, cell: (x) => int(x.seed?.params), cls: () => 'seed' },
  { head: t.seedTimeHead, num: true, cell: (x) => x.seed?.time ?? '—', cls: () => 'seed' },
];

function resultsTable(t: ResultTable): HTMLElement {
  type Row = ResultTable['rows'][number];
  const name = (x: Row) => {
    const done = x.status === 'complete';
    return el('span', {}, runLink(x.runId, x.label), x.reconstruction ? el('span', { class: 'dagger', title: x.reconstruction }, '†') : null,
      done ? null : el('span', { class: x.status.startsWith('failed') ? 'row-status failed' : 'row-status' }, ` (${x.status.startsWith('failed') ? x.status : `${x.status}, epoch ${x.epochs} of ${x.epochsPlanned ?? '?'}`})`));
  };
  const cols: Column<Row>[] = [
    { head: 'network', cell: name, cls: () => 'name' },
    { head: 'Top-1 error', num: true, cell: (x) => heldOut(err(x.top1Error), x.heldOut) },
    { head: 'Top-5 error', num: true, cell: (x) => heldOut(err(x.top5Error), x.heldOut) },
    { head: 'Parameters', num: true, cell: (x) => int(x.params) },
    { head: 'MACs', num: true, cell: (x) => int(x.macs) },
    { head: t.timeHead, num: true, cell: (x) => x.time },
    ...seedColumns<Row>(t),
  ];
  // a reconstruction's note once, however many runs of it the table holds
  const notes = [...new Set(t.rows.flatMap((x) => (x.reconstruction ? [x.reconstruction] : [])))].map((n) => el('p', { class: 'note' }, `† ${n}`));
  if (t.groups) notes.unshift(el('p', { class: 'note seeds' }, "Over seeds: a row per network, each cell the mean ± the sample standard deviation over its complete seeds (n of them); the CSV has a row per run."));
  if (t.heldOut) notes.push(el('p', { class: 'note held-out' }, t.heldOut));
  if (t.declared) notes.push(el('p', { class: 'note declared' }, t.declared));
  return el('section', { class: 'results' }, el('h3', {}, t.title),
    t.groups ? groupsTable(t, t.groups)
      : table(`results-${t.dataset}`, cols, t.rows, { csv: `/api/tables/${encodeURIComponent(t.dataset)}?format=csv`, rowData: (x) => ({ model: x.model }) }), ...notes);
}

/** Every network of the tables with its layers on one line, as results.md's Networks section. */
function networksTable(networks: NetworkEntry[]): HTMLElement {
  const again = (n: NetworkEntry) => networks.filter((m) => m.model === n.model).length > 1;
  return table<NetworkEntry>('networks', [
    { head: 'network', cell: (n) => (again(n) ? `${n.model} (${n.datasets.map(datasetTitle).join(', ')})` : n.model), cls: () => 'name' },
    { head: 'layers', cell: (n) => n.layers, cls: () => 'layers' },
    { head: 'sha256', cell: (n) => el('span', { title: n.sha256 ?? '' }, shortHash(n.sha256)), cls: () => 'hash' },
    { head: 'kind', cell: kindOf },
  ], networks, { csv: '/api/networks?format=csv', rowData: (n) => ({ model: n.model }) });
}

function runsTable(runs: RunSummary[], onSelect: () => void): HTMLElement {
  const pick = (r: RunSummary) => {
    const box = el('input', { type: 'checkbox', 'aria-label': `compare ${r.label}` });
    box.checked = selected.has(r.id);
    box.addEventListener('change', () => { if (box.checked) selected.add(r.id); else selected.delete(r.id); onSelect(); });
    return box;
  };
  const cols: Column<RunSummary>[] = [
    { head: '', cell: pick },
    { head: 'run', cell: (r) => runLink(r.id, r.label), cls: () => 'name' },
    { head: 'layers', cell: (r) => r.layers, cls: () => 'layers' },
    { head: 'status', cell: (r) => statusBadge(r.status) },
    { head: 'worker', cell: (r) => r.worker ?? '—' },
    { head: 'epoch', num: true, cell: (r) => `${r.status === 'running' && r.progress ? r.progress.epoch : r.epochsDone} of ${r.epochsPlanned}` },
    { head: 'batch', num: true, cell: (r) => (r.status === 'running' && r.progress ? `${r.progress.batch} / ${r.progress.batches}` : '—') },
    { head: 'images/s', num: true, cell: (r) => (r.status === 'running' ? fixed(r.progress?.imagesPerSecond, 1) : '—') },
    { head: 'ETA', num: true, cell: (r) => r.eta ?? '—' },
    { head: 'attempts', num: true, cell: (r) => r.attempts },
    { head: 'last error', cell: (r) => (r.lastError ? el('span', { class: 'error' }, r.lastError) : '—') },
  ];
  return table('runs', cols, runs, { csv: '/api/runs?format=csv', rowData: (r) => ({ run: String(r.id) }), empty: 'No runs in the store yet.' });
}

/** The store's searches, each a link to its page. */
function searchesTable(searches: SearchSummary[]): HTMLElement {
  return table<SearchSummary>('searches', [
    { head: 'search', cell: (x) => el('a', { href: `#/explore/${x.id}`, title: x.id }, x.id.slice(0, 12)), cls: () => 'name hash' },
    { head: 'strategy', cell: (x) => x.strategy ?? '—' },
    { head: 'base', cell: (x) => x.base ?? '—' },
    { head: 'dataset', cell: (x) => (x.dataset ? datasetTitle(x.dataset) : '—') },
    { head: 'budget', num: true, cell: (x) => int(x.budget) },
    { head: 'rungs (epochs)', num: true, cell: (x) => x.rungs.join(', ') || '—' },
    { head: 'candidates', num: true, cell: (x) => x.candidates },
    { head: 'front', cell: (x) => (x.error ? el('span', { class: 'error' }, x.error) : x.front.map(candidateName).join(', ') || '—') },
    { head: 'created (UTC)', cell: (x) => when(x.createdAt) },
  ], searches, { csv: '/api/searches?format=csv', rowData: (x) => ({ search: x.id }) });
}

function overview(): View {
  const results = el('div'), runs = el('div'), curves = el('div'), searches = el('div');
  const compare = el('a', { class: 'button', href: '#/compare/' }, '');
  const updateCompare = () => {
    const ids = [...selected].sort((a, b) => a - b);
    compare.textContent = ids.length >= 2 ? `Compare the ${ids.length} selected runs` : 'Tick two or more runs to compare them';
    compare.setAttribute('href', `#/compare/${ids.join(',')}`);
    compare.classList.toggle('disabled', ids.length < 2);
  };
  const chartSet = new ChartSet(curves);
  main.replaceChildren(
    el('h2', {}, 'Results'), results,
    el('h2', {}, 'Runs'), runs, el('p', {}, compare),
    searches,
    el('h2', {}, 'Curves'), curves,
  );
  return {
    async render() {
      const [t, r, c, x] = await Promise.all([
        getTables(), getJson<{ runs: RunSummary[] }>('/api/runs'), getJson<Chart[]>('/api/charts'), getJson<SearchSummary[]>('/api/searches'),
      ]);
      // the searches of `googlenet explore`, where the store has any
      searches.replaceChildren(...(x.length ? [el('h2', {}, 'Searches'), searchesTable(x)] : []));
      results.replaceChildren(...(t.tables.length ? t.tables.map(resultsTable) : [el('p', { class: 'empty' }, 'No runs recorded yet.')]), el('p', { class: 'cite' }, t.citation),
        ...(t.networks.length ? [el('h3', {}, 'Networks'), networksTable(t.networks)] : []));
      runs.replaceChildren(runsTable(r.runs, updateCompare));
      updateCompare();
      await chartSet.update(c, datasetTitle);
    },
    dispose: () => chartSet.clear(),
  };
}

const epochColumns: Column<EpochRecord>[] = [
  { head: 'epoch', num: true, cell: (e) => e.epoch },
  { head: 'train loss', num: true, cell: (e) => fixed(e.trainLoss, 4) },
  // a hold-out run's epochs have no test numbers: its hold-out's, marked ‡
  { head: 'test loss', num: true, cell: (e) => (e.testLoss === null && e.valLoss !== undefined ? heldOut(fixed(e.valLoss, 4), true) : fixed(e.testLoss, 4)) },
  { head: 'top-1 error', num: true, cell: (e) => (e.top1Error === null && e.valTop1Error !== undefined ? heldOut(err(e.valTop1Error), true) : err(e.top1Error)) },
  { head: 'top-5 error', num: true, cell: (e) => (e.top5Error === null && e.valTop5Error !== undefined ? heldOut(err(e.valTop5Error), true) : err(e.top5Error)) },
  { head: 'learning rate', num: true, cell: (e) => e.lr.toPrecision(4) },
  { head: 'seconds', num: true, cell: (e) => fixed(e.seconds, 1) },
  { head: 'finished (UTC)', cell: (e) => when(e.finishedAt) },
];

function runPage(id: number): View {
  const head = el('div'), recipe = el('div'), epochs = el('div'), attempts = el('div'), curves = el('div');
  const chartSet = new ChartSet(curves);
  main.replaceChildren(head, el('h3', {}, 'Recipe'), recipe, el('h3', {}, 'Epochs'), epochs, el('h3', {}, 'Attempts'), attempts, el('h3', {}, 'Curves'), curves);
  return {
    async render() {
      const d = await getJson<RunDetail>(`/api/runs/${id}`).catch((e) => { if (e instanceof HttpError && e.status === 404) return null; throw e; });
      if (!d) {
        for (const part of [recipe, epochs, attempts]) part.replaceChildren();
        chartSet.clear();
        return void head.replaceChildren(el('h2', {}, `No run ${id} in the store`), el('p', {}, el('a', { href: '#/' }, 'All runs')));
      }
      const [e, c] = await Promise.all([getJson<EpochRecord[]>(`/api/runs/${id}/epochs`), getJson<Chart[]>(`/api/charts?runs=${id}`), getTables()]);
      const s = d.summary;
      head.replaceChildren(el('div', {},
        el('h2', {}, `${s.label} `, statusBadge(s.status)),
        el('p', {}, `${s.epochsDone} of ${s.epochsPlanned} epochs; ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}; worker ${s.worker ?? '—'}; ${int(s.params)} parameters, ${int(s.macs)} MACs`),
        el('p', { class: 'network' }, 'layers: ', el('span', { class: 'layers' }, s.layers), ` (sha256 `, el('span', { class: 'hash', title: s.sha256 ?? '' }, shortHash(s.sha256)), `); ${kindOf({ builtin: s.builtin, reconstructed: s.reconstruction !== null })}`),
        s.reconstruction ? el('p', { class: 'note' }, `† ${s.reconstruction}`) : null,
        s.val > 0 ? el('p', { class: 'note held-out' }, `‡ seed ${s.seed}, hold-out ${int(s.val)}: its errors are on the ${int(s.val)}-image validation hold-out, not the test set.`) : null,
        s.lastError ? el('p', {}, 'last error: ', el('span', { class: 'error' }, s.lastError)) : null,
      ));
      const entries = Object.entries(d.run.recipe as unknown as Record<string, unknown>);
      recipe.replaceChildren(table('recipe', [{ head: 'key', cell: ([k]) => k }, { head: 'value', cell: ([, v]) => recipeValue(v) }], entries, { csv: `/api/recipes?runs=${id}&format=csv` }));
      epochs.replaceChildren(table('epochs', epochColumns, e, { csv: `/api/runs/${id}/epochs?format=csv`, empty: 'No epoch recorded yet.' }));
      type A = RunDetail['attempts'][number];
      attempts.replaceChildren(table<A>('attempts', [
        { head: 'attempt', num: true, cell: (a) => a.id },
        { head: 'worker', cell: (a) => a.worker },
        { head: 'machine', cell: (a) => (a.machine ? `${a.machine.cpu}, ${a.machine.isa}, ${a.machine.conv} convolutions, ${a.machine.threads} threads` : '—') },
        { head: 'started at', cell: (a) => (a.firstBatch ? `epoch ${a.firstBatch.epoch}, batch ${a.firstBatch.batch}` : '—') },
        { head: 'start (UTC)', cell: (a) => when(a.startedAt) },
        { head: 'end (UTC)', cell: (a) => when(a.endedAt) },
        { head: 'outcome', cell: (a) => statusBadge(a.outcome) },
        { head: 'error', cell: (a) => (a.error ? el('span', { class: 'error' }, a.error) : '—') },
      ], d.attempts, { csv: `/api/runs/${id}/attempts?format=csv`, empty: 'No attempt yet.' }));
      await chartSet.update(c, datasetTitle);
    },
    dispose: () => chartSet.clear(),
  };
}

// as results.md's Statistics write them: differences signed to 3 decimals, p to 2 significant digits
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const pValue = (p: number | null) => (p === null ? '—' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

/** Each dataset's comparisons among the networks of the chosen runs, over all of their seeds. */
function comparisonTables(tables: ComparisonTable[], q: string): HTMLElement[] {
  type C = ComparisonTable['comparisons'][number];
  const cols: Column<C>[] = [
    { head: 'a − b', cell: (c) => `${c.a} − ${c.b}`, cls: () => 'name' },
    { head: 'metric', cell: (c) => (c.metric === 'top1' ? 'top-1 error' : 'top-5 error') },
    { head: 'difference', num: true, cell: (c) => signed(c.difference) },
    { head: '95% CI', num: true, cell: (c) => (c.ci95 ? `[${signed(c.ci95[0])}, ${signed(c.ci95[1])}]` : '—') },
    { head: 'p', num: true, cell: (c) => pValue(c.p) },
    { head: 'Holm p', num: true, cell: (c) => pValue(c.pHolm) },
    { head: 'verdict', cell: (c) => (!c.testable ? el('span', { class: 'untestable' }, `not testable: ${c.reason ?? ''}`) : c.significant ? el('strong', {}, 'significant') : 'not significant') },
  ];
  return tables.flatMap((t) => {
    const seeds = t.networks.map((n) => `${n.label} (run${n.runIds.length === 1 ? '' : 's'} ${n.runIds.join(', ')}: ${n.seeds.length} complete)`);
    return [el('h4', {}, t.title), el('p', { class: 'note' }, `Over every seed of the networks these runs belong to: ${seeds.join('; ')}.`),
      table(`comparisons-${t.dataset}`, cols, t.comparisons, { csv: `/api/comparisons?runs=${q}&format=csv`, rowClass: (c) => (c.significant ? 'significant' : undefined),
        empty: 'No two of these networks were measured on the same images (a hold-out against the test set, or different subsets): none is compared.' })];
  });
}

function comparePage(ids: number[]): View {
  const recipes = el('div'), comparisons = el('section'), curves = el('div');
  const chartSet = new ChartSet(curves);
  main.replaceChildren(el('h2', {}, 'Runs side by side'), el('h3', {}, 'Recipes (rows that differ are marked ≠)'), recipes, comparisons, el('h3', {}, 'Curves'), curves);
  return {
    async render() {
      const q = ids.join(',');
      const [r, c, cmp] = await Promise.all([getJson<RunRecipe[]>(`/api/recipes?runs=${q}`), getJson<Chart[]>(`/api/charts?runs=${q}`),
        getJson<ComparisonTable[]>(`/api/comparisons?runs=${q}`), getTables()]);
      // two networks or more on a dataset: how they differ, over all of their seeds (Welch's t, Holm-corrected as in results.md)
      comparisons.replaceChildren(...(cmp.length ? [el('h3', {}, 'Differences over seeds'),
        el('p', { class: 'note' }, "Welch's t-test of each pair's mean error over its complete seeds: the difference a − b, its 95% CI and p, and Holm's p corrected over every pair of the dataset (as results.md has them); significant where Holm's p < 0.05."),
        ...comparisonTables(cmp, q)] : []));
      // each recipe key, with the network's layers and SHA-256 after its `network` (as the CSV has them)
      const keys = [...new Set(r.flatMap((x) => Object.keys(x.recipe)))].flatMap((k) => (k === 'network' ? [k, 'layers', 'sha256'] : [k]));
      const value = (x: RunRecipe, k: string) => (k === 'layers' ? x.layers : k === 'sha256' ? x.sha256 : (x.recipe as unknown as Record<string, unknown>)[k]);
      const differs = (k: string) => new Set(r.map((x) => recipeValue(value(x, k)))).size > 1;
      recipes.replaceChildren(table<string>('compare-recipes', [
        { head: 'key', cell: (k) => (differs(k) ? `${k} ≠` : k) },
        ...r.map((x): Column<string> => ({ head: x.label, cell: (k) => recipeValue(value(x, k)), cls: (k) => (k === 'layers' ? 'layers' : undefined) })),
      ], keys, { csv: `/api/recipes?runs=${q}&format=csv`, rowClass: (k) => (differs(k) ? 'differs' : undefined), empty: 'None of these runs is in the store.' }));
      await chartSet.update(c, datasetTitle);
    },
    dispose: () => chartSet.clear(),
  };
}

// a search's page (#/explore/ID): as explore.md has it, from /api/explore/ID
const candidateName = (id: number) => (id === 0 ? 'base' : `c${id}`);
/** Seed style, as explore.md's time column: 1h2m3s, 4m5s, 45s. */
function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const t = Math.round(seconds), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}
const meanSd = (x: ConfirmedNetwork['top1']) => (x ? `${x.mean.toFixed(4)}${x.sd === null ? '' : ` ± ${x.sd.toFixed(4)}`}` : '—');

function candidatesTable(r: ExploreJson, id: string): HTMLElement {
  const front = new Set(r.front);
  const cols: Column<ExploreCandidate>[] = [
    { head: 'id', cell: (c) => el('span', {}, front.has(c.id) ? el('span', { class: 'star', title: "on the final rung's front" }, '★ ') : null, runLink(c.runId, `c${c.id}`)), cls: () => 'name' },
    { head: 'network', cell: (c) => el('span', { title: `${c.layers} (sha256 ${c.hash})` }, c.network), cls: () => 'name' },
    { head: 'mutation', cell: (c) => c.mutationText ?? '(base)' },
    { head: 'parent', cell: (c) => (c.parent === null ? '—' : `c${c.parent}`) },
    { head: 'params', num: true, cell: (c) => int(c.params) },
    { head: 'MACs', num: true, cell: (c) => int(c.macs) },
    { head: 'rung', num: true, cell: (c) => c.rung },
    ...r.search.spec.rungs.map((e): Column<ExploreCandidate> => ({ head: `val top-1 @${e}`, num: true, cell: (c) => err(c.valErrors[String(e)]) })),
    { head: 'time', num: true, cell: (c) => duration(c.seconds) },
    { head: 'status', cell: (c) => statusBadge(c.status) },
  ];
  return table('candidates', cols, r.candidates, {
    csv: `/api/explore/${id}?format=csv`, rowClass: (c) => (front.has(c.id) ? 'front' : undefined), rowData: (c) => ({ candidate: String(c.id) }), empty: 'No candidate recorded yet.',
  });
}

function rungsTable(r: ExploreJson, id: string): HTMLElement {
  return table<ExploreRung>('rungs', [
    { head: 'rung', num: true, cell: (g) => r.rungs.indexOf(g) + 1 },
    { head: 'epochs', num: true, cell: (g) => g.epochs },
    { head: 'candidates', num: true, cell: (g) => g.candidates.length },
    { head: 'finished', cell: (g) => (g.done ? 'all' : 'not yet') },
    { head: 'front', cell: (g) => g.front.map(candidateName).join(', ') || '—' },
  ], r.rungs, { csv: `/api/explore/${id}/rungs?format=csv` });
}

function confirmedTable(r: ExploreJson, id: string): HTMLElement {
  const vs = (c: ConfirmedNetwork) => c.vsBase?.find((x) => x.metric === 'top1');
  return table<ConfirmedNetwork>('confirmed', [
    { head: 'network', cell: (c) => `${c.id === 0 ? 'base' : `c${c.id}`} ${c.network}`, cls: () => 'name' },
    { head: 'why', cell: (c) => c.why.join(', ') },
    { head: 'seeds', num: true, cell: (c) => `${c.seeds.filter((x) => x.top1Error !== null).length}/${c.seeds.length}` },
    { head: 'test top-1 (mean ± sd)', num: true, cell: (c) => meanSd(c.top1) },
    { head: 'test top-5', num: true, cell: (c) => meanSd(c.top5) },
    { head: 'top-1 − base [95% CI]', num: true, cell: (c) => {
      const v = vs(c);
      if (!v) return '—';
      if (!v.testable) return el('span', { class: 'untestable' }, `${v.difference === null ? '' : `${signed(v.difference)}, `}not testable: ${v.reason ?? ''}`);
      return el('span', {}, `${signed(v.difference!)} [${signed(v.ci95![0])}, ${signed(v.ci95![1])}]`, v.significant ? el('strong', {}, ' significant') : null);
    } },
    { head: 'p', num: true, cell: (c) => pValue(vs(c)?.p ?? null) },
    { head: 'Holm p', num: true, cell: (c) => pValue(vs(c)?.pHolm ?? null) },
  ], r.confirmed, { csv: `/api/explore/${id}/confirmed?format=csv`, rowClass: (c) => (vs(c)?.significant ? 'significant' : undefined) });
}

function explorePage(id: string): View {
  const head = el('div'), candidates = el('div'), rungs = el('div'), front = el('div'), confirmed = el('div'), charts = el('div');
  const chartSet = new ChartSet(charts);
  main.replaceChildren(head, el('h3', {}, 'Candidates'), candidates, el('h3', {}, 'Rungs'), rungs, front, confirmed, el('h3', {}, 'Validation error against MACs, per rung'), charts);
  return {
    async render() {
      const r = await getJson<ExploreJson>(`/api/explore/${id}`).catch((e) => { if (e instanceof HttpError && e.status === 404) return null; throw e; });
      if (!r) {
        for (const part of [candidates, rungs, front, confirmed]) part.replaceChildren();
        chartSet.clear();
        return void head.replaceChildren(el('h2', {}, `No search ${id.slice(0, 12)} in the store`), el('p', {}, el('a', { href: '#/' }, 'All searches')));
      }
      const [c] = await Promise.all([getJson<Chart[]>(`/api/explore/${id}/charts`), getTables()]);
      const s = r.search.spec;
      const recipe = s.recipe as { val?: number; limitTrain?: number | null; optimizer?: string; lr?: number; batchSize?: number; seed?: number };
      const limits = [s.maxParams !== null ? `at most ${int(s.maxParams)} parameters` : '', s.maxMacs !== null ? `at most ${int(s.maxMacs)} MACs` : ''].filter(Boolean);
      head.replaceChildren(el('div', {},
        el('h2', {}, `Search `, el('span', { class: 'hash', title: r.search.id }, r.search.id.slice(0, 12)), `: ${s.strategy} from ${s.base.name} on ${datasetTitle(s.dataset)}`),
        el('p', { class: 'search-args' }, `${s.budget} candidates at the first rung (rng ${s.rng}), rungs of ${s.rungs.join(', ')} epochs, the best 1/${s.eta} of each rung on to the next` +
          ` by Pareto rank on validation top-1 error and MACs.` +
          (s.strategy === 'evolution' ? ` Regularized evolution: population ${s.population}, tournament ${s.tournament}, ${s.generation} children per generation.` : ' Random: each candidate is one mutation of the base.') +
          (limits.length ? ` Limits: ${limits.join(', ')}.` : '')),
        el('p', { class: 'note' }, `Recipe: ${recipe.optimizer ?? '?'} lr ${recipe.lr ?? '?'}, batch ${recipe.batchSize ?? '?'}, seed ${recipe.seed ?? '?'}; ` +
          `validation hold-out: the first ${int(recipe.val ?? 0)} training images${recipe.limitTrain ? ` of ${int(recipe.limitTrain)}` : ''} (the rankings, fronts and promotions use it alone; the test set only in the confirmation). ` +
          `Base ${s.base.name} (sha256 ${s.base.hash.slice(0, 12)}); created ${when(r.search.createdAt)} UTC.`),
        r.exhausted ? el('p', { class: 'note' }, `The proposals stopped at candidate ${r.exhausted.atCandidate}: 100 draws in a row gave no new network within the limits.`) : null,
      ));
      candidates.replaceChildren(el('p', { class: 'note' }, "★: on the final rung's front. c0 is the base. Validation top-1 error after each rung's epochs; each id links to its run."), candidatesTable(r, id));
      rungs.replaceChildren(rungsTable(r, id));
      const byId = new Map(r.candidates.map((x) => [x.id, x]));
      const onFront = r.front.map((x) => byId.get(x)).filter((x): x is ExploreCandidate => x !== undefined).sort((a, b) => a.macs - b.macs);
      front.replaceChildren(el('h3', {}, 'The front'), onFront.length
        ? el('ul', { class: 'front', data: { list: 'front' } }, ...onFront.map((x) => el('li', {}, `${candidateName(x.id)} ${x.network}: `, el('span', { class: 'layers' }, x.layers),
          `, ${int(x.macs)} MACs, validation top-1 ${err(x.valError)}`)))
        : el('p', { class: 'empty' }, `No candidate has finished the final rung (${s.rungs.at(-1)} epochs) yet.`));
      confirmed.replaceChildren(...(r.confirmed.length ? [el('h3', {}, 'Confirmation'),
        el('p', { class: 'note' }, `Each network trained with seeds 1 to ${r.confirmSeeds} on every training image (the hold-out included) for ${s.rungs.at(-1)} epochs and tested on the test set; ` +
          "each compared with the base by Welch's t-test (difference minus the base, 95% CI), Holm-corrected over the networks compared with it; significant: Holm p < 0.05."),
        confirmedTable(r, id)] : []));
      await chartSet.update(c, datasetTitle, 'No candidate has finished a rung yet: a rung\'s chart appears with its first.');
    },
    dispose: () => chartSet.clear(),
  };
}

function viewOf(hash: string): View {
  const search = hash.match(/^#\/explore\/([0-9a-f]{64})$/);
  if (search) return explorePage(search[1]!);
  const run = hash.match(/^#\/runs\/(\d+)$/);
  if (run) return runPage(Number(run[1]));
  const cmp = hash.match(/^#\/compare\/([\d,]*)$/);
  if (cmp) return comparePage(cmp[1]!.split(',').filter(Boolean).map(Number));
  return overview();
}

let view: View = viewOf(location.hash);
let fingerprint = '';
let busy: Promise<void> | null = null;
let again = false;

/** Draws the view again; a request while one runs makes one more run after it. */
function refresh(): void {
  if (busy) { again = true; return; }
  busy = (async () => {
    do {
      again = false;
      try {
        await view.render();
        document.body.dataset.fingerprint = fingerprint;
      } catch (e) {
        // a failed fetch (the server gone) or a bug: said on the page and in the console
        live.textContent = e instanceof TypeError && /fetch/i.test(e.message) ? 'cannot reach the dashboard\'s server' : `could not draw the page: ${(e as Error).message}`;
        live.className = 'live down';
        console.error(e);
      }
    } while (again);
    busy = null;
  })();
}

window.addEventListener('hashchange', () => {
  view.dispose();
  view = viewOf(location.hash);
  refresh();
});

const changed = (fp: string) => {
  if (fp === fingerprint) return;
  fingerprint = fp;
  refresh();
};

// the event stream, and polling while it is down (EventSource reconnects by itself)
const POLL_MS = 3000;
let poll: number | undefined;
const events = new EventSource('/api/events');
events.addEventListener('open', () => {
  window.clearInterval(poll);
  poll = undefined;
  live.textContent = 'live';
  live.className = 'live up';
});
events.addEventListener('change', (e) => changed((JSON.parse((e as MessageEvent<string>).data) as { fingerprint: string }).fingerprint));
events.addEventListener('error', () => {
  live.textContent = `event stream lost: polling every ${POLL_MS / 1000} s`;
  live.className = 'live down';
  poll ??= window.setInterval(() => {
    getJson<{ fingerprint: string }>('/api/fingerprint').then((f) => changed(f.fingerprint), () => {});
  }, POLL_MS);
});
