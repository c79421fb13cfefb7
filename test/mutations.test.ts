// Mutations of a network (src/explore/mutations.ts): every kind makes exactly the child it says on
// the built-in networks, on one line; a child that breaks a rule of the format is refused in the
// format's one line; drawMutation draws only what the network allows; proposeChild is deterministic,
// never repeats a network of the search, keeps to its limits (counted as summarize() counts the
// built model), records its parent and mutation, and reports why when nothing fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyMutation, describeMutation, drawMutation, HEAD_DROPOUTS, INSERT_DROPOUTS, MAX_DRAWS, MUTATION_KINDS, possibleKinds, proposeChild,
  widthTimes, WIDTH_FACTORS, type Child, type ChildOptions, type Exhausted, type Mutation,
} from '../src/explore/mutations.js';
import { builtinNetwork, createModel } from '../src/models/googlenet.js';
import { NETWORK_FORMAT, networkHash, networkLayout, SEED_POOL, SETTINGS, validateNetwork, type Network, type NetworkLayer } from '../src/models/network.js';
import { summarize } from '../src/models/summary.js';
import { Rng } from '../src/util/rng.js';

const F = NETWORK_FORMAT;
const P = { maxpool: SEED_POOL };
const short4 = builtinNetwork('googlenet-short4')!;
const googlenet = builtinNetwork('googlenet')!;
const standard: NetworkLayer[] = ['a3', 'b3', P, 'a4', 'b4', 'c4', 'd4', 'e4', P, 'a5', 'b5'];
const settingsOf = (names: string[]) => Object.fromEntries(names.map((n) => [n, SETTINGS[n]]));

/** The child's data beside the parent's: layers, settings, width, module, head dropout. */
interface Data { layers: readonly NetworkLayer[]; settings: Network['settings']; width: number; module: string; dropout: number }
const data = (n: Network): Data => ({ layers: n.layers, settings: n.settings, width: n.width, module: n.module, dropout: n.dropout });

test('every kind of mutation on googlenet-short4 makes exactly the child it says, and leaves the parent as it was', () => {
  const before = JSON.stringify(short4);
  const base: Data = { layers: [P, 'a4', P, 'b5'], settings: settingsOf(['a4', 'b5']), width: 1, module: 'bottleneck', dropout: 0.4 };
  assert.deepEqual(data(short4), base);
  const cases: [Mutation, Partial<Data>][] = [
    [{ kind: 'insert', at: 0, layer: 'maxpool' }, { layers: [P, P, 'a4', P, 'b5'] }],
    [{ kind: 'insert', at: 2, layer: { dropout: 0.3 } }, { layers: [P, 'a4', { dropout: 0.3 }, P, 'b5'] }],
    [{ kind: 'insert', at: 4, layer: { dropout: 0.5 } }, { layers: [P, 'a4', P, 'b5', { dropout: 0.5 }] }],
    [{ kind: 'remove', at: 3, setting: 'b5' }, { layers: [P, 'a4', P], settings: settingsOf(['a4']) }],
    [{ kind: 'remove', at: 1, setting: 'a4' }, { layers: [P, P, 'b5'], settings: settingsOf(['b5']) }],
    [{ kind: 'duplicate', at: 1, setting: 'a4' }, { layers: [P, 'a4', 'a4', P, 'b5'] }],
    [{ kind: 'setting', at: 1, from: 'a4', to: 'c4' }, { layers: [P, 'c4', P, 'b5'], settings: settingsOf(['c4', 'b5']) }],
    [{ kind: 'width', factor: 0.75, from: 1, to: 0.75 }, { width: 0.75 }],
    [{ kind: 'width', factor: 1.25, from: 1, to: 1.25 }, { width: 1.25 }],
    [{ kind: 'module', from: 'bottleneck', to: 'naive' }, { module: 'naive' }],
    [{ kind: 'dropout', from: 0.4, to: 0 }, { dropout: 0 }],
  ];
  for (const [m, change] of cases) {
    const child = applyMutation(short4, m);
    assert.deepEqual(data(child), { ...base, ...change }, describeMutation(m));
    assert.equal(child.name, 'googlenet-short4', 'named as its parent until proposeChild names it');
    assert.equal(child.description, undefined);
    assert.equal(child.origin, undefined);
    assert.notEqual(networkHash(child), networkHash(short4));
  }
  assert.equal(JSON.stringify(short4), before);
  assert.deepEqual(new Set(cases.map(([m]) => m.kind)), new Set(MUTATION_KINDS));
});

