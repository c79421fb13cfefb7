// The experiment's charts as vega-lite specs: one definition for the report's SVG files
// (plots.ts renders them) and for the dashboard's page (vega-embed draws them in the browser).
// Every spec names its data (`datasets` + `data: {name}`), so the page can swap a chart's rows
// with a vega changeset when an epoch lands, instead of drawing the chart again from scratch.
// Specs are self-contained (no URLs, no fonts) and use no expressions beyond formats, so vega's
// expression interpreter (a CSP without 'unsafe-eval') draws them as well as compiled code.
import type { TopLevelSpec } from 'vega-lite';
import type { ResultsJson, ResultRow } from './report.js';
import { VARIANTS, modelNames } from '../models/googlenet.js';
import { compareRuns, datasetTitle, epochTop1, epochTop5, formatDuration, isBuiltin, MODEL_ORDER, parseDuration } from './report.js';
import { caption } from './caption.js';
import { bySeeds, durationCell, type DatasetStatistics, type NetworkStatistics, type SeedRun } from './statistics.js';
import type { Summary } from '../stats/stats.js';
import { placeLabels } from './labels.js';
import { defaultRecipe } from '../train/config.js';

export type ChartRows = Record<string, unknown>[];

export interface Chart {
  /** The plot's file stem and the page's element id: `cifar10-test-top1`. */
  id: string;
  dataset: string;
  /** The chart's title as plain text (the spec's title also carries the recipe as subtitle). */
  title: string;
  /** A vega-lite spec whose data are all named: `spec.datasets[name]` holds the rows of `{data: {name}}`. */
  spec: TopLevelSpec & { datasets: Record<string, ChartRows> };
}

const WIDTH = 640, HEIGHT = 400, FONT = 11;
/** Point marks' area (px²) and the radius label placement keeps clear of (a little over its half-width). */
const POINT_SIZE = 70, POINT_RADIUS = 6;
const SEED_EPOCHS = defaultRecipe().epochs;
const SEED_LABEL = `seed (PyTorch 1.6, ${SEED_EPOCHS} epochs)`;
const SEED_GREY = '#777777';
const reconstructed = (model: string) => isBuiltin(model) && !!VARIANTS[model]!.reconstructed;
const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: WIDTH, height: HEIGHT, background: 'white', padding: 8,
  config: { legend: { labelLimit: 260, labelFontSize: FONT, titleFontSize: FONT } } } as const;

// One style per network, the same in every chart and dataset: the seed's table order, then any
// other network of VARIANTS. Okabe–Ito's colour-blind-safe colours (yellow left out: unreadable on
// white; its sky blue swapped for a purple, too near the blue), each with its own dash and point shape, so lines that cross or overlap stay apart.
const PALETTE = ['#D55E00', '#0072B2', '#009E73', '#E69F00', '#CC79A7', '#6A3D9A', '#000000'];
const DASHES = [[1, 0], [8, 3], [2, 2], [9, 3, 2, 3], [4, 3], [12, 3, 2, 3, 2, 3], [6, 2, 1, 2]];
const SHAPES = ['square', 'circle', 'triangle-up', 'diamond', 'triangle-down', 'cross', 'triangle-left'];
// Declared networks (network files) take styles of their own: colours and dashes none of the seven
// has (Paul Tol's wine, sky blue, olive and teal, a brown and a slate grey), and point shapes, the
// first two of which (triangle-right, wedge) the seven do not use.
const DECLARED_PALETTE = ['#882255', '#56B4E9', '#999933', '#44AA99', '#8C564B', '#5D6D7E'];
const DECLARED_DASHES = [[3, 1], [10, 2, 2, 2], [1, 3], [6, 3, 6, 3, 1, 3], [14, 4], [2, 4, 8, 4]];
const DECLARED_SHAPES = ['triangle-right', 'wedge', 'diamond', 'circle', 'arrow', 'square'];
// (computed on first use: report.ts, which declares MODEL_ORDER, imports this module through plots.ts)
let styled: string[] | undefined;
/**
 * A network's colour, dash and point shape. The seven (and any network of VARIANTS) have theirs;
 * a declared network gets the `declaredIndex`-th declared style (charts() numbers the declared
 * networks of the whole report by name, so each keeps its style in every chart): none of the seven's
 * colours or dashes, and after six a colour again with another dash and shape.
 */
