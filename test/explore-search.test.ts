// The pieces of `explore` that decide without training: regularized evolution's tournament, and
// a search's identity (its spec and id).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstProposals, searchIdOf, searchSpecOf, tournament } from '../src/explore/explore.js';
import { paretoOrder, type Scored } from '../src/explore/pareto.js';
import { defaultRecipe, recipeNetwork } from '../src/train/config.js';
import { Rng } from '../src/util/rng.js';

const members = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
// errors and MACs with a known Pareto order: 3 and 5 on the front, 3 the lower error
const fitness = new Map<number, Scored>([
  [1, { id: 1, error: 0.6, macs: 300 }], [2, { id: 2, error: 0.7, macs: 250 }], [3, { id: 3, error: 0.4, macs: 200 }],
  [4, { id: 4, error: 0.8, macs: 400 }], [5, { id: 5, error: 0.5, macs: 100 }], [6, { id: 6, error: 0.9, macs: 500 }],
]);

test('tournament: the best by Pareto rank, then error, of the members drawn; all drawn when the tournament is the population', () => {
  assert.equal(tournament(members(6), fitness, 6, new Rng(1)).id, paretoOrder([...fitness.values()])[0]);
  assert.equal(tournament(members(6), fitness, 6, new Rng(1)).id, 3);
  // a tournament of one is a uniform draw: over many draws every member wins sometimes
  const wins = new Set<number>();
  const rng = new Rng(2);
  for (let i = 0; i < 200; i++) wins.add(tournament(members(6), fitness, 1, rng).id);
  assert.deepEqual([...wins].sort(), [1, 2, 3, 4, 5, 6]);
  // a tournament of 3: the winner is the best of its three, never 6 (last in every order), and the same rng draws the same
  const a = new Rng(5), b = new Rng(5);
  for (let i = 0; i < 50; i++) {
    const x = tournament(members(6), fitness, 3, a);
    assert.equal(x.id, tournament(members(6), fitness, 3, b).id);
    assert.notEqual(x.id, 6);
  }
  // larger than the population: everyone
  assert.equal(tournament(members(2), fitness, 3, new Rng(1)).id, 1);
});

test('a search is its arguments: the same arguments the same id; another budget, rng, rung list, limit or hold-out another; evolution\'s fields only for evolution', () => {
  const base = recipeNetwork('googlenet-short4');
  const args = {
    base, recipe: { ...defaultRecipe('googlenet-short4', 'cifar10'), val: 500 }, strategy: 'random' as const, rng: 1, budget: 12, rungs: [1, 2], eta: 3,
    maxParams: null, maxMacs: null, population: 10, tournament: 3, generation: 5,
  };
  const id = searchIdOf(searchSpecOf(args));
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(searchIdOf(searchSpecOf({ ...args, population: 4 })), id, 'evolution flags do not change a random search');
  assert.equal(searchIdOf(searchSpecOf({ ...args, recipe: { ...args.recipe, epochs: 99 } })), id, 'epochs are the rungs\'');
  for (const other of [{ budget: 13 }, { rng: 2 }, { rungs: [1, 3] }, { eta: 2 }, { maxMacs: 1e9 }, { strategy: 'evolution' as const }, { recipe: { ...args.recipe, val: 400 } }, { recipe: { ...args.recipe, seed: 2 } }, { base: recipeNetwork('googlenet-short3') }])
    assert.notEqual(searchIdOf(searchSpecOf({ ...args, ...other })), id, JSON.stringify(Object.keys(other)));
  const spec = searchSpecOf(args);
  assert.deepEqual([spec.population, spec.tournament, spec.generation], [null, null, null]);
  assert.deepEqual(searchSpecOf({ ...args, strategy: 'evolution' }).population, 10);
  assert.equal(spec.recipe.val, 500);
  assert.equal('network' in spec.recipe, false, 'the base is named by its hash');
});

test('firstProposals: the budget for random, the first generation for evolution, all distinct mutations of the base, the same for the same rng', () => {
  const o = { base: recipeNetwork('googlenet-short4'), recipe: { ...defaultRecipe('googlenet-short4', 'cifar10'), val: 500 }, strategy: 'random' as const, rng: 4, budget: 8, maxParams: null, maxMacs: 400e6, population: 5 };
  const random = firstProposals(o);
  assert.equal(random.length, 8);
  assert.deepEqual(random.map((c) => c.id), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(new Set(random.map((c) => c.hash)).size, 8);
  assert.ok(random.every((c) => c.parent === 0 && c.macs <= 400e6 && c.network.name === `net-${c.hash.slice(0, 10)}`));
  assert.deepEqual(firstProposals(o).map((c) => c.hash), random.map((c) => c.hash));
  assert.deepEqual(firstProposals({ ...o, strategy: 'evolution' }).map((c) => c.hash), random.slice(0, 5).map((c) => c.hash), 'the first generation: the population, drawn as random draws');
  // a limit nothing meets: exhausted at once, and said
  const said: string[] = [];
  assert.deepEqual(firstProposals({ ...o, maxParams: 1 }, (l) => said.push(l)), []);
  assert.match(said[0]!, /^candidate 1: no new network within the limits in 100 draws \(.*max-params 100.*\); the search proposes no more$/);
});
