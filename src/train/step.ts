// One training step, the only one in the project: zero the gradients, forward, mean
// cross-entropy, backward, optimizer step. `train`, `step` (the PyTorch fixture's step) and the
// benchmark all call it.
import { backward } from '../autograd/engine.js';
import { crossEntropy } from '../autograd/ops.js';
import type { Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { timed } from '../util/profile.js';

/** Looks inside a step without changing it (the fixture step records logits, loss and gradients). */
export interface StepObserver {
  /** After the loss is computed; the tensors are freed when the step's scope ends. */
  afterForward?: (logits: Tensor, loss: Tensor) => void;
  /** After backward, before the optimizer changes the parameters (their .grad is set). */
  beforeUpdate?: () => void;
}

/** The batch's images as a tensor (in the current tidy scope). */
export function batchInput(b: Pick<Batch, 'input' | 'shape'>): Tensor {
  return timed('data copy', 'forward', 0, () => Tensor.fromArray(b.input, b.shape));
}

/**
 * One step on `batch`; returns the batch's mean loss. A NaN or infinite loss is returned without
 * a backward pass or an update, so the parameters stay as they were and the caller decides.
 */
export function trainStep(model: Module, optimizer: Optimizer, batch: Batch, observe: StepObserver = {}): number {
  timed('zero_grad', 'forward', 0, () => optimizer.zeroGrad());
  const loss = tidy(() => {
    const logits = model.call(batchInput(batch));
    const l = crossEntropy(logits, batch.targets);
    observe.afterForward?.(logits, l);
    const v = l.item();
    if (Number.isFinite(v)) backward(l);
    return v;
  });
  if (!Number.isFinite(loss)) return loss;
  observe.beforeUpdate?.();
  timed('optimizer', 'forward', 0, () => optimizer.step());
  return loss;
}
