// The panel's compare view: two or more explanations (prompts, or one prompt under two bundles) side by side,
// A the reference — every headline and each side's change from A, the word diff of each prompt against A's,
// each headline concept over the layers on every side, and the layer × concept difference heatmap of one side
// against A (a picker chooses which when there are more than two). Renders a Comparison
// (engine/src/compare.ts) made by the host; knows nothing about the VS Code API (main.ts wires messages).
import type { CompareSide, Comparison, SideChange, WordDiffPart } from '../../engine/src/compare';
import { points, sideLabel } from '../../engine/src/compare';
import { conceptColors, renderCompareCurves, renderDifferenceHeatmap, SIDE_DASHES, sideStyles } from './charts/compareCharts';
import { el } from './dom';
import { pct } from './format';
import { attachTooltip, createTooltip } from './tooltip';

/** Line charts never get narrower than this (a narrower card scales them down, see panel.css). */
const MIN_CHART_WIDTH = 300;
const PROMPT_PREVIEW_CHARS = 300;

/** What render() drew, for the 'rendered' report and tests. */
export type CompareChart = 'compare-curves' | 'compare-differences';

export class CompareView {
  private comparison?: Comparison;
  private readonly tooltip: HTMLElement;
  private readonly hosts = new Map<CompareChart, HTMLElement>();
  private chartWidth?: number;
  /** The side whose differences from A the heatmap shows (1: B). */
  private diffSide = 1;

  constructor(private readonly root: HTMLElement) {
    this.tooltip = createTooltip(root.ownerDocument);
  }

  /** Replaces the root's content with the comparison; returns the charts drawn (none when no layer is shared). */
  render(c: Comparison): CompareChart[] {
    this.comparison = c;
    this.diffSide = 1;
    const doc = this.root.ownerDocument;
    this.hosts.clear();
    const view = el(doc, 'div', 'compare-view');
    view.append(this.sides(c), ...c.changes.map((ch) => this.change(c, ch)), ...c.changes.map((ch) => this.textDiff(c, ch)));
    if (c.layers.length === 0) {
      view.append(el(doc, 'p', 'note', `The ${c.sides.length === 2 ? 'two' : c.sides.length} results share no scored layer: there are no curves or differences to compare.`));
    } else {
      view.append(
        this.card('compare-curves', `Headline concepts per layer: ${sideStyles(c.sides.length)}`, this.curveLegend(c)),
        this.card('compare-differences', differencesTitle(1), c.sides.length > 2 ? this.sidePicker(c) : undefined),
      );
    }
    const only = c.conceptsOnly.flatMap((names, k) => names.map((x) => `${x} (${sideLabel(k)})`));
    if (only.length) view.append(el(doc, 'p', 'note', `Not compared (not in every bank): ${only.join(', ')}.`));
    this.root.replaceChildren(view, this.tooltip);
    this.chartWidth = undefined;
    this.drawCharts();
    return [...this.hosts.keys()];
  }

  /** Redraws the charts when the panel's width changed enough to matter (they are sized at render time). */
  resized(): void {
    if (!this.comparison || this.chartWidth === undefined) return;
    const before = this.chartWidth;
    this.chartWidth = undefined;
    if (Math.abs(this.width() - before) >= 24) this.drawCharts();
    else this.chartWidth = before;
  }

  private drawCharts(): void {
    const c = this.comparison!;
    const curves = this.hosts.get('compare-curves');
    if (!curves || !this.hosts.has('compare-differences')) return;
    curves.replaceChildren();
    attachTooltip(renderCompareCurves(curves, c, this.width()), this.tooltip);
    this.drawDifferences();
  }

  private drawDifferences(): void {
    const c = this.comparison!;
    const host = this.hosts.get('compare-differences')!;
    host.replaceChildren();
    const heatmap = renderDifferenceHeatmap(host, c, c.changes[this.diffSide - 1], this.width());
    attachTooltip(heatmap.svg, this.tooltip, heatmap.tipFor);
  }

