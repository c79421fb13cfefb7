// What a training run tells the person watching: the seed's log lines (stdout) and status
// lines (stderr), and on a terminal a progress bar with images/s, loss and ETA. The loop in
// trainer.ts only calls these; how they look is decided here.
import cliProgress from 'cli-progress';

export interface ReporterOptions {
  /** The seed's log lines (stdout by default). */
  log?: (line: string) => void;
  /** Status lines (stderr by default). */
  info?: (line: string) => void;
  /** Show a progress bar (default: stderr is a terminal). */
  progress?: boolean;
}

export class Reporter {
  private readonly logLine: (line: string) => void;
  readonly info: (line: string) => void;
  private readonly bar: cliProgress.SingleBar | null;
  private barShown = false;
  private epochStarted = 0;
  private seen = 0;

  constructor(o: ReporterOptions = {}) {
    this.logLine = o.log ?? ((l) => console.log(l));
    this.info = o.info ?? ((l) => console.error(l));
    this.bar = (o.progress ?? !!process.stderr.isTTY)
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'epoch {epoch} |{bar}| {value}/{total} batches | {ips} img/s | loss {loss} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
      : null;
  }

  /** A log line; the progress bar's line is cleared first, and the bar redraws on its next update. */
  log(line: string): void {
    if (this.barShown) process.stderr.write('\r\x1b[2K');
    this.logLine(line);
  }

  /** An epoch begins, or resumes with `done` of its batches already trained. */
  epochStart(epoch: number, batches: number, done = 0): void {
    this.epochStarted = performance.now();
    this.seen = 0;
    this.bar?.start(batches, done, { epoch, ips: '-', loss: '-' });
    this.barShown = !!this.bar;
  }

  /** After each training batch of `epoch` (1-based): the seed's `Train Epoch:` line every `logInterval` batches, and the bar. */
  batch(epoch: number, b: { index: number; size: number }, loss: number, o: { batches: number; images: number; logInterval: number }): void {
    this.seen += b.size;
    if (b.index % o.logInterval === 0)
      this.log(`Train Epoch: ${epoch} [${b.index * b.size}/${o.images} (${((100 * b.index) / o.batches).toFixed(0)}%)]\tLoss: ${loss.toFixed(6)}`);
    const ips = this.seen / ((performance.now() - this.epochStarted) / 1000);
    this.bar?.update(b.index + 1, { ips: ips.toFixed(1), loss: loss.toFixed(4) });
  }

  epochEnd(): void {
    this.bar?.stop();
    this.barShown = false;
  }

  close(): void {
    this.epochEnd();
  }
}
