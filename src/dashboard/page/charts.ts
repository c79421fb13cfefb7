// The charts of a view: each Chart from /api/charts embedded once with vega-embed; on an update,
// a chart whose spec (all but its data) is unchanged gets its named datasets' rows swapped by a
// vega changeset, so it is not drawn again from scratch. Vega runs with its expression
// interpreter (the CSP forbids eval); vega-embed's and vega-tooltip's injected styles are off
// (the CSP forbids inline styles; style.css has ours). vega-tooltip escapes tooltip values.
import type { Chart } from './types.js';
import type { View } from 'vega';
import type { EmbedOptions, Result } from 'vega-embed';
import { el } from './dom.js';

declare global {
  interface Window {
    vega: typeof import('vega') & { expressionInterpreter: unknown };
    vegaEmbed: (el: HTMLElement, spec: unknown, opts: EmbedOptions) => Promise<Result>;
  }
}

const OPTIONS = (): EmbedOptions => ({
  renderer: 'svg', actions: false, defaultStyle: false, ast: true,
  expr: window.vega.expressionInterpreter as EmbedOptions['expr'],
  tooltip: { disableDefaultStyle: true, theme: 'dashboard' },
  // hovering a mark shows its encoded values, for charts whose spec sets no tooltip of its own
  // and the type a size up from vega's 10-11 px, for a screen rather than a file
  config: {
    mark: { tooltip: true },
    axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 13 }, title: { fontSize: 15 },
  } as EmbedOptions['config'],
});

interface Shown { box: HTMLElement; key: string; view: View }

/** The charts' part that is not data: when it changes, the chart is embedded again. */
const shape = (c: Chart) => JSON.stringify({ ...c.spec, datasets: Object.keys(c.spec.datasets) });

export class ChartSet {
  private readonly shown = new Map<string, Shown>();
  constructor(private readonly where: HTMLElement) {}

  /** Shows `charts`, grouped under a heading per dataset (`title(dataset)`), reusing the views it can; `empty` says why there is none. */
  async update(charts: Chart[], title: (dataset: string) => string, empty = 'No epochs recorded yet: the curves appear with the first.'): Promise<void> {
    const groups = new Map<string, Chart[]>();
    for (const c of charts) groups.set(c.dataset, [...(groups.get(c.dataset) ?? []), c]);
    const sections: HTMLElement[] = [];
    const jobs: Promise<void>[] = [];
    for (const [dataset, list] of groups) {
      const boxes = list.map((c) => {
        const old = this.shown.get(c.id);
        if (old && old.key === shape(c)) {
          for (const [name, rows] of Object.entries(c.spec.datasets))
            old.view.change(name, window.vega.changeset().remove(() => true).insert(rows));
          jobs.push(old.view.runAsync().then(() => undefined));
          return old.box;
        }
        old?.view.finalize();
        const box = el('div', { class: 'chart', data: { chart: c.id } });
        jobs.push(window.vegaEmbed(box, c.spec, OPTIONS()).then((r) => { this.shown.set(c.id, { box, key: shape(c), view: r.view }); }));
        return box;
      });
      sections.push(el('section', { class: 'charts' }, el('h4', {}, title(dataset)), el('div', { class: 'chart-grid' }, ...boxes)));
    }
    const ids = new Set(charts.map((c) => c.id));
    for (const [id, s] of this.shown) if (!ids.has(id)) { s.view.finalize(); this.shown.delete(id); }
    this.where.replaceChildren(...(sections.length ? sections : [el('p', { class: 'empty' }, empty)]));
    await Promise.all(jobs);
  }

  clear(): void {
    for (const s of this.shown.values()) s.view.finalize();
    this.shown.clear();
    this.where.replaceChildren();
  }
}
