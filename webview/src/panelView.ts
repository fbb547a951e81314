// Renders one ExplainResult into the panel: the headline and five charts sharing one layer slider
// and one set of concept toggles. Knows nothing about the VS Code API (main.ts wires messages).
import type { ChartId, ExplainResult, LayerStats, PanelSettings } from '../../common/protocol';
import { seriesColor as conceptColor } from '../../common/charts/colors';
import { lineChartMarkup } from '../../common/charts/lineChart';
import { torchRuntimeText } from '../../common/providerText';
import { renderConceptMap } from './charts/conceptMap';
import { renderHeatmap, type Heatmap, type PanelHeatmapSpec } from './charts/heatmap';
import { mountSvg } from './charts/mount';
import { fmt, pct, visibleToken } from './format';
import { attachTooltip, createTooltip, type TipResolver } from './tooltip';
import { readOutToken, renderTokenText, type TokenColoring, type TokenText } from './tokenText';
import { el } from './dom';

export interface ViewState {
  layer: number;
  hiddenConcepts: string[];
  metric: 'probability' | 'cosine';
}

export interface PanelCallbacks {
  exportChart(chart: ChartId, format: 'svg' | 'png', svg: SVGSVGElement): void;
  exportResult(format: 'json' | 'csv'): void;
  viewChanged(state: ViewState): void;
}

const CHART_TITLES: Record<ChartId, string> = {
  layers: 'Concept scores per layer',
  prototypes: 'Concept × concept prototype similarity',
  'layer-concept': 'Layer × concept cosine for this prompt',
  tokens: 'Token × concept cosine',
  calibration: 'Calibration: same- vs different-concept cosine',
  'concept-map': 'Concept map: calibration examples in 2-D, with this prompt',
};

const MAX_TOKEN_LABEL = 18;
/** Line charts never get narrower than this (a narrower card scales them down, see panel.css). */
const MIN_CHART_WIDTH = 300;
/** Token heatmaps print their values in the cells up to this many cells (beyond, hover only: DOM cost). */
const MAX_PRINTED_TOKEN_CELLS = 3000;
const HEATMAPS = ['prototypes', 'tokens', 'layer-concept'] as const;
/** A layer whose shown concepts' cosines all lie within this of each other cannot tell them apart. */
const ALIKE_SPREAD = 0.05;

const CALIBRATION_SERIES: { name: string; dashed: boolean; hint: string; value: (s: LayerStats) => number }[] = [
  { name: 'same concept', dashed: false, hint: 'Mean cosine between examples of the same concept', value: (s) => s.sameConceptCos },
  { name: 'different concepts', dashed: true, hint: 'Mean cosine between examples of different concepts', value: (s) => s.differentConceptCos },
  { name: 'gap', dashed: false, hint: 'same − different: the SEER paper\'s disentanglement measure', value: (s) => s.gap },
];

export class PanelView {
  private result?: ExplainResult;
  private settings: PanelSettings = { heatmapScheme: 'diverging' };
  private state: ViewState = { layer: 0, hiddenConcepts: [], metric: 'probability' };
  private readonly tooltip: HTMLElement;
  private readonly hosts = new Map<ChartId, HTMLElement>();
  private layerLabel?: HTMLElement;
  private chartWidth?: number;
  /** Heatmaps the layer slider recolours in place. */
  private readonly heatmaps = new Map<ChartId, Heatmap>();
  /** The token chart shows the prompt as coloured text (default) or the token × concept matrix. */
  private tokenView: 'text' | 'matrix' = 'text';
  /** What the token text is coloured by, kept across results; unset (or a hidden concept): the headline concept. */
  private tokenColorBy?: { concept: string } | 'nearest';
  /** The token text the layer slider and the colour choice recolour in place. */
  private tokenText?: TokenText;

  constructor(private readonly root: HTMLElement, private readonly callbacks: PanelCallbacks) {
    this.tooltip = createTooltip(root.ownerDocument);
  }

  get viewState(): ViewState {
    return { ...this.state, hiddenConcepts: [...this.state.hiddenConcepts] };
  }

