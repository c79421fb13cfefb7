import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exploreCharts, renderExplorePlots } from '../src/explore/charts.js';
import type { ExploreCandidate, ExploreJson } from '../src/explore/explore-json.js';
import { boxesOverlap, textWidth, type Box } from '../src/experiment/labels.js';
import type { Chart } from '../src/experiment/charts.js';
import { svgWithoutEval } from './chart-fixture.js';

const WIDTH = 640, HEIGHT = 400, FONT = 11, RADIUS = 6;
const M = 1e6;

// [id, MACs, error at rung 1 (1 epoch), error at rung 2 (2 epochs) or null]
const TABLE: [number, number, number, number | null][] = [
  [0, 400 * M, 0.40, 0.33],
  [1, 100 * M, 0.52, null],
  [2, 150 * M, 0.47, null],
  [3, 220 * M, 0.45, 0.36],
  [4, 300 * M, 0.41, 0.31],
  [5, 350 * M, 0.43, null],
  [6, 500 * M, 0.38, 0.34],
  [7, 600 * M, 0.39, null],
  [8, 800 * M, 0.36, 0.29],
  [9, 80 * M, 0.60, null],
  [10, 250 * M, 0.50, null],
  [11, 700 * M, 0.37, null], // promoted to rung 2, still training there
  [12, 1000 * M, 0.365, null],
];
const RUNG2 = [0, 3, 4, 6, 8, 11];
// by hand, by MACs: 9 (80M, 60%), 1 (100M, 52%), 2 (150M, 47%), 3 (220M, 45%) front; 10 (250M, 50%) dominated by 3;
// 4 (300M, 41%) front; 5 (350M, 43%) dominated by 4; 0 (400M, 40%) front; 6 (500M, 38%) front; 7 (600M, 39%) dominated by 6;
// 11 (700M, 37%), 8 (800M, 36%) front; 12 (1000M, 36.5%) dominated by 8
const FRONT1 = [9, 1, 2, 3, 4, 0, 6, 11, 8];
// rung 2, finished: 3 (220M, 36%), 4 (300M, 31%) front; 0 (400M, 33%), 6 (500M, 34%) dominated by 4; 8 (800M, 29%) front
const FRONT2 = [3, 4, 8];

function candidate(id: number, macs: number, e1: number, e2: number | null): ExploreCandidate {
  const hash = (id.toString(16).padStart(2, '0') + 'ab'.repeat(31)).slice(0, 64);
  const promoted = RUNG2.includes(id);
  return {
    id, network: id === 0 ? 'googlenet-short4' : `net-${hash.slice(0, 10)}`, layers: `conv 3x3 64 · inception x${3 + (id % 4)} · fc 10`, hash,
    parent: id === 0 ? null : Math.max(0, id - 3), mutation: id === 0 ? null : { kind: 'widen' }, mutationText: id === 0 ? null : `widen inception ${id % 5} by 1.25`,
    generation: 0, params: 1_000_000 + id * 50_000, macs, rung: promoted ? 2 : 1,
    valError: e2 ?? e1, valErrors: e2 === null ? { '1': e1 } : { '1': e1, '2': e2 },
    seconds: 60 + id, status: promoted && e2 === null ? 'running' : 'complete', runId: 100 + id, file: `networks/net-${hash.slice(0, 10)}.json`,
  };
}

function fixture(): ExploreJson {
  return {
    generatedAt: '2025-01-01T00:00:00.000Z',
    search: {
      id: 's1', createdAt: '2025-01-01T00:00:00.000Z',
      spec: {
        format: 'googlenet-explore/1', base: { name: 'googlenet-short4', hash: 'ab'.repeat(32) }, strategy: 'random', rng: 7, budget: 12, rungs: [1, 2], eta: 2,
        maxParams: null, maxMacs: null, population: null, tournament: null, generation: null, dataset: 'cifar10', recipeKey: 'cd'.repeat(32),
        recipe: { optimizer: 'adadelta', lr: 1, batchSize: 64, epochs: 1, val: 5000, seed: 1 },
      },
    },
    exhausted: null,
    candidates: TABLE.map(([id, macs, e1, e2]) => candidate(id, macs, e1, e2)),
    front: FRONT2,
    rungs: [
      { epochs: 1, candidates: TABLE.map((t) => t[0]), front: FRONT1, done: true },
      { epochs: 2, candidates: RUNG2, front: FRONT2, done: false },
    ],
    confirmed: [],
    confirmSeeds: 3,
  };
}

