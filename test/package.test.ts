// The package as a TypeScript user gets it: `npm pack`, installed into a new project, a strict
// TypeScript file compiled against its typings without @types/node, then run: it reads CIFAR,
// builds a loader, trains two steps and evaluates, using only the package's public exports.
// Dependencies' install scripts are skipped (better-sqlite3 would compile for minutes); the
// package's own install script runs, so its native addon is built from the tarball's sources.
// The installed command's dashboard then serves its page, script and the vega builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, sharedOpts, sharedPath } from './helpers.js';
import { VENDOR } from '../src/dashboard/assets.js';
import { start, until } from './processes.js';

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });

const CONSUMER = (dataDir: string) => `import {
  DataLoader, NO_AUGMENTATION, NORMALIZATIONS, Adadelta, createModel, evaluate, manualSeed, memory, readCifar, trainStep,
  type Batch, type CifarSplit, type EvalResult,
} from 'googlenet';

declare const console: { log(...values: unknown[]): void };

manualSeed(1);
const train: CifarSplit = readCifar(${JSON.stringify(dataDir)}, 'cifar10', 'train', { limit: 64 });
const test: CifarSplit = readCifar(${JSON.stringify(dataDir)}, 'cifar10', 'test', { limit: 20 });
const model = createModel('googlenet-short4', train.classes);
const optimizer = new Adadelta(model.parameters());
const loader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1, augment: { flip: 0.5, cropPadding: 0 }, normalize: NORMALIZATIONS.half });
const losses: number[] = [];
for await (const b of loader.epoch(0)) losses.push(trainStep(model, optimizer, b));
// a batch made by hand, with labels as a plain array
const byHand: Batch = { epoch: 0, index: 0, size: 2, shape: [2, 3, 32, 32], input: new Float32Array(2 * 3 * 32 * 32), targets: [3, 5] };
losses.push(trainStep(model, optimizer, byHand));
const testLoader = new DataLoader(test, { batchSize: 10, augment: NO_AUGMENTATION, normalize: NORMALIZATIONS.half });
const r: EvalResult = await evaluate(model, testLoader);
await loader.close();
await testLoader.close();
optimizer.dispose();
model.dispose();
console.log(JSON.stringify({ losses, n: r.n, top1: r.top1_error, tensors: memory().numTensors }));
`;

test('npm pack → a new project installs it, compiles a strict file against its typings (no @types/node), reads CIFAR, trains and evaluates; its dashboard serves', sharedOpts, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-consumer-'));
  const tarball = path.join(dir, npm(['pack', '--pack-destination', dir, '--silent'], repoRoot).trim().split('\n').at(-1)!);
  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  npm(['rebuild', 'googlenet', '--foreground-scripts'], project); // the package's install script: check oneDNN, build the addon
  assert.ok(fs.existsSync(path.join(project, 'node_modules', 'googlenet', 'build', 'Release', 'googlenet_dnnl.node')), 'the addon was built');

  fs.writeFileSync(path.join(project, 'main.ts'), CONSUMER(sharedPath('data')));
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: [], skipLibCheck: false, outDir: 'out' },
    files: ['main.ts'],
  }));
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  const out = execFileSync(process.execPath, [path.join(project, 'out', 'main.js')], { cwd: project, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { losses: number[]; n: number; top1: number; tensors: number };
  assert.equal(r.losses.length, 3);
  for (const l of r.losses) assert.ok(Number.isFinite(l) && l > 0, `loss ${l}`);
  assert.equal(r.n, 20);
  assert.ok(r.top1 >= 0 && r.top1 <= 1);
  assert.equal(r.tensors, 0, 'every tensor disposed');

  // the installed package's dashboard: its own files and the vega builds from the project's node_modules
  const installed = path.join(project, 'node_modules', 'googlenet');
  for (const f of ['src/dashboard/static/index.html', 'src/dashboard/static/style.css', 'dist/src/dashboard/page/main.js', 'dist/src/dashboard/page/charts.js'])
    assert.ok(fs.existsSync(path.join(installed, f)), `${f} is in the package`);
  // a run folder as the store: the consumer's better-sqlite3 was installed without its build
  const storeDir = path.join(dir, 'run');
  fs.mkdirSync(storeDir);
  const dash = start(['dashboard', '--store', storeDir, '--port', '0'], process.env, path.join(installed, 'bin', 'googlenet.js'));
  await until(() => dash.out.stdout.includes('\n'), dash.exit, 'the installed dashboard exited before printing its URL', 30000).catch((e: Error) => {
    throw new Error(`${e.message}: ${dash.out.stderr}`);
  });
  const url = dash.out.stdout.trim();
  for (const f of ['', 'style.css', 'app/main.js', 'app/dom.js', ...Object.keys(VENDOR).map((v) => v.slice(1))]) {
    const res = await fetch(url + f);
    assert.equal(res.status, 200, f);
    assert.ok((await res.arrayBuffer()).byteLength > 100, f);
  }
  dash.child.kill('SIGTERM');
  assert.equal(await dash.exit, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});
