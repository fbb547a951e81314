// The colour vocabulary of every chart: series colours and the heatmap cell scales, the same in the
// panel and the HTML report (d3-scale-chromatic computes the colours; nothing here touches a DOM).
import { extent } from 'd3-array';
import { interpolateBlues, interpolateRdBu, interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';
import type { HeatmapScheme } from '../protocol';

/** One stable colour per series (a concept, a run), readable on light, dark and high-contrast themes. */
export const seriesColor = (i: number): string => schemeTableau10[i % schemeTableau10.length];

export interface CellColor {
  fill: string;
  /** Whether text on this fill should be light. */
  dark: boolean;
}

/** A cell's colour from its value and position (a row share needs the row). */
export type CellColorScale = (v: number, row: number, col: number) => CellColor;

const STEPS = 256;
const MISSING: CellColor = { fill: 'transparent', dark: false };

/**
 * `interpolate` over [lo, hi], quantized to 256 precomputed colours (a 2,000-token heatmap has 14,000
 * cells); values outside the domain take the end colours, non-finite ones no colour.
 */
function quantized(interpolate: (t: number) => string, lo: number, hi: number): (v: number) => CellColor {
  const palette = Array.from({ length: STEPS }, (_, i): CellColor => {
    const fill = interpolate(i / (STEPS - 1));
    return { fill, dark: isDark(fill) };
  });
  const span = hi > lo ? hi - lo : 1e-6;
  return (v) => (Number.isFinite(v) ? palette[Math.max(0, Math.min(STEPS - 1, Math.round(((v - lo) / span) * (STEPS - 1))))] : MISSING);
}

/**
 * Cosine colours for a set of values. Diverging: blue (negative) – neutral (0) – red (positive) over a
 * domain symmetric around 0; sequential: viridis over the values' own range, which shows small
 * differences better.
 */
export function cosineScale(values: number[], scheme: HeatmapScheme): (v: number) => CellColor {
  const [min = -1, max = 1] = extent(values.filter(Number.isFinite));
  if (scheme === 'diverging') {
    const hi = Math.max(Math.abs(min), Math.abs(max), 1e-6);
    return quantized((t) => interpolateRdBu(1 - t), -hi, hi);
  }
  return quantized(interpolateViridis, min, max);
}

/** Count colours by share of the row (confusion matrices: rows are the true class). */
export function rowShareScale(values: number[][]): CellColorScale {
  const share = quantized(interpolateBlues, 0, 1);
  const totals = values.map((row) => row.reduce((a, b) => a + b, 0));
  return (v, row) => share(totals[row] ? v / totals[row] : 0);
}

/** d3's interpolators give `rgb(r, g, b)` (RdBu, Blues) or `#rrggbb` (viridis). */
function isDark(color: string): boolean {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  const rgb = hex ? hex.slice(1).map((h) => parseInt(h, 16)) : color.match(/\d+(\.\d+)?/g)?.map(Number);
  if (!rgb || rgb.length < 3) return false;
  const [r, g, b] = rgb;
  return 0.299 * r + 0.587 * g + 0.114 * b <= 140;
}
