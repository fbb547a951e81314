// A line chart over layers as SVG markup: the panel mounts it and adds its tooltip, the report inlines it.
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { bottomAxis, leftAxis } from './axis';
import { escapeXml, fmt, svgMarkup, titleElement } from './markup';

export interface Series {
  name: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

export interface LineChartSpec {
  chartId?: string;
  /** The accessible name. */
  label: string;
  /** A title drawn inside the chart. */
  title?: string;
  /** x positions (layers), one per value. */
  xs: number[];
  series: Series[];
  /** x value marked with a vertical rule (the target layer). */
  marker?: { x: number; label: string };
  /** Horizontal reference lines (e.g. chance, a baseline's accuracy), dotted and labelled inside the plot. */
  references?: Array<{ y: number; label: string }>;
  /** Fixed y range; otherwise fitted to the data, with 0 included unless includeZero is false. */
  yDomain?: [number, number];
  includeZero?: boolean;
  yLabel?: string;
  width: number;
  height?: number;
  /** Point values as <title> elements (a page without script) instead of data-tip (the panel's tooltip). */
  nativeTips?: boolean;
}

/** The exact value of one point, as its tooltip shows it. */
export const pointTip = (series: string, layer: number, v: number): string => `${series} · layer ${layer}: ${fmt(v)}`;

/** One line and one dot per point; each dot carries its exact value. */
export function lineChartMarkup(spec: LineChartSpec): string {
  const height = spec.height ?? 260;
  const m = { top: spec.title === undefined ? 16 : 38, right: 16, bottom: 40, left: 52 };
  const w = spec.width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xMin = Math.min(...spec.xs);
  const xMax = Math.max(...spec.xs);
  const x = scaleLinear().domain([xMin, xMax === xMin ? xMin + 1 : xMax]).range([0, w]);
  const finite = spec.series.flatMap((s) => s.values.filter(Number.isFinite));
  const references = (spec.references ?? []).filter((r) => Number.isFinite(r.y));
  const fitted = [...(spec.includeZero === false ? [] : [0]), ...finite, ...references.map((r) => r.y)];
  const [lo, hi] = spec.yDomain ?? [Math.min(...fitted), Math.max(...fitted)];
  const y = scaleLinear().domain([lo, hi > lo ? hi : lo + 1]).nice().range([h, 0]);
  const yTicks = y.ticks(5);
  const yFormat = y.tickFormat(5);

  const parts = [
    `<g class="grid">${yTicks.map((t) => `<line x2="${w}" y1="${y(t)}" y2="${y(t)}" stroke="currentColor"/>`).join('')}</g>`,
    bottomAxis('x-axis', h, w, spec.xs.map((l) => ({ at: x(l), label: String(l) }))),
    leftAxis('y-axis', h, yTicks.map((t) => ({ at: y(t), label: yFormat(t) }))),
    `<text class="axis-label" x="${w / 2}" y="${h + 34}" text-anchor="middle">layer</text>`,
  ];
  if (spec.yLabel) parts.push(`<text class="axis-label" transform="rotate(-90)" x="${-h / 2}" y="-40" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  if (spec.marker) {
    const mx = x(spec.marker.x);
    // Beside the rule on the side with more room: a target layer near the last one (6 of 8) would push a label
    // written to its right past the chart's edge.
    const label = mx > w / 2 ? `x="${mx - 4}" text-anchor="end"` : `x="${mx + 4}"`;
    parts.push(`<line class="marker" x1="${mx}" x2="${mx}" y1="0" y2="${h}" stroke="currentColor"/>`,
      `<text class="marker-label" ${label} y="-4">${escapeXml(spec.marker.label)}</text>`);
  }
  // Labels alternate between the right and the left end so that two close lines stay readable.
  references.forEach((r, i) => {
    const ry = y(r.y);
    const right = i % 2 === 0;
    const tip = `${r.label}: ${fmt(r.y)}`;
    parts.push(`<g class="reference"${spec.nativeTips ? '' : ` data-tip="${escapeXml(tip)}"`}>${spec.nativeTips ? titleElement(tip) : ''}` +
      `<line x1="0" x2="${w}" y1="${ry}" y2="${ry}" stroke="currentColor" stroke-opacity="0.7" stroke-dasharray="1 3"/>` +
      `<text class="reference-label" x="${right ? w - 2 : 2}" y="${ry - 3}" text-anchor="${right ? 'end' : 'start'}">${escapeXml(r.label)}</text></g>`);
  });
  const path = line<number>().x((_, i) => x(spec.xs[i])).y((v) => y(v)).defined(Number.isFinite);
  for (const s of spec.series) {
    const dots = s.values.flatMap((v, i) => {
      if (!Number.isFinite(v)) return [];
      const tip = pointTip(s.name, spec.xs[i], v);
      const common = `class="dot" cx="${x(spec.xs[i])}" cy="${y(v)}" r="3.5" fill="${s.color}"`;
      return [spec.nativeTips ? `<circle ${common}>${titleElement(tip)}</circle>` : `<circle ${common} data-tip="${escapeXml(tip)}"/>`];
    });
    parts.push(`<g class="series" data-series="${escapeXml(s.name)}">` +
      `<path class="line" d="${path(s.values) ?? ''}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
      `${dots.join('')}</g>`);
  }
  return svgMarkup({ kind: 'line-chart', chartId: spec.chartId, width: spec.width, height, label: spec.label, title: spec.title, margins: m, body: parts.join('') });
}
