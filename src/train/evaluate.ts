// The seed's test(): average loss, top-1 and top-5 error over a loader, and its log line.
import { noGrad } from '../autograd/engine.js';
import { crossEntropy, topk } from '../autograd/ops.js';
import type { DataLoader } from '../data/loader.js';
import type { GoogLeNet } from '../models/googlenet.js';
import { tidy } from '../tensor/tensor.js';
import { batchInput } from './step.js';

/** One evaluation; also the object `googlenet test --json` prints. */
export interface EvalResult {
  loss: number;
  top1_error: number;
  top5_error: number;
  n: number;
}

/** Eval mode, no gradients, summed over every image of the loader (or its first `maxBatches`); `onBatch` after each batch (a progress bar). */
export async function evaluate(model: GoogLeNet, loader: DataLoader, maxBatches = Infinity, onBatch?: (done: number, batches: number, size: number) => void): Promise<EvalResult> {
  model.eval();
  let loss = 0, wrong1 = 0, wrong5 = 0, n = 0;
  const k = Math.min(5, model.numClasses);
  for await (const b of loader.epoch(0)) {
    if (b.index >= maxBatches) break;
    const { sum, best } = tidy(() => noGrad(() => {
      const logits = model.call(batchInput(b));
      return { sum: crossEntropy(logits, b.targets, 'sum').item(), best: topk(logits, k) };
    }));
    loss += sum;
    for (let i = 0; i < b.size; i++) {
      const row = best.subarray(i * k, i * k + k);
      if (row[0] !== b.targets[i]) wrong1++;
      if (!row.includes(b.targets[i])) wrong5++;
    }
    n += b.size;
    onBatch?.(b.index + 1, Math.min(loader.length, maxBatches), b.size);
  }
  return { loss: loss / n, top1_error: wrong1 / n, top5_error: wrong5 / n, n };
}

/** The seed's line: `Test set: Average loss: …, Top 1 Error: w/n (e), Top 5 Error: w/n (e)`, blank lines around (`Validation set:` for a hold-out). */
export function testLine(r: EvalResult, set: 'Test' | 'Validation' = 'Test'): string {
  const wrong1 = Math.round(r.top1_error * r.n), wrong5 = Math.round(r.top5_error * r.n);
  return `\n${set} set: Average loss: ${r.loss.toFixed(4)}, Top 1 Error: ${wrong1}/${r.n} (${r.top1_error.toFixed(2)}), Top 5 Error: ${wrong5}/${r.n} (${r.top5_error.toFixed(2)})\n`;
}
