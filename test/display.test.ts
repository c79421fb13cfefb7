// What a person sees: `train` in a real pseudo-terminal (tmux, 80x24) keeps every log line intact and
// in order under its progress bar, the bar fits the width, and the terminal is left as it was, even
// after Ctrl-C. Pipes and --json get plain lines; NO_COLOR, --quiet and --help as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Display, fitBar } from '../src/util/display.js';
import { repoRoot, sharedOpts, sharedPath } from './helpers.js';
import { bin, cli } from './processes.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-display-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env.CI === 'true') throw new Error('tmux is required under CI (CI=true) but is missing; install it (scripts/setup-debian.sh --tests)');
const ptyOpts = hasTmux ? sharedOpts : { skip: 'tmux is not installed (scripts/setup-debian.sh --tests installs it)' };

const TRAIN_LINE = /^Train Epoch: \d+ \[\d+\/\d+ \(\d+%\)\]\s+Loss: \d+\.\d{6}$/;
const TEST_LINE = /^Test set: Average loss: \d+\.\d{4}, Top 1 Error: \d+\/\d+ \(\d\.\d\d\), Top 5 Error: \d+\/\d+ \(\d\.\d\d\)$/;
const PARAMS_LINE = /^Parameters: \d+$/;
/** A progress bar's text: `epoch 1 |…| 3/10 batches …` or `test |…| …`. */
const BAR = /\b(epoch \d+|test) .*\d+\/\d+ batches/;

/** One command in a detached tmux server of its own, in an 80x24 pane that stays once the command ends. */
class Pane {
  private readonly socket = `gn-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  /**
   * `command` runs under sh; then the pane shows `exit N` and stays alive (a dead pane's cursor is tmux's, not the
   * program's); `exit N` starts a line of its own even after a process killed mid-line. sh traps SIGINT (a trap, unlike an ignore, is not inherited), so a Ctrl-C ends only the command.
   */
  constructor(command: string) {
    const conf = path.join(tmp(), 'tmux.conf');
    fs.writeFileSync(conf, 'set -g status off\nset -g history-limit 10000\n');
    this.tmux('-f', conf, 'new-session', '-d', '-x', '80', '-y', '24', '-c', repoRoot, `trap true INT; ${command}; s=$?; echo; echo "exit $s"; while :; do sleep 600; done`);
  }

  tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** The pane's text with its history, wrapped lines joined (-e: with colour escapes). */
  screen(escapes = false): string[] {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', ...(escapes ? ['-e'] : [])).replace(/\n+$/, '').split('\n');
  }

  /** tmux's own state of the pane (formats of `man tmux`). */
  flag(name: string): string {
    return this.tmux('display-message', '-p', `#{${name}}`).trim();
  }

  /** The command's exit status, once it printed it. */
  exitCode(): number | null {
    const m = this.visible().join('\n').match(/^exit (\d+)$/m);
    return m ? Number(m[1]) : null;
  }

  /** The visible rows only (no history): cheap enough to poll. */
  visible(): string[] {
    return this.tmux('capture-pane', '-p').split('\n');
  }

  async exited(timeoutMs = 120000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (let code = this.exitCode(); ; code = this.exitCode()) {
      if (code !== null) return code;
      if (Date.now() > deadline) throw new Error(`timed out; the screen:\n${this.screen().join('\n')}`);
      await sleep(100);
    }
  }

  /** The screen's lines with history, without the closing `exit N`. */
  lines(): string[] {
    return this.screen().filter((l) => l.trim() && !/^exit \d+$/.test(l));
  }

  /** Ends the server, and removes its socket, which kill-server leaves behind. */
  kill(): void {
    const socket = spawnSync('tmux', ['-L', this.socket, 'display-message', '-p', '#{socket_path}'], { encoding: 'utf8' }).stdout.trim();
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    if (socket) fs.rmSync(socket, { force: true });
  }
}

const node = (args: string, env = '') => `env ${env} ${process.execPath} ${bin} --threads 2 ${args}`;
const trainArgs = (out: string, extra = '') =>
  `train --model googlenet-short4 --dataset cifar10 --data-dir ${sharedPath('data')} --limit-train 192 --batch-size 32 --limit-test 60 --epochs 2 --log-interval 2 --out ${out} ${extra}`;

