// What the commands that train share: stopping on signals and saying how to resume, the --json
// result line, and a PostgreSQL store's queue.
import type { RunQueue } from '../queue/queue.js';
import type { RunStore } from '../store/store.js';
import { STOP_EXIT_CODE, StopRequest, type StopSignal } from '../train/stop.js';
import type { TrainResult } from '../train/trainer.js';
import { display } from '../util/display.js';

/** The `--json` result line: the run and its epochs, in the seed's snake_case names. */
export function jsonResult(r: TrainResult): string {
  return JSON.stringify({
    model: r.model, dataset: r.dataset, params: r.params,
    epochs: r.epochs.map((e) => ({
      epoch: e.epoch, train_loss: e.trainLoss, test_loss: e.testLoss, top1_error: e.top1Error, top5_error: e.top5Error,
      ...(e.valLoss === undefined ? {} : { val_loss: e.valLoss, val_top1_error: e.valTop1Error, val_top5_error: e.valTop5Error }), seconds: e.seconds,
    })),
    seconds: r.seconds,
  });
}

/** The first SIGINT/SIGTERM asks the loop to checkpoint and hand the run back; a second ends the process at once. */
export function stopOnSignals(): StopRequest {
  return new StopRequest((s) => display.warn(`googlenet: ${s}: checkpointing at the next batch and handing the run back (${s === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once)`)).install();
}

/** The command line that resumes this one: the same arguments, with `extra` added when absent. */
export function resumeCommand(extra: string[] = []): string {
  const args = process.argv.slice(2);
  return ['googlenet', ...args, ...extra.filter((a) => !args.includes(a))].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}

/** After a stop: how to resume, and the signal's exit code. */
export function reportInterrupted(end: { signal: StopSignal; epoch: number; batch: number }, resume: string): void {
  display.warn(`googlenet: stopped at epoch ${end.epoch}, batch ${end.batch}; the checkpoint there is kept and the attempt is marked interrupted. Resume with: ${resume}`);
  process.exitCode = STOP_EXIT_CODE[end.signal];
}

/**
 * The queue of a PostgreSQL store, or undefined for another store. pg and pg-boss are loaded only
 * here (open.ts loads the store's own module likewise): they add half a second to every command.
 */
export async function queueOf(store: RunStore): Promise<RunQueue | undefined> {
  if (!/^postgres(ql)?:/i.test(store.url)) return undefined;
  const [{ PostgresStore }, { RunQueue }] = await Promise.all([import('../store/postgres.js'), import('../queue/queue.js')]);
  return store instanceof PostgresStore ? RunQueue.open(store) : undefined;
}
