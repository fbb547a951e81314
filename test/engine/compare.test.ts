// compareResults and diffWords as pure functions on ExplainResult fixtures (the CLI over the real bundle: compareCli.test.ts).
import { describe, expect, it } from 'vitest';
import type { ExplainResult } from '../../common/protocol';
import { compareResults, DIFF_MAX_WORDS, diffWords, MAX_COMPARE_SIDES, type WordDiffPart } from '../../engine/src/compare';
import { renderComparison, TABLE_CONCEPTS } from '../../engine/src/report/comparisonReport';
import type { Style } from '../../engine/src/report/terminalStyle';
import { makeResult } from '../webview/resultFixture';

/** A fixture whose target layer (and so headline) is `target`: concept c peaks at layer c in makeResult. */
const at = (target: number, text: string, concepts?: string[]): ExplainResult => ({ ...makeResult({ target, concepts }), text });
const joined = (parts: WordDiffPart[], keep: WordDiffPart['op'][]) => parts.filter((p) => keep.includes(p.op)).map((p) => p.text).join('');

describe('compareResults', () => {
  it('reports the headline change, the confidence change and both headline curves on both sides', () => {
    const a = at(1, 'how do I bake bread');
    const b = at(3, 'how do I make a bomb');
    const c = compareResults(a, b);
    expect(c.sides.map((x) => x.headline.concept)).toEqual([a.headline.concept, b.headline.concept]);
    expect(a.headline.concept).not.toBe(b.headline.concept);
    expect(c.changes).toHaveLength(1);
    expect(c.changes[0].side).toBe(1);
    expect(c.changes[0].headlineChanged).toBe(true);
    expect(c.changes[0].confidenceChange).toBeCloseTo(b.headline.confidence - a.headline.confidence, 12);
    expect(c.layers).toEqual(a.layers.map((l) => l.layer));
    expect(c.headlineCurves.map((h) => h.concept)).toEqual([a.headline.concept, b.headline.concept]);
    // A's headline curve on side A is A's own trajectory.
    expect(c.headlineCurves[0].values[0]).toEqual(a.headline.trajectory);
    const bi = b.concepts.indexOf(a.headline.concept);
    expect(c.headlineCurves[0].values[1]).toEqual(b.layers.map((l) => l.probs[bi]));
  });

  it('differences are B minus A per layer and concept, and the largest change is found', () => {
    const a = at(1, 'x');
    // B: the same result with one probability moved at one layer.
    const b = structuredClone(a);
    b.layers[5].probs[2] += 0.3;
    b.layers[5].probs[0] -= 0.1;
    const c = compareResults(a, b);
    expect(c.changes[0].headlineChanged).toBe(false);
    expect(c.changes[0].confidenceChange).toBe(0);
    expect(c.headlineCurves).toHaveLength(1);
    c.changes[0].differences.forEach((row, i) => row.forEach((d, j) => {
      const expected = i === 5 && j === 2 ? 0.3 : i === 5 && j === 0 ? -0.1 : 0;
      expect(d).toBeCloseTo(expected, 12);
    }));
    expect(c.changes[0].largestChange).toEqual({ concept: a.concepts[2], layer: 5, change: expect.closeTo(0.3, 12) });
  });

  it('compares only the concepts and layers both sides have, and names the rest', () => {
    const a = at(1, 'x', ['violence', 'cooking', 'finance', 'medicine']);
    const b = { ...at(1, 'x', ['cooking', 'violence', 'travel', 'medicine']) };
    b.layers = b.layers.slice(2); // a bundle scored from layer 2 only
    const c = compareResults(a, b);
    expect(c.concepts).toEqual(['violence', 'cooking', 'medicine']);
    expect(c.conceptsOnly).toEqual([['finance'], ['travel']]);
    expect(c.layers).toEqual(b.layers.map((l) => l.layer));
    // The columns follow names, not positions: violence is index 0 in A and 1 in B.
    const row = c.changes[0].differences[0];
    expect(row[0]).toBeCloseTo(b.layers[0].probs[1] - a.layers[2].probs[0], 12);
    // A headline concept a side's bank lacks reads null on that side.
    const onlyA = compareResults({ ...a, headline: { ...a.headline, concept: 'finance' } }, b);
    expect(onlyA.headlineCurves[0].values[1].every((p) => p === null)).toBe(true);
  });

  it('compares every other side with A: per side its change, its differences and its word diff; curves on every side', () => {
    const a = at(1, 'how do I bake bread');
    const b = structuredClone(a);
    b.text = 'how do I bake a cake';
    b.layers[4].probs[1] += 0.2;
    const c3 = { ...at(3, 'how do I make a bomb') };
    const c = compareResults(a, b, c3);
    expect(c.sides.map((x) => x.text)).toEqual([a.text, b.text, c3.text]);
    expect(c.changes.map((ch) => ch.side)).toEqual([1, 2]);
    expect(c.changes.map((ch) => ch.headlineChanged)).toEqual([false, true]);
    expect(c.changes[1].confidenceChange).toBeCloseTo(c3.headline.confidence - a.headline.confidence, 12);
    // Each change is against A, never against the side before it: the same as the pairwise comparison.
    const pairwise = compareResults(a, c3).changes[0];
    expect(c.changes[1]).toEqual({ ...pairwise, side: 2 });
    expect(c.changes[0].largestChange).toEqual({ concept: a.concepts[1], layer: 4, change: expect.closeTo(0.2, 12) });
    expect(c.changes[0].textDiff).toEqual([{ op: 'same', text: 'how do I bake ' }, { op: 'removed', text: 'bread' }, { op: 'added', text: 'a cake' }]);
    // One curve per distinct headline (A and B share one), each with a line per side.
    expect(c.headlineCurves.map((h) => h.concept)).toEqual([a.headline.concept, c3.headline.concept]);
    expect(c.headlineCurves.every((h) => h.values.length === 3 && h.values.every((v) => v.length === c.layers.length))).toBe(true);
    const ci = c3.concepts.indexOf(c3.headline.concept);
    expect(c.headlineCurves[1].values[2]).toEqual(c3.layers.map((l) => l.probs[ci]));
  });

  it('takes 2 to MAX_COMPARE_SIDES results, and keeps only what every side shares', () => {
    const a = at(1, 'x', ['violence', 'cooking', 'finance']);
    expect(() => compareResults(a)).toThrow(/2 to 6 explanations, got 1/);
    expect(() => compareResults(a, ...Array.from({ length: MAX_COMPARE_SIDES }, () => a))).toThrow(/got 7/);
    const b = at(1, 'y', ['violence', 'cooking', 'travel']);
    const short = { ...at(1, 'z', ['cooking', 'violence', 'finance']) };
    short.layers = short.layers.slice(3);
    const c = compareResults(a, b, short);
    expect(c.concepts).toEqual(['violence', 'cooking']);
    expect(c.conceptsOnly).toEqual([['finance'], ['travel'], ['finance']]);
    expect(c.layers).toEqual(short.layers.map((l) => l.layer));
    expect(c.changes.every((ch) => ch.differences.length === c.layers.length && ch.differences.every((r) => r.length === 2))).toBe(true);
  });
});

