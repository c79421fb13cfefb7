import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charts, declaredNetworks, networkStyle, type Chart } from '../src/experiment/charts.js';
import { boxesOverlap, placeLabels, textWidth, type Box } from '../src/experiment/labels.js';
import { renderPlots } from '../src/experiment/plots.js';
import {
  isBuiltin, MODEL_ORDER, networkSummary, parseDuration, reconstructionNote, renderMarkdown, SEED_TABLES, seedResult, statisticsOf, type ResultsJson,
} from '../src/experiment/report.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { describeLayers, networkHash, validateNetwork } from '../src/models/network.js';
import type { DatasetName } from '../src/data/cifar.js';
import { bySeeds, type NetworkStatistics } from '../src/experiment/statistics.js';
import { MINE, MINE_LAYERS, resultsFixture, svgWithoutEval } from './chart-fixture.js';
import { close, docSection, readDoc } from './helpers.js';

const WIDTH = 640, HEIGHT = 400, FONT = 11, RADIUS = 6;
const full = resultsFixture({ models: MODEL_ORDER, datasets: ['cifar10', 'cifar100'], epochs: 14 });
/** Three seeds of each of the seven on CIFAR-10: the dataset is drawn over seeds. */
const seeded = resultsFixture({ models: MODEL_ORDER, datasets: ['cifar10'], epochs: 14, runsOf: () => [{ seed: 1 }, { seed: 2 }, { seed: 3 }] });
const small = resultsFixture({ models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 2, limitTrain: 2000, limitTest: 1000 });
/** The seed's clustered case made tighter: googlenet-long as large and as good as googlenet-short, googlenet-short2 beside them. */
function clustered(): ResultsJson {
  const r = resultsFixture({ models: MODEL_ORDER, datasets: ['cifar10'], epochs: 14 });
  const rows = r.datasets.cifar10!;
  const short = rows.find((x) => x.model === 'googlenet-short')!;
  for (const [m, dp, de] of [['googlenet-long', 1.01, 0.001], ['googlenet-short2', 0.98, -0.001], ['googlenet', 1.03, 0.002]] as const) {
    const x = rows.find((y) => y.model === m)!;
    x.params = Math.round(short.params * dp);
    x.top1Error = short.top1Error! + de;
  }
  return r;
}
const PER_EPOCH = ['test-top1', 'test-top5', 'train-loss', 'lr'];
const IDS = [...PER_EPOCH, 'top1-vs-params', 'top5-vs-params', 'top1-vs-macs', 'time'];
const byId = (cs: Chart[], id: string) => cs.find((c) => c.id === id)!;
type Epoch = ResultsJson['runs'][number]['epochs'][number];

/** Every object under `v` with its key path, for checks over the whole spec. */
function* walk(v: unknown, at = ''): Generator<[string, Record<string, unknown>]> {
  if (v && typeof v === 'object') {
    if (!Array.isArray(v)) yield [at, v as Record<string, unknown>];
    for (const [k, x] of Object.entries(v)) yield* walk(x, `${at}.${k}`);
  }
}

/** The marks vega drew, from its SVG: [aria-label, x, y] of each point or text, relative to the plot. */
function drawn(svg: string, kind: 'point' | 'text mark'): { label: string; x: number; y: number; text?: string }[] {
  const re = new RegExp(`<(?:path|text) aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"[^>]*?transform="translate\\(([-\\d.e]+),([-\\d.e]+)\\)"[^>]*>(?:([^<]*)</text>)?`, 'g');
  return [...svg.matchAll(re)].map((m) => ({ label: m[1]!, x: Number(m[2]), y: Number(m[3]), text: m[4] }));
}

/** Every label box (left-aligned, middle baseline, estimated width) clear of the others, of every point, and inside the plot. */
function assertLabelsClear(svg: string, expected: number, what: string) {
  const labels = drawn(svg, 'text mark').map((t) => {
    const w = textWidth(t.text!, FONT), h = Math.ceil(FONT * 1.25);
    // vega draws a middle-baseline text at its alphabetic baseline, round(0.3 × font size) below the middle
    const y = t.y - Math.round(0.3 * FONT);
    return { text: t.text!, box: { x0: t.x - 1, y0: y - h / 2, x1: t.x - 1 + w, y1: y + h / 2 } as Box };
  });
  const points = drawn(svg, 'point').map((p) => ({ x0: p.x - RADIUS, y0: p.y - RADIUS, x1: p.x + RADIUS, y1: p.y + RADIUS }));
  assert.equal(labels.length, expected, `${what}: a label per network`);
  assert.ok(points.length >= expected, what);
  for (const [i, a] of labels.entries()) {
    assert.ok(a.box.x0 >= 0 && a.box.y0 >= 0 && a.box.x1 <= WIDTH && a.box.y1 <= HEIGHT, `${what}: ${a.text} leaves the plot ${JSON.stringify(a.box)}`);
    for (const b of labels.slice(i + 1)) assert.ok(!boxesOverlap(a.box, b.box), `${what}: ${a.text} overlaps ${b.text}`);
    for (const p of points) assert.ok(!boxesOverlap(a.box, p), `${what}: ${a.text} covers a point at ${p.x0 + RADIUS},${p.y0 + RADIUS}`);
  }
}

