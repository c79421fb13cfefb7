// src/stats/stats.ts against SciPy (Debian's python3-scipy) on fixed inputs: every mean, sd, CI,
// Welch p-value and interval to 1e-9 relative; Holm's correction against a direct transcription
// of its definition in Python (SciPy has none); the prediction interval and the seeds formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holm, pooledSd, predictionInterval, seedsToDetect, summarize, untestable, welch } from '../src/stats/stats.js';
import { close, python, requirePython } from './helpers.js';

const scipy = requirePython('scipy');
const scipyOpts = 'skip' in scipy ? { skip: scipy.skip } : {};

// the issue's own example, errors of a few seeds, a sample with sd 0, near-equal values, wide spreads
const SAMPLES: number[][] = [
  [0.811, 0.713, 0.701],
  [0.342, 0.336, 0.351],
  [0.1, 0.1],
  [0.1, 0.1, 0.1, 0.1],
  [0.3141, 0.3142, 0.31415, 0.31418, 0.31409],
  [12.5, 40.25, 3.125],
  [0.44, 0.45],
  [0.15, 0.16, 0.14, 0.152, 0.149, 0.151, 0.148],
];

test('summarize: mean, sd, n and the 95% CI of the mean equal SciPy\'s', scipyOpts, () => {
  const want = python(`
import json, sys
from scipy import stats
import numpy as np
out = []
for xs in json.load(sys.stdin):
    x = np.array(xs, dtype=float)
    sd = float(np.std(x, ddof=1))
    ci = stats.ttest_1samp(x, 0).confidence_interval(0.95) if sd > 0 else None
    out.append({"mean": float(np.mean(x)), "sd": sd, "ci": None if ci is None else [float(ci.low), float(ci.high)]})
print(json.dumps(out))`, SAMPLES);
  SAMPLES.forEach((xs, i) => {
    const s = summarize(xs);
    assert.equal(s.n, xs.length);
    close(s.mean, want[i].mean, `mean of sample ${i}`);
    if (want[i].sd === 0) {
      assert.equal(s.sd, 0, `sd of sample ${i}`);
      assert.deepEqual(s.ci95, [s.mean, s.mean], 'a sample with sd 0 has a CI of width 0');
    } else {
      close(s.sd!, want[i].sd, `sd of sample ${i}`);
      close(s.ci95![0], want[i].ci[0], `CI low of sample ${i}`);
      close(s.ci95![1], want[i].ci[1], `CI high of sample ${i}`);
    }
  });
  assert.deepEqual(summarize([0.5]), { mean: 0.5, sd: null, n: 1, ci95: null });
  assert.throws(() => summarize([]), /no values/);
  assert.throws(() => summarize([0.1, NaN]), /not finite/);
});

test('welch: difference, 95% CI, p and df equal SciPy\'s ttest_ind(equal_var=False) and t.ppf', scipyOpts, () => {
  const pairs: [number, number][] = [];
  for (let i = 0; i < SAMPLES.length; i++) for (let j = 0; j < SAMPLES.length; j++) if (i !== j && !untestable(SAMPLES[i]!, SAMPLES[j]!)) pairs.push([i, j]);
  assert.ok(pairs.length >= 40, `${pairs.length} testable pairs`);
  const want = python(`
import json, sys
from scipy import stats
import numpy as np
d = json.load(sys.stdin)
out = []
for i, j in d["pairs"]:
    a, b = np.array(d["samples"][i], dtype=float), np.array(d["samples"][j], dtype=float)
    r = stats.ttest_ind(a, b, equal_var=False)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    diff = np.mean(a) - np.mean(b)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    out.append({"t": float(r.statistic), "p": float(r.pvalue), "df": float(df), "diff": float(diff), "ci": [float(diff - half), float(diff + half)]})
print(json.dumps(out))`, { samples: SAMPLES, pairs });
  pairs.forEach(([i, j], k) => {
    const w = welch(SAMPLES[i]!, SAMPLES[j]!);
    const what = `samples ${i} vs ${j}`;
    close(w.difference, want[k].diff, `${what}: difference`);
    close(w.t, want[k].t, `${what}: t`);
    close(w.df, want[k].df, `${what}: df`);
    close(w.p, want[k].p, `${what}: p`);
    close(w.ci95[0], want[k].ci[0], `${what}: CI low`);
    close(w.ci95[1], want[k].ci[1], `${what}: CI high`);
  });
});

