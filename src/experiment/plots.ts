// The report's SVG plots: charts.ts's vega-lite specs compiled to vega and rendered headless
// (no canvas needed for SVG).
import type { TopLevelSpec } from 'vega-lite';
import type { ResultsJson } from './report.js';
import { charts } from './charts.js';

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  // loaded on first use: vega and vega-lite take a second to load, which every other command would pay
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every chart of charts.ts as `<id>.svg` → its SVG text. */
export async function renderPlots(r: ResultsJson): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of charts(r)) out.set(`${c.id}.svg`, await toSvg(c.spec));
  return out;
}