let rendered: Map<string, string> | undefined, renderedSmall: Map<string, string> | undefined, renderedSeeded: Map<string, string> | undefined;
const svgs = async () => (rendered ??= await renderPlots(full));
const svgsSmall = async () => (renderedSmall ??= await renderPlots(small));
const svgsSeeded = async () => (renderedSeeded ??= await renderPlots(seeded));

test('charts: the same eight charts per dataset, all data named, nothing fetched', () => {
  const cs = charts(full);
  assert.deepEqual(cs.map((c) => c.id), ['cifar10', 'cifar100'].flatMap((d) => IDS.map((id) => `${d}-${id}`)));
  for (const c of cs) {
    const names = new Set<string>();
    for (const [at, o] of walk(c.spec)) {
      assert.ok(!('url' in o), `${c.id}${at}: no URL`);
      if (at.endsWith('.data')) {
        assert.deepEqual(Object.keys(o), ['name'], `${c.id}${at}: named data only, no inline values`);
        assert.ok(Array.isArray(c.spec.datasets[o.name as string]), `${c.id}${at}: ${String(o.name)} is in datasets`);
        names.add(o.name as string);
      }
    }
    assert.deepEqual([...names].sort(), Object.keys(c.spec.datasets).sort(), `${c.id}: every dataset drawn`);
    assert.ok(c.title.startsWith(c.dataset === 'cifar10' ? 'CIFAR-10: ' : 'CIFAR-100: '), c.title);
    // every mark with data has a tooltip
    for (const l of (c.spec as unknown as { layer: { encoding: Record<string, unknown>; mark: { type: string } }[] }).layer)
      if (l.mark.type === 'point') assert.ok(Array.isArray(l.encoding.tooltip), `${c.id}: point tooltips`);
  }
});

test('charts: one line per run with one point per epoch, in the named data and in the SVG; one style per network everywhere', async () => {
  const cs = charts(full), out = await svgs(), outSmall = await svgsSmall();
  const styles = MODEL_ORDER.map((m) => networkStyle(m));
  for (const k of ['color', 'shape'] as const) assert.equal(new Set(styles.map((s) => s[k])).size, 7, `seven ${k}s`);
  assert.equal(new Set(styles.map((s) => s.dash.join())).size, 7, 'seven dashes');
  for (const dataset of ['cifar10', 'cifar100'] as DatasetName[]) for (const id of PER_EPOCH) {
    const c = byId(cs, `${dataset}-${id}`);
    const rows = c.spec.datasets.epochs as { model: string; epoch: number }[];
    for (const m of MODEL_ORDER) assert.deepEqual(rows.filter((r) => r.model === m).map((r) => r.epoch), Array.from({ length: 14 }, (_, i) => i + 1), `${c.id} ${m}`);
    const svg = out.get(`${c.id}.svg`)!;
    const lines = [...svg.matchAll(/<path aria-label="[^"]*model: ([^";]+)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)" stroke="([^"]*)"(?: stroke-width="\d+")?(?: stroke-dasharray="([^"]*)")?/g)];
    assert.deepEqual(lines.map((l) => l[1]).sort(), [...MODEL_ORDER].sort(), `${c.id}: a line per network`);
    for (const l of lines) {
      assert.equal(l[2]!.split('L').length, 14, `${c.id} ${l[1]}: 14 vertices`);
      assert.equal(l[3], networkStyle(l[1]!).color, `${c.id} ${l[1]}: its colour`);
      assert.equal(l[4] ?? '1,0', networkStyle(l[1]!).dash.join(','), `${c.id} ${l[1]}: its dash`);
    }
  }
  // two networks alone keep their colours of the seven-network report
  const s4 = /<path aria-label="[^"]*model: googlenet-short4" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)" stroke="([^"]*)"/.exec(outSmall.get('cifar10-test-top1.svg')!)!;
  assert.equal(s4[2], networkStyle('googlenet-short4').color);
  assert.equal(s4[1]!.split('L').length, 2);
});

