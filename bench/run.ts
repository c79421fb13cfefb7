// `npm run bench`: the project's benchmarks in one run, with the machine named. Ratios are
// measured within this process (noise cancels); absolute numbers are for this machine only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCifar, type CifarSplit } from '../src/data/cifar.js';
import { benchLoader, benchTrainStep, describeMachine, syntheticSplit } from '../src/bench/bench.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${describeMachine()}; Node ${process.version}`;
}

function realData(): CifarSplit | null {
  for (const dir of [path.join(root, '..', 'shared', 'data'), path.join(root, 'data')]) {
    if (fs.existsSync(path.join(dir, 'cifar-10-batches-bin'))) return readCifar(dir, 'cifar10', 'train');
  }
  return null;
}

const args = new Set(process.argv.slice(2));
console.log(`machine: ${machine()}`);
const data = realData() ?? syntheticSplit(10000);
console.log(`data: ${data.files.length ? data.files.map((f) => f.file).join(', ') : 'synthetic images'} (${data.count} images)`);

console.log('\n== data loader (batch 64, RandomCrop(32, 4) + RandomHorizontalFlip + Normalize) ==');
for (const workers of [0, 1, 2]) {
  const r = await benchLoader(data, workers);
  console.log(`workers ${workers}: ${r.images_per_s.toFixed(0)} images/s`);
}

if (!args.has('--loader-only')) {
  const model = 'googlenet';
  console.log(`\n== training step, ${model}, batch 64, fp32: batches in memory vs fed by the loader (1 worker thread) ==`);
  const s = await benchTrainStep(model, 64, data);
  console.log(`in memory:   ${s.in_memory_ms.toFixed(0)} ms/step (${s.train_img_per_s.toFixed(1)} images/s)`);
  console.log(`with loader: ${s.with_loader_ms.toFixed(0)} ms/step (ratio ${s.ratio.toFixed(3)}; target ≤ 1.03)`);
  console.log(`eval forward: ${s.eval_img_per_s.toFixed(1)} images/s`);
}
