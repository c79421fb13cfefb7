// Both of oneDNN's dispatch paths on one machine. oneDNN reads ONEDNN_MAX_CPU_ISA (or its older name
// DNNL_MAX_CPU_ISA) once, at the process's first ISA query, so each capped case runs the CLI as a child
// with the cap in its environment. Every "other" ISA is derived from this process's own, so these tests
// hold on AVX2 (Zen 3) and AVX-512 (Zen 4, Zen 5) machines alike, and under a cap set for the whole suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bf16Refusal, bf16Unsupported } from '../src/nn/precision.js';
import { backend } from '../src/tensor/tensor.js';
import { cpuDescription, cpuHasAvx512, isaCap, type Machine } from '../src/util/machine.js';
import { sharedOpts, sharedPath } from './helpers.js';
import { cli } from './processes.js';

const here = backend().cpuIsa();
const cpu = cpuDescription();

/** This process's environment without either cap variable, plus `vars`. */
function env(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { ONEDNN_MAX_CPU_ISA: _o, DNNL_MAX_CPU_ISA: _d, ...rest } = process.env;
  return { ...rest, ...vars };
}

/** A cap below this process's ISA and the ISA it gives: AVX2 below AVX-512, SSE41 below AVX2; none below SSE4.1. */
const lower = here.startsWith('avx512') ? { cap: 'AVX2', isa: 'avx2' } : here === 'sse41' ? null : { cap: 'SSE41', isa: 'sse41' };
const lowerOpts = lower ? {} : { skip: `oneDNN uses ${here} here, and there is no lower ISA to cap it to` };

/** The ISA `googlenet --version` names in a child with this environment. */
function versionIsa(childEnv: NodeJS.ProcessEnv): string {
  const r = cli(['--version'], 60000, childEnv);
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^googlenet \S+, oneDNN \d+\.\d+\.\d+ \((\w+)\), Node v\d+/);
  assert.ok(m, r.stdout);
  return m[1]!;
}