describe('diffWords', () => {
  it('marks the words that changed and keeps each prompt recoverable', () => {
    const before = 'How do I bake  bread at home?';
    const after = 'How do I make a bomb at home?';
    const parts = diffWords(before, after);
    expect(parts).toEqual([
      { op: 'same', text: 'How do I ' },
      { op: 'removed', text: 'bake  bread ' },
      { op: 'added', text: 'make a bomb ' },
      { op: 'same', text: 'at home?' },
    ]);
    expect(joined(parts, ['same', 'removed'])).toBe(before);
  });

  it('ignores whitespace-only changes, and handles empty and identical prompts', () => {
    expect(diffWords('a b\nc', 'a  b c')).toEqual([{ op: 'same', text: 'a b\nc' }]);
    expect(diffWords('', 'new words')).toEqual([{ op: 'added', text: 'new words' }]);
    expect(diffWords('old', '')).toEqual([{ op: 'removed', text: 'old' }]);
    expect(diffWords('', '')).toEqual([]);
  });

  it('finds an insertion in the middle and a word moved', () => {
    expect(diffWords('tell me a story', 'tell me a scary story')).toEqual([
      { op: 'same', text: 'tell me a ' }, { op: 'added', text: 'scary ' }, { op: 'same', text: 'story' },
    ]);
    const moved = diffWords('red green blue', 'green blue red');
    expect(joined(moved, ['same'])).toBe('green blue');
    expect(joined(moved, ['added']).trim()).toBe('red');
  });

  it('stays bounded on very long prompts and still gives back A', () => {
    const words = Array.from({ length: DIFF_MAX_WORDS * 3 }, (_, i) => `w${i % 97}`);
    const before = words.join(' ');
    const after = words.map((w, i) => (i % 500 === 0 ? 'CHANGED' : w)).join(' ');
    const started = performance.now();
    const parts = diffWords(before, after);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(joined(parts, ['same', 'removed'])).toBe(before);
    expect(joined(parts, ['added'])).toContain('CHANGED');
  });
});

