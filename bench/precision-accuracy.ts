// `npm run bench:accuracy`: does bf16 mixed precision reach the accuracy of f32? Trains a small
// variant on a real CIFAR-10 subset with the seed's recipe, three seeds per precision, and
// compares the mean final top-1 error (target: within 0.02).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCifar } from '../src/data/cifar.js';
import { configFromFlat } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.argv[2] ?? path.join(root, '..', 'shared', 'data');
const model = 'googlenet-short4', trainN = 5000, testN = 2000, epochs = 3;
const data = { train: readCifar(dataDir, 'cifar10', 'train', { limit: trainN }), test: readCifar(dataDir, 'cifar10', 'test', { limit: testN }) };
console.log(`${model}, CIFAR-10 (${dataDir}): first ${trainN} training images, ${epochs} epochs, the seed's recipe; top-1 error on the first ${testN} test images`);
const errors: Record<string, number[]> = { fp32: [], bf16: [] };
for (const seed of [1, 2, 3])
  for (const precision of ['fp32', 'bf16'] as const) {
    const c = configFromFlat({ model, dataset: 'cifar10', seed, precision, epochs, dataDir, limitTrain: trainN, limitTest: testN, testBatchSize: 100,
      out: path.join(os.tmpdir(), `gn-acc-${process.pid}-${seed}-${precision}`) });
    const t0 = performance.now();
    const r = await train(c, { claim: null, data }, { log: () => {}, info: () => {}, progress: false });
    const last = r.epochs.at(-1)!;
    errors[precision].push(last.top1Error!);
    console.log(`seed ${seed} ${precision}: top-1 error ${last.top1Error!.toFixed(4)}, top-5 ${last.top5Error!.toFixed(4)}, train loss ${last.trainLoss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const diff = Math.abs(mean(errors.fp32) - mean(errors.bf16));
console.log(`mean top-1 error: fp32 ${mean(errors.fp32).toFixed(4)}, bf16 ${mean(errors.bf16).toFixed(4)}; difference ${diff.toFixed(4)} (target ≤ 0.02)`);
