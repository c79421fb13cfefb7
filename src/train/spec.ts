// What a run is, before it trains: its recipe and the network's counts (classes, parameters,
// multiply-accumulates), as stores record them when a run is enqueued.
import { createModel } from '../models/googlenet.js';
import { summarize } from '../models/summary.js';
import type { RunSpec } from '../store/store.js';
import { defaultGenerator } from '../util/generator.js';
import { classCount, networkOfRecipe, type Recipe } from './config.js';

export function runSpec(recipe: Recipe): RunSpec {
  const classes = classCount(recipe);
  // building the network draws its initial weights: the default generator is put back as it was
  const state = defaultGenerator().getState();
  const model = createModel(networkOfRecipe(recipe), classes, { fixBatchNormEps: recipe.fixBnEps });
  try {
    const s = summarize(model, recipe.model);
    return { model: recipe.model, dataset: recipe.dataset, recipe, classes, params: s.params, macs: s.macs };
  } finally {
    model.dispose();
    defaultGenerator().setState(state);
  }
}
