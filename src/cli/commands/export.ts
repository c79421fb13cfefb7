// `googlenet export`: a network's weights as ONNX or a state dict, from a weights file or a run's checkpoint.
import { Command, Option } from 'commander';
import type { DatasetName } from '../../data/cifar.js';
import { writeOnnxFile } from '../../io/onnx.js';
import { EXPORT_FORMATS, exportFormatOfName, writeWeightsFile, type ExportFormat } from '../../io/weights.js';
import { classesOfWeights, createModel, modelNames } from '../../models/googlenet.js';
import { toOnnx } from '../../models/onnx-export.js';
import type { StateDict } from '../../nn/module.js';
import { networkHash, type Network } from '../../models/network.js';
import { openStore } from '../../store/open.js';
import { readWeights } from '../../train/checkpoint.js';
import { classCount, DATASET_NAMES, networkOfRecipe } from '../../train/config.js';
import { display } from '../../util/display.js';
import { runLabel, selectorOptions, selectRun, type RunSelector } from '../select.js';
import { choice, listChoices, modelHelp, modelName, positiveInt, storeOption, storeUrl, VERSION } from '../args.js';

/** Options of export's weights-file form (--model, --weights): the weights decide the class count, these must agree. */
interface ExportOptions {
  store?: string; out: string; format?: ExportFormat; weights?: string; model?: string;
  classes?: number; dataset?: DatasetName; coarse?: boolean; fixBnEps?: boolean;
}

/**
 * Writes `sd` (the weights of `network` for `classes` classes) to `out` as `format`; first loads them
 * into the network, so weights of another network or shape are refused before anything is written.
 * Returns the network's name.
 */
function writeExport(out: string, format: ExportFormat, network: string | Network, classes: number, fixBnEps: boolean, sd: StateDict, source: string, metadata: Record<string, string>): string {
  const net = createModel(network, classes, { fixBatchNormEps: fixBnEps });
  const model = net.network.name;
  try {
    net.loadStateDict(sd, source);
    if (format === 'onnx') writeOnnxFile(out, toOnnx(net.eval(), { model, producerVersion: VERSION, metadata: { ...metadata, fix_bn_eps: String(fixBnEps), network_sha256: networkHash(net.network) } }));
    else writeWeightsFile(out, sd, format, { format: 'pt', model, ...metadata });
    return model;
  } finally {
    net.dispose();
  }
}

/** The weights-file form: --model and --weights. */
function exportWeightsFile(o: ExportOptions & { weights: string }, format: ExportFormat): void {
  if (!o.model) throw new Error(`export --weights needs --model (${modelNames().join(', ')}, or a network file)`);
  const sd = readWeights(o.weights, (l) => display.info(l));
  const classes = classesOfWeights(sd, o.weights);
  if (o.classes !== undefined && o.classes !== classes) throw new Error(`${o.weights} holds a classifier for ${classes} classes, not --classes ${o.classes}`);
  if (o.coarse && o.dataset !== 'cifar100') throw new Error('--coarse is for --dataset cifar100');
  if (o.dataset && classCount({ dataset: o.dataset, coarse: !!o.coarse }) !== classes)
    throw new Error(`${o.weights} holds a classifier for ${classes} classes, not the ${classCount({ dataset: o.dataset, coarse: !!o.coarse })} of ${o.dataset}${o.coarse ? ' --coarse' : ''}`);
  const name = writeExport(o.out, format, o.model, classes, !!o.fixBnEps, sd, o.weights, o.dataset ? { dataset: o.dataset, coarse: String(!!o.coarse) } : {});
  display.info(`wrote ${o.out}: ${name} for ${classes} classes (${format})`);
}

