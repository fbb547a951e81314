import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetPreview } from '../../engine/src/api';
import { preferredTextColumn, sampleValues } from '../../extension/src/columnChoice';

const dir = mkdtempSync(path.join(tmpdir(), 'seer-column-choice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

const TEMPLATE = 'Answer the question below as briefly as you can.';
const templatedCsv = [
  'prompt,question,label,score',
  `"${TEMPLATE}","How do I reset my password if I lost the email?",account,1`,
  `"${TEMPLATE}","",billing,2`,
  `"${TEMPLATE}","Why was I charged twice for the same order this month?",billing,3`,
  `"${TEMPLATE}","Can I change the delivery address after ordering?",shipping,4`,
].join('\n');

describe('datasetPreview + sampleValues (the column pickers\' details)', () => {
  it('shows the first three non-empty values of a CSV column, each cut to ~40 characters', async () => {
    const preview = await datasetPreview(file('t.csv', `${templatedCsv}\n`), 50);
    expect(preview.columns).toEqual(['prompt', 'question', 'label', 'score']);
    expect(preview.rows).toHaveLength(4);
    const question = sampleValues(preview, 'question');
    expect(question.split(' · ')).toEqual([
      'How do I reset my password if I lost th…',
      'Why was I charged twice for the same or…',
      'Can I change the delivery address after…',
    ]);
    expect(sampleValues(preview, 'label')).toBe('account · billing · billing');
  });

  it('reads JSONL objects (nested values as JSON, lines that are not objects passed over) and stops at maxRows', async () => {
    const jsonl = file('t.jsonl', [
      '{"text":"first\\n  line","label":"a","meta":{"k":1}}',
      '[1,2]',
      '{"text":"second","label":"b"}',
      '{"text":"third","label":"c"}',
    ].join('\n'));
    const preview = await datasetPreview(jsonl, 2);
    expect(preview.rows).toEqual([{ text: 'first\n  line', label: 'a', meta: '{"k":1}' }, { text: 'second', label: 'b', meta: '' }]);
    expect(sampleValues(preview, 'text')).toBe('first line · second');
    expect(sampleValues(preview, 'meta')).toBe('{"k":1}');
  });

  it('says so when a column is empty in the rows read', async () => {
    const preview = await datasetPreview(file('e.tsv', 'text\tnote\tlabel\nabc\t\tx\n'), 50);
    expect(sampleValues(preview, 'note')).toBe('(empty in the first rows)');
  });
});

describe('preferredTextColumn (what the text-column step preselects)', () => {
  it('passes over a "prompt" column that holds one shared template, for the text that varies', async () => {
    expect(preferredTextColumn(await datasetPreview(file('t2.csv', templatedCsv), 50))).toBe('question');
  });

  it('takes a varying "prompt" column', async () => {
    const csv = file('p.csv', 'label,prompt\nx,What is 2+2?\ny,Define a prime number.\n');
    expect(preferredTextColumn(await datasetPreview(csv, 50))).toBe('prompt');
  });

  it('falls back to the longest varying non-numeric column when no name says text, and to none at all', async () => {
    const unnamed = file('u.jsonl', [
      '{"body":"The quick brown fox jumps over the lazy dog","tag":"animals","n":1}',
      '{"body":"A journey of a thousand miles begins with one step","tag":"proverbs","n":2}',
    ].join('\n'));
    expect(preferredTextColumn(await datasetPreview(unnamed, 50))).toBe('body');
    const codes = file('c.csv', 'a,b\nx,1\ny,2\n');
    expect(preferredTextColumn(await datasetPreview(codes, 50))).toBeUndefined();
  });
});
