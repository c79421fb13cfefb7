import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, parseSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { f32, i64, toFloat32, numel, type HostTensor } from '../src/tensor/host.js';
import { requireShared } from './helpers.js';

const shared = requireShared(); // throws (failing this file) when ../shared is missing under CI
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
const tmpFile = (name = 'x.safetensors') => path.join(fs.mkdtempSync(path.join(tmpRoot, `${counter++}-`)), name);

/** A file from a header (object, or raw text) and `dataBytes` zero bytes of data. */
function craft(header: object | string, dataBytes: number, lengthField?: number): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(lengthField ?? json.length));
  const file = tmpFile();
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return file;
}

function assertSame(a: HostTensor, b: HostTensor) {
  assert.equal(a.dtype, b.dtype);
  assert.deepEqual(a.shape, b.shape);
  assert.equal(a.data.constructor, b.data.constructor);
  assert.deepEqual(Array.from(a.data as ArrayLike<number | bigint>), Array.from(b.data as ArrayLike<number | bigint>));
}

test('round-trips F32, I64, BF16, scalars and empty tensors, keeping order', () => {
  const tensors = new Map<string, HostTensor>([
    ['bf', { dtype: 'BF16', shape: [3], data: Uint16Array.from([0x3f80, 0xc000, 0x7f80]) }], // puts later data off alignment
    ['w', f32([2, 3], [1, -2, 3.5, 1e-30, -0, Infinity])],
    ['loss', f32([], [0.25])],
    ['steps', i64([], [123456789012345n])],
    ['labels', i64([4], [0, -1, 9007199254740993n, -9223372036854775808n])],
    ['empty', f32([0, 3], [])],
    ['2', f32([1], [7])], // integer-like name: must not be moved to the front
  ]);
  const file = tmpFile();
  writeSafetensors(file, tensors, { format: 'pt', note: 'héllo' });
  const back = readSafetensors(file);
  assert.deepEqual([...back.keys()], [...tensors.keys()]);
  for (const [k, t] of tensors) assertSame(back.get(k)!, t);
  assert.ok(Object.is((back.get('w')!.data as Float32Array)[4], -0));
  const bfData = back.get('bf')!.data;
  assert.equal(bfData.byteOffset % 4, 0);

  // Record input and empty metadata.
  const file2 = tmpFile();
  writeSafetensors(file2, { a: f32([1], [3]) }, {});
  assert.ok(fs.readFileSync(file2).toString('latin1').includes('{"__metadata__":{},"a":'));
  assertSame(readSafetensors(file2).get('a')!, f32([1], [3]));
});

test('writes the exact bytes of the reference layout', () => {
  const file = tmpFile();
  writeSafetensors(file, { a: f32([2], [1, 2]), b: i64([], [7]) });
  // Hand-computed: 138 bytes of JSON + 6 spaces = 144 (0x90), metadata first, data in the order given.
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}';
  assert.equal(json.length, 138);
  const expected = Buffer.concat([
    Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from(json + '      '),
    Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]), // 1.0f, 2.0f
    Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]),
  ]);
  assert.deepEqual(fs.readFileSync(file), expected);
  assert.equal(fs.readdirSync(path.dirname(file)).length, 1, 'no temporary file left behind');
});

test('helpers: numel, toFloat32, constructors', () => {
  assert.equal(numel([]), 1);
  assert.equal(numel([2, 0, 3]), 0);
  assert.equal(numel([2, 3, 4]), 24);
  assert.deepEqual(Array.from(toFloat32({ dtype: 'BF16', shape: [3], data: Uint16Array.from([0x3f80, 0xc000, 0x3e80]) })), [1, -2, 0.25]);
  assert.deepEqual(Array.from(toFloat32(i64([3], [1, -5, 7n]))), [1, -5, 7]);
  const f = f32([2], [1, 2]);
  assert.equal(toFloat32(f), f.data);
  assert.throws(() => f32([3], [1, 2]), /shape \[3\] has 3 elements but the data has 2/);
});