  showMessage(kind: 'busy' | 'error', message: string): void {
    const existing = this.root.querySelector('.status');
    const el = existing ?? this.root.ownerDocument.createElement('div');
    el.className = `status ${kind}`;
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    el.textContent = message;
    if (!existing) this.root.prepend(el);
  }

  /**
   * A failed explain: the previous prompt's result goes, so that neither is read as the other's
   * (a transient problem, like a failed PNG export, uses showMessage and keeps the result).
   */
  showError(message: string): void {
    this.result = undefined;
    this.hosts.clear();
    this.heatmaps.clear();
    this.layerLabel = undefined;
    const empty = this.root.ownerDocument.createElement('p');
    empty.className = 'empty';
    empty.textContent = 'No result: the last explain failed. Fix the problem above, then run Explain with SEER again.';
    this.root.replaceChildren(empty);
    this.showMessage('error', message);
  }

  /** Renders everything; returns the ids of the charts drawn. */
  render(result: ExplainResult, settings: PanelSettings, state?: Partial<ViewState>): ChartId[] {
    this.result = result;
    this.settings = settings;
    const layers = result.layers.map((l) => l.layer);
    const layer = state?.layer !== undefined && layers.includes(state.layer) ? state.layer : result.targetLayer;
    this.state = {
      layer: layers.includes(layer) ? layer : layers[layers.length - 1],
      hiddenConcepts: (state?.hiddenConcepts ?? []).filter((c) => result.concepts.includes(c)),
      metric: state?.metric ?? 'probability',
    };
    const doc = this.root.ownerDocument;
    this.root.replaceChildren();
    this.hosts.clear();
    this.root.append(this.headline(result), this.tooltip);
    this.root.append(this.card('layers', this.layerControls()));
    this.root.append(this.layerSlider(layers));
    this.root.append(this.card('prototypes'), this.card('tokens'), this.card('layer-concept'), this.card('calibration', this.calibrationLegend()), this.card('concept-map'));
    const note = el(doc, 'p', 'footnote');
    note.textContent = `${result.bundle.name} · bank “${result.bank}” · ${result.pooling} pooling · ` +
      `${result.provider.used}${result.provider.torch ? ` (${torchRuntimeText(result.provider.torch)})` : ''} · forward ${fmt(result.timingsMs.forward, 0)} ms, total ${fmt(result.timingsMs.total, 0)} ms`;
    this.root.append(note);
    this.drawAll();
    return [...this.hosts.keys()];
  }

  applySettings(settings: PanelSettings): void {
    this.settings = settings;
    if (this.result) this.drawAll();
  }

  /** Redraws when the panel's width changed enough to matter (charts are sized at render time). */
  resized(): void {
    if (!this.result || this.chartWidth === undefined) return;
    const before = this.chartWidth;
    this.chartWidth = undefined;
    if (Math.abs(this.width() - before) >= 24) this.drawAll();
    else this.chartWidth = before;
  }

  setLayer(layer: number): void {
    if (!this.result) return; // cleared by an error while the slider's frame was pending
    this.state.layer = layer;
    if (this.layerLabel) this.layerLabel.textContent = this.layerText(layer);
    for (const id of ['prototypes', 'tokens'] as const) {
      if (id === 'tokens' && this.recolorTokenText()) continue;
      const spec = this.layerHeatmap(id);
      const shown = this.heatmaps.get(id);
      if (spec && shown) shown.update(spec.values, spec.tip, spec.label);
      else this.draw(id);
    }
    this.callbacks.viewChanged(this.viewState);
  }

  toggleConcept(concept: string, visible: boolean): void {
    const hidden = new Set(this.state.hiddenConcepts);
    if (visible) hidden.delete(concept);
    else hidden.add(concept);
    this.state.hiddenConcepts = [...hidden];
    this.draw('layers');
    for (const id of HEATMAPS) this.draw(id);
    this.callbacks.viewChanged(this.viewState);
  }

  private drawAll(): void {
    this.chartWidth = undefined;
    for (const id of this.hosts.keys()) this.draw(id);
  }

