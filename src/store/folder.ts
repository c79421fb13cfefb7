// The folder run store: one run in one folder, what `train --out DIR` writes.
//
//   DIR/checkpoint.safetensors   the current checkpoint (written whole, then renamed into place)
//   DIR/run.json                 the run, its attempts and its epochs (rewritten atomically)
//   DIR/claim.json               the attempt holding the run and its heartbeat
//
// A folder written before run.json existed holds only checkpoint.safetensors; the run is then
// read from the checkpoint. The claim is a file made with O_EXCL; a stale one (its heartbeat
// older than the lease) is taken over by renaming it away first, which only one taker can do.
// Writes check the claim file just before writing: enough for one machine, where SIGSTOP is
// what can pause a holder; the SQLite and PostgreSQL stores check it in the write's transaction.
import fs from 'node:fs';
import path from 'node:path';
import { requireFreeSpace, writeFileAtomic } from '../io/disk.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { classCount, recipeDifference, withNetwork } from '../train/config.js';
import type { EpochRecord } from '../train/record.js';
import type { Machine } from '../util/machine.js';
import { StoreClaim } from './claim.js';
import { convOf } from './rows.js';
import {
  ClaimLostError, holderLost, replan, runName, type AttemptOutcome, type AttemptRow, type ClaimRefusal, type Progress,
  type RunClaim, type RunRow, type RunSpec, type RunStore, type SearchRecord, type SearchRunRow, type WorkerIdentity,
} from './store.js';

export const CHECKPOINT = 'checkpoint.safetensors';
const RUN_FILE = 'run.json';
const CLAIM_FILE = 'claim.json';

interface RunFile {
  version: 1;
  run: Omit<RunRow, 'id'>;
  attempts: AttemptRow[];
  epochs: (EpochRecord & { attemptId: number | null })[];
}
interface ClaimFile {
  attemptId: number;
  worker: string;
  heartbeatAt: string;
  heartbeatSeconds: number;
  progress?: Progress | null;
}

const now = () => new Date().toISOString();
const attemptOf = (r: RunFile, id: number) => r.attempts.find((a) => a.id === id)!;
const json = (v: unknown) => [Buffer.from(JSON.stringify(v, null, 1) + '\n')];

export class FolderStore implements RunStore {
  readonly url: string;

  constructor(readonly dir: string) {
    this.url = dir;
  }

  get checkpointFile(): string {
    return path.join(this.dir, CHECKPOINT);
  }

  private readRunFile(): RunFile | null {
    const file = path.join(this.dir, RUN_FILE);
    if (fs.existsSync(file)) {
      try {
        const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunFile;
        // a run.json from before recipes held their network names one of the seven; one from before
        // machines recorded their convolution algorithm computed direct
        return {
          ...r, run: { ...r.run, recipe: withNetwork(r.run.recipe) },
          attempts: r.attempts.map((a) => ({ ...a, epochsPlanned: a.epochsPlanned ?? null, machine: a.machine && { ...a.machine, conv: convOf(a.machine.conv) } })),
        };
      } catch (e) {
        throw new Error(`${file}: not a readable run file (${(e as Error).message}); move it away to start the run afresh`);
      }
    }
    if (!fs.existsSync(this.checkpointFile)) return null;
    // a run folder from before run.json: the checkpoint holds the recipe and the epochs
    const { meta } = loadCheckpoint(this.checkpointFile);
    const done = meta.epoch >= meta.recipe.epochs && !meta.position;
    return {
      version: 1,
      run: {
        model: meta.recipe.model, dataset: meta.recipe.dataset, recipe: meta.recipe, classes: classCount(meta.recipe), params: meta.params, macs: 0,
        epochsPlanned: meta.recipe.epochs, status: done ? 'complete' : 'interrupted', error: null, attemptId: null, crashes: 0,
        startedAt: meta.history[0]?.finishedAt || null, finishedAt: null, seconds: done ? meta.history.reduce((s, e) => s + e.seconds, 0) : null, progress: null,
      },
      attempts: [],
      epochs: meta.history.map((e) => ({ ...e, attemptId: null })),
    };
  }

