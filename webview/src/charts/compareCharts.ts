// The compare view's two charts: each headline concept over the layers on both sides (one line chart, A solid,
// B dashed, probabilities on a fixed 0–1 axis) and the layer × concept difference heatmap (B − A on a diverging
// scale centred on 0). Built from the shared chart markup (common/charts) and the panel's heatmap, as every
// other chart of the panel.
import type { Comparison } from '../../../engine/src/compare';
import { points } from '../../../engine/src/compare';
import { differenceScale, seriesColor } from '../../../common/charts/colors';
import { lineChartMarkup, type Series } from '../../../common/charts/lineChart';
import { renderHeatmap, type Heatmap } from './heatmap';
import { mountSvg } from './mount';

/** One concept's colour in both charts and the legend: its place in A's bank, then B's own concepts. */
export function conceptColors(c: Comparison): (concept: string) => string {
  const order = [...c.concepts, ...c.conceptsOnly.a, ...c.conceptsOnly.b];
  return (concept) => seriesColor(Math.max(0, order.indexOf(concept)));
}

/** The curves' series: per headline concept, A then B (a concept missing from one side's bank has no line there). */
export function curveSeries(c: Comparison): Series[] {
  const color = conceptColors(c);
  return c.headlineCurves.flatMap((h) => [
    { name: `${h.concept} (A)`, color: color(h.concept), values: h.a.map((v) => v ?? NaN) },
    { name: `${h.concept} (B)`, color: color(h.concept), values: h.b.map((v) => v ?? NaN), dashed: true },
  ]);
}

export function renderCompareCurves(host: HTMLElement, c: Comparison, width: number): SVGSVGElement {
  const { a, b } = c;
  const marker = c.layers.includes(a.headline.layer)
    ? { x: a.headline.layer, label: a.headline.layer === b.headline.layer ? `target layer ${a.headline.layer}` : `A's target layer ${a.headline.layer}` }
    : undefined;
  return mountSvg(host, lineChartMarkup({
    chartId: 'compare-curves', label: 'Each headline concept’s probability per layer: A solid, B dashed',
    xs: c.layers, series: curveSeries(c), yDomain: [0, 1], yLabel: 'probability', marker, width,
  }));
}

/** Nice symmetric bounds of the difference scale, in percentage points: the smallest that holds every change. */
const SPANS = [5, 10, 20, 25, 50, 100];

export function differenceSpan(pointsTable: number[][]): number {
  const largest = Math.max(0, ...pointsTable.flat().map(Math.abs).filter(Number.isFinite));
  return SPANS.find((s) => largest <= s) ?? 100;
}

/** The differences in percentage points (what the CLI prints too), coloured on a diverging scale centred on 0. */
export function renderDifferenceHeatmap(host: HTMLElement, c: Comparison, width: number): Heatmap {
  const values = c.differences.map((row) => row.map((d) => 100 * d));
  const target = c.layers.indexOf(c.a.headline.layer);
  return renderHeatmap(host, {
    chartId: 'compare-differences', label: 'Probability change B − A per layer and concept, in percentage points',
    rows: c.layers.map((l) => `layer ${l}`), cols: c.concepts, values,
    scale: differenceScale('change B − A, percentage points', differenceSpan(values)),
    width: Math.min(width, 140 + 64 * c.concepts.length), rowHeight: 24, showValues: true,
    formatValue: (v) => points(v / 100),
    highlightRow: target < 0 ? undefined : target,
    tip: (row, col) => `${c.concepts[col]} at layer ${c.layers[row]}: ${points(c.differences[row][col])} percentage points (B − A)`,
  });
}