export function networkStyle(model: string, declaredIndex = 0): { color: string; dash: number[]; shape: string } {
  styled ??= [...MODEL_ORDER, ...modelNames().filter((m) => !MODEL_ORDER.includes(m)).sort()];
  const i = isBuiltin(model) ? styled.indexOf(model) : -1;
  if (i >= 0) return { color: PALETTE[i % PALETTE.length]!, dash: DASHES[i % DASHES.length]!, shape: SHAPES[(i + Math.floor(i / SHAPES.length)) % SHAPES.length]! };
  const k = Math.max(0, declaredIndex), n = DECLARED_PALETTE.length;
  // past six, the colours come round again with another dash and shape
  return { color: DECLARED_PALETTE[k % n]!, dash: DECLARED_DASHES[(k + Math.floor(k / n)) % n]!, shape: DECLARED_SHAPES[(k + 2 * Math.floor(k / n)) % n]! };
}

/** The declared networks (names outside VARIANTS) of a report, by name: their order gives their styles. */
export function declaredNetworks(r: Pick<ResultsJson, 'runs'>): string[] {
  return [...new Set(r.runs.map((x) => x.model).filter((m) => !isBuiltin(m)))].sort();
}

/**
 * One series of a chart: a run, named as its table row (`googlenet-short4`, `googlenet-short4 seed 2`),
 * with ` (hold-out)` where its errors are its hold-out's; `model` its network, which gives its style.
 */
export interface Series { key: string; model: string }
/**
 * A series' style: its network's (networkStyle); the second and later runs of one network (`sibling`
 * 1, 2, …) keep its colour with another dash and point shape, so each run stays its own line.
 */
export function seriesStyle(model: string, declaredIndex: number, sibling: number): { color: string; dash: number[]; shape: string } {
  const s = networkStyle(model, declaredIndex);
  if (sibling === 0) return s;
  const dashes = [...DASHES, ...DECLARED_DASHES], shapes = [...new Set([...SHAPES, ...DECLARED_SHAPES])];
  const di = dashes.findIndex((d) => JSON.stringify(d) === JSON.stringify(s.dash)), si = shapes.indexOf(s.shape);
  return { color: s.color, dash: dashes[(di + sibling) % dashes.length]!, shape: shapes[(si + sibling) % shapes.length]! };
}
const styleOf = (series: Series[], declared: string[]) => series.map((x, i) =>
  seriesStyle(x.model, declared.indexOf(x.model), series.slice(0, i).filter((y) => y.model === x.model).length));

/**
 * color, strokeDash and shape channels of the series present (field `model`: the series' key), in
 * one legend titled `network` (vega-lite merges legends of one field): with `lines` the legend draws
 * each series' dashed stroke (the shape channel keeps out of it), else its point shape; `more`: other legend properties.
 */
function styleScales(series: Series[], legend: 'lines' | 'points' | null, declared: string[], more: Record<string, unknown> = {}) {
  const models = series.map((x) => x.key);
  const s = styleOf(series, declared);
  const l = legend ? { title: 'network', symbolStrokeWidth: 2, ...(legend === 'lines' ? { symbolType: 'stroke', symbolSize: 500 } : { symbolSize: 100 }), ...more } : null;
  return {
    color: { field: 'model', type: 'nominal', scale: { domain: models, range: s.map((x) => x.color) }, legend: l },
    strokeDash: { field: 'model', type: 'nominal', scale: { domain: models, range: s.map((x) => x.dash) }, legend: l },
    shape: { field: 'model', type: 'nominal', scale: { domain: models, range: s.map((x) => x.shape) }, legend: legend === 'points' ? l : null },
  } as const;
}
/** The seed marks' own legend entry: hollow grey, explained once. */
const seedStroke = { datum: SEED_LABEL, type: 'nominal', scale: { domain: [SEED_LABEL], range: [SEED_GREY] }, legend: { title: null, symbolType: 'circle' } } as const;
const title = (text: string, subtitle: string[]) => ({ text, subtitle, subtitleColor: '#333', subtitleFontSize: FONT, anchor: 'start' as const });

type Run = ResultsJson['runs'][number];
type Epoch = Run['epochs'][number];

interface Metric { id: string; what: string; axis: string; pick: (e: Epoch) => number | null; percent: boolean; seed?: (s: NonNullable<ResultRow['seed']>) => number }
const METRICS: Metric[] = [
  // a hold-out run's errors are its hold-out's (epochTop1): its series says `(hold-out)` and the subtitle why
  { id: 'test-top1', what: 'test top-1 error', axis: 'test top-1 error (% of test images)', pick: (e) => epochTop1(e), percent: true, seed: (s) => s.top1 },
  { id: 'test-top5', what: 'test top-5 error', axis: 'test top-5 error (% of test images)', pick: (e) => epochTop5(e), percent: true, seed: (s) => s.top5 },
  { id: 'train-loss', what: 'training loss', axis: 'mean training loss (cross-entropy, nats)', pick: (e) => e.trainLoss, percent: false },
  { id: 'lr', what: 'learning rate', axis: 'learning rate (the optimizer\'s lr in the epoch)', pick: (e) => e.lr, percent: false },
];

