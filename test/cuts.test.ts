// Small things a new user meets in the first hour: each checked through the CLI as they would meet it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, sharedOpts, sharedPath } from './helpers.js';
import { cli } from './processes.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-cuts-'));

test('--version names this package, oneDNN and the ISA it uses', () => {
  const r = cli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.match(r.stdout.trim(), new RegExp(`^googlenet ${version.replace(/\./g, '\\.')}, oneDNN \\d+\\.\\d+\\.\\d+ \\(\\w+\\), Node v\\d+`));
});

test('summary --classes N compares with the seed\'s count for N classes', () => {
  const r = cli(['summary', '--model', 'googlenet-short4', '--classes', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Total parameters: 1,551,546 {2}\(reconstruction: the seed counts 1,557,834 \(10 classes\)\)/);
});

test('a download that fails leaves no empty data folder behind', () => {
  const dir = path.join(tmp(), 'new', 'data');
  const r = cli(['download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', 'http://127.0.0.1:1/'], 60000);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('googlenet:')).length, 1, r.stderr);
  assert.match(r.stderr, /connection refused by 127\.0\.0\.1:1/);
  assert.ok(!fs.existsSync(path.dirname(dir)), `${path.dirname(dir)} was left behind`);
});

test('a limit above the data\'s size says so with both numbers', sharedOpts, () => {
  const r = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '999999', '--limit-test', '999999', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^googlenet: --limit-train 999999 is more than the \d+ train images of cifar10 in .*; using all \d+$/m);
  assert.match(r.stderr, /^googlenet: --limit-test 999999 is more than the \d+ test images of cifar10 in .*; using all \d+$/m);
});

test('test --weights reads a training checkpoint as well as a saved model, to the same metrics', sharedOpts, () => {
  const out = tmp();
  const data = sharedPath('data');
  const t = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--out', out, '--save-model']);
  assert.equal(t.code, 0, t.stderr);
  const metrics = (weights: string) => {
    const r = cli(['test', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-test', '50', '--weights', weights, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  };
  assert.deepEqual(metrics(path.join(out, 'checkpoint.safetensors')), metrics(path.join(out, 'model.safetensors')));
});

test('a bad flag value is named once', () => {
  const r = cli(['train', '--epochs', '0']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "googlenet: --epochs must be a positive integer, got '0'");
});
