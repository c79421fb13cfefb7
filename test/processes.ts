// The googlenet CLI as child processes, for tests that signal, stop or kill them mid-run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './helpers.js';

export const bin = path.join(repoRoot, 'bin', 'googlenet.js');

/** Runs the CLI to its end; `--threads 2` unless args start with --threads. */
export function cli(args: string[], timeout = 300000, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [bin, ...(args[0] === '--threads' ? [] : ['--threads', '2']), ...args], { encoding: 'utf8', timeout, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

export interface Running {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  /** Resolves to the exit code, or the signal's name. */
  exit: Promise<number | string>;
}

/** Starts the CLI (this checkout's, or `binFile`) with its output collected; `--threads 2` unless args start with --threads. */
export function start(args: string[], env: NodeJS.ProcessEnv = process.env, binFile = bin): Running {
  const child = spawn(process.execPath, [binFile, ...(args[0] === '--threads' ? [] : ['--threads', '2']), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => { out.stdout += d; });
  child.stderr!.on('data', (d) => { out.stderr += d; });
  const exit = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal!)));
  return { child, out, exit };
}

/** Resolves once `ready()` holds (polled every 20 ms); rejects with `tooLate` if `exit` comes first, or after `timeoutMs`. */
export async function until(ready: () => boolean, exit: Promise<unknown> | null, tooLate: string, timeoutMs = 120000): Promise<void> {
  let ended = false;
  void exit?.then(() => { ended = true; });
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (ended) throw new Error(tooLate);
    if (Date.now() > deadline) throw new Error(`timed out: ${tooLate}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The seed's per-batch log lines (`Train Epoch: …`) in a stdout. */
export const trainLines = (stdout: string) => stdout.match(/^Train Epoch: \d+ /gm)?.length ?? 0;
