import { describe, expect, it } from 'vitest';
import { MAX_PROMPT_CHARS, parsePromptFile, pickPrompt, PromptError } from '../../extension/src/promptText';
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
    expect(() => pickPrompt('PK\u0003\u0004\u0000\u0000binary', [], 0)).toThrow(/binary/);
  });
});

describe('parsePromptFile', () => {
  it('splits text and markdown on blank lines', () => {
    expect(parsePromptFile('p.txt', 'one\ncontinued\n\n\ntwo\n')).toEqual(['one\ncontinued', 'two']);
  });
  it('reads jsonl prompt/text fields and bare strings, naming the bad line', () => {
    expect(parsePromptFile('p.jsonl', '{"prompt":"a"}\n\n{"text":"b"}\n"c"\n')).toEqual(['a', 'b', 'c']);
    expect(() => parsePromptFile('p.jsonl', '{"prompt":"a"}\n{oops}\n')).toThrow('p.jsonl:2: not valid JSON');
    expect(() => parsePromptFile('p.jsonl', '{"label":"x"}')).toThrow(/p.jsonl:1: no text field/);
  });
  it('reads the prompt column of a csv, with quoted newlines', () => {
    expect(parsePromptFile('p.csv', 'id,prompt\n1,"multi\nline"\n2,plain\n')).toEqual(['multi\nline', 'plain']);
  });
  it('refuses other extensions and empty files', () => {
    expect(() => parsePromptFile('p.exe', 'x')).toThrow(/not a prompt file/);
    expect(() => parsePromptFile('p.txt', '\n\n  \n')).toThrow(/no prompts found/);
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
