// torch.save files: the pickle reader on hand-built pickles (every opcode it reads, and a
// malicious GLOBAL refused before it runs), the committed tiny fixtures (every dtype, shared
// storages, strided views, the legacy format, a whole pickled module), and — when Debian's
// python3-torch is at /usr/bin/python3 — fixtures made at test time by scripts/make-pt-fixtures.py
// for googlenet and googlenet-short4, read and compared bit for bit with the same weights in
// safetensors, their logits with PyTorch's, and our own .pt files loaded back by PyTorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { unpickle, PyDict, PyTuple, PyBytes, pyCallable } from '../src/io/pickle.js';
import { encodeTorch, readTorch } from '../src/io/torch.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { readWeightsFile } from '../src/io/weights.js';
import { readWeights } from '../src/train/checkpoint.js';
import { createModel } from '../src/models/googlenet.js';
import { noGrad } from '../src/autograd/engine.js';
import { Tensor, tidy } from '../src/tensor/tensor.js';
import type { HostTensor } from '../src/tensor/host.js';
import { repoRoot, requireTorchPython, sharedOpts, sharedPath, TORCH_PYTHON } from './helpers.js';
import { cli } from './processes.js';
import { assertRel } from './numeric.js';

const SCRIPT = path.join(repoRoot, 'scripts', 'make-pt-fixtures.py');
const TINY = path.join(repoRoot, 'test', 'data', 'pt');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-pt-'));
const py = requireTorchPython();
const pyOpts = 'skip' in py ? { skip: py.skip } : {};

/** Bytes from numbers and latin1 strings, for hand-built pickles. */
function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
const opts = { name: 'x.pkl', globals: {}, refuseReason: 'why', refuseFix: 'fix' };

test('pickle: scalars, strings, containers, memo and frames', () => {
  const f64 = new Uint8Array(8);
  new DataView(f64.buffer).setFloat64(0, -2.5, false); // BINFLOAT is big-endian
  const p = bytes(
    0x80, 4, 0x95, ...u32(200), 0, 0, 0, 0, // PROTO 4, FRAME
    0x7d, 0x94, // EMPTY_DICT, MEMOIZE (slot 0)
    0x28, // MARK
    0x8c, 1, 'a', 0x4b, 7, // 'a': BININT1 7
    0x8c, 1, 'b', 0x4d, 0x34, 0x12, // 'b': BININT2 0x1234
    0x8c, 1, 'c', 0x4a, ...u32(-5 >>> 0), // 'c': BININT -5
    0x8c, 1, 'd', 0x8a, 2, 0x00, 0x80, // 'd': LONG1 -32768
    0x8c, 1, 'e', 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, // 'e': LONG1 2**64 (a bigint)
    0x8c, 1, 'f', 0x47, [...f64], // 'f': BINFLOAT
    0x8c, 1, 'g', 0x58, ...u32(3), 0xc3, 0xa9, 'z', // 'g': BINUNICODE 'éz'
    0x8c, 1, 'h', 0x88, 0x8c, 1, 'i', 0x89, 0x8c, 1, 'j', 0x4e, // NEWTRUE NEWFALSE NONE
    0x8c, 1, 'k', 0x5d, 0x4b, 1, 0x61, 0x28, 0x4b, 2, 0x4b, 3, 0x65, // EMPTY_LIST APPEND MARK APPENDS
    0x8c, 1, 'l', 0x29, // EMPTY_TUPLE
    0x8c, 1, 'm', 0x4b, 1, 0x85, // TUPLE1
    0x8c, 1, 'n', 0x4b, 1, 0x4b, 2, 0x86, // TUPLE2
    0x8c, 1, 'o', 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x87, // TUPLE3
    0x8c, 1, 'p', 0x28, 0x4b, 4, 0x4b, 5, 0x74, 0x71, 9, // TUPLE, BINPUT 9
    0x8c, 1, 'q', 0x68, 9, // BINGET 9
    0x8c, 1, 'r', 0x6a, ...u32(9), // LONG_BINGET 9
    0x8c, 1, 's', 0x55, 2, 'hi', // SHORT_BINSTRING (Python 2 str → bytes)
    0x8c, 1, 't', 0x43, 1, 0xff, // SHORT_BINBYTES
    0x8c, 1, 'u', 0x28, 0x4b, 1, 0x4b, 2, 0x64, // DICT {1: 2}
    0x8c, 1, 'v', 0x28, 0x4b, 9, 0x6c, // LIST
    0x75, // SETITEMS
    0x8c, 1, 'w', 0x4b, 8, 0x73, // SETITEM
    0x2e, // STOP
  );
  const d = unpickle(p, opts) as PyDict;
  assert.ok(d instanceof PyDict);
  const g = (k: string) => d.map.get(k);
  assert.equal(g('a'), 7);
  assert.equal(g('b'), 0x1234);
  assert.equal(g('c'), -5);
  assert.equal(g('d'), -32768);
  assert.equal(g('e'), 2n ** 64n);
  assert.equal(g('f'), -2.5);
  assert.equal(g('g'), 'éz');
  assert.deepEqual([g('h'), g('i'), g('j')], [true, false, null]);
  assert.deepEqual(g('k'), [1, 2, 3]);
  assert.deepEqual((g('l') as PyTuple).items, []);
  assert.deepEqual((g('m') as PyTuple).items, [1]);
  assert.deepEqual((g('n') as PyTuple).items, [1, 2]);
  assert.deepEqual((g('o') as PyTuple).items, [1, 2, 3]);
  assert.deepEqual((g('p') as PyTuple).items, [4, 5]);
  assert.equal(g('q'), g('p'), 'BINGET returns the memoised object itself');
  assert.equal(g('r'), g('p'));
  assert.equal(Buffer.from((g('s') as PyBytes).bytes).toString('latin1'), 'hi');
  assert.deepEqual([...(g('t') as PyBytes).bytes], [0xff]);
  assert.equal((g('u') as PyDict).map.get(1), 2);
  assert.deepEqual(g('v'), [9]);
  assert.equal(g('w'), 8);
  assert.deepEqual([...d.map.keys()].join(''), 'abcdefghijklmnopqrstuvw', 'insertion order kept');
});

