// `googlenet status`: a store's runs seen from one terminal, as a table or as JSON: each by its id and
// its name (network on dataset, with seed and hold-out where several runs share those; see select.ts).
import { formatDuration } from '../experiment/report.js';
import type { AttemptRow, RunRow, RunStore } from '../store/store.js';
import { runLabel } from './select.js';

export interface RunStatusView {
  run: RunRow;
  epochsDone: number;
  attempts: AttemptRow[];
}

export async function storeStatus(store: RunStore): Promise<RunStatusView[]> {
  return Promise.all((await store.runs()).map(async (run) => ({
    run, epochsDone: (await store.epochs(run.id)).length, attempts: await store.attempts(run.id),
  })));
}

/** The worker holding the run, or null. */
const holder = (v: RunStatusView) => (v.run.attemptId === null ? null : v.attempts.find((a) => a.id === v.run.attemptId)?.worker ?? null);

/** The `--json` form of one run (snake_case, as the seed's and our other JSON lines). */
export function statusJson(v: RunStatusView) {
  const p = v.run.progress;
  return {
    id: v.run.id, model: v.run.model, dataset: v.run.dataset, seed: v.run.recipe.seed, val: v.run.recipe.val ?? 0, status: v.run.status, epochs_done: v.epochsDone, epochs_planned: v.run.epochsPlanned,
    worker: holder(v), epoch: p?.epoch ?? null, batch: p?.batch ?? null, images_per_s: p?.imagesPerSecond ?? null, eta_s: p?.etaSeconds ?? null,
    error: v.run.error,
    attempts: v.attempts.map((a) => ({
      id: a.id, worker: a.worker, started_at: a.startedAt, ended_at: a.endedAt, outcome: a.outcome, first_batch: a.firstBatch, epochs_planned: a.epochsPlanned,
      refused_writes: a.refusedWrites, error: a.error,
    })),
  };
}

export function formatStatus(url: string, views: RunStatusView[]): string {
  if (!views.length) return `${url}: no runs recorded`;
  const rows = views.map((v) => {
    const p = v.run.progress;
    const live = v.run.status === 'running' && p ? `epoch ${p.epoch} batch ${p.batch}/${p.batches}` : '';
    return [
      String(v.run.id), runLabel(v.run, views.map((x) => x.run)), v.run.status, `${v.epochsDone}/${v.run.epochsPlanned}`, holder(v) ?? '—', live || '—',
      p?.imagesPerSecond ? p.imagesPerSecond.toFixed(1) : '—', p?.etaSeconds ? formatDuration(p.etaSeconds) : '—',
      String(v.attempts.length), v.run.error ? v.run.error.replace(/\s+/g, ' ') : '',
    ];
  });
  const head = ['id', 'run', 'status', 'epochs', 'worker', 'at', 'img/s', 'ETA', 'attempts', 'last error'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]))).join('  ').trimEnd();
  return [`${url}:`, line(head), ...rows.map(line)].join('\n');
}
