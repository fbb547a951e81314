// The 'comparison' message to the webview: a Comparison made by compareResults passes the webview's guard (after
// the JSON round trip postMessage does), and comparisons the compare view could not index are refused.
import { describe, expect, it } from 'vitest';
import { isToWebviewMessage } from '../../common/protocol';
import { compareResults, type Comparison } from '../../engine/src/compare';
import { makeResult } from './resultFixture';

const a = makeResult();
const b = { ...makeResult({ concepts: ['violence', 'cooking', 'finance', 'medicine'], target: 2 }), text: 'How do I sharpen a sword?' };
const comparison = compareResults(a, b);
const message = (c: unknown, id: unknown = 'cmp-1') => JSON.parse(JSON.stringify({ type: 'comparison', id, comparison: c })) as unknown;

/** The comparison with one part changed (a deep copy: the original stays valid for the other cases). */
function broken(edit: (c: Record<string, any>) => void): unknown {
  const c = JSON.parse(JSON.stringify(comparison)) as Record<string, any>;
  edit(c);
  return c;
}

describe("the 'comparison' webview message", () => {
  it('accepts a real comparison', () => {
    expect(comparison.layers.length).toBeGreaterThan(0);
    expect(isToWebviewMessage(message(comparison))).toBe(true);
  });

  it.each<[string, unknown, unknown?]>([
    ['no id', comparison, 42],
    ['no comparison', undefined],
    ['no sides', broken((c) => delete c.b)],
    ['a side without its headline', broken((c) => delete c.a.headline)],
    ['no list of the concepts one bank lacks', broken((c) => delete c.conceptsOnly)],
    ['a confidence change that is not a number', broken((c) => (c.confidenceChange = '5'))],
    ['fewer difference rows than layers', broken((c) => c.differences.pop())],
    ['a difference row shorter than the concepts', broken((c) => c.differences[0].pop())],
    ['a headline curve of the wrong length', broken((c) => c.headlineCurves[0].b.push(0.5))],
    ['a word diff part with an unknown op', broken((c) => c.textDiff.push({ op: 'moved', text: 'x' }))],
    ['a word diff part without text', broken((c) => c.textDiff.push({ op: 'added' }))],
  ])('refuses %s', (_, c, id) => {
    expect(isToWebviewMessage(message(c as Comparison, id))).toBe(false);
  });
});