  /**
   * The width of a card's chart area (all cards are as wide), read once per full render: reading
   * clientWidth forces a layout, costly next to 14,000 cells.
   */
  private width(): number {
    if (this.chartWidth === undefined) {
      const w = this.hosts.values().next().value?.clientWidth ?? 0;
      this.chartWidth = Math.max(MIN_CHART_WIDTH, w > 0 ? Math.floor(w) : 760);
    }
    return this.chartWidth;
  }

  /** Indices of the concepts not hidden with the toggles, in bank order. */
  private shownConcepts(): number[] {
    const hidden = new Set(this.state.hiddenConcepts);
    return this.result!.concepts.flatMap((name, c) => (hidden.has(name) ? [] : [c]));
  }

  private draw(id: ChartId): void {
    const host = this.hosts.get(id);
    const r = this.result;
    if (!host || !r) return;
    host.replaceChildren();
    this.heatmaps.delete(id);
    if (id === 'tokens') this.tokenText = undefined;
    const width = this.width();
    const layers = r.layers.map((l) => l.layer);
    const L = this.state.layer;
    let svg: SVGSVGElement | undefined;
    let tipFor: TipResolver | undefined;
    const shown = this.shownConcepts();
    const names = shown.map((c) => r.concepts[c]);
    if (shown.length === 0 && id !== 'layers' && id !== 'calibration') return this.note(host, 'Every concept is hidden: tick one above the first chart.');
    switch (id) {
      case 'layers': {
        const key = this.state.metric === 'probability' ? 'probs' : 'cosine';
        svg = mountSvg(host, lineChartMarkup({
          chartId: id, label: CHART_TITLES[id], xs: layers, width,
          yLabel: this.state.metric === 'probability' ? 'probability' : 'cosine',
          // Probabilities keep 0–1 whatever is hidden, so a line's height means the same in every view.
          yDomain: this.state.metric === 'probability' ? [0, 1] : undefined,
          marker: { x: r.targetLayer, label: `target layer ${r.targetLayer}` },
          series: r.concepts
            .map((name, c) => ({ name, color: conceptColor(c), values: r.layers.map((l) => l[key][c]) }))
            .filter((s) => !this.state.hiddenConcepts.includes(s.name)),
        }));
        break;
      }
      case 'prototypes': {
        const spec = this.layerHeatmap(id);
        if (!spec) return this.note(host, `The bank has no calibration statistics for layer ${L}.`);
        const map = renderHeatmap(host, {
          chartId: id, rows: names, cols: names, scheme: this.settings.heatmapScheme,
          width: Math.min(width, 140 + 64 * names.length), rowHeight: 30, showValues: true, ...spec,
        });
        this.heatmaps.set(id, map);
        ({ svg, tipFor } = map);
        break;
      }
      case 'layer-concept': {
        // With one concept shown there is nothing to tell apart.
        const alike = shown.length < 2 ? [] : r.layers.flatMap((l, row) => {
          const cos = shown.map((c) => l.cosine[c]);
          return Math.max(...cos) - Math.min(...cos) < ALIKE_SPREAD ? [row] : [];
        });
        ({ svg, tipFor } = renderHeatmap(host, {
          mutedRows: new Set(alike),
          chartId: id, label: CHART_TITLES[id], rows: layers.map((l) => `layer ${l}`), cols: names,
          values: r.layers.map((l) => shown.map((c) => l.cosine[c])), scheme: this.settings.heatmapScheme,
          width: Math.min(width, 140 + 64 * names.length), rowHeight: 24, showValues: true,
          highlightRow: layers.indexOf(r.targetLayer),
          tip: (row, c, v) => `layer ${layers[row]} · ${names[c]}: cosine ${fmt(v)}, p ${pct(r.layers[row].probs[shown[c]])}`,
        }));
        if (alike.length > 0) {
          const which = alike.map((row) => layers[row]);
          this.note(host, `Faded: at layer${which.length === 1 ? '' : 's'} ${layerList(which)} every concept scores within ` +
            `${ALIKE_SPREAD} cosine of the others, so these layers do not tell the concepts apart.`);
        }
        break;
      }
      case 'tokens': {
        const spec = this.layerHeatmap(id);
        if (!spec) {
          return this.note(host, `Token scores were computed for layer${r.tokenScoreLayers.length === 1 ? '' : 's'} ` +
            `${r.tokenScoreLayers.join(', ') || '(none)'}; move the slider there.`);
        }
        host.append(this.tokenControls());
        host.classList.toggle('scroll', this.tokenView === 'matrix');
        // The text view has no chart to export (its SVG/PNG buttons hide); the matrix view exports the matrix.
        host.closest('.card')?.classList.toggle('text-view', this.tokenView === 'text');
        if (this.tokenView === 'text') {
          this.drawTokenText(host, r.tokenScores[r.tokenScoreLayers.indexOf(L)]);
          break;
        }
        const labels = r.tokens.map((t) => {
          const s = visibleToken(t.text);
          return s.length > MAX_TOKEN_LABEL ? `${s.slice(0, MAX_TOKEN_LABEL - 1)}…` : s;
        });
        const map = renderHeatmap(host, {
          chartId: id, rows: labels, cols: names, scheme: this.settings.heatmapScheme, rowHeight: 18,
          dimRows: new Set(r.tokens.flatMap((t, i) => (t.fromPrompt ? [] : [i]))),
          showValues: labels.length * names.length <= MAX_PRINTED_TOKEN_CELLS,
          width: Math.min(width, 170 + 72 * names.length), ...spec,
        });
        this.heatmaps.set(id, map);
        ({ svg, tipFor } = map);
        break;
      }
      case 'concept-map': {
        svg = renderConceptMap(host, r, { width, hidden: new Set(this.state.hiddenConcepts), label: CHART_TITLES[id] });
        break;
      }
      case 'calibration': {
        const stats = [...r.bankStats].sort((a, b) => a.layer - b.layer);
        if (stats.length === 0) return this.note(host, 'The bank carries no calibration statistics.');
        svg = mountSvg(host, lineChartMarkup({
          chartId: id, label: CHART_TITLES[id], xs: stats.map((s) => s.layer), width, height: 220,
          yLabel: 'mean cosine', marker: { x: r.targetLayer, label: `target layer ${r.targetLayer}` },
          series: CALIBRATION_SERIES.map((c, i) => ({ name: c.name, color: conceptColor(i), dashed: c.dashed, values: stats.map(c.value) })),
        }));
        break;
      }
    }
    if (svg) attachTooltip(svg, this.tooltip, tipFor);
  }