  private writeRunFile(r: RunFile): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, RUN_FILE), json(r));
  }

  private readClaim(): ClaimFile | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, CLAIM_FILE), 'utf8')) as ClaimFile;
    } catch {
      return null;
    }
  }

  async ensureRun(spec: RunSpec): Promise<RunRow> {
    const r = this.readRunFile();
    if (r) {
      const diff = recipeDifference(r.run.recipe, spec.recipe, ['epochs']);
      if (diff) throw new Error(`${this.dir}: cannot resume with a different recipe: ${diff}; use another --out for a new run`);
      // a run may be given more epochs (unless its schedule depends on them): it is then not complete any more
      if (spec.recipe.epochs !== r.run.recipe.epochs) {
        replan(this.dir, { id: 1, ...r.run, epochsPlanned: r.run.recipe.epochs }, spec, r.epochs.length);
        r.run.recipe = spec.recipe;
        r.run.epochsPlanned = spec.recipe.epochs;
        if (r.run.status === 'complete' && r.epochs.length < spec.recipe.epochs) r.run.status = 'interrupted';
        this.writeRunFile(r);
      }
      return { id: 1, ...r.run };
    }
    const run: RunFile['run'] = {
      ...spec, epochsPlanned: spec.recipe.epochs, status: 'queued', error: null, attemptId: null, crashes: 0,
      startedAt: null, finishedAt: null, seconds: null, progress: null,
    };
    this.writeRunFile({ version: 1, run, attempts: [], epochs: [] });
    return { id: 1, ...run };
  }

  async runs(): Promise<RunRow[]> {
    const r = this.readRunFile();
    if (!r) return [];
    const held = this.readClaim();
    return [{ id: 1, ...r.run, progress: held && held.attemptId === r.run.attemptId ? held.progress ?? null : null }];
  }

  async run(model: string, dataset: string): Promise<RunRow | undefined> {
    return (await this.runs()).find((r) => r.model === model && r.dataset === dataset);
  }

  async epochs(_runId: number): Promise<EpochRecord[]> {
    return (this.readRunFile()?.epochs ?? []).map(({ attemptId: _, ...e }) => e);
  }

  async attempts(_runId: number): Promise<AttemptRow[]> {
    return this.readRunFile()?.attempts ?? [];
  }

  async checkpoint(_runId: number): Promise<Checkpoint | null> {
    return fs.existsSync(this.checkpointFile) ? loadCheckpoint(this.checkpointFile) : null;
  }

  async claim(_runId: number, worker: WorkerIdentity): Promise<RunClaim | ClaimRefusal> {
    const r = this.readRunFile();
    if (!r) throw new Error(`${this.dir}: no run recorded here`);
    const name = runName(r.run);
    if (r.run.status === 'complete') return { refused: 'done', reason: `${name} is complete in ${this.dir}` };
    if (r.run.status === 'failed') return { refused: 'failed', reason: `${name} failed: ${r.run.error ?? 'unknown error'}` };
    const claimFile = path.join(this.dir, CLAIM_FILE);
    const held = this.readClaim();
    if (held) {
      const silent = (Date.now() - Date.parse(held.heartbeatAt)) / 1000;
      const lost = holderLost(held, silent);
      if (!lost)
        return { refused: 'busy', reason: `${name} is held by ${held.worker} (attempt ${held.attemptId}, heartbeat ${silent.toFixed(0)} s ago)` };
      try {
        fs.renameSync(claimFile, `${claimFile}.stale-${process.pid}`); // only one taker wins this rename
        fs.rmSync(`${claimFile}.stale-${process.pid}`, { force: true });
      } catch {
        return { refused: 'busy', reason: `${name} is being taken by another worker` };
      }
      const a = r.attempts.find((x) => x.id === held.attemptId);
      if (a && a.outcome === 'running') Object.assign(a, { outcome: 'crashed', endedAt: now(), error: lost });
      r.run.crashes += 1;
    }
    const attemptId = Math.max(0, ...r.attempts.map((a) => a.id)) + 1;
    const t = now();
    fs.mkdirSync(this.dir, { recursive: true });
    try {
      fs.writeFileSync(claimFile, JSON.stringify({ attemptId, worker: worker.name, heartbeatAt: t, heartbeatSeconds: worker.heartbeat } satisfies ClaimFile), { flag: 'wx' });
    } catch {
      return { refused: 'busy', reason: `${name} was just taken by another worker` };
    }
    const previous = [...r.attempts].reverse().find((a) => a.firstBatch) ?? null;
    r.attempts.push({ id: attemptId, runId: 1, worker: worker.name, startedAt: t, endedAt: null, outcome: 'running', error: null, firstBatch: null, refusedWrites: 0, epochsPlanned: r.run.epochsPlanned, machine: null, heartbeatAt: t, heartbeatSeconds: worker.heartbeat });
    Object.assign(r.run, { status: 'running', attemptId, startedAt: r.run.startedAt ?? t, progress: null });
    this.writeRunFile(r);
    return new StoreClaim(this, {
      attemptId, run: { id: 1, ...r.run }, previous, where: this.checkpointFile, livenessUrl: this.dir, heartbeat: worker.heartbeat, maxCrashes: Infinity,
    });
  }

  /** Runs `write` on the run file if `attemptId` still holds the claim; else counts the refusal and throws ClaimLostError. */
  fenced(attemptId: number, write: (r: RunFile) => void): void {
    const held = this.readClaim();
    const r = this.readRunFile()!;
    if (held?.attemptId !== attemptId) {
      const a = r.attempts.find((x) => x.id === attemptId);
      if (a) a.refusedWrites += 1;
      this.writeRunFile(r);
      throw new ClaimLostError(attemptId, runName(r.run), held ? `attempt ${held.attemptId} (${held.worker})` : 'another worker');
    }
    write(r);
    this.writeRunFile(r);
  }

  /** The liveness thread's write: claim.json only (run.json is the training thread's), so the two never race. */
  async heartbeat(attemptId: number, progress: Progress | null): Promise<boolean> {
    const held = this.readClaim();
    if (held?.attemptId !== attemptId) return false;
    writeFileAtomic(path.join(this.dir, CLAIM_FILE), [Buffer.from(JSON.stringify({ ...held, heartbeatAt: now(), progress } satisfies ClaimFile))]);
    return true;
  }

  async retry(_runId: number): Promise<void> {
    const r = this.readRunFile();
    if (!r || r.run.status !== 'failed') throw new Error(`${this.dir}: the run is ${r?.run.status ?? 'absent'}, not failed; only a failed run can be retried`);
    Object.assign(r.run, { status: 'queued', crashes: 0, error: null, finishedAt: null });
    this.writeRunFile(r);
  }

  // a search is many runs: a folder holds none, and refuses to record one
  async recordSearch(_id: string, _spec: unknown): Promise<void> {
    throw this.noSearches();
  }

  async searches(): Promise<SearchRecord[]> {
    return [];
  }

  async recordSearchRun(_row: SearchRunRow): Promise<void> {
    throw this.noSearches();
  }

  async searchRuns(_search: string): Promise<SearchRunRow[]> {
    return [];
  }

  private noSearches(): Error {
    return new Error(`${this.url}: a run folder holds one run; a search needs sqlite:PATH or postgres://…`);
  }

  // --- the claim's writes (StoreClaim calls these) ---

  start(attemptId: number, first: { epoch: number; batch: number }, machine: Machine): void {
    this.fenced(attemptId, (r) => {
      Object.assign(attemptOf(r, attemptId), { firstBatch: first, machine });
      r.epochs = r.epochs.filter((e) => e.epoch < first.epoch);
    });
  }

  recordEpoch(attemptId: number, e: EpochRecord): void {
    this.fenced(attemptId, (r) => {
      r.epochs = [...r.epochs.filter((x) => x.epoch !== e.epoch), { ...e, attemptId }].sort((a, b) => a.epoch - b.epoch);
    });
  }

  saveCheckpoint(attemptId: number, _runId: number, c: Checkpoint): void {
    // checked first, then written and renamed into place: the rename is what makes it current
    this.fenced(attemptId, () => {});
    fs.mkdirSync(this.dir, { recursive: true });
    saveCheckpoint(this.checkpointFile, c);
  }

  checkSpace(_runId: number, bytes: number): void {
    requireFreeSpace(this.dir, bytes, 'the next checkpoint');
  }

  finish(attemptId: number, outcome: Exclude<AttemptOutcome, 'running'>, error: string | null): void {
    this.fenced(attemptId, (r) => {
      const t = now();
      Object.assign(attemptOf(r, attemptId), { outcome, endedAt: t, error });
      const seconds = r.epochs.reduce((s, e) => s + e.seconds, 0);
      r.run.attemptId = null;
      r.run.progress = null;
      if (outcome === 'complete') Object.assign(r.run, { status: 'complete', error: null, finishedAt: t, seconds });
      else if (outcome === 'failed') Object.assign(r.run, { status: 'failed', error, finishedAt: t, seconds });
      else if (outcome === 'interrupted') r.run.status = 'interrupted';
      else {
        // counted, but a folder's run is resumed by hand (`train --resume`), so crashes never fail it
        r.run.crashes += 1;
        r.run.status = 'queued';
        r.run.error = error;
      }
    });
    if (this.readClaim()?.attemptId === attemptId) fs.rmSync(path.join(this.dir, CLAIM_FILE), { force: true });
  }

  async close(): Promise<void> {}
}
