// Axes as markup, in the structure d3-axis draws (g.tick > line + text), so one stylesheet fits both renderers.
import { escapeXml } from './markup';

export interface Tick { at: number; label: string }

const tick = (transform: string, line: string, text: string) =>
  `<g class="tick" transform="${transform}"><line stroke="currentColor" ${line}/>${text}</g>`;

/** An axis below a plot of the given width (`at` in px from the left). */
export function bottomAxis(cls: string, y: number, width: number, ticks: Tick[]): string {
  const marks = ticks.map((t) => tick(`translate(${t.at},0)`, 'y2="6"', `<text y="9" dy="0.71em" text-anchor="middle">${escapeXml(t.label)}</text>`));
  return `<g class="axis ${cls}" transform="translate(0,${y})"><path class="domain" fill="none" stroke="currentColor" d="M0,6V0H${width}V6"/>${marks.join('')}</g>`;
}

/** An axis left of a plot of the given height (`at` in px from the top). */
export function leftAxis(cls: string, height: number, ticks: Tick[]): string {
  const marks = ticks.map((t) => tick(`translate(0,${t.at})`, 'x2="-6"', `<text x="-9" dy="0.32em" text-anchor="end">${escapeXml(t.label)}</text>`));
  return `<g class="axis ${cls}"><path class="domain" fill="none" stroke="currentColor" d="M-6,${height}H0V0H-6"/>${marks.join('')}</g>`;
}

/** An axis above a plot with labels rotated upwards (long concept names stay readable in narrow columns). */
export function topAxis(cls: string, width: number, ticks: Tick[], angle: number): string {
  const marks = ticks.map((t) => tick(`translate(${t.at},0)`, 'y2="-6"',
    `<text y="-9" dx="0.3em" text-anchor="start" transform="rotate(${-angle})">${escapeXml(t.label)}</text>`));
  return `<g class="axis ${cls}"><path class="domain" fill="none" stroke="currentColor" d="M0,-6V0H${width}V-6"/>${marks.join('')}</g>`;
}
