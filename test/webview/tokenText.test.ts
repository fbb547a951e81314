// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { cosineScale, seriesColor } from '../../common/charts/colors';
import type { ChartId, ExplainResult } from '../../common/protocol';
import { PanelView } from '../../webview/src/panelView';
import { readableTexts, splitToken } from '../../webview/src/tokenText';
import { makeResult } from './resultFixture';

function setup() {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const exported: [ChartId, string, SVGSVGElement][] = [];
  const view = new PanelView(root, {
    exportChart: (chart, format, svg) => exported.push([chart, format, svg]),
    exportResult: () => undefined,
    viewChanged: () => undefined,
  });
  return { root, view, exported };
}

const card = (root: HTMLElement) => root.querySelector<HTMLElement>('section[data-chart="tokens"]')!;
const spans = (root: HTMLElement) => [...card(root).querySelectorAll<HTMLElement>('.token-text .tok')];
const select = (root: HTMLElement) => card(root).querySelector<HTMLSelectElement>('select.token-color-by')!;
const choose = (root: HTMLElement, value: string) => {
  select(root).value = value;
  select(root).dispatchEvent(new Event('change'));
};
/** The colour and text tone a token should have for a cosine. */
const expected = (cos: number) => {
  const { fill, dark } = cosineScale('diverging').color(cos);
  return { fill, tone: dark ? 'on-dark' : 'on-light' };
};
const shownColor = (el: HTMLElement) => ({ fill: el.style.backgroundColor, tone: el.classList.contains('on-dark') ? 'on-dark' : 'on-light' });