test('train in an 80-column terminal: every log line intact and in order under a bar that fits, nothing left of the bar', ptyOpts, async () => {
  const pane = new Pane(node(trainArgs(tmp())));
  try {
    // while it runs, the bar is the last line written and fits the width
    const bars: string[] = [];
    while (pane.exitCode() === null) {
      const row = pane.visible().filter((l) => l.trim()).at(-1) ?? '';
      if (BAR.test(row)) bars.push(row);
      await sleep(150);
    }
    assert.equal(await pane.exited(), 0, pane.screen().join('\n'));
    assert.ok(bars.some((b) => b.startsWith('epoch ')) && bars.some((b) => b.startsWith('test ')), `a training and a test bar were seen: ${bars.join('\n')}`);
    for (const b of bars) assert.ok(b.length <= 80, `the bar fits 80 columns: ${b}`);

    const lines = pane.lines();
    const expected = [
      ...[0, 2, 4].map((b) => `Train Epoch: 1 [${b * 32}/192`), 'Test set:',
      ...[0, 2, 4].map((b) => `Train Epoch: 2 [${b * 32}/192`), 'Test set:', 'Parameters: ',
    ];
    assert.deepEqual(lines.map((l) => expected.find((e) => l.startsWith(e)) ?? l), expected, `the screen:\n${lines.join('\n')}`);
    for (const l of lines) assert.ok(TRAIN_LINE.test(l) || TEST_LINE.test(l) || PARAMS_LINE.test(l), `an intact line: ${JSON.stringify(l)}`);
    assert.ok(!lines.some((l) => BAR.test(l)), 'no bar is left');
    assert.equal(`${pane.flag('cursor_flag')} ${pane.flag('wrap_flag')}`, '1 1', 'cursor visible, line wrapping on');
  } finally {
    pane.kill();
  }
});

test('Ctrl-C twice in a terminal (the second ends the process at once): lines intact, the cursor visible and line wrapping on', ptyOpts, async () => {
  const pane = new Pane(node(trainArgs(tmp())));
  try {
    const waitFor = async (line: string) => {
      const deadline = Date.now() + 120000;
      while (!pane.visible().some((l) => l.includes(line))) {
        assert.ok(Date.now() < deadline && pane.exitCode() === null, `no ${line} in time:\n${pane.screen().join('\n')}`);
        await sleep(50);
      }
    };
    await waitFor('Train Epoch: 1 [64/192');
    pane.tmux('send-keys', 'C-c');
    await waitFor('googlenet: SIGINT: checkpointing at the next batch');
    pane.tmux('send-keys', 'C-c');
    assert.equal(await pane.exited(), 130, pane.screen().join('\n'));
    assert.equal(`${pane.flag('cursor_flag')} ${pane.flag('wrap_flag')}`, '1 1', 'cursor visible, line wrapping on');
    const lines = pane.lines();
    assert.deepEqual(lines.slice(0, 2).map((l) => TRAIN_LINE.test(l)), [true, true], lines.join('\n'));
    assert.ok(lines.includes("googlenet: SIGINT: checkpointing at the next batch and handing the run back (Ctrl-C again exits at once)"), lines.join('\n'));
  } finally {
    pane.kill();
  }
});

