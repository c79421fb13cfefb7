// Network files on the command line, end to end on real CIFAR-10 images: a file trains, the run
// carries its network (resumes and exports where the file is gone; an edited file is refused), a
// checkpoint written before recipes held their network (version 2) resumes, and bad files, borrowed
// built-in names and clashing names are refused in one line with nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../src/io/safetensors.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { NETWORK_FORMAT, networkHash } from '../src/models/network.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { cli } from './processes.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-netcli-'));
const data = () => ['--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '64', '--limit-test', '32', '--batch-size', '32', '--test-batch-size', '32'];
const small = { format: NETWORK_FORMAT, layers: ['maxpool', 'a4', { dropout: 0.2 }, 'maxpool', 'b5'], width: 0.5 };

function write(name: string, value: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/** One line on stderr, exit 1. */
function refused(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test('train --model FILE: the run carries its network; the file edited is refused on resume, naming the network', sharedOpts, () => {
  const file = write('tiny.json', small);
  const out = path.join(tmp, 'tiny-run');
  const r = cli(['--quiet', 'train', '--model', file, ...data(), '--epochs', '1', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).model, 'tiny');
  const runFile = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as { run: { model: string; recipe: { network: unknown } } };
  assert.equal(runFile.run.model, 'tiny');
  assert.deepEqual(runFile.run.recipe.network, { format: NETWORK_FORMAT, module: 'bottleneck', stem: [192], layers: [{ maxpool: { kernel: 3, stride: 2, padding: 1 } }, 'a4', { dropout: 0.2 }, { maxpool: { kernel: 3, stride: 2, padding: 1 } }, 'b5'], settings: { a4: [192, 96, 208, 16, 48, 64], b5: [384, 192, 384, 48, 128, 128] }, width: 0.5, dropout: 0.4 });
  const checkpoint = fs.readFileSync(path.join(out, 'checkpoint.safetensors'));
  write('tiny.json', { ...small, width: 0.75 });
  refused(cli(['--quiet', 'train', '--model', file, ...data(), '--epochs', '2', '--out', out, '--resume']),
    /^googlenet: .*tiny-run: cannot resume with a different recipe: the network of --model tiny: pool a4 drop\(0\.2\) pool b5 ×0\.75 \[sha256 [0-9a-f]{12}\] \(was pool a4 drop\(0\.2\) pool b5 ×0\.5 \[sha256 [0-9a-f]{12}\]\); use another --out for a new run$/);
  assert.deepEqual(fs.readFileSync(path.join(out, 'checkpoint.safetensors')), checkpoint, 'the checkpoint is untouched');
});

test('a checkpoint and run.json written before recipes held their network (version 2) resume as the named built-in', sharedOpts, () => {
  const out = path.join(tmp, 'v2-run');
  const first = cli(['--quiet', 'train', '--model', 'googlenet-short4', ...data(), '--epochs', '1', '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  // made old: the recipe loses its network, the checkpoint says version 2
  const ckpt = path.join(out, 'checkpoint.safetensors');
  const meta = readSafetensorsMetadata(ckpt);
  const stored = JSON.parse(meta['googlenet.checkpoint']) as { version: number; recipe: Record<string, unknown> };
  assert.equal(stored.version, 3);
  delete stored.recipe.network;
  stored.version = 2;
  writeSafetensors(ckpt, readSafetensors(ckpt), { ...meta, 'googlenet.checkpoint': JSON.stringify(stored) });
  const runFile = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as { run: { recipe: Record<string, unknown> } };
  delete runFile.run.recipe.network;
  fs.writeFileSync(path.join(out, 'run.json'), JSON.stringify(runFile));
  const resumed = cli(['train', '--model', 'googlenet-short4', ...data(), '--epochs', '2', '--out', out, '--resume', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr + resumed.stdout, /resuming googlenet-short4 on cifar10 .*1 of 2 epochs done, starting epoch 2/);
  assert.deepEqual(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!).epochs.map((e: { epoch: number }) => e.epoch), [1, 2]);
});

test('experiment --models with a network file: the store keeps the network, so export works once the file is gone; the file edited is refused', sharedOpts, () => {
  const file = write('mine.json', { ...small, name: 'mine', description: 'pools, a dropout, half width' });
  const out = path.join(tmp, 'exp');
  const db = `sqlite:${path.join(out, 'experiment.sqlite')}`;
  const r = cli(['--quiet', 'experiment', '--models', `googlenet-short4,${file}`, ...data(), '--epochs', '1', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(cli(['status', '--store', db, '--json']).stdout.trim().split('\n').at(-1)!) as { runs: { model: string; status: string }[] };
  assert.deepEqual(status.runs.map((x) => `${x.model} ${x.status}`).sort(), ['googlenet-short4 complete', 'mine complete']);
  fs.renameSync(file, `${file}.away`);
  const onnx = path.join(tmp, 'mine.onnx');
  const exported = cli(['export', 'mine', 'cifar10', '--store', db, '--out', onnx]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.ok(fs.statSync(onnx).size > 1000);
  fs.renameSync(`${file}.away`, file);
  write('mine.json', { ...small, name: 'mine', dropout: 0.5 });
  refused(cli(['--quiet', 'experiment', '--models', file, ...data(), '--epochs', '1', '--out', out]),
    /^googlenet: sqlite:.*: the name 'mine' is recorded in this store for network sha256 [0-9a-f]{12}, and this network is sha256 [0-9a-f]{12}; give it another name \(a name is one network per store\)$/);
});

test('bad network files, a built-in name borrowed and two files of one name: one line, exit 1, nothing written', () => {
  const out = path.join(tmp, 'never');
  refused(cli(['train', '--model', write('typo.json', { ...small, widht: 2 }), '--out', out]), /^googlenet: .*typo\.json: widht: /);
  refused(cli(['train', '--model', path.join(tmp, 'missing.json'), '--out', out]), /^googlenet: .*missing\.json: /);
  fs.writeFileSync(path.join(tmp, 'broken.json'), '{"format": "googlenet-network/1", "layers": [');
  refused(cli(['summary', '--model', path.join(tmp, 'broken.json')]), /^googlenet: .*broken\.json: /);
  refused(cli(['train', '--model', write('borrowed.json', { ...small, name: 'googlenet-short4' }), '--out', out]),
    /^googlenet: .*borrowed\.json: name 'googlenet-short4' is a built-in network's, and this network is another; give it its own "name"/);
  // the same network as the built-in under its name is that network
  const same = cli(['experiment', '--models', write('same.json', { format: NETWORK_FORMAT, name: 'googlenet-short4', layers: ['maxpool', 'a4', 'maxpool', 'b5'] }),
    '--dataset', 'cifar10', '--enqueue-only', '--store', `sqlite:${path.join(tmp, 'same.sqlite')}`]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stderr, /recorded 1 runs/);
  refused(cli(['experiment', '--models', `${write('one.json', { ...small, name: 'twin' })},${write('two.json', { ...small, name: 'twin', width: 0.25 })}`, '--out', out]),
    /^googlenet: --models: .*one\.json and .*two\.json are both named 'twin'/);
  refused(cli(['network', 'check', write('shrink.json', { format: NETWORK_FORMAT, layers: Array.from({ length: 6 }, () => ({ maxpool: { kernel: 2 } })) })]), /^googlenet: .*shrink\.json: layers\[5\]/);
  assert.ok(!fs.existsSync(out), 'nothing written');
});

test('network show prints a built-in as a file that network check reads back to the same network', () => {
  const shown = cli(['network', 'show', 'googlenet-long']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.doesNotMatch(shown.stdout, /"name"/, 'a copy is named after its file');
  const file = path.join(tmp, 'long-copy.json');
  fs.writeFileSync(file, shown.stdout);
  const checked = cli(['network', 'check', file, '--json']);
  assert.equal(checked.code, 0, checked.stderr);
  const c = JSON.parse(checked.stdout) as { name: string; sha256: string; layers: string };
  assert.equal(c.name, 'long-copy');
  assert.equal(c.layers, 'a3 b3 pool a4 b4 c4 d4 e4 pool a5 a5 a5 a5 b5');
  assert.equal(c.sha256, networkHash(builtinNetwork('googlenet-long')!), 'the same network as the built-in');
  const schema = JSON.parse(cli(['network', 'schema']).stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.layers && schema.properties.width);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
