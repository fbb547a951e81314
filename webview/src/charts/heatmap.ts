// The panel's heatmap: the shared markup, a tooltip resolver and in-place recolouring for the layer slider.
import type { HeatmapScheme } from '../../../common/protocol';
import { cosineScale, type FixedScale } from '../../../common/charts/colors';
import { type HeatmapSpec, cellValueClass, heatmapMarkup } from '../../../common/charts/heatmap';
import { fmt } from '../../../common/charts/markup';
import { mountSvg } from './mount';

export type CellTip = (row: number, col: number, v: number) => string;

export type PanelHeatmapSpec = Omit<HeatmapSpec, 'color' | 'legend' | 'tip' | 'nativeTips' | 'title'> & {
  chartId: string;
  /** Tooltip text of a cell, built on hover only. */
  tip: CellTip;
} & ({ scheme: HeatmapScheme } | {
  /** A scale of its own instead of the cosine scale (the compare view's differences). */
  scale: FixedScale;
});

export interface Heatmap {
  svg: SVGSVGElement;
  /** The tooltip text of a hovered cell (cells carry no per-cell strings: 14,000 of them would be slow). */
  tipFor: (el: Element) => string | null;
  /** Recolours the same cells with new values of the same shape (the layer slider): no DOM rebuild. */
  update: (values: number[][], tip: CellTip, label: string) => void;
}

export function renderHeatmap(parent: HTMLElement, spec: PanelHeatmapSpec): Heatmap {
  // A fixed domain: recolouring for another layer keeps one colour per cosine.
  const scale = 'scale' in spec ? spec.scale : cosineScale(spec.scheme);
  const svg = mountSvg(parent, heatmapMarkup({ ...spec, color: scale.color, legend: scale.legend }));
  const cells = svg.querySelector('g.cells')!;
  const valueTexts = svg.querySelector('g.cell-values')!;
  const nCols = spec.cols.length;
  let { values, tip } = spec;
  const tipFor = (el: Element): string | null => {
    if (el.parentNode !== cells) return null;
    const i = Array.prototype.indexOf.call(cells.children, el) as number;
    const r = Math.floor(i / nCols);
    const c = i % nCols;
    return tip(r, c, values[r][c]);
  };
  const update = (next: number[][], nextTip: CellTip, label: string): void => {
    values = next;
    tip = nextTip;
    svg.setAttribute('aria-label', label);
    const rectEls = cells.children;
    const textEls = valueTexts.children;
    for (let r = 0; r < next.length; r++) {
      for (let c = 0; c < nCols; c++) {
        const i = r * nCols + c;
        const { fill, dark } = scale.color(next[r][c]);
        rectEls[i].setAttribute('fill', fill);
        if (textEls.length > 0) {
          if (!spec.mutedRows?.has(r)) textEls[i].setAttribute('class', cellValueClass(dark));
          textEls[i].textContent = fmt(next[r][c], 2);
        }
      }
    }
  };
  return { svg, tipFor, update };
}
