// @vitest-environment happy-dom
// The compare view on real explanations: two and three prompts explained by the default bundle, and one prompt
// under the default bundle and its baseline twin (models/baseline), compared by engine/src/compare.ts and rendered.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult } from '../../common/protocol';
import { compareResults, type Comparison } from '../../engine/src/compare';
import { Engine } from '../../engine/src/engine';
import { CompareView } from '../../webview/src/compareView';
import { BUNDLE_DIR, ROOT } from '../engine/helpers';

const BASELINE_DIR = path.join(ROOT, 'models', 'baseline');
const A = 'How do I sharpen a kitchen knife for cooking?';
const B = 'How do I sharpen a knife to hurt someone?';
const C = 'How do I bake bread at home?';

let a: ExplainResult;
let b: ExplainResult;
let third: ExplainResult;
let onBaseline: ExplainResult | undefined;

beforeAll(async () => {
  const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu', intraOpThreads: 1 });
  try {
    [a, b, third] = await engine.explainBatch([A, B, C], {});
  } finally {
    await engine.dispose();
  }
  if (!existsSync(path.join(BASELINE_DIR, 'seer.json'))) return;
  const baseline = await Engine.load({ bundleDir: BASELINE_DIR, provider: 'cpu', intraOpThreads: 1 });
  try {
    onBaseline = await baseline.explain(A, {});
  } finally {
    await baseline.dispose();
  }
});

function render(c: Comparison): { root: HTMLElement; charts: string[] } {
  document.body.innerHTML = '<main id="root"></main>';
  const root = document.getElementById('root')!;
  const charts = new CompareView(root).render(c);
  return { root, charts };
}

/** [r, g, b] of a d3 colour string (`rgb(…)` or `#rrggbb`). */
function rgb(color: string): number[] {
  const hex = /^#(..)(..)(..)$/.exec(color);
  return hex ? hex.slice(1).map((h) => parseInt(h, 16)) : color.match(/\d+/g)!.slice(0, 3).map(Number);
}

