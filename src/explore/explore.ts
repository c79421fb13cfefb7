// `googlenet explore`: the seed's random modifications of GoogLeNet, automated and judged on
// images the final numbers never see. Candidates are seeded mutations of a base network
// (mutations.ts), proposed by one of two strategies:
//   random     each candidate one mutation of the base (the seed's own procedure, and the baseline);
//   evolution  regularized evolution (Real et al. 2019) in synchronous generations: a first
//              generation of `population` mutations of the base, then generations of `generation`
//              children, each a mutation of the best of a tournament of `tournament` drawn from the
//              population, which then ages: the oldest leave as the children join.
// Every candidate is a run (its network, the recipe with a validation hold-out), recorded in the
// run store and trained by this process or by workers; search_runs records which runs are the
// search's, and how. Successive halving then takes the best 1/eta of each rung, by Pareto rank on
// validation top-1 error and MACs (pareto.ts), to the next rung by extending their own runs. The
// final rung's front, the base and --confirm networks are then trained with several seeds on all
// training images (no hold-out) and tested, and compared with the base (Welch, Holm over the k
// networks compared with it).
//
// The search is a function of its arguments and, for evolution, of its candidates' validation
// errors, so it is resumed by running it again: each step is proposed anew, and every run and
// search row it records is found already recorded (idempotent), every finished run already done.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { builtinNetwork, modelNames } from '../models/googlenet.js';
import { canonicalNetwork, formatNetworkFile, networkHash, type Network } from '../models/network.js';
import type { RunQueue } from '../queue/queue.js';
import type { RunRow, RunStore, WorkerIdentity } from '../store/store.js';
import { classCount, networkOfRecipe, recipeKeyHash, recipeNetworkHash, type NamedNetwork, type Recipe, type RunOptions } from '../train/config.js';
import { runSpec } from '../train/spec.js';
import type { StopRequest } from '../train/stop.js';
import { canonicalize } from '../util/canonical-json.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomic } from '../io/disk.js';
import type { ExploreJson, ExploreStrategy, SearchSpec } from './explore-json.js';
import { describeMutation, proposeChild, type Child, type Mutation } from './mutations.js';
import { paretoFront, paretoOrder, promoted, type Scored } from './pareto.js';
import { trainRuns, type TrainRunsEnd } from './train-runs.js';
import { writeExploreReport, type ExploreReportFiles } from './report.js';
import { display } from '../util/display.js';

export const EXPLORE_DEFAULTS = { strategy: 'random' as ExploreStrategy, rng: 1, rungs: [2, 6, 14], eta: 3, population: 10, tournament: 3, confirmSeeds: 3 };

/** The search's own arguments, as its spec records them. */
type SearchArguments = Pick<SearchSpec, 'strategy' | 'rng' | 'budget' | 'rungs' | 'eta' | 'maxParams' | 'maxMacs'>;

export interface ExploreOptions extends SearchArguments {
  /** DIR: explore.md, explore.json, plots/, networks/ (and the default store's file). */
  out: string;
  store: RunStore;
  queue?: RunQueue;
  worker: WorkerIdentity;
  /** With a queue: false leaves training to `googlenet worker`s. */
  trainHere: boolean;
  base: NamedNetwork;
  /** The recipe candidates train with: the base's, with a hold-out (val > 0); its epochs are ignored (the rungs'). */
  recipe: Recipe;
  run: RunOptions;
  /** Evolution's population, tournament and children per generation (the spec records them for evolution only). */
  population: number;
  tournament: number;
  generation: number;
  confirmSeeds: number;
  /** Networks to confirm beside the front and the base (--confirm). */
  confirm: NamedNetwork[];
  stop?: StopRequest;
  mirror?: string | null;
  info?: (line: string) => void;
  log?: (line: string) => void;
}

export interface ExploreResult {
  searchId: string;
  report: ExploreReportFiles;
  /** Set when a signal stopped it: the search goes on when the same command runs again. */
  stopped: Extract<TrainRunsEnd, { done: false }> | null;
}

/** The search's arguments as its identity: another spec is another search (their runs may still be shared: a run is its recipe). */
export function searchSpecOf(o: Pick<ExploreOptions, 'base' | 'recipe' | 'strategy' | 'rng' | 'budget' | 'rungs' | 'eta' | 'maxParams' | 'maxMacs' | 'population' | 'tournament' | 'generation'>): SearchSpec {
  const evolution = o.strategy === 'evolution';
  const recipe = { ...o.recipe, epochs: o.rungs[0]! };
  const { network: _n, model: _m, ...shown } = recipe;
  return {
    format: 'googlenet-explore/1',
    base: { name: o.base.model, hash: recipeNetworkHash(o.base) },
    strategy: o.strategy, rng: o.rng, budget: o.budget, rungs: [...o.rungs], eta: o.eta,
    maxParams: o.maxParams, maxMacs: o.maxMacs,
    population: evolution ? o.population : null, tournament: evolution ? o.tournament : null, generation: evolution ? o.generation : null,
    dataset: o.recipe.dataset, recipeKey: recipeKeyHash(recipe), recipe: shown,
  };
}

