// `googlenet bench`: training-step and eval throughput and peak memory of one network on random data.
import { Command } from 'commander';
import { benchModel } from '../../bench/bench.js';
import type { Precision } from '../../nn/layers.js';
import { backend } from '../../tensor/tensor.js';
import { display } from '../../util/display.js';
import { DEFAULTS, globalConv, modelHelp, modelName, positiveInt, precisionOption } from '../args.js';

export const bench = new Command('bench')
  .description('training-step and eval throughput and peak memory of one network on random data (npm run bench runs the whole benchmark, PyTorch beside it)')
  .option('--model <name>', modelHelp, modelName, DEFAULTS.recipe.model)
  .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), DEFAULTS.recipe.batchSize)
  .addOption(precisionOption('fp32, or bf16 mixed precision'))
  .option('--steps <n>', 'timed steps (after two warm-up steps)', positiveInt('--steps'), 4)
  .option('--json', 'make the last stdout line {model, batch_size, precision, conv, train_img_per_s, eval_img_per_s, peak_rss_mb} (conv: the convolution algorithm that ran, winograd if any convolution used it)')
  .action((o: { model: string; batchSize: number; precision: Precision; steps: number; json?: boolean }, cmd: Command) => {
    const r = benchModel(o.model, o.batchSize, o.precision, o.steps, undefined, globalConv(cmd));
    if (o.json) {
      const { model, batch_size, precision, conv, train_img_per_s, eval_img_per_s, peak_rss_mb } = r;
      display.out(JSON.stringify({ model, batch_size, precision, conv, train_img_per_s, eval_img_per_s, peak_rss_mb }));
    } else {
      display.out(`${r.model}, batch ${r.batch_size}, ${r.precision}, ${r.conv} convolutions, ${backend().stats().threads} threads: training ${r.train_img_per_s.toFixed(1)} images/s, eval ${r.eval_img_per_s.toFixed(1)} images/s, peak RSS ${r.peak_rss_mb.toFixed(0)} MiB`);
    }
  });