  /** More than two sides: which one the heatmap diffs against A. */
  private sidePicker(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const label = el(doc, 'label', 'compare-diff-side', 'Side compared with A: ');
    const select = el(doc, 'select', '') as HTMLSelectElement;
    for (const ch of c.changes) {
      const option = el(doc, 'option', '', `${sideLabel(ch.side)} — ${c.sides[ch.side].headline.concept}`) as HTMLOptionElement;
      option.value = String(ch.side);
      select.append(option);
    }
    select.addEventListener('change', () => {
      this.diffSide = Number(select.value);
      const title = this.root.querySelector('[data-chart="compare-differences"] .card-head h2');
      if (title) title.textContent = differencesTitle(this.diffSide);
      this.drawDifferences();
    });
    label.append(select);
    return label;
  }

  /** The chart area's width, read once per render (reading clientWidth forces a layout). */
  private width(): number {
    if (this.chartWidth === undefined) {
      const w = this.hosts.values().next().value?.clientWidth ?? 0;
      this.chartWidth = Math.max(MIN_CHART_WIDTH, w > 0 ? Math.floor(w) : 760);
    }
    return this.chartWidth;
  }

  private sides(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const wrap = el(doc, 'div', 'compare-sides');
    const sameText = c.sides.every((s) => s.text === c.sides[0].text);
    c.sides.forEach((s, k) => {
      const name = sideLabel(k);
      const side = el(doc, 'section', 'compare-side');
      side.dataset.side = name.toLowerCase();
      const top = el(doc, 'div', 'headline-top');
      top.append(el(doc, 'span', 'side-label', name), el(doc, 'span', 'concept', s.headline.concept), safetyBadge(doc, s));
      const facts = el(doc, 'p', 'compare-facts',
        `confidence ${pct(s.headline.confidence)} · margin ${pct(s.headline.margin)} · layer ${s.headline.layer}`);
      const where = el(doc, 'p', 'compare-where', `${s.bundle.name} · bank “${s.bank}”`);
      where.title = s.bundle.dir;
      side.append(top, facts, where);
      // One prompt under two bundles: the prompt is shown once, in the diff below.
      if (!sameText) side.append(el(doc, 'blockquote', 'prompt', preview(s.text)));
      wrap.append(side);
    });
    return wrap;
  }

  /** One side's headline change from A in words: which concept, the confidence in percentage points, the largest move. */
  private change(c: Comparison, ch: SideChange): HTMLElement {
    const doc = this.root.ownerDocument;
    const [a, x] = [c.sides[0], c.sides[ch.side]];
    const name = sideLabel(ch.side);
    const p = el(doc, 'p', `compare-change${ch.headlineChanged ? ' changed' : ''}`);
    p.dataset.side = name.toLowerCase();
    const verdict = el(doc, 'strong', '', `${c.sides.length > 2 ? `${name}: ` : ''}${ch.headlineChanged
      ? `Headline changed: ${a.headline.concept} → ${x.headline.concept}`
      : `Headline unchanged: ${a.headline.concept}`}`);
    const rest = [`confidence ${points(ch.confidenceChange)} percentage points (${name} − A)`];
    if (a.headline.safe !== x.headline.safe) rest.push(`safety ${safetyWord(a.headline.safe)} → ${safetyWord(x.headline.safe)}`);
    if (ch.largestChange) {
      rest.push(`largest move: ${ch.largestChange.concept} ${points(ch.largestChange.change)} points at layer ${ch.largestChange.layer}`);
    }
    p.append(verdict, doc.createTextNode(`; ${rest.join('; ')}.`));
    return p;
  }