test('reads the PyTorch fixture ops.safetensors', { skip: 'skip' in shared ? shared.skip : false }, () => {
  const dir = (shared as { dir: string }).dir;
  const t = readSafetensors(path.join(dir, 'fixtures', 'ops.safetensors'));
  const x = t.get('conv1x1.in0');
  assert.ok(x, 'conv1x1.in0 present');
  assert.equal(x.dtype, 'F32');
  assert.equal(x.shape.length, 4);
  assert.equal(x.data.length, numel(x.shape));
  const ce = t.get('cross_entropy_mean.out')!;
  assert.deepEqual(ce.shape, []);
  assert.equal(ce.data.length, 1);
  assert.ok(Number.isFinite((ce.data as Float32Array)[0]) && (ce.data as Float32Array)[0] > 0);
  assert.equal([...t.keys()][0], 'conv3x3_pad1.out', 'header order kept');

  const init = readSafetensors(path.join(dir, 'fixtures', 'googlenet-c100-init.safetensors'));
  assert.deepEqual(init.get('linear.bias')!.shape, [100]);
  const nbt = [...init].find(([k]) => k.endsWith('num_batches_tracked'))![1];
  assert.equal(nbt.dtype, 'I64');
  assert.deepEqual(nbt.shape, []);
});

test('reports bad files with one-line messages naming the file and a fix', () => {
  const expectError = (file: string, re: RegExp) =>
    assert.throws(() => readSafetensors(file), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.ok(!e.message.includes('\n'), e.message);
      assert.match(e.message, re);
      return true;
    });
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  expectError(path.join(tmpRoot, 'nope.safetensors'), /: no such file/);
  const short = tmpFile();
  fs.writeFileSync(short, Buffer.from([1, 2, 3]));
  expectError(short, /file too short for a safetensors header \(3 bytes, need at least 8\)/);
  expectError(craft({ a: ok }, 8, 1000), /header length 1000 is beyond the end of the file/);
  expectError(craft('{"a": nope}', 0), /header is not valid JSON .*; the file is corrupt or not safetensors/);
  expectError(craft({ a: { ...ok, dtype: 'F16' } }, 8), /tensor "a" has unsupported dtype "F16" \(supported: F32, I64, BF16\)/);
  expectError(craft({ a: { ...ok, data_offsets: [0, 4] } }, 8), /tensor "a" has data_offsets \[0,4\] \(4 bytes\) but F32 shape \[2\] needs 8 bytes/);
  expectError(craft({ a: { ...ok, data_offsets: [8, 0] } }, 8), /tensor "a" has data_offsets \[8,0\] outside the data/);
  expectError(craft({ a: { ...ok, shape: [-1] } }, 8), /tensor "a" has an invalid shape \[-1\]/);
  const trunc = craft({ a: { dtype: 'F32', shape: [250], data_offsets: [0, 1000] } }, 500);
  assert.throws(() => readSafetensors(trunc), {
    message: `${trunc}: truncated file (header says 1000 bytes of data, file has 500); re-download or re-save it`,
  });
  // parseSafetensors uses the name it is given.
  assert.throws(() => parseSafetensors(Buffer.alloc(2), 'weights.safetensors'), /^Error: weights\.safetensors: file too short/);
});

test('a failed write leaves no partial target and no temporary file', () => {
  // Invalid tensor: the existing target is untouched.
  const file = tmpFile();
  fs.writeFileSync(file, 'old');
  const bad = { a: f32([2], [1, 2]), b: { dtype: 'F32', shape: [3], data: new Float32Array(2) } as HostTensor };
  assert.throws(() => writeSafetensors(file, bad), /tensor "b": shape \[3\] has 3 elements but the data has 2/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.safetensors']);

  // Failure after the temporary file was written (rename onto a directory): the temporary file is removed.
  const asDir = tmpFile();
  fs.mkdirSync(asDir);
  fs.writeFileSync(path.join(asDir, 'inside'), '');
  assert.throws(() => writeSafetensors(asDir, { a: f32([1], [1]) }), /x\.safetensors: cannot write: a folder is in its place; move it away or choose another --out$/);
  assert.deepEqual(fs.readdirSync(path.dirname(asDir)), ['x.safetensors']);
  assert.ok(fs.statSync(asDir).isDirectory());

  // Missing directory: nothing is created.
  const missing = path.join(tmpRoot, 'no-such-dir', 'w.safetensors');
  assert.throws(() => writeSafetensors(missing, { a: f32([1], [1]) }), /w\.safetensors: cannot write: its folder does not exist; create it or choose another --out$/);
  assert.ok(!fs.existsSync(path.dirname(missing)));
});
