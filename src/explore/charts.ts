// The charts of a search (`googlenet explore`): per rung, every candidate that finished it as a
// point of validation top-1 error against MACs, the rung's front (its non-dominated set) in a
// strong colour joined by its staircase, the dominated grey, the base a diamond. vega-lite specs
// like the experiment's (src/experiment/charts.ts): named data only (`datasets` + `data: {name}`),
// self-contained, no expressions beyond formats, so the dashboard draws the same specs under a CSP
// without 'unsafe-eval'; labels placed without collisions (labels.ts) on fixed scale domains.
import { fixedDomain, type Chart, type ChartRows } from '../experiment/charts.js';
import { placeLabels, type Box } from '../experiment/labels.js';
import { toSvg } from '../experiment/plots.js';
import { datasetTitle } from '../experiment/report.js';
import type { ExploreCandidate, ExploreJson, ExploreRung } from './explore-json.js';

const WIDTH = 640, HEIGHT = 400, FONT = 11;
/** Point marks' area (px²) and the radius label placement keeps clear of (as the experiment's scatter charts). */
const POINT_SIZE = 70, POINT_RADIUS = 6;
/** The front's colour (Okabe–Ito's vermillion), the dominated candidates' grey. */
const FRONT = '#D55E00', DOMINATED = '#9a9a9a';
/** MACs spanning more than this factor get a log x scale. */
export const LOG_SPAN = 4;
const X_TITLE = 'MACs per 32x32 image';
const Y_TITLE = 'validation top-1 error (% of hold-out images)';

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: WIDTH, height: HEIGHT, background: 'white', padding: 8,
  config: { legend: { labelLimit: 260, labelFontSize: FONT, titleFontSize: FONT } } } as const;
const title = (text: string, subtitle: string[]) => ({ text, subtitle, subtitleColor: '#333', subtitleFontSize: FONT, anchor: 'start' as const });
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const int = (n: number) => n.toLocaleString('en-US');

/** A candidate's short name: `base` for candidate 0, `c7` for the others. */
export const candidateName = (id: number): string => (id === 0 ? 'base' : `c${id}`);

/** A rung's candidates that finished it (a validation error at its epochs), in id order. */
export function finishedOf(r: ExploreJson, rung: ExploreRung): { c: ExploreCandidate; error: number }[] {
  const key = String(rung.epochs);
  return r.candidates
    .filter((c) => rung.candidates.includes(c.id) && typeof c.valErrors[key] === 'number')
    .sort((a, b) => a.id - b.id)
    .map((c) => ({ c, error: c.valErrors[key]! }));
}

/** Whether a rung's chart draws MACs on a log scale: they span more than LOG_SPAN times. */
export function logMacs(macs: number[]): boolean {
  const lo = Math.min(...macs), hi = Math.max(...macs);
  return lo > 0 && hi / lo > LOG_SPAN;
}

/** The search in two lines: its id, base, strategy, dataset, budget and rungs; its limits and hold-out. */
function searchLines(r: ExploreJson): [string, string] {
  const s = r.search.spec;
  const strategy = s.strategy === 'evolution'
    ? `evolution (population ${s.population ?? '?'}, tournament ${s.tournament ?? '?'}, ${s.generation ?? '?'} children per generation)`
    : `${s.strategy} search`;
  const limits = [s.maxParams !== null ? `≤ ${int(s.maxParams)} parameters` : '', s.maxMacs !== null ? `≤ ${int(s.maxMacs)} MACs` : ''].filter(Boolean);
  const val = typeof s.recipe.val === 'number' ? s.recipe.val : 0;
  return [
    [`search ${r.search.id}`, `base ${s.base.name}`, strategy, datasetTitle(s.dataset), `budget ${int(s.budget)} candidates`, `rungs of ${s.rungs.join(', ')} epochs (eta ${s.eta})`].join(' · '),
    [...(limits.length ? [`limits: ${limits.join(', ')}`] : []), val > 0 ? `errors on a ${int(val)}-image validation hold-out` : 'no validation hold-out'].join(' · '),
  ];
}