describe('token text', () => {
  let ctx: ReturnType<typeof setup>;
  let r: ExplainResult;
  beforeEach(() => {
    ctx = setup();
    r = makeResult({ tokens: 30 });
  });

  it('is the default view and shows every token, in order, as one flowing text', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(card(ctx.root).querySelector('svg.heatmap')).toBeNull();
    expect(card(ctx.root).querySelector('.token-view-toggle button[aria-pressed="true"]')!.textContent).toBe('Text');
    expect(spans(ctx.root).map((s) => Number(s.dataset.i))).toEqual(r.tokens.map((_, i) => i));
    const text = card(ctx.root).querySelector('.token-text')!.cloneNode(true) as HTMLElement;
    text.querySelector('.read-out-label')!.remove();
    expect(text.textContent).toBe(r.tokens.map((t) => t.text).join(''));
    // The template's tokens (here <|bos|>) are dimmed, the prompt's are not.
    expect(spans(ctx.root).filter((s) => s.classList.contains('template')).map((s) => s.textContent)).toEqual(['<|bos|>']);
  });

  it('joins the pieces of a word, keeps the space between words uncoloured and keeps newlines', () => {
    r.tokens = [' sour', 'dough', ' bread', '\n', 'Caf', 'é', ''].map((text, i) => ({ id: i, text, fromPrompt: true }));
    r.tokenScores = r.tokenScores.map((layer) => r.tokens.map((_, i) => layer[i]));
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(spans(ctx.root).map((s) => s.textContent)).toEqual(['sour', 'dough', 'bread', '↵\n', 'Caf', 'é', '∅']);
    const nodes = [...card(ctx.root).querySelector('.token-text')!.childNodes].map((n) => (n instanceof HTMLElement ? `[${n.textContent}]` : n.textContent));
    expect(nodes.slice(0, 6)).toEqual([' ', '[sour]', '[dough]', ' ', '[bread]', '[↵\n]']);
    expect(splitToken('   ')).toEqual({ gap: '', piece: '   ' });
  });

  it('decodes the bytes of multi-byte characters split across tokens, and names them on hover', () => {
    // "Café 日本" where é (c3 a9) and 日 (e6 97 a5) are split across tokens; a run cut short reads as U+FFFD.
    const texts = ['Caf', '<c3>', '<a9>', '<20 e6 97>', '<a5>', '本', ' x', '<e6>'];
    const tokens = texts.map((text, i) => ({ id: i, text, fromPrompt: true }));
    expect(readableTexts(tokens)).toEqual(['Caf', '\u00a0', 'é', ' ', '日', '本', ' x', '\ufffd']);
    r.tokens = tokens;
    r.tokenScores = r.tokenScores.map((layer) => tokens.map((_, i) => layer[i]));
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(spans(ctx.root).map((s) => s.textContent)).toEqual(['Caf', '\u00a0', 'é', ' ', '日', '本', 'x', '\ufffd']);
    spans(ctx.root)[2].dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(ctx.root.querySelector('.tooltip')!.textContent).toMatch(/^token 2 “<a9>”/);
  });

  it('marks the read-out token of last-token pooling, and none for mean pooling', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const marked = card(ctx.root).querySelectorAll<HTMLElement>('.tok.read-out');
    expect([...marked].map((s) => s.dataset.i)).toEqual([String(r.tokens.length - 1)]);
    expect(marked[0].nextElementSibling!.className).toBe('read-out-label');
    expect(marked[0].nextElementSibling!.textContent).toBe('read-out');
    expect(marked[0].nextElementSibling!.getAttribute('title')).toContain('(last pooling)');
    expect(card(ctx.root).querySelector('.read-out-note')).toBeNull();
    ctx.view.render({ ...r, pooling: 'mean', readOut: null }, { heatmapScheme: 'diverging' });
    expect(card(ctx.root).querySelector('.read-out, .read-out-label')).toBeNull();
    // Mean pooling has no read-out token: a line above the text says what was read instead.
    expect(card(ctx.root).querySelector('.read-out-note')!.textContent).toMatch(/^Read out at the mean of every token’s representation/);
  });

  it('colours each token by its cosine for the headline concept on the heatmaps\' fixed scale, with a colour bar', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const c = r.headline.conceptIndex;
    expect(select(ctx.root).value).toBe(String(c));
    spans(ctx.root).forEach((s, i) => expect(shownColor(s), `token ${i}`).toEqual(expected(r.tokenScores[4][i][c])));
    // The fixture's cosines change sign along the prompt: both text tones are used.
    expect(new Set(spans(ctx.root).map((s) => shownColor(s).tone)).size).toBe(2);
    expect(card(ctx.root).querySelector('svg.token-color-bar g.color-bar linearGradient')).not.toBeNull();
    expect(card(ctx.root).querySelector('svg.token-color-bar')!.textContent).toContain(`${r.concepts[c]} cosine`);
    const ids = [...ctx.root.querySelectorAll('linearGradient')].map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('recolours when another concept, the nearest concept or another layer is chosen, without rebuilding the text', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    const before = spans(ctx.root);
    choose(ctx.root, '3');
    spans(ctx.root).forEach((s, i) => expect(shownColor(s)).toEqual(expected(r.tokenScores[4][i][3])));
    choose(ctx.root, 'nearest');
    spans(ctx.root).forEach((s, i) => {
      const row = r.tokenScores[4][i];
      const top = row.indexOf(Math.max(...row));
      expect(s.style.backgroundColor, `token ${i}`).toBe(seriesColor(top));
    });
    expect([...card(ctx.root).querySelectorAll('.token-legend .legend-item')].map((e) => e.textContent)).toEqual(r.concepts);
    choose(ctx.root, '1');
    ctx.view.setLayer(2);
    spans(ctx.root).forEach((s, i) => expect(shownColor(s)).toEqual(expected(r.tokenScores[2][i][1])));
    expect(spans(ctx.root)).toEqual(before);
    // The choice outlives the result: the next one is coloured by the same concept.
    ctx.view.render(makeResult({ tokens: 5 }), { heatmapScheme: 'diverging' });
    expect(select(ctx.root).value).toBe('1');
  });

  it('names every shown concept\'s cosine for the hovered token, and offers only shown concepts', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    spans(ctx.root)[2].dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    const tip = ctx.root.querySelector<HTMLElement>('.tooltip')!;
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toMatch(/^token 2 “ tok2” · layer 4 cosine: /);
    for (const [c, name] of r.concepts.entries()) expect(tip.textContent).toContain(`${name} ${r.tokenScores[4][2][c].toFixed(3)}`);
    const box = ctx.root.querySelector<HTMLElement & { checked: boolean }>(`.concept-toggle[data-concept="${r.headline.concept}"]`)!;
    box.checked = false;
    box.dispatchEvent(new Event('change'));
    const options = [...select(ctx.root).options].map((o) => o.value);
    expect(options).not.toContain(String(r.headline.conceptIndex));
    expect(select(ctx.root).value).toBe(options[0]);
  });

  it('switches to the matrix (which exports) and back to the text (which does not)', () => {
    ctx.view.render(r, { heatmapScheme: 'diverging' });
    expect(card(ctx.root).classList.contains('text-view')).toBe(true);
    card(ctx.root).querySelector<HTMLElement>('.token-view-toggle button[data-view="matrix"]')!.click();
    expect(card(ctx.root).querySelector('.token-text')).toBeNull();
    expect(card(ctx.root).querySelector('select.token-color-by')).toBeNull();
    expect(card(ctx.root).querySelectorAll('svg.heatmap rect.cell')).toHaveLength(30 * 4);
    expect(card(ctx.root).classList.contains('text-view')).toBe(false);
    card(ctx.root).querySelector<HTMLElement>('.export-chart[data-format="svg"]')!.click();
    expect(ctx.exported.map(([id, format, svg]) => [id, format, svg.getAttribute('data-chart')])).toEqual([['tokens', 'svg', 'tokens']]);
    card(ctx.root).querySelector<HTMLElement>('.token-view-toggle button[data-view="text"]')!.click();
    expect(spans(ctx.root)).toHaveLength(30);
    expect(card(ctx.root).querySelector('svg.heatmap')).toBeNull();
  });

  it('renders a 2,000-token prompt as text', () => {
    const big = makeResult({ tokens: 2000, concepts: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    const t0 = performance.now();
    ctx.view.render(big, { heatmapScheme: 'diverging' });
    const ms = performance.now() - t0;
    expect(spans(ctx.root)).toHaveLength(2000);
    expect(spans(ctx.root)[1999].classList.contains('read-out')).toBe(true);
    console.log(`happy-dom render of a 2,000-token result (token text): ${ms.toFixed(0)} ms`);
  });
});