/**
 * One line of a chart: a run, or where a dataset is drawn over seeds (bySeeds) a network group and
 * its runs, drawn as their mean with a band from their min to their max.
 */
interface Line { series: Series; runs: Run[] }

/** The mean, min, max and count at each epoch of the runs that reached it (and have a value there). */
function spreadOf(runs: Run[], pick: (e: Epoch) => number | null): { epoch: number; y: number; lo: number; hi: number; n: number }[] {
  const epochs = [...new Set(runs.flatMap((x) => x.epochs.map((e) => e.epoch)))].sort((a, b) => a - b);
  return epochs.flatMap((epoch) => {
    const ys = runs.flatMap((x) => x.epochs.filter((e) => e.epoch === epoch).map(pick)).filter((v): v is number => v !== null);
    return ys.length ? [{ epoch, y: ys.reduce((a, b) => a + b, 0) / ys.length, lo: Math.min(...ys), hi: Math.max(...ys), n: ys.length }] : [];
  });
}

/**
 * One line per run of an epoch series, or with `grouped` one per network group (the mean over its
 * seeds, a band from their min to their max); the seed's final values at its last epoch when the
 * runs are as long.
 */
function perEpoch(m: Metric, name: string, sub: string[], lines: Line[], declared: string[], seedRows: ResultRow[], grouped: boolean): Chart {
  // each row carries its point shape: read as is (scale null), so the legend stays the lines' one
  const series = lines.map((l) => l.series);
  const runs = lines.flatMap((l) => l.runs);
  const styles = styleOf(series, declared);
  const shapeOf = (key: string) => styles[series.findIndex((x) => x.key === key)]!.shape;
  const epochs: ChartRows = lines.flatMap(({ series: { key }, runs: group }) => (grouped
    ? spreadOf(group, m.pick).map((p) => ({ model: key, ...p, shape: shapeOf(key) }))
    : group[0]!.epochs.map((e) => ({ model: key, epoch: e.epoch, y: m.pick(e), shape: shapeOf(key) }))));
  const lastEpoch = Math.max(2, ...runs.map((x) => Math.max(x.epochsPlanned, x.epochs.length)));
  // the seed's values are its 14th epoch's: drawn only where the x axis reaches it, so short runs are not squeezed
  const seed = m.seed && lastEpoch === SEED_EPOCHS ? seedRows.filter((x, i) => x.seed && firstOfNetwork(seedRows, x, i)).map((x) => ({ model: x.model, epoch: SEED_EPOCHS, y: m.seed!(x.seed!), shape: shapeOf(seriesOfNetwork(series, x.model)) })) : [];
  // drawn a little right of epoch 14, beside (not on) the runs' own last points
  const seedAt = SEED_EPOCHS + 0.3;
  const format = m.percent ? '.2%' : '.4~g';
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, seed.length ? seedAt + 0.3 : lastEpoch], nice: false }, axis: { values: Array.from({ length: lastEpoch }, (_, i) => i + 1), format: 'd', labelFontSize: FONT } } as const;
  const y = { field: 'y', type: 'quantitative', title: m.axis, scale: { zero: false, nice: false, padding: 12 }, axis: { format: m.percent ? '.1~%' : '~g', labelFontSize: FONT } } as const;
  const style = styleScales(series, 'lines', declared, grouped ? { symbolOpacity: 1 } : {});
  const shape = { field: 'shape', type: 'nominal', scale: null, legend: null } as const;
  const tooltip = grouped
    ? [{ field: 'model', title: 'network' }, { field: 'epoch', title: 'epoch' }, { field: 'y', title: `${m.what}, mean over seeds`, format },
      { field: 'lo', title: 'min', format }, { field: 'hi', title: 'max', format }, { field: 'n', title: 'seeds' }]
    : [{ field: 'model', title: 'network' }, { field: 'epoch', title: 'epoch' }, { field: 'y', title: m.what, format }];
  const text = `${name}: ${m.what} per epoch`;
  // whether every line is the same (the lr of one schedule): said, since the lines then hide each other
  const ys = lines.map((l) => JSON.stringify(epochs.filter((p) => p.model === l.series.key).map((p) => p.y)));
  if (lines.length > 1 && ys.every((v) => v === ys[0])) sub = [...sub, `the same for every ${!grouped && new Set(runs.map((x) => x.model)).size < runs.length ? 'run' : 'network'}: the lines coincide`];
  if (grouped) sub = [...sub, "lines: the mean over the network's seeds that reached the epoch; bands: their min to max"];
  const layer: unknown[] = [
    { data: { name: 'epochs' }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color: style.color, strokeDash: style.strokeDash } },
    { data: { name: 'epochs' }, mark: { type: 'point', filled: true, size: POINT_SIZE, opacity: 1 }, encoding: { x, y, color: style.color, shape, tooltip } },
  ];
  // the bands under the lines, faint enough that crossing bands stay readable (the legend's symbols kept opaque)
  if (grouped) layer.unshift({ data: { name: 'epochs' }, mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color: style.color, tooltip } });
  if (seed.length) layer.push({
    data: { name: 'seed' }, mark: { type: 'point', filled: false, size: POINT_SIZE * 1.6, strokeWidth: 1.5 },
    encoding: { x: { ...x, datum: seedAt, field: undefined }, y, shape, stroke: seedStroke, tooltip: [{ field: 'model', title: 'seed network' }, { field: 'y', title: `seed ${m.what} (epoch ${SEED_EPOCHS})`, format }] },
  });
  return {
    id: m.id, dataset: '', title: text,
    spec: { ...base, title: title(text, sub), datasets: seed.length ? { epochs, seed } : { epochs }, layer } as Chart['spec'],
  };
}

