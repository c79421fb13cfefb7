// The CLI as a user runs it: bad input gives one line on stderr and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { f32, i64 } from '../src/tensor/host.js';
import { createModel } from '../src/models/googlenet.js';
import { repoRoot } from './helpers.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { defaultRecipe } from '../src/train/config.js';
import { runSpec } from '../src/train/spec.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-cli-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectError(args: string[], pattern: RegExp): void {
  const r = cli(...args);
  assert.notEqual(r.code, 0, `exit code for ${args.join(' ')}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}

// a small model's weights and a batch of 3 images for it
const weights = path.join(tmp, 'short4-c10.safetensors');
const m = createModel('googlenet-short4', 10);
writeSafetensors(weights, m.stateDict());
m.dispose();
const batch = path.join(tmp, 'batch.safetensors');
writeSafetensors(batch, {
  input: f32([3, 3, 32, 32], Float32Array.from({ length: 3 * 3 * 32 * 32 }, (_, i) => Math.cos(i))),
  target: i64([3], [1, 9, 4]),
  extra: f32([1], [0]),
});

test('step runs any model and class count and writes the fixture-named results', () => {
  const out = path.join(tmp, 'r.safetensors');
  const r = cli('step', '--model', 'googlenet-short4', '--classes', '10', '--weights', weights, '--input', batch, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const res = readSafetensors(out);
  assert.deepEqual(res.get('train_logits')!.shape, [3, 10]);
  assert.deepEqual(res.get('eval_logits_after_step')!.shape, [3, 10]);
  assert.deepEqual(res.get('loss')!.shape, []);
  assert.ok(res.has('grad.a4.b3.3.weight') && res.has('a4.b3.4.running_var') && res.has('linear.bias'));
  assert.ok(!res.has('extra') && !res.has('input'));
});

test('bad flags and files: one-line errors, non-zero exit', () => {
  expectError(['step', '--model', 'googlenet-huge', '--weights', weights, '--input', batch, '--out', 'x'], /unknown model 'googlenet-huge'; choose one of/);
  expectError(['step', '--classes', 'ten', '--weights', weights, '--input', batch, '--out', 'x'], /--classes must be a positive integer, got 'ten'/);
  expectError(['step', '--weights', weights, '--input', batch], /required option '--out <file>' not specified/);
  expectError(['step', '--model', 'googlenet-short4', '--classes', '10', '--weights', path.join(tmp, 'nope.safetensors'), '--input', batch, '--out', 'x'], /nope.safetensors: no such file/);
  // weights for 10 classes loaded as 100 classes: misshaped tensors named
  expectError(['step', '--model', 'googlenet-short4', '--classes', '100', '--weights', weights, '--input', batch, '--out', 'x'], /does not fit GoogLeNet: linear.weight has shape \[10, 1024\], expected \[100, 1024\]/);
  // weights of another model: missing and unexpected names
  expectError(['step', '--model', 'googlenet-short3', '--classes', '10', '--weights', weights, '--input', batch, '--out', 'x'], /does not fit GoogLeNet: missing a3\.b1\.0\.weight.*unexpected a4\./);
  const truncated = path.join(tmp, 'truncated.safetensors');
  const full = fs.readFileSync(weights);
  for (const cut of [5000, full.length - 1000]) {
    fs.writeFileSync(truncated, full.subarray(0, cut));
    expectError(['step', '--model', 'googlenet-short4', '--classes', '10', '--weights', truncated, '--input', batch, '--out', 'x'], /truncated\.safetensors: .*truncated/);
  }
  const badBatch = path.join(tmp, 'bad-batch.safetensors');
  writeSafetensors(badBatch, { input: f32([1, 3, 32, 32], new Float32Array(3072)), target: i64([1], [10]) });
  expectError(['step', '--model', 'googlenet-short4', '--classes', '10', '--weights', weights, '--input', badBatch, '--out', 'x'], /target\[0\] = 10 is out of range for 10 classes/);
  assert.ok(!fs.existsSync('x'), 'no output file is written on failure');
});

test('train, experiment and worker --help: options grouped as recipe, data, run and output, then examples', () => {
  for (const command of ['train', 'experiment', 'worker']) {
    const r = cli(command, '--help');
    assert.equal(r.code, 0, r.stderr);
    const headings = r.stdout.split('\n').filter((l) => /^\S.*:$/.test(l));
    const expected = command === 'worker' ? ['Data:', 'Run:', 'Output:'] : ['Recipe (what is trained; another recipe is another run):', 'Data:', 'Run:', 'Output:'];
    assert.deepEqual(headings, [...expected, 'Options:', 'Global Options:', 'Examples:'], r.stdout);
    assert.match(r.stdout, new RegExp(`^  googlenet .*${command} --`, 'm'), 'an example command line');
    assert.match(r.stdout, /^  --quiet /m, 'the global options shown');
  }
  const train = cli('train', '--help').stdout;
  const group = (heading: string) => train.slice(train.indexOf(`\n${heading}`), train.indexOf('\n\n', train.indexOf(`\n${heading}`) + 1));
  assert.match(group('Recipe'), /--lr <lr>/);
  assert.match(group('Data:'), /--data-dir <dir>/);
  assert.match(group('Run:'), /--resume/);
  assert.match(group('Output:'), /--json/);
});

test('excess arguments are refused (commander 13+)', () => {
  expectError(['summary', 'googlenet'], /too many arguments for 'summary'/);
});

test('status, report, dashboard, export and retry refuse a store that is not there, in one line, and create nothing', () => {
  const missing = path.join(tmp, 'no-such-experiment');
  const db = `sqlite:${path.join(missing, 'experiment.sqlite')}`;
  const noStore = /no such store \(.*experiment\.sqlite does not exist\); check the path/;
  expectError(['status', '--store', db], noStore);
  expectError(['report', '--store', db, '--out', path.join(tmp, 'report-out')], noStore);
  expectError(['dashboard', '--out', missing, '--port', '0'], noStore);
  expectError(['export', 'googlenet', 'cifar10', '--store', db, '--out', path.join(tmp, 'x.safetensors')], noStore);
  expectError(['retry', '--store', db, 'googlenet', 'cifar10'], noStore);
  expectError(['status', '--store', missing], /no-such-experiment: no such run folder; check the path/);
  for (const p of [missing, path.join(tmp, 'report-out'), path.join(tmp, 'x.safetensors')]) assert.ok(!fs.existsSync(p), `${p} was created`);
});

test('experiment needs --out only where it writes a report: not with --enqueue-only (nor --dry-run)', () => {
  const small = ['--dataset', 'cifar10', '--models', 'googlenet-short4', '--limit-train', '8', '--limit-test', '8', '--epochs', '1'];
  expectError(['experiment', ...small], /^googlenet: experiment writes its report to --out DIR: pass --out \(only --enqueue-only and --dry-run, which write no report, go without\)$/);
  // --enqueue-only without a store to record into: the store is what is missing, named with its fixes
  const env = { ...process.env };
  delete env.GOOGLENET_STORE;
  const none = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), 'experiment', ...small, '--enqueue-only'], { encoding: 'utf8', env });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^googlenet: no run store: pass --store URL .* or set GOOGLENET_STORE\n$/);
  const db = path.join(tmp, 'enqueue-only.sqlite');
  const r = cli('experiment', ...small, '--enqueue-only', '--store', `sqlite:${db}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /recorded 1 runs in sqlite:/);
  const listed = cli('status', '--store', `sqlite:${db}`, '--json');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(JSON.parse(listed.stdout.trim().split('\n').at(-1)!).runs.map((x: { model: string; status: string }) => `${x.model} ${x.status}`), ['googlenet-short4 queued']);
  assert.match(cli('experiment', '--help').stdout, /required, except with --enqueue-only or\s+--dry-run, which write no report/);
});

