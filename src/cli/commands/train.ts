// `googlenet train`: one network, its run in a folder (--out); Ctrl-C checkpoints, --resume continues.
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { saveModel } from '../../experiment/experiment.js';
import { FolderStore } from '../../store/folder.js';
import { isRefusal, workerName } from '../../store/store.js';
import { runAttempt } from '../../train/attempt.js';
import { runSpec } from '../../train/spec.js';
import { train as trainOnce } from '../../train/trainer.js';
import { display } from '../../util/display.js';
import { datasetOption, DEFAULTS, examples, globalConv, globalThreads, heartbeatOption, modelHelp, modelName } from '../args.js';
import { jsonResult, reportInterrupted, resumeCommand, stopOnSignals } from '../runs.js';
import { addTrainOptions, configFrom, GROUP, type TrainFlags } from '../train-options.js';

export const train = addTrainOptions(
  new Command('train')
    .description("train one network with the seed's recipe (Adadelta, StepLR each epoch, flip + normalise 0.5) or another; checkpoints every epoch and every --checkpoint-every minutes"),
  [new Option('--model <name>', modelHelp).argParser(modelName).default(DEFAULTS.recipe.model), datasetOption()],
).optionsGroup(GROUP.output)
  .option('--out <dir>', 'run folder for the checkpoint, run.json and saved model (default: runs/<model>-<dataset>)')
  .addOption(heartbeatOption().hideHelp())
  .addHelpText('after', examples(
    '# two epochs of a small network on 2,000 images, then its test metrics',
    'googlenet train --model googlenet-short4 --dataset cifar10 --data-dir ../shared/data --limit-train 2000 --epochs 2',
    '# another recipe; Ctrl-C checkpoints, and the same command with --resume continues',
    'googlenet train --optimizer sgd --lr 0.1 --momentum 0.9 --scheduler cosine --augment flip+crop --out runs/sgd',
    '# quiet: only the Test set: lines, warnings and errors',
    'googlenet --quiet train --dataset cifar100 --epochs 14',
  )).action(async (o: TrainFlags & { heartbeat: number }, cmd: Command) => {
    const config = configFrom(o, {}, globalThreads(cmd), globalConv(cmd));
    if (config.run.dryRun) {
      const result = await trainOnce(config, { claim: null, mirror: o.mirror });
      if (o.json) display.out(jsonResult(result));
      return;
    }
    const store = new FolderStore(config.run.out);
    const held = await store.runs();
    if (held.length && !o.resume) {
      if (fs.existsSync(store.checkpointFile)) throw new Error(`${store.checkpointFile} exists: pass --resume to continue that run, or choose another --out`);
      throw new Error(`${config.run.out} holds a run (${held[0].status}): pass --resume to continue it, or choose another --out`);
    }
    const run = await store.ensureRun(runSpec(config.recipe));
    const claim = await store.claim(run.id, { name: workerName(), heartbeat: o.heartbeat });
    if (isRefusal(claim)) {
      if (claim.refused !== 'done') throw new Error(claim.reason);
      display.info(`googlenet: ${claim.reason}; nothing to train`);
      return;
    }
    const end = await runAttempt(claim, config, { mirror: o.mirror, stop: stopOnSignals() });
    if (end.outcome === 'interrupted') return reportInterrupted(end, resumeCommand(['--resume']));
    if (end.outcome !== 'complete') throw new Error(end.error);
    if (end.result.weights) saveModel(config, end.result, (l) => display.info(l));
    if (o.json) display.out(jsonResult(end.result));
  });
