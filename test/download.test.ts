// ensureDataset: download (from local HTTP servers on 127.0.0.1), verify, extract, publish, in both
// forms (the binary archives and torchvision's); every way it can fail leaves the data folder as it was. All offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { DATASETS, IMAGE_BYTES, readCifar, type DatasetName } from '../src/data/cifar.js';
import { ensureDataset, md5File, type DownloadOptions } from '../src/data/download.js';
import { batchPickle, P2Writer } from './cifar-pickle-writer.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { start } from './processes.js';

function md5Of(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'download-test-'));
}

/** Everything under dir, relative, sorted ('' when empty). */
/** Everything below `dir`; [] when a failed download removed the folder it had made. */
function listAll(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

interface Server { base: string; requests: string[]; close(): Promise<void> }

async function serve(handler: http.RequestListener): Promise<Server> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Serves `body` at any path ending in `name`, 404 elsewhere. */
function serveFile(name: string, body: Buffer): Promise<Server> {
  return serve((req, res) => {
    if (!req.url?.endsWith('/' + name)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': body.length });
    res.end(body);
  });
}

const quiet: DownloadOptions = { progress: false, log: () => {} };

/** The first `records` records of a shared .bin. */
function sharedRecords(dataset: DatasetName, file: string, records: number): Buffer {
  const info = DATASETS[dataset];
  const buf = fs.readFileSync(sharedPath('data', info.folder, file));
  return buf.subarray(0, records * (info.labelBytes + IMAGE_BYTES));
}

/** A .tar.gz made by the tar package of `<folder>/<name>` for each given file, written to `out`. */
async function tarFolder(folder: string, files: Record<string, Buffer | string>, out: string): Promise<Buffer> {
  const src = tmpDir();
  try {
    fs.mkdirSync(path.join(src, folder));
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(src, folder, name), data);
    await tar.c({ gzip: true, cwd: src, file: out, portable: true }, [folder]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

// a hand-made ustar archive, for members the tar package would not write (paths with .., links)
function ustarHeader(name: string, size: number, type: string, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => h.write(s, at, len, 'latin1');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put('14000000000\0', 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

type Member = { name: string; data?: Buffer | string; type?: string; link?: string };

function handTarGz(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? '');
    parts.push(ustarHeader(m.name, data.length, m.type ?? '0', m.link));
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(parts));
}

/** `records` synthetic CIFAR-10 records (label r % 10). */
function fakeCifar10(records: number): Buffer {
  const buf = Buffer.alloc(records * (1 + IMAGE_BYTES), 7);
  for (let r = 0; r < records; r++) buf[r * (1 + IMAGE_BYTES)] = r % 10;
  return buf;
}

const NAMES10 = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';

// the CIFAR-10 fixture made from ../shared: 2000 records of each file, built once
let cifar10Fixture: Promise<{ body: Buffer; md5: string }> | undefined;
function cifar10Archive(): Promise<{ body: Buffer; md5: string }> {
  cifar10Fixture ??= (async () => {
    const dir = tmpDir();
    try {
      const out = path.join(dir, 'cifar-10-binary.tar.gz');
      const body = await tarFolder('cifar-10-batches-bin', {
        'data_batch_1.bin': sharedRecords('cifar10', 'data_batch_1.bin', 2000),
        'test_batch.bin': sharedRecords('cifar10', 'test_batch.bin', 2000),
        'batches.meta.txt': fs.readFileSync(sharedPath('data', 'cifar-10-batches-bin', 'batches.meta.txt')),
      }, out);
      return { body, md5: await md5File(out) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  })();
  return cifar10Fixture;
}

test('downloads, verifies, extracts and publishes CIFAR-10; the second call uses the cache', sharedOpts, async () => {
  const { body, md5 } = await cifar10Archive();
  const server = await serveFile('cifar-10-binary.tar.gz', body);
  const root = tmpDir();
  const dataDir = path.join(root, 'data'); // created by ensureDataset
  try {
    const lines: string[] = [];
    const opts: DownloadOptions = { mirror: server.base, expectMd5: md5, expectBytes: null, progress: false, log: (l) => lines.push(l) };
    const dir = await ensureDataset('cifar10', dataDir, opts);
    assert.equal(dir, path.join(dataDir, 'cifar-10-batches-bin'));
    assert.deepEqual(fs.readdirSync(dataDir), ['cifar-10-batches-bin']); // no temp files left
    assert.deepEqual(fs.readdirSync(dir).sort(), ['batches.meta.txt', 'data_batch_1.bin', 'test_batch.bin']);
    const train = readCifar(dataDir, 'cifar10', 'train');
    assert.equal(train.count, 2000);
    assert.equal(train.classNames[train.labels[0]], 'frog');
    assert.equal(readCifar(dataDir, 'cifar10', 'test').count, 2000);
    assert.deepEqual(server.requests, ['/cifar-10-binary.tar.gz']);
    assert.equal(lines.length, 3);
    assert.equal(lines[0], `downloading ${server.base}cifar-10-binary.tar.gz -> ${dataDir}`);
    assert.equal(lines[1], `verified md5 ${md5} (${body.length} bytes)`);
    assert.equal(lines[2], `extracted 3 files into ${dir}`);

    lines.length = 0;
    assert.equal(await ensureDataset('cifar10', dataDir, opts), dir);
    assert.equal(server.requests.length, 1); // cache: no request
    assert.deepEqual(lines, []);
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a connection cut mid-body fails naming the URL, leaves nothing, and a retry succeeds', sharedOpts, async () => {
  const { body, md5 } = await cifar10Archive();
  const cut = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
  });
  const good = await serveFile('cifar-10-binary.tar.gz', body);
  const dataDir = tmpDir();
  try {
    const url = `${cut.base}cifar-10-binary.tar.gz`;
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: cut.base, expectMd5: md5, expectBytes: null }), (e: Error) => {
      assert.match(e.message, /connection closed|aborted/);
      assert.ok(e.message.includes(url), e.message);
      assert.ok(e.message.includes(` of ${body.length} bytes`), e.message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.deepEqual(listAll(dataDir), []);
    await ensureDataset('cifar10', dataDir, { ...quiet, mirror: good.base, expectMd5: md5, expectBytes: null });
    assert.equal(readCifar(dataDir, 'cifar10', 'train').count, 2000);
    assert.deepEqual(fs.readdirSync(dataDir), ['cifar-10-batches-bin']);
  } finally {
    await cut.close();
    await good.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

const small10 = handTarGz([
  { name: 'cifar-10-batches-bin/', type: '5' },
  { name: 'cifar-10-batches-bin/data_batch_1.bin', data: fakeCifar10(20) },
  { name: 'cifar-10-batches-bin/batches.meta.txt', data: NAMES10 },
]);

test('a wrong checksum fails with both hashes and leaves the data folder empty', async () => {
  const server = await serveFile('cifar-10-binary.tar.gz', small10);
  const dataDir = tmpDir();
  try {
    const got = md5Of(small10);
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: server.base, expectBytes: null }), (e: Error) => {
      assert.match(e.message, /md5/);
      assert.ok(e.message.includes(got) && e.message.includes('c32a1d4ab5d03f1284b67883e8d87530'), e.message);
      assert.ok(e.message.includes(`${server.base}cifar-10-binary.tar.gz`), e.message);
      return true;
    });
    assert.deepEqual(listAll(dataDir), []);
    // with the default size too, the server's Content-Length already gives it away
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: server.base }), /reports \d+ bytes, expected 170052171/);
    assert.deepEqual(listAll(dataDir), []);
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('connection refused and timeouts fail quickly, naming the URL', async () => {
  const dataDir = tmpDir();
  const silent = await serve(() => {}); // accepts, never answers
  const stall = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': small10.length });
    res.write(small10.subarray(0, 100)); // then nothing
  });
  try {
    let t0 = Date.now();
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: 'http://127.0.0.1:1/' }),
      /^Error: download of http:\/\/127\.0\.0\.1:1\/cifar-10-binary\.tar\.gz failed: connection refused/);
    assert.ok(Date.now() - t0 < 5000);

    t0 = Date.now();
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: silent.base, timeoutMs: 500 }), (e: Error) => {
      assert.match(e.message, /timed out: no response within 0\.5 s/);
      assert.ok(e.message.includes(`${silent.base}cifar-10-binary.tar.gz`), e.message);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);

    t0 = Date.now();
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: `${stall.base}x.tar.gz`, timeoutMs: 500, expectBytes: null }),
      new RegExp(`${stall.base}x\\.tar\\.gz failed: timed out: no data for 0\\.5 s after 100 of ${small10.length} bytes`));
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(listAll(dataDir), []);
  } finally {
    await silent.close();
    await stall.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('HTTP errors name the status; redirects are followed, at most 5', async () => {
  const body = small10;
  const md5 = md5Of(body);
  const server = await serve((req, res) => {
    const url = req.url ?? '';
    if (url === '/files/cifar-10-binary.tar.gz') res.writeHead(200, { 'content-length': body.length }).end(body);
    else if (url === '/moved/cifar-10-binary.tar.gz') res.writeHead(302, { location: '/files/cifar-10-binary.tar.gz' }).end();
    else if (url.startsWith('/loop')) res.writeHead(301, { location: `/loop${Number(url.slice(5).split('/')[0] || 0) + 1}/` }).end();
    else if (url.startsWith('/broken')) res.writeHead(503).end();
    else res.writeHead(404).end();
  });
  const dataDir = tmpDir();
  try {
    const opts = { ...quiet, expectMd5: md5, expectBytes: null };
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...opts, mirror: server.base }),
      new RegExp(`download of ${server.base}cifar-10-binary\\.tar\\.gz failed: HTTP 404 Not Found`));
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...opts, mirror: `${server.base}broken/` }), /HTTP 503 Service Unavailable; the server has a problem/);
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...opts, mirror: `${server.base}loop` }), /more than 5 redirects/);
    assert.deepEqual(listAll(dataDir), []);
    const dir = await ensureDataset('cifar10', dataDir, { ...opts, mirror: `${server.base}moved` });
    assert.equal(readCifar(dataDir, 'cifar10', 'train').count, 20);
    assert.equal(dir, path.join(dataDir, 'cifar-10-batches-bin'));
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an archive with members outside the folder, or links, is refused and nothing is extracted', async () => {
  const cases: [string, Member[], RegExp][] = [
    ['dotdot', [{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: fakeCifar10(5) }, { name: 'cifar-10-batches-bin/../../evil.txt', data: 'pwned' }],
      /archive member 'cifar-10-batches-bin\/\.\.\/\.\.\/evil\.txt' escapes the target folder; refusing to extract/],
    ['absolute', [{ name: '/tmp/evil.txt', data: 'pwned' }, { name: 'cifar-10-batches-bin/data_batch_1.bin', data: fakeCifar10(5) }],
      /archive member '\/tmp\/evil\.txt' escapes the target folder/],
    ['symlink', [{ name: 'cifar-10-batches-bin/data_batch_1.bin', type: '2', link: '../../evil.txt' }],
      /archive member 'cifar-10-batches-bin\/data_batch_1\.bin' is a symbolic link .*refusing to extract/],
    ['hardlink', [{ name: 'cifar-10-batches-bin/evil', type: '1', link: '/etc/passwd' }], /is a hard link/],
  ];
  const root = tmpDir();
  try {
    for (const [name, members, error] of cases) {
      const caseDir = path.join(root, name);
      const dataDir = path.join(caseDir, 'a', 'b', 'data');
      const archive = path.join(caseDir, 'cifar-10-binary.tar.gz');
      fs.mkdirSync(dataDir, { recursive: true });
      const body = handTarGz(members);
      fs.writeFileSync(archive, body);
      // a local archive (mirror = its path) takes the same path as a download after the fetch
      await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: archive, expectMd5: await md5File(archive), expectBytes: null }), error);
      assert.deepEqual(listAll(caseDir), ['a', 'a/b', 'a/b/data', 'cifar-10-binary.tar.gz'], name);
    }
    assert.ok(!fs.existsSync('/tmp/evil.txt') || fs.readFileSync('/tmp/evil.txt', 'utf8') !== 'pwned');
    // and served over HTTP
    const body = handTarGz(cases[0][1]);
    const server = await serveFile('cifar-10-binary.tar.gz', body);
    const dataDir = path.join(root, 'http', 'data');
    try {
      const md5 = md5Of(body);
      await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, mirror: server.base, expectMd5: md5, expectBytes: null }), /escapes the target folder/);
      assert.ok(!fs.existsSync(path.join(root, 'http')), 'the folders the failed download made are gone');
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('only the expected members are extracted; an archive without any .bin is refused', async () => {
  const root = tmpDir();
  try {
    const archive = path.join(root, 'cifar-10-binary.tar.gz');
    fs.writeFileSync(archive, handTarGz([
      { name: 'other/', type: '5' },
      { name: 'other/file.bin', data: 'x' },
      { name: './cifar-10-batches-bin/', type: '5' },
      { name: './cifar-10-batches-bin/data_batch_1.bin', data: fakeCifar10(30) },
      { name: 'cifar-10-batches-bin/notes.txt', data: 'notes' },
      { name: 'cifar-10-batches-bin/sub/data_batch_2.bin', data: fakeCifar10(1) },
      { name: 'cifar-10-batches-bin/batches.meta.txt', data: NAMES10 },
      { name: 'data_batch_3.bin', data: fakeCifar10(1) },
    ]));
    const dataDir = path.join(root, 'data');
    const lines: string[] = [];
    const dir = await ensureDataset('cifar10', dataDir, { mirror: archive, expectMd5: await md5File(archive), expectBytes: null, progress: false, log: (l) => lines.push(l) });
    assert.deepEqual(listAll(dataDir), ['cifar-10-batches-bin', 'cifar-10-batches-bin/batches.meta.txt', 'cifar-10-batches-bin/data_batch_1.bin']);
    assert.equal(lines.at(-1), `extracted 2 files into ${dir}`);
    const train = readCifar(dataDir, 'cifar10', 'train');
    assert.equal(train.count, 30);
    assert.equal(train.classNames[3], 'cat');

    // none of the dataset's .bin files
    fs.writeFileSync(archive, handTarGz([{ name: 'cifar-10-batches-bin/batches.meta.txt', data: NAMES10 }, { name: 'cifar-100-binary/test.bin', data: 'x' }]));
    const empty = path.join(root, 'empty');
    await assert.rejects(ensureDataset('cifar10', empty, { ...quiet, mirror: archive, expectMd5: await md5File(archive), expectBytes: null }),
      /archive holds none of the dataset's files/);
    assert.deepEqual(listAll(empty), []);

    // a .bin that is not a whole number of records, or has labels out of range
    const bad = [fakeCifar10(3).subarray(0, 3 * 3073 - 1), Buffer.concat([fakeCifar10(2), Buffer.from([10]), Buffer.alloc(3072)])];
    for (const [i, data] of bad.entries()) {
      fs.writeFileSync(archive, handTarGz([{ name: 'cifar-10-batches-bin/test_batch.bin', data }]));
      await assert.rejects(ensureDataset('cifar10', empty, { ...quiet, mirror: archive, expectMd5: await md5File(archive), expectBytes: null }),
        i === 0 ? /test_batch\.bin is 9218 bytes, not a whole number of 3073-byte records/ : /record 2 has label 10, out of range/);
      assert.deepEqual(listAll(empty), []);
    }

    // a truncated archive
    fs.writeFileSync(archive, handTarGz([{ name: 'cifar-10-batches-bin/test_batch.bin', data: randomBytes(40 * 3073) }]).subarray(0, 30000));
    await assert.rejects(ensureDataset('cifar10', empty, { ...quiet, mirror: archive, expectMd5: await md5File(archive), expectBytes: null }),
      /the archive cannot be read .*corrupt/);
    assert.deepEqual(listAll(empty), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a CIFAR-100 archive holding only test.bin (500 records) and the label names', sharedOpts, async () => {
  const root = tmpDir();
  try {
    const out = path.join(root, 'cifar-100-binary.tar.gz');
    const body = await tarFolder('cifar-100-binary', {
      'test.bin': sharedRecords('cifar100', 'test.bin', 500),
      'fine_label_names.txt': fs.readFileSync(sharedPath('data', 'cifar-100-binary', 'fine_label_names.txt')),
      'coarse_label_names.txt': fs.readFileSync(sharedPath('data', 'cifar-100-binary', 'coarse_label_names.txt')),
    }, out);
    const server = await serveFile('cifar-100-binary.tar.gz', body);
    const dataDir = path.join(root, 'data');
    try {
      const dir = await ensureDataset('cifar100', dataDir, { ...quiet, mirror: `${server.base}some/where/cifar-100-binary.tar.gz`, expectMd5: await md5File(out), expectBytes: null });
      assert.equal(dir, path.join(dataDir, 'cifar-100-binary'));
      assert.deepEqual(server.requests, ['/some/where/cifar-100-binary.tar.gz']);
      const t = readCifar(dataDir, 'cifar100', 'test');
      assert.equal(t.count, 500);
      assert.equal(t.classNames[t.labels[0]], 'mountain');
      assert.equal(readCifar(dataDir, 'cifar100', 'test', { coarse: true }).classNames.length, 20);
      assert.deepEqual(fs.readdirSync(dataDir), ['cifar-100-binary']);
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an archive already in the data folder is verified and used without a download', async () => {
  const root = tmpDir();
  try {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'cifar-10-binary.tar.gz'), small10);
    const md5 = await md5File(path.join(dataDir, 'cifar-10-binary.tar.gz'));
    // the default URL would be unreachable here; a request would fail, so success means none was made
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, expectBytes: null }), /data\/cifar-10-binary\.tar\.gz: md5 [0-9a-f]{32} does not match c32a1d4a.*delete or replace it/);
    assert.deepEqual(listAll(dataDir), ['cifar-10-binary.tar.gz']); // the user's file is kept
    await ensureDataset('cifar10', dataDir, { ...quiet, expectMd5: md5, expectBytes: null, timeoutMs: 1 });
    assert.deepEqual(listAll(dataDir), ['cifar-10-batches-bin', 'cifar-10-batches-bin/batches.meta.txt', 'cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-binary.tar.gz']);
    await assert.rejects(ensureDataset('cifar100', dataDir, { ...quiet, mirror: 'ftp://example.com/' }), /unsupported mirror URL 'ftp:\/\/example\.com\/'/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// --- torchvision's archives (format: 'python') -------------------------------------------------

/** A torchvision-form folder's files: each batch's records (random images, labels r * 7 % classes), the meta pickle, and what readCifar must give back. */
function pythonFiles(dataset: DatasetName, perBatch: Record<string, number>) {
  const info = DATASETS[dataset];
  const files: Record<string, Buffer> = {};
  const want = { train: { images: [] as Buffer[], labels: [] as number[], coarse: [] as number[] }, test: { images: [] as Buffer[], labels: [] as number[], coarse: [] as number[] } };
  for (const [name, n] of Object.entries(perBatch)) {
    const images = randomBytes(n * IMAGE_BYTES);
    const fine = Uint8Array.from({ length: n }, (_, r) => (r * 7 + name.length) % info.classes);
    const coarse = fine.map((l) => l % 20);
    files[name] = dataset === 'cifar100'
      ? batchPickle({ images, labels: coarse }, { images, labels: fine }, 0, n, name)
      : batchPickle({ images, labels: fine }, null, 0, n, name);
    const split = info.python.files.test.includes(name) ? want.test : want.train;
    split.images.push(images);
    split.labels.push(...fine);
    split.coarse.push(...coarse);
  }
  const names = (k: number, tag: string) => Array.from({ length: k }, (_, i) => `${tag}${i}`);
  files[info.python.meta] = P2Writer.dump({
    dict: dataset === 'cifar100' ? [['fine_label_names', names(100, 'fine')], ['coarse_label_names', names(20, 'coarse')]] : [['label_names', names(10, 'class')]],
  });
  return { files, want };
}

function assertRead(dataDir: string, dataset: DatasetName, want: ReturnType<typeof pythonFiles>['want']) {
  for (const split of ['train', 'test'] as const) {
    const got = readCifar(dataDir, dataset, split, { format: 'python' });
    assert.ok(Buffer.from(got.images).equals(Buffer.concat(want[split].images)), `${dataset} ${split}: images differ`);
    assert.deepEqual(Array.from(got.labels), want[split].labels, `${dataset} ${split}: labels differ`);
    assert.ok(got.files.every((f) => f.file.includes(DATASETS[dataset].python.folder)));
    if (dataset === 'cifar100') assert.deepEqual(Array.from(readCifar(dataDir, dataset, split, { format: 'python', coarse: true }).labels), want[split].coarse);
  }
}

const C10_PY = { data_batch_1: 3, data_batch_2: 2, data_batch_3: 4, data_batch_4: 1, data_batch_5: 2, test_batch: 5 };

test("format python: torchvision's CIFAR-10 archive is requested by its name, verified, extracted (its members only) and read back exactly", async () => {
  const { files, want } = pythonFiles('cifar10', C10_PY);
  const root = tmpDir();
  const body = await tarFolder('cifar-10-batches-py', { ...files, 'readme.html': '<html></html>', 'notes.txt': 'not ours' }, path.join(root, 'cifar-10-python.tar.gz'));
  const md5 = md5Of(body);
  const server = await serveFile('cifar-10-python.tar.gz', body);
  const dataDir = path.join(root, 'data');
  try {
    // the official md5 (size unchecked) and the official size (from Content-Length) both refuse it, in one line, leaving nothing
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, format: 'python', mirror: server.base, expectBytes: null }), (e: Error) => {
      assert.equal(e.message, `download of ${server.base}cifar-10-python.tar.gz failed: md5 ${md5} does not match c58f30108f718f92721af3b95e74349a; the download is corrupt or not the official archive — run the command again to retry, or pass --mirror URL`);
      return true;
    });
    await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, format: 'python', mirror: server.base }), /the server reports \d+ bytes, expected 170498071;/);
    assert.ok(!fs.existsSync(dataDir), 'the folder the failed download made is gone');

    // a binary folder does not count as the python one: it is fetched all the same
    const bin = path.join(dataDir, 'cifar-10-batches-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'data_batch_1.bin'), fakeCifar10(2));
    const lines: string[] = [];
    const opts: DownloadOptions = { format: 'python', mirror: server.base, expectMd5: md5, expectBytes: null, progress: false, log: (l) => lines.push(l) };
    const dir = await ensureDataset('cifar10', dataDir, opts);
    assert.equal(dir, path.join(dataDir, 'cifar-10-batches-py'));
    assert.deepEqual(server.requests, ['/cifar-10-python.tar.gz', '/cifar-10-python.tar.gz', '/cifar-10-python.tar.gz']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['batches.meta', 'data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'readme.html', 'test_batch']);
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['cifar-10-batches-bin', 'cifar-10-batches-py']);
    assert.deepEqual(lines, [`downloading ${server.base}cifar-10-python.tar.gz -> ${dataDir}`, `verified md5 ${md5} (${body.length} bytes)`, `extracted 8 files into ${dir}`]);
    assertRead(dataDir, 'cifar10', want);
    assert.deepEqual(readCifar(dataDir, 'cifar10', 'test', { format: 'python' }).classNames, Array.from({ length: 10 }, (_, i) => `class${i}`));

    // now present: no request, for the python form and for either
    assert.equal(await ensureDataset('cifar10', dataDir, opts), dir);
    assert.equal(await ensureDataset('cifar10', dataDir, { ...quiet, mirror: server.base }), bin);
    assert.equal(server.requests.length, 3);
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("format python: torchvision's CIFAR-100 archive from a full archive URL and from a local file; fine and coarse labels read back exactly", async () => {
  const { files, want } = pythonFiles('cifar100', { train: 7, test: 3 });
  const root = tmpDir();
  const archive = path.join(root, 'cifar-100-python.tar.gz');
  const body = await tarFolder('cifar-100-python', { ...files, 'file.txt~': 'x' }, archive);
  const server = await serveFile('cifar-100-python.tar.gz', body);
  try {
    const viaUrl = path.join(root, 'url');
    const dir = await ensureDataset('cifar100', viaUrl, { ...quiet, format: 'python', mirror: `${server.base}some/where/cifar-100-python.tar.gz`, expectMd5: md5Of(body), expectBytes: null });
    assert.deepEqual(server.requests, ['/some/where/cifar-100-python.tar.gz']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['meta', 'test', 'train']);
    assertRead(viaUrl, 'cifar100', want);
    const viaFile = path.join(root, 'file');
    await ensureDataset('cifar100', viaFile, { ...quiet, format: 'python', mirror: root, expectMd5: md5Of(body), expectBytes: null });
    assertRead(viaFile, 'cifar100', want);
    assert.deepEqual(readCifar(viaFile, 'cifar100', 'train', { coarse: true }).classNames.slice(0, 2), ['coarse0', 'coarse1']);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('format python: traversal, links, a corrupt pickle, labels out of range and a binary archive are refused in one line, leaving nothing', async () => {
  const { files } = pythonFiles('cifar10', { data_batch_1: 3, test_batch: 2 });
  const member = (name: string, data: Buffer | string = files[name]) => ({ name: `cifar-10-batches-py/${name}`, data });
  const outOfRange = batchPickle({ images: randomBytes(3 * IMAGE_BYTES), labels: Uint8Array.from([1, 10, 2]) }, null, 0, 3, 'x');
  const fix = 'the archive is corrupt — run the command again to download it again';
  const cases: [string, Member[], RegExp | string][] = [
    ['dotdot', [member('data_batch_1'), { name: 'cifar-10-batches-py/../../evil.txt', data: 'pwned' }], "archive member 'cifar-10-batches-py/../../evil.txt' escapes the target folder; refusing to extract"],
    ['symlink', [member('test_batch'), { name: 'cifar-10-batches-py/data_batch_1', type: '2', link: '/etc/passwd' }], /archive member 'cifar-10-batches-py\/data_batch_1' is a symbolic link \(to '\/etc\/passwd'\); refusing to extract$/],
    ['truncated', [member('data_batch_1', files.data_batch_1.subarray(0, 5000)), member('test_batch')], /\.tar\.gz: cifar-10-batches-py\/data_batch_1: pickle ends early \(at byte \d+, \d+ more needed\); the file is truncated or corrupt/],
    ['label', [member('data_batch_1', outOfRange)], new RegExp(`: cifar-10-batches-py/data_batch_1: record 1 has label 10, out of range for 10 classes; ${fix}$`)],
    ['binary', [{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: fakeCifar10(2) }], /holds none of the dataset's files \(cifar-10-batches-py\/data_batch_1, .*test_batch\); it is not the cifar10 python archive — check --mirror$/],
  ];
  const root = tmpDir();
  try {
    for (const [name, members, error] of cases) {
      const caseDir = path.join(root, name);
      const dataDir = path.join(caseDir, 'data');
      fs.mkdirSync(dataDir, { recursive: true });
      const archive = path.join(caseDir, 'cifar-10-python.tar.gz');
      fs.writeFileSync(archive, handTarGz(members));
      await assert.rejects(ensureDataset('cifar10', dataDir, { ...quiet, format: 'python', mirror: archive, expectMd5: await md5File(archive), expectBytes: null }), (e: Error) => {
        assert.ok(!e.message.includes('\n'), e.message);
        if (typeof error === 'string') assert.ok(e.message.endsWith(error), e.message);
        else assert.match(e.message, error);
        return true;
      }, name);
      assert.deepEqual(listAll(caseDir), ['cifar-10-python.tar.gz', 'data'], name);
    }
    assert.ok(!fs.existsSync(path.join(root, 'evil.txt')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('googlenet download --format python end to end over HTTP; a second run downloads nothing; --format bogus is refused listing the choices', async () => {
  const { files, want } = pythonFiles('cifar10', C10_PY);
  const root = tmpDir();
  const body = await tarFolder('cifar-10-batches-py', files, path.join(root, 'cifar-10-python.tar.gz'));
  const server = await serveFile('cifar-10-python.tar.gz', body);
  const dataDir = path.join(root, 'data');
  const run = async (...args: string[]) => {
    const p = start(['download', '--dataset', 'cifar10', '--data-dir', dataDir, '--mirror', server.base, ...args]);
    return { code: await p.exit, ...p.out };
  };
  try {
    const ok = await run('--format', 'python', '--expect-md5', md5Of(body));
    assert.equal(ok.code, 0, ok.stderr);
    const dir = path.join(dataDir, 'cifar-10-batches-py');
    assert.equal(ok.stdout, [
      'cifar10 train: 12 images (data_batch_1 3, data_batch_2 2, data_batch_3 4, data_batch_4 1, data_batch_5 2); the official set has 50000, this folder holds a subset',
      'cifar10 test: 5 images (test_batch 5); the official set has 10000, this folder holds a subset',
      `ready: ${dir}`, ''].join('\n'));
    assert.deepEqual(server.requests, ['/cifar-10-python.tar.gz']);
    assertRead(dataDir, 'cifar10', want);

    const again = await run('--format', 'python');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`${dir} is already there; nothing to download`));
    assert.match(again.stdout, new RegExp(`ready: ${dir}\n$`));
    assert.equal(server.requests.length, 1);

    const bogus = await run('--format', 'bogus');
    assert.equal(bogus.code, 1);
    assert.equal(bogus.stderr.trim(), "googlenet: --format must be one of binary, python, got 'bogus'");
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
