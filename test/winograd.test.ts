// Winograd convolutions (issue 26): oneDNN 2.6 has them for avx512_core only, so they engage by a
// fixed rule (f32, 3x3, stride 1, at least 16 input channels, avx512_core or better), never by
// timing. The rule and --conv are tested everywhere with an injected ISA; the native fallback (a
// Winograd request where oneDNN has none computes direct, bit for bit) on any CPU below avx512_core
// and, by capping a child at AVX2, on AVX-512 machines too; Winograd itself (close to direct, and
// really run: oneDNN's verbose log names a wino kernel) only where oneDNN uses avx512_core, and the
// tests that need it skip elsewhere, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConvAlgorithm, Handle } from '../src/backend/backend.js';
import { syntheticSplit } from '../src/bench/bench.js';
import { createModel } from '../src/models/googlenet.js';
import { isaHasWinograd, setConvAlgorithm, convProblem, winogradApplies, winogradRefusal, type ConvFacts, type ConvMachine } from '../src/nn/conv-algorithm.js';
import { Conv2d } from '../src/nn/layers.js';
import { backend } from '../src/tensor/tensor.js';
import { configFromFlat } from '../src/train/config.js';
import { train as trainRun } from '../src/train/trainer.js';
import { cpuDescription, cpuHasAvx512, isaCap, type Machine } from '../src/util/machine.js';
import { Rng } from '../src/util/rng.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { relErr } from './numeric.js';
import { cli } from './processes.js';

const here = backend().cpuIsa();
const winograd = isaHasWinograd(here);
const needsAvx512 = winograd ? {} : { skip: `oneDNN uses ${here} here (${cpuDescription()}): Winograd needs AVX-512 (avx512_core or better), so only the fallback to direct is tested` };

/** This process's environment without either ISA cap, plus `vars`. */
function env(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { ONEDNN_MAX_CPU_ISA: _o, DNNL_MAX_CPU_ISA: _d, ...rest } = process.env;
  return { ...rest, ...vars };
}

const machineOf = (isa: string, over: Partial<ConvMachine> = {}): ConvMachine => ({ isa, onednn: '2.6.3', cap: null, cpuAvx512: isa.startsWith('avx512'), ...over });

// ---- the rule ----------------------------------------------------------------------------------

test('the rule: f32, 3x3, stride 1, at least 16 input channels, on avx512_core or better, by a table of shapes and ISAs', () => {
  const conv = (over: Partial<ConvFacts>): ConvFacts => ({ bf16: false, kernel: [3, 3], stride: [1, 1], inChannels: 64, ...over });
  const shapes: [string, ConvFacts, boolean][] = [
    ['the stem (3 input channels)', conv({ inChannels: 3 }), false],
    ['1x1', conv({ kernel: [1, 1] }), false],
    ['5x5', conv({ kernel: [5, 5] }), false],
    ['3x1', conv({ kernel: [3, 1] }), false],
    ['stride 2', conv({ stride: [2, 2] }), false],
    ['stride (1, 2)', conv({ stride: [1, 2] }), false],
    ['15 input channels', conv({ inChannels: 15 }), false],
    ['16 input channels', conv({ inChannels: 16 }), true],
    ['192 input channels', conv({ inChannels: 192 }), true],
    ['bf16', conv({ bf16: true }), false],
  ];
  const isas: [string, boolean][] = [
    ['sse41', false], ['avx', false], ['avx2', false], ['avx2_vnni', false], ['avx512_mic', false], ['avx512_mic_4ops', false],
    ['avx512_core', true], ['avx512_core_vnni', true], ['avx512_core_bf16', true], ['avx512_core_amx', true], ['isa_all', false],
  ];
  for (const [isa, has] of isas) {
    assert.equal(isaHasWinograd(isa), has, isa);
    for (const [what, facts, applies] of shapes) assert.equal(winogradApplies(facts, isa), applies && has, `${what} on ${isa}`);
  }
});

// ---- setConvAlgorithm on a built-in network -------------------------------------------------------

