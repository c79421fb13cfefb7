// Readers for the official CIFAR binary formats (the contents of cifar-10-binary.tar.gz
// and cifar-100-binary.tar.gz). A record is the label byte(s) then 3072 pixel bytes: the
// R, G and B planes, each 32x32 row-major. Any whole number of records is accepted, so
// subsets read too; the count read is reported. torchvision's folders of Python pickles
// (cifar-10-batches-py/, cifar-100-python/; `download --format python` fetches them) are read
// when the binary folder is absent.
import fs from 'node:fs';
import path from 'node:path';
import { metaNames, parseCifarBatch, unpickleCifar, type CifarBatch } from '../io/cifar-pickle.js';
import { readFileBytes } from '../io/disk.js';

export type DatasetName = 'cifar10' | 'cifar100';
export type Split = 'train' | 'test';

/** The two forms each dataset is published in: the authors' binary files, and their Python pickles (torchvision's folders). */
export const FORMATS = ['binary', 'python'] as const;
export type DataFormat = (typeof FORMATS)[number];

export const IMAGE_BYTES = 3 * 32 * 32;

export interface DatasetInfo {
  /** As the seed's tables and our plots title it. */
  title: string;
  folder: string;
  labelBytes: number;
  classes: number;
  coarseClasses?: number;
  files: Record<Split, string[]>;
  /** Records of the official splits (a folder may hold a subset). */
  records: Record<Split, number>;
  classNamesFile: string;
  coarseNamesFile?: string;
  /** torchvision's folder of Python pickles, read when the binary folder is absent. */
  python: {
    folder: string;
    files: Record<Split, string[]>;
    meta: string;
    /** The label lists: the fine (or only) labels, then CIFAR-100's coarse ones. */
    labelKey: string;
    coarseLabelKey?: string;
    namesKey: string;
    coarseNamesKey?: string;
  };
}

