// SVG plots of the experiment: vega-lite specs compiled to vega, rendered headless (no canvas needed for SVG).
import type { TopLevelSpec } from 'vega-lite';
import type { ResultsJson } from './report.js';
import { VARIANTS } from '../models/googlenet.js';
import { compareModels, datasetTitle } from './report.js';

const WIDTH = 640, HEIGHT = 400;
const reconstructed = (model: string) => !!VARIANTS[model]?.reconstructed;

async function toSvg(spec: TopLevelSpec): Promise<string> {
  // loaded on first use: vega and vega-lite take a second to load, which every other command would pay
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: WIDTH, height: HEIGHT, background: 'white' } as const;

/** One line per model of an epoch series (test top-1 error, train loss). */
function perEpoch(title: string, yTitle: string, models: string[], values: { model: string; epoch: number; y: number }[]): TopLevelSpec {
  return {
    ...base, title, data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'epoch', axis: { labelAngle: 0 } },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'model', type: 'nominal', title: 'network', scale: { domain: models } },
    },
  };
}

/** Renders, per dataset: `<dataset>-test-top1.svg`, `<dataset>-train-loss.svg`, `<dataset>-top1-vs-params.svg`. */
export async function renderPlots(r: ResultsJson): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dataset of Object.keys(r.datasets)) {
    const name = datasetTitle(dataset);
    const runs = r.runs.filter((x) => x.dataset === dataset && x.epochs.length > 0).sort((a, b) => compareModels(a.model, b.model));
    if (runs.length === 0) continue;
    const models = runs.map((x) => x.model);
    const series = (pick: (e: ResultsJson['runs'][number]['epochs'][number]) => number) =>
      runs.flatMap((x) => x.epochs.map((e) => ({ model: x.model, epoch: e.epoch, y: pick(e) })));
    out.set(`${dataset}-test-top1.svg`, await toSvg(perEpoch(`${name}: test top-1 error per epoch`, 'test top-1 error', models, series((e) => e.top1Error))));
    out.set(`${dataset}-train-loss.svg`, await toSvg(perEpoch(`${name}: training loss per epoch`, 'train loss (cross-entropy)', models, series((e) => e.trainLoss))));

    const points = r.datasets[dataset]!.filter((x) => x.top1Error !== null).sort((a, b) => compareModels(a.model, b.model))
      .map((x) => ({
        model: x.model, params: x.params, top1: x.top1Error,
        label: `${x.model}${reconstructed(x.model) ? '†' : ''}${x.status === 'complete' ? '' : ` (${x.status.startsWith('failed') ? 'failed' : 'running'}, epoch ${x.epochs})`}`,
      }));
    out.set(`${dataset}-top1-vs-params.svg`, await toSvg({
      ...base,
      title: points.some((p) => reconstructed(p.model))
        ? { text: `${name}: final test top-1 error against parameters`, subtitle: '† reconstruction: its parameter count differs from the seed\'s' }
        : `${name}: final test top-1 error against parameters`,
      data: { values: points },
      encoding: {
        x: { field: 'params', type: 'quantitative', title: 'parameters (log scale)', scale: { type: 'log', nice: false, padding: 30 }, axis: { format: '~s' } },
        y: { field: 'top1', type: 'quantitative', title: 'final test top-1 error', scale: { zero: false, padding: 20 } },
      },
      layer: [
        { mark: { type: 'point', filled: true, size: 80, opacity: 1 }, encoding: { color: { field: 'model', type: 'nominal', title: 'network', scale: { domain: models } } } },
        { mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 11 }, encoding: { text: { field: 'label' } } },
      ],
    }));
  }
  return out;
}
