// results.md, results.json and plots/*.svg, drawn only from the experiment database.
import fs from 'node:fs';
import path from 'node:path';
import type { EpochRow, ExperimentDb, RunRow } from './db.js';
import { renderPlots } from './plots.js';

type Seed = { top1: number; top5: number; params: number; time: string };

/** The seed's own tables (the seed document: PyTorch 1.6, 14 epochs on its GPU). */
export const SEED_TABLES: Record<'cifar100' | 'cifar10', Record<string, Seed>> = {
  cifar100: {
    'googlenet-naive': { top1: 0.36, top5: 0.09, params: 65736148, time: '52m38s' },
    googlenet: { top1: 0.34, top5: 0.10, params: 6258500, time: '29m8s' },
    'googlenet-long': { top1: 0.35, top5: 0.10, params: 9641924, time: '36m41s' },
    'googlenet-short': { top1: 0.32, top5: 0.09, params: 5271652, time: '23m11s' },
    'googlenet-short2': { top1: 0.32, top5: 0.09, params: 3523556, time: '16m29s' },
    'googlenet-short3': { top1: 0.36, top5: 0.11, params: 1985220, time: '9m3s' },
    'googlenet-short4': { top1: 0.44, top5: 0.15, params: 1650084, time: '8m56s' },
  },
  cifar10: {
    'googlenet-naive': { top1: 0.15, top5: 0.01, params: 65291098, time: '52m51s' },
    googlenet: { top1: 0.10, top5: 0.00, params: 6166250, time: '28m45s' },
    'googlenet-long': { top1: 0.11, top5: 0.00, params: 9549674, time: '40m12s' },
    'googlenet-short': { top1: 0.10, top5: 0.00, params: 5179402, time: '27m30s' },
    'googlenet-short2': { top1: 0.10, top5: 0.00, params: 3431306, time: '31m57s' },
    'googlenet-short3': { top1: 0.11, top5: 0.00, params: 1892970, time: '26m31s' },
    'googlenet-short4': { top1: 0.15, top5: 0.01, params: 1557834, time: '25m30s' },
  },
};
const SEED_EPOCHS = 14;

export const MODEL_ORDER: string[] = [
  'googlenet-naive', 'googlenet', 'googlenet-long', 'googlenet-short', 'googlenet-short2', 'googlenet-short3', 'googlenet-short4',
];

export const RECONSTRUCTED: Record<string, string> = {
  'googlenet-short3': 'googlenet-short3 is a reconstruction (a3 / c4 / b5): no arrangement of the seed\'s Inception settings gives the seed\'s count, so ours (1,965,164 at 100 classes, 1,872,914 at 10) differs from the seed\'s (1,985,220 / 1,892,970).',
  'googlenet-short4': 'googlenet-short4 is a reconstruction (— / a4 / b5): no arrangement of the seed\'s Inception settings gives the seed\'s count, so ours (1,643,796 at 100 classes, 1,551,546 at 10) differs from the seed\'s (1,650,084 / 1,557,834).',
};

const DATASET_ORDER = ['cifar100', 'cifar10'];
const DATASET_TITLE: Record<string, string> = { cifar100: 'CIFAR-100', cifar10: 'CIFAR-10' };

/** Table order: MODEL_ORDER first, any other model after them alphabetically. */
export function compareModels(a: string, b: string): number {
  const ia = MODEL_ORDER.indexOf(a), ib = MODEL_ORDER.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}
