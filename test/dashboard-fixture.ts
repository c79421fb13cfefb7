// What the dashboard's browser test and the screenshot in docs/dashboard.md share: a real short experiment
// (two networks, two epochs on a few CIFAR-10 images) and the dashboard started on it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, start, until, type Running } from './processes.js';
import { sharedPath } from './helpers.js';

export const MODELS = ['googlenet-short4', 'googlenet-short3'];

/** Runs the experiment into a new folder; returns it (experiment.sqlite, results.json inside). */
export function shortExperiment(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-experiment-'));
  const r = cli(['--quiet', 'experiment', '--dataset', 'cifar10', '--models', MODELS.join(','), '--data-dir', sharedPath('data'),
    '--limit-train', '128', '--limit-test', '100', '--batch-size', '16', '--test-batch-size', '50', '--epochs', '2', '--out', out]);
  if (r.code !== 0) throw new Error(`experiment failed: ${r.stderr}`);
  return out;
}

/** `googlenet dashboard --out DIR --port 0`, once it has printed its URL. */
export async function dashboardOn(dir: string): Promise<{ url: string; running: Running }> {
  const running = start(['dashboard', '--out', dir, '--port', '0']);
  await until(() => running.out.stdout.includes('\n'), running.exit, 'the dashboard exited before printing its URL', 20000).catch((e: Error) => {
    throw new Error(`${e.message}: ${running.out.stderr}`);
  });
  return { url: running.out.stdout.trim(), running };
}
