// `googlenet step`: one training step exactly as the PyTorch fixtures were made.
import { Command } from 'commander';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import { createModel } from '../../models/googlenet.js';
import { setConvAlgorithm } from '../../nn/conv-algorithm.js';
import { readWeights } from '../../train/checkpoint.js';
import { classCount } from '../../train/config.js';
import { batchFromHost, referenceStep } from '../../train/reference-step.js';
import { display } from '../../util/display.js';
import { DEFAULTS, globalConv, modelHelp, modelName, positiveInt } from '../args.js';

export const step = new Command('step')
  .description('one training step as PyTorch fixtures are made (train-mode forward with dropout off, loss, gradients, one Adadelta(lr=1.0) step, eval-mode forward), written to one safetensors file')
  .requiredOption('--weights <file>', 'state dict (safetensors or torch.save .pt/.pth, PyTorch names)')
  .requiredOption('--input <file>', "batch (safetensors with 'input' float32 NCHW and 'target' int64)")
  .requiredOption('--out <file>', 'results: train_logits, loss, grad.<name>, eval_logits_after_step and the after-step state dict')
  .option('--model <name>', modelHelp, modelName, DEFAULTS.recipe.model)
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), classCount(DEFAULTS.recipe))
  .option('--fix-bn-eps', "use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (its eps is n5x5 by default, as in the seed)")
  .action((o: { weights: string; input: string; out: string; model: string; classes: number; fixBnEps?: boolean }, cmd: Command) => {
    const model = createModel(o.model, o.classes, { fixBatchNormEps: !!o.fixBnEps });
    try {
      setConvAlgorithm(model, globalConv(cmd));
      model.loadStateDict(readWeights(o.weights, (l) => display.info(l)), o.weights);
      const results = referenceStep(model, batchFromHost(readSafetensors(o.input), o.input, o.classes));
      writeSafetensors(o.out, results, { format: 'pt', producer: 'googlenet step', model: o.model });
      display.out(`${o.out}: loss ${(results.get('loss')!.data as Float32Array)[0].toFixed(6)}, ${results.size} tensors`);
    } finally {
      model.dispose();
    }
  });
