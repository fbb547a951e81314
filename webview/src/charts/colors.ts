import { extent } from 'd3-array';
import { scaleDiverging, scaleSequential } from 'd3-scale';
import { interpolateRdBu, interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';
import type { HeatmapScheme } from '../../../common/protocol';

/** One stable colour per concept (index), readable on light, dark and high-contrast themes. */
export const conceptColor = (i: number): string => schemeTableau10[i % schemeTableau10.length];

export interface CellColor {
  fill: string;
  /** Whether text on this fill should be light. */
  dark: boolean;
}

const STEPS = 256;

/**
 * Cosine colour scale, quantized to 256 precomputed colours (a 2,000-token heatmap has 14,000 cells).
 * Diverging: blue (negative) – neutral (0) – red (positive) over a symmetric domain; sequential:
 * viridis over the data's own range, which shows small differences better.
 */
export function cosineScale(values: number[], scheme: HeatmapScheme): (v: number) => CellColor {
  const [min = -1, max = 1] = extent(values.filter(Number.isFinite));
  let lo: number;
  let hi: number;
  let scale: (v: number) => string;
  if (scheme === 'diverging') {
    hi = Math.max(Math.abs(min), Math.abs(max), 1e-6);
    lo = -hi;
    scale = scaleDiverging((t: number) => interpolateRdBu(1 - t)).domain([lo, 0, hi]);
  } else {
    lo = min;
    hi = max > min ? max : min + 1e-6;
    scale = scaleSequential(interpolateViridis).domain([lo, hi]);
  }
  const palette: CellColor[] = Array.from({ length: STEPS }, (_, i) => {
    const fill = scale(lo + ((hi - lo) * i) / (STEPS - 1));
    return { fill, dark: isDark(fill) };
  });
  const missing: CellColor = { fill: 'transparent', dark: false };
  return (v) => (Number.isFinite(v) ? palette[Math.max(0, Math.min(STEPS - 1, Math.round(((v - lo) / (hi - lo)) * (STEPS - 1))))] : missing);
}

function isDark(color: string): boolean {
  const m = color.match(/\d+(\.\d+)?/g);
  if (!m || m.length < 3) return false;
  const [r, g, b] = m.slice(0, 3).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b <= 140;
}
