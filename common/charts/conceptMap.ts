// The 2-D concept map as SVG markup (a scatter of the bank's calibration examples, coloured by concept, with
// the prompt marked): the panel mounts it and adds its tooltip, the HTML report inlines it (one per bundle).
// Colours are presentation attributes (concept colours from colors.ts, outlines in currentColor), so the
// chart reads the same in every theme and exports as it looks.
import type { ConceptMapView } from '../protocol';
import { seriesColor } from './colors';
import { escapeXml, fmt, svgMarkup, titleElement } from './markup';

export interface ConceptMapSpec {
  chartId?: string;
  /** The accessible name. */
  label: string;
  /** A title drawn inside the chart (the report). */
  title?: string;
  map: ConceptMapView;
  /** The bank's concepts: a point's concept indexes this list, and picks its colour. */
  concepts: string[];
  /** Concepts whose points are left out (the panel's toggles). */
  hidden?: ReadonlySet<string>;
  width: number;
  /** Point texts as <title> elements (a page without script) instead of data-tip (the panel's tooltip). */
  nativeTips?: boolean;
}

const LEGEND_ROW = 18;
const POINT_RADIUS = 3.5;

/** The tooltip of one example. */
export const mapPointTip = (concept: string, text: string): string => `${concept}: ${text}`;

/** Square plot (the axes of a UMAP share one scale), a concept legend below it, the prompt on top. */
export function conceptMapMarkup(spec: ConceptMapSpec): string {
  const { map, concepts } = spec;
  const size = Math.max(120, Math.min(spec.width - 24, 440));
  const legend = legendLayout(concepts, size);
  const m = { top: spec.title === undefined ? 12 : 34, right: 12, bottom: 22 + legend.rows * LEGEND_ROW, left: 12 };
  const height = size + m.top + m.bottom;
  const at = (v: number): number => 8 + v * (size - 16);
  const tip = (text: string): [string, string] => (spec.nativeTips ? ['', titleElement(text)] : [` data-tip="${escapeXml(text)}"`, '']);

  const parts = [`<rect class="map-frame" width="${size}" height="${size}" fill="none" stroke="currentColor" stroke-opacity="0.3"/>`];
  const shown = map.points.concept.flatMap((c, i) => (spec.hidden?.has(concepts[c]) ? [] : [i]));
  const prompt = map.prompt;
  if (prompt) {
    // Lines to the examples that placed the prompt: where it sits, and why.
    const lines = prompt.neighbours.filter((i) => shown.includes(i))
      .map((i) => `<line x1="${at(prompt.x)}" y1="${at(1 - prompt.y)}" x2="${at(map.points.x[i])}" y2="${at(1 - map.points.y[i])}"/>`);
    parts.push(`<g class="map-neighbours" stroke="currentColor" stroke-opacity="0.5" stroke-dasharray="2 2">${lines.join('')}</g>`);
  }
  const dots = shown.map((i) => {
    const c = map.points.concept[i];
    const [attr, title] = tip(mapPointTip(concepts[c], map.points.text[i]));
    return `<circle class="map-point" data-concept="${escapeXml(concepts[c])}" cx="${at(map.points.x[i])}" cy="${at(1 - map.points.y[i])}" r="${POINT_RADIUS}" ` +
      `fill="${seriesColor(c)}" stroke="currentColor" stroke-opacity="0.45" stroke-width="0.6"${attr}>${title}</circle>`;
  });
  parts.push(`<g class="map-points">${dots.join('')}</g>`);
  if (prompt) {
    const x = at(prompt.x);
    const y = at(1 - prompt.y);
    const [attr, title] = tip(`this prompt: nearest example at cosine ${fmt(prompt.nearestCosine)}`);
    const right = x < size - 70;
    parts.push(`<g class="prompt-marker" transform="translate(${x},${y})"${attr}>${title}` +
      '<circle r="8" fill="none" stroke="currentColor" stroke-width="2.5"/><path d="M-5,0H5M0,-5V5" stroke="currentColor" stroke-width="2.5"/>' +
      `<text class="prompt-label" x="${right ? 12 : -12}" y="4" text-anchor="${right ? 'start' : 'end'}" font-weight="700">prompt</text></g>`);
  }
  parts.push(`<text class="axis-label" x="${size / 2}" y="${size + 16}" text-anchor="middle">UMAP of layer ${map.layer} (axes have no units; near = similar)</text>`);
  legend.items.forEach(({ x, row }, c) => {
    const y = size + 22 + row * LEGEND_ROW;
    parts.push(`<g class="map-legend-item" transform="translate(${x},${y})"><circle cx="5" cy="8" r="${POINT_RADIUS + 1}" fill="${seriesColor(c)}" ` +
      `stroke="currentColor" stroke-opacity="0.45"/><text x="14" y="12">${escapeXml(shortName(concepts[c]))}</text></g>`);
  });
  return svgMarkup({ kind: 'concept-map', chartId: spec.chartId, width: size + m.left + m.right, height, label: spec.label, title: spec.title, margins: m, body: parts.join('') });
}

const LEGEND_CHARS = 40;
const shortName = (name: string): string => (name.length > LEGEND_CHARS ? `${name.slice(0, LEGEND_CHARS - 1)}…` : name);

/** Legend entries flowed left to right into rows of `width` px (7 px per character at 11 px: wide fonts such as DejaVu Sans need it). */
function legendLayout(concepts: string[], width: number): { items: Array<{ x: number; row: number }>; rows: number } {
  let x = 0;
  let row = 0;
  const items = concepts.map((name) => {
    const w = 24 + shortName(name).length * 7;
    if (x > 0 && x + w > width) {
      x = 0;
      row++;
    }
    const item = { x, row };
    x += w;
    return item;
  });
  return { items, rows: concepts.length ? row + 1 : 0 };
}