export const searchIdOf = (spec: SearchSpec): string => createHash('sha256').update(canonicalize(spec)).digest('hex');

/** A candidate as the search holds it while it runs. */
interface Candidate {
  id: number;
  network: Network;
  name: string;
  hash: string;
  parent: number | null;
  mutation: Mutation | null;
  generation: number;
  runId: number;
  /** Its run's multiply-accumulates per image (the network's: the same at every rung). */
  macs: number;
}

/** A candidate's network name: a known network's (a built-in, or one the store names), else `net-` and the first 10 hex digits of its hash. */
function namerOf(runs: readonly RunRow[]): (hash: string) => string {
  const known = new Map<string, string>();
  for (const m of modelNames()) known.set(networkHash(builtinNetwork(m)!), m);
  for (const r of runs) {
    try {
      known.set(recipeNetworkHash(r.recipe), r.model);
    } catch {
      // a run of a network this build cannot read keeps its name to itself
    }
  }
  return (hash) => known.get(hash) ?? `net-${hash.slice(0, 10)}`;
}

export async function runExplore(o: ExploreOptions): Promise<ExploreResult> {
  const info = o.info ?? ((l: string) => display.info(l));
  const spec = searchSpecOf(o);
  const searchId = searchIdOf(spec);
  await o.store.recordSearch(searchId, spec);
  info(`search ${searchId.slice(0, 12)} in ${o.store.url}: ${o.strategy}, ${o.budget} candidates from ${o.base.model}, rungs ${o.rungs.join(',')} epochs, eta ${o.eta}`);
  const networksDir = path.join(o.out, 'networks');
  fs.mkdirSync(networksDir, { recursive: true });
  const candidates: Candidate[] = [];
  const report = () => writeExploreReport(o.store, searchId, o.out, { exhausted: proposer.exhausted });

  /** The run of `network` under `recipe` at `epochs` or more: found among the store's runs when recorded with as many planned (a replay never lowers a plan), else recorded (raising a plan). */
  const runAt = async (named: NamedNetwork, recipe: Recipe, epochs: number): Promise<RunRow> => {
    const r: Recipe = { ...recipe, ...named, epochs };
    const key = recipeKeyHash(r), hash = recipeNetworkHash(r);
    const found = (await o.store.runs()).find((x) => x.dataset === r.dataset && x.epochsPlanned >= epochs && recipeKeyHash(x.recipe) === key && recipeNetworkHash(x.recipe) === hash);
    return found ?? o.store.ensureRun(runSpec(r));
  };
  const named = (c: Candidate): NamedNetwork => ({ model: c.name, network: canonicalNetwork(c.network) });
  const writeFile = (c: Candidate) => writeFileAtomic(path.join(networksDir, `${c.name}.json`), [Buffer.from(formatNetworkFile(c.network))]);
  const record = async (c: Candidate, rung: number) =>
    o.store.recordSearchRun({ search: searchId, candidate: c.id, runId: c.runId, role: 'search', parent: c.parent, mutation: c.mutation, generation: c.generation, rung });

  // candidate 0: the base, trained at every rung as the reference the candidates are judged against
  const baseNet = networkOfRecipe(o.base);
  const baseRun = await runAt(o.base, o.recipe, o.rungs[0]!);
  const base: Candidate = { id: 0, network: { ...baseNet, name: o.base.model }, name: o.base.model, hash: networkHash(baseNet), parent: null, mutation: null, generation: 0, runId: baseRun.id, macs: baseRun.macs };
  writeFile(base);
  await record(base, 1);
  const proposer = new Proposer({ ...o, classes: classCount(o.recipe), nameOf: namerOf(await o.store.runs()) }, base.hash, info);

  /** Proposes the next candidate, a mutation of `parent`, and records its run at the first rung; null once the proposals are exhausted. */
  const propose = async (parent: Candidate, generation: number): Promise<Candidate | null> => {
    const child = proposer.next(parent);
    if (!child) return null;
    const c: Candidate = { id: child.id, network: child.network, name: child.network.name, hash: child.hash, parent: parent.id, mutation: child.mutation, generation, runId: 0, macs: 0 };
    const run = await runAt(named(c), o.recipe, o.rungs[0]!);
    c.runId = run.id;
    c.macs = run.macs;
    writeFile(c);
    await record(c, 1);
    candidates.push(c);
    return c;
  };
  const exhausted = () => proposer.exhausted !== null;

  /** The report as last written: after every training (the first rung's at least), so it follows the search. */
  const written: { files: ExploreReportFiles | null } = { files: null };
  /** Trains the runs to their plans (here or through the queue), then writes the report; the search's result if a signal stopped it, else null. */
  const train = async (runIds: number[]): Promise<ExploreResult | null> => {
    const end = await trainRuns({ store: o.store, queue: o.queue, worker: o.worker, run: o.run, trainHere: o.trainHere, stop: o.stop, mirror: o.mirror, info, log: o.log }, runIds);
    written.files = await report();
    return end.done ? null : { searchId, report: written.files, stopped: end };
  };
  const runsOf = (cs: readonly Candidate[]) => cs.map((c) => c.runId);

  /** Validation top-1 error of the candidate's run after `epochs`, or null (not there yet, or failed before). */
  const errorAt = async (c: Candidate, epochs: number): Promise<number | null> => {
    const e = (await o.store.epochs(c.runId)).find((x) => x.epoch === epochs);
    return e?.valTop1Error ?? null;
  };
  const scored = async (cs: readonly Candidate[], epochs: number): Promise<Scored[]> => {
    const out: Scored[] = [];
    for (const c of cs) {
      const error = await errorAt(c, epochs);
      if (error !== null && Number.isFinite(error)) out.push({ id: c.id, error, macs: c.macs });
    }
    return out;
  };

  // ---- the first rung: proposals, all trained for rungs[0] epochs --------------------------------
  const first = o.rungs[0]!;
  if (o.strategy === 'random') {
    while (candidates.length < o.budget && !exhausted()) await propose(base, 0);
    const s = await train(runsOf([base, ...candidates]));
    if (s) return s;
  } else {
    while (candidates.length < Math.min(o.population, o.budget) && !exhausted()) await propose(base, 0);
    const s = await train(runsOf([base, ...candidates]));
    if (s) return s;
    // the population: candidates that finished the first rung, oldest first
    const population: Candidate[] = [];
    const join = async (cs: Candidate[]) => {
      const ok = new Set((await scored(cs, first)).map((x) => x.id));
      population.push(...cs.filter((c) => ok.has(c.id)));
      while (population.length > o.population) population.shift();
    };
    await join([...candidates]);
    for (let generation = 1; candidates.length < o.budget && !exhausted(); generation++) {
      const children: Candidate[] = [];
      const size = Math.min(o.generation, o.budget - candidates.length);
      const fitness = new Map((await scored(population, first)).map((x) => [x.id, x]));
      while (children.length < size && !exhausted()) {
        const parent = population.length ? tournament(population, fitness, o.tournament, proposer.rng) : base;
        const c = await propose(parent, generation);
        if (c) children.push(c);
      }
      if (!children.length) break;
      info(`generation ${generation}: ${children.length} children`);
      const stop = await train(runsOf(children));
      if (stop) return stop;
      await join(children);
    }
  }

  // ---- successive halving: the best 1/eta of each rung go on, their runs extended --------------
  let alive: Candidate[] = [...candidates];
  for (let k = 1; k < o.rungs.length; k++) {
    const before = o.rungs[k - 1]!, epochs = o.rungs[k]!;
    const up = new Set(promoted(await scored(alive, before), o.eta));
    alive = alive.filter((c) => up.has(c.id));
    info(`rung ${k + 1} (${epochs} epochs): ${alive.map((c) => `c${c.id}`).join(', ') || 'none'} go on from ${before} epochs, with the base`);
    for (const c of [base, ...alive]) {
      const row = await runAt(named(c), o.recipe, epochs);
      if (row.id !== c.runId) throw new Error(`${o.store.url}: c${c.id}'s run ${c.runId} was not extended to ${epochs} epochs (run ${row.id} was recorded instead); report this`);
      await record(c, k + 1);
    }
    const s = await train(runsOf([base, ...alive]));
    if (s) return s;
  }

  // ---- confirmation: the final front, the base and --confirm networks, over seeds, on the test set ----
  const last = o.rungs[o.rungs.length - 1]!;
  const final = await scored([base, ...alive], last);
  const front = paretoFront(final);
  if (o.confirmSeeds > 0) {
    const byId = new Map([base, ...candidates].map((c) => [c.id, c]));
    const confirmSet: Candidate[] = [base, ...front.filter((id) => id !== 0).map((id) => byId.get(id)!)];
    let extra = candidates.length + 1;
    for (const n of o.confirm) {
      const hash = recipeNetworkHash(n);
      const known = [base, ...candidates].find((c) => c.hash === hash);
      if (known) {
        if (!confirmSet.includes(known)) confirmSet.push(known);
        continue;
      }
      const net = networkOfRecipe(n);
      const c: Candidate = { id: extra++, network: { ...net, name: n.model }, name: n.model, hash, parent: null, mutation: null, generation: 0, runId: 0, macs: 0 };
      writeFile(c);
      confirmSet.push(c);
    }
    info(`confirming ${confirmSet.map((c) => (c.id === 0 ? `the base (${c.name})` : `c${c.id}`)).join(', ')} with ${o.confirmSeeds} seeds on the test set, trained on all ${o.recipe.val ? 'training images, the hold-out included' : 'training images'}`);
    const runIds: number[] = [];
    const confirmRecipe: Recipe = { ...o.recipe, val: 0 };
    for (let seed = 1; seed <= o.confirmSeeds; seed++) {
      for (const c of confirmSet) {
        const row = await runAt(named(c), { ...confirmRecipe, seed }, last);
        await o.store.recordSearchRun({ search: searchId, candidate: c.id, runId: row.id, role: 'confirm', parent: null, mutation: null, generation: 0, rung: 0 });
        runIds.push(row.id);
      }
    }
    const s = await train(runIds);
    if (s) return s;
  }
  return { searchId, report: written.files!, stopped: null };
}

