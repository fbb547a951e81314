// The colour vocabulary of every chart: series colours and the heatmap cell scales, the same in the
// panel and the HTML report (d3-scale-chromatic computes the colours; nothing here touches a DOM).
import { interpolateBlues, interpolateRdBu, interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';
import type { HeatmapScheme } from '../protocol';

/**
 * Ten more series colours after Tableau10's, so a bank of up to 20 concepts (the default's corpus 2 has 12; users'
 * banks more) never shows two concepts in one colour. Chosen once, greedily, among HCL colours with at least 3:1
 * contrast on both a white and a #1e1e1e editor background: each the farthest (CIELAB) from every colour before it.
 * test/webview/seriesColors.test.ts checks those properties.
 */
const MORE_SERIES = ['#8161e8', '#d7249b', '#7a7b00', '#3085f5', '#a55ab4', '#a36a16', '#d65586', '#00a481', '#9487d9', '#41a511'];
const SERIES = [...schemeTableau10, ...MORE_SERIES];

/** One stable colour per series (a concept, a run), readable on light, dark and high-contrast themes; 20 distinct. */
export const seriesColor = (i: number): string => SERIES[i % SERIES.length];

export interface CellColor {
  fill: string;
  /** Whether text on this fill should be light. */
  dark: boolean;
}

/** A cell's colour from its value and position (a row share needs the row). */
export type CellColorScale = (v: number, row: number, col: number) => CellColor;

/** What a colour bar draws: the ramp, the domain it spans and what the values are. */
export interface ColorLegend {
  /** The bar's caption, which also states the domain's meaning (e.g. values clamped at an end). */
  label: string;
  domain: [number, number];
  interpolate: (t: number) => string;
}

/** A scale with a fixed domain, so one value has one colour whatever else is on screen (the layer slider). */
export interface FixedScale {
  color: (v: number) => CellColor;
  legend: ColorLegend;
}

const STEPS = 256;
const MISSING: CellColor = { fill: 'transparent', dark: false };

/**
 * The legend's ramp over its domain, quantized to 256 precomputed colours (a 2,000-token heatmap has
 * 14,000 cells); values outside the domain take the end colours, non-finite ones no colour.
 */
function quantized(legend: ColorLegend): FixedScale {
  const palette = Array.from({ length: STEPS }, (_, i): CellColor => {
    const fill = legend.interpolate(i / (STEPS - 1));
    return { fill, dark: isDark(fill) };
  });
  const [lo, hi] = legend.domain;
  const span = hi - lo;
  const color = (v: number): CellColor =>
    Number.isFinite(v) ? palette[Math.max(0, Math.min(STEPS - 1, Math.round(((v - lo) / span) * (STEPS - 1))))] : MISSING;
  return { color, legend };
}

/** Blue (−1) – neutral (0) – red (+1). */
const DIVERGING = quantized({ label: 'cosine', domain: [-1, 1], interpolate: (t) => interpolateRdBu(1 - t) });
/** Viridis over 0…1: cosines between concept directions are mostly positive, so the ramp is spent there. */
const SEQUENTIAL = quantized({ label: 'cosine (below 0 as 0)', domain: [0, 1], interpolate: interpolateViridis });
const ROW_SHARE = quantized({ label: 'share of the row', domain: [0, 1], interpolate: interpolateBlues });

/**
 * The cosine colours of every heatmap, over a fixed domain: diverging over −1…1, sequential (viridis)
 * over 0…1 with negative cosines at its low end. The same cosine has the same colour at every layer.
 */
export const cosineScale = (scheme: HeatmapScheme): FixedScale => (scheme === 'diverging' ? DIVERGING : SEQUENTIAL);

/**
 * Differences (the compare view: B − A) on the diverging ramp, centred on 0 and symmetric: ±`span`, so that
 * the same change has the same colour whichever side it goes, and small changes are not lost in ±1.
 */
export const differenceScale = (label: string, span: number): FixedScale =>
  quantized({ label, domain: [-span, span], interpolate: (t) => interpolateRdBu(1 - t) });

/** Count colours by share of the row (confusion matrices: rows are the true class). */
export function rowShareScale(values: number[][]): { color: CellColorScale; legend: ColorLegend } {
  const totals = values.map((row) => row.reduce((a, b) => a + b, 0));
  return { color: (v, row) => ROW_SHARE.color(totals[row] ? v / totals[row] : 0), legend: ROW_SHARE.legend };
}

/** Whether text on this colour should be light. d3's interpolators give `rgb(r, g, b)` (RdBu, Blues) or `#rrggbb` (viridis, Tableau10). */
export function isDark(color: string): boolean {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  const rgb = hex ? hex.slice(1).map((h) => parseInt(h, 16)) : color.match(/\d+(\.\d+)?/g)?.map(Number);
  if (!rgb || rgb.length < 3) return false;
  const [r, g, b] = rgb;
  return 0.299 * r + 0.587 * g + 0.114 * b <= 140;
}