/** GoogLeNet's 3x3 convolutions: in each of its nine Inception modules b2's one and b3's two (the 5x5 branch as two 3x3s). */
const MODULES = ['a3', 'b3', 'a4', 'b4', 'c4', 'd4', 'e4', 'a5', 'b5'];
const INCEPTION_3X3 = MODULES.flatMap((m) => [`${m}.b2.3`, `${m}.b3.3`, `${m}.b3.6`]);

function withGoogLeNet(fn: (convs: [string, Conv2d][], model: ReturnType<typeof createModel>) => void): void {
  const model = createModel('googlenet', 10);
  try {
    fn([...model.namedModules()].filter((e): e is [string, Conv2d] => e[1] instanceof Conv2d), model);
  } finally {
    model.dispose();
  }
}
const winogradConvs = (convs: [string, Conv2d][]) => convs.filter(([, c]) => c.algorithm === 'winograd').map(([n]) => n);

test("setConvAlgorithm on GoogLeNet: auto on AVX-512 switches exactly the Inception modules' 27 3x3 convolutions (not the stem, no 1x1); direct none; auto on AVX2 none", () => {
  withGoogLeNet((convs, model) => {
    assert.equal(convs.length, 1 + 9 * 7, 'the stem, and per module b1, b2 (two), b3 (three) and b4');
    assert.ok(convs.some(([n, c]) => n === 'prelayer.0' && c.inChannels === 3 && c.weight.shape[2] === 3), 'the stem is a 3x3 on 3 channels');
    for (const isa of ['avx512_core', 'avx512_core_vnni', 'avx512_core_bf16', 'avx512_core_amx']) {
      assert.equal(setConvAlgorithm(model, 'auto', machineOf(isa)), 'winograd', isa);
      assert.deepEqual(winogradConvs(convs), INCEPTION_3X3, isa);
      assert.equal(setConvAlgorithm(model, 'winograd', machineOf(isa)), 'winograd', `the rule insisted on, ${isa}`);
      assert.deepEqual(winogradConvs(convs), INCEPTION_3X3, isa);
      assert.equal(setConvAlgorithm(model, 'direct', machineOf(isa)), 'direct');
      assert.deepEqual(winogradConvs(convs), [], `direct switches none back on, ${isa}`);
    }
    for (const isa of ['avx2', 'sse41', 'avx512_mic']) {
      setConvAlgorithm(model, 'auto', machineOf('avx512_core'));
      assert.equal(setConvAlgorithm(model, 'auto', machineOf(isa)), 'direct', isa);
      assert.deepEqual(winogradConvs(convs), [], `auto on ${isa} sets every convolution back to direct`);
    }
    // a bf16 model: auto leaves every convolution direct
    for (const [, c] of convs) c.bf16 = true;
    assert.equal(setConvAlgorithm(model, 'auto', machineOf('avx512_core_bf16')), 'direct');
    assert.deepEqual(winogradConvs(convs), []);
  });
});

test('--conv winograd is refused in one line below avx512_core (naming the cap where it is the reason) and with bf16; nothing is switched', () => {
  withGoogLeNet((convs, model) => {
    const avx2 = '--conv winograd needs a CPU with AVX-512: oneDNN 2.6.3 has Winograd convolutions for avx512_core only, and here it uses avx2; use --conv auto or direct';
    assert.throws(() => setConvAlgorithm(model, 'winograd', machineOf('avx2')), { message: avx2 });
    assert.throws(() => setConvAlgorithm(model, 'winograd', machineOf('avx2', { cap: 'ONEDNN_MAX_CPU_ISA=AVX2', cpuAvx512: false })), { message: avx2 }, 'a cap on a CPU without AVX-512 is not the reason');
    assert.throws(() => setConvAlgorithm(model, 'winograd', machineOf('avx2', { cap: 'ONEDNN_MAX_CPU_ISA=AVX2', cpuAvx512: true })), {
      message: '--conv winograd needs a CPU with AVX-512: oneDNN 2.6.3 has Winograd convolutions for avx512_core only, and here it uses avx2 because ONEDNN_MAX_CPU_ISA=AVX2 is set; unset it, or use --conv auto or direct',
    });
    assert.deepEqual(winogradConvs(convs), []);
    for (const [, c] of convs) c.bf16 = true;
    const bf16 = '--conv winograd is for f32: oneDNN has Winograd convolutions in f32 only, and this model computes in bf16; use --conv auto or direct, or --precision fp32';
    assert.throws(() => setConvAlgorithm(model, 'winograd', machineOf('avx512_core_bf16')), { message: bf16 });
    assert.deepEqual(winogradConvs(convs), []);
    assert.equal(convProblem('winograd', true, machineOf('avx512_core')), bf16);
    assert.equal(convProblem('winograd', false, machineOf('avx512_core')), null);
    assert.equal(convProblem('winograd', true, machineOf('avx2')), avx2, 'the ISA is named first');
    assert.equal(winogradRefusal(machineOf('sse41')), avx2.replace('uses avx2', 'uses sse41'));
  });
});