/**
 * A search's proposals: each candidate one mutation of its parent, drawn from the search's own
 * random numbers (`--rng`), never a network the search has seen (the base's included), within
 * the limits; the same rng, parents and order give the same candidates. After 100 draws in a row
 * that found nothing, it is exhausted and proposes no more.
 */
export class Proposer {
  /** The search's random numbers: mutations, and evolution's tournaments, in the order drawn. */
  readonly rng: Rng;
  private readonly seen: Set<string>;
  private proposed = 0;
  exhausted: ExploreJson['exhausted'] = null;

  constructor(
    private readonly o: Pick<ExploreOptions, 'rng' | 'maxParams' | 'maxMacs'> & { classes: number; nameOf: (hash: string) => string },
    baseHash: string,
    private readonly info: (line: string) => void,
  ) {
    this.rng = new Rng(o.rng);
    this.seen = new Set([baseHash]);
  }

  /** The next candidate (numbered from 1), a mutation of `parent`, or null once exhausted. */
  next(parent: { id: number; name: string; network: Network }): (Child & { id: number }) | null {
    if (this.exhausted) return null;
    const id = this.proposed + 1;
    const child = proposeChild(parent.network, this.rng, {
      classes: this.o.classes, maxParams: this.o.maxParams ?? undefined, maxMacs: this.o.maxMacs ?? undefined, seen: this.seen, name: this.o.nameOf, parent: { name: parent.name, candidate: parent.id },
    });
    if ('exhausted' in child) {
      this.exhausted = { atCandidate: id, why: child.why };
      this.info(`candidate ${id}: no new network within the limits in ${child.draws} draws (${Object.entries(child.why).map(([k, v]) => `${k} ${v}`).join(', ')}); the search proposes no more`);
      return null;
    }
    this.seen.add(child.hash);
    this.proposed = id;
    this.info(`c${id}: ${child.network.name} = c${parent.id} + ${describeMutation(child.mutation)} (${child.params.toLocaleString('en-US')} params, ${child.macs.toLocaleString('en-US')} MACs)`);
    return { ...child, id };
  }
}

