// Checkpoints: one safetensors file per run holding the model (`model.<PyTorch name>`), the
// optimizer state (`optimizer.<param index>.<buffer>`) and, as JSON in the metadata, everything
// else a bit-exact resume needs: epoch, config, scheduler, RNG state, history, thread count.
// Written atomically (temp file + rename) after each complete epoch, so the file on disk is
// always the last good epoch.
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../io/safetensors.js';
import type { StateDict } from '../nn/module.js';
import type { HostTensor } from '../tensor/host.js';
import type { OptimizerState } from '../optim/optimizer.js';
import type { SchedulerState } from '../optim/lr_scheduler.js';
import type { TrainConfig } from './config.js';

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  test_loss: number;
  top1_error: number;
  top5_error: number;
  lr: number;
  seconds: number;
}

export interface CheckpointMeta {
  version: 1;
  /** Epochs completed (1-based count). */
  epoch: number;
  config: TrainConfig;
  threads: number;
  params: number;
  history: EpochRecord[];
  rng: number[];
  scheduler: SchedulerState;
}

export interface Checkpoint {
  model: StateDict;
  optimizer: OptimizerState;
  meta: CheckpointMeta;
}

const META_KEY = 'googlenet.checkpoint';

export function saveCheckpoint(file: string, c: Checkpoint): void {
  const tensors = new Map<string, HostTensor>();
  for (const [k, v] of c.model) tensors.set(`model.${k}`, v);
  for (const [k, v] of c.optimizer.tensors) tensors.set(`optimizer.${k}`, v);
  writeSafetensors(file, tensors, { format: 'pt', [META_KEY]: JSON.stringify({ ...c.meta, optimizer: c.optimizer.meta }) });
}

export function loadCheckpoint(file: string): Checkpoint {
  const raw = readSafetensorsMetadata(file)[META_KEY];
  if (!raw) throw new Error(`${file}: not a googlenet checkpoint (no '${META_KEY}' metadata); delete it or point --out elsewhere`);
  const { optimizer, ...meta } = JSON.parse(raw) as CheckpointMeta & { optimizer: OptimizerState['meta'] };
  if (meta.version !== 1) throw new Error(`${file}: checkpoint version ${meta.version} is not supported`);
  const model: StateDict = new Map();
  const optTensors = new Map<string, HostTensor>();
  for (const [k, v] of readSafetensors(file)) {
    if (k.startsWith('model.')) model.set(k.slice(6), v);
    else if (k.startsWith('optimizer.')) optTensors.set(k.slice(10), v);
  }
  return { model, optimizer: { tensors: optTensors, meta: optimizer }, meta };
}