test('a training refused --conv winograd (below avx512_core, or with bf16 where oneDNN has Winograd) frees the model it built', async () => {
  const config = configFromFlat({ model: 'googlenet-short4', dataset: 'cifar10', epochs: 1, batchSize: 4, precision: winograd ? 'bf16' : 'fp32', conv: 'winograd', dryRun: true });
  const data = { train: syntheticSplit(8), test: syntheticSplit(4) };
  const before = backend().stats().liveBytes;
  await assert.rejects(trainRun(config, { claim: null, data }), { message: winograd ? /^--conv winograd is for f32/ : /^--conv winograd needs a CPU with AVX-512/ });
  assert.equal(backend().stats().liveBytes, before, 'no native memory left behind');
});

// ---- the native convolutions ---------------------------------------------------------------------

/** Four of GoogLeNet's 3x3 convolutions (a3.b2, a3.b3's first, b4.b3's first, b5.b2) at batch 2: [N, C, H, W] and output channels. */
const SHAPES: [number[], number][] = [[[2, 96, 32, 32], 128], [[2, 16, 32, 32], 32], [[2, 24, 16, 16], 64], [[2, 192, 8, 8], 384]];

/** Forward (training and inference), backward data and backward weights (with bias) of one shape, by `algorithm`. */
function passes(x: number[], outChannels: number, algorithm: ConvAlgorithm): Record<string, Float32Array> {
  const B = backend();
  const rng = new Rng(x[1]!);
  const random = (shape: number[]) => B.create(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), { shape });
  const wShape = [outChannels, x[1]!, 3, 3];
  const handles: Handle[] = [];
  const own = <T extends Handle | null>(h: T): T => (h && handles.push(h), h);
  try {
    const xs = own(random(x)), w = own(random(wShape)), b = own(random([outChannels])), dy = own(random([x[0]!, outChannels, x[2]!, x[3]!]));
    const geom = { stride: [1, 1], padding: [1, 1], bf16: false, algorithm } as const;
    const [dw, db] = B.convBackwardWeights(dy, xs, { ...geom, weightShape: wShape, hasBias: true });
    own(dw);
    own(db);
    return {
      'forward (training)': B.read(own(B.convForward(xs, w, b, { ...geom, training: true }))),
      'forward (inference)': B.read(own(B.convForward(xs, w, b, { ...geom, training: false }))),
      'backward data': B.read(own(B.convBackwardData(dy, xs, w, { ...geom, hasBias: true }))),
      'backward weights': B.read(dw),
      'backward bias': B.read(db!),
    };
  } finally {
    for (const h of handles) B.release(h);
  }
}

test("below avx512_core, a Winograd request computes direct: GoogLeNet's 3x3 shapes, all passes, bit for bit", winograd ? { skip: `oneDNN uses ${here} here, which has Winograd: its accuracy is tested instead (and the fallback in a child capped at AVX2)` } : {}, () => {
  for (const [x, oc] of SHAPES) {
    const direct = passes(x, oc, 'direct'), wino = passes(x, oc, 'winograd');
    for (const pass of Object.keys(direct)) assert.deepEqual(wino[pass], direct[pass], `${pass} of [${x}] -> ${oc}`);
  }
});

