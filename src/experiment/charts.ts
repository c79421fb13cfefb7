// The experiment's charts as vega-lite specs: one definition for the report's SVG files
// (plots.ts renders them) and for the dashboard's page (vega-embed draws them in the browser).
// Every spec names its data (`datasets` + `data: {name}`), so the page can swap a chart's rows
// with a vega changeset when an epoch lands, instead of drawing the chart again from scratch.
import type { TopLevelSpec } from 'vega-lite';
import type { ResultsJson } from './report.js';
import { VARIANTS } from '../models/googlenet.js';
import { compareModels, datasetTitle } from './report.js';

export type ChartRows = Record<string, unknown>[];

export interface Chart {
  /** The plot's file stem and the page's element id: `cifar10-test-top1`. */
  id: string;
  dataset: string;
  /** A vega-lite spec whose data are all named: `spec.datasets[name]` holds the rows of `{data: {name}}`. */
  spec: TopLevelSpec & { datasets: Record<string, ChartRows> };
}

const WIDTH = 640, HEIGHT = 400;
const reconstructed = (model: string) => !!VARIANTS[model]?.reconstructed;
const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: WIDTH, height: HEIGHT, background: 'white' } as const;

/** One line per model of an epoch series (test top-1 error, train loss). */
function perEpoch(title: string, yTitle: string, models: string[], rows: ChartRows): Chart['spec'] {
  return {
    ...base, title, datasets: { epochs: rows }, data: { name: 'epochs' },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'epoch', axis: { labelAngle: 0 } },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'model', type: 'nominal', title: 'network', scale: { domain: models } },
    },
  };
}

/** Per dataset with epochs: `<dataset>-test-top1`, `<dataset>-train-loss`, `<dataset>-top1-vs-params`. */
export function charts(r: ResultsJson): Chart[] {
  const out: Chart[] = [];
  for (const dataset of Object.keys(r.datasets)) {
    const name = datasetTitle(dataset);
    const runs = r.runs.filter((x) => x.dataset === dataset && x.epochs.length > 0).sort((a, b) => compareModels(a.model, b.model));
    if (runs.length === 0) continue;
    const models = runs.map((x) => x.model);
    const series = (pick: (e: ResultsJson['runs'][number]['epochs'][number]) => number) =>
      runs.flatMap((x) => x.epochs.map((e) => ({ model: x.model, epoch: e.epoch, y: pick(e) })));
    out.push({ id: `${dataset}-test-top1`, dataset, spec: perEpoch(`${name}: test top-1 error per epoch`, 'test top-1 error', models, series((e) => e.top1Error)) });
    out.push({ id: `${dataset}-train-loss`, dataset, spec: perEpoch(`${name}: training loss per epoch`, 'train loss (cross-entropy)', models, series((e) => e.trainLoss)) });

    const points = r.datasets[dataset]!.filter((x) => x.top1Error !== null).sort((a, b) => compareModels(a.model, b.model))
      .map((x) => ({
        model: x.model, params: x.params, top1: x.top1Error,
        label: `${x.model}${reconstructed(x.model) ? '†' : ''}${x.status === 'complete' ? '' : ` (${x.status.startsWith('failed') ? 'failed' : 'running'}, epoch ${x.epochs})`}`,
      }));
    out.push({
      id: `${dataset}-top1-vs-params`, dataset, spec: {
        ...base,
        title: points.some((p) => reconstructed(p.model))
          ? { text: `${name}: final test top-1 error against parameters`, subtitle: '† reconstruction: its parameter count differs from the seed\'s' }
          : `${name}: final test top-1 error against parameters`,
        datasets: { points }, data: { name: 'points' },
        encoding: {
          x: { field: 'params', type: 'quantitative', title: 'parameters (log scale)', scale: { type: 'log', nice: false, padding: 30 }, axis: { format: '~s' } },
          y: { field: 'top1', type: 'quantitative', title: 'final test top-1 error', scale: { zero: false, padding: 20 } },
        },
        layer: [
          { mark: { type: 'point', filled: true, size: 80, opacity: 1 }, encoding: { color: { field: 'model', type: 'nominal', title: 'network', scale: { domain: models } } } },
          { mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 11 }, encoding: { text: { field: 'label' } } },
        ],
      },
    });
  }
  return out;
}