/** The chart of the k-th rung (1-based), or null where no candidate finished it. */
function rungChart(r: ExploreJson, k: number): Chart | null {
  const rung = r.rungs[k - 1]!;
  const done = finishedOf(r, rung);
  if (done.length === 0) return null;
  const onFront = new Set(rung.front.filter((id) => done.some((d) => d.c.id === id)));
  const log = logMacs(done.map((d) => d.c.macs));
  const xd = fixedDomain(done.map((d) => d.c.macs), log, WIDTH, log ? 0.3 : Math.max(1, 0.2 * Math.max(...done.map((d) => d.c.macs))));
  const yd = fixedDomain(done.map((d) => d.error), false, HEIGHT, 0.04, 1);
  const fx = log ? Math.log10 : (v: number) => v;
  const px = (v: number) => (WIDTH * (fx(v) - fx(xd[0]))) / (fx(xd[1]) - fx(xd[0]));
  const py = (v: number) => HEIGHT * (1 - (v - yd[0]) / (yd[1] - yd[0]));
  const ix = (p: number) => (log ? 10 ** (Math.log10(xd[0]) + (p / WIDTH) * (Math.log10(xd[1]) - Math.log10(xd[0]))) : xd[0] + (p / WIDTH) * (xd[1] - xd[0]));
  const iy = (p: number) => yd[0] + (1 - p / HEIGHT) * (yd[1] - yd[0]);

  // the dominated first, so the front draws over them
  const rows: ChartRows = [...done].sort((a, b) => Number(onFront.has(a.c.id)) - Number(onFront.has(b.c.id)) || a.c.id - b.c.id).map(({ c, error }) => ({
    id: c.id, name: candidateName(c.id), macs: c.macs, error,
    class: onFront.has(c.id) ? 'front' : 'dominated', kind: c.id === 0 ? 'base' : 'candidate', size: c.id === 0 ? 2 * POINT_SIZE : POINT_SIZE,
    network: c.network, layers: c.layers, mutation: c.mutationText ?? '— (the base)', parameters: int(c.params), MACs: int(c.macs), 'validation top-1 error': pct(error),
  }));
  // the staircase of the attainable region: the front by MACs (then error), each error held until the next point's MACs
  const front = done.filter((d) => onFront.has(d.c.id)).sort((a, b) => a.c.macs - b.c.macs || a.error - b.error)
    .map(({ c, error }, order) => ({ id: c.id, name: candidateName(c.id), macs: c.macs, error, order }));

  // labels: each front point its id, the base `base` (front or not); clear of the dominated points, crossing the staircase only where they must
  const labelled = done.filter((d) => onFront.has(d.c.id) || d.c.id === 0);
  const others = done.filter((d) => !labelled.includes(d));
  const steps: Box[] = front.slice(1).flatMap((p, i) => {
    const q = front[i]!, x0 = px(q.macs), x1 = px(p.macs), y0 = py(q.error), y1 = py(p.error);
    return [{ x0, x1, y0: y0 - 1, y1: y0 + 1 }, { x0: x1 - 1, x1: x1 + 1, y0: Math.min(y0, y1), y1: Math.max(y0, y1) }];
  });
  const placed = placeLabels(labelled.map((d) => ({ x: px(d.c.macs), y: py(d.error), text: candidateName(d.c.id) })),
    others.map((d) => ({ x: px(d.c.macs), y: py(d.error) })), { width: WIDTH, height: HEIGHT, fontSize: FONT, radius: POINT_RADIUS }, steps);
  const labels = labelled.flatMap((d, i) => (placed[i] ? [{ id: d.c.id, label: candidateName(d.c.id), lx: ix(placed[i]!.x), ly: iy(placed[i]!.y) }] : []));
  const leaders = labelled.flatMap((d, i) => (placed[i]?.leader ? [{ id: d.c.id, macs: d.c.macs, error: d.error, ex: ix(placed[i]!.leader!.x), ey: iy(placed[i]!.leader!.y) }] : []));

  const scale = (d: [number, number], isLog: boolean) => (isLog ? { type: 'log', domain: d, nice: false } : { type: 'linear', domain: d, nice: false, zero: false });
  const x = { field: 'macs', type: 'quantitative', title: log ? `${X_TITLE} (log scale)` : X_TITLE, scale: scale(xd, log), axis: { format: '~s', labelFontSize: FONT } } as const;
  const y = { field: 'error', type: 'quantitative', title: Y_TITLE, scale: scale(yd, false), axis: { format: '.1~%', labelFontSize: FONT } } as const;
  const tooltip = ['name', 'network', 'layers', 'mutation', 'parameters', 'MACs', 'validation top-1 error', 'class'].map((f) => ({ field: f, title: f === 'name' ? 'candidate' : f }));
  const layer: unknown[] = [];
  if (leaders.length) layer.push({ data: { name: 'leaders' }, mark: { type: 'rule', color: '#999', strokeWidth: 1 }, encoding: { x, y, x2: { field: 'ex' }, y2: { field: 'ey' } } });
  if (front.length > 1) layer.push({
    data: { name: 'front' }, mark: { type: 'line', interpolate: 'step-after', color: FRONT, strokeWidth: 1.5 },
    encoding: { x, y, order: { field: 'order', type: 'quantitative' } },
  });
  layer.push({
    data: { name: 'candidates' }, mark: { type: 'point', filled: true, opacity: 1 },
    encoding: {
      x, y,
      color: { field: 'class', type: 'nominal', scale: { domain: ['front', 'dominated'], range: [FRONT, DOMINATED] }, legend: { title: null, symbolSize: 100 } },
      shape: { field: 'kind', type: 'nominal', scale: { domain: ['candidate', 'base'], range: ['circle', 'diamond'] }, legend: { title: null, symbolSize: 100, symbolFillColor: '#555', symbolStrokeColor: '#555' } },
      // each row's own area, read as is: a diamond of a circle's area looks smaller, so the base's is twice (its half-diagonal still within POINT_RADIUS)
      size: { field: 'size', type: 'quantitative', scale: null, legend: null },
      tooltip,
    },
  });
  layer.push({
    data: { name: 'labels' }, mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: FONT },
    encoding: { x: { ...x, field: 'lx' }, y: { ...y, field: 'ly' }, text: { field: 'label' } },
  });
  const datasets: Record<string, ChartRows> = { candidates: rows, labels };
  if (front.length > 1) datasets.front = front;
  if (leaders.length) datasets.leaders = leaders;

  const epochs = `${rung.epochs} epoch${rung.epochs === 1 ? '' : 's'}`;
  const text = `Validation top-1 error against MACs, rung ${k} (${epochs})`;
  const unfinished = rung.candidates.length - done.length;
  const [search, rest] = searchLines(r);
  const sub = [
    search!,
    `${rest!} · ${int(done.length)} candidate${done.length === 1 ? '' : 's'} finished the rung${unfinished > 0 ? ` (${int(unfinished)} more not yet)` : ''}`,
    `front: the ${onFront.size} not dominated on (error, MACs), joined by the staircase of what they attain · grey: dominated · diamond: the base`,
  ];
  return { id: `explore-rung${k}`, dataset: r.search.spec.dataset, title: text, spec: { ...base, title: title(text, sub), datasets, layer } as Chart['spec'] };
}

/** One chart per rung that has a finished candidate: `explore-rung<k>` (k 1-based), in rung order. */
export function exploreCharts(r: ExploreJson): Chart[] {
  return r.rungs.flatMap((_, i) => rungChart(r, i + 1) ?? []);
}

/** Every chart of exploreCharts as `<id>.svg` → its SVG text. */
export async function renderExplorePlots(r: ExploreJson): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of exploreCharts(r)) out.set(`${c.id}.svg`, await toSvg(c.spec));
  return out;
}
