import { select, type Selection } from 'd3-selection';

export const SVG_NS = 'http://www.w3.org/2000/svg';

export interface Margins { top: number; right: number; bottom: number; left: number }

/** A fresh <svg> with a plotting group translated by the margins; sizes are in CSS pixels. */
export function createSvg(
  parent: HTMLElement, chartId: string, width: number, height: number, m: Margins, label: string,
): { svg: Selection<SVGSVGElement, unknown, null, undefined>; plot: Selection<SVGGElement, unknown, null, undefined> } {
  const svg = select(parent)
    .append('svg')
    .attr('xmlns', SVG_NS)
    .attr('class', 'chart')
    .attr('data-chart', chartId)
    .attr('width', width)
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('role', 'img')
    .attr('aria-label', label);
  const plot = svg.append('g').attr('transform', `translate(${m.left},${m.top})`);
  return { svg, plot };
}