test("on avx512_core or better, Winograd is within 1e-5 relative of direct: GoogLeNet's 3x3 shapes, all passes", needsAvx512, () => {
  for (const [x, oc] of SHAPES) {
    const direct = passes(x, oc, 'direct'), wino = passes(x, oc, 'winograd');
    for (const pass of Object.keys(direct)) {
      const e = relErr(wino[pass]!, direct[pass]!);
      assert.ok(e < 1e-5, `${pass} of [${x}] -> ${oc}: relative error ${e}`);
    }
  }
});

/** oneDNN's verbose lines for the convolutions of one Winograd forward, run in a child with `childEnv`. */
function verboseConvolutions(childEnv: NodeJS.ProcessEnv): string[] {
  const script = `const { backend } = await import(${JSON.stringify(new URL('../src/tensor/tensor.js', import.meta.url).href)});
    const B = backend();
    const x = B.create(null, { shape: [2, 32, 8, 8], fill: 1 }), w = B.create(null, { shape: [32, 32, 3, 3], fill: 0.5 });
    const y = B.convForward(x, w, null, { stride: [1, 1], padding: [1, 1], bf16: false, algorithm: 'winograd', training: true });
    for (const h of [x, w, y]) B.release(h);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...childEnv, ONEDNN_VERBOSE: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^onednn_verbose,exec,cpu,convolution,/.test(l));
  assert.ok(lines.length > 0, `oneDNN's verbose log names the convolution it ran:\n${r.stdout}`);
  return lines;
}

test('a child capped at AVX2 asks for Winograd and oneDNN runs a direct kernel (on every machine)', () => {
  for (const line of verboseConvolutions(env({ ONEDNN_MAX_CPU_ISA: 'AVX2' }))) {
    assert.match(line, /,alg:convolution_direct,/, line);
    assert.doesNotMatch(line, /wino/, line);
  }
});

test('where oneDNN uses avx512_core, a Winograd forward really runs a Winograd kernel (jit_wino_…)', needsAvx512, () => {
  const lines = verboseConvolutions(process.env);
  assert.ok(lines.some((l) => /^onednn_verbose,exec,cpu,convolution,[^,]*wino[^,]*,.*,alg:convolution_winograd,/.test(l)), lines.join('\n'));
});

// ---- the command line ------------------------------------------------------------------------------