  /**
   * The layer-dependent part of the prototype and token heatmaps (shown concepts only), or undefined when
   * the layer has no data.
   */
  private layerHeatmap(id: 'prototypes' | 'tokens'): Pick<PanelHeatmapSpec, 'values' | 'tip' | 'label'> | undefined {
    const r = this.result!;
    const L = this.state.layer;
    const shown = this.shownConcepts();
    const pick = (row: number[]): number[] => shown.map((c) => row[c]);
    if (id === 'prototypes') {
      const stats = r.bankStats.find((s) => s.layer === L);
      return stats && {
        values: shown.map((a) => pick(stats.prototypeSimilarity[a])),
        label: `${CHART_TITLES[id]} at layer ${L}`,
        tip: (a, b, v) => `${r.concepts[shown[a]]} · ${r.concepts[shown[b]]} at layer ${L}: cosine ${fmt(v)}`,
      };
    }
    const k = r.tokenScoreLayers.indexOf(L);
    return k < 0 ? undefined : {
      values: r.tokenScores[k].map(pick),
      label: `${CHART_TITLES[id]} at layer ${L}`,
      tip: (t, c, v) => `token ${t} “${r.tokens[t].text}”${r.tokens[t].fromPrompt ? '' : ' (template)'} · ` +
        `${r.concepts[shown[c]]} at layer ${L}: cosine ${fmt(v)}`,
    };
  }