test('pickle: GLOBAL, STACK_GLOBAL, REDUCE, BUILD and BINPERSID go only through the allow-list', () => {
  const calls: unknown[][] = [];
  const globals = { 'm.f': pyCallable('m.f', (a) => (calls.push(a), { made: a })) };
  const p = bytes(
    0x80, 2, 0x63, 'm\nf\n', 0x4b, 1, 0x85, 0x52, // GLOBAL m.f, REDUCE (1,)
    0x8c, 1, 'm', 0x8c, 1, 'f', 0x93, 0x29, 0x52, // STACK_GLOBAL m.f, REDUCE ()
    0x4b, 5, 0x51, // BINPERSID 5
    0x87, 0x2e,
  );
  const r = unpickle(p, { ...opts, globals, persistentLoad: (pid) => `storage ${String(pid)}` }) as PyTuple;
  assert.deepEqual(calls, [[1], []]);
  assert.equal(r.items[2], 'storage 5');
  // BUILD on an OrderedDict keeps the state (a state dict's _metadata) without interpreting it
  const od = unpickle(bytes(0x80, 2, 0x63, 'collections\nOrderedDict\n', 0x29, 0x52, 0x7d, 0x62, 0x2e), {
    ...opts, globals: { 'collections.OrderedDict': pyCallable('collections.OrderedDict', () => new PyDict('OrderedDict')) },
  }) as PyDict;
  assert.ok(od instanceof PyDict && od.attrs instanceof PyDict);
  assert.throws(() => unpickle(bytes(0x80, 2, 0x63, 'm\ng\n', 0x2e), { ...opts, globals }), /^Error: x\.pkl: refuses to load 'm\.g' \(why\); fix$/);
  assert.throws(() => unpickle(bytes(0x80, 2, 0x4b, 1, 0x51, 0x2e), opts), /BINPERSID/);
  assert.throws(() => unpickle(bytes(0x80, 2, 0x4b), opts), /x\.pkl: pickle ends early .*truncated/);
  assert.throws(() => unpickle(bytes(0x80, 2, 0x69, 0x2e), opts), /opcode 0x69 .* not supported/); // INST
  assert.throws(() => unpickle(bytes(0x80, 2, 0x68, 3, 0x2e), opts), /memo slot 3/);
});

/** A torch.save-shaped zip whose data.pkl is `pkl`. */
function zipWith(pkl: Uint8Array): Uint8Array {
  return zipSync({ 'archive/data.pkl': [pkl, { level: 0 }], 'archive/version': [bytes('3\n'), { level: 0 }] });
}

test('a .pt whose pickle calls os.system is refused, naming it, and runs nothing', () => {
  const dir = tmp();
  const marker = path.join(dir, 'pwned');
  for (const [module, name] of [['os', 'system'], ['posix', 'system'], ['builtins', 'eval']]) {
    const file = path.join(dir, `evil-${module}.pt`);
    const cmd = `touch ${marker}`;
    fs.writeFileSync(file, zipWith(bytes(0x80, 2, 0x63, `${module}\n${name}\n`, 0x58, ...u32(cmd.length), cmd, 0x85, 0x52, 0x2e)));
    assert.throws(() => readWeights(file), (e: Error) => {
      assert.equal(e.message, `${file}: refuses to load '${module}.${name}' (a .pt file can run code; only tensors, containers and numbers are read); re-save it with torch.save(model.state_dict(), PATH)`);
      return true;
    });
  }
  assert.ok(!fs.existsSync(marker), 'the payload did not run');
});