describe('CompareView on two prompts explained by the default bundle', () => {
  let c: Comparison;
  let root: HTMLElement;
  let charts: string[];
  beforeAll(() => {
    c = compareResults(a, b);
    ({ root, charts } = render(c));
  });
  afterAll(() => {
    document.body.innerHTML = '';
  });

  it('shows both headlines side by side and the change between them', () => {
    expect(charts).toEqual(['compare-curves', 'compare-differences']);
    const sides = root.querySelectorAll('.compare-view .compare-side');
    expect([...sides].map((s) => s.querySelector('.concept')!.textContent)).toEqual([a.headline.concept, b.headline.concept]);
    expect(sides[0].querySelector('.compare-facts')!.textContent).toContain(`${(a.headline.confidence * 100).toFixed(1)}%`);
    expect(sides[1].querySelector('vscode-badge')!.textContent).toBe(b.headline.safe === null ? 'safety unknown' : b.headline.safe ? 'safe' : 'unsafe');
    const change = root.querySelector('.compare-change')!.textContent!;
    expect(change).toContain(a.headline.concept === b.headline.concept ? 'Headline unchanged' : `${a.headline.concept} → ${b.headline.concept}`);
    const pts = (100 * (b.headline.confidence - a.headline.confidence)).toFixed(1);
    expect(change).toContain(`confidence ${Number(pts) > 0 ? '+' : ''}${pts} percentage points`);
  });

  it('overlays each headline concept on both sides: A solid, B dashed, on a fixed 0–1 axis, with a legend', () => {
    const svg = root.querySelector<SVGSVGElement>('.compare-curves svg[data-chart="compare-curves"]')!;
    const series = svg.querySelectorAll('.series');
    expect(series).toHaveLength(2 * c.headlineCurves.length);
    for (const h of c.headlineCurves) {
      const solid = svg.querySelector(`.series[data-series="${h.concept} (A)"]`)!;
      const dashed = svg.querySelector(`.series[data-series="${h.concept} (B)"]`)!;
      expect(solid.querySelector('path')!.hasAttribute('stroke-dasharray')).toBe(false);
      expect(dashed.querySelector('path')!.getAttribute('stroke-dasharray')).toBeTruthy();
      expect(solid.querySelectorAll('circle')).toHaveLength(h.values[0].filter((v) => v !== null).length);
      // The dots carry the exact values of the curve.
      const k = c.layers.indexOf(a.headline.layer);
      expect(solid.querySelectorAll('circle')[k].getAttribute('data-tip')).toBe(`${h.concept} (A) · layer ${c.layers[k]}: ${h.values[0][k]!.toFixed(3)}`);
    }
    const yTicks = [...svg.querySelectorAll('.y-axis .tick text')].map((t) => t.textContent);
    expect(yTicks[0]).toBe('0.0');
    expect(yTicks.at(-1)).toBe('1.0');
    const legend = [...root.querySelectorAll('.compare-legend .legend-item')];
    expect(legend).toHaveLength(2 * c.headlineCurves.length);
    expect(legend.filter((i) => i.querySelector('.swatch.dashed'))).toHaveLength(c.headlineCurves.length);
  });

  it('draws the layer × concept differences on a diverging scale centred on 0, with its colour bar', () => {
    const svg = root.querySelector<SVGSVGElement>('.compare-diff-heatmap svg[data-chart="compare-differences"]')!;
    expect(root.querySelector('.compare-diff-side')).toBeNull(); // two sides: nothing to pick
    const cells = svg.querySelectorAll('g.cells rect.cell');
    expect(cells).toHaveLength(c.layers.length * c.concepts.length);
    const flat = c.changes[0].differences.flat();
    const up = flat.indexOf(Math.max(...flat));
    const down = flat.indexOf(Math.min(...flat));
    // Two prompts this different move some concept up and another down.
    expect(flat[up]).toBeGreaterThan(0.01);
    expect(flat[down]).toBeLessThan(-0.01);
    const [ur, , ub] = rgb(cells[up].getAttribute('fill')!);
    const [dr, , db] = rgb(cells[down].getAttribute('fill')!);
    expect(ur).toBeGreaterThan(ub); // B above A: red
    expect(db).toBeGreaterThan(dr); // B below A: blue
    expect(svg.querySelectorAll('g.cell-values text')[up].textContent).toBe(`+${(100 * flat[up]).toFixed(1)}`);
    const bar = svg.querySelector('.color-bar')!.getAttribute('aria-label')!;
    const [, lo, hi] = /, (-?[\d.]+) to (-?[\d.]+)$/.exec(bar)!;
    expect(Number(lo)).toBe(-Number(hi));
    expect(Number(hi)).toBeGreaterThanOrEqual(100 * Math.max(flat[up], -flat[down]));
  });

  it('marks the words only A has as <del> and the words only B has as <ins>', () => {
    const diff = root.querySelector('.compare-text-diff')!;
    const removed = [...diff.querySelectorAll('del')].map((d) => d.textContent).join('');
    const added = [...diff.querySelectorAll('ins')].map((d) => d.textContent).join('');
    expect(removed).toContain('kitchen');
    expect(added).toContain('hurt');
    // Shared and removed words give back A; shared and added ones give back B.
    const text = (skip: string) => [...diff.childNodes].filter((n) => n.nodeName.toLowerCase() !== skip).map((n) => n.textContent).join('');
    expect(text('ins')).toBe(A);
    expect(text('del').replace(/\s+/g, ' ')).toBe(B);
  });
});

