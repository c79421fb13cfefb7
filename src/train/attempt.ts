// One attempt at one run, the same for train, experiment and worker: train through the claim,
// then end the attempt as it went. Complete, diverged/bad data (failed, not retried), stopped by
// a signal (interrupted: handed back, resumes at once), lost to another worker (nothing more is
// written), or crashed (any other error: queued again, up to the store's crash limit).
import { ClaimLostError, RunFailure, runName, type RunClaim } from '../store/store.js';
import type { TrainConfig } from './config.js';
import { Interrupted, type StopSignal } from './stop.js';
import { train, type TrainHooks, type TrainOptions, type TrainResult } from './trainer.js';
import { display } from '../util/display.js';

export type AttemptEnd =
  | { outcome: 'complete'; result: TrainResult }
  | { outcome: 'interrupted'; signal: StopSignal; epoch: number; batch: number }
  | { outcome: 'failed' | 'crashed' | 'lost'; error: string };

export async function runAttempt(claim: RunClaim, c: TrainConfig, opts: Omit<TrainOptions, 'claim'>, hooks: TrainHooks = {}): Promise<AttemptEnd> {
  const info = hooks.info ?? ((l: string) => display.warn(l));
  let end: AttemptEnd;
  try {
    const result = await train(c, { ...opts, claim }, hooks);
    end = { outcome: 'complete', result };
  } catch (e) {
    const message = (e as Error).message;
    if (e instanceof ClaimLostError) end = { outcome: 'lost', error: message };
    else if (e instanceof Interrupted) end = { outcome: 'interrupted', signal: e.signal, epoch: e.epoch, batch: e.batch };
    else if (e instanceof RunFailure) end = { outcome: 'failed', error: message };
    else end = { outcome: 'crashed', error: message };
  }
  try {
    if (end.outcome === 'lost') await claim.abandon();
    else await claim.finish(end.outcome, 'error' in end ? end.error : undefined);
  } catch (e) {
    if (!(e instanceof ClaimLostError)) throw e;
    await claim.abandon();
    end = { outcome: 'lost', error: e.message };
  }
  if (end.outcome === 'lost') info(`googlenet: ${runName(c.recipe)}: ${end.error}`);
  return end;
}
