// One training step exactly as the PyTorch fixtures were made: a training-mode forward
// with dropout off, mean cross-entropy, backward, one Adadelta(lr=1.0) step, then an
// eval-mode forward of the same batch. Its output file has the fixture's names, so
// this project and PyTorch can be compared on any batch.
import { noGrad } from '../autograd/engine.js';
import { toTargets } from '../autograd/ops.js';
import type { Batch } from '../data/loader.js';
import { Dropout } from '../nn/layers.js';
import type { Module, StateDict } from '../nn/module.js';
import { Adadelta } from '../optim/optimizer.js';
import { toFloat32, type HostTensor } from '../tensor/host.js';
import { tidy } from '../tensor/tensor.js';
import { batchInput, trainStep } from './step.js';

/** Reads `input` (float NCHW) and `target` (int64 [N]) from a safetensors map; other entries are ignored. */
export function batchFromHost(file: Map<string, HostTensor>, source: string, classes: number): Batch {
  const input = file.get('input');
  const target = file.get('target');
  if (!input || !target) throw new Error(`${source}: needs tensors 'input' (float32 [N,3,H,W]) and 'target' (int64 [N])`);
  if (input.shape.length !== 4 || input.shape[1] !== 3) throw new Error(`${source}: 'input' must be [N,3,H,W], got [${input.shape.join(', ')}]`);
  if (target.shape.length !== 1 || target.shape[0] !== input.shape[0])
    throw new Error(`${source}: 'target' must be [${input.shape[0]}], got [${target.shape.join(', ')}]`);
  const targets = toTargets(target.dtype === 'I64' ? (target.data as BigInt64Array) : Array.from(toFloat32(target)));
  const bad = targets.findIndex((t) => !(t >= 0 && t < classes));
  if (bad >= 0) throw new Error(`${source}: target[${bad}] = ${targets[bad]} is out of range for ${classes} classes`);
  return { epoch: 0, index: 0, input: toFloat32(input), shape: [...input.shape], targets, size: input.shape[0] };
}

/** Runs the step on `model` (changing it) and returns the fixture-named results plus the after-step state dict. */
export function referenceStep(model: Module, batch: Batch): StateDict {
  const out: StateDict = new Map();
  const dropouts = model.namedModules().filter(([, m]) => m instanceof Dropout).map(([, m]) => m as Dropout);
  const saved = dropouts.map((d) => d.p);
  dropouts.forEach((d) => (d.p = 0));
  const optimizer = new Adadelta(model.parameters(), { lr: 1.0 });
  try {
    model.train();
    const loss = trainStep(model, optimizer, batch, {
      afterForward: (logits, l) => {
        out.set('train_logits', logits.toHost());
        out.set('loss', l.toHost());
      },
      beforeUpdate: () => {
        for (const [name, p] of model.namedParameters()) out.set(`grad.${name}`, p.grad!.toHost());
      },
    });
    if (!Number.isFinite(loss)) throw new Error(`the step's loss is ${loss}; no gradients to write`);
    model.eval();
    tidy(() => noGrad(() => out.set('eval_logits_after_step', model.call(batchInput(batch)).toHost())));
    for (const [name, t] of model.stateDict()) out.set(name, t);
  } finally {
    dropouts.forEach((d, i) => (d.p = saved[i]));
    optimizer.dispose();
    model.zeroGrad();
  }
  return out;
}