test("charts: the seed's values as reference marks, with its parameters, errors and times; none against MACs", async () => {
  const cs = charts(full);
  for (const dataset of ['cifar10', 'cifar100'] as DatasetName[]) {
    for (const k of [1, 5] as const) {
      const seed = byId(cs, `${dataset}-top${k}-vs-params`).spec.datasets.seed as Record<string, number | string>[];
      assert.deepEqual(seed.map((s) => [s.model, s.params, s[`top${k}`]]),
        MODEL_ORDER.map((m) => [m, SEED_TABLES[dataset][m]!.params, k === 1 ? SEED_TABLES[dataset][m]!.top1 : SEED_TABLES[dataset][m]!.top5]));
    }
    assert.equal(byId(cs, `${dataset}-top1-vs-macs`).spec.datasets.seed, undefined);
    const time = byId(cs, `${dataset}-time`).spec.datasets;
    assert.deepEqual((time.seed as { model: string; minutes: number }[]).map((s) => [s.model, s.minutes]), MODEL_ORDER.map((m) => [m, parseDuration(SEED_TABLES[dataset][m]!.time) / 60]));
    const ours = full.datasets[dataset]!;
    assert.deepEqual((time.times as { model: string; minutes: number }[]).map((s) => s.minutes), MODEL_ORDER.map((m) => ours.find((x) => x.model === m)!.seconds! / 60));
    // 14-epoch runs: the seed's final errors beside epoch 14; drawn as hollow points in the SVG
    assert.equal((byId(cs, `${dataset}-test-top1`).spec.datasets.seed as unknown[]).length, 7);
  }
  const svg = (await svgs()).get('cifar10-top1-vs-params.svg')!;
  const seedPoints = drawn(svg, 'point').filter((p) => p.label.includes('seed network: '));
  assert.equal(seedPoints.length, 7);
  assert.ok(svg.includes('seed (PyTorch 1.6, 14 epochs)'), 'the legend explains the seed marks');
  // short runs: no seed marks squeezed in at epoch 14
  assert.equal(byId(charts(small), 'cifar10-test-top1').spec.datasets.seed, undefined);
});

