// A full disk, met for real: small tmpfs file systems (root only, as on our CI machines), the
// CLI and the writers run against them, and the write-error lines checked one by one.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { ensureDataset, md5File } from '../src/data/download.js';
import { megabytes, writeFailure } from '../src/io/disk.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { defaultRecipe } from '../src/train/config.js';
import { runSpec } from '../src/train/spec.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { cli, trainLines } from './processes.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-disk-'));

/**
 * Runs `fn` on a fresh tmpfs of `size` (e.g. '3m'), unmounted afterwards. Mounting needs root:
 * without it the test is skipped with the reason, except under CI (CI=true), where it fails.
 */
async function onTmpfs(t: TestContext, size: string, fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = tmp();
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    fs.rmdirSync(dir);
    const why = `cannot mount a tmpfs (${(m.stderr || m.error?.message || '').trim()}); the full-disk tests need root`;
    if (process.env.CI === 'true') throw new Error(`${why}, and under CI (CI=true) they must run`);
    t.skip(why);
    return;
  }
  try {
    await fn(dir);
  } finally {
    spawnSync('umount', [dir]);
    fs.rmdirSync(dir);
  }
}

/** Fills the file system holding `dir` to the last byte with `dir/filler`. */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (let n = block.length; n >= 1; ) {
      try {
        fs.writeSync(fd, block, 0, n);
      } catch {
        n >>= 1;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

const tempFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

test('write errors: one line naming the path, what the file system said, the sizes and the fix', () => {
  const dir = tmp();
  const file = path.join(dir, 'checkpoint.safetensors');
  const err = (code: string, o = {}) => writeFailure(file, Object.assign(new Error(`${code}: low-level text`), { code }), o).message;
  const free = /\((19\.7 MB needed), (\d+\.\d MB free)\)/;
  assert.match(err('ENOSPC', { needed: 19.7e6 }), new RegExp(`^${file}: cannot write: the file system is full ${free.source}; free some space there or choose another --out$`));
  assert.match(err('SQLITE_FULL', { needed: 19.7e6 }), /cannot write: the file system is full \(19\.7 MB needed, \d+\.\d MB free\)/);
  assert.equal(err('ENOSPC', { flag: '--data-dir' }).replace(/\d+\.\d MB free/, 'N'), `${file}: cannot write: the file system is full (N); free some space there or choose another --data-dir`);
  assert.equal(err('EDQUOT', { needed: 2e6 }), `${file}: cannot write: the disk quota is exceeded (2.0 MB needed); free some space there or choose another --out`);
  assert.equal(err('EROFS'), `${file}: cannot write: the file system is read-only; choose another --out`);
  assert.equal(err('EACCES'), `${file}: cannot write: permission denied; make it writable or choose another --out`);
  assert.equal(err('ENOENT'), `${file}: cannot write: its folder does not exist; create it or choose another --out`);
  assert.equal(err('SQLITE_READONLY_DBMOVED'), `${file}: cannot write: the file or its folder is read-only; make it writable or choose another --out`);
  assert.equal(err('EISDIR'), `${file}: cannot write: a folder is in its place; move it away or choose another --out`);
  assert.equal(err('EIO'), `${file}: cannot write: EIO: low-level text; choose another --out`);
  assert.equal(megabytes(1_643_796 * 4), '6.6 MB');
  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'ENOENT', 'EIO']) assert.ok(!err(code).includes('\n'), code);
});

