// What a training run tells the person watching: the seed's log lines (stdout), status lines and
// warnings (stderr), and on a terminal a progress bar for the training and the test pass, with
// images/s, loss and ETA. The loop in trainer.ts only calls these; how they look is decided here,
// and how they reach the terminal in the process's display (src/util/display.ts).
import { clock, display, type BarState } from '../util/display.js';

export interface ReporterOptions {
  /** The seed's log lines (default: stdout, through the process's display). */
  log?: (line: string) => void;
  /** Status lines (default: stderr). */
  info?: (line: string) => void;
  /** Warnings (default: `info` when given, else stderr). */
  warn?: (line: string) => void;
  /** Show a progress bar (default: stderr is a terminal, and neither --json nor --quiet). */
  progress?: boolean;
}

/** A hook of the caller's, run with the bar out of the way. */
const aside = (hook: (line: string) => void) => (line: string) => display.around(() => hook(line));

export class Reporter {
  /** Per-batch lines (`Train Epoch:`), which --quiet drops. */
  private readonly logLine: (line: string) => void;
  /** Lines that stay with --quiet: `Test set:`, `Parameters:`. */
  private readonly resultLine: (line: string) => void;
  readonly info: (line: string) => void;
  readonly warn: (line: string) => void;
  private readonly bars: boolean;
  private started = 0;
  private seen = 0;
  private firstDone = 0;

  constructor(o: ReporterOptions = {}) {
    this.logLine = o.log ? aside(o.log) : (l) => display.log(l);
    this.resultLine = o.log ? aside(o.log) : (l) => display.out(l);
    this.info = o.info ? aside(o.info) : (l) => display.info(l);
    this.warn = o.warn ? aside(o.warn) : o.info ? aside(o.info) : (l) => display.warn(l);
    this.bars = o.progress ?? display.bars;
  }

  /** A result line, e.g. the seed's `Test set:` line. */
  log(line: string): void {
    this.resultLine(line);
  }

  /** An epoch begins, or resumes with `done` of its batches already trained. */
  epochStart(epoch: number, batches: number, done = 0): void {
    this.begin(`epoch ${epoch}`, batches, done, ['- img/s', 'loss -', 'ETA -']);
  }

  /** After each training batch of `epoch` (1-based): the seed's `Train Epoch:` line every `logInterval` batches, and the bar. */
  batch(epoch: number, b: { index: number; size: number }, loss: number, o: { batches: number; images: number; logInterval: number }): void {
    this.seen += b.size;
    if (b.index % o.logInterval === 0)
      this.logLine(`Train Epoch: ${epoch} [${b.index * b.size}/${o.images} (${((100 * b.index) / o.batches).toFixed(0)}%)]\tLoss: ${loss.toFixed(6)}`);
    this.update(`epoch ${epoch}`, b.index + 1, o.batches, [`loss ${loss.toFixed(4)}`]);
  }

  /** The test pass begins: `batches` of them. */
  testStart(batches: number): void {
    this.begin('test', batches, 0, ['- img/s', 'ETA -']);
  }

  /** After each test batch: `done` batches of `batches`, `size` images in this one. */
  testBatch(done: number, batches: number, size: number): void {
    this.seen += size;
    this.update('test', done, batches, []);
  }

  /** The bar goes (before the line that ends a pass). */
  epochEnd(): void {
    if (this.bars) display.progress(null);
  }

  close(): void {
    this.epochEnd();
  }

  private begin(label: string, total: number, done: number, fields: string[]): void {
    this.started = performance.now();
    this.seen = 0;
    this.firstDone = done;
    if (this.bars) display.progress({ label, done, total, count: `${done}/${total} batches`, fields });
  }

  /** The bar after a batch: images/s so far in this pass, `extra` fields, and the ETA. */
  private update(label: string, done: number, total: number, extra: string[]): void {
    if (!this.bars) return;
    const s = (performance.now() - this.started) / 1000;
    const eta = ((total - done) * s) / Math.max(1, done - this.firstDone);
    const bar: BarState = { label, done, total, count: `${done}/${total} batches`, fields: [`${(this.seen / s).toFixed(1)} img/s`, ...extra, `ETA ${clock(eta)}`] };
    display.progress(bar);
  }
}
