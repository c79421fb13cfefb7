// The record of one finished epoch: what the trainer produces, the checkpoint's history holds,
// the experiment database stores and the reports draw. One shape everywhere.
export interface EpochRecord {
  /** 1-based */
  epoch: number;
  /** mean training loss over the epoch's batches */
  trainLoss: number;
  testLoss: number;
  /** fractions of the test set, 0..1 */
  top1Error: number;
  top5Error: number;
  /** the learning rate used in the epoch */
  lr: number;
  /** wall time of the epoch: its training and its test pass */
  seconds: number;
  /** ISO time the epoch finished */
  finishedAt: string;
}
