// The record of one finished epoch: what the trainer produces, the checkpoint's history holds,
// the experiment database stores and the reports draw. One shape everywhere.
export interface EpochRecord {
  /** 1-based */
  epoch: number;
  /** mean training loss over the epoch's batches */
  trainLoss: number;
  /** The test set's loss and errors (fractions, 0..1); null for a run with a validation hold-out, which never touches the test set. */
  testLoss: number | null;
  top1Error: number | null;
  top5Error: number | null;
  /** The hold-out's (recipe `val`), present only for a run with one. */
  valLoss?: number;
  valTop1Error?: number;
  valTop5Error?: number;
  /** the learning rate used in the epoch */
  lr: number;
  /** wall time of the epoch: its training and its evaluation pass */
  seconds: number;
  /** ISO time the epoch finished */
  finishedAt: string;
}
