// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChartId } from '../../common/protocol';
import { serializeSvg } from '../../webview/src/exportChart';
import { PanelView, type ViewState } from '../../webview/src/panelView';
import { makeResult } from './resultFixture';

function setup() {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const calls = { charts: [] as [ChartId, string][], results: [] as string[], states: [] as ViewState[] };
  const view = new PanelView(root, {
    exportChart: (chart, format) => calls.charts.push([chart, format]),
    exportResult: (format) => calls.results.push(format),
    viewChanged: (s) => calls.states.push(s),
  });
  return { root, view, calls };
}

const chart = (root: HTMLElement, id: string) => root.querySelector<SVGSVGElement>(`svg[data-chart="${id}"]`)!;
/** The token chart opens as text (test/webview/tokenText.test.ts); these tests look at its matrix. */
const showTokenMatrix = (root: HTMLElement) => root.querySelector<HTMLElement>('.token-view-toggle button[data-view="matrix"]')!.click();

describe('PanelView', () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
  });

  it('renders the headline and all five charts for a result', () => {
    const r = makeResult();
    const charts = ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(charts).toEqual(['layers', 'prototypes', 'tokens', 'layer-concept', 'calibration', 'concept-map']);
    expect(ctx.root.querySelector('.headline .concept')!.textContent).toBe(r.headline.concept);
    expect(ctx.root.querySelector('.headline vscode-badge')!.textContent).toBe(r.headline.safe ? 'safe' : 'unsafe');
    expect(ctx.root.querySelector('.facts')!.textContent).toContain(`${(r.headline.confidence * 100).toFixed(1)}%`);
    expect(ctx.root.querySelector('.facts')!.textContent).toContain('“ Use” 40.0%');
    // The fixture has no concept map: that card says so instead (test/webview/conceptMap.test.ts draws one).
    for (const id of charts.filter((c) => c !== 'tokens' && c !== 'concept-map')) expect(chart(ctx.root, id), id).not.toBeNull();
    expect(ctx.root.querySelectorAll('section[data-chart="tokens"] .token-text .tok')).toHaveLength(r.tokens.length);
  });

  it('draws one line per concept, one dot per layer, and marks the target layer', () => {
    const r = makeResult({ concepts: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], layers: 9, target: 6 });
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const svg = chart(ctx.root, 'layers');
    expect(svg.querySelectorAll('.series')).toHaveLength(7);
    expect(svg.querySelectorAll('.series[data-series="c"] circle')).toHaveLength(9);
    expect(svg.querySelectorAll('.x-axis .tick')).toHaveLength(9);
    expect(svg.querySelector('.marker-label')!.textContent).toBe('target layer 6');
    expect(ctx.root.querySelectorAll('.concept-toggle')).toHaveLength(7);
  });

  it('puts exact values in tooltips and shows them on hover', () => {
    const r = makeResult();
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const dot = chart(ctx.root, 'layers').querySelector('.series[data-series="finance"] circle:nth-of-type(4)')!;
    expect(dot.getAttribute('data-tip')).toBe(`finance · layer 3: ${r.layers[3].probs[2].toFixed(3)}`);
    dot.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    const tip = ctx.root.querySelector<HTMLElement>('.tooltip')!;
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe(dot.getAttribute('data-tip'));
  });

  it('hides a concept line when its toggle is unchecked, and reports the view state', () => {
    ctx.view.render(makeResult(), { heatmapScheme: 'diverging' });
    const box = ctx.root.querySelector<HTMLElement & { checked: boolean }>('.concept-toggle[data-concept="cooking"]')!;
    box.checked = false;
    box.dispatchEvent(new Event('change'));
    const svg = chart(ctx.root, 'layers');
    expect(svg.querySelectorAll('.series')).toHaveLength(3);
    expect(svg.querySelector('.series[data-series="cooking"]')).toBeNull();
    expect(ctx.calls.states.at(-1)!.hiddenConcepts).toEqual(['cooking']);
  });

  it('fills the heatmaps with concept × concept, layer × concept and token × concept cells, values readable on their colour', () => {
    const r = makeResult({ tokens: 30 });
    ctx.view.render(r, { heatmapScheme: 'sequential' });
    showTokenMatrix(ctx.root);
    expect(chart(ctx.root, 'prototypes').querySelectorAll('rect.cell')).toHaveLength(16);
    expect(chart(ctx.root, 'layer-concept').querySelectorAll('rect.cell')).toHaveLength(7 * 4);
    const tokens = chart(ctx.root, 'tokens');
    expect(tokens.querySelectorAll('rect.cell')).toHaveLength(30 * 4);
    expect([...tokens.querySelectorAll('.row-labels text')].map((t) => t.textContent).slice(0, 3)).toEqual(['<|bos|>', '·tok1', '·tok2']);
    // The template's tokens (here <|bos|>) are dimmed, the prompt's are not.
    expect([...tokens.querySelectorAll('.row-labels text.dim')].map((t) => t.textContent)).toEqual(['<|bos|>']);
    // The tooltip of a token cell names the token, the concept, the layer and the exact cosine.
    const cell = tokens.querySelectorAll('rect.cell')[2 * 4 + 3];
    cell.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(ctx.root.querySelector('.tooltip')!.textContent).toBe(`token 2 “ tok2” · medicine at layer 4: cosine ${r.tokenScores[4][2][3].toFixed(3)}`);
    const values = [...chart(ctx.root, 'layer-concept').querySelectorAll('text.cell-value')];
    expect(values).toHaveLength(28);
    expect(values.every((t) => /on-(dark|light)/.test(t.getAttribute('class')!))).toBe(true);
    const col = [...chart(ctx.root, 'layer-concept').querySelectorAll('.col-axis .tick text')].map((t) => t.textContent);
    expect(col).toEqual(r.concepts);
  });

  it('moves the prototype and token heatmaps to the layer chosen with the slider (once per frame)', async () => {
    const r = makeResult();
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const slider = ctx.root.querySelector<HTMLInputElement>('#layer-slider')!;
    expect(slider.value).toBe('4');
    slider.value = '3';
    slider.dispatchEvent(new Event('input'));
    slider.value = '2';
    slider.dispatchEvent(new Event('input'));
    await new Promise((resolve) => requestAnimationFrame(resolve));
    expect(ctx.root.querySelector('.layer-control output')!.textContent).toBe('layer 2');
    const cell = chart(ctx.root, 'prototypes').querySelectorAll('rect.cell')[1];
    cell.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(ctx.root.querySelector('.tooltip')!.textContent).toBe(`violence · cooking at layer 2: cosine ${r.bankStats[2].prototypeSimilarity[0][1].toFixed(3)}`);
    expect(ctx.calls.states.map((s) => s.layer)).toEqual([2]);
  });

  it('restores a saved view (layer, hidden concepts, metric)', () => {
    ctx.view.render(makeResult(), { heatmapScheme: 'diverging' }, { layer: 1, hiddenConcepts: ['violence', 'nope'], metric: 'cosine' });
    expect(ctx.view.viewState).toEqual({ layer: 1, hiddenConcepts: ['violence'], metric: 'cosine' });
    expect(chart(ctx.root, 'layers').querySelectorAll('.series')).toHaveLength(3);
    expect(chart(ctx.root, 'layers').querySelector('.y-axis')!.parentElement!.textContent).toContain('cosine');
  });

  it('asks the host to export charts and results', () => {
    ctx.view.render(makeResult(), { heatmapScheme: 'diverging' });
    showTokenMatrix(ctx.root);
    ctx.root.querySelector<HTMLElement>('section[data-chart="tokens"] .export-chart[data-format="png"]')!.click();
    ctx.root.querySelector<HTMLElement>('.export-result[data-format="csv"]')!.click();
    expect(ctx.calls.charts).toEqual([['tokens', 'png']]);
    expect(ctx.calls.results).toEqual(['csv']);
  });

  it('serializes a chart to standalone SVG markup', () => {
    ctx.view.render(makeResult(), { heatmapScheme: 'diverging' });
    const markup = serializeSvg(chart(ctx.root, 'layer-concept'));
    expect(markup.startsWith('<svg')).toBe(true);
    expect(markup).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(markup.match(/class="cell"/g)).toHaveLength(28);
  });

  it('says when the result has no token scores at the chosen layer', () => {
    const r = makeResult();
    r.tokenScoreLayers = [4];
    r.tokenScores = [r.tokenScores[4]];
    ctx.view.render(r, { heatmapScheme: 'diverging' }, { layer: 2 });
    expect(ctx.root.querySelector('section[data-chart="tokens"] .note')!.textContent).toContain('layer 4');
  });

  it('replaces the previous result with the error when an explain fails, and renders the next result whole', () => {
    const r = makeResult();
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    ctx.view.showMessage('busy', 'Explaining the selection…');
    // Busy keeps the previous result on screen; the failure does not.
    expect(ctx.root.querySelector('.headline .concept')!.textContent).toBe(r.headline.concept);
    ctx.view.showError('The bundle at /x has no seer.json.');
    const banner = ctx.root.querySelector('.status')!;
    expect(banner.className).toBe('status error');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toBe('The bundle at /x has no seer.json.');
    expect(ctx.root.querySelector('.headline')).toBeNull();
    expect(ctx.root.querySelector('svg')).toBeNull();
    expect(ctx.root.textContent).not.toContain(r.headline.concept);
    // The slider of the cleared result must not redraw anything, nor report a view.
    ctx.view.setLayer(2);
    expect(ctx.root.querySelector('svg')).toBeNull();
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(ctx.root.querySelector('.status')).toBeNull();
    expect(ctx.root.querySelector('.headline .concept')!.textContent).toBe(r.headline.concept);
  });

  it('keeps the result when a transient message (a failed PNG export) is shown', () => {
    ctx.view.render(makeResult(), { heatmapScheme: 'diverging' });
    ctx.view.showMessage('error', 'PNG export failed: no canvas');
    expect(ctx.root.querySelector('.status.error')!.textContent).toBe('PNG export failed: no canvas');
    expect(chart(ctx.root, 'layers')).not.toBeNull();
  });

  it('defines its words: the facts carry their meaning, the glossary states the bundle\'s logit scale', () => {
    const r = makeResult();
    r.logitScale = 7.5;
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const titles = Object.fromEntries([...ctx.root.querySelectorAll('.facts dt')].map((dt) => [dt.textContent, dt.getAttribute('title')]));
    expect(titles.confidence).toMatch(/probability at the target layer/);
    expect(titles.margin).toMatch(/runner-up/);
    expect(titles['target layer']).toMatch(/verdict/);
    const terms = [...ctx.root.querySelectorAll('.glossary dt')].map((dt) => dt.textContent);
    expect(terms).toEqual(['cosine', 'probability', 'confidence', 'margin', 'target layer', 'same / different-concept cosine']);
    const probability = ctx.root.querySelectorAll('.glossary dd')[1].textContent!;
    expect(probability).toContain('softmax(7.5 · cosine)');
    expect(probability).toContain(`${r.concepts.length} concepts`);
  });

  it('labels an unknown safety verdict as such, never as unsafe', () => {
    const r = makeResult();
    r.headline.safe = null;
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const badge = ctx.root.querySelector('.headline vscode-badge')!;
    expect(badge.className).toBe('unknown');
    expect(badge.textContent).toBe('safety unknown');
    expect(badge.getAttribute('title')).toMatch(/no safe concepts/);
  });

  it('says when a prompt is far from every concept seen in calibration, and only then', () => {
    const r = makeResult();
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(ctx.root.querySelector('.headline')!.textContent).not.toContain('low confidence');
    r.headline.lowConfidence = { reason: 'far from every concept seen in calibration: best cosine 0.120 at layer 4 is below 0.410', maxCosine: 0.12, threshold: 0.41 };
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const line = [...ctx.root.querySelectorAll('.headline .warning')].find((e) => e.textContent!.startsWith('low confidence'))!;
    expect(line.textContent).toBe('low confidence: far from every concept seen in calibration');
    expect(line.getAttribute('title')).toContain('0.120');
  });

  it('renders a 2,000-token prompt with every token row in the matrix view', () => {
    const r = makeResult({ tokens: 2000, concepts: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const t0 = performance.now();
    showTokenMatrix(ctx.root);
    const ms = performance.now() - t0;
    expect(chart(ctx.root, 'tokens').querySelectorAll('rect.cell')).toHaveLength(14000);
    console.log(`happy-dom render of a 2,000-token × 7-concept matrix: ${ms.toFixed(0)} ms`);
  });
});
