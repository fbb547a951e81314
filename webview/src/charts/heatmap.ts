import { axisTop } from 'd3-axis';
import { scaleBand } from 'd3-scale';
import type { HeatmapScheme } from '../../../common/protocol';
import { fmt } from '../format';
import { cosineScale } from './colors';
import { createSvg } from './svg';

export interface HeatmapSpec {
  chartId: string;
  label: string;
  rows: string[];
  cols: string[];
  /** values[row][col] */
  values: number[][];
  scheme: HeatmapScheme;
  width: number;
  /** Row height in px; rows never shrink below it so labels stay readable (the parent scrolls). */
  rowHeight?: number;
  /** Print the value inside each cell (small matrices only). */
  showValues?: boolean;
  /** Tooltip text of a cell, built on hover only. */
  tip: (row: number, col: number, v: number) => string;
  highlightRow?: number;
  /** Rows drawn with a dimmed label (tokens added by the prompt template). */
  dimRows?: Set<number>;
}

export interface Heatmap {
  svg: SVGSVGElement;
  /** The tooltip text of a hovered cell (cells carry no per-cell strings: 14,000 of them would be slow). */
  tipFor: (el: Element) => string | null;
  /** Recolours the same cells with new values of the same shape (the layer slider): no DOM rebuild. */
  update: (values: number[][], tip: HeatmapSpec['tip'], label: string) => void;
}

/** A row × column heatmap with column labels on top (so a long, scrolling heatmap keeps them near). */
export function renderHeatmap(parent: HTMLElement, spec: HeatmapSpec): Heatmap {
  const rowH = spec.rowHeight ?? 22;
  // Column labels are rotated 35°: leave room above and to the right for the longest one.
  const longest = Math.max(...spec.cols.map((c) => c.length));
  const longestRow = Math.max(...spec.rows.map((r) => r.length));
  const m = { top: 24 + longest * 4, right: Math.max(12, longest * 5 - 16), bottom: 8, left: 16 + longestRow * 6.8 };
  const w = Math.max(spec.cols.length * 36, spec.width - m.left - m.right);
  const h = spec.rows.length * rowH;
  const { svg, plot } = createSvg(parent, spec.chartId, w + m.left + m.right, h + m.top + m.bottom, m, spec.label);
  const x = scaleBand<number>().domain(spec.cols.map((_, i) => i)).range([0, w]).padding(0.04);
  const y = scaleBand<number>().domain(spec.rows.map((_, i) => i)).range([0, h]).padding(0.06);
  const color = cosineScale(spec.values.flat(), spec.scheme);
  // Cells and labels are written as one markup string: the parser builds 14,000 cells (2,000 tokens
  // × 7 concepts) several times faster than one DOM call per attribute.
  const bw = x.bandwidth();
  const bh = y.bandwidth();
  const rects: string[] = [];
  const texts: string[] = [];
  for (let r = 0; r < spec.rows.length; r++) {
    const row = spec.values[r];
    const ry = y(r)!;
    for (let c = 0; c < spec.cols.length; c++) {
      const { fill, dark } = color(row[c]);
      rects.push(`<rect class="cell" x="${x(c)}" y="${ry}" width="${bw}" height="${bh}" fill="${fill}"/>`);
      if (spec.showValues) {
        texts.push(`<text class="cell-value ${dark ? 'on-dark' : 'on-light'}" x="${x(c)! + bw / 2}" y="${ry + bh / 2}">${fmt(row[c], 2)}</text>`);
      }
    }
  }
  const cells = plot.append('g').attr('class', 'cells').node()!;
  cells.innerHTML = rects.join('');
  const valueTexts = plot.append('g').attr('class', 'cell-values').node()!;
  valueTexts.innerHTML = texts.join('');

  plot.append('g').attr('class', 'axis col-axis').call(axisTop(x).tickFormat((i) => spec.cols[i]))
    .selectAll('text').attr('text-anchor', 'start').attr('transform', 'rotate(-35)').attr('dx', '0.3em');
  plot.append('g').attr('class', 'row-labels').node()!.innerHTML = spec.rows
    .map((label, r) => {
      const cls = `row-label${r === spec.highlightRow ? ' highlight' : ''}${spec.dimRows?.has(r) ? ' dim' : ''}`;
      return `<text class="${cls}" x="-6" y="${y(r)! + bh / 2}">${escapeXml(label)}</text>`;
    })
    .join('');

  const nCols = spec.cols.length;
  let { values, tip } = spec;
  const tipFor = (el: Element): string | null => {
    if (el.parentNode !== cells) return null;
    const i = Array.prototype.indexOf.call(cells.children, el) as number;
    const r = Math.floor(i / nCols);
    const c = i % nCols;
    return tip(r, c, values[r][c]);
  };
  const update = (next: number[][], nextTip: HeatmapSpec['tip'], label: string): void => {
    values = next;
    tip = nextTip;
    svg.attr('aria-label', label);
    const recolor = cosineScale(next.flat(), spec.scheme);
    const rectEls = cells.children;
    const textEls = valueTexts.children;
    for (let r = 0; r < next.length; r++) {
      for (let c = 0; c < nCols; c++) {
        const i = r * nCols + c;
        const { fill, dark } = recolor(next[r][c]);
        rectEls[i].setAttribute('fill', fill);
        if (spec.showValues) {
          textEls[i].setAttribute('class', `cell-value ${dark ? 'on-dark' : 'on-light'}`);
          textEls[i].textContent = fmt(next[r][c], 2);
        }
      }
    }
  };
  return { svg: svg.node()!, tipFor, update };
}

const escapeXml = (s: string): string => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
