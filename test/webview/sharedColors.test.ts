// @vitest-environment happy-dom
// The panel and the HTML evaluation report colour cosines with one scale: the same matrix, the same colours.
import { describe, expect, it } from 'vitest';
import type { EvaluateReport, ExplainResult, HeatmapScheme } from '../../common/protocol';
import { renderEvaluationHtml } from '../../engine/src/report/htmlReport';
import { PanelView } from '../../webview/src/panelView';
import { makeResult } from './resultFixture';

/** An evaluation of the explained result's concepts whose prototype similarity is the bank's at the target layer. */
function reportOf(r: ExplainResult): EvaluateReport {
  const zeros = r.concepts.map(() => r.concepts.map(() => 0));
  return {
    bundle: r.bundle,
    dataset: 'fixture.csv',
    concepts: r.concepts,
    targetLayer: r.targetLayer,
    bestLayer: r.targetLayer,
    rows: { rowsRead: 0, rowsUsed: 0, rowsSkipped: 0, skipped: {}, truncated: 0 },
    perLayer: r.bankStats.map((s) => ({
      layer: s.layer, accuracy: 0.5, macroF1: 0.5, sameConceptCos: s.sameConceptCos, differentConceptCos: s.differentConceptCos,
      gap: s.gap, silhouette: 0, samePairCos: 0, differentPairCos: 0,
    })),
    confusionBest: zeros,
    confusionTarget: zeros,
    prototypeSimilarityTarget: r.bankStats.find((s) => s.layer === r.targetLayer)!.prototypeSimilarity,
    safeConcepts: [],
    seconds: 1,
  };
}

function panelFills(r: ExplainResult, scheme: HeatmapScheme): string[] {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const view = new PanelView(root, { exportChart: () => {}, exportResult: () => {}, viewChanged: () => {} });
  view.render(r, { heatmapScheme: scheme });
  return [...root.querySelectorAll('svg[data-chart="prototypes"] rect.cell')].map((c) => c.getAttribute('fill')!);
}

function reportFills(r: ExplainResult, scheme: HeatmapScheme): string[] {
  const doc = new DOMParser().parseFromString(renderEvaluationHtml([reportOf(r)], { heatmapScheme: scheme }), 'text/html');
  const similarity = [...doc.querySelectorAll('svg.heatmap')].find((s) => s.getAttribute('aria-label')?.startsWith('Prototype similarity'))!;
  return [...similarity.querySelectorAll('rect.cell')].map((c) => c.getAttribute('fill')!);
}

describe('one cosine colour scale', () => {
  for (const scheme of ['diverging', 'sequential'] as const) {
    it(`gives a cosine of 0.5 the same ${scheme} colour in the panel and in the report`, () => {
      const r = makeResult();
      const similarity = r.bankStats.find((s) => s.layer === r.targetLayer)!.prototypeSimilarity;
      similarity[0][1] = 0.5;
      similarity[1][0] = -0.2;
      const panel = panelFills(r, scheme);
      const report = reportFills(r, scheme);
      expect(panel).toHaveLength(r.concepts.length ** 2);
      expect(report).toEqual(panel);
      // The 0.5 cell is coloured, and not like its neighbours of other values.
      expect(panel[1]).toMatch(/^(#|rgb)/);
      expect(panel[1]).not.toBe(panel[0]);
      expect(panel[1]).not.toBe(panel[r.concepts.length]);
    });
  }

  it('writes light text on the dark end of viridis (its colours are hex, not rgb())', () => {
    const r = makeResult();
    const similarity = r.bankStats.find((s) => s.layer === r.targetLayer)!.prototypeSimilarity;
    const lowest = similarity.flat().indexOf(Math.min(...similarity.flat()));
    document.body.innerHTML = '<main id="root"></main>';
    const root = document.getElementById('root')!;
    new PanelView(root, { exportChart: () => {}, exportResult: () => {}, viewChanged: () => {} }).render(r, { heatmapScheme: 'sequential' });
    const texts = root.querySelectorAll('svg[data-chart="prototypes"] text.cell-value');
    expect(texts[lowest].getAttribute('class')).toContain('on-dark');
    expect(texts[similarity.length + 1].getAttribute('class')).toContain('on-light'); // a diagonal 1: yellow
  });
});
