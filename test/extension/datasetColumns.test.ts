import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetColumns } from '../../extension/src/datasetColumns';
import { calibrationReportMarkdown } from '../../extension/src/reportMarkdown';

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

describe('calibrationReportMarkdown', () => {
  it('tabulates every layer and marks the target and best layers', () => {
    const layer = (l: number) => ({ layer: l, accuracy: 0.5 + l / 10, macroF1: 0.4, sameConceptCos: 0.6, differentConceptCos: 0.3, gap: 0.3,
      silhouette: 0.1, samePairCos: 0.7, differentPairCos: 0.2 });
    const md = calibrationReportMarkdown({
      bundle: { name: 'b', dir: '/b' }, dataset: 'd.csv', concepts: ['a', 'b'], targetLayer: 1, bestLayer: 2,
      rows: { rowsRead: 10, rowsUsed: 9, rowsSkipped: 1, skipped: { 'empty text': 1 }, truncated: 0 },
      perLayer: [0, 1, 2].map(layer), confusionBest: [[1, 0], [0, 1]], confusionTarget: [[2, 1], [0, 3]],
      prototypeSimilarityTarget: [[1, 0.2], [0.2, 1]], safeConcepts: [], seconds: 1.5,
    });
    expect(md).toContain('| 1 (target) | 0.600 |');
    expect(md).toContain('| 2 (best) | 0.700 |');
    expect(md).toContain('| a | 2 | 1 |');
    expect(md).toContain('9 used, 1 skipped');
  });
});