interface Axis { field: string; title: string; format: string; log: boolean }
interface ScatterPoint { model: string; x: number; y: number; label: string; tip: Record<string, unknown> }

/** Pixel scales for fixed domains: the label placement and the drawn chart agree exactly (explore's charts use it too). */
export function fixedDomain(values: number[], log: boolean, pixels: number, minSpan: number, ceiling = Infinity): [number, number] {
  const f = log ? Math.log10 : (v: number) => v;
  const g = log ? (v: number) => 10 ** v : (v: number) => v;
  let lo = Math.min(...values.map(f)), hi = Math.max(...values.map(f));
  // errors and counts are never negative: the axis starts at 0 rather than below it
  const floor = !log && lo >= 0 ? 0 : -Infinity;
  if (hi - lo < minSpan) { const mid = (lo + hi) / 2; lo = Math.max(floor, mid - minSpan / 2); hi = lo + minSpan; }
  const pad = ((hi - lo) * 24) / (pixels - 48); // 24 px on each side
  return [g(Math.max(floor, lo - pad)), g(Math.min(ceiling, hi + pad))];
}

/**
 * Where a dataset is drawn over seeds: the 95% CI of each group's mean (n ≥ 2) as a vertical bar
 * at its x, and each complete seed's value as a small dot (drawn a few pixels apart in x).
 */
interface Spread { bars: { model: string; x: number; lo: number; hi: number }[]; dots: ScatterPoint[] }
/** Seed dots' area (px²), the radius labels keep clear of, and their spacing in x (px). */
const DOT_SIZE = 22, DOT_RADIUS = 3, DOT_STEP = 4;

/**
 * Final values of each network against x, labelled without collisions; the seed's as hollow grey
 * marks; with `spread` (a dataset over seeds) each point is a group's mean, with its CI bar and its seeds' dots.
 */
