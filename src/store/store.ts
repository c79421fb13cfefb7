// The run store: where runs, their epochs, their attempts, live progress and checkpoints live.
// One interface, three places behind it, chosen by URL (see open.ts): a folder (one run, what
// `train --out DIR` writes), `sqlite:PATH` (an experiment on one machine) and `postgres://…`
// (an experiment over many). The training loop sees only a RunClaim and awaits it.
//
// Claims and fencing. Each attempt at a run has an id; the run row names its current attempt.
// Every write an attempt makes checks, in the same transaction as the write, that the run still
// names it; if another attempt has taken the run, the write is refused (and counted in
// attempts.refused_writes) and ClaimLostError is thrown, so a worker that was paused or cut off
// never writes for that run again. An attempt is alive while its heartbeat is fresh: a thread
// of its own (liveness.ts, not the training thread's event loop) renews it every `heartbeat`
// seconds; one older than LEASE_BEATS heartbeats lets another worker take the run.
import os from 'node:os';
import { borrowsBuiltinName } from '../models/googlenet.js';
import type { Recipe } from '../train/config.js';
import type { Checkpoint } from '../train/checkpoint.js';
import type { EpochRecord } from '../train/record.js';
import { canonicalize } from '../util/canonical-json.js';
import type { Machine } from '../util/machine.js';

export const RUN_STATUSES = ['queued', 'running', 'interrupted', 'complete', 'failed'] as const;
/** queued: waiting for a worker; running: an attempt holds it; interrupted: handed back by a signal, resumes at once. */
export type RunStatus = (typeof RUN_STATUSES)[number];

export const ATTEMPT_OUTCOMES = ['running', 'complete', 'failed', 'interrupted', 'crashed'] as const;
/** crashed: its heartbeat went stale (SIGKILL, a hung connection, SIGSTOP) or it died of an unexpected error. */
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const SEARCH_ROLES = ['search', 'confirm'] as const;
export type SearchRole = (typeof SEARCH_ROLES)[number];
/** A search of `googlenet explore`: its id (a SHA-256 hex of its canonical arguments) and those arguments as JSON. */
export interface SearchRecord { id: string; spec: unknown; createdAt: string }
/** One run of a search. */
export interface SearchRunRow {
  search: string;            // the search's id
  candidate: number;         // 0: the base network; 1, 2, …: candidates in the order proposed; networks added for confirmation after them
  runId: number;             // the run (runs.id)
  role: SearchRole;          // 'search': trained on the hold-out split, rung by rung; 'confirm': a confirmation seed (no hold-out, tested)
  parent: number | null;     // the candidate it is a mutation of (0: the base); null for the base and for confirmation-only networks
  mutation: unknown | null;  // the mutation (JSON), or null
  generation: number;        // 0 for the first proposals, then 1, 2, … (evolution); 0 for confirm rows
  rung: number;              // rungs reached (1 = trained at the first rung); 0 for confirm rows
}

/** Heartbeats an attempt may miss before another worker takes its run. */
export const LEASE_BEATS = 3;
/** Default seconds between heartbeats. */
export const DEFAULT_HEARTBEAT = 30;
/** Crashed attempts after which a run fails instead of being retried (hand-backs do not count). */
export const DEFAULT_MAX_CRASHES = 3;

/**
 * What a run is: its network (by hash: recipeNetworkHash), its dataset and its recipe key
 * (recipeKey: the recipe less its epochs, network and name, so seed and hold-out included); a
 * store holds one run of each. Recording it again with more epochs raises its plan (replan).
 */
export interface RunSpec {
  model: string;
  dataset: string;
  recipe: Recipe;
  classes: number;
  params: number;
  macs: number;
}

export interface RunRow extends RunSpec {
  id: number;
  epochsPlanned: number;
  status: RunStatus;
  /** Message of a failed run, or of the last crash. */
  error: string | null;
  /** The attempt holding the run (status running), or null. */
  attemptId: number | null;
  /** Crashed attempts since the run was enqueued or last retried. */
  crashes: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** Training time: the sum of its epochs' seconds, once complete or failed. */
  seconds: number | null;
  /** Live progress of the current attempt, as its liveness thread last wrote it. */
  progress: Progress | null;
}

/** Where an attempt is: written by its liveness thread with each heartbeat. */
export interface Progress {
  epoch: number;
  /** Batches of the epoch trained. */
  batch: number;
  batches: number;
  imagesPerSecond: number | null;
  /** Seconds to the run's end at the current rate, or null. */
  etaSeconds: number | null;
}

