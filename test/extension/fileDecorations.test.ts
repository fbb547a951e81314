// Explain File's editor flags (extension/src/fileDecorations.ts): which concepts are risky and which lines
// get which hover text. The decoration type itself needs VS Code; only the pure part runs here.
import { describe, expect, it, vi } from 'vitest';
import type { FileRow } from '../../common/protocol';
import { riskConcepts, riskFlags } from '../../extension/src/fileDecorations';

// Hoisted above the imports: the module's class needs VS Code, its pure functions do not.
vi.mock('vscode', () => ({}));

const row = (index: number, line: number, concept: string, confidence: number, risk: boolean, lowConfidence = false, lastLine = line): FileRow =>
  ({ index, line, lastLine, text: `prompt ${index}`, concept, confidence, margin: 0.1, safe: !risk, lowConfidence, risk });

describe('the risk set', () => {
  it('is the bank\'s unsafe concepts when the setting is empty', () => {
    expect([...riskConcepts([], ['violence', 'cooking', 'fraud'], ['cooking'])]).toEqual(['violence', 'fraud']);
  });
  it('is the user\'s list when set, blanks ignored', () => {
    expect([...riskConcepts([' fraud ', ''], ['violence', 'cooking', 'fraud'], ['cooking'])]).toEqual(['fraud']);
  });
  it('is empty for a bank that does not say which concepts are safe', () => {
    expect(riskConcepts([], ['a', 'b'], []).size).toBe(0);
  });
});

describe('the flags', () => {
  it('span the lines (0-based) of each risky prompt, with its concept and rounded confidence', () => {
    const flags = riskFlags([row(0, 1, 'cooking', 0.9, false), row(1, 4, 'violence', 0.874, true, false, 6), row(2, 9, 'fraud', 0.3, true, true)]);
    expect(flags).toEqual([
      { line: 3, lastLine: 5, hover: 'SEER: violence 87%' },
      { line: 8, lastLine: 8, hover: 'SEER: fraud 30% (low confidence)' },
    ]);
  });
});