function scatter(id: string, text: string, sub: string[], models: Series[], declared: string[], X: Axis, Y: Axis, ours: ScatterPoint[], seed: ScatterPoint[], spread?: Spread): Chart {
  const all = [...ours, ...seed, ...(spread?.dots ?? [])];
  const xd = fixedDomain(all.map((p) => p.x), X.log, WIDTH, X.log ? 0.3 : 1);
  // errors are fractions: the axis ends at 100% at most
  const yd = fixedDomain([...all.map((p) => p.y), ...(spread?.bars.flatMap((b) => [b.lo, b.hi]) ?? [])], Y.log, HEIGHT, 0.04, Y.format.endsWith('%') ? 1 : Infinity);
  const f = (log: boolean) => (log ? Math.log10 : (v: number) => v);
  const px = (v: number) => (WIDTH * (f(X.log)(v) - f(X.log)(xd[0]))) / (f(X.log)(xd[1]) - f(X.log)(xd[0]));
  const py = (v: number) => HEIGHT * (1 - (f(Y.log)(v) - f(Y.log)(yd[0])) / (f(Y.log)(yd[1]) - f(Y.log)(yd[0])));
  const ix = (p: number) => (X.log ? 10 ** (Math.log10(xd[0]) + (p / WIDTH) * (Math.log10(xd[1]) - Math.log10(xd[0]))) : xd[0] + (p / WIDTH) * (xd[1] - xd[0]));
  const iy = (p: number) => (Y.log ? 10 ** (Math.log10(yd[0]) + (1 - p / HEIGHT) * (Math.log10(yd[1]) - Math.log10(yd[0]))) : yd[0] + (1 - p / HEIGHT) * (yd[1] - yd[0]));
  // a group's seeds spread a few pixels either side of its x, so equal values stay countable
  const dots = (spread?.dots ?? []).map((p, i, ds) => {
    const mine = ds.filter((d) => d.model === p.model), k = mine.indexOf(p);
    return { ...p, x: ix(px(p.x) + (k - (mine.length - 1) / 2) * Math.min(DOT_STEP, 24 / Math.max(1, mine.length - 1))) };
  });
  const bars = (spread?.bars ?? []).map((b) => ({ x0: px(b.x) - 1, x1: px(b.x) + 1, y0: py(b.hi), y1: py(b.lo) }));
  const placed = placeLabels(ours.map((p) => ({ x: px(p.x), y: py(p.y), text: p.label })),
    [...seed.map((p) => ({ x: px(p.x), y: py(p.y) })), ...dots.map((p) => ({ x: px(p.x), y: py(p.y), radius: DOT_RADIUS }))],
    { width: WIDTH, height: HEIGHT, fontSize: FONT, radius: POINT_RADIUS }, bars);
  const row = (p: ScatterPoint) => ({ model: p.model, [X.field]: p.x, [Y.field]: p.y, ...p.tip });
  const points = ours.map(row);
  const labels = ours.flatMap((p, i) => (placed[i] ? [{ model: p.model, label: p.label, lx: ix(placed[i]!.x), ly: iy(placed[i]!.y) }] : []));
  const leaders = ours.flatMap((p, i) => (placed[i]?.leader ? [{ model: p.model, [X.field]: p.x, [Y.field]: p.y, ex: ix(placed[i]!.leader!.x), ey: iy(placed[i]!.leader!.y) }] : []));
  const scale = (d: [number, number], log: boolean) => (log ? { type: 'log', domain: d, nice: false } : { type: 'linear', domain: d, nice: false, zero: false });
  const x = { field: X.field, type: 'quantitative', title: X.title, scale: scale(xd, X.log), axis: { format: X.format, labelFontSize: FONT } } as const;
  const y = { field: Y.field, type: 'quantitative', title: Y.title, scale: scale(yd, Y.log), axis: { format: Y.format, labelFontSize: FONT } } as const;
  const style = styleScales(models, 'points', declared);
  const tipOf = (rows: ScatterPoint[]) => Object.keys(rows[0]?.tip ?? {}).map((k) => ({ field: k, title: k }));
  const layer: unknown[] = [];
  if (leaders.length) layer.push({ data: { name: 'leaders' }, mark: { type: 'rule', color: '#999', strokeWidth: 1 }, encoding: { x, y, x2: { field: 'ex' }, y2: { field: 'ey' } } });
  if (seed.length) layer.push({
    data: { name: 'seed' }, mark: { type: 'point', filled: false, size: POINT_SIZE * 1.3, strokeWidth: 1.5 },
    encoding: { x, y, shape: style.shape, stroke: seedStroke, tooltip: [{ field: 'model', title: 'seed network' }, ...tipOf(seed)] },
  });
  if (bars.length) layer.push({ data: { name: 'bars' }, mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color: style.color } });
  layer.push({ data: { name: 'points' }, mark: { type: 'point', filled: true, size: POINT_SIZE, opacity: 1 }, encoding: { x, y, color: style.color, shape: style.shape, tooltip: [{ field: 'model', title: 'network' }, ...tipOf(ours)] } });
  // the seeds over the means: small, light and outlined in white, so a seed on its mean still shows
  if (dots.length) layer.push({
    data: { name: 'seeds' }, mark: { type: 'circle', size: DOT_SIZE, opacity: 0.75, stroke: 'white', strokeWidth: 0.75 },
    encoding: { x, y, color: style.color, tooltip: [{ field: 'model', title: 'network' }, ...tipOf(dots)] },
  });
  layer.push({
    data: { name: 'labels' }, mark: { type: 'text', align: 'left', baseline: 'middle', fontSize: FONT },
    encoding: { x: { ...x, field: 'lx' }, y: { ...y, field: 'ly' }, text: { field: 'label' } },
  });
  const datasets: Record<string, ChartRows> = { points, labels };
  if (seed.length) datasets.seed = seed.map(row);
  if (leaders.length) datasets.leaders = leaders;
  if (spread?.bars.length) datasets.bars = spread.bars.map((b) => ({ model: b.model, [X.field]: b.x, lo: b.lo, hi: b.hi }));
  if (dots.length) datasets.seeds = dots.map(row);
  return { id, dataset: '', title: text, spec: { ...base, title: title(text, sub), datasets, layer } as Chart['spec'] };
}

