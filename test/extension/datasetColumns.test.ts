import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetColumns } from '../../engine/src/api';
import { readDataset } from '../../engine/src/calibration/datasetReader';
import { RowAccountant } from '../../engine/src/calibration/rowAccounting';
import { evaluationReportHtml } from '../../extension/src/evaluationHtml';

const dir = mkdtempSync(path.join(tmpdir(), 'seer-columns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const shared = path.resolve(__dirname, '../../../shared/datasets/math/math-7concepts.csv');

describe('datasetColumns (the calibrate QuickPick)', () => {
  it('reads a CSV header (BOM, quotes), a TSV header and JSONL keys', async () => {
    expect(await datasetColumns(file('a.csv', '\ufeff"prompt","a, b",value\n"x",y,z\n'))).toEqual(['prompt', 'a, b', 'value']);
    expect(await datasetColumns(file('a.tsv', '\ntext\tlabel\nx\ty\n'))).toEqual(['text', 'label']);
    expect(await datasetColumns(file('a.jsonl', '{"text":"x","label":"y"}\n'))).toEqual(['text', 'label']);
  });

  it('fails as the dataset reader does on an empty, binary or unparsable file', async () => {
    await expect(datasetColumns(file('empty.csv', ''))).rejects.toMatchObject({ code: 'DATASET_EMPTY' });
    await expect(datasetColumns(file('blank.tsv', '\n\n'))).rejects.toMatchObject({ code: 'DATASET_EMPTY', message: expect.stringContaining('no header row') });
    await expect(datasetColumns(file('zip.csv', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0])))).rejects.toMatchObject({ code: 'DATASET_ENCODING' });
    await expect(datasetColumns(file('bad.jsonl', '{oops\n{"text":"x"}\n'))).rejects.toMatchObject({ code: 'DATASET_MALFORMED', message: expect.stringContaining('line 1: not valid JSON') });
  });

  it('lists the columns the dataset reader then finds (CRLF and a multi-line header cell included)', async () => {
    const csv = file('crlf.csv', '"the\r\nprompt",label\r\n"a\r\nb",x\r\n');
    const columns = await datasetColumns(csv);
    expect(columns).toEqual(['the\nprompt', 'label']);
    const rows = [];
    for await (const r of readDataset({ path: csv, textColumns: [columns[0]], labelColumn: columns[1] }, new RowAccountant())) rows.push(r);
    expect(rows).toEqual([{ line: 3, text: 'a\nb', label: 'x' }]);
  });

  it.skipIf(!existsSync(shared))('reads the real math dataset columns', async () => {
    expect(await datasetColumns(shared)).toEqual(['prompt', 'level', 'type', 'response', 'value', 'catgory', 'correctness']);
  });
});

describe('evaluationReportHtml', () => {
  it('renders every layer under a CSP that only allows its nonce\'d style', () => {
    const layer = (l: number) => ({ layer: l, accuracy: 0.5 + l / 10, macroF1: 0.4, sameConceptCos: 0.6, differentConceptCos: 0.3, gap: 0.3,
      silhouette: 0.1, samePairCos: 0.7, differentPairCos: 0.2 });
    const html = evaluationReportHtml([{
      bundle: { name: 'b', dir: '/b' }, dataset: 'd.csv', concepts: ['alpha', 'beta'], targetLayer: 1, bestLayer: 2,
      rows: { rowsRead: 10, rowsUsed: 9, rowsSkipped: 1, skipped: { 'empty text': 1 }, truncated: 0 },
      perLayer: [0, 1, 2].map(layer), confusionBest: [[1, 0], [0, 1]], confusionTarget: [[2, 1], [0, 3]],
      prototypeSimilarityTarget: [[1, 0.2], [0.2, 1]], safeConcepts: [], seconds: 1.5,
    }], 'N0nce');
    expect(html).toContain('content="default-src &#39;none&#39;; img-src data:; style-src &#39;nonce-N0nce&#39;"');
    expect(html.match(/<style\b[^>]*>/g)).toEqual(['<style nonce="N0nce">']);
    expect(html).not.toMatch(/<script|\sstyle="/);
    expect(html).toContain('alpha');
    expect(html).toContain('<svg');
  });
});