/** cifar100 first, then cifar10, then any other dataset alphabetically. */
function compareDatasets(a: string, b: string): number {
  const rank = (d: string) => (DATASET_ORDER.includes(d) ? DATASET_ORDER.indexOf(d) : DATASET_ORDER.length);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export interface ResultRow {
  model: string; params: number; macs: number;
  top1Error: number | null; top5Error: number | null; seconds: number | null;
  /** the last recorded epoch */
  epochs: number;
  /** 'complete', 'failed: …' or 'running' */
  status: string;
  epochsPlanned?: number;
  seed?: Seed;
}
export interface ResultsJson {
  generatedAt: string;
  datasets: Record<string, ResultRow[]>;
  runs: (RunRow & { epochs: EpochRow[] })[];
}

/** Every run with its epochs; per dataset, each run's final values (those of its last recorded epoch). */
export function buildResults(db: ExperimentDb): ResultsJson {
  const runs = db.runs()
    .sort((a, b) => compareDatasets(a.dataset, b.dataset) || compareModels(a.model, b.model))
    .map((r) => ({ ...r, epochs: db.epochs(r.id) }));
  const datasets: ResultsJson['datasets'] = {};
  for (const r of runs) {
    const last = r.epochs.at(-1);
    const sum = r.epochs.reduce((s, e) => s + e.seconds, 0);
    const seed = (SEED_TABLES as Record<string, Record<string, Seed>>)[r.dataset]?.[r.model];
    (datasets[r.dataset] ??= []).push({
      model: r.model, params: r.params, macs: r.macs,
      top1Error: last?.top1Error ?? null, top5Error: last?.top5Error ?? null,
      seconds: r.seconds ?? (last ? sum : null),
      epochs: last?.epoch ?? 0,
      status: r.status === 'failed' ? `failed: ${r.error ?? 'unknown error'}` : r.status,
      epochsPlanned: r.epochsPlanned,
      ...(seed ? { seed } : {}),
    });
  }
  return { generatedAt: new Date().toISOString(), datasets, runs };
}

/** Seed style: 29m8s, 1h2m3s, 45s (rounded to whole seconds). */
export function formatDuration(seconds: number): string {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

const int = (n: number) => n.toLocaleString('en-US');
const err = (x: number | null) => (x === null ? '—' : x.toFixed(2));

export interface MarkdownOptions { dbName?: string; plots?: string[] }

/** results.md: one table per dataset in the seed's form, ours beside the seed's. */
export function renderMarkdown(r: ResultsJson, o: MarkdownOptions = {}): string {
  const out: string[] = ['# GoogLeNet variants on CIFAR: results', ''];
  out.push(`Final values are those of each run's last recorded epoch (exact values in \`results.json\`). ` +
    `Seed columns quote the seed document (PyTorch 1.6, ${SEED_EPOCHS} epochs on its GPU).`, '');
  for (const [dataset, rows] of Object.entries(r.datasets)) {
    const planned = [...new Set(rows.map((x) => x.epochsPlanned))];
    const timeHead = planned.length === 1 && planned[0] !== undefined ? `Time (${planned[0]} epochs)` : 'Time';
    out.push(`## ${DATASET_TITLE[dataset] ?? dataset}`, '');
    out.push(`| network | Top 1 Error | Top 5 Error | Parameters | MACs | ${timeHead} | seed Top 1 | seed Top 5 | seed Parameters | seed Time (${SEED_EPOCHS} epochs) |`);
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const notes: string[] = [];
    for (const x of rows) {
      let name = x.model;
      if (x.status === 'running') name += ` (running, epoch ${x.epochs} of ${x.epochsPlanned ?? '?'})`;
      else if (x.status.startsWith('failed')) name += ` (${x.status.replace(/\s+/g, ' ').replace(/\|/g, '\\|')})`;
      const mark = RECONSTRUCTED[x.model] ? '†' : '';
      if (mark) notes.push(`† ${RECONSTRUCTED[x.model]}`);
      let time = x.seconds === null ? '—' : formatDuration(x.seconds);
      if (x.seconds !== null && (planned.length > 1 || x.epochs !== x.epochsPlanned)) time += ` (${x.epochs} epoch${x.epochs === 1 ? '' : 's'})`;
      const s = x.seed;
      out.push(`| ${name} | ${err(x.top1Error)} | ${err(x.top5Error)} | ${int(x.params)}${mark} | ${int(x.macs)} | ${time} | ` +
        (s ? `${err(s.top1)} | ${err(s.top5)} | ${int(s.params)} | ${s.time} |` : '— | — | — | — |'));
    }
    if (notes.length) out.push('', ...notes.map((n) => n + '  '));
    out.push('');
  }
  if (Object.keys(r.datasets).length === 0) out.push('No runs recorded yet.', '');
  if (o.plots?.length) {
    out.push('## Plots', '');
    for (const p of o.plots) out.push(`![${path.basename(p, '.svg')}](${p})`, '');
  }
  out.push(`The tables and plots are drawn from \`${o.dbName ?? 'experiment.sqlite'}\` (generated ${r.generatedAt}).`, '');
  return out.join('\n');
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Writes outDir/results.md, outDir/results.json and outDir/plots/*.svg (each atomically); returns their paths. */
export async function writeReport(db: ExperimentDb, outDir: string, dbName = 'experiment.sqlite'): Promise<{ markdown: string; json: string; plots: string[] }> {
  const r = buildResults(db);
  const svgs = await renderPlots(r);
  const plotDir = path.join(outDir, 'plots');
  fs.mkdirSync(plotDir, { recursive: true });
  const plots: string[] = [];
  for (const [name, svg] of svgs) {
    const file = path.join(plotDir, name);
    writeAtomic(file, svg);
    plots.push(file);
  }
  const markdown = path.join(outDir, 'results.md');
  const json = path.join(outDir, 'results.json');
  writeAtomic(json, JSON.stringify(r, null, 2) + '\n');
  writeAtomic(markdown, renderMarkdown(r, { dbName, plots: [...svgs.keys()].map((n) => `plots/${n}`) }));
  return { markdown, json, plots };
}
