// SVG markup helpers shared by the panel (browser) and the HTML report (Node): plain strings, no DOM.

/** The one XML/HTML text and attribute escaper of the project. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number for a label or tooltip; a dash where there is no value. */
export const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export const SVG_NS = 'http://www.w3.org/2000/svg';

export interface Margins { top: number; right: number; bottom: number; left: number }

export interface SvgOptions {
  /** Extra class next to `chart` (e.g. `heatmap`), for styling and tests. */
  kind: string;
  /** data-chart: which chart this is, for the panel's export and tests. */
  chartId?: string;
  width: number;
  height: number;
  /** The accessible name (aria-label). */
  label: string;
  /** A title drawn inside the SVG (the report has no card header around its charts). */
  title?: string;
  /** The plotting area's offset: `body` is drawn inside a group translated by it. */
  margins: Margins;
  body: string;
}

/** A standalone <svg> (sizes in CSS pixels): presentation attributes only, nothing a strict CSP blocks. */
export function svgMarkup(o: SvgOptions): string {
  const id = o.chartId === undefined ? '' : ` data-chart="${escapeXml(o.chartId)}"`;
  const title = o.title === undefined ? '' : `<text class="chart-title" x="4" y="16">${escapeXml(o.title)}</text>`;
  return `<svg xmlns="${SVG_NS}" class="chart ${o.kind}"${id} width="${o.width}" height="${o.height}" ` +
    `viewBox="0 0 ${o.width} ${o.height}" role="img" aria-label="${escapeXml(o.label)}">${title}` +
    `<g transform="translate(${o.margins.left},${o.margins.top})">${o.body}</g></svg>`;
}

/** A native tooltip (the report has no script); the panel names values through its own tooltip instead. */
export const titleElement = (text: string): string => `<title>${escapeXml(text)}</title>`;
