// The prompt as flowing text, each token's background coloured by its cosine for one concept (on the
// heatmaps' fixed scale) or by the colour of its own nearest concept, as CircuitsVis does. Built in one
// DocumentFragment with no per-token listener, so a 2,000-token prompt stays fast; the layer slider and
// the concept choice recolour the same spans in place.
import type { ExplainResult, HeatmapScheme, Pooling, TokenInfo } from '../../common/protocol';
import { COLOR_BAR_HEIGHT, colorBarMarkup } from '../../common/charts/colorBar';
import { cosineScale, isDark, seriesColor } from '../../common/charts/colors';
import { svgMarkup } from '../../common/charts/markup';
import { mountSvg } from './charts/mount';
import { fmt, visibleToken } from './format';
import type { TipResolver } from './tooltip';
import { el } from './dom';

/** What colours the tokens: one concept's cosine (an index into the result's concepts), or each token's top concept. */
export type TokenColoring = number | 'nearest';

export interface TokenTextSpec {
  tokens: TokenInfo[];
  concepts: string[];
  /** Indices of the concepts not hidden: the only ones coloured by, ranked or named on hover. */
  shown: number[];
  /** Token × concept cosine (every concept, bank order) at `layer`. */
  scores: number[][];
  layer: number;
  colorBy: TokenColoring;
  scheme: HeatmapScheme;
  /** The token the result's representation is read from, or null (mean pooling reads every token). */
  readOut: number | null;
  /** The result's pooling: named on the read-out token's label, or, for the mean, in a line above the text. */
  pooling: Pooling;
}

export interface TokenText {
  element: HTMLElement;
  /** The hover text of a token (names every shown concept's cosine), built on hover only. */
  tipFor: TipResolver;
  /** Recolours the same spans for another layer or coloring: no DOM rebuild of the text. */
  update(scores: number[][], layer: number, colorBy: TokenColoring): void;
}

const COLOR_BAR_WIDTH = 240;
/** Room at the bar's ends for half of its outermost tick labels ("−1.0" is about 26 px at 11 px in wide fonts). */
const COLOR_BAR_PAD = 18;

/** The read-out token: the one the engine read (`readOut`); for results saved without it, the last one for last-token pooling. */
export function readOutToken(r: Pick<ExplainResult, 'pooling' | 'tokens' | 'readOut'>): number | null {
  if (r.readOut !== undefined) return r.readOut;
  return r.pooling === 'last' && r.tokens.length > 0 ? r.tokens.length - 1 : null;
}

/** How the engine writes a token holding part of a multi-byte character (engine/src/bundle/tokenizer.ts). */
const BYTES = /^<([0-9a-f]{2}(?: [0-9a-f]{2})*)>$/;

/**
 * The tokens' texts with their bytes decoded: a run of byte tokens (`<c3>`, `<a9>`) is decoded together, each
 * token showing the characters its bytes complete (`é` on the second); one that completes none shows a
 * no-break space, so that it is still a coloured, hoverable piece. Hover names the bytes.
 */
export function readableTexts(tokens: TokenInfo[]): string[] {
  const out = tokens.map((t) => t.text);
  let decoder: TextDecoder | undefined;
  for (let i = 0; i <= tokens.length; i++) {
    const bytes = i < tokens.length ? BYTES.exec(tokens[i].text) : null;
    if (!bytes) {
      // The run ended: bytes it left incomplete read as U+FFFD on its last token.
      if (decoder) out[i - 1] += decoder.decode();
      decoder = undefined;
      continue;
    }
    decoder ??= new TextDecoder('utf-8');
    out[i] = decoder.decode(Uint8Array.from(bytes[1].split(' '), (h) => parseInt(h, 16)), { stream: true });
  }
  return out.map((text, i) => (text === '' && BYTES.test(tokens[i].text) ? '\u00a0' : text));
}

/**
 * A token's text split into the whitespace that starts a word and the piece itself. The whitespace is
 * drawn uncoloured between the spans, so the pieces of one word touch and words are apart; a token of
 * whitespace only stays whole (it is the piece).
 */
export function splitToken(text: string): { gap: string; piece: string } {
  const m = /^([ \t]+)(\S[\s\S]*)$/.exec(text);
  const [gap, piece] = m ? [m[1], m[2]] : ['', text];
  // Newlines are kept (the text wraps where the prompt did), and shown so that the token can be seen.
  const shown = piece.length === 0 ? visibleToken(piece) : piece.replace(/\r?\n/g, '↵\n');
  return { gap, piece: shown };
}