test('one file per command: each file in src/cli/commands is a command the program lists, and no file under src/cli is over 200 lines', () => {
  const dir = path.join(repoRoot, 'src', 'cli');
  const files = fs.readdirSync(path.join(dir, 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
  const listed = cli('--help').stdout.split('\n').map((l) => l.match(/^  ([a-z]+)\b/)?.[1]).filter((c): c is string => !!c && c !== 'help');
  assert.deepEqual(listed.slice().sort(), files);
  for (const f of [...fs.readdirSync(dir).filter((f) => f.endsWith('.ts')), ...files.map((f) => `commands/${f}.ts`)]) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n').length;
    assert.ok(lines <= 200, `src/cli/${f} has ${lines} lines`);
  }
});

test('status, export and retry name a run among several of one network and dataset by seed and hold-out, or by id; an ambiguous name is refused listing them', async () => {
  const file = path.join(tmp, 'several', 'experiment.sqlite');
  const store = SqliteStore.open(file);
  const recipe = { ...defaultRecipe('googlenet-short4', 'cifar10'), limitTrain: 64, epochs: 1 };
  const ids: number[] = [];
  for (const r of [recipe, { ...recipe, seed: 2 }, { ...recipe, val: 16 }]) ids.push((await store.ensureRun(runSpec(r))).id);
  await store.close();
  const url = `sqlite:${file}`;
  const table = cli('status', '--store', url);
  assert.equal(table.code, 0, table.stderr);
  for (const [id, name] of [[ids[0], 'googlenet-short4 on cifar10 seed 1'], [ids[1], 'googlenet-short4 on cifar10 seed 2'], [ids[2], 'googlenet-short4 on cifar10 seed 1 val 16']] as const)
    assert.match(table.stdout, new RegExp(`^${id} +${name} +queued`, 'm'));
  const listed = JSON.parse(cli('status', '--store', url, '--json').stdout.trim().split('\n').at(-1)!) as { runs: { id: number; seed: number; val: number }[] };
  assert.deepEqual(listed.runs.map((r) => [r.id, r.seed, r.val]), [[ids[0], 1, 0], [ids[1], 2, 0], [ids[2], 1, 16]]);
  const out = path.join(tmp, 'several.safetensors');
  expectError(['export', 'googlenet-short4', 'cifar10', '--store', url, '--out', out],
    new RegExp(`has 3 runs of googlenet-short4 on cifar10: run ${ids[0]} \\(seed 1, val 0\\), run ${ids[1]} \\(seed 2, val 0\\), run ${ids[2]} \\(seed 1, val 16\\); pick one with --seed, --val or --run ID$`));
  expectError(['export', 'googlenet-short4', 'cifar10', '--seed', '2', '--store', url, '--out', out], /: googlenet-short4 on cifar10 seed 2 has no checkpoint yet \(it is queued\)$/);
  expectError(['export', 'googlenet-short4', 'cifar10', '--seed', '1', '--val', '0', '--store', url, '--out', out], /: googlenet-short4 on cifar10 seed 1 has no checkpoint yet/);
  expectError(['export', '--run', String(ids[2]), '--store', url, '--out', out], /: googlenet-short4 on cifar10 seed 1 val 16 has no checkpoint yet/);
  expectError(['export', 'googlenet-short4', 'cifar10', '--seed', '7', '--store', url, '--out', out], /has no run googlenet-short4 on cifar10 seed 7; `googlenet status --store URL` lists its runs$/);
  expectError(['retry', '--store', url, '--run', String(ids[1])], /googlenet-short4 on cifar10 seed 2 is queued, not failed; only a failed run can be retried$/);
  expectError(['retry', '--store', url, '--run', '99'], /has no run with id 99;/);
  assert.ok(!fs.existsSync(out));
});