test('charts and results.md: the recipe and data size in every subtitle and table caption', () => {
  const sub = (r: ResultsJson) => charts(r).map((c) => (c.spec.title as { subtitle: string[] }).subtitle[0]!);
  for (const s of sub(small)) assert.equal(s, 'CIFAR-10 · 2,000 of 50,000 training images · 1,000 of 10,000 test images · 2 of 14 epochs · adadelta lr 1 · batch 64');
  assert.deepEqual([...new Set(sub(full))], [
    "CIFAR-10 · 50,000 training images · 10,000 test images · 14 epochs · adadelta lr 1 · batch 64 · the seed's recipe",
    "CIFAR-100 · 50,000 training images · 10,000 test images · 14 epochs · adadelta lr 1 · batch 64 · the seed's recipe",
  ]);
  const md = renderMarkdown(small);
  assert.match(md, /## CIFAR-10\n\nOurs: CIFAR-10 · 2,000 of 50,000 training images · 1,000 of 10,000 test images · 2 of 14 epochs · adadelta lr 1 · batch 64\. The seed columns are the seed's own runs: all 50,000 training images, 14 epochs, PyTorch 1\.6 on its GPU\.\n/);
  // mixed recipes: named in the subtitle, listed per network in results.md; other changes from the seed named as flags
  const mixed = resultsFixture({ models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 2,
    recipeOf: (m) => (m === 'googlenet-short4' ? { lr: 0.5, augment: 'none' } : { augment: 'none' }) });
  assert.equal(sub(mixed)[0], 'CIFAR-10 · 50,000 training images · 10,000 test images · 2 of 14 epochs · adadelta · batch 64 · unlike the seed: --augment none · mixed recipes: --lr differs');
  assert.ok(renderMarkdown(mixed).includes('\n- googlenet-short3: --lr 1\n- googlenet-short4: --lr 0.5\n'));
});

test('scatter labels: no label overlaps another label or any point, and none leaves the plot', async () => {
  const out = await svgs(), outSmall = await svgsSmall();
  for (const d of ['cifar10', 'cifar100']) for (const id of ['top1-vs-params', 'top5-vs-params', 'top1-vs-macs']) assertLabelsClear(out.get(`${d}-${id}.svg`)!, 7, `${d}-${id}`);
  for (const id of ['top1-vs-params', 'top5-vs-params', 'top1-vs-macs']) assertLabelsClear(outSmall.get(`cifar10-${id}.svg`)!, 2, `small ${id}`);
  const tight = await renderPlots(clustered());
  assertLabelsClear(tight.get('cifar10-top1-vs-params.svg')!, 7, 'clustered top1-vs-params');
  // the drawn labels sit where the placement put them: the spec's pixel arithmetic is vega's
  const texts = drawn(tight.get('cifar10-top1-vs-params.svg')!, 'text mark').map((t) => t.text);
  assert.deepEqual(texts.sort(), MODEL_ORDER.map((m) => m + (m.endsWith('short3') || m.endsWith('short4') ? '†' : '')).sort());
});

test('placeLabels: seven nearly coincident points all labelled apart; too crowded a plot leaves labels out rather than overlap', () => {
  const o = { width: WIDTH, height: HEIGHT, fontSize: FONT, radius: RADIUS };
  const pts = MODEL_ORDER.map((m, i) => ({ x: 300 + (i % 3) * 4, y: 200 + Math.floor(i / 3) * 3, text: m }));
  const placed = placeLabels(pts, [{ x: 310, y: 210 }], o);
  assert.ok(placed.every((p) => p !== null), 'all seven placed');
  const marks = [...pts, { x: 310, y: 210 }].map((p) => ({ x0: p.x - RADIUS, y0: p.y - RADIUS, x1: p.x + RADIUS, y1: p.y + RADIUS }));
  for (const [i, a] of placed.entries()) {
    assert.ok(a!.box.x0 >= 0 && a!.box.x1 <= WIDTH && a!.box.y0 >= 0 && a!.box.y1 <= HEIGHT);
    assert.ok(a!.box.x1 - a!.box.x0 >= textWidth(pts[i]!.text, FONT));
    for (const b of placed.slice(i + 1)) assert.ok(!boxesOverlap(a!.box, b!.box));
    for (const m of marks) assert.ok(!boxesOverlap(a!.box, m));
  }
  // at a plot's corner in a tiny plot not all fit: some are left out, none overlap
  const tiny = placeLabels(pts.map((p) => ({ ...p, x: 10, y: 10 })), [], { ...o, width: 160, height: 60 });
  assert.ok(tiny.some((p) => p === null));
  const kept = tiny.filter((p) => p !== null);
  for (const [i, a] of kept.entries()) for (const b of kept.slice(i + 1)) assert.ok(!boxesOverlap(a!.box, b!.box));
});

test("charts draw the same under vega's expression interpreter (the dashboard's CSP without 'unsafe-eval')", async () => {
  // the seven networks, once by run and once over seeds (bands, bars, dots)
  for (const [r, out] of [[full, await svgs()], [seeded, await svgsSeeded()]] as const)
    for (const c of charts(r).filter((x) => x.dataset === 'cifar10')) assert.equal(await svgWithoutEval(c), out.get(`${c.id}.svg`), c.id);
});

test("docs/stores.md's table of the plots (under \"## The report\") names every chart id, and no other", () => {
  const section = docSection(readDoc('docs/stores.md'), '## The report', 'docs/stores.md');
  const table = section.split('\n\n').find((block) => block.trimStart().startsWith('|'));
  assert.ok(table, 'docs/stores.md\'s "## The report" has no table');
  const named = [...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([a-z0-9-]+)`/g)].map((x) => x[1]!));
  const ids = charts(small).map((c) => c.id.replace(/^cifar10-/, ''));
  assert.deepEqual(named.sort(), ids.sort());
});

test('a declared network beside the seven: its row with layers and hash, no seed cells, a Networks table; a style of its own in every plot, in the legend', async () => {
  const r = resultsFixture({ models: [...MODEL_ORDER, 'mine'], declared: { mine: MINE }, datasets: ['cifar10'], epochs: 14 });
  const rows = r.datasets.cifar10!;
  assert.deepEqual(rows.map((x) => x.model), [...MODEL_ORDER, 'mine'], 'after the seven');
  const mine = rows.at(-1)!;
  assert.equal(mine.layers, MINE_LAYERS);
  assert.equal(mine.sha256, networkHash(validateNetwork(MINE, 'mine.json', 'mine')));
  assert.equal(mine.builtin, false);
  assert.ok(!('seed' in mine), 'no seed field for a declared network');
  for (const x of rows.slice(0, 7)) {
    assert.equal(x.layers, describeLayers(builtinNetwork(x.model)!), x.model);
    assert.equal(x.builtin, true);
  }

  // results.md: empty seed cells, the declared note, a Networks table of all eight with their layers
  const md = renderMarkdown(r);
  assert.doesNotMatch(md, /undefined|NaN|null/);
  const line = md.split('\n').find((l) => l.startsWith('| mine |'))!;
  assert.match(line, /^\| mine \| \d\.\d\d \| \d\.\d\d \| [\d,]+ \| 90,000,000 \| \S+ \| — \| — \| — \| — \|$/, line);
  assert.ok(md.includes('\nmine is a declared network (a network file; its layers under Networks): the seed has no results for it, so its seed cells are —.'), md);
  const nets = md.slice(md.indexOf('## Networks'));
  const table = nets.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| network'));
  assert.deepEqual(table.map((l) => l.split(' | ')[0]!.slice(2)), [...MODEL_ORDER, 'mine']);
  assert.equal(table.at(-1), `| mine | ${MINE_LAYERS} | \`${mine.sha256!.slice(0, 12)}\` | declared: the seed has no results for it |`);
  assert.ok(table.includes(`| googlenet-short4 | ${describeLayers(builtinNetwork('googlenet-short4')!)} | \`${rows[6]!.sha256!.slice(0, 12)}\` | built-in, a reconstruction † |`), table.join('\n'));
  // recipes differ only in their networks: no "mixed recipes"
  assert.doesNotMatch(md, /mixed recipes/);

  // a style of its own: none of the seven's colours, dashes or shapes; the same in a view of fewer runs
  const style = networkStyle('mine', declaredNetworks(r).indexOf('mine'));
  const seven = MODEL_ORDER.map((m) => networkStyle(m));
  assert.ok(!seven.some((s) => s.color === style.color || s.dash.join() === style.dash.join() || s.shape === style.shape), JSON.stringify(style));
  const twoDeclared = declaredNetworks({ runs: [{ model: 'zeta' }, { model: 'mine' }, { model: 'googlenet' }] as ResultsJson['runs'] });
  assert.deepEqual(twoDeclared, ['mine', 'zeta']);
  assert.notEqual(networkStyle('zeta', 1).color, networkStyle('mine', 0).color);

  const cs = charts(r);
  const out = await renderPlots(r);
  for (const id of PER_EPOCH) {
    const svg = out.get(`cifar10-${id}.svg`)!;
    const l = new RegExp(`<path aria-label="[^"]*model: mine" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)" stroke="([^"]*)"(?: stroke-width="\\d+")?(?: stroke-dasharray="([^"]*)")?`).exec(svg)!;
    assert.ok(l, `${id}: a line for mine`);
    assert.equal(l[2], style.color, `${id}: its colour`);
    assert.equal(l[3] ?? '1,0', style.dash.join(','), `${id}: its dash`);
    assert.match(svg, /<text[^>]*>mine<\/text>/, `${id}: in the legend`);
  }
  // the seed's marks for the seven only, ours for all eight
  for (const k of [1, 5] as const) {
    const c = byId(cs, `cifar10-top${k}-vs-params`);
    assert.deepEqual((c.spec.datasets.seed as { model: string }[]).map((x) => x.model), MODEL_ORDER);
    assert.deepEqual((c.spec.datasets.points as { model: string }[]).map((x) => x.model), [...MODEL_ORDER, 'mine']);
  }
  assert.deepEqual((byId(cs, 'cifar10-test-top1').spec.datasets.seed as { model: string }[]).map((x) => x.model), MODEL_ORDER);
  const time = byId(cs, 'cifar10-time').spec.datasets;
  assert.deepEqual((time.times as { model: string }[]).map((x) => x.model), [...MODEL_ORDER, 'mine']);
  assert.ok(!(time.seed as { model: string }[]).some((x) => x.model === 'mine'));
  assertLabelsClear(out.get('cifar10-top1-vs-params.svg')!, 8, 'eight networks, top1-vs-params');
  assertLabelsClear(out.get('cifar10-top1-vs-macs.svg')!, 8, 'eight networks, top1-vs-macs');
  const mineShape = [...out.get('cifar10-top1-vs-params.svg')!.matchAll(/<path aria-label="[^"]*; model: mine;[^"]*" role="graphics-symbol" aria-roledescription="point"[^>]*fill="([^"]*)"/g)];
  assert.equal(mineShape.length, 1, 'one point for mine');
  assert.equal(mineShape[0]![1], style.color);
});

test('a declared network whose name is an Object property gets no seed result and no reconstruction note', () => {
  assert.equal(seedResult('cifar10', 'constructor'), undefined);
  assert.equal(seedResult('cifar10', 'googlenet'), SEED_TABLES.cifar10.googlenet);
  assert.equal(reconstructionNote('constructor', 'cifar10', 5), null);
  assert.equal(isBuiltin('constructor'), false);
  assert.deepEqual(networkSummary({ model: 'bad', network: { format: 'nope' } }).sha256, null);
  assert.match(networkSummary({ model: 'bad', network: { format: 'nope' } }).layers, /^invalid network: /);
});

test('two seeds of one network and a hold-out run: a row and a series each, named by seed and hold-out; the hold-out\'s errors marked, never as test numbers', async () => {
  const r = resultsFixture({
    models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 3, limitTrain: 20000,
    runsOf: (m) => (m === 'googlenet-short4' ? [{ seed: 1 }, { seed: 1, val: 5000 }, { seed: 2 }] : [{}]),
  });
  const rows = r.datasets.cifar10!;
  assert.deepEqual(rows.map((x) => [x.label, x.recipeSeed, x.val, x.heldOut]), [
    ['googlenet-short3', 1, 0, false],
    ['googlenet-short4 seed 1', 1, 0, false],
    ['googlenet-short4 seed 1 val 5000', 1, 5000, true],
    ['googlenet-short4 seed 2', 2, 0, false],
  ]);
  const held = r.runs.find((x) => x.recipe.val === 5000)!;
  assert.equal(held.epochs.at(-1)!.top1Error, null, 'the fixture: a hold-out run has no test numbers');
  // results.md over seeds: a row per group (the two seeds of googlenet-short4 one row, its hold-out run another), the hold-out's errors marked ‡
  const md = renderMarkdown(r);
  const line = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label} |`));
  const s4 = rows.filter((x) => x.model === 'googlenet-short4' && x.val === 0).map((x) => x.top1Error!);
  const mean = (s4[0]! + s4[1]!) / 2, sd = Math.abs(s4[0]! - s4[1]!) / Math.SQRT2;
  assert.ok(line('googlenet-short4')!.startsWith(`| googlenet-short4 | ${mean.toFixed(3)} ± ${sd.toFixed(3)} (n=2) |`), line('googlenet-short4'));
  const h = rows[2]!;
  assert.ok(line('googlenet-short4 val 5000')!.startsWith(`| googlenet-short4 val 5000 | ${h.top1Error!.toFixed(3)} (n=1)‡ | ${h.top5Error!.toFixed(3)} (n=1)‡ |`), line('googlenet-short4 val 5000'));
  assert.ok(line('googlenet-short3')!.startsWith(`| googlenet-short3 | ${rows[0]!.top1Error!.toFixed(3)} (n=1) |`));
  assert.ok(!line('googlenet-short4')!.includes('‡'));
  assert.ok(md.includes('‡ googlenet-short4 val 5000: errors on the 5,000-image hold-out (training images held out of training), not the test set.'), md);
  assert.ok(md.includes('\n- googlenet-short3: --val 0\n- googlenet-short4: --val 0\n- googlenet-short4 val 5000: --val 5000\n\n'), 'mixed recipes listed per group, by its label; the seed is no recipe difference');
  assert.ok(md.includes(' · seeds 1, 2 · '), 'the caption names the seeds');
  assert.equal((md.match(/^† googlenet-short4 is a reconstruction/gm) ?? []).length, 1, 'its reconstruction note once');
  assert.equal((md.match(/\| googlenet-short4 \| pool a4 pool b5 \|/g) ?? []).length, 1, 'the Networks table lists the network once');
});

test('two seeds of one network and a hold-out run: charts draw a series per network group (the seeds pooled, the hold-out its own), the hold-out\'s errors marked, never as test numbers', async () => {
  const r = resultsFixture({
    models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 3, limitTrain: 20000,
    runsOf: (m) => (m === 'googlenet-short4' ? [{ seed: 1 }, { seed: 1, val: 5000 }, { seed: 2 }] : [{}]),
  });
  const held = r.runs.find((x) => x.recipe.val === 5000)!;
  const cs = charts(r);
  const top1 = byId(cs, 'cifar10-test-top1');
  const keys = ['googlenet-short3', 'googlenet-short4', 'googlenet-short4 val 5000 (hold-out)'];
  const layers = (top1.spec as unknown as { layer: { mark: { type: string }; encoding: { color: { scale: { domain: string[]; range: string[] } }; strokeDash?: { scale: { range: number[][] } } } }[] }).layer;
  const line = layers.find((l) => l.mark.type === 'line')!.encoding;
  assert.deepEqual(line.color.scale.domain, keys);
  assert.equal(new Set(keys.map((_, i) => `${line.color.scale.range[i]} ${JSON.stringify(line.strokeDash!.scale.range[i])}`)).size, 3, 'each group its own line style');
  // the hold-out group's one run: its mean, min and max are its hold-out's numbers
  const heldPoints = top1.spec.datasets.epochs!.filter((p) => p.model === keys[2]);
  for (const k of ['y', 'lo', 'hi']) assert.deepEqual(heldPoints.map((p) => p[k]), held.epochs.map((e) => e.valTop1Error), k);
  assert.ok((top1.spec.title as { subtitle: string[] }).subtitle.some((s) => s.includes('5,000-image validation hold-out, not the test set')));
  const scatter = byId(cs, 'cifar10-top1-vs-params');
  assert.deepEqual(scatter.spec.datasets.points!.map((p) => p.model), keys);
  assert.equal(scatter.spec.datasets.seed!.length, 2, "the seed's mark once per network");
  // a bar only where a group has two seeds or more
  assert.deepEqual(scatter.spec.datasets.bars!.map((p) => p.model), [keys[1]]);
  assert.deepEqual(byId(cs, 'cifar10-time').spec.datasets.times!.map((p) => p.model), keys);
  const svg = (await renderPlots(r)).get('cifar10-test-top1.svg')!;
  for (const k of keys) assert.ok(svg.includes(k), `the legend names ${k}`);
});

type Datum = Record<string, number & string>;
const rowsOf = (c: Chart, name: string) => c.spec.datasets[name] as Datum[];
const layersOf = (c: Chart) => (c.spec as unknown as { layer: { data: { name: string }; mark: { type: string }; encoding: Record<string, { field?: string; scale?: { domain: number[] } }> }[] }).layer;

test('over seeds, the scatter charts: a point per network at the mean of its seeds, its 95% CI as a bar, a dot per complete seed; the axis holds the bars', async () => {
  const stats = seeded.statistics.cifar10!;
  assert.ok(bySeeds(stats));
  const cs = charts(seeded), out = await svgsSeeded();
  const first = (runIds: number[]) => seeded.datasets.cifar10!.find((x) => x.runId === runIds[0])!;
  for (const [id, metric, field] of [['top1-vs-params', 'top1', 'params'], ['top5-vs-params', 'top5', 'params'], ['top1-vs-macs', 'top1', 'macs']] as const) {
    const c = byId(cs, `cifar10-${id}`);
    assert.deepEqual(rowsOf(c, 'points').map((p) => [p.model, p[field], p[metric]]), stats.networks.map((n) => [n.label, first(n.runIds)[field], n[metric]!.mean]), id);
    // an error's bar stops at 0: top-5 errors near it have CIs that reach below
    const [lo, hi] = [(n: NetworkStatistics) => Math.max(0, n[metric]!.ci95![0]), (n: NetworkStatistics) => n[metric]!.ci95![1]];
    assert.deepEqual(rowsOf(c, 'bars').map((b) => [b.model, b[field], b.lo, b.hi]), stats.networks.map((n) => [n.label, first(n.runIds)[field], lo(n), hi(n)]), id);
    if (metric === 'top1') assert.ok(stats.networks.every((n) => lo(n) === n.top1!.ci95![0]), 'top-1: the bars are the CIs');
    const value = (s: { top1Error: number; top5Error: number }) => (metric === 'top1' ? s.top1Error : s.top5Error);
    const seeds = stats.networks.flatMap((n) => n.seeds.map((s) => [n.label, s.seed, s.runId, value(s)]));
    assert.equal(seeds.length, 21);
    assert.deepEqual(rowsOf(c, 'seeds').map((p) => [p.model, p.seed, p.run, p[metric]]), seeds, id);
    // a seed's dot a few pixels beside its network's x (log scale: a ratio near 1)
    for (const p of rowsOf(c, 'seeds')) {
      const at = first(stats.networks.find((n) => n.label === p.model)!.runIds)[field];
      assert.ok(Math.abs(Math.log10(p[field] / at)) < 0.02, `${id} ${p.model} seed ${p.seed}`);
    }
    // the axis holds every bar's ends; the labels name each network at its mean
    const y = layersOf(c).find((l) => l.data.name === 'points')!.encoding.y!.scale!.domain;
    for (const b of rowsOf(c, 'bars')) assert.ok(y[0]! <= b.lo && b.hi <= y[1]!, `${id}: ${b.model}'s bar inside ${y}`);
    assert.deepEqual(rowsOf(c, 'labels').map((l) => l.label).sort(), MODEL_ORDER.map((m) => m + (m.endsWith('short3') || m.endsWith('short4') ? '†' : '')).sort());
    assert.ok((c.spec.title as { subtitle: string[] }).subtitle.includes("bars: 95% CI of the mean over seeds (Student's t); small dots: each seed"));
    const svg = out.get(`cifar10-${id}.svg`)!;
    assertLabelsClear(svg, 7, `over seeds ${id}`);
    assert.equal((svg.match(/aria-roledescription="circle"/g) ?? []).length, 21, `${id}: a dot per seed`);
    assert.match(svg, new RegExp(`aria-label="[^"]*; network: googlenet; seed: 2; run: ${stats.networks.find((n) => n.label === 'googlenet')!.seeds[1]!.runId}`), `${id}: a dot's tooltip names its seed and run`);
  }
  // the mean point's tooltip: mean ± sd (n) and the CI
  const g = rowsOf(byId(cs, 'cifar10-top1-vs-params'), 'points').find((p) => p.model === 'googlenet')!;
  const s = stats.networks.find((n) => n.label === 'googlenet')!.top1!;
  assert.equal(g['top-1 error, mean ± sd'], `${(s.mean * 100).toFixed(2)}% ± ${(s.sd! * 100).toFixed(2)}% (n=3)`);
  assert.equal(g['top-1 95% CI'], `${(s.ci95![0] * 100).toFixed(2)}% to ${(s.ci95![1] * 100).toFixed(2)}%`);
});

