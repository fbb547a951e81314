import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { FileRow } from '../../common/protocol';
import { csvCell, fileTableToCsv, resultToCsv } from '../../extension/src/resultExport';
import { makeResult } from '../webview/resultFixture';

/** A result whose text cells are formulas: the prompt as one token, a token `-1+1`, a concept `@SUM(A1)`. */
function hostileResult() {
  const prompt = '=HYPERLINK("http://x")';
  const r = makeResult({ concepts: ['@SUM(A1)', 'cooking', '+cmd', 'finance'], tokens: 4 });
  r.text = prompt;
  r.tokens[1].text = prompt;
  r.tokens[2].text = '-1+1';
  r.tokens[3].text = '\tTAB';
  return r;
}

describe('resultToCsv', () => {
  it('prefixes text cells that start a formula with a quote, and keeps numbers as numbers', () => {
    const r = hostileResult();
    const rows: string[][] = parse(resultToCsv(r));
    const [header, ...body] = rows;
    expect(header).toEqual(['kind', 'layer', 'token_index', 'token', 'concept', 'cosine', 'probability']);
    const col = (name: string) => header.indexOf(name);

    // No cell a spreadsheet would evaluate: every text cell starting with = + - @ tab or CR is quoted.
    const tokens = new Set(body.map((row) => row[col('token')]));
    expect(tokens).toContain(`'=HYPERLINK("http://x")`);
    expect(tokens).toContain(`'-1+1`);
    expect(tokens).toContain(`'\tTAB`);
    expect(tokens).toContain('<|bos|>'); // Plain text is written as it is.
    const concepts = new Set(body.map((row) => row[col('concept')]));
    expect([...concepts].sort()).toEqual([`'+cmd`, `'@SUM(A1)`, 'cooking', 'finance']);
    for (const row of body) {
      for (const c of [col('token'), col('concept')]) expect(row[c]).not.toMatch(/^[=+\-@\t\r]/);
    }

    // The numbers are the result's own, negatives included, unprefixed.
    const layerRows = body.filter((row) => row[col('kind')] === 'layer');
    expect(layerRows.map((row) => Number(row[col('cosine')]))).toEqual(r.layers.flatMap((l) => l.cosine));
    const tokenRows = body.filter((row) => row[col('kind')] === 'token');
    const cosines = tokenRows.map((row) => row[col('cosine')]);
    expect(cosines.map(Number)).toEqual(r.tokenScores.flatMap((layer) => layer.flat()));
    expect(cosines.some((c) => c.startsWith('-'))).toBe(true);
    expect(cosines.every((c) => !c.startsWith("'"))).toBe(true);
  });
});

describe('csvCell', () => {
  it('neutralises each formula start in text and leaves plain text and numbers alone', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}1`).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('plain, text')).toBe('"plain, text"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(-0.12)).toBe('-0.12');
    expect(csvCell(3)).toBe('3');
  });
});

describe('fileTableToCsv', () => {
  it('writes one row per prompt in file order, whatever order the rows came in, formulas neutralised', () => {
    const row = (index: number, text: string, safe: boolean | null): FileRow =>
      ({ index, line: index + 1, lastLine: index + 1, text, concept: 'violence', confidence: 0.87, margin: -0.05, safe, lowConfidence: index === 0, risk: safe === false });
    const lines = fileTableToCsv([row(2, 'plain', null), row(0, '=HYPERLINK("x")', false), row(1, 'a, b', true)]).trimEnd().split('\n');
    expect(lines).toEqual([
      'line,prompt,concept,confidence,margin,safety,low_confidence,flagged',
      `1,"'=HYPERLINK(""x"")",violence,0.87,-0.05,unsafe,yes,yes`,
      '2,"a, b",violence,0.87,-0.05,safe,,',
      '3,plain,violence,0.87,-0.05,unknown,,',
    ]);
  });
});
