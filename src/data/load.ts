// The splits a run reads: the dataset downloaded when missing, then each split read with its limit.
import { cifarFolders, readCifar, type CifarSplit, type DatasetName } from './cifar.js';
import { ensureDataset } from './download.js';
import { display } from '../util/display.js';

export interface DataRequest {
  dataset: DatasetName;
  dataDir: string;
  limitTrain: number | null;
  limitTest: number | null;
  coarse?: boolean;
  mirror?: string | null;
  /** Where a limit above the data's size is reported (stderr by default). */
  warn?: (line: string) => void;
  /** Where a status line (a python folder ignored for the binary one) goes (stderr by default). */
  info?: (line: string) => void;
}

/** Loads (downloading if needed) the asked splits with their limits; a split not asked for is null. */
export async function loadData(r: DataRequest, splits: ('train' | 'test')[] = ['train', 'test']): Promise<{ train: CifarSplit | null; test: CifarSplit | null }> {
  if (r.coarse && r.dataset !== 'cifar100') throw new Error('--coarse needs --dataset cifar100 (CIFAR-10 has no superclasses)');
  await ensureDataset(r.dataset, r.dataDir, { mirror: r.mirror ?? undefined });
  const { used, ignored } = cifarFolders(r.dataDir, r.dataset);
  if (ignored) (r.info ?? ((l: string) => display.info(l)))(`reading ${used}; ${ignored} (torchvision's copy) is ignored`);
  const read = (split: 'train' | 'test', limit: number | null) => {
    const data = readCifar(r.dataDir, r.dataset, split, { coarse: !!r.coarse, ...(limit === null ? {} : { limit }) });
    if (limit !== null && data.count < limit)
      (r.warn ?? ((l: string) => display.warn(l)))(`googlenet: --limit-${split} ${limit} is more than the ${data.count} ${split} images of ${r.dataset} in ${r.dataDir}; using all ${data.count}`);
    return data;
  };
  return {
    train: splits.includes('train') ? read('train', r.limitTrain) : null,
    test: splits.includes('test') ? read('test', r.limitTest) : null,
  };
}

export type Splits = { train: CifarSplit; test: CifarSplit };

/**
 * Both splits of each distinct request (dataset, limits, coarse) read once, for the runs an
 * experiment or a worker trains one after another; a request that failed is tried again next time.
 */
export class SplitCache {
  private readonly loaded = new Map<string, Splits>();

  constructor(private readonly dataDir: string, private readonly mirror?: string | null) {}

  async get(r: Pick<DataRequest, 'dataset' | 'limitTrain' | 'limitTest' | 'coarse'>): Promise<Splits> {
    const key = JSON.stringify([r.dataset, r.limitTrain, r.limitTest, !!r.coarse]);
    let splits = this.loaded.get(key);
    if (!splits) {
      const d = await loadData({ ...r, dataDir: this.dataDir, mirror: this.mirror });
      splits = { train: d.train!, test: d.test! };
      this.loaded.set(key, splits);
    }
    return splits;
  }
}