/** The store form: MODEL DATASET (--seed, --val where several) or --run ID, the run's current checkpoint with its own recipe. */
async function exportRun(sel: RunSelector, o: ExportOptions, format: ExportFormat): Promise<void> {
  const store = await openStore(storeUrl(o), { existing: true });
  try {
    const run = await selectRun(store, sel);
    const name = runLabel(run, await store.runs());
    const c = await store.checkpoint(run.id);
    if (!c) throw new Error(`${store.url}: ${name} has no checkpoint yet (it is ${run.status})`);
    const at = c.meta.position ? `epoch ${c.meta.position.epoch}, batch ${c.meta.position.batches}` : `${c.meta.epoch} epochs`;
    const r = c.meta.recipe;
    writeExport(o.out, format, networkOfRecipe(r), classCount(r), r.fixBnEps, c.model, `${store.url}'s ${name}`, { dataset: run.dataset, coarse: String(r.coarse), seed: String(r.seed), val: String(r.val) });
    display.info(`wrote ${o.out}: ${name} after ${at} (${run.status}, ${format})`);
  } finally {
    await store.close();
  }
}

export const exportCommand = new Command('export')
  .description("a network's weights as an ONNX model (the eval-mode graph, opset 13, dynamic batch) or a state dict with PyTorch names: from a weights file (--model, --weights), or a run's current checkpoint in a store (MODEL DATASET)")
  .argument('[model]', `the store form: ${modelHelp}`)
  .argument('[dataset]', `the store form: ${listChoices(DATASET_NAMES)}`)
  .addOption(storeOption())
  .addOption(selectorOptions()[0]!).addOption(selectorOptions()[1]!).addOption(selectorOptions()[2]!)
  .requiredOption('--out <file>', 'the file to write')
  .addOption(new Option('--format <format>', `${listChoices(EXPORT_FORMATS)} (default: by --out's name: .onnx, .pt/.pth, else safetensors)`).argParser(choice('--format', EXPORT_FORMATS)))
  .option('--weights <file>', 'the weights-file form: a state dict or training checkpoint (safetensors or .pt/.pth, told apart by content)')
  .option('--model <name>', `the weights-file form: ${modelHelp}`, modelName)
  .option('--classes <n>', "the weights-file form: the weights' class count (default: their classifier's rows; another count is refused)", positiveInt('--classes'))
  .addOption(new Option('--dataset <name>', `the weights-file form: the dataset the weights were trained on (${listChoices(DATASET_NAMES)}), kept in the ONNX metadata; its class count must be the weights'`).argParser(choice('--dataset', DATASET_NAMES)))
  .option('--coarse', "the weights-file form: CIFAR-100's 20 superclasses (with --dataset cifar100)")
  .option('--fix-bn-eps', 'the weights-file form: eps 1e-5 in the quirky BatchNorm (for weights trained that way; the store form takes it from the recipe)')
  .addHelpText('after', '\nExamples:\n  googlenet export --model googlenet --weights model.safetensors --out model.onnx\n  googlenet export googlenet cifar100 --store sqlite:runs.db --format onnx --out model.onnx')
  .action(async (model: string | undefined, dataset: string | undefined, o: ExportOptions & Omit<RunSelector, 'model' | 'dataset'>) => {
    const format = o.format ?? exportFormatOfName(o.out);
    if (o.weights !== undefined) {
      if (model !== undefined || o.store !== undefined || o.run !== undefined) throw new Error('export takes either --model and --weights (a weights file) or MODEL DATASET [--store URL] (a run in a store), not both');
      return exportWeightsFile({ ...o, weights: o.weights }, format);
    }
    const weightsOnly = (['model', 'classes', 'dataset', 'coarse', 'fixBnEps'] as const).filter((k) => o[k] !== undefined);
    if (weightsOnly.length) throw new Error(`${weightsOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: only with --weights (a weights file); a run in a store brings its own recipe`);
    if ((!model || !dataset) && o.run === undefined) throw new Error('export needs --model and --weights (a weights file), or MODEL DATASET or --run ID (a run in a store)');
    await exportRun({ model, dataset, seed: o.seed, val: o.val, run: o.run }, o, format);
  });