/** The two datasets, in the seed's order (its CIFAR-100 table comes first). */
export const DATASETS: Record<DatasetName, DatasetInfo> = {
  cifar100: {
    title: 'CIFAR-100',
    folder: 'cifar-100-binary',
    labelBytes: 2,
    classes: 100,
    coarseClasses: 20,
    files: { train: ['train.bin'], test: ['test.bin'] },
    records: { train: 50000, test: 10000 },
    classNamesFile: 'fine_label_names.txt',
    coarseNamesFile: 'coarse_label_names.txt',
    python: {
      folder: 'cifar-100-python', files: { train: ['train'], test: ['test'] }, meta: 'meta',
      labelKey: 'fine_labels', coarseLabelKey: 'coarse_labels', namesKey: 'fine_label_names', coarseNamesKey: 'coarse_label_names',
    },
  },
  cifar10: {
    title: 'CIFAR-10',
    folder: 'cifar-10-batches-bin',
    labelBytes: 1,
    classes: 10,
    files: { train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'], test: ['test_batch.bin'] },
    records: { train: 50000, test: 10000 },
    classNamesFile: 'batches.meta.txt',
    python: {
      folder: 'cifar-10-batches-py',
      files: { train: ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'], test: ['test_batch'] },
      meta: 'batches.meta', labelKey: 'labels', namesKey: 'label_names',
    },
  },
};

/** Bytes of one record: the label byte(s), then the image. */
export function recordBytes(dataset: DatasetName): number {
  return DATASETS[dataset].labelBytes + IMAGE_BYTES;
}

/** Whether a file of `size` bytes holds one or more whole records of this dataset. */
export function wholeRecords(dataset: DatasetName, size: number): boolean {
  return size > 0 && size % recordBytes(dataset) === 0;
}

/**
 * The first record in `buf` (whole records, numbered from `first`) with a label out of range,
 * as a message, or null. CIFAR-100 records hold the coarse label, then the fine one; both are checked.
 */
export function labelProblem(dataset: DatasetName, buf: Uint8Array, first = 0): string | null {
  const info = DATASETS[dataset];
  const bytes = recordBytes(dataset);
  const ranges = info.coarseClasses === undefined ? [info.classes] : [info.coarseClasses, info.classes];
  for (let at = 0, record = first; at + bytes <= buf.length; at += bytes, record++)
    for (let k = 0; k < ranges.length; k++)
      if (buf[at + k] >= ranges[k]) return `record ${record} has label ${buf[at + k]}, out of range for ${ranges[k]} classes`;
  return null;
}

/** Images as bytes (N × 3072, CHW per image) and their labels. */
export interface CifarSplit {
  dataset: DatasetName;
  split: Split;
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  classes: number;
  classNames: string[];
  /** The files read, with their record counts. */
  files: { file: string; records: number }[];
}

export interface ReadOptions {
  /** CIFAR-100 only: the 20 superclasses instead of the 100 classes. */
  coarse?: boolean;
  /** Read only the first N records (over the files in order). */
  limit?: number;
  /** Read this form's folder; default: the one cifarFolders picks. */
  format?: DataFormat;
}

/** The names in a class-names file: one per non-empty line. */
export function parseClassNames(text: string): string[] {
  return text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

/** The class names of a names file; numbers when the file is absent. */
function readClassNames(file: string, expected: number): string[] {
  if (!fs.existsSync(file)) return Array.from({ length: expected }, (_, i) => String(i));
  const names = parseClassNames(fs.readFileSync(file, 'utf8'));
  if (names.length !== expected) throw new Error(`${file}: ${names.length} class names, expected ${expected}`);
  return names;
}

/**
 * Reads one split from `<root>/<dataset folder>/`. CIFAR-10's training files that are
 * absent are skipped (subsets hold data_batch_1 only); at least one file must exist.
 */
export function readCifar(root: string, dataset: DatasetName, split: Split, opts: ReadOptions = {}): CifarSplit {
  const info = DATASETS[dataset];
  const dir = path.join(root, info.folder);
  const { used } = cifarFolders(root, dataset);
  if (opts.format === 'python' || (opts.format === undefined && used && used !== dir)) return readCifarPython(root, dataset, split, opts);
  if (!fs.existsSync(dir))
    throw new Error(`${dir}: no such folder; run \`googlenet download --dataset ${dataset} --data-dir ${root}\` (torchvision's ${info.python.folder}/ is read too)`);
  if (opts.coarse && !info.coarseClasses) throw new Error(`${dataset} has no coarse labels`);
  const present = info.files[split].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (present.length === 0)
    throw new Error(`${dir}: none of ${info.files[split].join(', ')} found; run \`googlenet download --dataset ${dataset} --data-dir ${root}\``);
  const classes = opts.coarse ? info.coarseClasses! : info.classes;
  const bytes = recordBytes(dataset);
  const labelOffset = dataset === 'cifar100' && !opts.coarse ? 1 : 0;
  const chunks: { file: string; buf: Buffer; records: number }[] = [];
  let total = 0;
  for (const file of present) {
    if (opts.limit !== undefined && total >= opts.limit) break;
    const size = fs.statSync(file).size;
    if (!wholeRecords(dataset, size))
      throw new Error(`${file}: ${size} bytes is not a whole number of ${bytes}-byte records; the file is truncated or corrupt, delete it and download again`);
    let records = size / bytes;
    if (opts.limit !== undefined) records = Math.min(records, opts.limit - total);
    const buf = Buffer.alloc(records * bytes);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, buf.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    const badLabel = labelProblem(dataset, buf);
    if (badLabel) throw new Error(`${file}: ${badLabel}; the file is corrupt, delete it and download again`);
    chunks.push({ file, buf, records });
    total += records;
  }
  // shared, so loader worker threads read the images without copies
  const images = new Uint8Array(new SharedArrayBuffer(total * IMAGE_BYTES));
  const labels = new Uint8Array(total);
  let n = 0;
  for (const { buf, records } of chunks) {
    for (let r = 0; r < records; r++, n++) {
      const at = r * bytes;
      labels[n] = buf[at + labelOffset];
      images.set(buf.subarray(at + info.labelBytes, at + bytes), n * IMAGE_BYTES);
    }
  }
  const namesFile = path.join(dir, opts.coarse ? info.coarseNamesFile! : info.classNamesFile);
  return {
    dataset, split, images, labels, count: total, classes,
    classNames: readClassNames(namesFile, classes),
    files: chunks.map(({ file, records }) => ({ file, records })),
  };
}

/** A form's folder (its name: cifar-10-batches-bin, cifar-10-batches-py, …) and the files of each split in it. */
export function layoutOf(dataset: DatasetName, format: DataFormat): { folder: string; files: Record<Split, string[]> } {
  const info = DATASETS[dataset];
  return format === 'python' ? info.python : info;
}

/** The folder readCifar reads in `root` (the binary one first), and the other one when both exist (it is ignored). */
export function cifarFolders(root: string, dataset: DatasetName): { used: string | null; ignored: string | null } {
  const info = DATASETS[dataset];
  const bin = path.join(root, info.folder);
  const py = path.join(root, info.python.folder);
  const hasBin = fs.existsSync(bin);
  const hasPy = fs.existsSync(py);
  return { used: hasBin ? bin : hasPy ? py : null, ignored: hasBin && hasPy ? py : null };
}

/**
 * One torchvision batch file (`name` in errors): its records, with every label list checked to be in
 * range. Errors are one line ending in `fix` (default: delete the file and download again).
 */
export function readPythonBatch(bytes: Uint8Array, name: string, dataset: DatasetName, fix?: string): CifarBatch {
  const info = DATASETS[dataset];
  const py = info.python;
  const ranges: [string, number][] = [[py.labelKey, info.classes]];
  if (py.coarseLabelKey) ranges.push([py.coarseLabelKey, info.coarseClasses!]);
  const batch = parseCifarBatch(bytes, name, ranges.map(([k]) => k), fix);
  for (const [k, n] of ranges) {
    const bad = batch.labels[k].findIndex((v) => v < 0 || v >= n);
    if (bad >= 0) throw new Error(`${name}: record ${bad} has label ${batch.labels[k][bad]}, out of range for ${n} classes; ${fix ?? 'the file is corrupt, delete it and download again'}`);
  }
  return batch;
}

/** The class names in a torchvision meta file (`name` in errors): the fine (or only) ones, or CIFAR-100's coarse ones, as many as there are classes. */
export function readPythonNames(bytes: Uint8Array, name: string, dataset: DatasetName, coarse: boolean, fix?: string): string[] {
  const info = DATASETS[dataset];
  const classes = coarse ? info.coarseClasses! : info.classes;
  const names = metaNames(unpickleCifar(bytes, name, fix), coarse ? info.python.coarseNamesKey! : info.python.namesKey);
  if (!names || names.length !== classes) throw new Error(`${name}: ${names ? names.length : 'no'} class names, expected ${classes}${fix ? `; ${fix}` : ''}`);
  return names;
}

/**
 * readCifar for torchvision's folder (`cifar-10-batches-py/`, `cifar-100-python/`): the same
 * CifarSplit, from the same files in the same order, with the same checks; the class names
 * come from the meta pickle (numbers when it is absent).
 */
function readCifarPython(root: string, dataset: DatasetName, split: Split, opts: ReadOptions): CifarSplit {
  const info = DATASETS[dataset];
  const py = info.python;
  const dir = path.join(root, py.folder);
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder; run \`googlenet download --dataset ${dataset} --format python --data-dir ${root}\``);
  if (opts.coarse && !info.coarseClasses) throw new Error(`${dataset} has no coarse labels`);
  const present = py.files[split].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  if (present.length === 0)
    throw new Error(`${dir}: none of ${py.files[split].join(', ')} found; run \`googlenet download --dataset ${dataset} --format python --data-dir ${root}\``);
  const classes = opts.coarse ? info.coarseClasses! : info.classes;
  const key = opts.coarse ? py.coarseLabelKey! : py.labelKey;
  const chunks: { file: string; data: Uint8Array; labels: number[]; records: number }[] = [];
  let total = 0;
  for (const file of present) {
    if (opts.limit !== undefined && total >= opts.limit) break;
    const batch = readPythonBatch(readFileBytes(file), file, dataset);
    let records = batch.count;
    if (opts.limit !== undefined) records = Math.min(records, opts.limit - total);
    chunks.push({ file, data: batch.data, labels: batch.labels[key], records });
    total += records;
  }
  const images = new Uint8Array(new SharedArrayBuffer(total * IMAGE_BYTES));
  const labels = new Uint8Array(total);
  let n = 0;
  for (const c of chunks) {
    images.set(c.data.subarray(0, c.records * IMAGE_BYTES), n * IMAGE_BYTES);
    labels.set(c.labels.slice(0, c.records), n);
    n += c.records;
  }
  let classNames = Array.from({ length: classes }, (_, i) => String(i));
  const metaFile = path.join(dir, py.meta);
  if (fs.existsSync(metaFile)) classNames = readPythonNames(readFileBytes(metaFile), metaFile, dataset, !!opts.coarse);
  return { dataset, split, images, labels, count: total, classes, classNames, files: chunks.map(({ file, records }) => ({ file, records })) };
}