/** The one stderr line of a refused command. */
function refused(r: { code: number | null; stderr: string }): string {
  assert.notEqual(r.code, 0, r.stderr);
  assert.equal(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
  return r.stderr;
}

/** The refusal of --conv winograd where oneDNN uses avx2; naming `cap` where the CPU has AVX-512 and a cap holds oneDNN to avx2. */
const winogradNeeds = (cap: string | null) => new RegExp(`^googlenet: --conv winograd needs a CPU with AVX-512: oneDNN \\d+\\.\\d+\\.\\d+ has Winograd convolutions for avx512_core only, and here it uses avx2${
  cap && cpuHasAvx512() ? ` because ${cap.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is set; unset it, or` : ';'} use --conv auto or direct$`);

test('--conv takes auto, winograd or direct: another value is refused in one line', () => {
  assert.equal(refused(cli(['--conv', 'bogus', 'summary'])), "googlenet: --conv must be one of auto, winograd, direct, got 'bogus'");
  assert.equal(refused(cli(['summary', '--conv', 'Winograd'])), "googlenet: --conv must be one of auto, winograd, direct, got 'Winograd'", 'after the command too');
});

test('--conv winograd without AVX-512 (here, or in a child capped at AVX2 on any machine) is refused in one line, before anything is written', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-wino-'));
  try {
    const cases: [string, NodeJS.ProcessEnv, RegExp][] = [['capped at AVX2', env({ ONEDNN_MAX_CPU_ISA: 'AVX2' }), winogradNeeds('ONEDNN_MAX_CPU_ISA=AVX2')]];
    // this process's environment (a cap set for the whole suite included)
    if (here === 'avx2') cases.push(['as this process runs', process.env, winogradNeeds(isaCap())]);
    for (const [what, childEnv, message] of cases) {
      for (const args of [
        ['--conv', 'winograd', 'train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', path.join(tmp, 'data'), '--epochs', '1', '--out', path.join(tmp, 'run')],
        ['experiment', '--conv', 'winograd', '--models', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', path.join(tmp, 'data'), '--out', path.join(tmp, 'exp')],
        ['--conv', 'winograd', 'bench', '--model', 'googlenet-short4', '--batch-size', '2', '--steps', '1'],
      ]) assert.match(refused(cli(args, 60000, childEnv)), message, `${what}: ${args.join(' ')}`);
    }
    assert.deepEqual(fs.readdirSync(tmp), [], 'no run folder, store or data written');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('--conv direct and --conv auto are accepted, and the bench says which algorithm ran: auto is Winograd exactly where oneDNN has it', () => {
  for (const [choice, ran] of [['direct', 'direct'], ['auto', winograd ? 'winograd' : 'direct']] as const) {
    const r = cli(['--conv', choice, 'bench', '--model', 'googlenet-short4', '--batch-size', '2', '--steps', '1', '--json'], 120000);
    assert.equal(r.code, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { conv: string; train_img_per_s: number };
    assert.equal(last.conv, ran, `--conv ${choice}`);
    assert.ok(last.train_img_per_s > 0);
  }
  const capped = cli(['--conv', 'auto', 'bench', '--model', 'googlenet-short4', '--batch-size', '2', '--steps', '1', '--json'], 120000, env({ ONEDNN_MAX_CPU_ISA: 'AVX2' }));
  assert.equal(capped.code, 0, capped.stderr);
  assert.equal((JSON.parse(capped.stdout.trim().split('\n').at(-1)!) as { conv: string }).conv, 'direct', 'auto under an AVX2 cap');
});

// ---- the record ------------------------------------------------------------------------------------

/** `train` of googlenet-short4 on 16 images into `out` for `epochs` epochs; its stderr. */
function train(out: string, epochs: number, conv: string, resume: boolean): string {
  const r = cli(['--conv', conv, 'train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '16', '--limit-test', '8',
    '--batch-size', '8', '--epochs', String(epochs), '--out', out, ...(resume ? ['--resume'] : [])], 180000);
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}
const attemptsConv = (out: string) => (JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as { attempts: { machine: Machine | null }[] }).attempts.map((a) => a.machine?.conv);
const anotherMachine = (diff: string) => new RegExp(`^googlenet: googlenet-short4 on cifar10 resumes on another kind of machine: ${diff}; from here on it is no longer bit-reproducible$`, 'm');

test('the attempt records its convolution algorithm, and a resume under another warns that it is no longer bit-reproducible', sharedOpts, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-wino-run-'));
  try {
    assert.doesNotMatch(train(out, 1, 'direct', false), /another kind of machine/);
    assert.deepEqual(attemptsConv(out), ['direct']);
    // as if the first attempt had computed by Winograd (on an AVX-512 machine): this one computes direct
    const file = path.join(out, 'run.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { attempts: { machine: Machine }[] };
    json.attempts[0]!.machine.conv = 'winograd';
    fs.writeFileSync(file, JSON.stringify(json));
    assert.match(train(out, 2, 'direct', true), anotherMachine('convolutions direct \\(was winograd\\)'));
    assert.deepEqual(attemptsConv(out), ['winograd', 'direct']);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('on AVX-512, a run trained direct and resumed with --conv auto computes by Winograd, and says so', { ...sharedOpts, ...needsAvx512 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-wino-run-'));
  try {
    train(out, 1, 'direct', false);
    assert.match(train(out, 2, 'auto', true), anotherMachine('convolutions winograd \\(was direct\\)'));
    assert.doesNotMatch(train(out, 3, 'auto', true), /another kind of machine/, 'the same algorithm as the attempt before');
    assert.deepEqual(attemptsConv(out), ['direct', 'winograd', 'winograd']);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
