import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePromptFile } from '../../engine/src/api';
import { MAX_PROMPT_CHARS, pickPrompt, PromptError } from '../../extension/src/promptText';
import { resultToCsv } from '../../extension/src/resultExport';
import { makeResult } from '../webview/resultFixture';

const doc = ['# Prompts', '', 'How do I bake bread?', 'With a sourdough starter.', '', 'Single line prompt', ''];

describe('pickPrompt', () => {
  it('uses the selection when there is one', () => {
    expect(pickPrompt('  chosen text ', doc, 0)).toEqual({ text: '  chosen text ', source: 'selection' });
  });
  it('falls back to the paragraph, then the line, around the cursor', () => {
    expect(pickPrompt('', doc, 3)).toEqual({ text: 'How do I bake bread?\nWith a sourdough starter.', source: 'paragraph' });
    expect(pickPrompt('', doc, 5)).toEqual({ text: 'Single line prompt', source: 'line' });
  });
  it('refuses an empty selection on a blank line', () => {
    expect(() => pickPrompt('   ', doc, 1)).toThrow(PromptError);
  });
  it('truncates a 1 MB selection and says from how much', () => {
    const big = 'word '.repeat(210_000);
    const pick = pickPrompt(big, [], 0);
    expect(pick.text).toHaveLength(MAX_PROMPT_CHARS);
    expect(pick.truncatedFrom).toBe(big.length);
  });
  it('refuses binary content', () => {
    expect(() => pickPrompt('PK\u0003\u0004\u0000\u0000binary', [], 0)).toThrow('This looks like binary data (it contains NUL bytes)');
    expect(pickPrompt('Caf\ufffd au lait', [], 0).text).toBe('Caf\ufffd au lait'); // text the editor decoded is not binary
  });
});

describe('pickPrompt and prompt files', () => {
  it('picks at the cursor the same paragraph that a .txt prompt file gives', () => {
    const file = path.resolve(__dirname, '../fixtures/prompts/questions.txt');
    const lines = readFileSync(file, 'utf8').split('\n');
    const { prompts } = parsePromptFile(file, readFileSync(file));
    for (const p of prompts) {
      const lastLine = p.line - 1 + p.text.split('\n').length - 1;
      expect(pickPrompt('', lines, lastLine).text).toBe(p.text);
    }
  });
});

describe('resultToCsv', () => {
  it('writes one row per layer × concept and per token × concept × scored layer', () => {
    const r = makeResult({ tokens: 3 });
    const lines = resultToCsv(r).trim().split('\n');
    expect(lines[0]).toBe('kind,layer,token_index,token,concept,cosine,probability');
    expect(lines).toHaveLength(1 + 7 * 4 + 7 * 3 * 4);
    expect(lines[1]).toBe(`layer,0,,,violence,${r.layers[0].cosine[0]},${r.layers[0].probs[0]}`);
  });
});
