// The one way lines reach the terminal: results and the seed's log lines on stdout, status,
// warnings and errors on stderr, and on a terminal one live progress bar below them. Every line
// clears the bar, prints, and redraws it, so lines are never overwritten or glued together; the
// bar is fitted to the width so it never wraps. The cursor and line wrapping are never touched: a
// terminal state changed here could not be put back after a second Ctrl-C or a SIGKILL. Not a
// terminal (pipes, CI), or plain mode (--json): plain lines, not a single control character.

/** What a progress bar shows: `label |███░░| count | field | field`. */
export interface BarState {
  label: string;
  /** How far: done of total (total 0: unknown, no graph). */
  done: number;
  total: number;
  /** The count's text, e.g. `3/10 batches`. */
  count: string;
  /** Extra fields, most important first: dropped from the right when the width is short. */
  fields: string[];
}

/** The graphic bar's width limits: it shrinks to MIN before any field is dropped, and is then dropped itself. */
const GRAPH_MAX = 30, GRAPH_MIN = 10;
/** Redraws at most this often (ms); a line or a finished bar redraws at once. */
const REDRAW_EVERY = 100;

/** The bar as one line of at most `width` characters. */
export function fitBar(b: BarState, width: number): string {
  const count = b.count;
  const graph = (n: number) => {
    const full = b.total > 0 ? Math.round((n * Math.min(b.done, b.total)) / b.total) : 0;
    return `|${'█'.repeat(full)}${'░'.repeat(n - full)}|`;
  };
  const all = [count, ...b.fields].join(' | ');
  const room = width - b.label.length - all.length - 4; // the spaces and the two bars around the graph
  if (b.total > 0 && room >= GRAPH_MIN) return `${b.label} ${graph(Math.min(room, GRAPH_MAX))} ${all}`;
  // no room for the graph (or nothing to draw): then the fields go, from the right
  for (let keep = b.fields.length; keep >= 0; keep--) {
    const line = `${b.label} ${[count, ...b.fields.slice(0, keep)].join(' | ')}`;
    if (line.length <= width) return line;
  }
  return `${b.label} ${count}`.slice(0, Math.max(0, width));
}

/** `1:02:03` or `2:03`. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The parts of a stream the display uses (process.stdout and process.stderr, or a test's stand-in). */
export interface Terminal {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  on?(event: 'resize', f: () => void): unknown;
}

const RED = '\x1b[31m', YELLOW = '\x1b[33m', RESET = '\x1b[39m';
const PREFIX = 'googlenet:';

export class Display {
  /** No bar, no per-batch log lines and no status lines (--quiet). */
  quiet = false;
  /** Plain lines even on a terminal (--json). */
  plain = false;
  private bar: BarState | null = null;
  private drawn = false;
  private lastDraw = 0;
  private pending: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly stdout: Terminal, private readonly stderr: Terminal, private readonly env: Record<string, string | undefined> = {}) {
    stderr.on?.('resize', () => this.around(() => {}));
  }

  /** Whether a bar is shown: stderr is a terminal, and neither --json nor --quiet. */
  get bars(): boolean {
    return !!this.stderr.isTTY && !this.plain && !this.quiet;
  }

  /** Colour on stderr: a terminal, not plain, and NO_COLOR unset or empty (https://no-color.org). */
  get colour(): boolean {
    return !!this.stderr.isTTY && !this.plain && !this.env.NO_COLOR;
  }

  /** A result line (stdout), shown even with --quiet. */
  out(line: string): void {
    this.around(() => this.stdout.write(`${line}\n`));
  }

  /** A progress log line, e.g. the seed's `Train Epoch:` (stdout); not with --quiet. */
  log(line: string): void {
    if (!this.quiet) this.out(line);
  }

  /** A status line (stderr); not with --quiet. */
  info(line: string): void {
    if (!this.quiet) this.around(() => this.stderr.write(`${line}\n`));
  }

  /** A warning (stderr, `googlenet:` in yellow on a terminal). */
  warn(line: string): void {
    this.around(() => this.stderr.write(`${this.prefixed(line, YELLOW)}\n`));
  }

  /** An error (stderr, `googlenet:` in red on a terminal). */
  error(line: string): void {
    this.around(() => this.stderr.write(`${this.prefixed(line, RED)}\n`));
  }

  /** Shows or updates the bar; null removes it. Updates within REDRAW_EVERY of the last draw are drawn once that has passed. */
  progress(b: BarState | null): void {
    this.bar = b;
    clearTimeout(this.pending);
    this.pending = undefined;
    if (!b) return this.clear();
    const wait = REDRAW_EVERY - (performance.now() - this.lastDraw);
    if (this.drawn && wait > 0 && (b.total === 0 || b.done < b.total)) {
      this.pending = setTimeout(() => this.around(() => {}), wait);
      this.pending.unref?.();
      return;
    }
    this.around(() => {});
  }

  /** Runs `write` (something printed by other means, e.g. a caller's own log hook) with the bar out of the way. */
  around(write: () => void): void {
    this.clear();
    write();
    this.draw();
  }

  private prefixed(line: string, colour: string): string {
    const text = line.startsWith(PREFIX) ? line.slice(PREFIX.length).trimStart() : line;
    return this.colour ? `${colour}${PREFIX}${RESET} ${text}` : `${PREFIX} ${text}`;
  }

  private clear(): void {
    if (!this.drawn) return;
    this.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    if (!this.bar || !this.bars) return;
    // three columns short of the width: a line filling the last column makes some terminals wrap at
    // once, and the ^C a terminal echoes after the bar must not wrap it onto a second line either
    this.stderr.write(fitBar(this.bar, (this.stderr.columns || 80) - 3));
    this.drawn = true;
    this.lastDraw = performance.now();
  }
}

/** The process's display. */
export const display = new Display(process.stdout, process.stderr, process.env);
// a bar still shown as the process ends (process.exit, an error) is cleared, so the shell's prompt starts on a clean line
process.on('exit', () => display.progress(null));
