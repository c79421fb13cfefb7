// Naming a run where a store holds several of one network and dataset (seeds, hold-outs, other
// recipes): `googlenet-short4 on cifar10 seed 2`, `… val 5000`, or by its id. status names runs
// so; export and retry pick one by MODEL DATASET with --seed and --val, or by --run ID.
import { Option } from 'commander';
import type { RunRow, RunStore } from '../store/store.js';
import { nonNegativeInt, positiveInt } from './args.js';

export { runLabel } from '../store/label.js';

export interface RunSelector {
  model?: string;
  dataset?: string;
  seed?: number;
  val?: number;
  run?: number;
}

/** --seed, --val and --run, for commands that name one run of a store. */
export const selectorOptions = (): Option[] => [
  new Option('--seed <s>', 'the run of MODEL DATASET with this seed, where the store holds several').argParser(nonNegativeInt('--seed')),
  new Option('--val <n>', 'the run of MODEL DATASET with this hold-out (0: none), where the store holds several').argParser(nonNegativeInt('--val')),
  new Option('--run <id>', 'the run with this id (`googlenet status` lists them), instead of MODEL DATASET').argParser(positiveInt('--run')),
];

/** One run picked by `sel`, or refused in one line (none, or several: listed, with how to pick). */
export async function selectRun(store: RunStore, sel: RunSelector): Promise<RunRow> {
  const all = await store.runs();
  const listHint = `\`googlenet status --store URL\` lists its runs`;
  if (sel.run !== undefined) {
    const r = all.find((x) => x.id === sel.run);
    if (!r) throw new Error(`${store.url} has no run with id ${sel.run}; ${listHint}`);
    if ((sel.model !== undefined && sel.model !== r.model) || (sel.dataset !== undefined && sel.dataset !== r.dataset))
      throw new Error(`${store.url}: run ${r.id} is ${r.model} on ${r.dataset}, not ${sel.model} on ${sel.dataset}`);
    return r;
  }
  if (!sel.model || !sel.dataset) throw new Error('name the run: MODEL DATASET (with --seed or --val where several exist), or --run ID');
  const matches = all.filter((r) => r.model === sel.model && r.dataset === sel.dataset
    && (sel.seed === undefined || r.recipe.seed === sel.seed) && (sel.val === undefined || (r.recipe.val ?? 0) === sel.val));
  const what = `${sel.model} on ${sel.dataset}${sel.seed !== undefined ? ` seed ${sel.seed}` : ''}${sel.val !== undefined ? ` val ${sel.val}` : ''}`;
  if (!matches.length) throw new Error(`${store.url} has no run ${what}; ${listHint}`);
  if (matches.length > 1)
    throw new Error(`${store.url} has ${matches.length} runs of ${what}: ${matches.map((r) => `run ${r.id} (seed ${r.recipe.seed}, val ${r.recipe.val ?? 0})`).join(', ')}; pick one with --seed, --val or --run ID`);
  return matches[0]!;
}
