// The seed's training flags (same names and defaults) and ours, shared by `train` and `experiment`,
// grouped in the help as the config types group them: the recipe (a run's identity), then data, run
// and output options (RunOptions and the command's own).
import { Command, Option } from 'commander';
import { WEIGHTS_FORMATS } from '../io/weights.js';
import { convProblem, type ConvChoice } from '../nn/conv-algorithm.js';
import {
  AUGMENTATIONS, configFromFlat, defaultWeightDecay, NORMALIZE_CHOICES, OPTIMIZERS, recipeProblem, SCHEDULERS,
  type Recipe, type RunOptions, type TrainConfig,
} from '../train/config.js';
import { choice, DEFAULTS, intList, listChoices, nonNegativeInt, nonNegativeNumber, positiveInt, precisionOption } from './args.js';

/**
 * The help's option groups. The recipe is a run's identity (Recipe in src/train/config.ts: the same
 * recipe is the same run); data, run and output options are its RunOptions and the command's own.
 */
export const GROUP = { recipe: 'Recipe (what is trained; another recipe is another run):', data: 'Data:', run: 'Run:', output: 'Output:' } as const;

/** Adds the training flags to `cmd`, by help group; `recipeFirst` (the command's model and dataset flags) lead the recipe. */
export function addTrainOptions(cmd: Command, recipeFirst: Option[]): Command {
  const r = DEFAULTS.recipe, run = DEFAULTS.run;
  cmd.optionsGroup(GROUP.recipe);
  for (const o of recipeFirst) cmd.addOption(o);
  return cmd
    .option('--coarse', "CIFAR-100's 20 superclasses (coarse labels) instead of its 100 classes")
    .option('--limit-train <n>', 'use the first N training records (before shuffling)', positiveInt('--limit-train'))
    .option('--limit-test <n>', 'use the first N test records', positiveInt('--limit-test'))
    .option('--val <n>', 'hold out the first N training records (after --limit-train, before shuffling) as a validation set: each epoch evaluates it instead of the test set, which is not touched; the rest train (another --val is another run)', nonNegativeInt('--val'), r.val)
    .option('--batch-size <n>', 'input batch size for training', positiveInt('--batch-size'), r.batchSize)
    .option('--epochs <n>', 'number of epochs to train', positiveInt('--epochs'), r.epochs)
    .option('--seed <s>', 'random seed', nonNegativeInt('--seed'), r.seed)
    .option('--optimizer <name>', listChoices(OPTIMIZERS, r.optimizer), choice('--optimizer', OPTIMIZERS), r.optimizer)
    .option('--lr <lr>', 'learning rate', nonNegativeNumber('--lr'), r.lr)
    .option('--weight-decay <w>', `weight decay (L2 for adadelta/sgd/adam, decoupled for adamw; default ${defaultWeightDecay('adamw')} for adamw, ${defaultWeightDecay('sgd')} for the others)`, nonNegativeNumber('--weight-decay'))
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), r.momentum)
    .option('--nesterov', 'SGD with Nesterov momentum')
    .option('--beta1 <b>', 'Adam/AdamW beta1', nonNegativeNumber('--beta1'), r.beta1)
    .option('--beta2 <b>', 'Adam/AdamW beta2', nonNegativeNumber('--beta2'), r.beta2)
    .option('--scheduler <name>', `${listChoices(SCHEDULERS, r.scheduler)}; step is StepLR(1, gamma), multistep needs --milestones`, choice('--scheduler', SCHEDULERS), r.scheduler)
    .option('--gamma <g>', 'learning rate step gamma (step and multistep schedulers)', nonNegativeNumber('--gamma'), r.gamma)
    .option('--milestones <list>', 'epochs where multistep multiplies the lr by gamma, e.g. 8,12', intList('--milestones'), r.milestones)
    .option('--warmup-epochs <n>', 'linear warm-up from lr/10 over this many epochs before the schedule', nonNegativeInt('--warmup-epochs'), r.warmupEpochs)
    .option('--augment <kind>', `training augmentation: ${listChoices(AUGMENTATIONS, r.augment)}; flip+crop adds RandomCrop(32, padding=4)`, choice('--augment', AUGMENTATIONS), r.augment)
    .option('--normalize <kind>', `${listChoices(NORMALIZE_CHOICES, r.normalize)}; seed: Normalize((0.5,)*3, (0.5,)*3), dataset: the usual per-dataset mean/std`, choice('--normalize', NORMALIZE_CHOICES), r.normalize)
    .option('--fix-bn-eps', 'use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (eps n5x5)')
    .addOption(precisionOption('fp32, or bf16 mixed precision (bf16 convolutions, f32 master weights, BatchNorm statistics and loss)'))
    .optionsGroup(GROUP.data)
    .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', run.dataDir)
    .option('--mirror <url>', 'download the archives from this base URL (or archive URL / local archive) instead of the dataset authors\' site')
    .option('--workers <n>', 'data loader threads (0: prepare batches on the main thread)', nonNegativeInt('--workers'), run.workers)
    .optionsGroup(GROUP.run)
    .option('--test-batch-size <n>', 'input batch size for testing', positiveInt('--test-batch-size'), run.testBatchSize)
    .option('--checkpoint-every <minutes>', 'minutes of training between checkpoints within an epoch (a decimal number; 0: only at each epoch\'s end)', nonNegativeNumber('--checkpoint-every'), run.checkpointEvery)
    .option('--resume', 'continue from the checkpoint in --out: the last complete epoch, or within an epoch the batch after the last checkpoint')
    .option('--dry-run', 'quick check: one epoch of one training batch and one test batch (the seed still tests on the whole test set; this finishes in seconds); writes no checkpoint')
    .option('--no-cuda', 'accepted for the seed\'s command lines; this build computes on the CPU with oneDNN')
    .optionsGroup(GROUP.output)
    .option('--log-interval <n>', 'batches between training log lines', positiveInt('--log-interval'), run.logInterval)
    .option('--save-model', 'write <out>/model.safetensors (PyTorch state_dict names; model.pt with --save-format pt) at the end')
    .option('--save-format <format>', `--save-model's file: ${WEIGHTS_FORMATS.join(' or ')} (pt: model.pt for torch.load(weights_only=True))`, choice('--save-format', WEIGHTS_FORMATS), 'safetensors')
    .option('--json', 'make the last stdout line one JSON object with the results');
}

/** Parsed flags: recipe and run-option fields by name, plus the command's own. */
export type TrainFlags = Partial<Recipe> & Partial<RunOptions> & { mirror?: string; resume?: boolean; json?: boolean };

/** The configuration the flags describe (with the global --threads and --conv); what they leave unset comes from defaultConfig. */
export function configFrom(o: TrainFlags, fields: Partial<Recipe & RunOptions>, threads: number | undefined, conv: ConvChoice): TrainConfig {
  const c = configFromFlat({ ...o, ...fields, threads, conv });
  const problem = recipeProblem(c.recipe) ?? convProblem(conv, c.recipe.precision === 'bf16');
  if (problem) throw new Error(problem);
  return c;
}