  /** The Text | Matrix toggle and, for the text, what colours the tokens. */
  private tokenControls(): HTMLElement {
    const r = this.result!;
    const doc = this.root.ownerDocument;
    const bar = el(doc, 'div', 'token-controls');
    const toggle = el(doc, 'div', 'token-view-toggle');
    toggle.setAttribute('role', 'group');
    toggle.setAttribute('aria-label', 'Show the tokens as');
    for (const [view, name] of [['text', 'Text'], ['matrix', 'Matrix']] as const) {
      const b = doc.createElement('button');
      b.type = 'button';
      b.dataset.view = view;
      b.textContent = name;
      b.setAttribute('aria-pressed', String(this.tokenView === view));
      b.addEventListener('click', () => {
        if (this.tokenView === view) return;
        this.tokenView = view;
        this.draw('tokens');
      });
      toggle.append(b);
    }
    bar.append(toggle);
    if (this.tokenView === 'text') {
      const label = doc.createElement('label');
      label.textContent = 'Colour by ';
      const select = el(doc, 'select', 'token-color-by');
      for (const c of this.shownConcepts()) {
        const option = doc.createElement('option');
        option.value = String(c);
        option.textContent = c === r.headline.conceptIndex ? `${r.concepts[c]} (headline)` : r.concepts[c];
        select.append(option);
      }
      const nearest = doc.createElement('option');
      nearest.value = 'nearest';
      nearest.textContent = 'nearest concept';
      select.append(nearest);
      select.value = String(this.tokenColoring());
      select.addEventListener('change', () => {
        this.tokenColorBy = select.value === 'nearest' ? 'nearest' : { concept: r.concepts[Number(select.value)] };
        this.recolorTokenText();
      });
      label.append(select);
      bar.append(label);
    }
    return bar;
  }

  private drawTokenText(host: HTMLElement, scores: number[][]): void {
    const r = this.result!;
    const text = renderTokenText(host.ownerDocument, {
      tokens: r.tokens, concepts: r.concepts, shown: this.shownConcepts(), scores, layer: this.state.layer,
      colorBy: this.tokenColoring(), scheme: this.settings.heatmapScheme, readOut: readOutToken(r), pooling: r.pooling,
    });
    host.append(text.element);
    attachTooltip(text.element, this.tooltip, text.tipFor);
    this.tokenText = text;
  }

  /** Recolours the token text for the current layer and colour choice; false when there is none to recolour. */
  private recolorTokenText(): boolean {
    const r = this.result;
    const k = r ? r.tokenScoreLayers.indexOf(this.state.layer) : -1;
    if (!r || !this.tokenText || k < 0) return false;
    this.tokenText.update(r.tokenScores[k], this.state.layer, this.tokenColoring());
    return true;
  }

  /** The chosen colouring while its concept is shown, else the headline concept, else the first shown one. */
  private tokenColoring(): TokenColoring {
    if (this.tokenColorBy === 'nearest') return 'nearest';
    const r = this.result!;
    const shown = this.shownConcepts();
    const wanted = [this.tokenColorBy?.concept, r.headline.concept].map((name) => (name === undefined ? -1 : r.concepts.indexOf(name)));
    return wanted.find((c) => shown.includes(c)) ?? shown[0];
  }

  private note(host: HTMLElement, text: string): void {
    const p = host.ownerDocument.createElement('p');
    p.className = 'note';
    p.textContent = text;
    host.append(p);
  }