interface Row { id: number; name: string; macs: number; error: number; class: string; kind: string }
const rowsOf = (c: Chart) => c.spec.datasets.candidates as unknown as Row[];
const layers = (c: Chart) => (c.spec as unknown as { layer: { mark: { type: string; interpolate?: string }; encoding: Record<string, { scale?: { type: string; domain: number[] }; title?: string }>; data: { name: string } }[] }).layer;
const scaleOf = (c: Chart, ch: 'x' | 'y') => layers(c).find((l) => l.data.name === 'candidates')!.encoding[ch]!.scale!;

/** Every object under `v` with its key path. */
function* walk(v: unknown, at = ''): Generator<[string, Record<string, unknown>]> {
  if (v && typeof v === 'object') {
    if (!Array.isArray(v)) yield [at, v as Record<string, unknown>];
    for (const [k, x] of Object.entries(v)) yield* walk(x, `${at}.${k}`);
  }
}

/** Brute force: the ids of `pts` no other point dominates (no worse on both, better on one). */
function nonDominated(pts: { id: number; macs: number; error: number }[]): number[] {
  return pts.filter((p) => !pts.some((q) => q !== p && q.macs <= p.macs && q.error <= p.error && (q.macs < p.macs || q.error < p.error))).map((p) => p.id);
}

/** vega's drawn marks of a kind: [aria-label, x, y, text]. */
function drawn(svg: string, kind: 'point' | 'text mark'): { label: string; x: number; y: number; text?: string }[] {
  const re = new RegExp(`<(?:path|text) aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"[^>]*?transform="translate\\(([-\\d.e]+),([-\\d.e]+)\\)"[^>]*>(?:([^<]*)</text>)?`, 'g');
  return [...svg.matchAll(re)].map((m) => ({ label: m[1]!, x: Number(m[2]), y: Number(m[3]), text: m[4] }));
}

let rendered: Map<string, string> | undefined;
const svgs = async () => (rendered ??= await renderExplorePlots(fixture()));

test('explore charts: one per rung with finished candidates, ids, titles and the search in the subtitle', () => {
  const cs = exploreCharts(fixture());
  assert.deepEqual(cs.map((c) => c.id), ['explore-rung1', 'explore-rung2']);
  assert.deepEqual(cs.map((c) => c.title), ['Validation top-1 error against MACs, rung 1 (1 epoch)', 'Validation top-1 error against MACs, rung 2 (2 epochs)']);
  for (const c of cs) {
    assert.equal(c.dataset, 'cifar10');
    const t = c.spec.title as { text: string; subtitle: string[] };
    assert.equal(t.text, c.title);
    const s = t.subtitle.join('\n');
    for (const part of ['search s1', 'base googlenet-short4', 'random search', 'CIFAR-10', 'budget 12 candidates', 'rungs of 1, 2 epochs', '5,000-image validation hold-out'])
      assert.ok(s.includes(part), `${c.id}: subtitle names ${part}: ${s}`);
  }
  assert.match((cs[1]!.spec.title as { subtitle: string[] }).subtitle[1]!, / · 5 candidates finished the rung \(1 more not yet\)$/);
  assert.match((cs[0]!.spec.title as { subtitle: string[] }).subtitle[1]!, / · 13 candidates finished the rung$/);
  // an evolution search names its population, tournament and children; limits named where set
  const r = fixture();
  Object.assign(r.search.spec, { strategy: 'evolution', population: 8, tournament: 3, generation: 4, maxMacs: 900 * M });
  const s = (exploreCharts(r)[0]!.spec.title as { subtitle: string[] }).subtitle;
  assert.ok(s[0]!.includes('evolution (population 8, tournament 3, 4 children per generation)'), s[0]);
  assert.ok(s[1]!.startsWith('limits: ≤ 900,000,000 MACs · '), s[1]);
});

