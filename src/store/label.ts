// A run's name among a store's runs, for the CLI, the report and the dashboard alike: its network
// and dataset, with its seed and hold-out where several runs of that network and dataset differ
// in them, or its id where they differ in something else. Pure: no store, no commander.

/** What naming a run reads of it (a RunRow has it). */
export interface LabelledRun { id: number; model: string; dataset: string; recipe: { seed: number; val?: number } }

/**
 * What tells the run apart from the others of its network and dataset in `all`: ` seed S` and
 * ` val N` where they differ in them, ` (run ID)` where they differ in something else, '' when
 * it is the only one.
 */
export function runSuffix(run: LabelledRun, all: readonly LabelledRun[]): string {
  const siblings = all.filter((r) => r.model === run.model && r.dataset === run.dataset);
  if (siblings.length <= 1) return '';
  const differ = (f: (r: LabelledRun) => unknown) => new Set(siblings.map(f)).size > 1;
  const seed = differ((r) => r.recipe.seed) ? ` seed ${run.recipe.seed}` : '';
  const val = differ((r) => r.recipe.val ?? 0) && run.recipe.val ? ` val ${run.recipe.val}` : '';
  const label = (r: LabelledRun) => `${differ((x) => x.recipe.seed) ? r.recipe.seed : ''} ${differ((x) => x.recipe.val ?? 0) ? r.recipe.val ?? 0 : ''}`;
  const unique = siblings.filter((r) => label(r) === label(run)).length === 1;
  return `${seed}${val}${unique ? '' : ` (run ${run.id})`}`;
}

/**
 * The run's name among `all`: `model on dataset`, with ` seed S` and ` val N` where runs of its
 * network and dataset differ in them, and ` (run ID)` where they differ in something else.
 */
export function runLabel(run: LabelledRun, all: readonly LabelledRun[]): string {
  return `${run.model} on ${run.dataset}${runSuffix(run, all)}`;
}