test('over seeds, the per-epoch charts: a line per network at the mean of its seeds, a band from their min to their max; the time chart a mean per network and a dot per seed', () => {
  const stats = seeded.statistics.cifar10!;
  const cs = charts(seeded);
  for (const [id, pick] of [['test-top1', (e: Epoch) => e.top1Error], ['test-top5', (e: Epoch) => e.top5Error], ['train-loss', (e: Epoch) => e.trainLoss], ['lr', (e: Epoch) => e.lr]] as const) {
    const c = byId(cs, `cifar10-${id}`);
    const rows = rowsOf(c, 'epochs');
    assert.equal(rows.length, 7 * 14, `${id}: a row per network and epoch`);
    for (const n of stats.networks) {
      const runs = seeded.runs.filter((x) => n.runIds.includes(x.id));
      assert.equal(runs.length, 3);
      for (let epoch = 1; epoch <= 14; epoch++) {
        const ys = runs.map((x) => pick(x.epochs[epoch - 1]!)!);
        const p = rows.find((q) => q.model === n.label && q.epoch === epoch)!;
        assert.deepEqual([p.lo, p.hi, p.n], [Math.min(...ys), Math.max(...ys), 3], `${id} ${n.label} epoch ${epoch}`);
        close(p.y, (ys[0]! + ys[1]! + ys[2]!) / 3, `${id} ${n.label} epoch ${epoch}: the mean`, 1e-12);
      }
    }
    const [band, line] = layersOf(c);
    assert.deepEqual([band!.mark.type, band!.encoding.y!.field, band!.encoding.y2!.field, line!.mark.type, line!.encoding.y!.field], ['area', 'lo', 'hi', 'line', 'y'], id);
  }
  const time = byId(cs, 'cifar10-time');
  assert.deepEqual(rowsOf(time, 'times').map((p) => [p.model, p.minutes]), stats.networks.map((n) => [n.label, n.seconds!.mean / 60]));
  assert.deepEqual(rowsOf(time, 'seeds').map((p) => [p.model, p.seed, p.minutes]), stats.networks.flatMap((n) => n.seeds.map((s) => [n.label, s.seed, s.seconds / 60])));
});