export interface AttemptRow {
  id: number;
  runId: number;
  /** host:pid */
  worker: string;
  startedAt: string;
  endedAt: string | null;
  outcome: AttemptOutcome;
  error: string | null;
  /** The (epoch, batch) it started at: 1-based epoch, batches of it already done. Null until it started training. */
  firstBatch: { epoch: number; batch: number } | null;
  refusedWrites: number;
  /** The run's planned epochs when it was claimed: past the checkpoint's, the attempt extends the run. Null for attempts from before schema 3. */
  epochsPlanned: number | null;
  machine: Machine | null;
  heartbeatAt: string;
  heartbeatSeconds: number;
}

/** The worker making an attempt. */
export interface WorkerIdentity {
  /** host:pid */
  name: string;
  /** Seconds between its heartbeats. */
  heartbeat: number;
}

/** Why a claim could not be made. */
export interface ClaimRefusal {
  refused: 'busy' | 'done' | 'failed';
  /** One line: who holds it, or why it is done. */
  reason: string;
}

/** Thrown by a write of an attempt whose run another attempt has taken. */
export class ClaimLostError extends Error {
  constructor(readonly attemptId: number, readonly what: string, holder: string) {
    super(`lost the run ${what} to ${holder}; attempt ${attemptId} stopped it and wrote nothing more`);
  }
}

/** An error that fails the run instead of being retried: divergence, bad data, a recipe the run cannot take. */
export class RunFailure extends Error {}

/** One attempt at one run, held until finish(): the only way the training loop writes. */
export interface RunClaim {
  readonly attemptId: number;
  readonly run: RunRow;
  /** Where the run's checkpoint lives, for messages (`sqlite:out/experiment.sqlite, googlenet on cifar10`). */
  readonly where: string;
  /** The last attempt before this one that started training, or null: its machine tells whether bits still match. */
  readonly previous: AttemptRow | null;
  /** The current checkpoint, or null when the run has none yet. */
  loadCheckpoint(): Promise<Checkpoint | null>;
  /** The attempt starts training at `first` on `machine`: recorded, and epoch rows past the checkpoint deleted. */
  start(first: { epoch: number; batch: number }, machine: Machine): Promise<void>;
  /** An epoch's row (replacing one of the same epoch), committed before the checkpoint that includes it. */
  recordEpoch(e: EpochRecord): Promise<void>;
  /**
   * Refuses, with one line naming what is needed, what is free and where, when a checkpoint of
   * `bytes` cannot be written now (beside the current one, which stays until the new one is whole).
   * The trainer asks before each epoch, so a full disk stops a run before its work is spent, not
   * after. The folder and SQLite stores check their checkpoint folder; PostgreSQL's space is the
   * server's, which only the write itself can tell, so it does not check.
   */
  ensureSpace(bytes: number): Promise<void>;
  /** Written whole, then made current in one transaction; the one it supersedes is deleted. */
  saveCheckpoint(c: Checkpoint): Promise<void>;
  /** Live progress, handed to the liveness thread (does not block training). */
  progress(p: Progress): void;
  /** The attempt ends: complete/failed/interrupted end the run likewise (interrupted hands it back); crashed queues it for a retry. */
  finish(outcome: Exclude<AttemptOutcome, 'running'>, error?: string): Promise<void>;
  /** Stops the heartbeats without writing: for an attempt that lost its run. */
  abandon(): Promise<void>;
  /** Set once the store refused a write or the liveness thread found the claim lost. */
  readonly lost: boolean;
}

