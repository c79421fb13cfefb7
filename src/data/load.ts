// The splits a run reads: the dataset downloaded when missing, then each split read with its limit.
import { readCifar, type CifarSplit, type DatasetName } from './cifar.js';
import { ensureDataset } from './download.js';

export interface DataRequest {
  dataset: DatasetName;
  dataDir: string;
  limitTrain: number | null;
  limitTest: number | null;
  coarse?: boolean;
  mirror?: string | null;
}

/** Loads (downloading if needed) the asked splits with their limits; a split not asked for is null. */
export async function loadData(r: DataRequest, splits: ('train' | 'test')[] = ['train', 'test']): Promise<{ train: CifarSplit | null; test: CifarSplit | null }> {
  if (r.coarse && r.dataset !== 'cifar100') throw new Error('--coarse needs --dataset cifar100 (CIFAR-10 has no superclasses)');
  await ensureDataset(r.dataset, r.dataDir, { mirror: r.mirror ?? undefined });
  const read = (split: 'train' | 'test', limit: number | null) => readCifar(r.dataDir, r.dataset, split, { coarse: !!r.coarse, ...(limit === null ? {} : { limit }) });
  return {
    train: splits.includes('train') ? read('train', r.limitTrain) : null,
    test: splits.includes('test') ? read('test', r.limitTest) : null,
  };
}
