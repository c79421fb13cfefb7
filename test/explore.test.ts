// `googlenet explore`: refusals in one line; a random search on SQLite, SIGKILLed mid-candidate and
// run again, that reproduces the candidates of the same --rng in another store; and the issue's
// run: a 12-candidate random search and a 12-candidate evolution from googlenet-short4 on the shared
// CIFAR-10 subset, trained by two workers on PostgreSQL, one SIGKILLed mid-candidate. Every report
// is checked against the store: fronts are the non-dominated sets they claim, promotions the best
// 1/eta by Pareto rank, no search run saw a test image, and every network file rebuilds with its
// recorded parameter count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedOpts, sharedPath } from './helpers.js';
import { requirePostgres, startCluster } from './pg-cluster.js';
import { cli, start, until, type Running } from './processes.js';
import { openStore } from '../src/store/open.js';
import type { RunStore } from '../src/store/store.js';
import type { ExploreJson } from '../src/explore/explore-json.js';
import { dominates, paretoOrder } from '../src/explore/pareto.js';
import { networkHash, networkLayout, readNetworkFile } from '../src/models/network.js';
import { createModel } from '../src/models/googlenet.js';
import { summarize } from '../src/models/summary.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gn-explore-'));

function oneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code');
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

// 96 training images in 3 batches of 32, a hold-out of 32, 32 test images: seconds a run
const small = ['--dataset', 'cifar10', '--limit-train', '128', '--val', '32', '--limit-test', '32', '--batch-size', '32', '--test-batch-size', '32'];
// mutants at most 1.3x the base's MACs (short4: 0.33 G): none of naive's 3x, so each run stays seconds
const limits = ['--max-macs', '430M'];

