// @vitest-environment happy-dom
// Scales that mean something: a colour bar on every heatmap, one colour per cosine at every layer,
// probabilities on a fixed 0–1 axis, and hidden concepts hidden in every chart.
import { describe, expect, it } from 'vitest';
import type { EvaluateReport, ExplainResult } from '../../common/protocol';
import { renderEvaluationHtml } from '../../engine/src/report/htmlReport';
import { PanelView } from '../../webview/src/panelView';
import { makeResult } from './resultFixture';

function panel(r: ExplainResult, scheme: 'diverging' | 'sequential' = 'diverging') {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const view = new PanelView(root, { exportChart: () => {}, exportResult: () => {}, viewChanged: () => {} });
  view.render(r, { heatmapScheme: scheme });
  // These tests look at the token matrix (the token text, the default view: tokenText.test.ts).
  root.querySelector<HTMLElement>('.token-view-toggle button[data-view="matrix"]')!.click();
  const chart = (id: string) => root.querySelector<SVGSVGElement>(`svg[data-chart="${id}"]`)!;
  const hide = (concept: string) => {
    const box = root.querySelector<HTMLElement & { checked: boolean }>(`.concept-toggle[data-concept="${concept}"]`)!;
    box.checked = false;
    box.dispatchEvent(new Event('change'));
  };
  return { root, view, chart, hide };
}

