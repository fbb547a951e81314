// Inline SVG charts as strings (no DOM, no script): line charts over layers and matrix heatmaps.
// d3 computes scales, paths and colours; the markup is assembled here so the report stays self-contained.
import { scaleLinear } from 'd3-scale';
import { interpolateBlues, interpolateYlOrRd, schemeTableau10 } from 'd3-scale-chromatic';
import { line } from 'd3-shape';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export const seriesColor = (i: number): string => schemeTableau10[i % schemeTableau10.length];

export interface Series {
  name: string;
  values: number[];
  color: string;
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  /** x positions (layers), one per value. */
  xs: number[];
  series: Series[];
  /** Fixed y range; otherwise fitted to the data, with 0 included unless includeZero is false. */
  yDomain?: [number, number];
  includeZero?: boolean;
  /** Draws a labelled vertical marker, e.g. the target layer. */
  marker?: { x: number; label: string };
}

export function lineChart(spec: LineChartSpec): string {
  const width = 420;
  const height = 220;
  const m = { top: 28, right: 12, bottom: 34, left: 46 };
  const finite = spec.series.flatMap((s) => s.values.filter(Number.isFinite));
  const zero = spec.includeZero === false ? [] : [0];
  const [lo, hi] = spec.yDomain ?? [Math.min(...zero, ...finite), Math.max(...zero, ...finite)];
  const x = scaleLinear().domain([Math.min(...spec.xs), Math.max(...spec.xs)]).range([m.left, width - m.right]);
  const y = scaleLinear().domain([lo, hi === lo ? lo + 1 : hi]).nice().range([height - m.bottom, m.top]);
  const path = line<[number, number]>()
    .defined(([, v]) => Number.isFinite(v))
    .x(([l]) => x(l))
    .y(([, v]) => y(v));
  const yTicks = y.ticks(5).map((t) => `<g><line x1="${m.left}" x2="${width - m.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text></g>`);
  const xTicks = spec.xs.map((l) => `<text x="${x(l)}" y="${height - m.bottom + 16}" text-anchor="middle">${l}</text>`);
  const marker = spec.marker
    ? `<line x1="${x(spec.marker.x)}" x2="${x(spec.marker.x)}" y1="${m.top}" y2="${height - m.bottom}" class="marker"/><text x="${x(spec.marker.x) + 4}" y="${m.top + 10}" class="marker-label">${escapeXml(spec.marker.label)}</text>`
    : '';
  const lines = spec.series.map((s) => {
    const pts = spec.xs.map((l, i) => [l, s.values[i]] as [number, number]);
    const dots = pts
      .filter(([, v]) => Number.isFinite(v))
      .map(([l, v]) => `<circle cx="${x(l)}" cy="${y(v)}" r="3" fill="${s.color}"><title>${escapeXml(s.name)}, layer ${l}: ${fmt(v)}</title></circle>`);
    return `<path d="${path(pts) ?? ''}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>${dots.join('')}`;
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">
<text x="${m.left}" y="16" class="chart-title">${escapeXml(spec.title)}</text>
${yTicks.join('')}${xTicks.join('')}<text x="${(m.left + width - m.right) / 2}" y="${height - 4}" text-anchor="middle" class="axis-label">layer</text>
${marker}${lines.join('')}</svg>`;
}

export interface HeatmapSpec {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  values: number[][];
  /** 'counts': colour by row share (confusion matrices); 'cosine': colour over the off-diagonal range (prototype cosines sit close together). */
  kind: 'counts' | 'cosine';
  rowAxis?: string;
  colAxis?: string;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function heatmap(spec: HeatmapSpec): string {
  const n = spec.colLabels.length;
  const cell = n <= 8 ? 34 : n <= 14 ? 26 : 18;
  const labelChars = Math.min(22, Math.max(...spec.rowLabels.map((l) => l.length), ...spec.colLabels.map((l) => l.length)));
  const labelW = 12 + labelChars * 6.2;
  const top = 28 + labelW * 0.75;
  const left = labelW + 18;
  // Rotated column labels reach right of the last column; the title needs its own width.
  const width = Math.max(left + n * cell + labelW * 0.7, spec.title.length * 7.2 + 8);
  const height = top + spec.rowLabels.length * cell + 24;
  const offDiagonal = spec.values.flatMap((row, r) => row.filter((_, c) => c !== r));
  const lo = Math.min(...offDiagonal);
  const hi = Math.max(...offDiagonal);
  const cells: string[] = [];
  spec.values.forEach((row, r) => {
    const rowTotal = row.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => {
      const t = spec.kind === 'counts' ? (rowTotal ? v / rowTotal : 0) : hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5;
      const color = spec.kind === 'counts' ? interpolateBlues(t) : interpolateYlOrRd(t);
      const dark = t > 0.55;
      const shown = spec.kind === 'counts' ? String(v) : v.toFixed(3);
      const tip = `${spec.rowLabels[r]} → ${spec.colLabels[c]}: ${shown}${spec.kind === 'counts' && rowTotal ? ` (${((100 * v) / rowTotal).toFixed(1)}% of row)` : ''}`;
      const x = left + c * cell;
      const y = top + r * cell;
      cells.push(
        `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${color}"><title>${escapeXml(tip)}</title></rect>` +
          (cell >= 26 ? `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" class="cell${dark ? ' on-dark' : ''}${spec.kind === 'cosine' ? ' small' : ''}">${spec.kind === 'counts' ? shown : v.toFixed(2)}</text>` : ''),
      );
    });
  });
  const rowLabels = spec.rowLabels.map(
    (l, r) => `<text x="${left - 6}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end"><title>${escapeXml(l)}</title>${escapeXml(clip(l, 22))}</text>`,
  );
  const colLabels = spec.colLabels.map((l, c) => {
    const x = left + c * cell + cell / 2;
    return `<text transform="translate(${x},${top - 6}) rotate(-45)"><title>${escapeXml(l)}</title>${escapeXml(clip(l, 22))}</text>`;
  });
  const axes =
    (spec.rowAxis ? `<text x="4" y="${top - 6}" class="axis-label">${escapeXml(spec.rowAxis)} ↓</text>` : '') +
    (spec.colAxis ? `<text x="${left + (n * cell) / 2}" y="${height - 6}" text-anchor="middle" class="axis-label">${escapeXml(spec.colAxis)} →</text>` : '');
  return `<svg class="heatmap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">
<text x="4" y="16" class="chart-title">${escapeXml(spec.title)}</text>${axes}
${rowLabels.join('')}${colLabels.join('')}${cells.join('')}</svg>`;
}

export function legend(series: Array<{ name: string; color: string; dashed?: boolean }>): string {
  return `<div class="legend">${series
    .map((s) => `<span><svg width="26" height="10"><line x1="0" x2="26" y1="5" y2="5" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/></svg>${escapeXml(s.name)}</span>`)
    .join('')}</div>`;
}