export function renderTokenText(doc: Document, spec: TokenTextSpec): TokenText {
  const { tokens, concepts, shown, readOut } = spec;
  let { scores, layer, colorBy } = spec;
  const scale = cosineScale(spec.scheme);
  const element = el(doc, 'div', 'token-text-view');
  const legend = el(doc, 'div', 'token-legend');
  const text = el(doc, 'div', 'token-text');
  text.setAttribute('role', 'document');

  const frag = doc.createDocumentFragment();
  const spans: HTMLElement[] = [];
  const baseClass: string[] = [];
  const texts = readableTexts(tokens);
  tokens.forEach((t, i) => {
    const { gap, piece } = splitToken(texts[i]);
    if (gap) frag.append(gap);
    const span = doc.createElement('span');
    span.dataset.i = String(i);
    span.textContent = piece;
    baseClass.push(`tok${t.fromPrompt ? '' : ' template'}${i === readOut ? ' read-out' : ''}`);
    spans.push(span);
    frag.append(span);
    if (i === readOut) {
      const label = el(doc, 'span', 'read-out-label');
      label.textContent = 'read-out';
      label.title = `The explanation is read from this token’s representation (${spec.pooling} pooling).`;
      frag.append(label);
    }
  });
  text.append(frag);
  element.append(legend);
  if (readOut === null && spec.pooling === 'mean') {
    const note = el(doc, 'div', 'read-out-note');
    note.textContent = 'Read out at the mean of every token’s representation (mean pooling), template tokens included: no single token is the read-out.';
    element.append(note);
  }
  element.append(text);

  // Tableau10's text tone per concept, computed once.
  const seriesTone = concepts.map((_, c) => isDark(seriesColor(c)));
  const nearest = (row: number[]): number => shown.reduce((best, c) => (row[c] > row[best] ? c : best), shown[0]);

  const drawLegend = (): void => {
    legend.replaceChildren();
    if (colorBy === 'nearest') {
      legend.className = 'token-legend legend';
      for (const c of shown) {
        const item = el(doc, 'span', 'legend-item');
        const swatch = el(doc, 'span', 'swatch');
        swatch.style.backgroundColor = seriesColor(c);
        item.append(swatch, doc.createTextNode(concepts[c]));
        legend.append(item);
      }
      return;
    }
    legend.className = 'token-legend';
    const width = COLOR_BAR_WIDTH + 2 * COLOR_BAR_PAD;
    mountSvg(legend, svgMarkup({
      kind: 'token-color-bar', width, height: COLOR_BAR_HEIGHT,
      label: `colour scale of the tokens: ${concepts[colorBy]} ${scale.legend.label}`,
      margins: { top: 0, right: COLOR_BAR_PAD, bottom: 0, left: COLOR_BAR_PAD },
      body: colorBarMarkup({ ...scale.legend, label: `${concepts[colorBy]} ${scale.legend.label}` }, 0, 0, COLOR_BAR_WIDTH),
    }));
  };

  const paint = (): void => {
    for (let i = 0; i < spans.length; i++) {
      let fill: string;
      let dark: boolean;
      if (colorBy === 'nearest') {
        const c = nearest(scores[i]);
        [fill, dark] = [seriesColor(c), seriesTone[c]];
      } else ({ fill, dark } = scale.color(scores[i][colorBy]));
      spans[i].className = `${baseClass[i]} ${dark ? 'on-dark' : 'on-light'}`;
      spans[i].style.backgroundColor = fill;
    }
  };

  const tipFor: TipResolver = (el) => {
    const span = el.closest<HTMLElement>('.tok');
    if (!span || !text.contains(span)) return null;
    const i = Number(span.dataset.i);
    const t = tokens[i];
    const row = scores[i];
    const ranked = [...shown].sort((a, b) => row[b] - row[a]);
    const what = `${t.fromPrompt ? '' : ' (template)'}${i === readOut ? ' · read-out' : ''}`;
    return `token ${i} “${t.text}”${what} · layer ${layer} cosine: ${ranked.map((c) => `${concepts[c]} ${fmt(row[c])}`).join(' · ')}`;
  };

  drawLegend();
  paint();
  return {
    element,
    tipFor,
    update(nextScores, nextLayer, nextColorBy) {
      const legendChanged = nextColorBy !== colorBy;
      [scores, layer, colorBy] = [nextScores, nextLayer, nextColorBy];
      if (legendChanged) drawLegend();
      paint();
    },
  };
}