for (const file of ['tiny.pt', 'tiny-proto4.pt']) test(`the committed ${file}: every dtype, storages shared at offsets, strided and transposed views${file.includes('4') ? ', pickle protocol 4, an nn.Parameter' : ''}`, () => {
  const r = readTorch(path.join(TINY, file));
  const want = JSON.parse(fs.readFileSync(path.join(TINY, 'tiny.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
  assert.deepEqual([...r.tensors.keys()], Object.keys(want));
  const dtypes: Record<string, string> = { 'torch.float32': 'F32', 'torch.float16': 'F32', 'torch.float64': 'F32', 'torch.bfloat16': 'BF16', 'torch.int64': 'I64' };
  for (const [k, w] of Object.entries(want)) {
    const t = r.tensors.get(k)!;
    assert.equal(t.dtype, dtypes[w.dtype], `${k} dtype`);
    assert.deepEqual(t.shape, w.shape, `${k} shape`);
    const got = t.dtype === 'I64' ? [...(t.data as BigInt64Array)].map(Number)
      : t.dtype === 'BF16' ? [...(t.data as Uint16Array)].map((b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0])
      : [...(t.data as Float32Array)];
    // json holds the float32 values (as float64 text): equal means bit-equal float32s
    assert.deepEqual(got, w.values.map((v) => (t.dtype === 'I64' ? v : Math.fround(v))), `${k} values`);
  }
});

test('the legacy format and whole pickled modules are refused with advice; a truncated file is one line', () => {
  assert.throws(() => readWeights(path.join(TINY, 'tiny-legacy.pt')), /tiny-legacy\.pt: a torch\.save file in the legacy format \(PyTorch before 1\.6\).*re-save it/);
  assert.throws(() => readWeights(path.join(TINY, 'tiny-module.pt')), /tiny-module\.pt: refuses to load 'torch\.nn\.modules\.linear\.Linear' .*torch\.save\(model\.state_dict\(\), PATH\)/);
  const whole = fs.readFileSync(path.join(TINY, 'tiny.pt'));
  const dir = tmp();
  for (const cut of [whole.length - 30, Math.floor(whole.length / 2), 10]) {
    const file = path.join(dir, `cut-${cut}.pt`);
    fs.writeFileSync(file, whole.subarray(0, cut));
    assert.throws(() => readWeights(file), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: `) && !e.message.includes('\n'), e.message);
      assert.match(e.message, /truncated|corrupt/);
      return true;
    });
  }
});

test('our .pt writer: read back bit for bit, every entry 64-byte aligned', () => {
  const sd = readTorch(path.join(TINY, 'tiny.pt')).tensors;
  const file = path.join(tmp(), 'ours.pt');
  fs.writeFileSync(file, encodeTorch(sd));
  const back = readWeightsFile(file);
  assert.deepEqual([...back.keys()], [...sd.keys()]);
  for (const [k, t] of sd) {
    const b = back.get(k)!;
    assert.equal(b.dtype, t.dtype);
    assert.deepEqual(b.shape, t.shape);
    assert.deepEqual(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), k);
  }
  // every local header's data starts at a multiple of 64, as PyTorch writes them
  const z = fs.readFileSync(file);
  let starts = 0;
  for (let at = z.indexOf('PK\x03\x04'); at >= 0; at = z.indexOf('PK\x03\x04', at + 4)) {
    const data = at + 30 + z.readUInt16LE(at + 26) + z.readUInt16LE(at + 28);
    assert.equal(data % 64, 0, `entry at ${at}: data at ${data}`);
    starts++;
  }
  assert.equal(starts, sd.size + 2);
});

// ---- against PyTorch (fixtures made now by scripts/make-pt-fixtures.py) ----

function python(...args: string[]): void {
  const r = spawnSync(TORCH_PYTHON, [SCRIPT, ...args], { stdio: 'pipe', encoding: 'utf8' });
  assert.equal(r.status, 0, `make-pt-fixtures.py ${args.join(' ')} failed: ${r.stderr}`);
}

function evalLogits(name: string, sd: Map<string, HostTensor>, io: Map<string, HostTensor>, source: string): Float32Array {
  const model = createModel(name, 10);
  try {
    model.loadStateDict(sd, source);
    model.eval();
    const x = io.get('input')!;
    return tidy(() => noGrad(() => model.forward(Tensor.fromArray(x.data as Float32Array, x.shape)).toArray()));
  } finally {
    model.dispose();
  }
}

const same = (a: HostTensor, b: HostTensor) =>
  a.dtype === b.dtype && a.shape.join() === b.shape.join() &&
  Buffer.compare(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)) === 0;

for (const name of ['googlenet-short4', 'googlenet']) {
  test(`${name}: PyTorch's .pt files (plain, checkpoint, DataParallel, shared storage) give the safetensors weights' logits, PyTorch's within 1e-4, and our .pt loads in PyTorch (weights_only, strict)`, pyOpts, () => {
    const dir = tmp();
    python('models', dir, name);
    const at = (f: string) => path.join(dir, f);
    const ref = readSafetensors(at(`${name}.safetensors`));
    const io = readSafetensors(at(`${name}-io.safetensors`));
    const refLogits = evalLogits(name, ref, io, 'safetensors');
    assertRel(refLogits, io.get('logits')!.data as Float32Array, 1e-4, `${name} logits vs PyTorch`);
    for (const [kind, note] of [['plain', null], ['checkpoint', /a training checkpoint; read its model from 'model_state_dict'/], ['dataparallel', /stripped the 'module\.' prefix \(a DataParallel state dict\) from \d+ names/], ['shared', null]] as const) {
      const notes: string[] = [];
      const sd = readWeights(at(`${name}-${kind}.pt`), (l) => notes.push(l));
      if (note) assert.match(notes.join('\n'), note);
      else assert.deepEqual(notes, []);
      assert.deepEqual([...sd.keys()].sort(), [...ref.keys()].sort(), `${kind}: names`);
      const differ = [...ref].filter(([k, t]) => !same(sd.get(k)!, t)).map(([k]) => k);
      assert.deepEqual(differ, [], `${kind}: tensors that differ from the safetensors file`);
      assert.deepEqual(evalLogits(name, sd, io, kind), refLogits, `${kind}: logits`);
    }
    // ours, loaded by PyTorch 1.13's torch.load(weights_only=True) and load_state_dict(strict=True)
    fs.writeFileSync(at('ours.pt'), encodeTorch(ref));
    python('check', at('ours.pt'), name, at(`${name}-io.safetensors`), at('theirs.safetensors'));
    assertRel(readSafetensors(at('theirs.safetensors')).get('logits')!.data as Float32Array, refLogits, 1e-4, `${name}: PyTorch's logits from our .pt vs ours`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('a torch.save file whose pickle runs os.system when loaded unsafely is refused, and the file is not created', pyOpts, () => {
  const dir = tmp();
  const marker = path.join(dir, 'created-by-pickle');
  python('evil', path.join(dir, 'evil.pt'), marker);
  assert.throws(() => readWeights(path.join(dir, 'evil.pt')), /evil\.pt: refuses to load '(posix|os)\.system'/);
  assert.ok(!fs.existsSync(marker), 'the payload did not run');
});

test('train --save-model --save-format pt, convert both ways, and test --weights by content: the same metrics', sharedOpts, () => {
  const out = tmp();
  const data = sharedPath('data');
  const t = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-train', '64', '--limit-test', '10', '--epochs', '1', '--out', out, '--save-model', '--save-format', 'pt']);
  assert.equal(t.code, 0, t.stderr);
  assert.ok(fs.existsSync(path.join(out, 'model.pt')) && !fs.existsSync(path.join(out, 'model.safetensors')), fs.readdirSync(out).join(', '));
  const at = (f: string) => path.join(out, f);
  for (const [from, to] of [['model.pt', 'model.safetensors'], ['checkpoint.safetensors', 'from-checkpoint.pth'], ['model.pt', 'weights.bin']] as const) {
    const r = cli(to === 'weights.bin' ? ['convert', at(from), at('x.safetensors')] : ['convert', at(from), at(to)]);
    assert.equal(r.code, 0, r.stderr);
    if (to === 'weights.bin') fs.renameSync(at('x.safetensors'), at(to)); // a name that says nothing: read by content
  }
  const bad = cli(['convert', at('model.pt'), at('model.bin')]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim(), `googlenet: ${at('model.bin')}: cannot tell the format to write from the name; end it in .safetensors, .pt or .pth`);
  const metrics = (weights: string) => {
    const r = cli(['test', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', data, '--limit-test', '50', '--weights', weights, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  };
  const want = metrics(at('checkpoint.safetensors'));
  for (const f of ['model.pt', 'model.safetensors', 'from-checkpoint.pth', 'weights.bin']) assert.deepEqual(metrics(at(f)), want, f);
  const sd = readWeightsFile(at('model.pt'));
  const ck = readWeights(at('checkpoint.safetensors'));
  assert.deepEqual([...sd.keys()].sort(), [...ck.keys()].sort());
  for (const [k, v] of ck) assert.ok(same(sd.get(k)!, v), k);
});
