// Checkpoints: one safetensors file per run holding the model (`model.<PyTorch name>`), the
// optimizer state (`optimizer.<param index>.<buffer>`) and, as JSON in the metadata, everything
// else a bit-exact resume needs: epoch, recipe, run options, scheduler, RNG state, history,
// thread count, and within an epoch where it stopped. Written atomically (temp file + rename) at
// each epoch's end and every few minutes within one, so the file on disk is always a good state.
import { readFileBytes, writeFileAtomic } from '../io/disk.js';
import { encodeSafetensors, parseSafetensors, readSafetensors, readSafetensorsMetadata, safetensorsMetadata } from '../io/safetensors.js';
import { parseWeights, sniffWeights } from '../io/weights.js';
import type { Module, StateDict } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { SchedulerState } from '../optim/lr_scheduler.js';
import type { HostTensor } from '../tensor/host.js';
import { configFromFlat, withNetwork, type Recipe, type RunOptions } from './config.js';
import type { EpochRecord } from './record.js';

/** 3: the recipe holds its network (versions 1 and 2 name one of the seven, and are read as such). */
export const CHECKPOINT_VERSION = 3;

/** Where within an epoch a mid-epoch checkpoint was taken: what a resume at the next batch needs. */
export interface EpochPosition {
  /** The epoch in progress (1-based). */
  epoch: number;
  /** Batches of it trained: the resume starts at this batch index. */
  batches: number;
  /** Sum of the batches' losses times their sizes, and the images they held (the epoch's mean so far). */
  lossSum: number;
  seen: number;
  /** Wall time of the epoch so far. */
  seconds: number;
}

export interface CheckpointMeta {
  version: typeof CHECKPOINT_VERSION;
  /** Epochs completed (1-based count). */
  epoch: number;
  /** Set in a mid-epoch checkpoint: the progress of epoch `epoch + 1`. */
  position?: EpochPosition;
  recipe: Recipe;
  run: RunOptions;
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

/** The checkpoint as safetensors bytes, in parts (see encodeSafetensors). */
export function encodeCheckpoint(c: Checkpoint, nameForErrors = 'checkpoint'): Uint8Array[] {
  const tensors = new Map<string, HostTensor>();
  for (const [k, v] of c.model) tensors.set(`model.${k}`, v);
  for (const [k, v] of c.optimizer.tensors) tensors.set(`optimizer.${k}`, v);
  return encodeSafetensors(tensors, { format: 'pt', [META_KEY]: JSON.stringify({ ...c.meta, optimizer: c.optimizer.meta }) }, nameForErrors);
}

/** Room for a checkpoint's header beyond its tensors: their index (about 100 bytes a tensor) and the JSON metadata, whose history grows. */
const HEADER_MARGIN = 1 << 20;

/** The size of the checkpoints this model and optimizer write, known before one is: what a free-space check asks for. */
export function checkpointBytes(model: Module, optimizer: Optimizer): number {
  return model.stateBytes() + optimizer.stateBytes() + HEADER_MARGIN;
}

export function saveCheckpoint(file: string, c: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(c, file));
}

/** Version 1 kept one flat config and snake_case epoch records; the rest is as in version 2 (whose recipe has no network). */
interface MetaV1 {
  version: 1;
  config: Record<string, unknown>;
  history: { epoch: number; train_loss: number; test_loss: number; top1_error: number; top5_error: number; lr: number; seconds: number }[];
}

function upgrade(meta: MetaV1 & Omit<CheckpointMeta, 'version' | 'recipe' | 'run' | 'history'>): CheckpointMeta {
  const { config, history, ...rest } = meta;
  return {
    ...rest, ...configFromFlat(config), version: CHECKPOINT_VERSION,
    history: history.map((e) => ({
      epoch: e.epoch, trainLoss: e.train_loss, testLoss: e.test_loss, top1Error: e.top1_error, top5Error: e.top5_error, lr: e.lr, seconds: e.seconds, finishedAt: '',
    })),
  };
}

export function loadCheckpoint(file: string): Checkpoint {
  const raw = readSafetensorsMetadata(file)[META_KEY];
  if (!raw) throw new Error(`${file}: not a googlenet checkpoint (no '${META_KEY}' metadata); delete it or point --out elsewhere`);
  return fromTensors(raw, readSafetensors(file), file);
}

/**
 * The weights in `file`, by its content: a state dict (safetensors or torch.save, PyTorch names),
 * the model of one of our training checkpoints (its `model.` tensors), or of a PyTorch checkpoint
 * dict (see src/io/torch.ts); `info` hears how they were found (a stripped prefix, …).
 */
export function readWeights(file: string, info?: (line: string) => void): StateDict {
  const bytes = readFileBytes(file);
  if (sniffWeights(bytes) === 'safetensors' && safetensorsMetadata(bytes)[META_KEY]) return decodeCheckpoint(bytes, file).model;
  return parseWeights(bytes, file, info);
}

/** A checkpoint from its safetensors bytes (as a store keeps them); `name` names it in errors. */
export function decodeCheckpoint(data: Uint8Array, name: string): Checkpoint {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tensors = parseSafetensors(bytes, name);
  const n = Number(bytes.readBigUInt64LE(0));
  const raw = (JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__?.[META_KEY];
  if (!raw) throw new Error(`${name}: not a googlenet checkpoint (no '${META_KEY}' metadata)`);
  return fromTensors(raw, tensors, name);
}

function fromTensors(raw: string, tensors: Map<string, HostTensor>, name: string): Checkpoint {
  const { optimizer, ...stored } = JSON.parse(raw) as (CheckpointMeta | Parameters<typeof upgrade>[0]) & { optimizer: OptimizerState['meta'] };
  const version = (stored as { version: unknown }).version;
  if (version !== 1 && version !== 2 && version !== CHECKPOINT_VERSION)
    throw new Error(`${name}: checkpoint version ${String(version)} is not supported (this build reads 1 to ${CHECKPOINT_VERSION}); resume it with the build that wrote it`);
  const meta = stored.version === 1 ? upgrade(stored) : { ...stored, version: CHECKPOINT_VERSION as typeof CHECKPOINT_VERSION, recipe: withNetwork(stored.recipe) };
  const model: StateDict = new Map();
  const optTensors = new Map<string, HostTensor>();
  for (const [k, v] of tensors) {
    if (k.startsWith('model.')) model.set(k.slice(6), v);
    else if (k.startsWith('optimizer.')) optTensors.set(k.slice(10), v);
  }
  return { model, optimizer: { tensors: optTensors, meta: optimizer }, meta };
}