/** A stand-in terminal that records what is written. */
function fakeTerminal(isTTY: boolean, columns = 80) {
  const t = { isTTY, columns, text: '', resize: () => {}, write: (s: string) => { t.text += s; }, on: (_: 'resize', f: () => void) => { t.resize = f; } };
  return t;
}
const bar = (fields = ['12.5 img/s', 'loss 2.3026', 'ETA 1:02:03']) => ({ label: 'epoch 14', done: 300, total: 782, count: '300/782 batches', fields });
/** What a terminal must never be sent: cursor save/restore, hide, wrap off. */
const TRICKS = /\x1b7|\x1b8|\x1b\[[su]|\x1b\[\?25l|\x1b\[\?7l/;

test('fitBar: the graph shrinks first, then goes, then fields go from the right; never wider than asked', () => {
  assert.equal(fitBar(bar(), 79), `epoch 14 |${'█'.repeat(4)}${'░'.repeat(7)}| 300/782 batches | 12.5 img/s | loss 2.3026 | ETA 1:02:03`);
  assert.match(fitBar(bar(), 200), /^epoch 14 \|[█░]{30}\| /, 'at most 30 wide');
  assert.match(fitBar(bar(), 78), /^epoch 14 \|[█░]{10}\| 300\/782 batches \| 12\.5 img\/s \| loss 2\.3026 \| ETA 1:02:03$/);
  assert.equal(fitBar(bar(), 77), 'epoch 14 300/782 batches | 12.5 img/s | loss 2.3026 | ETA 1:02:03');
  assert.equal(fitBar(bar(), 64), 'epoch 14 300/782 batches | 12.5 img/s | loss 2.3026');
  assert.equal(fitBar(bar(), 30), 'epoch 14 300/782 batches');
  assert.equal(fitBar(bar(), 12), 'epoch 14 300');
  for (let w = 0; w <= 120; w++) assert.ok(fitBar(bar(), w).length <= w, `width ${w}`);
  assert.equal(fitBar({ label: 'x.tar.gz', done: 5, total: 0, count: '5.0 MB', fields: ['1.0 MB/s'] }, 79), 'x.tar.gz 5.0 MB | 1.0 MB/s', 'no graph for an unknown total');
});

test('Display on a terminal: each line clears the bar and redraws it below; the bar follows the width; no cursor or wrapping tricks', () => {
  const out = fakeTerminal(true), err = fakeTerminal(true, 60);
  const d = new Display(out, err);
  d.progress(bar());
  assert.equal(err.text, `${fitBar(bar(), 57)}`);
  err.text = '';
  d.out('Train Epoch: 1 [0/640 (0%)]\tLoss: 2.302585');
  assert.equal(out.text, 'Train Epoch: 1 [0/640 (0%)]\tLoss: 2.302585\n');
  assert.equal(err.text, `\r\x1b[2K${fitBar(bar(), 57)}`);
  err.columns = 40;
  err.resize();
  assert.ok(err.text.endsWith(`\r\x1b[2K${fitBar(bar(), 37)}`), 'redrawn to the new width');
  d.progress(null);
  assert.ok(err.text.endsWith('\r\x1b[2K'), 'cleared');
  d.out('after');
  assert.ok(err.text.endsWith('\r\x1b[2K'), 'nothing drawn once removed');
  assert.ok(!TRICKS.test(err.text + out.text));
});

test('Display: not a terminal, or plain (--json): plain lines, no bar, no colour; --quiet keeps results, warnings and errors', () => {
  for (const [tty, plain] of [[false, false], [true, true]]) {
    const out = fakeTerminal(tty), err = fakeTerminal(tty);
    const d = new Display(out, err);
    d.plain = plain;
    d.progress(bar());
    d.log('Train Epoch: 1');
    d.info('status');
    d.warn('googlenet: careful');
    d.error('broken');
    d.progress(null);
    assert.equal(out.text, 'Train Epoch: 1\n');
    assert.equal(err.text, 'status\ngooglenet: careful\ngooglenet: broken\n');
  }
  const out = fakeTerminal(true), err = fakeTerminal(true);
  const d = new Display(out, err, { NO_COLOR: '1' });
  d.quiet = true;
  d.progress(bar());
  d.log('Train Epoch: 1');
  d.info('status');
  d.out('Test set: …');
  d.warn('careful');
  d.error('googlenet: broken');
  assert.equal(out.text, 'Test set: …\n');
  assert.equal(err.text, 'googlenet: careful\ngooglenet: broken\n', 'quiet: no bar, no status; NO_COLOR: no colour');
});

test('Display: on a terminal errors are red and warnings yellow, unless NO_COLOR is set (to anything but empty)', () => {
  for (const [env, colour] of [[{}, true], [{ NO_COLOR: '' }, true], [{ NO_COLOR: '1' }, false]] as const) {
    const err = fakeTerminal(true);
    const d = new Display(fakeTerminal(true), err, env);
    d.error('broken');
    d.warn('careful');
    assert.equal(err.text, colour ? '\x1b[31mgooglenet:\x1b[39m broken\n\x1b[33mgooglenet:\x1b[39m careful\n' : 'googlenet: broken\ngooglenet: careful\n', JSON.stringify(env));
  }
});

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

test('train in a pipe, with and without --json, and --quiet: plain lines only', sharedOpts, () => {
  const args = ['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--dry-run', '--out', tmp()];
  for (const extra of [[], ['--json']]) {
    const r = cli([...args, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!CONTROL.test(r.stdout.replace(/\t/g, '')) && !CONTROL.test(r.stderr), `no control characters: ${JSON.stringify(r)}`);
  }
  for (const quiet of [['--quiet', ...args], [...args, '--quiet']]) {
    const r = cli(quiet);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Train Epoch:/);
    assert.match(r.stdout, /^Test set: Average loss: /m);
    assert.match(r.stdout, /^Parameters: \d+$/m);
  }
});

test('errors on a terminal: googlenet: in red, plain with NO_COLOR', ptyOpts, async () => {
  for (const [env, red] of [['', true], ['NO_COLOR=1', false]] as const) {
    const pane = new Pane(node('train --epochs 0', env));
    try {
      assert.equal(await pane.exited(), 1);
      const line = pane.screen(true).find((l) => l.includes('googlenet:'))!;
      assert.equal(line.replace(/\x1b\[\d*m/g, ''), "googlenet: --epochs must be a positive integer, got '0'");
      assert.equal(line.includes('\x1b[31mgooglenet:'), red, JSON.stringify(line));
      if (!red) assert.ok(!line.includes('\x1b'), JSON.stringify(line));
    } finally {
      pane.kill();
    }
  }
});
