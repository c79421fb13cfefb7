// A declared network in a real experiment's report: `googlenet experiment` on a built-in and a
// network file (a few CIFAR-10 images, one epoch), then results.md and results.json as a reader sees
// them: the file's network after the seven's, its layers on one line and its hash, its parameters and
// MACs, seed cells empty, and a style of its own in the plots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultsJson } from '../src/experiment/report.js';
import { builtinNetwork } from '../src/models/googlenet.js';
import { describeLayers, networkHash, readNetworkFile } from '../src/models/network.js';
import { cli } from './processes.js';
import { sharedOpts, sharedPath } from './helpers.js';

test('googlenet experiment with a network file: results.md and results.json show it beside the built-in, with its layers and no seed cells', sharedOpts, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'network-report-'));
  const file = path.join(out, 'mine.json');
  fs.writeFileSync(file, JSON.stringify({ format: 'googlenet-network/1', layers: ['maxpool', 'a4', { dropout: 0.2 }, 'maxpool', 'b5'], width: 0.5 }));
  const t0 = Date.now();
  const r = cli(['--quiet', 'experiment', '--dataset', 'cifar10', '--models', `googlenet-short4,${file}`, '--data-dir', sharedPath('data'),
    '--limit-train', '64', '--limit-test', '32', '--epochs', '1', '--batch-size', '32', '--test-batch-size', '32', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  console.log(`# the experiment took ${Date.now() - t0} ms`);

  const json = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as ResultsJson;
  const rows = json.datasets.cifar10!;
  assert.deepEqual(rows.map((x) => [x.model, x.builtin, x.status]), [['googlenet-short4', true, 'complete'], ['mine', false, 'complete']]);
  const [s4, mine] = rows as [typeof rows[0], typeof rows[0]];
  const net = readNetworkFile(file);
  assert.equal(mine.layers, 'pool a4 drop(0.2) pool b5 ×0.5');
  assert.equal(mine.layers, describeLayers(net));
  assert.equal(mine.sha256, networkHash(net));
  assert.ok(!('seed' in mine), 'no seed field for the declared network');
  assert.ok(mine.params > 0 && mine.macs > 0 && mine.params < s4.params, `${mine.params} ${mine.macs}`);
  assert.equal(s4.layers, describeLayers(builtinNetwork('googlenet-short4')!));
  assert.equal(s4.sha256, networkHash(builtinNetwork('googlenet-short4')!));
  assert.ok(s4.seed, 'the built-in keeps its seed columns');
  const run = json.runs.find((x) => x.model === 'mine')!;
  assert.equal(run.recipe.model, 'mine');
  assert.equal(run.params, mine.params);

  const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
  assert.doesNotMatch(md, /undefined|NaN|null/);
  const int = (n: number) => n.toLocaleString('en-US');
  const line = md.split('\n').find((l) => l.startsWith('| mine |'))!;
  assert.equal(line, `| mine | ${mine.top1Error!.toFixed(2)} | ${mine.top5Error!.toFixed(2)} | ${int(mine.params)} | ${int(mine.macs)} | ${line.split(' | ')[5]} | — | — | — | — |`);
  assert.match(md, /\| googlenet-short4 \| [\d.]+ \| [\d.]+ \| [\d,]+† \| [\d,]+ \| \S+ \| 0\.15 \| 0\.01 \| 1,557,834 \| 25m30s \|/);
  assert.ok(md.includes('mine is a declared network (a network file; its layers under Networks): the seed has no results for it, so its seed cells are —.'), md);
  assert.ok(md.includes(`| googlenet-short4 | ${s4.layers} | \`${s4.sha256!.slice(0, 12)}\` | built-in, a reconstruction † |\n| mine | pool a4 drop(0.2) pool b5 ×0.5 | \`${mine.sha256!.slice(0, 12)}\` | declared: the seed has no results for it |`), md);
  assert.doesNotMatch(md, /mixed recipes/);

  // the plots: a line for each, mine's in a colour googlenet-short4's is not; both in the legend
  const svg = fs.readFileSync(path.join(out, 'plots', 'cifar10-top1-vs-params.svg'), 'utf8');
  const colour = (m: string) => new RegExp(`<path aria-label="[^"]*; model: ${m};[^"]*" role="graphics-symbol" aria-roledescription="point"[^>]*fill="([^"]*)"`).exec(svg)?.[1];
  assert.ok(colour('mine') && colour('googlenet-short4') && colour('mine') !== colour('googlenet-short4'), `${colour('mine')} ${colour('googlenet-short4')}`);
  assert.match(svg, /<text[^>]*>mine<\/text>/);
  fs.rmSync(out, { recursive: true, force: true });
});
