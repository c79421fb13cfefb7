// `googlenet explore`: a search over seeded mutations of a network (src/explore/explore.ts), its
// candidates ranked on a validation hold-out, the best confirmed over seeds on the test set.
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPLORE_DEFAULTS, firstProposals, runExplore } from '../../explore/explore.js';
import { describeMutation } from '../../explore/mutations.js';
import { EXPLORE_STRATEGIES, type ExploreStrategy } from '../../explore/explore-json.js';
import { modelNames } from '../../models/googlenet.js';
import { isNetworkFileArgument } from '../../models/network.js';
import { FolderStore } from '../../store/folder.js';
import { openStore } from '../../store/open.js';
import { workerName } from '../../store/store.js';
import { recipeNetwork, type NamedNetwork } from '../../train/config.js';
import { STOP_EXIT_CODE } from '../../train/stop.js';
import { display } from '../../util/display.js';
import { choice, datasetOption, examples, globalConv, globalThreads, heartbeatOption, intList, listChoices, nonNegativeInt, positiveInt, storeOption, storeUrl } from '../args.js';
import { queueOf, reportInterrupted, resumeCommand, stopOnSignals } from '../runs.js';
import { addTrainOptions, configFrom, GROUP, type TrainFlags } from '../train-options.js';

export const EXPLORE_DB_FILE = 'explore.sqlite';
/** The help's group of the search's own flags, listed after the network and dataset they search from. */
const SEARCH_GROUP = 'Search (the same search flags, base and recipe are the same search: run again, it continues):';

type ExploreFlags = TrainFlags & {
  base: string; budget: number; strategy: ExploreStrategy; rng: number; rungs: number[]; eta: number; maxParams?: number; maxMacs?: number;
  population: number; tournament: number; generation?: number; confirmSeeds: number; confirm?: string;
  out: string; store?: string; heartbeat: number; train: boolean; saveModel?: boolean; dryRun?: boolean;
};

/** A count as people write them: 6000000, 6e6, 6M, 1.5G, 800k. */
function countOf(flag: string) {
  return (v: string): number => {
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMgG]?)\s*$/.exec(v);
    const n = m ? Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'] : NaN;
    if (!Number.isSafeInteger(Math.round(n)) || n < 1) throw new InvalidArgumentError(`${flag} must be a count such as 6000000, 6e6, 6M or 1.5G, got '${v}'`);
    return Math.round(n);
  };
}

/** --rungs: increasing epochs. */
function rungsOf(v: string): number[] {
  const list = intList('--rungs')(v);
  if (list.some((e, i) => i > 0 && e <= list[i - 1]!)) throw new InvalidArgumentError(`--rungs must increase (each rung trains further than the one before), got '${v}'`);
  return list;
}

function networkArg(flag: string, arg: string): NamedNetwork {
  if (!isNetworkFileArgument(arg) && !modelNames().includes(arg))
    throw new Error(`${flag}: unknown network '${arg}'; choose from: ${modelNames().join(', ')}, or give a network file (a path with / or ending in .json)`);
  return recipeNetwork(arg);
}

