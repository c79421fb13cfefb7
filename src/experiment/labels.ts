// Point labels placed without collisions, in pixels, before the chart is drawn.
// vega-lite has no collision-aware label placement; vega's `label` transform has, but only in a
// compiled vega spec, and the charts stay vega-lite specs (the dashboard embeds them as they are).
// The scatter charts fix their scales' domains (charts.ts), so a point's pixel position is known
// here: each label tries positions around its point (right, left, above, below, the diagonals),
// nearest first, then farther out with a leader line, and a depth-first search takes the first
// assignment in which no label overlaps another label, any point or error bar, and every label
// stays inside the plot. Text width is estimated (no fonts are measured), generously.

export interface Box { x0: number; y0: number; x1: number; y1: number }
export interface PlacedLabel {
  box: Box;
  /** Left edge and vertical middle of the text: where a left-aligned, middle-baseline text mark goes. */
  x: number; y: number;
  /** Set when the label sits away from its point: a leader line from the point to the box's nearest edge. */
  leader: { x: number; y: number } | null;
}
export interface PlaceOptions {
  width: number; height: number; fontSize: number;
  /** Radius of every point mark, in pixels. */
  radius: number;
}

/** An upper estimate of a sans-serif label's width: wide enough for DejaVu Sans and Helvetica. */
export function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * 0.62) + 2;
}

const MARGIN = 2;
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 + MARGIN && b.x0 < a.x1 + MARGIN && a.y0 < b.y1 + MARGIN && b.y0 < a.y1 + MARGIN;
export const boxesOverlap = overlaps;

function candidates(px: number, py: number, w: number, h: number, o: PlaceOptions): { box: Box; leader: boolean }[] {
  const out: { box: Box; leader: boolean }[] = [];
  const r = o.radius;
  for (const d of [3, 14, 28, 44, 64]) {
    const leader = d > 3;
    const at = (x0: number, y0: number) => out.push({ box: { x0, y0, x1: x0 + w, y1: y0 + h }, leader });
    at(px + r + d, py - h / 2); // right
    at(px - r - d - w, py - h / 2); // left
    at(px - w / 2, py - r - d - h); // above
    at(px - w / 2, py + r + d); // below
    at(px + r + d * 0.7, py - r - d * 0.7 - h); // upper right
    at(px + r + d * 0.7, py + r + d * 0.7); // lower right
    at(px - r - d * 0.7 - w, py - r - d * 0.7 - h); // upper left
    at(px - r - d * 0.7 - w, py + r + d * 0.7); // lower left
  }
  return out;
}

/**
 * Labels for `points` (pixel positions and texts), avoiding each other, every point of `points`
 * and of `obstacles` (other marks: `radius` where smaller than the points'), and the plot's
 * edges; `soft` boxes (error bars: thin lines a label may cross and stay legible) are avoided
 * where the label can be placed clear of them, crossed where it cannot. Null for a label no
 * position fits (too crowded): the point's tooltip still names it.
 */
export function placeLabels(points: { x: number; y: number; text: string }[], obstacles: { x: number; y: number; radius?: number }[], o: PlaceOptions, soft: Box[] = []): (PlacedLabel | null)[] {
  const h = Math.ceil(o.fontSize * 1.25);
  const marks: Box[] = [...points, ...obstacles].map((p: { x: number; y: number; radius?: number }) => {
    const r = p.radius ?? o.radius;
    return { x0: p.x - r, y0: p.y - r, x1: p.x + r, y1: p.y + r };
  });
  const inside = (b: Box) => b.x0 >= 0 && b.y0 >= 0 && b.x1 <= o.width && b.y1 <= o.height;
  const crosses = (b: Box) => soft.some((m) => overlaps(b, m));
  // the positions clear of soft boxes first, each set nearest first (sort is stable)
  const options = points.map((p) => candidates(p.x, p.y, textWidth(p.text, o.fontSize), h, o)
    .filter((c) => inside(c.box) && !marks.some((m) => overlaps(c.box, m)))
    .sort((a, b) => Number(crosses(a.box)) - Number(crosses(b.box))));
  // the most constrained labels first, so the search fails early rather than deep
  const order = points.map((_, i) => i).sort((a, b) => options[a]!.length - options[b]!.length || a - b);
  const chosen: (number | null)[] = points.map(() => null);
  let budget = 50_000;
  const free = (b: Box) => chosen.every((c, j) => c === null || c < 0 || !overlaps(b, options[j]![c]!.box));
  const search = (k: number): boolean => {
    if (k === order.length) return true;
    const i = order[k]!;
    for (let c = 0; c < options[i]!.length; c++) {
      if (--budget < 0) return false;
      if (!free(options[i]![c]!.box)) continue;
      chosen[i] = c;
      if (search(k + 1)) return true;
      chosen[i] = null;
    }
    return false;
  };
  if (!search(0)) {
    // no assignment places them all: greedy, leaving out the labels that fit nowhere
    chosen.fill(null);
    for (const i of order) {
      const c = options[i]!.findIndex((x) => free(x.box));
      chosen[i] = c >= 0 ? c : -1;
    }
  }
  return points.map((p, i) => {
    const c = chosen[i];
    if (c === null || c === undefined || c < 0) return null;
    const { box, leader } = options[i]![c]!;
    const lx = Math.min(Math.max(p.x, box.x0), box.x1), ly = Math.min(Math.max(p.y, box.y0), box.y1);
    return { box, x: box.x0 + 1, y: (box.y0 + box.y1) / 2, leader: leader ? { x: lx, y: ly } : null };
  });
}
