// What the runs of one dataset were trained with, as one line for chart subtitles and results.md
// captions: data size, epochs, optimizer and batch, and whatever else differs from the seed's
// recipe (defaultRecipe), so short runs on subsets are never read as the seed's full 14-epoch runs.
import { DATASETS, type DatasetName } from '../data/cifar.js';
import { defaultRecipe, flagOf, type Recipe } from '../train/config.js';

export interface Caption {
  /** `CIFAR-10 · 2,000 of 50,000 training images · 2 of 14 epochs · adadelta lr 1 · batch 64` */
  line: string;
  /** Per network, its recipe fields that differ from the others' (empty unless recipes are mixed). */
  mixed: { model: string; differences: string }[];
}

const int = (n: number) => n.toLocaleString('en-US');
const show = (v: unknown) => (v === null || v === undefined ? 'unset' : Array.isArray(v) ? v.join(',') || 'none' : String(v));
/** Fields the caption writes itself (or that name the run rather than its recipe). */
const SHOWN = new Set<keyof Recipe>(['model', 'network', 'dataset', 'limitTrain', 'limitTest', 'epochs', 'optimizer', 'lr', 'batchSize']);

/** `2,000 of 50,000` for a subset, `50,000` for the whole split. */
function size(limit: number | null, total: number | undefined): string {
  if (total === undefined) return limit === null ? 'all' : int(limit);
  return limit === null || limit >= total ? int(total) : `${int(limit)} of ${int(total)}`;
}

/** `seed 1`, `seeds 1–3`, `seeds 1, 7, 9`. */
export function seedsText(seeds: number[]): string {
  const s = [...new Set(seeds)].sort((a, b) => a - b);
  if (s.length === 1) return `seed ${s[0]}`;
  const consecutive = s.every((x, i) => i === 0 || x === s[i - 1]! + 1);
  return `seeds ${consecutive && s.length > 2 ? `${s[0]}–${s.at(-1)}` : s.join(', ')}`;
}

/**
 * The caption of a dataset's runs (their recipes, in table order); title is the dataset's display
 * name. With `bySeeds` (a table over seeds), the seed is no recipe difference: the caption names
 * the seeds instead.
 */
export function caption(dataset: string, title: string, recipes: { model: string; recipe: Recipe }[], o: { bySeeds?: boolean } = {}): Caption {
  const seed = defaultRecipe(undefined, (DATASETS[dataset as DatasetName] ? dataset : 'cifar10') as DatasetName);
  const records = DATASETS[dataset as DatasetName]?.records;
  // the network is each row's own (its name and layers are the table's), never a recipe difference
  const keys = (Object.keys(seed) as (keyof Recipe)[]).filter((k) => k !== 'model' && k !== 'network' && k !== 'dataset' && !(o.bySeeds && k === 'seed'));
  const same = (k: keyof Recipe) => new Set(recipes.map((r) => JSON.stringify(r.recipe[k]))).size <= 1;
  const varying = keys.filter((k) => !same(k));
  const first = recipes[0]?.recipe ?? seed;
  const parts: string[] = [title];
  if (same('limitTrain')) parts.push(`${size(first.limitTrain, records?.train)} training images`);
  if (same('limitTest')) parts.push(`${size(first.limitTest, records?.test)} test images`);
  if (same('epochs')) parts.push(first.epochs === seed.epochs ? `${first.epochs} epochs` : `${first.epochs} of ${seed.epochs} epochs`);
  if (same('optimizer')) parts.push(same('lr') ? `${first.optimizer} lr ${first.lr}` : first.optimizer);
  if (same('batchSize')) parts.push(`batch ${first.batchSize}`);
  if (o.bySeeds) parts.push(seedsText(recipes.map((r) => r.recipe.seed)));
  const other = keys.filter((k) => !SHOWN.has(k) && same(k) && JSON.stringify(first[k]) !== JSON.stringify(seed[k]));
  if (other.length) parts.push(`unlike the seed: ${other.map((k) => `${flagOf(k)} ${show(first[k])}`).join(' ')}`);
  else if (varying.length === 0 && keys.every((k) => JSON.stringify(first[k]) === JSON.stringify(seed[k]))) parts.push("the seed's recipe");
  if (varying.length) parts.push(`mixed recipes: ${varying.map(flagOf).join(', ')} differ${varying.length === 1 ? 's' : ''}`);
  const mixed = varying.length === 0 ? [] : recipes.map((r) => ({
    model: r.model, differences: varying.map((k) => `${flagOf(k)} ${show(r.recipe[k])}`).join(' '),
  })).filter((m, i, all) => all.findIndex((x) => x.model === m.model && x.differences === m.differences) === i); // a table over seeds names each group once
  return { line: parts.join(' · '), mixed };
}