test('explore refuses, in one line and before recording anything: no hold-out, --epochs, cosine, bad rungs and eta, evolution flags with random, --no-train without a queue, a run folder, a bad count', () => {
  const out = tmp();
  const explore = (...args: string[]) => cli(['explore', '--base', 'googlenet-short4', '--budget', '2', '--out', out, ...args]);
  oneLineError(explore('--dataset', 'cifar10'), /^googlenet: explore ranks candidates on a validation hold-out, never on the test set: give --val N/);
  oneLineError(explore('--val', '100', '--epochs', '3'), /^googlenet: --epochs: explore trains each rung's epochs \(--rungs 2,6,14\), and confirms at the last; give --rungs instead$/);
  oneLineError(explore('--val', '100', '--scheduler', 'cosine'), /^googlenet: --scheduler cosine: explore extends runs rung by rung/);
  oneLineError(explore('--val', '100', '--rungs', '2,2'), /--rungs must increase/);
  oneLineError(explore('--val', '100', '--eta', '1'), /--eta must be an integer of at least 2/);
  oneLineError(explore('--val', '100', '--population', '4'), /^googlenet: --population is for --strategy evolution$/);
  oneLineError(explore('--val', '100', '--no-train'), /^googlenet: --no-train leaves training to workers, which take runs from a PostgreSQL store's queue; sqlite:.* has none/);
  oneLineError(explore('--val', '100', '--max-macs', 'lots'), /--max-macs must be a count such as 6000000, 6e6, 6M or 1.5G, got 'lots'/);
  oneLineError(explore('--val', '60000'), /--val 60000 must be less than the 50000 training images of cifar10/);
  oneLineError(cli(['explore', '--base', 'nope', '--budget', '2', '--val', '10', '--out', out]), /^googlenet: --base: unknown network 'nope'; choose from: googlenet, /);
  oneLineError(cli(['explore', '--base', 'googlenet-short4', '--val', '10', '--out', out]), /required option '--budget <n>' not specified/);
  assert.deepEqual(fs.readdirSync(out).filter((f) => f !== 'explore.sqlite'), [], 'no report, no network files');
  const folder = path.join(out, 'folder');
  oneLineError(explore('--val', '100', '--store', folder), /is a run folder, which holds one run; a search needs sqlite:PATH or postgres:\/\//);
});

/** The report and the store agree: fronts, promotions, hold-out only, network files. */
async function checkReport(dir: string, r: ExploreJson, store: RunStore): Promise<void> {
  const spec = r.search.spec;
  const byId = new Map(r.candidates.map((c) => [c.id, c]));
  const runs = new Map((await store.runs()).map((x) => [x.id, x]));
  // each rung's front is exactly the non-dominated set of the candidates that finished it
  for (const [k, rung] of r.rungs.entries()) {
    const done = rung.candidates.map((id) => byId.get(id)!).filter((c) => c.valErrors[String(rung.epochs)] !== undefined);
    const points = done.map((c) => ({ id: c.id, error: c.valErrors[String(rung.epochs)]!, macs: c.macs }));
    const nonDominated = points.filter((p) => !points.some((q) => dominates(q, p))).map((p) => p.id).sort((a, b) => a - b);
    assert.deepEqual([...rung.front].sort((a, b) => a - b), nonDominated, `rung ${k + 1}'s front`);
    for (const id of rung.front) for (const q of points) assert.ok(!(q.error <= byId.get(id)!.valErrors[String(rung.epochs)]! && q.macs <= byId.get(id)!.macs && (q.error < byId.get(id)!.valErrors[String(rung.epochs)]! || q.macs < byId.get(id)!.macs)), `c${id} dominated by c${q.id}`);
    // promotion: the next rung holds the base and the first max(1, floor(n/eta)) candidates by Pareto rank
    const next = r.rungs[k + 1];
    if (next) {
      const candidates = points.filter((p) => p.id !== 0);
      const want = paretoOrder(candidates).slice(0, Math.max(1, Math.floor(candidates.length / spec.eta)));
      assert.deepEqual(next.candidates.filter((id) => id !== 0).sort((a, b) => a - b), [...want].sort((a, b) => a - b), `promoted to rung ${k + 2}`);
      assert.ok(next.candidates.includes(0), 'the base goes on to every rung');
    }
  }
  assert.deepEqual(r.front, r.rungs.at(-1)!.front);
  // no ranking used a test image: every search run has a hold-out and no test-set numbers
  for (const c of r.candidates) {
    const run = runs.get(c.runId)!;
    assert.equal(run.recipe.val, 32, `c${c.id} trains with the hold-out`);
    for (const e of await store.epochs(c.runId)) {
      assert.equal(e.top1Error, null, `c${c.id} epoch ${e.epoch}: no test error`);
      assert.equal(e.testLoss, null);
      assert.ok(typeof e.valTop1Error === 'number');
    }
  }
  // every candidate's network file rebuilds with the parameter count and MACs recorded for its run
  for (const c of r.candidates) {
    const net = readNetworkFile(path.join(dir, c.file));
    assert.equal(networkHash(net), c.hash, `${c.file}'s hash`);
    assert.equal(networkLayout(net, 10).params, c.params, `${c.file}'s parameters`);
    const model = createModel(net, 10);
    try {
      const s = summarize(model, net.name);
      assert.equal(s.params, c.params, `${c.file} built`);
      assert.equal(s.macs, c.macs);
    } finally {
      model.dispose();
    }
    if (c.id !== 0) {
      const origin = net.origin as { parent: string; candidate: number; text: string };
      assert.equal(origin.candidate, c.parent, `${c.file}'s origin names its parent`);
      assert.equal(origin.text, c.mutationText);
    }
  }
  // confirmation: trained without the hold-out, tested
  for (const n of r.confirmed) {
    for (const s of n.seeds) {
      assert.equal(runs.get(s.runId)!.recipe.val, 0, `confirmation of ${n.network} seed ${s.seed}`);
      if (s.status === 'complete') assert.ok(typeof s.top1Error === 'number');
    }
  }
}

const readJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'explore.json'), 'utf8')) as ExploreJson;
const signature = (r: ExploreJson) => r.candidates.map((c) => `${c.id} ${c.parent} ${c.hash} ${c.mutationText}`);
/** The candidates `explore --dry-run` lists for these arguments, as signature() writes them. */
function dryRun(args: string[]): string[] {
  const r = cli([...args, '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { candidates } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { candidates: { id: number; parent: number; hash: string; mutationText: string }[] };
  return candidates.map((c) => `${c.id} ${c.parent} ${c.hash} ${c.mutationText}`);
}

test('a random search on SQLite: SIGKILLed mid-candidate, the same command goes on; the same --rng proposes the same candidates (--dry-run), another rng others; the report matches the store', sharedOpts, async () => {
  const [a, b] = [tmp(), tmp()];
  const args = (out: string) => ['explore', '--base', 'googlenet-short4', ...small, ...limits, '--data-dir', sharedPath('data'), '--budget', '4', '--rungs', '1,2', '--confirm-seeds', '2', '--confirm', 'googlenet-short3', '--rng', '7', '--out', out];
  // killed once its third candidate is training
  const first: Running = start(args(a));
  await until(() => (first.out.stderr.match(/\(attempt id \d+, on /g) ?? []).length >= 3, first.exit, `explore ended early: ${first.out.stderr}`, 240000);
  first.child.kill('SIGKILL');
  await first.exit;
  const again = cli(args(a), 600000);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /wrote .*explore\.md, .*explore\.json and 2 plots/);
  const r = readJson(a);
  assert.equal(r.candidates.length, 5, 'the base and 4 candidates');
  assert.deepEqual(r.rungs.map((g) => g.candidates.length), [5, 2], 'rung 2: the base and max(1, floor(4/3)) = 1 candidate');
  assert.ok(r.rungs.every((g) => g.done));
  const store = await openStore(`sqlite:${path.join(a, 'explore.sqlite')}`);
  try {
    await checkReport(a, r, store);
    // the killed attempt crashed; nothing was trained twice to completion
    for (const c of r.candidates) {
      const attempts = await store.attempts(c.runId);
      assert.ok(attempts.filter((x) => x.outcome === 'complete').length <= 2, `c${c.id}: at most one completion per rung`);
    }
    assert.ok(r.confirmed.length >= 1 && r.confirmed.every((n) => n.seeds.length === 2 && n.seeds.every((s) => s.status === 'complete')), 'every confirmed network has its 2 seeds');
    const base = r.confirmed.find((n) => n.id === 0)!;
    assert.deepEqual(base.why, ['base']);
    for (const n of r.confirmed.filter((x) => x.id !== 0)) assert.deepEqual(n.vsBase!.map((v) => v.metric), ['top1', 'top5']);
    // --confirm: a network outside the search, numbered after the candidates, confirmed like the front
    const named = r.confirmed.find((n) => n.network === 'googlenet-short3')!;
    assert.deepEqual([named.id, named.why, named.seeds.map((x) => x.seed)], [5, ['confirm'], [1, 2]]);
    assert.ok(fs.existsSync(path.join(a, 'networks', 'googlenet-short3.json')));
    // Holm over the networks compared with the base (m = k): each adjusted p at least its own, and at most 1
    for (const metric of ['top1', 'top5']) {
      const tested = r.confirmed.flatMap((n) => n.vsBase ?? []).filter((v) => v.metric === metric && v.testable);
      for (const v of tested) assert.ok(v.pHolm! >= v.p! && v.pHolm! <= Math.min(1, v.p! * tested.length) + 1e-12 && v.significant === v.pHolm! < 0.05);
    }
  } finally {
    await store.close();
  }
  // running it once more trains nothing
  const idle = cli(args(a), 300000);
  assert.equal(idle.code, 0, idle.stderr);
  assert.doesNotMatch(idle.stderr, /attempt id/);
  // the same --rng elsewhere proposes the same candidates, parents and mutations: --dry-run lists them without a store, writing nothing
  assert.deepEqual(dryRun(args(b)), signature(r).slice(1));
  assert.deepEqual(fs.readdirSync(b), [], '--dry-run writes nothing');
  assert.notDeepEqual(dryRun([...args(b), '--rng', '8']), signature(r).slice(1), 'another --rng, other candidates');
  const md = fs.readFileSync(path.join(a, 'explore.md'), 'utf8');
  assert.match(md, /^# Search [0-9a-f]{12}: random from googlenet-short4 on cifar10$/m);
  assert.match(md, /no test image is seen before the confirmation/);
  assert.match(md, /^\| c5 googlenet-short3 \| confirm \| 2\/2 \| /m);
  for (const c of r.candidates) assert.match(md, new RegExp(`\\| (★ )?c${c.id} \\| ${c.network} \\|`));
  for (const f of ['explore-rung1.svg', 'explore-rung2.svg']) assert.match(fs.readFileSync(path.join(a, 'plots', f), 'utf8'), /^<svg/);
});

/** The exit codes of `awaited`, or after `ms` a failure showing the end of every process's stderr. */
async function exitsWithin(all: Running[], awaited: Running[], ms: number): Promise<(number | string)[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done in ${ms / 1000} s:\n${all.map((p) => p.out.stderr.split('\n').slice(-15).join('\n')).join('\n---\n')}`)), ms);
  });
  try {
    return await Promise.race([Promise.all(awaited.map((p) => p.exit)), late]);
  } finally {
    clearTimeout(timer);
  }
}

const pgOpts = requirePostgres();
test('the issue\'s run: a 12-candidate random search and a 12-candidate evolution from googlenet-short4 with two workers on PostgreSQL, one SIGKILLed mid-candidate', { ...sharedOpts, ...pgOpts, skip: sharedOpts.skip ?? pgOpts.skip }, async () => {
  const cluster = await startCluster();
  const workers: Running[] = [];
  try {
    const url = await cluster.createDatabase('explore');
    const [dirRandom, dirEvolution] = [tmp(), tmp()];
    const common = ['--base', 'googlenet-short4', ...small, ...limits, '--budget', '12', '--rungs', '1,2', '--confirm-seeds', '2', '--store', url, '--heartbeat', '2'];
    const searches = [
      // the random search trains too (one more worker); the evolution leaves its training to the workers
      start(['--threads', '1', 'explore', ...common, '--data-dir', sharedPath('data'), '--rng', '3', '--out', dirRandom]),
      start(['explore', ...common, '--no-train', '--strategy', 'evolution', '--population', '6', '--generation', '3', '--rng', '3', '--out', dirEvolution]),
    ];
    const worker = () => start(['--threads', '1', 'worker', '--store', url, '--data-dir', sharedPath('data'), '--heartbeat', '2']);
    workers.push(worker(), worker());
    // the first worker is SIGKILLed while it trains its second run
    await until(() => (workers[0]!.out.stderr.match(/\(attempt id \d+\)/g) ?? []).length >= 2, workers[0]!.exit, `worker 1 ended early: ${workers[0]!.out.stderr}`, 300000);
    workers[0]!.child.kill('SIGKILL');
    assert.equal(await workers[0]!.exit, 'SIGKILL');
    const codes = await exitsWithin([...searches, workers[1]!], searches, 900000);
    assert.deepEqual(codes, [0, 0], searches.map((s) => s.out.stderr).join('\n---\n'));

    const store = await openStore(url);
    try {
      for (const dir of [dirRandom, dirEvolution]) {
        const r = readJson(dir);
        assert.equal(r.candidates.filter((c) => c.id !== 0).length, 12, `${r.search.spec.strategy}: 12 candidates`);
        assert.equal(r.rungs[1]!.candidates.length, 5, 'rung 2: the base and 12/3 = 4 candidates');
        await checkReport(dir, r, store);
        assert.ok(r.confirmed.every((n) => n.seeds.every((s) => s.status === 'complete')));
      }
      const evo = readJson(dirEvolution);
      assert.deepEqual([...new Set(evo.candidates.filter((c) => c.id !== 0).map((c) => c.generation))], [0, 1, 2], 'generations of 6, 3 and 3');
      assert.ok(evo.candidates.filter((c) => c.generation > 0).every((c) => c.parent !== null && evo.candidates.find((p) => p.id === c.parent)!.generation < c.generation), 'children of earlier generations');
      // the killed worker's run was taken over: it has a crashed attempt and was completed by the other worker
      const killed = `${os.hostname()}:${workers[0]!.child.pid}`;
      const takenOver = [];
      for (const run of await store.runs()) {
        const attempts = await store.attempts(run.id);
        if (attempts.some((x) => x.worker === killed && x.outcome === 'crashed')) takenOver.push(run.id);
        assert.equal(run.status, 'complete', `${run.model} run ${run.id}`);
      }
      assert.equal(takenOver.length, 1, 'one run crashed with the killed worker, and was completed');
      // the same --rng proposes the same candidates: all of the random search's, the evolution's first generation
      const random = readJson(dirRandom);
      assert.deepEqual(dryRun(['explore', ...common, '--rng', '3', '--out', tmp()]), signature(random).slice(1));
      assert.deepEqual(dryRun(['explore', ...common, '--strategy', 'evolution', '--population', '6', '--generation', '3', '--rng', '3', '--out', tmp()]),
        signature(evo).filter((x, i) => i > 0 && evo.candidates[i]!.generation === 0));
    } finally {
      await store.close();
    }
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    await cluster.stop();
  }
});
