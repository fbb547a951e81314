// The 'comparison' message to the webview: a Comparison made by compareResults passes the webview's guard (after
// the JSON round trip postMessage does), and comparisons the compare view could not index are refused.
import { describe, expect, it } from 'vitest';
import { isToWebviewMessage } from '../../common/protocol';
import { compareResults, type Comparison } from '../../engine/src/compare';
import { makeResult } from './resultFixture';

const a = makeResult();
const b = { ...makeResult({ concepts: ['violence', 'cooking', 'finance', 'medicine'], target: 2 }), text: 'How do I sharpen a sword?' };
const comparison = compareResults(a, b);
const three = compareResults(a, b, { ...makeResult({ target: 3 }), text: 'How do I sharpen a pencil?' });
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

  it('accepts a real comparison of three sides', () => {
    expect(three.changes).toHaveLength(2);
    expect(isToWebviewMessage(message(three))).toBe(true);
  });

  it.each<[string, unknown, unknown?]>([
    ['no id', comparison, 42],
    ['no comparison', undefined],
    ['no sides', broken((c) => delete c.sides)],
    ['one side only', broken((c) => c.sides.pop())],
    ['a side without its headline', broken((c) => delete c.sides[0].headline)],
    ['no list of the concepts one bank lacks', broken((c) => delete c.conceptsOnly)],
    ['a list of lacking concepts per side that misses a side', broken((c) => c.conceptsOnly.pop())],
    ['no change for the other side', broken((c) => c.changes.pop())],
    ['a change that names the wrong side', broken((c) => (c.changes[0].side = 2))],
    ['a confidence change that is not a number', broken((c) => (c.changes[0].confidenceChange = '5'))],
    ['fewer difference rows than layers', broken((c) => c.changes[0].differences.pop())],
    ['a difference row shorter than the concepts', broken((c) => c.changes[0].differences[0].pop())],
    ['a headline curve of the wrong length', broken((c) => c.headlineCurves[0].values[1].push(0.5))],
    ['a headline curve missing a side', broken((c) => c.headlineCurves[0].values.pop())],
    ['a word diff part with an unknown op', broken((c) => c.changes[0].textDiff.push({ op: 'moved', text: 'x' }))],
    ['a word diff part without text', broken((c) => c.changes[0].textDiff.push({ op: 'added' }))],
  ])('refuses %s', (_, c, id) => {
    expect(isToWebviewMessage(message(c as Comparison, id))).toBe(false);
  });
});