test('explore charts: the datasets hold exactly the finished candidates, classed front or dominated; the staircase is the front by MACs', () => {
  const r = fixture(), cs = exploreCharts(r);
  // the hand-computed fronts agree with a brute-force dominance check
  assert.deepEqual(nonDominated(TABLE.map(([id, macs, e1]) => ({ id, macs, error: e1 }))).sort((a, b) => a - b), [...FRONT1].sort((a, b) => a - b));
  assert.deepEqual(nonDominated(TABLE.filter((t) => t[3] !== null).map(([id, macs, , e2]) => ({ id, macs, error: e2! }))).sort((a, b) => a - b), [...FRONT2].sort((a, b) => a - b));
  for (const [k, c] of cs.entries()) {
    const finished = k === 0 ? TABLE : TABLE.filter((t) => t[3] !== null);
    const front = k === 0 ? FRONT1 : FRONT2;
    const rows = rowsOf(c);
    assert.deepEqual(rows.map((x) => x.id).sort((a, b) => a - b), finished.map((t) => t[0]), `${c.id}: the finished candidates, each once`);
    for (const x of rows) {
      const t = TABLE.find((y) => y[0] === x.id)!;
      assert.equal(x.macs, t[1]);
      assert.equal(x.error, k === 0 ? t[2] : t[3]);
      assert.equal(x.class, front.includes(x.id) ? 'front' : 'dominated', `${c.id} c${x.id}`);
      assert.equal(x.kind, x.id === 0 ? 'base' : 'candidate');
      assert.equal(x.name, x.id === 0 ? 'base' : `c${x.id}`);
    }
    // the step line: the front sorted by MACs, step-after
    const byMacs = [...front].sort((a, b) => TABLE.find((t) => t[0] === a)![1] - TABLE.find((t) => t[0] === b)![1]);
    assert.deepEqual((c.spec.datasets.front as { id: number; order: number }[]).map((p) => p.id), byMacs);
    assert.deepEqual((c.spec.datasets.front as { order: number }[]).map((p) => p.order), byMacs.map((_, i) => i));
    const line = layers(c).find((l) => l.mark.type === 'line')!;
    assert.equal(line.data.name, 'front');
    assert.equal(line.mark.interpolate, 'step-after');
    // labels: every front point by its id, the base as `base` (rung 2: dominated, still labelled)
    const labelled = [...new Set([...front, 0])].sort((a, b) => a - b);
    assert.deepEqual((c.spec.datasets.labels as { id: number; label: string }[]).map((l) => [l.id, l.label]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      labelled.map((id) => [id, id === 0 ? 'base' : `c${id}`]));
    // the tooltip names the candidate, its network, layers, mutation, parameters, MACs and error
    const tip = (layers(c).find((l) => l.data.name === 'candidates')!.encoding.tooltip as unknown as { field: string }[]).map((t) => t.field);
    for (const f of ['name', 'network', 'layers', 'mutation', 'parameters', 'MACs', 'validation top-1 error']) assert.ok(tip.includes(f), `${c.id}: tooltip ${f}`);
    const c7 = rows.find((x) => x.id === 3) as unknown as Record<string, unknown>;
    assert.equal(c7.mutation, 'widen inception 3 by 1.25');
    assert.equal(c7.MACs, '220,000,000');
  }
});

test('explore charts: named data only, no URLs, no expressions; the scales fixed', () => {
  for (const c of exploreCharts(fixture())) {
    const names = new Set<string>();
    for (const [at, o] of walk(c.spec)) {
      assert.ok(!('url' in o) && !('expr' in o) && !('calculate' in o) && !('filter' in o) && !('signal' in o), `${c.id}${at}: no URL or expression`);
      if (at.endsWith('.data')) {
        assert.deepEqual(Object.keys(o), ['name'], `${c.id}${at}: named data only`);
        names.add(o.name as string);
      }
    }
    assert.deepEqual([...names].sort(), Object.keys(c.spec.datasets).sort(), `${c.id}: every dataset drawn`);
    for (const ch of ['x', 'y'] as const) assert.equal(scaleOf(c, ch).domain.length, 2, `${c.id}: ${ch} domain fixed`);
    const errors = rowsOf(c).map((x) => x.error), macs = rowsOf(c).map((x) => x.macs);
    const [x0, x1] = scaleOf(c, 'x').domain, [y0, y1] = scaleOf(c, 'y').domain;
    assert.ok(x0! < Math.min(...macs) && x1! > Math.max(...macs) && y0! < Math.min(...errors) && y1! > Math.max(...errors) && y1! <= 1, `${c.id}: the points inside the domains`);
  }
});

test('explore charts: log MACs where they span more than 4x, linear otherwise', () => {
  const [r1, r2] = exploreCharts(fixture());
  // rung 1: 80M to 1000M (12.5x); rung 2: 220M to 800M (3.6x)
  assert.equal(scaleOf(r1!, 'x').type, 'log');
  assert.equal(scaleOf(r2!, 'x').type, 'linear');
  const xTitle = (c: Chart) => layers(c).find((l) => l.data.name === 'candidates')!.encoding.x!.title;
  assert.equal(xTitle(r1!), 'MACs per 32x32 image (log scale)');
  assert.equal(xTitle(r2!), 'MACs per 32x32 image');
  // exactly 4x stays linear; a little more is log
  const r = fixture();
  const rung2 = TABLE.filter((t) => t[3] !== null).map((t) => t[0]);
  for (const [hi, type] of [[4 * 220 * M, 'linear'], [4 * 220 * M + 1, 'log']] as const) {
    r.candidates.find((c) => c.id === 8)!.macs = hi;
    assert.equal(scaleOf(exploreCharts(r)[1]!, 'x').type, type, `${hi / (220 * M)}x`);
  }
  assert.deepEqual(rowsOf(exploreCharts(r)[1]!).map((x) => x.id).sort((a, b) => a - b), rung2);
});

test('explore charts: a rung with no finished candidate gives no chart', () => {
  const r = fixture();
  for (const c of r.candidates) if (RUNG2.includes(c.id)) { c.valErrors = { '1': c.valErrors['1']! }; c.status = 'running'; }
  assert.deepEqual(exploreCharts(r).map((c) => c.id), ['explore-rung1']);
  // a third rung, promoted to but not trained: none for it either, and a rung's numbering stays its own
  const r3 = fixture();
  r3.search.spec.rungs = [1, 2, 4];
  r3.rungs.push({ epochs: 4, candidates: [4, 8], front: [], done: false });
  assert.deepEqual(exploreCharts(r3).map((c) => c.id), ['explore-rung1', 'explore-rung2']);
  r3.rungs[1]!.candidates = [];
  r3.candidates.find((c) => c.id === 4)!.valErrors['4'] = 0.25;
  assert.deepEqual(exploreCharts(r3).map((c) => c.id), ['explore-rung1', 'explore-rung3']);
  assert.equal(exploreCharts(r3)[1]!.title, 'Validation top-1 error against MACs, rung 3 (4 epochs)');
  // no rungs at all: no charts
  assert.deepEqual(exploreCharts({ ...fixture(), rungs: [] }), []);
});

test('explore plots: SVG per chart with the axis titles, the legend, the base and the front labelled, labels clear of each other and of the points', async () => {
  const out = await svgs();
  assert.deepEqual([...out.keys()], ['explore-rung1.svg', 'explore-rung2.svg']);
  for (const [k, front] of [[1, FRONT1], [2, FRONT2]] as const) {
    const svg = out.get(`explore-rung${k}.svg`)!;
    assert.ok(svg.startsWith('<svg'), 'an SVG');
    assert.ok(svg.trimEnd().endsWith('</svg>'), 'a whole SVG');
    assert.ok(svg.includes('MACs per 32x32 image'), 'x axis title');
    assert.ok(svg.includes('validation top-1 error (% of hold-out images)'), 'y axis title');
    assert.ok(svg.includes(`Validation top-1 error against MACs, rung ${k}`), 'the title');
    for (const l of ['front', 'dominated', 'base', 'candidate']) assert.match(svg, new RegExp(`>${l}</text>`), `legend: ${l}`);
    const texts = drawn(svg, 'text mark').map((t) => t.text!);
    assert.deepEqual(texts.sort(), [...new Set([...front, 0])].map((id) => (id === 0 ? 'base' : `c${id}`)).sort(), `rung ${k}: the front and the base labelled`);
    // one point per finished candidate, the staircase drawn
    assert.equal(drawn(svg, 'point').length, k === 1 ? 13 : 5);
    assert.equal([...svg.matchAll(/aria-roledescription="line mark"/g)].length, 1);
    // each label clear of the others and of every point, inside the plot (as the experiment's scatter charts)
    const boxes = drawn(svg, 'text mark').map((t) => {
      const w = textWidth(t.text!, FONT), h = Math.ceil(FONT * 1.25), y = t.y - Math.round(0.3 * FONT);
      return { text: t.text!, box: { x0: t.x - 1, y0: y - h / 2, x1: t.x - 1 + w, y1: y + h / 2 } as Box };
    });
    const points = drawn(svg, 'point').map((p) => ({ x0: p.x - RADIUS, y0: p.y - RADIUS, x1: p.x + RADIUS, y1: p.y + RADIUS }));
    for (const [i, a] of boxes.entries()) {
      assert.ok(a.box.x0 >= 0 && a.box.y0 >= 0 && a.box.x1 <= WIDTH && a.box.y1 <= HEIGHT, `rung ${k}: ${a.text} inside`);
      for (const b of boxes.slice(i + 1)) assert.ok(!boxesOverlap(a.box, b.box), `rung ${k}: ${a.text} overlaps ${b.text}`);
      for (const p of points) assert.ok(!boxesOverlap(a.box, p), `rung ${k}: ${a.text} covers a point`);
    }
  }
  // the base's point is a diamond, the front's vermillion, the dominated grey
  const svg1 = out.get('explore-rung1.svg')!;
  const pointOf = (name: string) => new RegExp(`<path aria-label="[^"]*candidate: ${name};[^"]*" role="graphics-symbol" aria-roledescription="point"[^>]*fill="([^"]*)"`).exec(svg1);
  assert.equal(pointOf('c9')?.[1], '#D55E00');
  assert.equal(pointOf('c10')?.[1], '#9a9a9a');
  assert.equal(pointOf('base')?.[1], '#D55E00', 'the base on rung 1\'s front');
  assert.match(out.get('explore-rung2.svg')!, /<path aria-label="[^"]*candidate: base;[^"]*" role="graphics-symbol" aria-roledescription="point"[^>]*fill="#9a9a9a"/, 'the base dominated at rung 2: grey');
  // a circle is drawn with arcs, a diamond with four lines
  const d = (name: string) => new RegExp(`<path aria-label="[^"]*candidate: ${name};[^"]*" role="graphics-symbol" aria-roledescription="point"[^>]* d="([^"]*)"`).exec(svg1)![1]!;
  assert.match(d('c9'), /A/);
  assert.match(d('base'), /^M-?[\d.]+,0L0,-?[\d.]+L[\d.]+,0L0,[\d.]+Z$/);
});

test("explore charts draw the same under vega's expression interpreter (the dashboard's CSP without 'unsafe-eval')", async () => {
  const out = await svgs();
  for (const c of exploreCharts(fixture())) assert.equal(await svgWithoutEval(c), out.get(`${c.id}.svg`), c.id);
});
