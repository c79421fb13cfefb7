// DOM building for the page: elements made with createElement and text set with textContent
// only (never innerHTML), so a store's strings (errors, recipes, worker names) stay text.

export type Child = Node | string | number | null | undefined | false;

/** Attributes the page sets; their values are plain attribute text, never parsed as markup. */
type Attrs = Partial<Record<'class' | 'id' | 'href' | 'title' | 'download' | 'type' | 'colspan' | 'role' | 'aria-label', string>> & { data?: Record<string, string> };

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === 'data') for (const [dk, dv] of Object.entries(v as Record<string, string>)) e.dataset[dk] = dv;
    else e.setAttribute(k, v as string);
  }
  e.append(...kids(children));
  return e;
}

const kids = (children: Child[]) => children.filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));

export interface Column<T> {
  head: string;
  cell: (row: T) => Child;
  /** right-aligned, tabular figures */
  num?: boolean;
  /** a class for the row's cell, e.g. to mark it */
  cls?: (row: T) => string | undefined;
}

/** A table of `rows`, with a CSV link (the server's CSV of the same table) under it; `name` is its data-table hook. */
export function table<T>(name: string, columns: Column<T>[], rows: T[], o: { csv?: string; rowClass?: (row: T) => string | undefined; rowData?: (row: T) => Record<string, string>; empty?: string } = {}): HTMLElement {
  const head = el('tr', {}, ...columns.map((c) => el('th', { class: c.num ? 'num' : undefined }, c.head)));
  const body = rows.map((r) => el('tr', { class: o.rowClass?.(r), data: o.rowData?.(r) },
    ...columns.map((c) => el('td', { class: [c.num ? 'num' : '', c.cls?.(r) ?? ''].join(' ').trim() || undefined }, c.cell(r)))));
  return el('div', { class: 'table', data: { table: name } },
    el('table', {}, el('thead', {}, head), el('tbody', {}, ...body)),
    rows.length === 0 ? el('p', { class: 'empty' }, o.empty ?? 'nothing yet') : null,
    o.csv ? el('a', { class: 'csv', href: o.csv, download: '' }, 'CSV') : null);
}

// Formats: errors with 4 decimals (results.json has them exact; the seed's 2 would hide small runs' differences).
export const err = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(4));
export const int = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toLocaleString('en-US'));
export const fixed = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '—' : x.toFixed(digits));
/** 2026-12-01 18:25:46 (UTC) from an ISO time. */
export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '—');