  private headline(r: ExplainResult): HTMLElement {
    const doc = this.root.ownerDocument;
    const head = el(doc, 'header', 'headline');
    const top = el(doc, 'div', 'headline-top');
    top.append(el(doc, 'span', 'concept', r.headline.concept));
    // null: the bank has no safe list, so safety is unknown (not unsafe).
    const safety = r.headline.safe === null ? 'safety unknown' : r.headline.safe ? 'safe' : 'unsafe';
    const badge = el(doc, 'vscode-badge', r.headline.safe === null ? 'unknown' : safety, safety);
    badge.title = r.headline.safe === null ? 'The bank lists no safe concepts, so this verdict cannot say.'
      : `The bank lists “${r.headline.concept}” as ${r.headline.safe ? 'a safe' : 'an unsafe'} concept.`;
    top.append(badge);
    const actions = el(doc, 'div', 'actions');
    for (const format of ['json', 'csv'] as const) {
      const b = el(doc, 'vscode-button', 'export-result', `Export ${format.toUpperCase()}`);
      b.setAttribute('secondary', '');
      b.dataset.format = format;
      b.addEventListener('click', () => this.callbacks.exportResult(format));
      actions.append(b);
    }
    top.append(actions);
    head.append(top);

    const facts = el(doc, 'dl', 'facts');
    const words = glossary(r);
    const fact = (k: string, v: string | HTMLElement[], wide = false): void => {
      const pair = el(doc, 'div', wide ? 'fact wide' : 'fact');
      const dd = el(doc, 'dd', '');
      dd.append(...(typeof v === 'string' ? [v] : v));
      const dt = el(doc, 'dt', '', k);
      const meaning = words.find(([term]) => term === k)?.[1];
      if (meaning) dt.title = meaning;
      pair.append(dt, dd);
      facts.append(pair);
    };
    fact('confidence', pct(r.headline.confidence));
    fact('margin', pct(r.headline.margin));
    fact('target layer', String(r.headline.layer));
    fact('tokens', String(r.tokens.length));
    // One unbreakable item per token: a narrow panel wraps between them, never inside one.
    const next = r.nextTokens.slice(0, 5).map((t) => el(doc, 'span', 'next-token', `“${t.text}” ${pct(t.prob)}`));
    fact('next token', next.length ? next : '–', true);
    head.append(facts, this.glossaryBox(words));
    if (r.headline.lowConfidence) {
      const low = el(doc, 'p', 'warning', 'low confidence: far from every concept seen in calibration');
      low.title = r.headline.lowConfidence.reason;
      head.append(low);
    }
    if (r.truncation) {
      head.append(el(doc, 'p', 'warning', `Truncated: kept ${r.truncation.keptTokens} of ${r.truncation.originalTokens} tokens ` +
        `(${r.truncation.side === 'left' ? 'start' : 'end'} dropped).`));
    }
    for (const w of r.warnings ?? []) head.append(el(doc, 'p', 'warning', w));
    const preview = r.text.length > 400 ? `${r.text.slice(0, 400)}…` : r.text;
    head.append(el(doc, 'blockquote', 'prompt', preview));
    return head;
  }

  /** The words of the headline and charts, defined once, folded away until asked for. */
  private glossaryBox(words: [string, string][]): HTMLElement {
    const doc = this.root.ownerDocument;
    const box = el(doc, 'details', 'glossary');
    const summary = doc.createElement('summary');
    summary.textContent = 'What these numbers mean';
    const list = doc.createElement('dl');
    for (const [term, meaning] of words) {
      const dt = doc.createElement('dt');
      dt.textContent = term;
      const dd = doc.createElement('dd');
      dd.textContent = meaning;
      list.append(dt, dd);
    }
    box.append(summary, list);
    return box;
  }

  private card(id: ChartId, extra?: HTMLElement): HTMLElement {
    const doc = this.root.ownerDocument;
    const section = el(doc, 'section', 'card');
    section.dataset.chart = id;
    const head = el(doc, 'div', 'card-head');
    const h2 = doc.createElement('h2');
    h2.textContent = CHART_TITLES[id];
    const actions = el(doc, 'div', 'actions');
    for (const format of ['svg', 'png'] as const) {
      const b = doc.createElement('vscode-button');
      b.className = 'export-chart';
      b.setAttribute('secondary', '');
      b.dataset.format = format;
      b.title = `Save this chart as ${format.toUpperCase()}`;
      b.textContent = format.toUpperCase();
      b.addEventListener('click', () => {
        const svg = host.querySelector<SVGSVGElement>('svg:not(.token-color-bar)');
        if (svg) this.callbacks.exportChart(id, format, svg);
      });
      actions.append(b);
    }
    head.append(h2, actions);
    section.append(head);
    if (extra) section.append(extra);
    const host = el(doc, 'div', id === 'tokens' ? 'chart-host scroll' : 'chart-host');
    section.append(host);
    this.hosts.set(id, host);
    return section;
  }

