// `googlenet test`: the seed's test metrics of a weights file, ours or PyTorch's.
import { Command, Option } from 'commander';
import type { DatasetName } from '../../data/cifar.js';
import { loadData } from '../../data/load.js';
import { DataLoader } from '../../data/loader.js';
import { NO_AUGMENTATION } from '../../data/transforms.js';
import { createModel } from '../../models/googlenet.js';
import { setConvAlgorithm } from '../../nn/conv-algorithm.js';
import { setPrecision, type Precision } from '../../nn/layers.js';
import { readWeights } from '../../train/checkpoint.js';
import { classCount, NORMALIZE_CHOICES, normalization, PRECISIONS, type NormalizeName } from '../../train/config.js';
import { evaluate, testLine } from '../../train/evaluate.js';
import { Reporter } from '../../train/reporter.js';
import { display } from '../../util/display.js';
import { choice, datasetOption, DEFAULTS, globalConv, listChoices, modelHelp, modelName, positiveInt, precisionOption } from '../args.js';

/** `test` evaluates in larger batches than training's test pass: nothing is trained, so only speed changes. */
const TEST_COMMAND_BATCH = 100;

interface TestFlags {
  weights: string; model: string; dataset: DatasetName; dataDir: string; mirror?: string; testBatchSize: number; limitTest?: number;
  normalize: NormalizeName; fixBnEps?: boolean; coarse?: boolean; precision: Precision; json?: boolean;
}

export const test = new Command('test')
  .description("the seed's test metrics (average loss, top-1/top-5 error) of a weights file on a test set")
  .requiredOption('--weights <file>', 'state dict (safetensors, or torch.save .pt/.pth: told apart by content) from this project or PyTorch, or a training checkpoint (ours, or a PyTorch dict under state_dict/model/model_state_dict; its model is used)')
  .option('--model <name>', modelHelp, modelName, DEFAULTS.recipe.model)
  .addOption(datasetOption())
  .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', DEFAULTS.run.dataDir)
  .option('--mirror <url>', 'download from this base URL instead')
  .option('--test-batch-size <n>', 'batch size', positiveInt('--test-batch-size'), TEST_COMMAND_BATCH)
  .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
  .addOption(new Option('--normalize <kind>', `${listChoices(NORMALIZE_CHOICES)} normalisation, as the weights were trained`).argParser(choice('--normalize', NORMALIZE_CHOICES)).default(DEFAULTS.recipe.normalize))
  .option('--fix-bn-eps', 'eps 1e-5 in the quirky BatchNorm (for weights trained that way)')
  .addOption(precisionOption(listChoices(PRECISIONS)))
  .option('--coarse', "CIFAR-100's 20 superclasses (for weights trained on them)")
  .option('--json', 'print one JSON object {loss, top1_error, top5_error, n}')
  .action(async (o: TestFlags, cmd: Command) => {
    const model = createModel(o.model, classCount({ dataset: o.dataset, coarse: !!o.coarse }), { fixBatchNormEps: !!o.fixBnEps });
    try {
      setPrecision(model, o.precision);
      setConvAlgorithm(model, globalConv(cmd));
      model.loadStateDict(readWeights(o.weights, (l) => display.info(l)), o.weights);
      const { test: split } = await loadData({ dataset: o.dataset, dataDir: o.dataDir, limitTrain: null, limitTest: o.limitTest ?? null, coarse: !!o.coarse, mirror: o.mirror }, ['test']);
      const loader = new DataLoader(split!, { batchSize: o.testBatchSize, augment: NO_AUGMENTATION, normalize: normalization(o) });
      const report = new Reporter();
      report.testStart(loader.length);
      const r = await evaluate(model, loader, Infinity, (done, batches, size) => report.testBatch(done, batches, size));
      report.close();
      await loader.close();
      display.out(o.json ? JSON.stringify(r) : testLine(r).trim());
    } finally {
      model.dispose();
    }
  });