test('welch refuses what it cannot test, saying why', () => {
  assert.match(untestable([0.1], [0.2, 0.3])!, /at least 2 seeds on each side \(here 1 and 2\)/);
  assert.match(untestable([0.1, 0.1], [0.0, 0.0])!, /sd 0 on both sides/);
  assert.equal(untestable([0.1, 0.1], [0.0, 0.01]), null, 'one side with spread is testable');
  assert.throws(() => welch([0.1], [0.2, 0.3]), /welch: a t-test needs at least 2 seeds/);
});

test('holm: the step-down adjusted p-values of its definition, in the order given', scipyOpts, () => {
  const families = [[0.01, 0.04, 0.03, 0.005], [0.2], [0.04, 0.04, 0.04], [0.001, 0.5, 0.0004, 0.3, 0.02, 0.9], [0.6, 0.7]];
  // Holm (1979), transcribed directly: sorted ascending, p_(k)·(m − k + 1), running maximum, capped at 1
  const want = python(`
import json, sys
out = []
for ps in json.load(sys.stdin):
    m = len(ps)
    order = sorted(range(m), key=lambda i: (ps[i], i))
    adj = [0.0] * m
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * ps[i]))
        adj[i] = running
    out.append(adj)
print(json.dumps(out))`, families);
  families.forEach((ps, f) => holm(ps).forEach((p, i) => close(p, want[f][i], `family ${f}, p ${i}`)));
  // by hand: 0.005·4, then max(0.02, 0.01·3), max(0.03, 0.03·2), max(0.06, 0.04·1)
  assert.deepEqual(holm([0.01, 0.04, 0.03, 0.005]).map((p) => +p.toFixed(12)), [0.03, 0.06, 0.06, 0.02]);
  assert.deepEqual(holm([]), []);
});

test('the prediction interval, pooled sd and seeds to detect a difference', scipyOpts, () => {
  const xs = [0.342, 0.336, 0.351];
  const want = python(`
import json, sys
from scipy import stats
import numpy as np
x = np.array(json.load(sys.stdin), dtype=float)
n, m, s = len(x), np.mean(x), np.std(x, ddof=1)
half = stats.t.ppf(0.975, n - 1) * s * np.sqrt(1 + 1 / n)
print(json.dumps([float(m - half), float(m + half)]))`, xs);
  const pi = predictionInterval(summarize(xs))!;
  close(pi[0], want[0], 'prediction interval low');
  close(pi[1], want[1], 'prediction interval high');
  assert.equal(predictionInterval(summarize([0.3])), null);
  // pooled over the samples with n ≥ 2: √(Σ(n−1)s² / Σ(n−1))
  const a = summarize([1, 2, 3]), b = summarize([2, 6]), c = summarize([5]);
  close(pooledSd([a, b, c])!, Math.sqrt((2 * 1 + 1 * 8) / 3), 'pooled sd');
  assert.equal(pooledSd([c]), null);
  // n = 2·((1.96 + 0.84)·sd/0.01)²: sd 0.01 gives 15.68, so 16; sd 0.005 gives 3.92, so 4
  assert.equal(seedsToDetect(0.01, 0.01), 16);
  assert.equal(seedsToDetect(0.005, 0.01), 4);
  assert.equal(seedsToDetect(0, 0.01), 2, 'never fewer than a t-test needs');
  assert.throws(() => seedsToDetect(0.01, 0), /delta must be positive/);
});