export interface RunStore {
  /** The store's URL with any password replaced by ***: safe to print. */
  readonly url: string;
  /**
   * Records the run (network hash, dataset, recipe key) as queued, or finds it. More epochs than
   * planned raise its plan (a complete run is queued again, to continue from its last checkpoint);
   * fewer than done, or other epochs under a schedule that depends on them, are refused in one line,
   * as is a network name bound in this store to another network (or a built-in's name for another).
   * The folder store holds one run, and refuses any other recipe but more epochs.
   */
  ensureRun(spec: RunSpec): Promise<RunRow>;
  runs(): Promise<RunRow[]>;
  /** The first run (lowest id) of this network name and dataset; several may exist (seeds, hold-outs): see selectRun. */
  run(model: string, dataset: string): Promise<RunRow | undefined>;
  epochs(runId: number): Promise<EpochRecord[]>;
  attempts(runId: number): Promise<AttemptRow[]>;
  /** The run's current checkpoint, or null (a complete run's holds its final weights). */
  checkpoint(runId: number): Promise<Checkpoint | null>;
  /** Takes the run for a new attempt, unless a live attempt holds it or it is complete or failed. A holder found dead is marked crashed first (failing the run after maxCrashes). */
  claim(runId: number, worker: WorkerIdentity, opts?: { maxCrashes?: number }): Promise<RunClaim | ClaimRefusal>;
  /** Renews an attempt's heartbeat and writes its progress, fenced; false when the run is no longer its. Called by the liveness thread. */
  heartbeat(attemptId: number, progress: Progress | null): Promise<boolean>;
  /** A failed run back to queued, its crash count reset; refused for a run that is not failed. */
  retry(runId: number): Promise<void>;
  /** Records a search (idempotent: the same id again is a no-op; the spec of an existing id must be equal (canonical JSON), else refused in one line). */
  recordSearch(id: string, spec: unknown): Promise<void>;
  searches(): Promise<SearchRecord[]>;   // by createdAt, then id
  /**
   * Records a run of a search (idempotent on (search, candidate, runId)). Again with a higher rung raises it (never lowers);
   * a different role, parent, mutation or generation for the same key is refused in one line naming the search and candidate
   * (a search resumed with other arguments). Refused when the search or the run does not exist.
   */
  recordSearchRun(row: SearchRunRow): Promise<void>;
  /** The search's runs by candidate, then runId. */
  searchRuns(search: string): Promise<SearchRunRow[]>;
  close(): Promise<void>;
}

/** host:pid of this process, as attempts record their worker. */
export const workerName = () => `${os.hostname()}:${process.pid}`;

/**
 * Whether a worker (host:pid) is known dead: it ran on this host and no process has its pid.
 * Then its lease need not run out (a SIGKILLed local process is taken over at once); a worker on
 * another host, or a pid in use again, is judged by its heartbeat alone.
 */
