// The `googlenet` command line. Every failure is one line on stderr and a non-zero exit.
import { Command, InvalidArgumentError } from 'commander';
import { createModel, modelNames } from '../models/googlenet.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { batchFromHost, referenceStep } from '../train/reference-step.js';
import { backend } from '../tensor/tensor.js';
import { formatSummary, summarize } from '../models/summary.js';
import { VARIANTS } from '../models/googlenet.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

function modelName(v: string): string {
  if (!modelNames().includes(v)) throw new InvalidArgumentError(`unknown model '${v}'; choose one of: ${modelNames().join(', ')}`);
  return v;
}

const program = new Command('googlenet')
  .description('Train and study GoogLeNet (Inception v1) and its variants on CIFAR, on oneDNN')
  .option('--threads <n>', 'compute threads (default: all cores)', positiveInt('--threads'))
  .hook('preAction', (cmd) => {
    const threads = cmd.opts().threads as number | undefined;
    if (threads) backend().setThreads(threads);
  })
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(`googlenet: ${str.replace(/^error: /, '').trim()}\n`) });

program
  .command('step')
  .description('one training step as PyTorch fixtures are made (train-mode forward with dropout off, loss, gradients, one Adadelta(lr=1.0) step, eval-mode forward), written to one safetensors file')
  .requiredOption('--weights <file>', 'state dict (safetensors, PyTorch names)')
  .requiredOption('--input <file>', "batch (safetensors with 'input' float32 NCHW and 'target' int64)")
  .requiredOption('--out <file>', 'results: train_logits, loss, grad.<name>, eval_logits_after_step and the after-step state dict')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), 100)
  .option('--fix-bn-eps', "use eps 1e-5 in the BatchNorm the seed builds as BatchNorm2d(n5x5, n5x5) (its eps is n5x5 by default, as in the seed)")
  .action((o: { weights: string; input: string; out: string; model: string; classes: number; fixBnEps?: boolean }) => {
    const model = createModel(o.model, o.classes, { fixBatchNormEps: !!o.fixBnEps });
    model.loadStateDict(readSafetensors(o.weights), o.weights);
    const batch = batchFromHost(readSafetensors(o.input), o.input, o.classes);
    const results = referenceStep(model, batch);
    writeSafetensors(o.out, results, { format: 'pt', producer: 'googlenet step', model: o.model });
    console.log(`${o.out}: loss ${(results.get('loss')!.data as Float32Array)[0].toFixed(6)}, ${results.size} tensors`);
    batch.input.dispose();
    model.dispose();
  });

program
  .command('summary')
  .description('every layer of a network (output shape, parameters, multiply-accumulates for one 32x32 image), totals, and each Inception module beside its naive version')
  .option('--model <name>', `network (${modelNames().join(', ')})`, modelName, 'googlenet')
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), 100)
  .option('--json', 'print one JSON object {model, classes, params, macs, layers, modules}')
  .action((o: { model: string; classes: number; json?: boolean }) => {
    const model = createModel(o.model, o.classes);
    const s = summarize(model, o.model);
    model.dispose();
    console.log(o.json ? JSON.stringify(s) : formatSummary(s, VARIANTS[o.model].note));
  });

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exitCode = e.exitCode ?? 1;
  } else {
    process.stderr.write(`googlenet: ${e.message ?? String(err)}\n`);
    if (process.env.GOOGLENET_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
