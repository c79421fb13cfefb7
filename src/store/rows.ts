// The SQL stores' rows as their drivers return them, and the records they map to: one mapping for
// SQLite and PostgreSQL (SQLite returns JSON columns as text, PostgreSQL's JSONB already parsed).
import type { ConvAlgorithm } from '../backend/backend.js';
import { recipeKeyHash, recipeNetworkHash, withNetwork, type Recipe } from '../train/config.js';
import type { EpochRecord } from '../train/record.js';
import type { AttemptOutcome, AttemptRow, Progress, RunRow, SearchRecord, SearchRole, SearchRunRow } from './store.js';

export interface RunColumns {
  id: number; model: string; dataset: string; classes: number; params: number; macs: number; epochs_planned: number;
  recipe: Recipe | string; status: RunRow['status']; error: string | null; attempt_id: number | null; crashes: number;
  progress: Progress | string | null; started_at: string | null; finished_at: string | null; seconds: number | null;
}
export interface AttemptColumns {
  id: number; run_id: number; worker: string; started_at: string; ended_at: string | null; outcome: AttemptOutcome; error: string | null;
  first_epoch: number | null; first_batch: number | null; refused_writes: number; epochs_planned?: number | null; cpu: string | null; cpu_family: number | null;
  cpu_model: number | null; isa: string | null; onednn: string | null; threads: number | null; conv?: string | null; heartbeat_at: string; heartbeat_seconds: number;
}
export interface EpochColumns {
  epoch: number; train_loss: number; test_loss: number | null; top1_error: number | null; top5_error: number | null;
  val_loss?: number | null; val_top1_error?: number | null; val_top5_error?: number | null; lr: number; seconds: number; finished_at: string;
}
export interface SearchColumns { id: string; spec: unknown; created_at: string }
export interface SearchRunColumns {
  search_id: string; candidate: number; run_id: number; role: SearchRole; parent: number | null; mutation: unknown; generation: number; rung: number;
}

/** An epoch's values as the epochs columns (test_loss … val_top5_error) take them: a run with a hold-out has val_* and null test_*, others the reverse. */
export const epochValues = (e: EpochRecord) =>
  [e.trainLoss, e.testLoss, e.top1Error, e.top5Error, e.valLoss ?? null, e.valTop1Error ?? null, e.valTop5Error ?? null] as const;

const parsed = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/** An attempt's convolution algorithm as recorded; none (an attempt from before schema 5 recorded it) was direct. */
export const convOf = (v: string | null | undefined): ConvAlgorithm => (v === 'winograd' ? 'winograd' : 'direct');

/**
 * The schema-3 identity of a schema-2 store's runs: each recipe as today's (withNetwork), its
 * network's hash and its recipe key. A network this build does not know (a recipe without its
 * network, naming no built-in) keeps its name in place of a hash. Two rows that become one run are
 * refused in one line: nothing is upgraded.
 */
export function upgradedIdentities<R extends { id: number; model: string; dataset: string; recipe: Recipe | string }>(rows: readonly R[], where: string, schema: number) {
  const seen = new Map<string, R>();
  return rows.map((r) => {
    const recipe = withNetwork(parsed(r.recipe));
    const hash = recipe.network === undefined ? `unknown:${r.model}` : recipeNetworkHash(recipe), key = recipeKeyHash(recipe);
    const twin = seen.get(`${hash} ${r.dataset} ${key}`);
    if (twin) throw new Error(`${where}: runs ${twin.id} (${twin.model}) and ${r.id} (${r.model}) on ${r.dataset} are one network with one recipe, one run in schema ${schema}; upgrade a copy without one of them`);
    seen.set(`${hash} ${r.dataset} ${key}`, r);
    return { row: r, recipe, hash, key };
  });
}

export const toRun = (r: RunColumns): RunRow => ({
  id: r.id, model: r.model, dataset: r.dataset, recipe: withNetwork(parsed(r.recipe)), classes: r.classes, params: r.params, macs: r.macs,
  epochsPlanned: r.epochs_planned, status: r.status, error: r.error, attemptId: r.attempt_id, crashes: r.crashes,
  startedAt: r.started_at, finishedAt: r.finished_at, seconds: r.seconds, progress: r.progress === null ? null : parsed(r.progress),
});
export const toAttempt = (a: AttemptColumns): AttemptRow => ({
  id: a.id, runId: a.run_id, worker: a.worker, startedAt: a.started_at, endedAt: a.ended_at, outcome: a.outcome, error: a.error,
  firstBatch: a.first_epoch === null ? null : { epoch: a.first_epoch, batch: a.first_batch ?? 0 }, refusedWrites: a.refused_writes, epochsPlanned: a.epochs_planned ?? null,
  machine: a.cpu === null ? null : { cpu: a.cpu, family: a.cpu_family, modelNumber: a.cpu_model, isa: a.isa ?? '', onednn: a.onednn ?? '', threads: a.threads ?? 0, conv: convOf(a.conv) },
  heartbeatAt: a.heartbeat_at, heartbeatSeconds: a.heartbeat_seconds,
});
export const toEpoch = (e: EpochColumns): EpochRecord => ({
  epoch: e.epoch, trainLoss: e.train_loss, testLoss: e.test_loss, top1Error: e.top1_error, top5Error: e.top5_error,
  ...(e.val_loss === null || e.val_loss === undefined ? {} : { valLoss: e.val_loss, valTop1Error: e.val_top1_error!, valTop5Error: e.val_top5_error! }),
  lr: e.lr, seconds: e.seconds, finishedAt: e.finished_at,
});
// A search's spec or mutation may itself be a JSON string, so whether to parse is the store's to say, not the value's type
const json = (v: unknown, text: boolean): unknown => (text ? JSON.parse(v as string) : v);
/** A searches row; `text`: its spec is JSON text (SQLite), not parsed JSONB. */
export const toSearch = (s: SearchColumns, text: boolean): SearchRecord => ({ id: s.id, spec: json(s.spec, text), createdAt: s.created_at });
/** A search_runs row; `text`: its mutation is JSON text (SQLite), not parsed JSONB. */
export const toSearchRun = (r: SearchRunColumns, text: boolean): SearchRunRow => ({
  search: r.search_id, candidate: r.candidate, runId: r.run_id, role: r.role, parent: r.parent,
  mutation: r.mutation === null ? null : json(r.mutation, text), generation: r.generation, rung: r.rung,
});