export function workerGone(worker: string): boolean {
  const i = worker.lastIndexOf(':');
  const host = worker.slice(0, i), pid = Number(worker.slice(i + 1));
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Why a running attempt no longer holds its run, or null while it does: its process is gone (it ran
 * on this host), or its heartbeat is older than the lease. Every store's claim and the worker's
 * idle scan decide with this; `silentSeconds` is the heartbeat's age by the store's clock.
 */
export function holderLost(holder: { worker: string; heartbeatSeconds: number }, silentSeconds: number): string | null {
  if (workerGone(holder.worker)) return 'the process is gone';
  if (silentSeconds > LEASE_BEATS * holder.heartbeatSeconds) return `no heartbeat for ${silentSeconds.toFixed(0)} s (lease ${LEASE_BEATS} × ${holder.heartbeatSeconds} s)`;
  return null;
}

export const isRefusal = (c: RunClaim | ClaimRefusal): c is ClaimRefusal => 'refused' in c;

/** `googlenet on cifar10`, with ` seed 2` for a seed other than the default 1 and ` val 5000` for a hold-out, when it knows them. */
export const runName = (r: { model: string; dataset: string; seed?: number; val?: number; recipe?: { seed: number; val?: number } | string }) => {
  // a SQLite row's recipe is its JSON text
  const recipe = typeof r.recipe === 'string' ? (JSON.parse(r.recipe) as { seed: number; val?: number }) : r.recipe;
  const seed = recipe?.seed ?? r.seed, val = recipe?.val ?? r.val;
  return `${r.model} on ${r.dataset}${seed !== undefined && seed !== 1 ? ` seed ${seed}` : ''}${val ? ` val ${val}` : ''}`;
};

/**
 * What recording `spec` again does to its run `old`: null when the plan stays, else the new
 * planned epochs; refused in one line for fewer epochs than done, a running run's plan lowered,
 * or any change under a schedule whose learning rates depend on the total (cosine).
 */
export function replan(where: string, old: RunRow, spec: RunSpec, epochsDone: number): number | null {
  const want = spec.recipe.epochs, planned = old.epochsPlanned;
  if (want === planned) return null;
  const name = runName(old);
  if (spec.recipe.scheduler === 'cosine' || old.recipe.scheduler === 'cosine')
    throw new Error(`${where}: ${name} is recorded with --epochs ${planned}, and --scheduler cosine's learning rates depend on the total epochs, so a cosine run cannot be extended or shortened to --epochs ${want}; use another store for it`);
  if (want < epochsDone) throw new Error(`${where}: ${name} has ${epochsDone} epochs done; --epochs ${want} is fewer than done (a run's epochs can be raised, not undone)`);
  if (want < planned && old.status === 'running') throw new Error(`${where}: ${name} is running toward --epochs ${planned}; lower its plan to ${want} once it is not running`);
  return want;
}

/**
 * Refuses, in one line, recording the network `hash` as `name` where `recorded` (the store's
 * networks table, those rows of this name or hash) binds the name to another network or the
 * network to another name, or where the name is a built-in's and the network is not that one.
 */
export function checkNetworkName(where: string, name: string, hash: string, recorded: readonly { name: string; hash: string }[]): void {
  const short = (h: string) => `sha256 ${h.slice(0, 12)}`;
  if (borrowsBuiltinName(name, hash))
    throw new Error(`${where}: '${name}' is a built-in network's name, and this network (${short(hash)}) is another; give it its own name`);
  for (const r of recorded) {
    if (r.name === name && r.hash !== hash)
      throw new Error(`${where}: the name '${name}' is recorded in this store for network ${short(r.hash)}, and this network is ${short(hash)}; give it another name (a name is one network per store)`);
    if (r.hash === hash && r.name !== name)
      throw new Error(`${where}: this network (${short(hash)}) is recorded in this store as '${r.name}'; name it '${r.name}', not '${name}' (a network has one name per store)`);
  }
}

/** A search as messages name it: the first 12 hex digits of its id (the whole of a shorter one). */
export const searchName = (id: string) => `search ${id.slice(0, 12)}`;

/** `value` as canonical JSON, or a one-line refusal naming `what` (NaN, undefined and the like are no JSON). */
export function canonicalJson(where: string, what: string, value: unknown): string {
  try {
    return canonicalize(value);
  } catch (e) {
    throw new Error(`${where}: ${what} is not JSON (${(e as Error).message}); give plain objects, arrays, strings, finite numbers, booleans and null`);
  }
}

/** Refuses, in one line, a search of `id` already recorded with arguments (canonical JSON) other than `spec`'s. */
export function checkSearchSpec(where: string, id: string, recorded: string, spec: string): void {
  if (recorded !== spec)
    throw new Error(`${where}: ${searchName(id)} is recorded with other arguments than these; a search's id is the hash of its arguments, so give these their own id`);
}

/**
 * Refuses, in one line, a search row that is not one (a role not in SEARCH_ROLES, a negative or
 * fractional number); returns its mutation as canonical JSON text, or null.
 */
export function checkSearchRun(where: string, row: SearchRunRow): string | null {
  const head = `${where}: ${searchName(row.search)}, candidate ${row.candidate}`;
  const counts = { candidate: row.candidate, runId: row.runId, generation: row.generation, rung: row.rung, ...(row.parent === null ? {} : { parent: row.parent }) };
  for (const [k, v] of Object.entries(counts))
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${head}: ${k} ${String(v)} is not a whole number ≥ 0`);
  if (!(SEARCH_ROLES as readonly string[]).includes(row.role)) throw new Error(`${head}: role '${String(row.role)}' is none of ${SEARCH_ROLES.join(', ')}`);
  return row.mutation === null || row.mutation === undefined ? null : canonicalJson(head, 'the mutation', row.mutation);
}

/** JSON text for a message: 'none' for null, and a long one cut at 120 characters. */
const brief = (json: string | null) => (json === null ? 'none' : json.length > 120 ? `${json.slice(0, 117)}...` : json);

/**
 * What recording `row` again does to its recorded twin `old` (the same search, candidate and run):
 * the rung to record, the higher of the two; refused in one line naming the search, the candidate
 * and what differs when its role, parent, mutation (canonical JSON, `mutation`) or generation does.
 */
export function mergeSearchRun(where: string, old: SearchRunRow, row: SearchRunRow, mutation: string | null): number {
  const oldMutation = old.mutation === null ? null : canonicalize(old.mutation);
  const differs = [
    old.role !== row.role && `role '${old.role}', not '${row.role}'`,
    old.parent !== row.parent && `parent ${old.parent ?? 'none'}, not ${row.parent ?? 'none'}`,
    oldMutation !== mutation && `mutation ${brief(oldMutation)}, not ${brief(mutation)}`,
    old.generation !== row.generation && `generation ${old.generation}, not ${row.generation}`,
  ].filter((d): d is string => !!d);
  if (differs.length)
    throw new Error(`${where}: ${searchName(row.search)}, candidate ${row.candidate} (run ${row.runId}) is recorded with ${differs.join(', ')}; the search was resumed with other arguments: resume it with its own, or start another search`);
  return Math.max(old.rung, row.rung);
}