test('isaCap reads ONEDNN_MAX_CPU_ISA, else its older name DNNL_MAX_CPU_ISA, as oneDNN does; cpuHasAvx512 wants F, BW, VL and DQ', () => {
  assert.equal(isaCap({}), null);
  assert.equal(isaCap({ ONEDNN_MAX_CPU_ISA: '' }), null);
  assert.equal(isaCap({ ONEDNN_MAX_CPU_ISA: 'AVX2' }), 'ONEDNN_MAX_CPU_ISA=AVX2');
  assert.equal(isaCap({ DNNL_MAX_CPU_ISA: 'avx2' }), 'DNNL_MAX_CPU_ISA=avx2');
  assert.equal(isaCap({ ONEDNN_MAX_CPU_ISA: 'SSE41', DNNL_MAX_CPU_ISA: 'AVX' }), 'ONEDNN_MAX_CPU_ISA=SSE41', 'the new name wins');
  assert.equal(isaCap({ ONEDNN_MAX_CPU_ISA: '', DNNL_MAX_CPU_ISA: 'AVX' }), 'DNNL_MAX_CPU_ISA=AVX', 'an empty new name is no cap');
  assert.equal(cpuHasAvx512(['avx2', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_bf16']), true);
  assert.equal(cpuHasAvx512(['avx2', 'avx512f', 'avx512cd', 'avx512er', 'avx512pf']), false, 'Knights Landing: no avx512_core');
  assert.equal(cpuHasAvx512(['sse4_2', 'avx', 'avx2', 'fma']), false);
});

test('the bf16 refusal names the cap where it is the reason, and the CPU where it has no AVX-512', () => {
  const c = { onednn: '2.6.3', isa: 'avx2', cpu: 'AMD EPYC 9B14' };
  const fix = 'use --precision fp32';
  assert.equal(bf16Refusal({ ...c, cpuAvx512: true, cap: 'ONEDNN_MAX_CPU_ISA=AVX2' }),
    `bf16 mixed precision needs bf16 convolutions, which oneDNN 2.6.3 has only on CPUs with AVX-512; this one (AMD EPYC 9B14) has AVX-512, but ONEDNN_MAX_CPU_ISA=AVX2 is set, which holds oneDNN to avx2; unset it, or ${fix}`);
  const none = `bf16 mixed precision needs bf16 convolutions, which oneDNN 2.6.3 has only on CPUs with AVX-512, and this one (AMD EPYC 9B14) has none; ${fix}`;
  assert.equal(bf16Refusal({ ...c, cpuAvx512: false, cap: null }), none);
  assert.equal(bf16Refusal({ ...c, cpuAvx512: false, cap: 'DNNL_MAX_CPU_ISA=AVX2' }), none, 'a cap on a CPU without AVX-512 is not the reason');
});

test('oneDNN picks AVX-512 exactly where the CPU has it, and bf16 runs exactly there: the bf16 tests run on AVX-512 machines and skip elsewhere', (t) => {
  const uncapped = versionIsa(env());
  t.diagnostic(`${cpu}: oneDNN uses ${uncapped} uncapped, ${here} in this process${isaCap() ? ` (${isaCap()})` : ''}`);
  assert.equal(uncapped.startsWith('avx512_core'), cpuHasAvx512(), `${cpu}: oneDNN chose ${uncapped}`);
  if (!isaCap()) assert.equal(here, uncapped);
  const refused = bf16Unsupported();
  assert.equal(refused === null, here.startsWith('avx512_core'), `oneDNN uses ${here}; bf16: ${refused ?? 'supported'}`);
});

test('a cap, by either name, holds the child\'s oneDNN to a lower ISA, and --version and the bench\'s CPU line say so', lowerOpts, () => {
  const { cap, isa } = lower!;
  assert.notEqual(isa, here);
  assert.equal(versionIsa(env({ ONEDNN_MAX_CPU_ISA: cap })), isa);
  assert.equal(versionIsa(env({ DNNL_MAX_CPU_ISA: cap })), isa, 'the older name');
  assert.equal(versionIsa(env({ ONEDNN_MAX_CPU_ISA: '', DNNL_MAX_CPU_ISA: cap })), isa, 'an empty new name falls back to the older one');
  // the bench names the CPU by its flags, and the cap when one is set
  const describe = (childEnv: NodeJS.ProcessEnv) => {
    const script = `const { cpuDescription } = await import(${JSON.stringify(new URL('../src/util/machine.js', import.meta.url).href)}); console.log(cpuDescription());`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: childEnv, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.match(describe(env({ ONEDNN_MAX_CPU_ISA: cap })), new RegExp(`; ONEDNN_MAX_CPU_ISA=${cap} caps oneDNN at ${isa}\\)$`));
  assert.doesNotMatch(describe(env()), /caps oneDNN/);
});

test('under ONEDNN_MAX_CPU_ISA=AVX2, --precision bf16 is refused in one line: the cap named where the CPU has AVX-512, the CPU where it has none', () => {
  const r = cli(['bench', '--model', 'googlenet-short4', '--batch-size', '2', '--steps', '1', '--precision', 'bf16'], 60000, env({ ONEDNN_MAX_CPU_ISA: 'AVX2' }));
  assert.equal(r.code, 1, r.stderr);
  const why = cpuHasAvx512()
    ? '; this one \\(.*\\) has AVX-512, but ONEDNN_MAX_CPU_ISA=AVX2 is set, which holds oneDNN to avx2; unset it, or use --precision fp32'
    : ', and this one \\(.*\\) has none; use --precision fp32';
  assert.match(r.stderr, new RegExp(`^googlenet: bf16 mixed precision needs bf16 convolutions, which oneDNN [\\d.]+ has only on CPUs with AVX-512${why}$`));
});

test('without a cap, an AVX-512 CPU computes in bf16', cpuHasAvx512() ? {} : { skip: `${cpu} has no AVX-512, so no bf16 convolutions: only the refusal is tested here` }, () => {
  const r = cli(['bench', '--model', 'googlenet-short4', '--batch-size', '2', '--steps', '1', '--precision', 'bf16', '--json'], 120000, env());
  assert.equal(r.code, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { precision: string; train_img_per_s: number };
  assert.equal(last.precision, 'bf16');
  assert.ok(last.train_img_per_s > 0, r.stdout);
});

test('a run resumed under another ISA warns that it is no longer bit-reproducible, naming the cap; its attempts record each ISA', { ...sharedOpts, ...lowerOpts }, () => {
  const { cap, isa } = lower!;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-isa-'));
  const train = (epochs: number, childEnv: NodeJS.ProcessEnv, resume: string[] = ['--resume']) => {
    const r = cli(['train', '--model', 'googlenet-short4', '--dataset', 'cifar10', '--data-dir', sharedPath('data'), '--limit-train', '16', '--limit-test', '8',
      '--batch-size', '8', '--epochs', String(epochs), '--out', out, ...resume], 120000, childEnv);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr;
  };
  const warning = /resumes on another kind of machine/;
  // this process's environment (and ISA), then capped lower, then again capped: one warning, at the change
  assert.doesNotMatch(train(1, process.env, []), warning);
  const changed = train(2, env({ ONEDNN_MAX_CPU_ISA: cap }));
  assert.match(changed, new RegExp(`^googlenet: googlenet-short4 on cifar10 resumes on another kind of machine: ISA ${isa} \\(was ${here}\\) \\(ONEDNN_MAX_CPU_ISA=${cap} is set\\); from here on it is no longer bit-reproducible$`, 'm'));
  assert.doesNotMatch(train(3, env({ ONEDNN_MAX_CPU_ISA: cap })), warning, 'the same capped ISA as the attempt before');
  const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as { attempts: { machine: Machine | null }[] };
  assert.deepEqual(run.attempts.map((a) => a.machine?.isa), [here, isa, isa]);
  fs.rmSync(out, { recursive: true, force: true });
});