test('a full disk stops train before the epoch: one line with the sizes, nothing partial left', sharedOpts, async (t) => {
  await onTmpfs(t, '3m', (out) => {
    const started = Date.now();
    const r = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'),
      '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('googlenet:'));
    assert.equal(lines.length, 1, r.stderr);
    const m = lines[0].match(new RegExp(`^googlenet: ${out}: not enough free space on its file system for the next checkpoint \\((\\d+\\.\\d) MB needed, (\\d+\\.\\d) MB free\\); free some space there or choose another --out$`));
    assert.ok(m, lines[0]);
    // googlenet-short4's weights and Adadelta's two buffers: 3 × 4 bytes a parameter, and more
    assert.ok(Number(m[1]) > (1_551_546 * 12) / 1e6 && Number(m[2]) < 3.2, lines[0]);
    assert.equal(trainLines(r.stdout), 0, 'no training step before the refusal');
    assert.deepEqual(tempFiles(out), []);
    assert.ok(!fs.existsSync(path.join(out, 'checkpoint.safetensors')));
    t.diagnostic(`refused in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});

test('a full disk stops experiment\'s run before its epoch (the SQLite store\'s checkpoint folder)', sharedOpts, async (t) => {
  await onTmpfs(t, '3m', (out) => {
    const r = cli(['experiment', '--models', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'),
      '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    // the SQLite store's checkpoints of a run are in its own folder, run-<id>
    assert.match(r.stderr.split('\n').at(-1)!, new RegExp(`^googlenet: .*${out}/run-\\d+: not enough free space on its file system for the next checkpoint \\(\\d+\\.\\d MB needed, \\d\\.\\d MB free\\)`));
    assert.equal(trainLines(r.stdout), 0, 'no training step before the refusal');
    assert.deepEqual(fs.readdirSync(out).sort(), ['experiment.sqlite', 'plots', 'results.json', 'results.md']);
  });
});

test('a disk that fills during the write keeps the previous file whole and leaves no temp file', async (t) => {
  await onTmpfs(t, '3m', (dir) => {
    const file = path.join(dir, 'model.safetensors');
    const tensor = (n: number, v: number) => ({ w: { dtype: 'F32' as const, shape: [n], data: new Float32Array(n).fill(v) } });
    writeSafetensors(file, tensor(250_000, 1)); // 1 MB: the previous good file
    const before = fs.readFileSync(file);
    // 2.5 MB more does not fit beside it in 3 MiB: the write itself runs out of space
    assert.throws(() => writeSafetensors(file, tensor(625_000, 2)),
      (e: Error) => /^.*model\.safetensors: cannot write: the file system is full \(2\.5 MB needed, \d\.\d MB free\); free some space there or choose another --out$/.test(e.message) || assert.fail(e.message));
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(readSafetensors(file).get('w')!.data, new Float32Array(250_000).fill(1));
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  });
});

test('a full disk under the experiment database: one line, the database still readable', async (t) => {
  await onTmpfs(t, '1m', async (dir) => {
    const file = path.join(dir, 'experiment.sqlite');
    const store = SqliteStore.open(file);
    try {
      const spec = runSpec(defaultRecipe('googlenet-short4', 'cifar10'));
      await store.ensureRun(spec);
      fill(dir);
      // records runs until SQLite needs a page the disk does not have
      await assert.rejects(async () => {
        // another seed is another run of the network (its name stays the network's one name in the store)
        for (let i = 0; i < 10_000; i++) await store.ensureRun({ ...spec, recipe: { ...spec.recipe, seed: i + 2 } });
      }, new RegExp(`^Error: ${file}: cannot write: the file system is full \\(\\d+\\.\\d MB free\\); free some space there or choose another --out \\(or --store\\)$`));
      fs.rmSync(path.join(dir, 'filler'));
      assert.equal((await store.runs())[0].model, 'googlenet-short4');
      await store.ensureRun({ ...spec, recipe: { ...spec.recipe, seed: 1_000_000 } });
    } finally {
      await store.close();
    }
  });
});

test('a download that fills the disk says so, naming --data-dir, and leaves the data folder as it was', async (t) => {
  // a local archive (outside the tmpfs) whose 9 MB of records cannot be extracted into 3 MiB
  const src = tmp();
  fs.mkdirSync(path.join(src, 'cifar-10-batches-bin'));
  fs.writeFileSync(path.join(src, 'cifar-10-batches-bin', 'data_batch_1.bin'), randomBytes(3000 * 3073));
  const archive = path.join(src, 'cifar-10-binary.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: src }, ['cifar-10-batches-bin']);
  const md5 = await md5File(archive);
  await onTmpfs(t, '3m', async (dir) => {
    fs.mkdirSync(path.join(dir, 'data'));
    await assert.rejects(ensureDataset('cifar10', path.join(dir, 'data'), { mirror: archive, expectMd5: md5, expectBytes: null, progress: false, log: () => {} }),
      (e: Error) => /data_batch_1\.bin: cannot write: the file system is full \(\d\.\d MB free\); free some space there or choose another --data-dir$/.test(e.message) || assert.fail(e.message));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'data')), []);
  });
  fs.rmSync(src, { recursive: true, force: true });
});