  /** One side's word diff against A: A's words struck out (<del>), the side's underlined (<ins>), shared words plain. */
  private textDiff(c: Comparison, ch: SideChange): HTMLElement {
    const doc = this.root.ownerDocument;
    const name = sideLabel(ch.side);
    const section = el(doc, 'section', 'card compare-text-diff-card');
    section.dataset.side = name.toLowerCase();
    const head = el(doc, 'div', 'card-head');
    head.append(el(doc, 'h2', '', `Prompt: what changed from A to ${name}`));
    section.append(head);
    if (ch.textDiff.every((part) => part.op === 'same')) {
      const note = c.sides.length === 2 ? 'Both sides explain the same prompt.' : `${name} explains the same prompt as A.`;
      section.append(el(doc, 'p', 'note', note), el(doc, 'blockquote', 'prompt compare-text-diff', c.sides[0].text));
      return section;
    }
    const key = el(doc, 'p', 'compare-diff-key');
    key.append(diffPart(doc, { op: 'removed', text: 'struck out' }, name), doc.createTextNode(': only in A · '),
      diffPart(doc, { op: 'added', text: 'underlined' }, name), doc.createTextNode(`: only in ${name}`));
    const text = el(doc, 'blockquote', 'prompt compare-text-diff');
    text.append(...ch.textDiff.map((part) => diffPart(doc, part, name)));
    section.append(key, text);
    return section;
  }

  private curveLegend(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const bar = el(doc, 'div', 'legend compare-legend');
    const color = conceptColors(c);
    for (const h of c.headlineCurves) {
      h.values.forEach((_, k) => {
        const item = el(doc, 'span', 'legend-item');
        // The swatch draws the side's dash pattern, as its curves do.
        const swatch = el(doc, 'span', k > 0 ? 'swatch line dashed' : 'swatch line');
        swatch.dataset.side = sideLabel(k).toLowerCase();
        swatch.style.borderColor = color(h.concept);
        if (k > 1) Object.assign(swatch.style, { borderTop: 'none', height: '2px', backgroundImage: dashGradient(SIDE_DASHES[k], color(h.concept)) });
        item.append(swatch, doc.createTextNode(`${h.concept} (${sideLabel(k)})`));
        bar.append(item);
      });
    }
    return bar;
  }

  private card(id: CompareChart, title: string, extra?: HTMLElement): HTMLElement {
    const doc = this.root.ownerDocument;
    const section = el(doc, 'section', 'card');
    section.dataset.chart = id;
    const head = el(doc, 'div', 'card-head');
    head.append(el(doc, 'h2', '', title));
    section.append(head);
    if (extra) section.append(extra);
    const host = el(doc, 'div', `chart-host ${id === 'compare-curves' ? 'compare-curves' : 'compare-diff-heatmap'}`);
    section.append(host);
    this.hosts.set(id, host);
    return section;
  }
}

function diffPart(doc: Document, part: WordDiffPart, side: string): Node {
  if (part.op === 'same') return doc.createTextNode(part.text);
  const mark = el(doc, part.op === 'added' ? 'ins' : 'del', `diff-${part.op}`, part.text);
  mark.title = part.op === 'added' ? `only in ${side}` : 'only in A';
  return mark;
}

function differencesTitle(side: number): string {
  return `Probability change ${sideLabel(side)} − A, per layer and concept`;
}

/** A CSS gradient that repeats an SVG dash pattern ("9 3 2 3": on, off, on, off pixels) along a 2 px swatch line. */
function dashGradient(dashes: string, color: string): string {
  const lengths = dashes.split(' ').map(Number);
  let at = 0;
  const stops = lengths.map((len, i) => {
    const stop = `${i % 2 === 0 ? color : 'transparent'} ${at}px ${at + len}px`;
    at += len;
    return stop;
  });
  return `repeating-linear-gradient(to right, ${stops.join(', ')})`;
}

/** The side's verdict as the main view's badge shows it (null: the bank has no safe list, so unknown). */
function safetyBadge(doc: Document, s: CompareSide): HTMLElement {
  const word = safetyWord(s.headline.safe);
  return el(doc, 'vscode-badge', s.headline.safe === null ? 'unknown' : word, word);
}

function safetyWord(safe: boolean | null): string {
  return safe === null ? 'safety unknown' : safe ? 'safe' : 'unsafe';
}

function preview(text: string): string {
  return text.length > PROMPT_PREVIEW_CHARS ? `${text.slice(0, PROMPT_PREVIEW_CHARS)}…` : text;
}
