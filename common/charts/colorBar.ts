// The colour bar of every heatmap: the scale's ramp as an SVG gradient, with ticks and a caption.
// The gradient lives inside each chart's own <svg>, so an exported chart keeps its scale.
import { scaleLinear } from 'd3-scale';
import { bottomAxis } from './axis';
import type { ColorLegend } from './colors';
import { escapeXml } from './markup';

/** Height the bar takes: caption, bar and tick labels. */
export const COLOR_BAR_HEIGHT = 46;
const BAR_HEIGHT = 10;
const CAPTION_HEIGHT = 14;
const STOPS = 16;

// Gradient ids must be unique in a page that holds several charts (the report, the panel).
let gradients = 0;

/** The bar as a group whose top-left corner is at (x, y), `width` px wide. */
export function colorBarMarkup(legend: ColorLegend, x: number, y: number, width: number): string {
  const id = `seer-color-bar-${++gradients}`;
  const stops = Array.from({ length: STOPS }, (_, i) => {
    const t = i / (STOPS - 1);
    return `<stop offset="${(100 * t).toFixed(1)}%" stop-color="${legend.interpolate(t)}"/>`;
  });
  const at = scaleLinear().domain(legend.domain).range([0, width]);
  const ticks = at.ticks(4).map((v) => ({ at: at(v), label: at.tickFormat(4)(v).replace('-', '−') }));
  const [lo, hi] = legend.domain;
  return `<g class="color-bar" transform="translate(${x},${y})" aria-label="${escapeXml(`colour scale: ${legend.label}, ${lo} to ${hi}`)}">` +
    `<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">${stops.join('')}</linearGradient></defs>` +
    `<text class="color-bar-label" x="0" y="${CAPTION_HEIGHT - 4}">${escapeXml(legend.label)}</text>` +
    `<rect x="0" y="${CAPTION_HEIGHT}" width="${width}" height="${BAR_HEIGHT}" fill="url(#${id})"/>` +
    bottomAxis('color-bar-axis', CAPTION_HEIGHT + BAR_HEIGHT, width, ticks) + '</g>';
}