test('every kind of mutation on googlenet; widths multiply exactly (rounded to 1e-9); naive back to bottleneck', () => {
  const base: Data = { layers: standard, settings: googlenet.settings, width: 1, module: 'bottleneck', dropout: 0.4 };
  const without = (name: string) => Object.fromEntries(Object.entries(googlenet.settings).filter(([k]) => k !== name));
  const cases: [Mutation, Partial<Data>][] = [
    [{ kind: 'insert', at: 2, layer: 'maxpool' }, { layers: ['a3', 'b3', P, P, 'a4', 'b4', 'c4', 'd4', 'e4', P, 'a5', 'b5'] }],
    [{ kind: 'insert', at: 11, layer: { dropout: 0.1 } }, { layers: [...standard, { dropout: 0.1 }] }],
    [{ kind: 'remove', at: 0, setting: 'a3' }, { layers: standard.slice(1), settings: without('a3') }],
    [{ kind: 'duplicate', at: 10, setting: 'b5' }, { layers: [...standard, 'b5'] }],
    [{ kind: 'setting', at: 5, from: 'c4', to: 'a3' }, { layers: ['a3', 'b3', P, 'a4', 'b4', 'a3', 'd4', 'e4', P, 'a5', 'b5'], settings: without('c4') }],
    [{ kind: 'width', factor: 0.75, from: 1, to: 0.75 }, { width: 0.75 }],
    [{ kind: 'module', from: 'bottleneck', to: 'naive' }, { module: 'naive' }],
    [{ kind: 'dropout', from: 0.4, to: 0.6 }, { dropout: 0.6 }],
  ];
  for (const [m, change] of cases) assert.deepEqual(data(applyMutation(googlenet, m)), { ...base, ...change }, describeMutation(m));

  const w = applyMutation(applyMutation(googlenet, { kind: 'width', factor: 0.75, from: 1, to: 0.75 }), { kind: 'width', factor: 1.25, from: 0.75, to: 0.9375 });
  assert.equal(w.width, 0.9375);
  assert.equal(widthTimes(0.75, 1.25), widthTimes(1.25, 0.75));
  assert.equal(widthTimes(0.3, 0.75), 0.225, '0.3·0.75 is 0.22499999999999998 in binary');
  const widths: number[] = [];
  let width = 1;
  for (let i = 0; i < 40; i++) widths.push((width = widthTimes(width, WIDTH_FACTORS[i % 2])));
  assert.deepEqual(widths.slice(0, 4), [0.75, 0.9375, 0.703125, 0.87890625]);
  assert.ok(widths.every((x) => Number(x.toFixed(9)) === x), 'never more than 9 decimals');
  const naive = applyMutation(builtinNetwork('googlenet-naive')!, { kind: 'module', from: 'naive', to: 'bottleneck' });
  assert.equal(networkHash(naive), networkHash(googlenet), 'googlenet-naive switched to bottleneck is googlenet');
});

test("applyMutation keeps the parent's own settings the child still uses, and refuses a mutation drawn for another network", () => {
  const parent = validateNetwork({ format: F, name: 'own', layers: ['mine', 'maxpool', 'mine', 'a3'], settings: { mine: [40, 24, 48, 8, 16, 16] } }, 'own.json');
  const kept = applyMutation(parent, { kind: 'remove', at: 0, setting: 'mine' });
  assert.deepEqual(kept.layers, [P, 'mine', 'a3']);
  assert.deepEqual(kept.settings, { mine: [40, 24, 48, 8, 16, 16], a3: SETTINGS.a3 });
  const gone = applyMutation(kept, { kind: 'setting', at: 1, from: 'mine', to: 'b3' });
  assert.deepEqual(gone.layers, [P, 'b3', 'a3']);
  assert.deepEqual(Object.keys(gone.settings).sort(), ['a3', 'b3']);
  assert.throws(() => applyMutation(short4, { kind: 'remove', at: 0, setting: 'a4' }),
    { message: `applyMutation: 'remove a4 at 0' does not apply to 'googlenet-short4': layers[0] is {"maxpool":{"kernel":3,"stride":2,"padding":1}}, not 'a4'` });
  assert.throws(() => applyMutation(short4, { kind: 'dropout', from: 0.2, to: 0 }),
    { message: `applyMutation: 'head dropout 0.2 → 0' does not apply to 'googlenet-short4': its head dropout is 0.4` });
  assert.throws(() => applyMutation(short4, { kind: 'insert', at: 5, layer: 'maxpool' }), /its body length is 4$/);
});