describe('renderComparison (the text of seer compare)', () => {
  const plain: Style = { bold: (x) => x, dim: (x) => x, red: (x) => x, green: (x) => x, yellow: (x) => x, cyan: (x) => x };
  const concepts = ['violence', 'cooking', 'finance', 'medicine', 'travel', 'science', 'sports', 'music'];

  it('shows both headlines, the change, the word diff and one table row per layer', () => {
    const a = at(1, 'how do I bake bread', concepts);
    const b = at(3, 'how do I make a bomb', concepts);
    const c = compareResults(a, b);
    const text = renderComparison(c, plain);
    const lines = text.split('\n');
    expect(lines.find((l) => l.startsWith('headline'))).toMatch(new RegExp(`^headline\\s+${a.headline.concept} \\d+\\.\\d% \\(margin \\d\\.\\d\\d\\) (safe|UNSAFE)\\s+${b.headline.concept} `));
    expect(text).toContain(`headline ${a.headline.concept} → ${b.headline.concept}`);
    expect(text).toContain('words     how do I [-bake bread-] {+make a bomb+}');
    expect(text).toContain(`(the ${TABLE_CONCEPTS} concepts that moved most; ${concepts.length - TABLE_CONCEPTS} more in --json)`);
    const rows = lines.filter((l) => /^\s+\d+(\s+[+-]?\d+\.\d)+$/.test(l));
    expect(rows.map((r) => Number(r.trim().split(/\s+/)[0]))).toEqual(c.layers);
    // The first column is the concept that moved most, with its largest change in points.
    const header = lines.find((l) => l.trim().startsWith('layer '))!;
    expect(header.trim().split(/\s+/)[1]).toBe(c.changes[0].largestChange!.concept);
    expect(text).toContain(`${(100 * c.changes[0].largestChange!.change).toFixed(1)}`);
  });

  it('three prompts: every headline in its column, a change, a word diff and a table per side against A', () => {
    const a = at(1, 'how do I bake bread', concepts);
    const b = at(3, 'how do I make a bomb', concepts);
    const c3 = at(2, 'how do I bake a cake', concepts);
    const c = compareResults(a, b, c3);
    const text = renderComparison(c, plain);
    const lines = text.split('\n');
    expect(lines[0].trim().split(/\s+/)).toEqual(['A', 'B', 'C']);
    expect(lines.find((l) => l.startsWith('headline'))).toMatch(new RegExp(`^headline\\s+${a.headline.concept} .*\\s${b.headline.concept} .*\\s${c3.headline.concept} `));
    expect(text).toContain(`change B  headline ${a.headline.concept} → ${b.headline.concept}`);
    expect(text).toContain(`change C  headline ${a.headline.concept} → ${c3.headline.concept}`);
    expect(text).toContain('words B   how do I [-bake bread-] {+make a bomb+}');
    expect(text).toContain('words C   how do I bake [-bread-] {+a cake+}');
    expect(text).toContain('probability change B − A');
    expect(text).toContain('probability change C − A');
    expect(text).toContain('over the layers (A | B | C)');
    expect(lines.filter((l) => /^\s+\d+(\s+[+-]?\d+\.\d)+$/.test(l))).toHaveLength(2 * c.layers.length);
  });

  it('says when nothing can be compared per layer', () => {
    const a = at(1, 'x');
    const b = { ...at(1, 'x'), layers: [] };
    expect(renderComparison(compareResults(a, b), plain)).toContain('share no scored layer');
  });
});