  private layerControls(): HTMLElement {
    const r = this.result!;
    const doc = this.root.ownerDocument;
    const bar = el(doc, 'div', 'legend');
    r.concepts.forEach((name, c) => {
      const item = el(doc, 'label', 'legend-item');
      const swatch = el(doc, 'span', 'swatch');
      swatch.style.backgroundColor = conceptColor(c);
      const box = doc.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
      box.className = 'concept-toggle';
      box.dataset.concept = name;
      box.setAttribute('label', name);
      box.checked = !this.state.hiddenConcepts.includes(name);
      if (box.checked) box.setAttribute('checked', '');
      box.addEventListener('change', () => this.toggleConcept(name, box.checked));
      item.append(swatch, box);
      bar.append(item);
    });
    const metric = doc.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
    metric.className = 'metric-toggle';
    metric.setAttribute('label', 'raw cosine');
    metric.checked = this.state.metric === 'cosine';
    metric.addEventListener('change', () => {
      this.state.metric = metric.checked ? 'cosine' : 'probability';
      this.draw('layers');
      this.callbacks.viewChanged(this.viewState);
    });
    bar.append(metric);
    return bar;
  }

  private calibrationLegend(): HTMLElement {
    const doc = this.root.ownerDocument;
    const bar = el(doc, 'div', 'legend');
    CALIBRATION_SERIES.forEach(({ name, dashed, hint }, i) => {
      const item = el(doc, 'span', 'legend-item');
      item.title = hint;
      const swatch = el(doc, 'span', dashed ? 'swatch line dashed' : 'swatch line');
      swatch.style.borderColor = conceptColor(i);
      item.append(swatch, doc.createTextNode(name));
      bar.append(item);
    });
    return bar;
  }

  private layerText(layer: number): string {
    return layer === this.result?.targetLayer ? `layer ${layer} (target)` : `layer ${layer}`;
  }

  private layerSlider(layers: number[]): HTMLElement {
    const doc = this.root.ownerDocument;
    const wrap = el(doc, 'div', 'layer-control');
    const label = doc.createElement('label');
    label.htmlFor = 'layer-slider';
    label.textContent = 'Layer for the heatmaps';
    const input = doc.createElement('input');
    input.type = 'range';
    input.id = 'layer-slider';
    input.min = '0';
    input.max = String(layers.length - 1);
    input.step = '1';
    input.value = String(Math.max(0, layers.indexOf(this.state.layer)));
    const out = doc.createElement('output');
    out.setAttribute('for', 'layer-slider');
    out.textContent = this.layerText(this.state.layer);
    this.layerLabel = out;
    // Dragging fires 'input' many times per frame; redraw at most once per frame.
    let pending = false;
    input.addEventListener('input', () => {
      if (pending) return;
      pending = true;
      const apply = (): void => {
        pending = false;
        this.setLayer(layers[Number(input.value)]);
      };
      const view = doc.defaultView;
      if (view?.requestAnimationFrame) view.requestAnimationFrame(apply);
      else apply();
    });
    wrap.append(label, input, out);
    return wrap;
  }
}

/** The terms the panel shows, each with a one-line definition (the facts' tooltips and the glossary). */
export function glossary(r: ExplainResult): [string, string][] {
  return [
    ['cosine', 'Cosine similarity between the prompt\'s representation at a layer and a concept\'s prototype in the bank (−1 to 1).'],
    ['probability', `softmax(${r.logitScale} · cosine) over the bank's ${r.concepts.length} concepts, at each layer ` +
      `(${r.logitScale} is the bundle's logit scale); the concepts' probabilities sum to 1.`],
    ['confidence', `The headline concept's probability at the target layer.`],
    ['margin', 'The headline concept\'s probability minus the runner-up\'s, at the target layer: small means a close call.'],
    ['target layer', 'The layer the bundle reads its verdict from (chosen when it was trained); the dashed line in the charts.'],
    ['same / different-concept cosine', 'Mean cosine between the bank\'s calibration examples of the same concept, and of ' +
      'different concepts; their gap says how well a layer keeps the concepts apart.'],
  ];
}

/** Layers as ranges: [0, 1, 2, 5] → "0–2, 5". */
export function layerList(layers: number[]): string {
  const runs: [number, number][] = [];
  for (const l of layers) {
    const last = runs.at(-1);
    if (last && l === last[1] + 1) last[1] = l;
    else runs.push([l, l]);
  }
  return runs.map(([a, b]) => (a === b ? String(a) : `${a}–${b}`)).join(', ');
}