/**
 * --dry-run: the candidates the search proposes before any training (every one with random, the
 * first generation with evolution, whose later ones depend on results), named as in a store that
 * knows only the built-in networks; nothing is recorded or written.
 */
export function firstProposals(o: Pick<ExploreOptions, 'base' | 'recipe' | 'strategy' | 'rng' | 'budget' | 'maxParams' | 'maxMacs' | 'population'>, info: (line: string) => void = () => {}): (Child & { id: number; parent: number })[] {
  const net = networkOfRecipe(o.base);
  const base = { id: 0, name: o.base.model, network: { ...net, name: o.base.model } };
  const proposer = new Proposer({ ...o, classes: classCount(o.recipe), nameOf: namerOf([]) }, networkHash(net), info);
  const out: (Child & { id: number; parent: number })[] = [];
  const n = o.strategy === 'random' ? o.budget : Math.min(o.population, o.budget);
  while (out.length < n) {
    const c = proposer.next(base);
    if (!c) break;
    out.push({ ...c, parent: 0 });
  }
  return out;
}

/** Regularized evolution's parent: `size` members drawn (without replacement) from the population, the best by Pareto rank on (error, MACs), then error. */
export function tournament<C extends { id: number }>(population: readonly C[], fitness: ReadonlyMap<number, Scored>, size: number, rng: Rng): C {
  const pool = [...population];
  const drawn: C[] = [];
  while (drawn.length < Math.min(size, population.length)) drawn.push(pool.splice(rng.int(pool.length), 1)[0]!);
  const best = paretoOrder(drawn.map((c) => fitness.get(c.id)!))[0]!;
  return drawn.find((c) => c.id === best)!;
}
