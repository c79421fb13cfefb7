// The README says what the code does: its library example runs as a user would run it, and its
// tables of the networks quote the seed's results from VARIANTS and the counts our built networks make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATASETS, type DatasetName } from '../src/data/cifar.js';
import { MODEL_ORDER } from '../src/experiment/report.js';
import { createModel, describeStages, VARIANTS } from '../src/models/googlenet.js';
import { summarize } from '../src/models/summary.js';
import { readDoc, repoRoot } from './helpers.js';

const readme = readDoc('README.md');
const int = (n: number) => n.toLocaleString('en-US');

/** The body rows of the first Markdown table after `heading`, as trimmed cells. */
function tableAfter(heading: string): string[][] {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has no '${heading}'`);
  const lines = readme.slice(at + heading.length).split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('|'));
  const isRule = (l: string) => /^\|[-|: ]+\|$/.test(l);
  const rows: string[][] = [];
  for (const l of lines.slice(isRule(lines[start]) ? start + 1 : start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows;
}

test("README's tables of the networks: stages from VARIANTS, the seed's results, our counted parameters and MACs", () => {
  const stages = tableAfter('| name | modules at 32x32 / 16x16 / 8x8 |\n');
  assert.equal(stages.length, Object.keys(VARIANTS).length);
  for (const [name, cell] of stages) {
    const spec = VARIANTS[name];
    assert.ok(spec, `README names an unknown network ${name}`);
    if (!spec.naive) assert.ok(cell.startsWith(describeStages(spec)), `${name}: ${cell}`);
    assert.equal(cell.includes('(reconstruction)'), !!spec.reconstructed, `${name}: ${cell}`);
  }
  // counted once per network at 100 classes; fewer classes change only the linear layer
  const counts = new Map(MODEL_ORDER.map((model) => {
    const net = createModel(model, 100);
    const s = summarize(net, model);
    const features = net.linear.inFeatures;
    net.dispose();
    return [model, (classes: number) => ({ params: s.params - (100 - classes) * (features + 1), macs: s.macs - (100 - classes) * features })];
  }));
  for (const dataset of ['cifar100', 'cifar10'] as DatasetName[]) {
    const rows = tableAfter(`\n${DATASETS[dataset].title}:\n`);
    assert.equal(rows.length, MODEL_ORDER.length, dataset);
    rows.forEach((cells, i) => {
      const model = MODEL_ORDER[i];
      const seed = VARIANTS[model].seed![dataset];
      const s = counts.get(model)!(DATASETS[dataset].classes);
      const what = `${dataset} ${model}: ${cells.join(' | ')}`;
      assert.deepEqual(cells.slice(1, 5), [seed.top1.toFixed(2), seed.top5.toFixed(2), int(seed.params), seed.time], what);
      assert.ok(cells[5].startsWith(int(s.params)), what);
      assert.equal(cells[5].includes('reconstruction'), !!VARIANTS[model].reconstructed, what);
      assert.equal(cells[6], int(s.macs), what);
    });
  }
});

test("README's library example trains a step, evaluates and saves, as a user would run it", () => {
  const match = readme.match(/<!-- library-example -->\s*```ts\n([\s\S]*?)```/);
  assert.ok(match, 'README has no <!-- library-example --> code block');
  const file = path.join(repoRoot, 'dist', 'readme-library-example.mjs');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-readme-'));
  fs.writeFileSync(file, match[1]);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd });
  fs.rmSync(file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^loss \d+\.\d{4}, 800 logits, lr now 0\.7/m);
  assert.ok(fs.statSync(path.join(cwd, 'googlenet-c100.safetensors')).size > 6258500 * 4);
  fs.rmSync(cwd, { recursive: true, force: true });
});

test("README's network file: checked, summarised and trained (a dry run) from the file, as a user would", () => {
  const match = readme.match(/<!-- readme-network-example -->\s*```json\n([\s\S]*?)```/);
  assert.ok(match, 'README has no <!-- readme-network-example --> json block');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-readme-net-'));
  const file = path.join(dir, 'short2-pooled.json');
  fs.writeFileSync(file, match[1]);
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'googlenet.js'), ...args], { encoding: 'utf8', cwd: dir });
  const built = createModel(file, 10);
  const s = summarize(built, 'short2-pooled');
  built.dispose();
  const check = cli('network', 'check', file, '--classes', '10');
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /short2-pooled, bottleneck modules, stem 192, body a3 b3 pool a4 drop\(0\.2\) pool a5 pool\(2,2,0\) b5, head dropout 0\.4\nsha256 [0-9a-f]{64}\n/);
  assert.match(check.stdout, new RegExp(`Total parameters: ${int(s.params)}\\n`));
  const summary = cli('summary', '--model', './short2-pooled.json', '--classes', '10', '--json');
  assert.equal(summary.status, 0, summary.stderr);
  assert.deepEqual(JSON.parse(summary.stdout), JSON.parse(JSON.stringify(s)));
  const shared = path.resolve(repoRoot, '..', 'shared', 'data');
  if (fs.existsSync(shared)) {
    const dry = cli('--quiet', 'train', '--model', './short2-pooled.json', '--dataset', 'cifar10', '--data-dir', shared, '--dry-run', '--json');
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout.trim().split('\n').at(-1)!).model, 'short2-pooled');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