/** A row's series key: its label, with ` (hold-out)` where its errors are its hold-out's. */
export const seriesKey = (x: Pick<ResultRow, 'label' | 'heldOut' | 'val'>): string => `${x.label}${x.heldOut || x.val > 0 ? ' (hold-out)' : ''}`;
/** Whether rows[i] is its network's first row (the seed's marks are drawn once per network). */
const firstOfNetwork = (rows: ResultRow[], x: ResultRow, i: number) => rows.findIndex((y) => y.model === x.model) === i;
/** The first series of a network: where the seed's own mark for that network takes its shape. */
const seriesOfNetwork = (series: Series[], model: string): string => series.find((x) => x.model === model)?.key ?? model;

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const int = (n: number) => n.toLocaleString('en-US');

/** A network group of a dataset drawn over seeds (statistics.ts): its series key, its rows (by seed) and its runs with epochs. */
interface Group { key: string; model: string; stats: NetworkStatistics; rows: ResultRow[]; runs: Run[] }

/** Time per run: ours (its epochs, its images) beside the seed's 14 epochs on its GPU, one row per network; with `groups`, each group's mean time with a dot per seed. */
function timeChart(name: string, sub: string[], series: Series[], declared: string[], rows: ResultRow[], groups?: Group[]): Chart {
  const models = series.map((x) => x.key);
  const ours = groups
    ? groups.filter((g) => g.stats.seconds).map((g) => {
      const s = g.stats.seconds!, epochs = g.rows.find((x) => x.runId === g.stats.seeds[0]!.runId)!.epochs;
      return { model: g.key, minutes: s.mean / 60, time: durationCell(s), epochs, 'per epoch': formatDuration(s.mean / epochs) };
    })
    : rows.filter((x) => x.seconds !== null && x.epochs > 0).map((x) => ({
      model: seriesKey(x), minutes: x.seconds! / 60, time: formatDuration(x.seconds!), epochs: x.epochs, 'per epoch': formatDuration(x.seconds! / x.epochs),
    }));
  const dots = (groups ?? []).flatMap((g) => g.stats.seeds.map((s) => ({ model: g.key, minutes: s.seconds / 60, seed: s.seed, run: s.runId, time: formatDuration(s.seconds) })));
  const seed = rows.filter((x, i) => x.seed && firstOfNetwork(rows, x, i)).map((x) => {
    const s = parseDuration(x.seed!.time);
    return { model: seriesOfNetwork(series, x.model), minutes: s / 60, time: x.seed!.time, epochs: SEED_EPOCHS, 'per epoch': formatDuration(s / SEED_EPOCHS) };
  });
  const style = styleScales(series, null, declared);
  const x = { field: 'minutes', type: 'quantitative', title: 'training time of the run (minutes, log scale)', scale: { type: 'log', nice: false, padding: 20 }, axis: { format: '~g', labelFontSize: FONT } } as const;
  const y = { field: 'model', type: 'nominal', title: null, sort: models, scale: { domain: models }, axis: { labelFontSize: FONT, labelLimit: 220 } } as const;
  const tip = (who: string) => [{ field: 'model', title: who }, { field: 'time', title: groups && who === 'network' ? 'time, mean ± sd over seeds' : 'time' }, { field: 'epochs', title: 'epochs' }, { field: 'per epoch', title: 'per epoch' }];
  const layer: unknown[] = [];
  if (seed.length) layer.push({ data: { name: 'seed' }, mark: { type: 'point', filled: false, size: POINT_SIZE * 1.3, strokeWidth: 1.5 }, encoding: { x, y, shape: style.shape, stroke: seedStroke, tooltip: tip('seed network') } });
  layer.push({ data: { name: 'times' }, mark: { type: 'point', filled: true, size: POINT_SIZE, opacity: 1 }, encoding: { x, y, color: style.color, shape: style.shape, tooltip: tip('network') } });
  if (dots.length) layer.push({
    data: { name: 'seeds' }, mark: { type: 'circle', size: DOT_SIZE, opacity: 0.75, stroke: 'white', strokeWidth: 0.75 },
    encoding: { x, y, color: style.color, tooltip: [{ field: 'model', title: 'network' }, { field: 'seed', title: 'seed' }, { field: 'run', title: 'run' }, { field: 'time', title: 'time' }] },
  });
  const text = `${name}: training time per run`;
  sub = [...sub, `ours: the epochs' wall times summed, test passes included; the seed's: its document's times for its ${SEED_EPOCHS} epochs on its GPU`];
  if (groups) sub = [...sub, "large marks: the mean over the network's complete seeds; small dots: each seed"];
  const datasets: Record<string, ChartRows> = seed.length ? { times: ours, seed } : { times: ours };
  if (dots.length) datasets.seeds = dots;
  return {
    id: 'time', dataset: '', title: text,
    spec: { ...base, height: Math.max(120, 36 * models.length), title: title(text, sub), datasets, layer } as Chart['spec'],
  };
}

