// The compare view's two charts: each headline concept over the layers on every side (one line chart: colour
// per concept, a dash pattern per side — A solid —, probabilities on a fixed 0–1 axis) and the layer × concept
// difference heatmap of one side against A (on a diverging scale centred on 0). Built from the shared chart
// markup (common/charts) and the panel's heatmap, as every other chart of the panel.
import type { Comparison, SideChange } from '../../../engine/src/compare';
import { points, sideLabel } from '../../../engine/src/compare';
import { differenceScale, seriesColor } from '../../../common/charts/colors';
import { lineChartMarkup, type Series } from '../../../common/charts/lineChart';
import { renderHeatmap, type Heatmap } from './heatmap';
import { mountSvg } from './mount';

/** One concept's colour in both charts and the legend: its place in A's bank, then the other banks' own concepts. */
export function conceptColors(c: Comparison): (concept: string) => string {
  const order = [...new Set([...c.concepts, ...c.conceptsOnly.flat()])];
  return (concept) => seriesColor(Math.max(0, order.indexOf(concept)));
}

/** Stroke dash pattern of side k's curves (A solid): sides differ by pattern, not by colour alone. */
export const SIDE_DASHES = ['', '5 3', '1 3', '9 3 2 3', '12 5', '2 2 2 6'];

/** The curves' series: per headline concept, one per side in side order (a concept missing from a side's bank has no line there). */
export function curveSeries(c: Comparison): Array<Series & { side: number }> {
  const color = conceptColors(c);
  return c.headlineCurves.flatMap((h) => h.values.map((values, k) => ({
    name: `${h.concept} (${sideLabel(k)})`, color: color(h.concept), values: values.map((v) => v ?? NaN), dashed: k > 0, side: k,
  })));
}

export function renderCompareCurves(host: HTMLElement, c: Comparison, width: number): SVGSVGElement {
  const [a, ...others] = c.sides;
  const sameLayer = others.every((s) => s.headline.layer === a.headline.layer);
  const marker = c.layers.includes(a.headline.layer)
    ? { x: a.headline.layer, label: sameLayer ? `target layer ${a.headline.layer}` : `A's target layer ${a.headline.layer}` }
    : undefined;
  const series = curveSeries(c);
  const svg = mountSvg(host, lineChartMarkup({
    chartId: 'compare-curves', label: `Each headline concept’s probability per layer: ${sideStyles(c.sides.length)}`,
    xs: c.layers, series, yDomain: [0, 1], yLabel: 'probability', marker, width,
  }));
  // The shared chart knows one dash pattern; each side past B gets its own (the series come out in order).
  svg.querySelectorAll('.series > path.line').forEach((path, i) => {
    if (series[i].side > 1) path.setAttribute('stroke-dasharray', SIDE_DASHES[series[i].side]);
  });
  return svg;
}

/** How the curves tell the sides apart, in words: "A solid, B dashed" (then "C dotted", …). */
export function sideStyles(sides: number): string {
  const names = ['solid', 'dashed', 'dotted', 'dash-dot', 'long dashes', 'dots and gaps'];
  return names.slice(0, sides).map((n, k) => `${sideLabel(k)} ${n}`).join(', ');
}

/** Nice symmetric bounds of the difference scale, in percentage points: the smallest that holds every change. */
const SPANS = [5, 10, 20, 25, 50, 100];

export function differenceSpan(pointsTable: number[][]): number {
  const largest = Math.max(0, ...pointsTable.flat().map(Math.abs).filter(Number.isFinite));
  return SPANS.find((s) => largest <= s) ?? 100;
}

/** One side's differences from A in percentage points (what the CLI prints too), coloured on a diverging scale centred on 0. */
export function renderDifferenceHeatmap(host: HTMLElement, c: Comparison, change: SideChange, width: number): Heatmap {
  const values = change.differences.map((row) => row.map((d) => 100 * d));
  const target = c.layers.indexOf(c.sides[0].headline.layer);
  const x = sideLabel(change.side);
  return renderHeatmap(host, {
    chartId: 'compare-differences', label: `Probability change ${x} − A per layer and concept, in percentage points`,
    rows: c.layers.map((l) => `layer ${l}`), cols: c.concepts, values,
    scale: differenceScale(`change ${x} − A, percentage points`, differenceSpan(values)),
    width: Math.min(width, 140 + 64 * c.concepts.length), rowHeight: 24, showValues: true,
    formatValue: (v) => points(v / 100),
    highlightRow: target < 0 ? undefined : target,
    tip: (row, col) => `${c.concepts[col]} at layer ${c.layers[row]}: ${points(change.differences[row][col])} percentage points (${x} − A)`,
  });
}