test('over seeds with a seed still running: its epochs in the band and the mean where it reached them; the final marks over the complete seeds, labelled so', () => {
  const r = resultsFixture({ models: ['googlenet-short4', 'googlenet-short3'], datasets: ['cifar10'], epochs: 4, runsOf: () => [{ seed: 1 }, { seed: 2 }, { seed: 3 }] });
  const run = r.runs.find((x) => x.model === 'googlenet-short4' && x.recipe.seed === 3)!;
  run.epochs = run.epochs.slice(0, 2);
  run.status = 'running';
  const row = r.datasets.cifar10!.find((x) => x.runId === run.id)!;
  Object.assign(row, { status: 'running', epochs: 2, top1Error: run.epochs[1]!.top1Error, top5Error: run.epochs[1]!.top5Error, seconds: 2 * run.epochs[0]!.seconds });
  r.statistics = statisticsOf(r);
  const cs = charts(r);
  const s4 = rowsOf(byId(cs, 'cifar10-test-top1'), 'epochs').filter((p) => p.model === 'googlenet-short4');
  assert.deepEqual(s4.map((p) => [p.epoch, p.n]), [[1, 3], [2, 3], [3, 2], [4, 2]]);
  const runs = r.runs.filter((x) => x.model === 'googlenet-short4');
  assert.equal(s4[1]!.hi, Math.max(...runs.map((x) => x.epochs[1]!.top1Error!)));
  const scatter = byId(cs, 'cifar10-top1-vs-params');
  const stats = r.statistics.cifar10!.networks.find((n) => n.model === 'googlenet-short4')!;
  assert.equal(stats.top1!.n, 2);
  assert.equal(rowsOf(scatter, 'points').find((p) => p.model === 'googlenet-short4')!.top1, stats.top1!.mean);
  assert.deepEqual(rowsOf(scatter, 'seeds').filter((p) => p.model === 'googlenet-short4').map((p) => p.seed), [1, 2]);
  assert.ok(rowsOf(scatter, 'labels').some((l) => l.label === 'googlenet-short4† (2 of 3 seeds)'));
  assert.deepEqual(rowsOf(byId(cs, 'cifar10-time'), 'seeds').filter((p) => p.model === 'googlenet-short4').map((p) => p.seed), [1, 2]);
});

test('a dataset with one run per network is drawn as before seeds: the same specs with its statistics or without', () => {
  for (const r of [full, small]) {
    assert.ok(!bySeeds(r.statistics.cifar10));
    assert.deepEqual(charts(r), charts({ ...r, statistics: {} }));
  }
  for (const c of charts(full)) for (const name of ['bars', 'seeds']) assert.ok(!(name in c.spec.datasets), `${c.id}: no ${name}`);
});
