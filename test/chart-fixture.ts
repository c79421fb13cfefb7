// A ResultsJson as buildResults makes it, without a store: networks, datasets, epochs and data
// size chosen by the test, with final values near the seed's tables (so points cluster as they
// would in the seed's experiment) and curves that fall towards them. And svgWithoutEval, a chart
// drawn as the dashboard draws it, for the charts' tests (the experiment's and explore's).
import type { Chart } from '../src/experiment/charts.js';
import type { ResultsJson, ResultRow } from '../src/experiment/report.js';
import { compareModels, networkSummary, SEED_TABLES, statisticsOf } from '../src/experiment/report.js';
import { runSuffix } from '../src/store/label.js';
import { canonicalNetwork, networkLayout, validateNetwork } from '../src/models/network.js';
import { defaultRecipe, type Recipe } from '../src/train/config.js';
import type { DatasetName } from '../src/data/cifar.js';
import { COUNTS } from './counts.js';


/** A small declared network (a network file's contents) for fixtures beside the seven. */
export const MINE = { format: 'googlenet-network/1', layers: ['maxpool', 'a4', { dropout: 0.2 }, 'maxpool', 'b5'], width: 0.5 } as const;
/** Its layers on one line, as describeLayers writes them. */
export const MINE_LAYERS = 'pool a4 drop(0.2) pool b5 ×0.5';

export interface FixtureOptions {
  /** Built-in names, or names of `declared`. */
  models: string[];
  /** Declared networks by name: their network files' contents (counted by networkLayout; no seed results). */
  declared?: Record<string, unknown>;
  datasets: DatasetName[];
  epochs: number;
  limitTrain?: number | null;
  limitTest?: number | null;
  /** Recipe fields per model (mixed recipes). */
  recipeOf?: (model: string) => Partial<Recipe>;
  /** Several runs of a model (seeds, hold-outs): each one's recipe fields; one run with none when absent. */
  runsOf?: (model: string) => Partial<Recipe>[];
}

export function resultsFixture(o: FixtureOptions): ResultsJson {
  const runs: ResultsJson['runs'] = [];
  const datasets: ResultsJson['datasets'] = {};
  let id = 0;
  for (const dataset of o.datasets) {
    const classes = dataset === 'cifar10' ? 10 : 100;
    for (const [k, model] of [...o.models].sort(compareModels).entries()) for (const [v, variant] of (o.runsOf?.(model) ?? [{}]).entries()) {
      const file = o.declared?.[model];
      const net = file === undefined ? undefined : validateNetwork(file, `${model}.json`, model);
      // a declared network: counted by its layout, MACs made up near googlenet-short4's; the seed has none of its results
      const ours = net ? { c10: networkLayout(net, 10).params, c100: networkLayout(net, 100).params, macs: 90_000_000 } : COUNTS[model]!;
      const seed = net ? undefined : SEED_TABLES[dataset][model]!;
      const like = seed ?? SEED_TABLES[dataset]['googlenet-short4']!;
      const recipe: Recipe = {
        ...defaultRecipe(net ? 'googlenet' : model, dataset), ...(net ? { model, network: canonicalNetwork(net) } : {}),
        epochs: o.epochs, limitTrain: o.limitTrain ?? null, limitTest: o.limitTest ?? null, ...o.recipeOf?.(model), ...variant,
      };
      // a short run ends above the seed's error, by how far it is from the seed's 14 epochs
      const final1 = Math.min(0.95, like.top1 + (14 - recipe.epochs) * 0.03 + 0.004 * k + 0.01 * v);
      const final5 = Math.min(0.7, like.top5 + (14 - recipe.epochs) * 0.012 + 0.002 * k + 0.005 * v);
      const epochs = Array.from({ length: recipe.epochs }, (_, i) => {
        const t = recipe.epochs === 1 ? 1 : i / (recipe.epochs - 1);
        const top1Error = final1 + (0.9 - final1) * (1 - t) ** 2 * 0.6;
        const top5Error = final5 + (0.5 - final5) * (1 - t) ** 2 * 0.6;
        // a run with a hold-out never touches the test set: its errors are the hold-out's
        const errors = recipe.val > 0
          ? { testLoss: null, top1Error: null, top5Error: null, valLoss: 2.2 - 1.5 * t, valTop1Error: top1Error, valTop5Error: top5Error }
          : { testLoss: 2.2 - 1.5 * t, top1Error, top5Error };
        return {
          epoch: i + 1, trainLoss: 2.3 - 1.8 * t + 0.02 * k + 0.01 * v, ...errors, lr: recipe.lr * recipe.gamma ** i,
          seconds: (ours.macs / 1e9) * 40 * ((recipe.limitTrain ?? 50000) / 2000), finishedAt: '2026-12-01T12:00:00.000Z',
        };
      });
      const seconds = epochs.reduce((s, e) => s + e.seconds, 0);
      const params = classes === 10 ? ours.c10 : ours.c100;
      runs.push({
        id: ++id, model, dataset, recipe, classes, params, macs: ours.macs, epochsPlanned: recipe.epochs, status: 'complete', error: null,
        attemptId: null, crashes: 0, startedAt: null, finishedAt: null, seconds, progress: null, epochs, attempts: [],
      });
      const last = epochs.at(-1)!;
      const row: ResultRow = {
        model, label: model, runId: id, recipeSeed: recipe.seed, val: recipe.val, ...networkSummary(recipe), builtin: !net, params, macs: ours.macs,
        top1Error: last.top1Error ?? last.valTop1Error!, top5Error: last.top5Error ?? last.valTop5Error!, heldOut: recipe.val > 0, seconds, epochs: recipe.epochs,
        status: 'complete', epochsPlanned: recipe.epochs, ...(seed ? { seed } : {}),
      };
      (datasets[dataset] ??= []).push(row);
    }
  }
  for (const rows of Object.values(datasets)) for (const row of rows) row.label = `${row.model}${runSuffix(runs.find((x) => x.id === row.runId)!, runs)}`;
  return { generatedAt: '2026-12-01T12:00:00.000Z', datasets, statistics: statisticsOf({ datasets, runs }), runs };
}

/**
 * A chart's SVG as the dashboard draws it under its CSP without 'unsafe-eval': vega's expression
 * interpreter, and compiling code from strings made to throw (vega's default code generator does it).
 */
export async function svgWithoutEval(c: Chart): Promise<string> {
  const [vega, { compile }, interpreter] = await Promise.all([import('vega'), import('vega-lite'), import('vega-interpreter')]);
  const F = globalThis.Function;
  globalThis.Function = function refused() { throw new Error(`${c.id}: code generated from a string`); } as unknown as FunctionConstructor;
  const view = new vega.View(vega.parse(compile(c.spec).spec, undefined, { ast: true }), { renderer: 'none', expr: interpreter.expressionInterpreter });
  try {
    return await view.toSVG();
  } finally {
    globalThis.Function = F;
    view.finalize();
  }
}
