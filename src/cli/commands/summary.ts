// `googlenet summary`: every layer of a network, its totals, and each Inception module beside its naive version.
import { Command } from 'commander';
import { createModel, reconstructionNoteFor, variantOf } from '../../models/googlenet.js';
import { formatSummary, summarize } from '../../models/summary.js';
import { classCount } from '../../train/config.js';
import { display } from '../../util/display.js';
import { DEFAULTS, modelHelp, modelName, positiveInt } from '../args.js';

export const summary = new Command('summary')
  .description('every layer of a network (output shape, parameters, multiply-accumulates for one 32x32 image), totals, and each Inception module beside its naive version')
  .option('--model <name>', modelHelp, modelName, DEFAULTS.recipe.model)
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), classCount(DEFAULTS.recipe))
  .option('--json', 'print one JSON object {model, classes, input, params, macs, layers, modules}')
  .action((o: { model: string; classes: number; json?: boolean }) => {
    const model = createModel(o.model, o.classes);
    const name = model.network.name;
    const s = summarize(model, name);
    model.dispose();
    const builtin = variantOf(o.model);
    display.out(o.json ? JSON.stringify(s) : formatSummary(s, builtin && reconstructionNoteFor(builtin, o.classes)));
  });
