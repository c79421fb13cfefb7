// What results.json's statistics should hold, computed by SciPy (Debian's python3-scipy) from the
// final errors alone: each network's mean, sd and 95% CI of the mean, and per metric every testable
// pair's Welch difference and p with Holm's correction over the family. Shared by the fixture test
// and the end-to-end experiment test.
import assert from 'node:assert/strict';
import type { DatasetStatistics } from '../src/experiment/statistics.js';
import { close, python } from './helpers.js';

export interface ScipyStatistics {
  summaries: Record<string, { mean: number; sd: number; ci: [number, number] | null }>;
  pairs: { a: string; b: string; metric: 'top1' | 'top5'; p: number; pHolm: number; difference: number }[];
}

/** SciPy's statistics of `errors` (label → per seed [top1, top5]), pairs in the order of `labels`. */
export function scipyStatistics(errors: Record<string, number[][]>, labels: string[]): ScipyStatistics {
  return python(`
import json, sys
import numpy as np
from scipy import stats
d = json.load(sys.stdin)
out = {"summaries": {}, "pairs": []}
for name, xs in d["errors"].items():
    for k, metric in enumerate(["top1", "top5"]):
        x = np.array([e[k] for e in xs], dtype=float)
        if len(x) < 2:
            continue
        ci = stats.ttest_1samp(x, 0).confidence_interval(0.95) if np.std(x) > 0 else None
        out["summaries"][name + " " + metric] = {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)), "ci": None if ci is None else [float(ci.low), float(ci.high)]}
for k, metric in enumerate(["top1", "top5"]):
    family = []
    names = d["labels"]
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a = np.array([e[k] for e in d["errors"][names[i]]], dtype=float)
            b = np.array([e[k] for e in d["errors"][names[j]]], dtype=float)
            if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
                continue
            r = stats.ttest_ind(a, b, equal_var=False)
            family.append({"a": names[i], "b": names[j], "metric": metric, "p": float(r.pvalue), "difference": float(np.mean(a) - np.mean(b))})
    # Holm over this family
    m = len(family)
    order = sorted(range(m), key=lambda i: family[i]["p"])
    running = 0.0
    for k2, i in enumerate(order):
        running = max(running, min(1.0, (m - k2) * family[i]["p"]))
        family[i]["pHolm"] = running
    out["pairs"] += family
print(json.dumps(out))`, { errors, labels });
}

/** Asserts a dataset's statistics equal SciPy's to 1e-9 relative: summaries, the testable pairs, their differences, p and Holm p. */
export function assertStatistics(s: DatasetStatistics, want: ScipyStatistics): void {
  for (const n of s.networks) for (const m of ['top1', 'top5'] as const) {
    const w = want.summaries[`${n.label} ${m}`];
    if (!w) { assert.equal(n[m]!.sd, null, `${n.label} ${m}: one seed, no sd`); continue; }
    close(n[m]!.mean, w.mean, `${n.label} ${m} mean`);
    close(n[m]!.sd!, w.sd, `${n.label} ${m} sd`, w.sd === 0 ? 0 : 1e-9);
    if (w.ci) { close(n[m]!.ci95![0], w.ci[0], `${n.label} ${m} CI low`); close(n[m]!.ci95![1], w.ci[1], `${n.label} ${m} CI high`); }
  }
  const testable = s.comparisons.filter((c) => c.testable);
  assert.deepEqual(testable.map((c) => `${c.a}|${c.b}|${c.metric}`), want.pairs.map((p) => `${p.a}|${p.b}|${p.metric}`), 'the same testable pairs, in the same order');
  testable.forEach((c, i) => {
    close(c.difference, want.pairs[i]!.difference, `${c.a} − ${c.b} ${c.metric}: difference`);
    close(c.p!, want.pairs[i]!.p, `${c.a} − ${c.b} ${c.metric}: p`);
    close(c.pHolm!, want.pairs[i]!.pHolm, `${c.a} − ${c.b} ${c.metric}: Holm p`);
    assert.equal(c.significant, want.pairs[i]!.pHolm < 0.05);
  });
}