/** The bar's gradient must be in the same <svg> (an exported chart keeps it) and span the bar. */
function expectColorBar(svg: Element): void {
  const bar = svg.querySelector('g.color-bar')!;
  expect(bar, svg.getAttribute('aria-label') ?? '').not.toBeNull();
  const fill = bar.querySelector('rect')!.getAttribute('fill')!;
  const id = /^url\(#(.+)\)$/.exec(fill)![1];
  const stops = svg.querySelectorAll(`linearGradient[id="${id}"] stop`);
  expect(stops.length).toBeGreaterThan(2);
  expect([...stops].every((s) => /^(#|rgb)/.test(s.getAttribute('stop-color')!))).toBe(true);
  expect(bar.querySelectorAll('.tick text').length).toBeGreaterThanOrEqual(2);
  expect(bar.querySelector('.color-bar-label')!.textContent).not.toBe('');
}

const cellFill = (svg: SVGSVGElement, row: number, col: number, cols: number) =>
  svg.querySelectorAll('rect.cell')[row * cols + col].getAttribute('fill');

describe('heatmap colour scales', () => {
  it('draws a colour bar with its own gradient on every panel heatmap, unique ids across charts', () => {
    const { root } = panel(makeResult());
    const maps = root.querySelectorAll('svg.heatmap');
    expect(maps).toHaveLength(3);
    maps.forEach(expectColorBar);
    const ids = [...root.querySelectorAll('linearGradient')].map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ticks = [...maps[0].querySelectorAll('.color-bar .tick text')].map((t) => t.textContent);
    expect(ticks[0]).toBe('−1.0');
    expect(ticks.at(-1)).toBe('1.0');
  });

  it('states the sequential scheme\'s 0…1 domain on its bar', () => {
    const { chart } = panel(makeResult(), 'sequential');
    const bar = chart('prototypes').querySelector('.color-bar')!;
    expect(bar.querySelector('.color-bar-label')!.textContent).toContain('below 0');
    const ticks = [...bar.querySelectorAll('.tick text')].map((t) => t.textContent);
    expect([ticks[0], ticks.at(-1)]).toEqual(['0.0', '1.0']);
  });

  it('draws a colour bar on every heatmap of the HTML report (confusion and similarity)', () => {
    const r = makeResult();
    const confusion = r.concepts.map((_, a) => r.concepts.map((_, b) => (a === b ? 8 : 1)));
    const report: EvaluateReport = {
      bundle: r.bundle, dataset: 'fixture.csv', concepts: r.concepts, targetLayer: 4, bestLayer: 3,
      rows: { rowsRead: 0, rowsUsed: 0, rowsSkipped: 0, skipped: {}, truncated: 0 },
      perLayer: r.bankStats.map((s) => ({ layer: s.layer, accuracy: 0.5, macroF1: 0.5, sameConceptCos: 0, differentConceptCos: 0, gap: 0, silhouette: 0, samePairCos: 0, differentPairCos: 0 })),
      confusionBest: confusion, confusionTarget: confusion,
      prototypeSimilarityTarget: r.bankStats[4].prototypeSimilarity, safeConcepts: [], seconds: 1,
    };
    const doc = new DOMParser().parseFromString(renderEvaluationHtml([report]), 'text/html');
    const maps = doc.querySelectorAll('svg.heatmap');
    expect(maps).toHaveLength(3);
    maps.forEach(expectColorBar);
    expect(maps[0].querySelector('.color-bar-label')!.textContent).toBe('share of the row');
  });

  for (const scheme of ['diverging', 'sequential'] as const) {
    it(`gives one cosine one ${scheme} colour at two layers whose value ranges differ`, () => {
      const r = makeResult();
      // Layer 2's token scores span half the range of layer 4's; one cell holds 0.5 at both.
      const [k2, k4] = [r.tokenScoreLayers.indexOf(2), r.tokenScoreLayers.indexOf(4)];
      r.tokenScores[k2] = r.tokenScores[k2].map((row) => row.map((v) => v / 2));
      r.tokenScores[k2][1][0] = 0.5;
      r.tokenScores[k4][1][0] = 0.5;
      r.tokenScores[k4][2][1] = 0.9;
      const { view, chart } = panel(r, scheme);
      const C = r.concepts.length;
      const at4 = cellFill(chart('tokens'), 1, 0, C);
      const high = cellFill(chart('tokens'), 2, 1, C);
      view.setLayer(2);
      expect(cellFill(chart('tokens'), 1, 0, C)).toBe(at4);
      expect(at4).not.toBe(high);
    });
  }
});

describe('probability axis and hidden concepts', () => {
  const yTicks = (svg: SVGSVGElement) => [...svg.querySelectorAll('.y-axis .tick text')].map((t) => t.textContent);

  it('keeps the probability axis at 0–1 when the top concepts are hidden', () => {
    const r = makeResult({ layers: 2, target: 1 });
    const { chart, hide } = panel(r);
    expect([yTicks(chart('layers'))[0], yTicks(chart('layers')).at(-1)]).toEqual(['0.0', '1.0']);
    // Hide every concept that wins a layer (the headline's among them); the rest stay far below 1.
    const top = r.concepts.filter((_, c) => r.layers.some((l) => l.predicted === c));
    expect(top).toContain(r.headline.concept);
    for (const c of top) hide(c);
    const rest = r.concepts.flatMap((_, c) => (top.includes(r.concepts[c]) ? [] : r.layers.map((l) => l.probs[c])));
    expect(Math.max(...rest)).toBeLessThan(0.5);
    expect(chart('layers').querySelectorAll('.series')).toHaveLength(r.concepts.length - top.length);
    expect([yTicks(chart('layers'))[0], yTicks(chart('layers')).at(-1)]).toEqual(['0.0', '1.0']);
  });

  it('drops a hidden concept\'s columns (and prototype row) from every heatmap, tooltips still right', () => {
    const r = makeResult();
    const { root, chart, hide } = panel(r);
    hide('cooking');
    const shown = ['violence', 'finance', 'medicine'];
    for (const id of ['prototypes', 'layer-concept', 'tokens']) {
      expect([...chart(id).querySelectorAll('.col-axis .tick text')].map((t) => t.textContent), id).toEqual(shown);
    }
    expect(chart('prototypes').querySelectorAll('rect.cell')).toHaveLength(9);
    expect(chart('layer-concept').querySelectorAll('rect.cell')).toHaveLength(7 * 3);
    const cell = chart('tokens').querySelectorAll('rect.cell')[2 * 3 + 1];
    cell.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(root.querySelector('.tooltip')!.textContent).toBe(`token 2 “ tok2” · finance at layer 4: cosine ${r.tokenScores[4][2][2].toFixed(3)}`);
  });

  it('prints token values in the cells of a short prompt', () => {
    const r = makeResult({ tokens: 12 });
    const { chart } = panel(r);
    const texts = chart('tokens').querySelectorAll('text.cell-value');
    expect(texts).toHaveLength(12 * 4);
    expect(texts[5].textContent).toBe(r.tokenScores[4][1][1].toFixed(2));
  });
});

describe('layers where every concept scores alike', () => {
  it('fades those rows of the layer × concept heatmap and says why, in ranges', () => {
    const r = makeResult({ layers: 7 });
    for (const l of [0, 1, 2, 5]) r.layers[l].cosine = r.concepts.map((_, c) => 0.97 + 0.01 * c);
    const { root, chart, hide } = panel(r);
    const muted = [...chart('layer-concept').querySelectorAll('rect.cell.muted')];
    expect(muted).toHaveLength(4 * r.concepts.length);
    expect([...chart('layer-concept').querySelectorAll('.row-labels text.dim')].map((t) => t.textContent))
      .toEqual(['layer 0', 'layer 1', 'layer 2', 'layer 5']);
    expect(root.querySelector('section[data-chart="layer-concept"] .note')!.textContent).toContain('layers 0–2, 5 every concept');
    // One concept left: nothing to tell apart, nothing faded.
    for (const c of r.concepts.slice(1)) hide(c);
    expect(chart('layer-concept').querySelectorAll('rect.cell.muted')).toHaveLength(0);
    expect(root.querySelector('section[data-chart="layer-concept"] .note')).toBeNull();
  });
});

describe('the target-layer marker label', () => {
  // The e2e test at a 400 px panel found "target layer 6" of an 8-layer model cut off at the chart's right edge.
  it('is written to the left of the rule when the rule is in the right half, else to its right', async () => {
    const { lineChartMarkup } = await import('../../common/charts/lineChart');
    const label = (target: number) => {
      document.body.innerHTML = lineChartMarkup({ label: 'layers', xs: [0, 1, 2, 3, 4, 5, 6, 7, 8], series: [{ name: 'a', color: '#000', values: [0, 1, 2, 3, 4, 5, 6, 7, 8] }],
        marker: { x: target, label: `target layer ${target}` }, width: 400 });
      const text = document.querySelector('.marker-label')!;
      const rule = Number(document.querySelector('line.marker')!.getAttribute('x1'));
      return { anchor: text.getAttribute('text-anchor'), offset: Number(text.getAttribute('x')) - rule };
    };
    expect(label(6)).toEqual({ anchor: 'end', offset: -4 });
    expect(label(8)).toEqual({ anchor: 'end', offset: -4 });
    expect(label(2)).toEqual({ anchor: null, offset: 4 });
  });
});