export const explore = addTrainOptions(
  new Command('explore')
    .description("search the seed's way, automated: train seeded mutations of a network (insert a pool or dropout, remove, duplicate or re-set an Inception module, scale the width, switch naive/bottleneck, the head's dropout), rank them on a validation hold-out by Pareto rank on error and MACs, train the best further (successive halving), and confirm the final front over seeds on the test set; DIR/explore.md, explore.json, plots/ and networks/"),
  [
    new Option('--base <network>', `the network mutated: ${modelNames().join(', ')}, or a network file`).makeOptionMandatory(),
    datasetOption(),
    new Option('--budget <n>', 'candidates trained at the first rung').argParser(positiveInt('--budget')).makeOptionMandatory().helpGroup(SEARCH_GROUP),
    new Option('--strategy <name>', `${listChoices(EXPLORE_STRATEGIES)}: random mutates the base for each candidate (the seed's procedure); evolution is regularized evolution (aging population, tournament)`).argParser(choice('--strategy', EXPLORE_STRATEGIES)).default(EXPLORE_DEFAULTS.strategy).helpGroup(SEARCH_GROUP),
    new Option('--rng <s>', "seed of the search's own random numbers (which mutations, which tournaments); the same --rng proposes the same candidates").argParser(nonNegativeInt('--rng')).default(EXPLORE_DEFAULTS.rng).helpGroup(SEARCH_GROUP),
    new Option('--rungs <list>', 'epochs of each rung of successive halving, increasing').argParser(rungsOf).default(EXPLORE_DEFAULTS.rungs, EXPLORE_DEFAULTS.rungs.join(',')).helpGroup(SEARCH_GROUP),
    new Option('--eta <n>', 'the best 1/eta of a rung go on to the next (at least one)').argParser(atLeastTwo).default(EXPLORE_DEFAULTS.eta).helpGroup(SEARCH_GROUP),
    new Option('--max-params <n>', 'candidates with more parameters are drawn again (e.g. 6M)').argParser(countOf('--max-params')).helpGroup(SEARCH_GROUP),
    new Option('--max-macs <n>', 'candidates with more multiply-accumulates per 32x32 image are drawn again (e.g. 1.5G)').argParser(countOf('--max-macs')).helpGroup(SEARCH_GROUP),
    new Option('--population <n>', 'evolution: population size (also the first generation)').argParser(positiveInt('--population')).default(EXPLORE_DEFAULTS.population).helpGroup(SEARCH_GROUP),
    new Option('--tournament <n>', 'evolution: members drawn for each parent\'s tournament').argParser(positiveInt('--tournament')).default(EXPLORE_DEFAULTS.tournament).helpGroup(SEARCH_GROUP),
    new Option('--generation <n>', 'evolution: children per later generation (default: half the population, rounded up)').argParser(positiveInt('--generation')).helpGroup(SEARCH_GROUP),
    new Option('--confirm-seeds <k>', 'seeds each network of the final front, the base and --confirm trains with on all training images, tested (0: no confirmation)').argParser(nonNegativeInt('--confirm-seeds')).default(EXPLORE_DEFAULTS.confirmSeeds).helpGroup(SEARCH_GROUP),
    new Option('--confirm <list>', 'more networks to confirm beside the front and the base: built-in names or network files, comma-separated').helpGroup(SEARCH_GROUP),
  ],
).optionsGroup(GROUP.run)
  .addOption(storeOption(`, then sqlite:DIR/${EXPLORE_DB_FILE}`))
  .addOption(heartbeatOption())
  .option('--no-train', "with a PostgreSQL store: propose, promote and report only, and leave the training to `googlenet worker`s")
  .optionsGroup(GROUP.output)
  .requiredOption('--out <dir>', 'search folder: explore.md, explore.json, plots/, networks/ (a network file per candidate) and, with the default store, explore.sqlite')
  .addHelpText('after', examples(
    '# 12 random mutations of googlenet-short4 on a small CIFAR-10 subset, 1 then 2 epochs, hold-out 500',
    'googlenet explore --base googlenet-short4 --dataset cifar10 --budget 12 --rungs 1,2 --val 500 --limit-train 2500 --limit-test 1000 --data-dir ../shared/data --out runs/explore',
    '# regularized evolution over many machines: workers train, this process proposes and promotes',
    'googlenet explore --base googlenet --strategy evolution --budget 60 --val 5000 --max-macs 1.5G --no-train --store postgres://gn@dbhost:5432/runs --out runs/evo',
  )).action(async (o: ExploreFlags, cmd: Command) => {
    const given = (flag: string) => cmd.getOptionValueSource(flag) === 'cli' || cmd.getOptionValueSource(flag) === 'env';
    if (given('epochs')) throw new Error(`--epochs: explore trains each rung's epochs (--rungs ${o.rungs.join(',')}), and confirms at the last; give --rungs instead`);
    if (o.saveModel) throw new Error('--save-model: explore keeps every run\'s weights in its store; train the network you chose with `googlenet train --model DIR/networks/NAME.json --save-model`');
    if (o.resume) throw new Error('--resume: explore always goes on where it stopped: run the same command again');
    if (!o.val) throw new Error('explore ranks candidates on a validation hold-out, never on the test set: give --val N (e.g. --val 5000), fewer than the training images');
    if (o.scheduler === 'cosine') throw new Error("--scheduler cosine: explore extends runs rung by rung, and cosine's learning rates depend on the total epochs; use step or multistep");
    if (o.strategy !== 'evolution') for (const f of ['population', 'tournament', 'generation']) if (given(f)) throw new Error(`--${f} is for --strategy evolution`);
    const base = networkArg('--base', o.base);
    const confirm = (o.confirm ?? '').split(',').map((x) => x.trim()).filter(Boolean).map((a) => networkArg('--confirm', a));
    const config = configFrom({ ...o, epochs: o.rungs[0], dryRun: false }, base, globalThreads(cmd), globalConv(cmd));
    const generation = o.generation ?? Math.ceil(o.population / 2);
    if (o.dryRun) {
      // what the search would try first: nothing recorded, nothing written
      const proposals = firstProposals({ ...o, base, recipe: config.recipe, maxParams: o.maxParams ?? null, maxMacs: o.maxMacs ?? null });
      const rows = proposals.map((c) => ({ id: c.id, network: c.network.name, hash: c.hash, parent: c.parent, mutation: c.mutation, mutationText: describeMutation(c.mutation), params: c.params, macs: c.macs }));
      if (o.json) display.out(JSON.stringify({ candidates: rows }));
      else for (const r of rows) display.out(`c${r.id}  ${r.network}  ${r.mutationText}  ${r.params.toLocaleString('en-US')} params  ${r.macs.toLocaleString('en-US')} MACs`);
      return;
    }
    const store = await openStore(storeUrl(o, `sqlite:${path.join(o.out, EXPLORE_DB_FILE)}`));
    if (store instanceof FolderStore) {
      await store.close();
      throw new Error(`--store ${store.url} is a run folder, which holds one run; a search needs sqlite:PATH or postgres://…`);
    }
    const queue = await queueOf(store);
    if (!o.train && !queue) {
      await store.close();
      throw new Error(`--no-train leaves training to workers, which take runs from a PostgreSQL store's queue; ${store.url} has none (train here: leave out --no-train)`);
    }
    const stop = stopOnSignals();
    try {
      const r = await runExplore({
        out: o.out, store, queue, worker: { name: workerName(), heartbeat: o.heartbeat }, trainHere: o.train, base, recipe: config.recipe, run: { ...config.run, out: path.join(o.out, 'runs') },
        strategy: o.strategy, rng: o.rng, budget: o.budget, rungs: o.rungs, eta: o.eta, maxParams: o.maxParams ?? null, maxMacs: o.maxMacs ?? null,
        population: o.population, tournament: o.tournament, generation,
        confirmSeeds: o.confirmSeeds, confirm, stop, mirror: o.mirror,
      });
      display.info(`wrote ${r.report.markdown}, ${r.report.json} and ${r.report.plots.length} plots`);
      if (r.stopped) {
        if (r.stopped.interrupted) reportInterrupted(r.stopped.interrupted, resumeCommand());
        else {
          display.warn(`googlenet: stopped by ${r.stopped.signal}; the search goes on where it stopped with: ${resumeCommand()}`);
          process.exitCode = STOP_EXIT_CODE[r.stopped.signal];
        }
      } else if (o.json) display.out(JSON.stringify({ search: r.searchId, report: r.report.json }));
    } finally {
      stop.remove();
      await queue?.close();
      await store.close();
    }
  });

function atLeastTwo(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError(`--eta must be an integer of at least 2 (the best 1/eta go on), got '${v}'`);
  return n;
}
