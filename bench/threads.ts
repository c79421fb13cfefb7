// `npm run bench`, part 4: threads on a shared machine. Training images/s of the seed's GoogLeNet
// at 1 thread and at every core (the default), ours and PyTorch's, alone and beside one competitor:
//  - a busy loop: one CPU-bound process (another user's job);
//  - a second training of the same kind at the default thread count (two workers on one machine).
// Ours runs with its default, OpenMP threads that wait passively (src/backend/onednn.ts), and with
// libgomp's own default, which spins 300,000 times at each barrier first (GOMP_SPINCOUNT=300000):
// the second is what this project did before, and what shows the collapse.
// Batch 16: small steps, where the waits at barriers weigh most, and a run that fits in minutes.
// Run alone: node dist/bench/threads.js [--repeats N] [--steps N] [--conv auto|winograd|direct] [--skip-torch] [--json]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convArg, findTorchPython, median } from '../src/bench/bench.js';
import { cpuDescription } from '../src/util/machine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const value = (name: string, d: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const repeats = value('--repeats', 1);
const steps = value('--steps', 3);
const batch = value('--batch-size', 16);
const cores = os.availableParallelism();
/** Our convolution algorithm (`googlenet --conv`), passed on to each `googlenet bench`. */
const conv = convArg(argv, 'bench/threads');
const threadCounts = [...new Set([1, cores])];
/** Seconds a competitor runs before the measurement starts, so it is past its own start-up. */
const COMPETITOR_WARMUP = 4;

type Impl = 'ours' | 'ours-spin' | 'pytorch';
type Competitor = 'alone' | 'busy loop' | 'second training';
const COMPETITORS: Competitor[] = ['alone', 'busy loop', 'second training'];
const LABEL: Record<Impl, string> = {
  ours: 'ours (passive wait, the default)',
  'ours-spin': 'ours (libgomp default: spin first)',
  pytorch: 'PyTorch f32 NCHW',
};
const SPIN = { GOMP_SPINCOUNT: '300000' };

/** The command that trains for `steps` steps at `threads` threads and prints JSON with train_img_per_s. */
function command(impl: Impl, threads: number, n: number, python: string | null): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (impl === 'pytorch')
    return { file: python!, args: [path.join(root, 'bench', 'pytorch_googlenet.py'), '--mode', 'nchw', '--batch-size', String(batch), '--steps', String(n), '--threads', String(threads)], env: process.env };
  return {
    file: process.execPath,
    args: [path.join(root, 'bin', 'googlenet.js'), '--threads', String(threads), '--conv', conv, 'bench', '--batch-size', String(batch), '--steps', String(n), '--json'],
    env: impl === 'ours-spin' ? { ...process.env, ...SPIN } : process.env,
  };
}

function startCompetitor(kind: Competitor, impl: Impl, python: string | null): ChildProcess | null {
  if (kind === 'alone') return null;
  if (kind === 'busy loop') return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const c = command(impl, cores, 1_000_000, python);
  return spawn(c.file, c.args, { env: c.env, stdio: 'ignore' });
}

async function measure(impl: Impl, threads: number, kind: Competitor, python: string | null): Promise<number> {
  const competitor = startCompetitor(kind, impl, python);
  try {
    if (competitor) await new Promise((r) => setTimeout(r, COMPETITOR_WARMUP * 1000));
    const c = command(impl, threads, steps, python);
    const r = spawnSync(c.file, c.args, { env: c.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${LABEL[impl]} at ${threads} threads failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!).train_img_per_s;
  } finally {
    competitor?.kill('SIGKILL');
  }
}

const python = argv.includes('--skip-torch') ? null : (findTorchPython()?.python ?? null);
const impls: Impl[] = python ? ['ours', 'ours-spin', 'pytorch'] : ['ours', 'ours-spin'];
console.log(`\n== threads on a shared machine: googlenet training, batch ${batch}, images/s, medians of ${repeats} runs of ${steps} steps, ours with --conv ${conv}; ${cpuDescription()}, ${cores} cores ==`);
if (!python) console.log('PyTorch: not found (install Debian\'s python3-torch to compare); ours only');
const results: Record<string, number> = {};
const key = (impl: Impl, kind: Competitor, threads: number) => `${impl}|${kind}|${threads}`;
for (const kind of COMPETITORS)
  for (const threads of threadCounts)
    for (const impl of impls) {
      const samples: number[] = [];
      for (let r = 0; r < repeats; r++) samples.push(await measure(impl, threads, kind, python));
      results[key(impl, kind, threads)] = median(samples);
    }

const cell = (s: string) => s.padStart(9);
console.log(''.padEnd(38) + COMPETITORS.map((k) => k.padStart(9 * threadCounts.length)).join(''));
console.log('threads'.padEnd(38) + COMPETITORS.map(() => threadCounts.map((t) => cell(String(t))).join('')).join(''));
for (const impl of impls)
  console.log(LABEL[impl].padEnd(38) + COMPETITORS.map((k) => threadCounts.map((t) => cell(results[key(impl, k, t)].toFixed(1))).join('')).join(''));

/** Per implementation and competitor: the default thread count's speed as a fraction of the best thread count's. */
const verdicts: Record<string, number> = {};
console.log(`\nthe default (${cores} threads) against the best thread count under the same competition (target: within 1.5x):`);
for (const impl of impls) {
  const parts = COMPETITORS.map((k) => {
    const best = Math.max(...threadCounts.map((t) => results[key(impl, k, t)]));
    const slower = best / results[key(impl, k, cores)];
    verdicts[`${impl}|${k}`] = slower;
    return `${k} ${slower.toFixed(2)}x`;
  });
  console.log(`  ${LABEL[impl].padEnd(36)}${parts.join(', ')}`);
}
const alone = results[key('ours', 'alone', cores)] / results[key('ours-spin', 'alone', cores)];
console.log(`uncontended, ${cores} threads: passive wait ÷ spinning = ${alone.toFixed(3)} (1.0: unchanged)`);
if (argv.includes('--json')) console.log(JSON.stringify({ batch_size: batch, steps, repeats, cores, conv, images_per_s: results, default_vs_best: verdicts, uncontended_passive_vs_spin: alone }));