test('describeMutation: one short line per kind', () => {
  const lines: [Mutation, string][] = [
    [{ kind: 'insert', at: 3, layer: 'maxpool' }, 'insert maxpool at 3'],
    [{ kind: 'insert', at: 5, layer: { dropout: 0.2 } }, 'insert drop(0.2) at 5'],
    [{ kind: 'remove', at: 3, setting: 'a4' }, 'remove a4 at 3'],
    [{ kind: 'duplicate', at: 1, setting: 'b3' }, 'duplicate b3 at 1'],
    [{ kind: 'setting', at: 3, from: 'a4', to: 'c4' }, 'a4 at 3 → c4'],
    [{ kind: 'width', factor: 0.75, from: 1, to: 0.75 }, 'width ×0.75 (1 → 0.75)'],
    [{ kind: 'width', factor: 1.25, from: 0.75, to: 0.9375 }, 'width ×1.25 (0.75 → 0.9375)'],
    [{ kind: 'module', from: 'bottleneck', to: 'naive' }, 'module bottleneck → naive'],
    [{ kind: 'dropout', from: 0.4, to: 0.2 }, 'head dropout 0.4 → 0.2'],
  ];
  for (const [m, line] of lines) assert.equal(describeMutation(m), line);
});

test("a child that breaks a rule of the format throws the format's one-line refusal", () => {
  // the seed's pool keeps a 1x1 image 1x1, so a 2x2 pool after it is what shrinks it below
  const parent = validateNetwork({ format: F, name: 'deep', layers: [...Array(4).fill({ maxpool: { kernel: 2 } }), 'a3', { maxpool: { kernel: 2 } }] }, 'deep.json');
  const m: Mutation = { kind: 'insert', at: 5, layer: 'maxpool' };
  const refusal = (source: string) => `${source}: layers[6].maxpool: MaxPool2d(kernel 2, stride 2, padding 0) shrinks the 1x1 image below 1x1 (the input is 32x32); remove a pool or give it a smaller kernel or stride`;
  assert.throws(() => applyMutation(parent, m), { message: refusal('deep with insert maxpool at 5') });
  assert.throws(() => applyMutation(parent, m, 'candidate 7'), { message: refusal('candidate 7') });
  const wide = validateNetwork({ ...googlenet, name: 'wide', width: 16 }, 'wide.json');
  assert.throws(() => applyMutation(wide, { kind: 'width', factor: 1.25, from: 16, to: 20 }),
    { message: 'wide with width ×1.25 (16 → 20): $: the network has 2,453,467,620 parameters (100 classes), more than 2^31; make it smaller: fewer or narrower layers, or a smaller width' });
  assert.throws(() => applyMutation(short4, { kind: 'insert', at: 0, layer: { dropout: 1 } }), (e: Error) => {
    assert.match(e.message, /^googlenet-short4 with insert drop\(1\) at 0: layers\[0\]\.dropout: a dropout layer's probability must be a number in \[0, 1\), got 1; /);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test('drawMutation: every kind over many draws, each about as often, and only those the network allows, with parameters in range', () => {
  const rng = new Rng(11);
  const counts = new Map<string, number>();
  let pools = 0;
  for (let i = 0; i < 2800; i++) {
    const m = drawMutation(googlenet, rng);
    counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
    if (m.kind === 'insert') {
      if (m.layer === 'maxpool') pools++;
      assert.ok(m.at >= 0 && m.at <= googlenet.layers.length);
      assert.ok(m.layer === 'maxpool' || (INSERT_DROPOUTS as readonly number[]).includes(m.layer.dropout));
    }
    if (m.kind === 'setting') assert.ok(m.to !== m.from && SETTINGS[m.to] !== undefined && googlenet.layers[m.at] === m.from);
    if (m.kind === 'remove' || m.kind === 'duplicate') assert.equal(googlenet.layers[m.at], m.setting);
    if (m.kind === 'dropout') assert.ok(m.to !== 0.4 && (HEAD_DROPOUTS as readonly number[]).includes(m.to));
    if (m.kind === 'width') assert.ok((WIDTH_FACTORS as readonly number[]).includes(m.factor) && m.to === m.factor);
    applyMutation(googlenet, m); // every drawn mutation applies to its network
  }
  assert.deepEqual([...counts.keys()].sort(), [...MUTATION_KINDS].sort());
  for (const [kind, n] of counts) assert.ok(Math.abs(n - 400) < 100, `${kind}: ${n} of 2800`);
  // an insert is a pool or a dropout as often as each other
  assert.ok(Math.abs(pools / counts.get('insert')! - 0.5) < 0.1, `${pools} pools of ${counts.get('insert')} inserts`);

  for (const layers of [[], ['maxpool'], ['maxpool', { dropout: 0.2 }, { maxpool: { kernel: 2 } }]]) {
    const net = validateNetwork({ format: F, name: 'bare', layers }, 'bare.json');
    assert.deepEqual(possibleKinds(net), ['insert', 'width', 'dropout']);
    const kinds = new Set<string>();
    for (let i = 0; i < 300; i++) kinds.add(drawMutation(net, rng).kind);
    assert.deepEqual([...kinds].sort(), ['dropout', 'insert', 'width'], JSON.stringify(layers));
  }
  assert.deepEqual(possibleKinds(short4), [...MUTATION_KINDS]);
  // a head dropout outside the four may go to any of them; a declared setting to any of the seed's nine
  const odd = validateNetwork({ format: F, name: 'odd', layers: ['mine'], settings: { mine: [8, 8, 8, 8, 8, 8] }, dropout: 0.1 }, 'odd.json');
  const tos = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const m = drawMutation(odd, rng);
    if (m.kind === 'dropout' || m.kind === 'setting') tos.add(`${m.kind} ${m.to}`);
  }
  assert.equal(tos.size, HEAD_DROPOUTS.length + 9);
});

const seedNames = (hash: string) => `cand-${hash.slice(0, 12)}`;
function children(parent: Network, seed: number, n: number, extra: Partial<ChildOptions> = {}): Child[] {
  const rng = new Rng(seed);
  const seen = new Set([networkHash(parent)]);
  const out: Child[] = [];
  for (let i = 0; i < n; i++) {
    const c = proposeChild(parent, rng, { classes: 10, seen, name: seedNames, parent: { name: parent.name, candidate: null }, ...extra });
    assert.ok(!('exhausted' in c), `child ${i}: ${JSON.stringify(c)}`);
    assert.ok(!seen.has(c.hash), 'never a seen network');
    seen.add(c.hash);
    out.push(c);
  }
  return out;
}

test('proposeChild: the same seed gives the same 20 children, another seed others; each is named, hashed and its origin recorded', () => {
  const a = children(short4, 5, 20);
  const b = children(short4, 5, 20);
  const c = children(short4, 6, 20);
  const key = (cs: Child[]) => cs.map((x) => `${x.hash} ${describeMutation(x.mutation)}`);
  assert.deepEqual(key(a), key(b));
  assert.deepEqual(a.map((x) => x.network), b.map((x) => x.network));
  assert.notDeepEqual(key(a), key(c));
  assert.equal(new Set(a.map((x) => x.hash)).size, 20);
  for (const x of a) {
    assert.equal(x.network.name, seedNames(x.hash));
    assert.equal(networkHash(x.network), x.hash, 'name and origin leave the hash alone');
    assert.equal(networkHash(applyMutation(short4, x.mutation)), x.hash);
    assert.deepEqual(x.network.origin, { parent: 'googlenet-short4', candidate: null, mutation: x.mutation, text: describeMutation(x.mutation) });
    assert.deepEqual(validateNetwork(JSON.parse(JSON.stringify(x.network)), 'child.json'), x.network, 'a valid network file as it is');
    const layout = networkLayout(x.network, 10);
    assert.deepEqual([x.params, x.macs], [layout.params, layout.macs]);
    assert.ok(x.draws >= 1);
  }
  const rng = new Rng(1);
  const named = proposeChild(googlenet, rng, { classes: 100, seen: new Set(), name: () => 'x-7', parent: { name: 'base', candidate: 3 } }) as Child;
  assert.equal(named.network.name, 'x-7');
  assert.deepEqual(named.network.origin, { parent: 'base', candidate: 3, mutation: named.mutation, text: describeMutation(named.mutation) });
});

test('proposeChild keeps to maxParams and maxMacs; its counts are those summarize() makes of the built child', () => {
  const parent = networkLayout(googlenet, 10);
  const maxParams = parent.params;
  const maxMacs = parent.macs;
  const cs = children(googlenet, 9, 20, { maxParams, maxMacs });
  for (const c of cs) assert.ok(c.params <= maxParams && c.macs <= maxMacs, describeMutation(c.mutation));
  assert.ok(cs.some((c) => c.draws > 1), 'some draws were turned down (a wider or longer child)');
  for (const c of cs.slice(0, 3)) {
    const m = createModel(c.network, 10);
    const s = summarize(m, c.network.name);
    m.dispose();
    assert.deepEqual([c.params, c.macs], [s.params, s.macs], describeMutation(c.mutation));
  }
});

test('proposeChild reports the parent exhausted after MAX_DRAWS draws, with why', () => {
  const o = { classes: 10, seen: new Set([networkHash(short4)]), name: seedNames, parent: { name: 'googlenet-short4', candidate: 2 } };
  assert.deepEqual(proposeChild(short4, new Rng(1), { ...o, maxParams: 1 }),
    { exhausted: true, draws: MAX_DRAWS, why: { invalid: 0, seen: 0, 'max-params': MAX_DRAWS, 'max-macs': 0 } } satisfies Exhausted);
  assert.deepEqual(proposeChild(short4, new Rng(1), { ...o, maxMacs: 1 }),
    { exhausted: true, draws: MAX_DRAWS, why: { invalid: 0, seen: 0, 'max-params': 0, 'max-macs': MAX_DRAWS } });
  // an empty body has ten children (five inserts at its one place, two widths, three head dropouts): all seen
  const bare = validateNetwork({ format: F, name: 'bare', layers: [], stem: [16] }, 'bare.json');
  const all: Mutation[] = [
    { kind: 'insert', at: 0, layer: 'maxpool' }, ...INSERT_DROPOUTS.map((dropout): Mutation => ({ kind: 'insert', at: 0, layer: { dropout } })),
    ...WIDTH_FACTORS.map((factor): Mutation => ({ kind: 'width', factor, from: 1, to: factor })),
    ...[0, 0.2, 0.6].map((to): Mutation => ({ kind: 'dropout', from: 0.4, to })),
  ];
  const seen = new Set(all.map((m) => networkHash(applyMutation(bare, m))));
  assert.equal(seen.size, 10);
  assert.deepEqual(proposeChild(bare, new Rng(3), { ...o, seen }), { exhausted: true, draws: MAX_DRAWS, why: { invalid: 0, seen: MAX_DRAWS, 'max-params': 0, 'max-macs': 0 } });
  // at the edge of the format: every widening child has more than 2^31 parameters
  const wide = validateNetwork({ ...googlenet, name: 'wide', width: 16 }, 'wide.json');
  const r = proposeChild(wide, new Rng(4), { ...o, maxParams: 1 }) as Exhausted;
  assert.equal(r.exhausted, true);
  assert.ok(r.why.invalid > 0 && r.why['max-params'] > 0 && r.why.invalid + r.why['max-params'] === MAX_DRAWS, JSON.stringify(r.why));
});
