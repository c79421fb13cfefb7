// `googlenet train`, `test` and `experiment` end to end on ../shared/data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readSafetensors, readSafetensorsMetadata } from '../src/io/safetensors.js';
import { modelNames } from '../src/models/googlenet.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { bin, cli, start, until } from './processes.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-train-'));

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('googlenet:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

test('train --dry-run works for all seven networks on both datasets, in seconds', sharedOpts, () => {
  for (const dataset of ['cifar10', 'cifar100'])
    for (const model of modelNames()) {
      const out = tmp();
      // the same path as at batch 64, but a training step of 2 images: at 64, googlenet-naive's one
      // step (11 GMACs an image) was most of this test's time
      const r = cli(['train', '--model', model, '--dataset', dataset, '--data-dir', sharedPath('data'), '--dry-run', '--batch-size', '2', '--out', out, '--json']);
      assert.equal(r.code, 0, `${model} ${dataset}: ${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      assert.match(r.stdout, /^Train Epoch: 1 \[0\/10000 \(0%\)\]\tLoss: \d+\.\d{6}$/m);
      assert.match(r.stdout, /^Test set: Average loss: \d+\.\d{4}, Top 1 Error: \d+\/10 \(\d\.\d\d\), Top 5 Error: \d+\/10 \(\d\.\d\d\)$/m);
      const json = JSON.parse(lines.at(-1)!);
      assert.equal(json.model, model);
      assert.equal(json.epochs.length, 1);
      assert.deepEqual(Object.keys(json.epochs[0]), ['epoch', 'train_loss', 'test_loss', 'top1_error', 'top5_error', 'seconds']);
      assert.match(r.stdout, new RegExp(`^Parameters: ${json.params}$`, 'm'));
      assert.deepEqual(fs.readdirSync(out), [], 'a dry run writes no checkpoint');
    }
});

test('bad flags, unknown models and misfit weights: one-line errors', sharedOpts, () => {
  const data = sharedPath('data');
  oneLineError(cli(['train', '--model', 'resnet50', '--data-dir', data]), /unknown model 'resnet50'; choose one of: googlenet/);
  oneLineError(cli(['train', '--optimizer', 'rmsprop', '--data-dir', data]), /--optimizer must be one of adadelta, sgd, adam, adamw, got 'rmsprop'/);
  oneLineError(cli(['train', '--epochs', '0', '--data-dir', data]), /--epochs must be a positive integer, got '0'/);
  oneLineError(cli(['train', '--lr', 'fast', '--data-dir', data]), /--lr must be a non-negative number, got 'fast'/);
  oneLineError(cli(['train', '--scheduler', 'multistep', '--data-dir', data, '--dry-run']), /--scheduler multistep needs --milestones/);
  oneLineError(cli(['train', '--bogus']), /unknown option '--bogus'/);
  oneLineError(cli(['train', '--dataset', 'cifar10', '--coarse', '--data-dir', data, '--dry-run']), /--coarse needs --dataset cifar100/);
  // CIFAR-100's superclasses: 20 outputs
  const coarse = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar100', '--coarse', '--data-dir', data, '--dry-run', '--json']);
  assert.equal(coarse.code, 0, coarse.stderr);
  assert.equal(JSON.parse(coarse.stdout.trim().split('\n').at(-1)!).params, 1643796 - 80 * 1025);
  oneLineError(cli(['experiment', '--models', 'googlenet,tiny', '--out', tmp()]), /unknown model 'tiny'/);
  // weights of googlenet-short4 tested as googlenet: missing and unexpected tensors named
  const out = tmp();
  assert.equal(cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--out', out, '--save-model']).code, 0);
  oneLineError(cli(['test', '--model', 'googlenet', '--dataset', 'cifar10', '--data-dir', data, '--weights', path.join(out, 'model.safetensors')]),
    /model\.safetensors does not fit GoogLeNet: missing a3\.b1\.0\.weight, .* and \d+ more; a4\.b1\.0\.weight has shape \[192, 192, 1, 1\], expected \[192, 480, 1, 1\]; .*; and 5 more misshaped$/);
  oneLineError(cli(['test', '--model', 'googlenet-short4', '--dataset', 'cifar100', '--data-dir', data, '--weights', path.join(out, 'model.safetensors')]),
    /linear\.weight has shape \[10, 1024\], expected \[100, 1024\]/);
  // a finished run is not silently overwritten
  oneLineError(cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-train', '64', '--epochs', '1', '--out', out]),
    /checkpoint\.safetensors exists: pass --resume to continue that run, or choose another --out/);
  // test reports the seed's metrics for the saved weights
  const t = cli(['test', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--weights', path.join(out, 'model.safetensors'), '--limit-test', '50', '--json']);
  assert.equal(t.code, 0, t.stderr);
  const m = JSON.parse(t.stdout.trim().split('\n').at(-1)!);
  assert.deepEqual(Object.keys(m), ['loss', 'top1_error', 'top5_error', 'n']);
  assert.equal(m.n, 50);
});

test('a NaN loss stops the run with a clear message and keeps the last good checkpoint', sharedOpts, () => {
  const out = tmp();
  // epoch 1 trains at lr 0.01; StepLR's gamma 1e30 makes epoch 2's lr absurd
  const r = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '128', '--limit-test', '20',
    '--epochs', '3', '--optimizer', 'sgd', '--lr', '0.01', '--gamma', '1e30', '--out', out]);
  oneLineError(r, /training diverged: loss is (NaN|Infinity) at epoch 2, batch \d; the last good checkpoint \(epoch 1\) is kept in .*checkpoint\.safetensors; lower --lr/);
  assert.equal(loadCheckpoint(path.join(out, 'checkpoint.safetensors')).meta.epoch, 1);
});

/** SIGKILLs the child as soon as `ready()` holds (polled every 5 ms), and waits until it is gone. */
async function killWhen(child: ChildProcess, ready: () => boolean, tooLate: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (!ready()) return;
      clearInterval(timer);
      child.kill('SIGKILL');
      resolve();
    }, 5);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error(tooLate));
    });
  });
  await new Promise((r) => child.on('close', r));
}

/** The checkpoint the experiment store in `dir` names as current for a run, or null. */
function currentCheckpoint(dir: string, run: string): string | null {
  try {
    const db = new Database(path.join(dir, 'experiment.sqlite'), { readonly: true, fileMustExist: true });
    const row = db.prepare(`SELECT checkpoint FROM runs WHERE model || '-' || dataset = ?`).get(run) as { checkpoint: string | null } | undefined;
    db.close();
    return row?.checkpoint ? path.join(dir, row.checkpoint) : null;
  } catch {
    return null; // not created yet
  }
}

function runExperiment(out: string, extra: string[] = []) {
  return ['experiment', '--dataset', 'cifar10', '--models', 'googlenet-short4,googlenet-short3', '--data-dir', sharedPath('data'),
    '--limit-train', '640', '--limit-test', '100', '--epochs', '2', '--save-model', '--out', out, ...extra];
}

test('experiment: tables, JSON, plots and SQLite agree; a run killed with SIGKILL resumes to the same weights and metrics', sharedOpts, async () => {
  const a = tmp(), b = tmp();
  const clean = cli(runExperiment(a));
  assert.equal(clean.code, 0, clean.stderr);

  // the same experiment, stopped by Ctrl-C (SIGINT) within its first epoch: checkpoint, hand back, exit 130
  const term = start(runExperiment(b));
  await until(() => /^Train Epoch: 1 \[0\/640 /m.test(term.out.stdout), term.exit, 'the experiment ended before Ctrl-C');
  term.child.kill('SIGINT');
  assert.equal(await term.exit, 130, term.out.stderr);
  const stoppedAt = Number(term.out.stderr.match(/stopped at epoch 1, batch (\d+); .*Resume with: googlenet --threads 2 experiment /)?.[1]);
  assert.ok(stoppedAt >= 1 && stoppedAt < 10, term.out.stderr);
  const status = cli(['status', '--store', `sqlite:${path.join(b, 'experiment.sqlite')}`, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const first = (JSON.parse(status.stdout.trim().split('\n').at(-1)!) as { runs: { model: string; status: string; attempts: { outcome: string; first_batch: unknown }[] }[] }).runs[0];
  assert.deepEqual([first.model, first.status, first.attempts.map((x) => x.outcome)], ['googlenet-short4', 'interrupted', ['interrupted']]);

  // resumed by the same command at the next batch, then SIGKILLed once epoch 1 of the first run is checkpointed
  const child = spawn(process.execPath, [bin, '--threads', '2', ...runExperiment(b)], { stdio: 'ignore' });
  const epochsDone = () => {
    const file = currentCheckpoint(b, 'googlenet-short4-cifar10');
    try {
      return file ? (JSON.parse(readSafetensorsMetadata(file)['googlenet.checkpoint']) as { epoch: number }).epoch : 0;
    } catch {
      return 0; // replaced while reading
    }
  };
  await killWhen(child, () => epochsDone() >= 1, 'the experiment ended before it could be killed');
  const killedAt = loadCheckpoint(currentCheckpoint(b, 'googlenet-short4-cifar10')!).meta.epoch;
  assert.equal(killedAt, 1, 'killed after epoch 1 of the first run');
  const resumed = cli(runExperiment(b));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming googlenet-short4 on cifar10 from .*: 1 of 2 epochs done, starting epoch 2/);
  const db0 = new Database(path.join(b, 'experiment.sqlite'), { readonly: true });
  const tried = db0.prepare(`SELECT a.outcome, a.first_epoch, a.first_batch FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.model = 'googlenet-short4' ORDER BY a.id`).all();
  db0.close();
  assert.deepEqual(tried, [
    { outcome: 'interrupted', first_epoch: 1, first_batch: 0 }, { outcome: 'crashed', first_epoch: 1, first_batch: stoppedAt }, { outcome: 'complete', first_epoch: 2, first_batch: 0 },
  ]);
  assert.equal((resumed.stdout.match(/^Train Epoch: 1 /gm) ?? []).length, 1, 'only the second run trains an epoch 1');

  for (const model of ['googlenet-short4', 'googlenet-short3']) {
    const wa = readSafetensors(path.join(a, `${model}-cifar10-s1`, 'model.safetensors'));
    const wb = readSafetensors(path.join(b, `${model}-cifar10-s1`, 'model.safetensors'));
    assert.deepEqual([...wb.keys()], [...wa.keys()]);
    for (const [k, v] of wa) assert.deepEqual(wb.get(k)!.data, v.data, `${model} ${k} differs after resume`);
  }
  const rows = (dir: string) => new Database(path.join(dir, 'experiment.sqlite'), { readonly: true })
    .prepare('SELECT r.model, e.epoch, e.train_loss, e.test_loss, e.top1_error, e.top5_error, e.lr FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY r.model, e.epoch').all();
  assert.deepEqual(rows(b), rows(a), 'metrics (times aside) equal the uninterrupted run');

  // results.md, results.json, the SVGs and the database agree
  const db = new Database(path.join(a, 'experiment.sqlite'), { readonly: true });
  const runs = db.prepare("SELECT * FROM runs WHERE status = 'complete'").all() as { id: number; model: string; params: number; macs: number }[];
  assert.equal(runs.length, 2);
  const json = JSON.parse(fs.readFileSync(path.join(a, 'results.json'), 'utf8'));
  const md = fs.readFileSync(path.join(a, 'results.md'), 'utf8');
  for (const run of runs) {
    const last = db.prepare('SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch DESC LIMIT 1').get(run.id) as { epoch: number; top1_error: number; top5_error: number };
    assert.equal(last.epoch, 2);
    const row = json.datasets.cifar10.find((r: { model: string }) => r.model === run.model);
    assert.equal(row.top1Error, last.top1_error);
    assert.equal(row.top5Error, last.top5_error);
    assert.equal(row.params, run.params);
    assert.equal(row.macs, run.macs);
    const line = md.split('\n').find((l) => l.startsWith(`| ${run.model} |`));
    assert.ok(line, `results.md has a row for ${run.model}`);
    assert.ok(line.includes(`| ${last.top1_error.toFixed(2)} | ${last.top5_error.toFixed(2)} | ${run.params.toLocaleString('en-US')}†`), line);
  }
  for (const plot of ['cifar10-test-top1.svg', 'cifar10-train-loss.svg', 'cifar10-top1-vs-params.svg']) {
    const svg = fs.readFileSync(path.join(a, 'plots', plot), 'utf8');
    assert.ok(svg.startsWith('<svg') && svg.includes('googlenet-short4') && svg.includes('googlenet-short3'), plot);
  }
  // running it again skips both complete runs
  const again = cli(runExperiment(a));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /googlenet-short4 on cifar10: complete in sqlite:.*experiment\.sqlite, skipped/);
  assert.doesNotMatch(again.stdout, /Train Epoch/);
});

test('two experiment processes on one folder never train the same run at the same time', sharedOpts, async () => {
  const dir = tmp();
  // small runs, one thread each: the two processes share this machine's cores
  const args = ['--threads', '1', 'experiment', '--dataset', 'cifar10', '--models', 'googlenet-short4,googlenet-short3', '--data-dir', sharedPath('data'),
    '--limit-train', '320', '--limit-test', '20', '--epochs', '1', '--out', dir];
  const p = start(args), q = start(args);
  assert.deepEqual(await Promise.all([p.exit, q.exit]), [0, 0], p.out.stderr + q.out.stderr);
  const db = new Database(path.join(dir, 'experiment.sqlite'), { readonly: true });
  const attempts = db.prepare(`SELECT r.model, a.worker, a.outcome FROM attempts a JOIN runs r ON r.id = a.run_id ORDER BY a.id`).all() as { model: string; worker: string; outcome: string }[];
  db.close();
  // each run was trained by one attempt of one process; the two processes took one run each
  assert.deepEqual(attempts.map((a) => a.outcome), ['complete', 'complete']);
  assert.deepEqual(attempts.map((a) => a.model).sort(), ['googlenet-short3', 'googlenet-short4']);
  assert.notEqual(attempts[0].worker, attempts[1].worker);
  assert.equal((p.out.stdout + q.out.stdout).match(/^Train Epoch: 1 \[0\/320 /gm)?.length, 2, 'each run trained its first epoch once');
  assert.match(p.out.stderr + q.out.stderr, /waiting for runs other workers hold: googlenet-short\d on cifar10 is held by /);
});

test('a run SIGKILLed within an epoch resumes at the batch after its last checkpoint, to the same weights and metrics', sharedOpts, async () => {
  const args = (out: string) => ['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '640',
    '--limit-test', '100', '--batch-size', '32', '--epochs', '2', '--checkpoint-every', '0.001', '--save-model', '--out', out, '--json'];
  const a = tmp(), b = tmp();
  const clean = cli(args(a));
  assert.equal(clean.code, 0, clean.stderr);

  // the same run, killed once a checkpoint taken within epoch 1 exists (checkpoints come about every batch here)
  const child = spawn(process.execPath, [bin, '--threads', '2', ...args(b)], { stdio: 'ignore' });
  const ckpt = path.join(b, 'checkpoint.safetensors');
  const position = () => {
    try {
      return (JSON.parse(readSafetensorsMetadata(ckpt)['googlenet.checkpoint']) as { position?: { epoch: number; batches: number } }).position ?? null;
    } catch {
      return null; // not written yet
    }
  };
  await killWhen(child, () => {
    const p = position();
    return !!p && p.epoch === 1 && p.batches >= 3;
  }, 'the run ended before it could be killed within epoch 1');
  const at = loadCheckpoint(ckpt).meta;
  assert.equal(at.epoch, 0, 'no epoch was complete');
  assert.ok(at.position && at.position.epoch === 1 && at.position.batches >= 3 && at.position.batches < 20, JSON.stringify(at.position));

  const resumed = cli([...args(b), '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`0 of 2 epochs done, starting epoch 1 at batch ${at.position!.batches + 1} of 20`));
  // the seed's log lines of epoch 1 resume where it stopped: the line of batch 0 is not logged again
  assert.doesNotMatch(resumed.stdout, /^Train Epoch: 1 \[0\/640 /m);
  if (at.position!.batches <= 10) assert.match(resumed.stdout, /^Train Epoch: 1 \[320\/640 /m);

  const wa = readSafetensors(path.join(a, 'model.safetensors')), wb = readSafetensors(path.join(b, 'model.safetensors'));
  assert.deepEqual([...wb.keys()], [...wa.keys()]);
  for (const [k, v] of wa) assert.deepEqual(wb.get(k)!.data, v.data, `${k} differs after a mid-epoch resume`);
  const metrics = (stdout: string) => (JSON.parse(stdout.trim().split('\n').at(-1)!).epochs as Record<string, number>[]).map(({ seconds: _, ...m }) => m);
  assert.deepEqual(metrics(resumed.stdout), metrics(clean.stdout), 'epoch metrics (times aside) equal the uninterrupted run');
  const attempts = (JSON.parse(fs.readFileSync(path.join(b, 'run.json'), 'utf8')) as { attempts: { outcome: string; firstBatch: unknown }[] }).attempts;
  assert.deepEqual(attempts.map((x) => [x.outcome, x.firstBatch]), [['crashed', { epoch: 1, batch: 0 }], ['complete', { epoch: 1, batch: at.position!.batches }]]);

  // Ctrl-C: a checkpoint at the next batch, the attempt marked interrupted, exit 130 and how to resume; the same command with --resume finishes it
  const c = tmp();
  const run = start(args(c).map((x) => (x === '0.001' ? '0' : x)));
  await until(() => /^Train Epoch: 1 \[320\/640 /m.test(run.out.stdout), run.exit, 'the run ended before Ctrl-C');
  run.child.kill('SIGINT');
  assert.equal(await run.exit, 130, run.out.stderr);
  const stopped = run.out.stderr.match(/googlenet: stopped at epoch 1, batch (\d+); the checkpoint there is kept and the attempt is marked interrupted\. Resume with: googlenet --threads 2 train .* --resume$/m);
  assert.ok(stopped, run.out.stderr);
  const kept = loadCheckpoint(path.join(c, 'checkpoint.safetensors')).meta;
  assert.deepEqual([kept.epoch, kept.position?.epoch, kept.position?.batches], [0, 1, Number(stopped[1])]);
  const state = JSON.parse(fs.readFileSync(path.join(c, 'run.json'), 'utf8')) as { run: { status: string }; attempts: { outcome: string }[] };
  assert.deepEqual([state.run.status, state.attempts.map((x) => x.outcome)], ['interrupted', ['interrupted']]);
  const again = cli([...args(c).map((x) => (x === '0.001' ? '0' : x)), '--resume']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`starting epoch 1 at batch ${Number(stopped[1]) + 1} of 20`));
  const wc = readSafetensors(path.join(c, 'model.safetensors'));
  for (const [k, v] of wa) assert.deepEqual(wc.get(k)!.data, v.data, `${k} differs after Ctrl-C and resume`);
  assert.deepEqual(metrics(again.stdout), metrics(clean.stdout));
});