/** A dataset's groups (statistics' networks, in table order) with their rows and their runs that have epochs. */
function groupsOf(stats: DatasetStatistics, rows: ResultRow[], runs: Run[]): Group[] {
  return stats.networks.map((n) => {
    const mine = n.runIds.map((id) => rows.find((x) => x.runId === id)!);
    // one recipe but its seed: the first run's hold-out is every run's
    return { key: seriesKey({ ...mine[0]!, label: n.label }), model: n.model, stats: n, rows: mine, runs: runs.filter((x) => n.runIds.includes(x.id)) };
  });
}

/**
 * Per dataset with epochs: `<dataset>-test-top1`, `-test-top5`, `-train-loss`, `-lr` (per epoch),
 * `-top1-vs-params`, `-top5-vs-params`, `-top1-vs-macs` (final values) and `-time`. `declared`
 * numbers the declared networks for their styles: a view of some runs passes the whole report's,
 * so a network keeps its style there. Where a dataset is drawn over seeds (statistics.ts's bySeeds:
 * some network has several runs), each series is a network group rather than a run: per epoch
 * the mean of its runs with a band from min to max, at the end the mean over its complete seeds
 * with the 95% CI of the mean and a dot per seed.
 */
export function charts(r: ResultsJson, declared: string[] = declaredNetworks(r)): Chart[] {
  const out: Chart[] = [];
  for (const dataset of Object.keys(r.datasets)) {
    const name = datasetTitle(dataset);
    const all = r.runs.filter((x) => x.dataset === dataset).sort(compareRuns);
    const runs = all.filter((x) => x.epochs.length > 0);
    if (runs.length === 0) continue;
    const rowOf = (run: Run) => r.datasets[dataset]!.find((x) => x.runId === run.id);
    const stats = r.statistics?.[dataset];
    // the groups with a run that has epochs, each its own series
    const groups = bySeeds(stats) ? groupsOf(stats!, r.datasets[dataset]!, runs).filter((g) => g.runs.length > 0) : undefined;
    const lines: Line[] = groups
      ? groups.map((g) => ({ series: { key: g.key, model: g.model }, runs: g.runs }))
      : runs.map((x) => { const row = rowOf(x); return { series: { key: row ? seriesKey(row) : x.model, model: x.model }, runs: [x] }; });
    const series: Series[] = lines.map((l) => l.series);
    const models = series;
    const c = caption(dataset, name, all, { bySeeds: !!groups });
    const held = runs.filter((x) => rowOf(x)?.heldOut);
    const sub = [c.line];
    const heldSub = held.length ? [`(hold-out): errors on the run's ${[...new Set(held.map((x) => (x.recipe.val ?? 0).toLocaleString('en-US')))].join(' or ')}-image validation hold-out, not the test set`] : [];
    const rows = runs.flatMap((x) => { const row = rowOf(x); return row ? [row] : []; });
    const add = (ch: Chart) => out.push({ ...ch, id: `${dataset}-${ch.id}`, dataset });
    for (const m of METRICS) add(perEpoch(m, name, m.seed ? [...sub, ...heldSub] : sub, lines, declared, rows, !!groups));

    const done = rows.filter((x) => x.top1Error !== null);
    const label = (x: ResultRow) => `${seriesKey(x)}${reconstructed(x.model) ? '†' : ''}${x.status === 'complete' ? '' : ` (${x.status.startsWith('failed') ? 'failed' : x.status}, epoch ${x.epochs})`}`;
    const recon = done.some((x) => reconstructed(x.model)) ? ["† reconstruction: its parameter count differs from the seed's"] : [];
    const tip = (x: ResultRow) => ({ parameters: int(x.params), MACs: int(x.macs), 'top-1 error': pct(x.top1Error!), 'top-5 error': pct(x.top5Error!), epochs: x.epochs, status: x.status });
    const seedTip = (x: ResultRow) => ({ parameters: int(x.seed!.params), 'top-1 error': pct(x.seed!.top1), 'top-5 error': pct(x.seed!.top5), epochs: SEED_EPOCHS });
    const params: Axis = { field: 'params', title: 'parameters (log scale)', format: '~s', log: true };
    const macs: Axis = { field: 'macs', title: 'multiply-accumulates per 32x32 image (log scale)', format: '~s', log: true };
    const top = (k: 1 | 5): Axis => ({ field: `top${k}`, title: `final test top-${k} error (% of test images)`, format: '.1~%', log: false });
    const pick = (k: 1 | 5) => (x: ResultRow) => (k === 1 ? x.top1Error! : x.top5Error!);
    const seedPick = (k: 1 | 5) => (x: ResultRow) => (k === 1 ? x.seed!.top1 : x.seed!.top5);
    // over seeds: a group is drawn once a seed of it is complete, at the mean of its complete seeds
    const doneGroups = groups?.filter((g) => g.stats.seeds.length > 0) ?? [];
    const first = (g: Group) => g.rows[0]!;
    const groupLabel = (g: Group) => `${g.key}${reconstructed(g.model) ? '†' : ''}${g.stats.seeds.length < g.rows.length ? ` (${g.stats.seeds.length} of ${g.rows.length} seeds)` : ''}`;
    const summary = (s: Summary) => `${pct(s.mean)}${s.sd === null ? '' : ` ± ${pct(s.sd)}`} (n=${s.n})`;
    const ci = (s: Summary) => (s.ci95 ? `${pct(s.ci95[0])} to ${pct(s.ci95[1])}` : '— (one seed)');
    const groupTip = (g: Group) => ({
      parameters: int(first(g).params), MACs: int(first(g).macs), 'top-1 error, mean ± sd': summary(g.stats.top1!), 'top-1 95% CI': ci(g.stats.top1!),
      'top-5 error, mean ± sd': summary(g.stats.top5!), 'top-5 95% CI': ci(g.stats.top5!), seeds: g.stats.seeds.map((s) => s.seed).join(', '), runs: g.stats.runIds.join(', '),
    });
    const seedRunTip = (s: SeedRun) => ({ seed: s.seed, run: s.runId, 'top-1 error': pct(s.top1Error), 'top-5 error': pct(s.top5Error) });
    const metricOf = (k: 1 | 5): 'top1' | 'top5' => (k === 1 ? 'top1' : 'top5');
    // an error is a fraction: the t interval of few seeds can reach past 0 or 1, which the bar stops at
    const spread = (k: 1 | 5, at: (x: ResultRow) => number): Spread => ({
      bars: doneGroups.flatMap((g) => { const ci95 = g.stats[metricOf(k)]!.ci95; return ci95 ? [{ model: g.key, x: at(first(g)), lo: Math.max(0, ci95[0]), hi: Math.min(1, ci95[1]) }] : []; }),
      dots: doneGroups.flatMap((g) => g.stats.seeds.map((s) => ({ model: g.key, x: at(first(g)), y: k === 1 ? s.top1Error : s.top5Error, label: '', tip: seedRunTip(s) }))),
    });
    const oursOf = (k: 1 | 5, at: (x: ResultRow) => number): ScatterPoint[] => (groups
      ? doneGroups.map((g) => ({ model: g.key, x: at(first(g)), y: g.stats[metricOf(k)]!.mean, label: groupLabel(g), tip: groupTip(g) }))
      : done.map((x) => ({ model: seriesKey(x), x: at(x), y: pick(k)(x), label: label(x), tip: tip(x) })));
    const seedsSub = groups ? ["bars: 95% CI of the mean over seeds (Student's t); small dots: each seed"] : [];
    // the seed's mark once per network, however many runs of it there are
    const doneRows = groups ? doneGroups.map(first) : done;
    const seededOnce = doneRows.filter((x, i) => x.seed && firstOfNetwork(doneRows, x, i));
    for (const k of [1, 5] as const) {
      add(scatter(`top${k}-vs-params`, `${name}: final test top-${k} error against parameters`, [...sub, ...heldSub, ...recon, ...seedsSub], models, declared, params, top(k),
        oursOf(k, (x) => x.params),
        seededOnce.map((x) => ({ model: seriesOfNetwork(series, x.model), x: x.seed!.params, y: seedPick(k)(x), label: '', tip: seedTip(x) })),
        groups && spread(k, (x) => x.params)));
    }
    add(scatter('top1-vs-macs', `${name}: final test top-1 error against multiply-accumulates`, [...sub, ...heldSub, ...seedsSub], models, declared, macs, top(1),
      oursOf(1, (x) => x.macs), [], groups && spread(1, (x) => x.macs)));
    add(timeChart(name, sub, series, declared, rows, groups));
  }
  return out;
}
