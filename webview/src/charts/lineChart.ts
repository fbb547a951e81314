import { axisBottom, axisLeft } from 'd3-axis';
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { fmt } from '../format';
import { createSvg } from './svg';

export interface Series {
  name: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

export interface LineChartSpec {
  chartId: string;
  label: string;
  xs: number[];
  series: Series[];
  /** x value marked with a vertical rule (the target layer). */
  marker?: { x: number; label: string };
  yDomain?: [number, number];
  yLabel: string;
  width: number;
  height?: number;
}

/** A line chart with layers on x: one line and one dot per point; each dot carries its exact value. */
export function renderLineChart(parent: HTMLElement, spec: LineChartSpec): SVGSVGElement {
  const height = spec.height ?? 260;
  const m = { top: 16, right: 16, bottom: 40, left: 52 };
  const w = spec.width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const { svg, plot } = createSvg(parent, spec.chartId, spec.width, height, m, spec.label);
  const xMin = Math.min(...spec.xs);
  const xMax = Math.max(...spec.xs);
  const x = scaleLinear().domain([xMin, xMax === xMin ? xMin + 1 : xMax]).range([0, w]);
  const all = spec.series.flatMap((s) => s.values).filter(Number.isFinite);
  const y = scaleLinear()
    .domain(spec.yDomain ?? [Math.min(0, ...all), Math.max(...all, 0.01)])
    .nice()
    .range([h, 0]);

  plot.append('g').attr('class', 'grid').call(axisLeft(y).ticks(5).tickSize(-w).tickFormat(() => ''));
  plot.append('g').attr('class', 'axis x-axis').attr('transform', `translate(0,${h})`)
    .call(axisBottom(x).tickValues(spec.xs).tickFormat((d) => String(d)));
  plot.append('g').attr('class', 'axis y-axis').call(axisLeft(y).ticks(5));
  plot.append('text').attr('class', 'axis-label').attr('x', w / 2).attr('y', h + 34)
    .attr('text-anchor', 'middle').text('layer');
  plot.append('text').attr('class', 'axis-label').attr('transform', 'rotate(-90)')
    .attr('x', -h / 2).attr('y', -40).attr('text-anchor', 'middle').text(spec.yLabel);

  if (spec.marker) {
    const mx = x(spec.marker.x);
    plot.append('line').attr('class', 'marker').attr('x1', mx).attr('x2', mx).attr('y1', 0).attr('y2', h);
    plot.append('text').attr('class', 'marker-label').attr('x', mx + 4).attr('y', -4).text(spec.marker.label);
  }

  const path = line<number>().x((_, i) => x(spec.xs[i])).y((v) => y(v)).defined(Number.isFinite);
  for (const s of spec.series) {
    const g = plot.append('g').attr('class', 'series').attr('data-series', s.name);
    g.append('path').attr('class', 'line').attr('d', path(s.values)).attr('stroke', s.color)
      .attr('stroke-dasharray', s.dashed ? '5 3' : null);
    g.selectAll('circle').data(s.values).join('circle').attr('class', 'dot')
      .attr('cx', (_, i) => x(spec.xs[i])).attr('cy', (v) => y(v)).attr('r', 3.5).attr('fill', s.color)
      .attr('data-tip', (v, i) => `${s.name} · layer ${spec.xs[i]}: ${fmt(v)}`);
  }
  return svg.node()!;
}
