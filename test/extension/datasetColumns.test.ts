import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetColumns } from '../../extension/src/datasetColumns';
import { evaluationReportHtml } from '../../extension/src/evaluationHtml';

const dir = mkdtempSync(path.join(tmpdir(), 'seer-columns-'));
const file = (name: string, content: string) => {
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
    expect(await datasetColumns(file('empty.csv', ''))).toEqual([]);
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
