// Bad data input through the CLI, as a user meets it: one line naming the file, what was
// expected and what to do; a non-zero exit; the cache left as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { repoRoot, sharedOpts, sharedPath } from './helpers.js';

const bin = path.join(repoRoot, 'bin', 'googlenet.js');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

/** Runs the CLI without blocking this process (a local server must keep answering). */
function cliAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args]);
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr: stderr.trim() }));
  });
}

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('googlenet:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

test('missing dataset folder without network: names the download and fails fast', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-nonet-'));
  const t0 = Date.now();
  const r = cli('test', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', dir, '--weights', 'none.safetensors');
  oneLineError(r, /none.safetensors: no such file/);
  const d = cli('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', 'http://127.0.0.1:1/');
  oneLineError(d, /download of http:\/\/127\.0\.0\.1:1\/cifar-10-binary\.tar\.gz failed: connection refused/);
  assert.ok(Date.now() - t0 < 30000);
  assert.deepEqual(snapshot(dir), []);
});

test('truncated, oversized and out-of-range files in the cache: one-line errors, cache untouched', sharedOpts, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-badcache-'));
  const folder = path.join(dir, 'cifar-10-batches-bin');
  fs.mkdirSync(folder);
  const good = fs.readFileSync(sharedPath('data', 'cifar-10-batches-bin', 'test_batch.bin')).subarray(0, 3073 * 20);
  const cases: [string, Buffer, RegExp][] = [
    ['truncated', good.subarray(0, 3073 * 20 - 7), /test_batch\.bin: 61453 bytes is not a whole number of 3073-byte records; the file is truncated or corrupt, delete it and download again/],
    ['oversized', Buffer.concat([good, Buffer.alloc(100)]), /test_batch\.bin: 61560 bytes is not a whole number of 3073-byte records/],
    ['bad label', Buffer.from(good).fill(12, 3073 * 3, 3073 * 3 + 1), /test_batch\.bin: record 3 has label 12, out of range for 10 classes/],
  ];
  for (const [, bytes, pattern] of cases) {
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), bytes);
    fs.writeFileSync(path.join(folder, 'data_batch_1.bin'), good);
    const before = snapshot(dir);
    oneLineError(cli('download', '--dataset', 'cifar10', '--data-dir', dir), pattern);
    assert.deepEqual(snapshot(dir), before, 'the cache is left as it was');
  }
});

test('download end to end over HTTP: wrong checksum, cut connection, then success; re-run uses the cache', sharedOpts, async () => {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-archive-'));
  fs.mkdirSync(path.join(src, 'cifar-10-batches-bin'));
  for (const f of ['data_batch_1.bin', 'test_batch.bin'])
    fs.writeFileSync(path.join(src, 'cifar-10-batches-bin', f), fs.readFileSync(sharedPath('data', 'cifar-10-batches-bin', f)).subarray(0, 3073 * 500));
  fs.copyFileSync(sharedPath('data', 'cifar-10-batches-bin', 'batches.meta.txt'), path.join(src, 'cifar-10-batches-bin', 'batches.meta.txt'));
  const archive = path.join(src, 'cifar-10-binary.tar.gz');
  await tar.c({ gzip: true, cwd: src, file: archive }, ['cifar-10-batches-bin']);
  const body = fs.readFileSync(archive);
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  let mode: 'cut' | 'good' = 'cut';
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    res.writeHead(200, { 'content-length': body.length });
    if (mode === 'cut') {
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.socket?.destroy(), 20);
    } else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-dl-'));
  try {
    oneLineError(await cliAsync('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', url, '--expect-md5', md5),
      /download of http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz failed: connection closed after \d+ of \d+ bytes/);
    assert.deepEqual(snapshot(dir), [], 'nothing left behind by the cut download');
    mode = 'good';
    // not the official archive: its announced size is refused before downloading
    oneLineError(await cliAsync('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', url),
      /the server reports \d+ bytes, expected 170052171; this is not the official archive/);
    // a wrong checksum (size unchecked with --expect-md5)
    const wrong = md5.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    oneLineError(await cliAsync('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', url, '--expect-md5', wrong),
      new RegExp(`md5 ${md5} does not match ${wrong}`));
    assert.deepEqual(snapshot(dir), []);
    const ok = await cliAsync('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', url, '--expect-md5', md5);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /cifar10 train: 500 images \(data_batch_1\.bin 500\); the official set has 50000, this folder holds a subset/);
    assert.match(ok.stdout, /cifar10 test: 500 images/);
    const seen = requests;
    const again = await cliAsync('download', '--dataset', 'cifar10', '--data-dir', dir, '--mirror', url);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(requests, seen, 'the cache is used, no new request');
  } finally {
    server.close();
  }
});