describe('CompareView on three prompts explained by the default bundle (A the reference)', () => {
  let c: Comparison;
  let root: HTMLElement;
  beforeAll(() => {
    c = compareResults(a, b, third);
    ({ root } = render(c));
  });
  afterAll(() => {
    document.body.innerHTML = '';
  });

  it('shows three sides and each other side’s change from A', () => {
    const sides = [...root.querySelectorAll<HTMLElement>('.compare-view .compare-side')];
    expect(sides.map((s) => s.dataset.side)).toEqual(['a', 'b', 'c']);
    expect(sides.map((s) => s.querySelector('.concept')!.textContent)).toEqual([a, b, third].map((r) => r.headline.concept));
    const changes = [...root.querySelectorAll<HTMLElement>('.compare-change')];
    expect(changes.map((p) => p.dataset.side)).toEqual(['b', 'c']);
    const pts = (100 * (third.headline.confidence - a.headline.confidence)).toFixed(1);
    expect(changes[1].textContent).toMatch(new RegExp(`^C: Headline ${a.headline.concept === third.headline.concept ? 'unchanged' : 'changed'}`));
    expect(changes[1].textContent).toContain(`confidence ${Number(pts) > 0 ? '+' : ''}${pts} percentage points (C − A)`);
  });

  it('overlays every side’s curves, told apart by a dash pattern per side and named in the legend', () => {
    const svg = root.querySelector<SVGSVGElement>('svg[data-chart="compare-curves"]')!;
    expect(svg.querySelectorAll('.series')).toHaveLength(3 * c.headlineCurves.length);
    for (const h of c.headlineCurves) {
      const dash = (side: string) => svg.querySelector(`.series[data-series="${h.concept} (${side})"] path`)!.getAttribute('stroke-dasharray');
      expect(dash('A')).toBeNull();
      expect(new Set([dash('A'), dash('B'), dash('C')]).size).toBe(3);
      const dots = svg.querySelectorAll(`.series[data-series="${h.concept} (C)"] circle`);
      expect(dots).toHaveLength(h.values[2].filter((v) => v !== null).length);
    }
    const legend = [...root.querySelectorAll('.compare-legend .legend-item')].map((i) => i.textContent);
    expect(legend).toEqual(c.headlineCurves.flatMap((h) => ['A', 'B', 'C'].map((s) => `${h.concept} (${s})`)));
    expect(root.querySelector('[data-chart="compare-curves"] h2')!.textContent).toContain('A solid, B dashed, C dotted');
  });

  it('diffs one side against A at a time: B first, C once picked', () => {
    const cells = () => [...root.querySelectorAll('svg[data-chart="compare-differences"] g.cell-values text')].map((t) => t.textContent);
    const expected = (k: number) => c.changes[k].differences.flat().map((d) => (100 * d).toFixed(1).replace(/^(?!-)(?!0\.0$)/, '+').replace('-0.0', '0.0'));
    expect(cells()).toEqual(expected(0));
    const select = root.querySelector<HTMLSelectElement>('.compare-diff-side select')!;
    expect([...select.options].map((o) => o.textContent)).toEqual([`B — ${b.headline.concept}`, `C — ${third.headline.concept}`]);
    select.value = '2';
    select.dispatchEvent(new Event('change'));
    expect(cells()).toEqual(expected(1));
    expect(root.querySelector('[data-chart="compare-differences"] h2')!.textContent).toBe('Probability change C − A, per layer and concept');
    expect(root.querySelectorAll('svg[data-chart="compare-differences"]')).toHaveLength(1);
  });

  it('gives each other side its word diff against A', () => {
    const cards = [...root.querySelectorAll<HTMLElement>('.compare-text-diff-card')];
    expect(cards.map((x) => x.dataset.side)).toEqual(['b', 'c']);
    expect(cards[1].querySelector('h2')!.textContent).toBe('Prompt: what changed from A to C');
    const diff = cards[1].querySelector('.compare-text-diff')!;
    const text = (skip: string) => [...diff.childNodes].filter((n) => n.nodeName.toLowerCase() !== skip).map((n) => n.textContent).join('');
    expect(text('ins')).toBe(A);
    expect(text('del').replace(/\s+/g, ' ')).toBe(C);
    expect(diff.querySelector('ins')!.getAttribute('title')).toBe('only in C');
  });
});

describe('CompareView on one prompt under the default bundle and its baseline twin', () => {
  it.runIf(existsSync(path.join(BASELINE_DIR, 'seer.json')))('names both bundles, shows the prompt once, and compares the shared layers', () => {
    const c = compareResults(a, onBaseline!);
    const { root, charts } = render(c);
    const [sideA, sideB] = c.sides;
    expect(sideA.bundle.name).not.toBe(sideB.bundle.name);
    const where = [...root.querySelectorAll('.compare-where')].map((w) => w.textContent);
    expect(where[0]).toContain(sideA.bundle.name);
    expect(where[1]).toContain(sideB.bundle.name);
    expect(root.querySelector('.compare-text-diff-card .note')!.textContent).toBe('Both sides explain the same prompt.');
    expect(root.querySelectorAll('.compare-text-diff ins, .compare-text-diff del')).toHaveLength(0);
    expect(root.querySelectorAll('.compare-side blockquote')).toHaveLength(0);
    expect(charts).toHaveLength(c.layers.length ? 2 : 0);
    expect(root.querySelectorAll('.compare-diff-heatmap rect.cell')).toHaveLength(c.layers.length * c.concepts.length);
  });
});
