// @vitest-environment happy-dom
// The concept map card: a map computed by the real calibration code (on the synthetic model), placed for a
// prompt by the real placement, rendered by the panel; and the card's messages when there is no map.
import { describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { ChartId, ConceptMapView } from '../../common/protocol';
import { conceptMapMarkup } from '../../common/charts/conceptMap';
import { seriesColor } from '../../common/charts/colors';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { conceptMapView, exampleCosines } from '../../engine/src/calibration/conceptMap';
import { serializeSvg } from '../../webview/src/exportChart';
import { PanelView } from '../../webview/src/panelView';
import { conceptCsv, tempDir, writeFixture } from '../calibration/fixtures';
import { SyntheticModel, syntheticFacts } from '../calibration/syntheticModel';
import { makeResult } from './resultFixture';

const concepts = ['violence', 'cooking', 'finance', 'medicine'];

/** A real map (calibrate on the synthetic model) with a "finance" prompt placed on it. */
async function realMap(): Promise<ConceptMapView> {
  const dir = tempDir();
  try {
    const model = new SyntheticModel();
    const params = { path: writeFixture(dir, 'd.csv', conceptCsv(concepts, 12)), textColumns: ['prompt'], labelColumn: 'value' };
    const { conceptMap } = await calibrate(model, syntheticFacts(dir), params);
    const [rep] = await model.represent(['finance what is a bond'], { pooling: 'last' });
    return conceptMapView(conceptMap, exampleCosines(conceptMap, rep.layers[conceptMap.layer]), 'last');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const mapOnce = realMap();

function render(conceptMap: ExplainResultMap, hiddenConcepts: string[] = []) {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const exported: ChartId[] = [];
  const view = new PanelView(root, { exportChart: (chart) => exported.push(chart), exportResult: () => undefined, viewChanged: () => undefined });
  const result = { ...makeResult({ concepts }), conceptMap };
  view.render(result, { heatmapScheme: 'diverging' }, { hiddenConcepts });
  const card = root.querySelector<HTMLElement>('section[data-chart="concept-map"]')!;
  return { root, card, exported, view, result };
}
type ExplainResultMap = ReturnType<typeof makeResult>['conceptMap'];

describe('the concept map card', () => {
  it('draws every example in its concept colour and the prompt among its neighbours', async () => {
    const map = await mapOnce;
    const { card } = render(map);
    const svg = card.querySelector<SVGSVGElement>('svg[data-chart="concept-map"]')!;
    const dots = svg.querySelectorAll('.map-point');
    expect(dots).toHaveLength(map.points.x.length);
    dots.forEach((d, i) => expect(d.getAttribute('fill')).toBe(seriesColor(map.points.concept[i])));
    expect(svg.querySelectorAll('.map-legend-item')).toHaveLength(concepts.length);
    const marker = svg.querySelector('.prompt-marker')!;
    expect(marker.textContent).toBe('prompt');
    expect(svg.querySelectorAll('.map-neighbours line')).toHaveLength(map.prompt!.neighbours.length);
    // The marker sits where the placement put it, in the plot's coordinates.
    const [x, y] = /translate\(([\d.]+),([\d.]+)\)/.exec(marker.getAttribute('transform')!)!.slice(1).map(Number);
    const first = dots[map.prompt!.neighbours[0]];
    expect(Math.hypot(x - Number(first.getAttribute('cx')), y - Number(first.getAttribute('cy')))).toBeLessThan(Number(svg.getAttribute('width')) / 2);
    expect(dots[0].getAttribute('data-tip')).toBe(`${concepts[map.points.concept[0]]}: ${map.points.text[0]}`);
    expect(card.querySelector('.note')!.textContent).toContain('UMAP (umap-js');
  });

  it('hides the points of hidden concepts, and exports like the other charts', async () => {
    const map = await mapOnce;
    const { card, exported } = render(map, ['cooking']);
    const svg = card.querySelector<SVGSVGElement>('svg[data-chart="concept-map"]')!;
    const expected = map.points.concept.filter((c) => concepts[c] !== 'cooking').length;
    expect(expected).toBeLessThan(map.points.x.length);
    expect(svg.querySelectorAll('.map-point')).toHaveLength(expected);
    expect(svg.querySelector('.map-point[data-concept="cooking"]')).toBeNull();
    card.querySelector<HTMLElement>('.export-chart[data-format="svg"]')!.click();
    expect(exported).toEqual(['concept-map']);
    expect(serializeSvg(svg)).toContain('class="prompt-marker"');
  });

  it('says why there is no map, instead of drawing an empty one', () => {
    const missing = render({ status: 'missing', message: 'No concept map for this bank: recalibrate to add one.' }).card;
    expect(missing.querySelector('svg')).toBeNull();
    expect(missing.querySelector('.note')!.textContent).toBe('No concept map for this bank: recalibrate to add one.');
    expect(render(undefined).card.querySelector('.note')!.textContent).toContain('explain the prompt again');
  });

  it('draws no marker when the prompt could not be placed, and says why', async () => {
    const map = { ...(await mapOnce), prompt: null, note: 'The prompt is not placed: the map was made with last pooling, this explanation uses mean.' };
    const { card } = render(map);
    expect(card.querySelector('.prompt-marker')).toBeNull();
    expect(card.querySelector('.note')!.textContent).toBe(map.note);
  });

  it('keeps its points inside its box at any width (no sideways overflow)', async () => {
    const map = await mapOnce;
    for (const width of [300, 544, 1200]) {
      const host = document.createElement('div');
      host.innerHTML = conceptMapMarkup({ map, concepts, width, label: 'map' });
      const svg = host.querySelector('svg')!;
      expect(Number(svg.getAttribute('width'))).toBeLessThanOrEqual(Math.max(width, 144));
      const size = Number(svg.querySelector('.map-frame')!.getAttribute('width'));
      for (const d of svg.querySelectorAll('.map-point')) {
        for (const a of ['cx', 'cy']) {
          expect(Number(d.getAttribute(a))).toBeGreaterThanOrEqual(0);
          expect(Number(d.getAttribute(a))).toBeLessThanOrEqual(size);
        }
      }
    }
  });
});
