// The panel's compare view: two explanations (two prompts, or one prompt under two bundles) side by side —
// both headlines and the change, the word diff of the prompts, each headline concept over the layers on both
// sides, and the layer × concept difference heatmap. Renders a Comparison (engine/src/compare.ts) made by the
// host; knows nothing about the VS Code API (main.ts wires messages).
import type { CompareSide, Comparison, WordDiffPart } from '../../engine/src/compare';
import { points } from '../../engine/src/compare';
import { conceptColors, renderCompareCurves, renderDifferenceHeatmap } from './charts/compareCharts';
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

  constructor(private readonly root: HTMLElement) {
    this.tooltip = createTooltip(root.ownerDocument);
  }

  /** Replaces the root's content with the comparison; returns the charts drawn (none when no layer is shared). */
  render(c: Comparison): CompareChart[] {
    this.comparison = c;
    const doc = this.root.ownerDocument;
    this.hosts.clear();
    const view = el(doc, 'div', 'compare-view');
    view.append(this.sides(c), this.change(c), this.textDiff(c));
    if (c.layers.length === 0) {
      view.append(el(doc, 'p', 'note', 'The two results share no scored layer: there are no curves or differences to compare.'));
    } else {
      view.append(
        this.card('compare-curves', 'Headline concepts per layer: A solid, B dashed', this.curveLegend(c)),
        this.card('compare-differences', 'Probability change B − A, per layer and concept'),
      );
    }
    const only = [...c.conceptsOnly.a.map((x) => `${x} (A)`), ...c.conceptsOnly.b.map((x) => `${x} (B)`)];
    if (only.length) view.append(el(doc, 'p', 'note', `Not compared (in one bank only): ${only.join(', ')}.`));
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
    const differences = this.hosts.get('compare-differences');
    if (!curves || !differences) return;
    const width = this.width();
    curves.replaceChildren();
    differences.replaceChildren();
    attachTooltip(renderCompareCurves(curves, c, width), this.tooltip);
    const heatmap = renderDifferenceHeatmap(differences, c, width);
    attachTooltip(heatmap.svg, this.tooltip, heatmap.tipFor);
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
    const sameText = c.a.text === c.b.text;
    for (const [name, s] of [['A', c.a], ['B', c.b]] as const) {
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
    }
    return wrap;
  }

  /** The headline change in words: which concept, the confidence in percentage points, the largest move. */
  private change(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const p = el(doc, 'p', `compare-change${c.headlineChanged ? ' changed' : ''}`);
    const verdict = el(doc, 'strong', '', c.headlineChanged
      ? `Headline changed: ${c.a.headline.concept} → ${c.b.headline.concept}`
      : `Headline unchanged: ${c.a.headline.concept}`);
    const rest = [`confidence ${points(c.confidenceChange)} percentage points (B − A)`];
    if (c.a.headline.safe !== c.b.headline.safe) rest.push(`safety ${safetyWord(c.a.headline.safe)} → ${safetyWord(c.b.headline.safe)}`);
    if (c.largestChange) {
      rest.push(`largest move: ${c.largestChange.concept} ${points(c.largestChange.change)} points at layer ${c.largestChange.layer}`);
    }
    p.append(verdict, doc.createTextNode(`; ${rest.join('; ')}.`));
    return p;
  }

  /** The prompts' word diff: A's words struck out (<del>), B's underlined (<ins>), shared words plain. */
  private textDiff(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const section = el(doc, 'section', 'card compare-text-diff-card');
    const head = el(doc, 'div', 'card-head');
    head.append(el(doc, 'h2', '', 'Prompt: what changed from A to B'));
    section.append(head);
    if (c.textDiff.every((part) => part.op === 'same')) {
      section.append(el(doc, 'p', 'note', 'Both sides explain the same prompt.'), el(doc, 'blockquote', 'prompt compare-text-diff', c.a.text));
      return section;
    }
    const key = el(doc, 'p', 'compare-diff-key');
    key.append(diffPart(doc, { op: 'removed', text: 'struck out' }), doc.createTextNode(': only in A · '),
      diffPart(doc, { op: 'added', text: 'underlined' }), doc.createTextNode(': only in B'));
    const text = el(doc, 'blockquote', 'prompt compare-text-diff');
    text.append(...c.textDiff.map((part) => diffPart(doc, part)));
    section.append(key, text);
    return section;
  }

  private curveLegend(c: Comparison): HTMLElement {
    const doc = this.root.ownerDocument;
    const bar = el(doc, 'div', 'legend compare-legend');
    const color = conceptColors(c);
    for (const h of c.headlineCurves) {
      for (const [side, dashed] of [['A', false], ['B', true]] as const) {
        const item = el(doc, 'span', 'legend-item');
        const swatch = el(doc, 'span', dashed ? 'swatch line dashed' : 'swatch line');
        swatch.style.borderColor = color(h.concept);
        item.append(swatch, doc.createTextNode(`${h.concept} (${side})`));
        bar.append(item);
      }
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

function diffPart(doc: Document, part: WordDiffPart): Node {
  if (part.op === 'same') return doc.createTextNode(part.text);
  const mark = el(doc, part.op === 'added' ? 'ins' : 'del', `diff-${part.op}`, part.text);
  mark.title = part.op === 'added' ? 'only in B' : 'only in A';
  return mark;
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
