// A row × column heatmap as SVG markup, column labels on top (a long, scrolling heatmap keeps them near).
// Cells and labels are one string: the parser builds 14,000 cells (2,000 tokens × 7 concepts) several
// times faster than one DOM call per attribute.
import { scaleBand } from 'd3-scale';
import { topAxis } from './axis';
import { COLOR_BAR_HEIGHT, colorBarMarkup } from './colorBar';
import type { CellColorScale, ColorLegend } from './colors';
import { escapeXml, fmt, svgMarkup, titleElement } from './markup';

export interface HeatmapSpec {
  chartId?: string;
  /** The accessible name. */
  label: string;
  /** A title drawn inside the chart. */
  title?: string;
  rows: string[];
  cols: string[];
  /** values[row][col] */
  values: number[][];
  color: CellColorScale;
  /** The colour bar drawn above the columns: `color`'s ramp and domain. */
  legend: ColorLegend;
  /** Width the columns may spread over; a column is never narrower than 36 px. */
  width: number;
  /** Row height in px; rows never shrink below it so labels stay readable (the parent scrolls). */
  rowHeight?: number;
  /** Print the value inside each cell, where it fits (at least 26 × 12 px). */
  showValues?: boolean;
  formatValue?: (v: number) => string;
  /** A cell's tooltip text, as a <title> element with nativeTips (the panel builds it on hover only). */
  tip?: (row: number, col: number, v: number) => string;
  nativeTips?: boolean;
  highlightRow?: number;
  /** Rows drawn with a dimmed label (tokens added by the prompt template). */
  dimRows?: Set<number>;
  /** Rows whose cells are faded (e.g. layers where every concept scores alike); their values stay readable. */
  mutedRows?: Set<number>;
  /** What the rows and columns are (e.g. true / predicted). */
  rowAxis?: string;
  colAxis?: string;
}

/** The class of a cell's value text: light text on a dark fill. */
export const cellValueClass = (dark: boolean): string => `cell-value ${dark ? 'on-dark' : 'on-light'}`;

/** Cells are the children of `g.cells`, row by row, and their values those of `g.cell-values`, in the same order. */
export function heatmapMarkup(spec: HeatmapSpec): string {
  const rowH = spec.rowHeight ?? 22;
  const format = spec.formatValue ?? ((v: number) => fmt(v, 2));
  // Column labels are rotated 35°: leave room above and to the right for the longest one.
  const longest = Math.max(...spec.cols.map((c) => c.length));
  const longestRow = Math.max(...spec.rows.map((r) => r.length));
  const titleHeight = spec.title === undefined ? 0 : 22;
  const m = {
    top: 24 + longest * 4 + titleHeight + COLOR_BAR_HEIGHT,
    right: Math.max(12, longest * 5 - 16),
    bottom: spec.colAxis === undefined ? 8 : 24,
    left: 16 + longestRow * 6.8,
  };
  const w = Math.max(spec.cols.length * 36, spec.width - m.left - m.right);
  const barWidth = Math.max(140, Math.min(240, w));
  const h = spec.rows.length * rowH;
  const x = scaleBand<number>().domain(spec.cols.map((_, i) => i)).range([0, w]).padding(0.04);
  const y = scaleBand<number>().domain(spec.rows.map((_, i) => i)).range([0, h]).padding(0.06);
  const bw = x.bandwidth();
  const bh = y.bandwidth();
  const printValues = spec.showValues === true && bw >= 26 && bh >= 12;
  const rects: string[] = [];
  const texts: string[] = [];
  for (let r = 0; r < spec.rows.length; r++) {
    const row = spec.values[r];
    const ry = y(r)!;
    const muted = spec.mutedRows?.has(r) === true;
    for (let c = 0; c < spec.cols.length; c++) {
      const { fill, dark } = spec.color(row[c], r, c);
      const tip = spec.nativeTips && spec.tip ? titleElement(spec.tip(r, c, row[c])) : '';
      rects.push(`<rect class="cell${muted ? ' muted' : ''}" x="${x(c)}" y="${ry}" width="${bw}" height="${bh}" fill="${fill}"${tip ? `>${tip}</rect>` : '/>'}`);
      if (printValues) {
        texts.push(`<text class="${muted ? 'cell-value muted' : cellValueClass(dark)}" x="${x(c)! + bw / 2}" y="${ry + bh / 2}" text-anchor="middle" dominant-baseline="central">${escapeXml(format(row[c]))}</text>`);
      }
    }
  }
  const rowLabels = spec.rows.map((label, r) => {
    const cls = `row-label${r === spec.highlightRow ? ' highlight' : ''}${spec.dimRows?.has(r) || spec.mutedRows?.has(r) ? ' dim' : ''}`;
    return `<text class="${cls}" x="-6" y="${y(r)! + bh / 2}" text-anchor="end" dominant-baseline="central">${escapeXml(label)}</text>`;
  });
  const axisNames =
    (spec.rowAxis === undefined ? '' : `<text class="axis-label" x="${-m.left + 4}" y="-6">${escapeXml(spec.rowAxis)} ↓</text>`) +
    (spec.colAxis === undefined ? '' : `<text class="axis-label" x="${w / 2}" y="${h + 18}" text-anchor="middle">${escapeXml(spec.colAxis)} →</text>`);
  const body = `<g class="cells">${rects.join('')}</g><g class="cell-values">${texts.join('')}</g>` +
    topAxis('col-axis', w, spec.cols.map((c, i) => ({ at: x(i)! + bw / 2, label: c })), 35) +
    `<g class="row-labels">${rowLabels.join('')}</g>${axisNames}` +
    colorBarMarkup(spec.legend, 0, titleHeight - m.top + 4, barWidth);
  const width = Math.max(w + m.left + m.right, m.left + barWidth + 12, spec.title === undefined ? 0 : spec.title.length * 7.2 + 8);
  return svgMarkup({ kind: 'heatmap', chartId: spec.chartId, width, height: h + m.top + m.bottom, label: spec.label, title: spec.title, margins: m, body });
}
