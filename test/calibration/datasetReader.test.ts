import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { DatasetSpec } from '../../common/protocol';
import { type DatasetRow, readDataset } from '../../engine/src/calibration/datasetReader';
import { scanDataset } from '../../engine/src/calibration/datasetScan';
import { RowAccountant } from '../../engine/src/calibration/rowAccounting';
import { SeerError } from '../../engine/src/errors';
import { tempDir, writeFixture } from './fixtures';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(spec: DatasetSpec): Promise<{ rows: DatasetRow[]; acct: ReturnType<RowAccountant['snapshot']> }> {
  const accountant = new RowAccountant();
  const rows: DatasetRow[] = [];
  for await (const r of readDataset(spec, accountant)) rows.push(r);
  return { rows, acct: accountant.snapshot() };
}

/** The SeerError that `p` rejects with (fails the test if it resolves or throws anything else). */
const errorOf = (p: Promise<unknown>): Promise<SeerError> =>
  p.then(() => expect.fail('expected a SeerError'), (e: unknown) => (expect(e).toBeInstanceOf(SeerError), e as SeerError));

const spec = (path: string, textColumns = ['prompt'], labelColumn = 'value'): DatasetSpec => ({ path, textColumns, labelColumn });

describe('readDataset', () => {
  it('reads CSV with quoted commas, quotes and newlines, joins text columns, and counts skipped rows by reason', async () => {
    const file = writeFixture(
      dir,
      'mixed.csv',
      '\ufeffprompt,response,value\n' +
        '"What is 2, plus 2?","It is ""4"".\nSure.",algebra\n' +
        ',,geometry\n' + // empty text
        'Area of a circle?,pi r^2,\n' + // empty label
        'short row\n' + // too few fields
        '\n' +
        'Angles?,,geometry\n',
    );
    const { rows, acct } = await readAll(spec(file, ['prompt', 'response']));
    expect(rows.map((r) => [r.text, r.label, r.line])).toEqual([
      ['What is 2, plus 2?\n\nIt is "4".\nSure.', 'algebra', 2], // a row's line is where it starts
      ['Angles?', 'geometry', 8],
    ]);
    expect(acct).toMatchObject({ rowsRead: 5, rowsUsed: 0, rowsSkipped: 3 });
    expect(acct.skipped).toEqual({ 'empty text': 1, 'empty label': 1, 'too few fields (header has 3)': 1 });
  });

  it('reads TSV, where quotes are ordinary characters', async () => {
    const file = writeFixture(dir, 'data.tsv', 'prompt\tvalue\nsay "hi\tgreeting\nbye\tgreeting\n');
    const { rows } = await readAll(spec(file));
    expect(rows.map((r) => r.text)).toEqual(['say "hi', 'bye']);
  });

  it('reads JSONL, turning numbers into labels and skipping bad lines with a reason', async () => {
    const file = writeFixture(
      dir,
      'data.jsonl',
      ['{"prompt": "one", "value": 1}', 'not json', '[1,2]', '', '{"prompt": {"x": 1}, "value": "a"}', '{"prompt": "two"}', '{"prompt": "three", "value": "b"}'].join('\n'),
    );
    const { rows, acct } = await readAll(spec(file));
    expect(rows.map((r) => [r.text, r.label, r.line])).toEqual([
      ['one', '1', 1],
      ['three', 'b', 7],
    ]);
    expect(acct.skipped).toEqual({
      'not valid JSON': 1,
      'line is not a JSON object': 1,
      'object or array in a text column': 1,
      'missing or non-text label': 1,
    });
  });

  it('names the missing label column and lists the columns that exist', async () => {
    const file = writeFixture(dir, 'nolabel.csv', 'prompt,response,type\na,b,c\n');
    const err = await errorOf(readAll(spec(file)));
    expect(err.code).toBe('DATASET_COLUMN_MISSING');
    expect(err.message).toContain('no column "value"');
    expect(err.message).toContain('"prompt", "response", "type"');
    expect(err.fixFor('cli')).toContain('--label');
    expect(err.file).toBe(file);
  });

  it('names a missing text column in JSONL from the first object', async () => {
    const file = writeFixture(dir, 'notext.jsonl', '{"question": "q", "value": "a"}\n');
    const err = await errorOf(readAll(spec(file)));
    expect(err.message).toContain('no column "prompt"');
    expect(err.message).toContain('"question", "value"');
    expect(err.fixFor('cli')).toContain('--text');
  });

  it('rejects an empty file, a header-only file, a UTF-16 file and an unknown extension with a fix', async () => {
    expect((await errorOf(readAll(spec(writeFixture(dir, 'empty.csv', ''))))).code).toBe('DATASET_EMPTY');
    const headerOnly = await errorOf(scanDataset(spec(writeFixture(dir, 'header.csv', 'prompt,value\n'))));
    expect(headerOnly.code).toBe('DATASET_NO_ROWS');
    const utf16 = writeFixture(dir, 'utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('prompt,value\n', 'utf16le')]));
    const e16 = await errorOf(readAll(spec(utf16)));
    expect(e16.code).toBe('DATASET_ENCODING');
    expect(e16.fixFor('cli')).toContain('iconv');
    expect((await errorOf(readAll(spec(writeFixture(dir, 'data.xlsx', 'x'))))).code).toBe('DATASET_FORMAT');
    expect((await errorOf(readAll(spec(`${dir}/absent.csv`)))).code).toBe('DATASET_NOT_FOUND');
  });

  it('skips rows whose bytes are not UTF-8 (a Latin-1 line in a UTF-8 file), like prompt files do', async () => {
    const latin1 = Buffer.from('Caf\xe9 au lait?,drinks\n', 'latin1');
    const file = writeFixture(dir, 'mixed-encoding.csv', Buffer.concat([Buffer.from('prompt,value\nThé vert?,drinks\n'), latin1, Buffer.from('Tea?,drinks\n')]));
    const { rows, acct } = await readAll(spec(file));
    expect(rows.map((r) => r.text)).toEqual(['Thé vert?', 'Tea?']);
    expect(acct.skipped).toEqual({ 'not valid UTF-8': 1 });
  });

  it('numbers lines the same with CRLF line endings, inside quoted cells too', async () => {
    const file = writeFixture(dir, 'crlf.csv', 'prompt,value\r\n"two\r\nlines",a\r\n\r\nlast,b\r\n');
    const { rows } = await readAll(spec(file));
    expect(rows.map((r) => [r.text, r.line])).toEqual([['two\nlines', 2], ['last', 5]]);
  });

  it('refuses a binary file named .csv before reading rows', async () => {
    const file = writeFixture(dir, 'sheet.csv', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00]));
    const err = await errorOf(readAll(spec(file)));
    expect(err.code).toBe('DATASET_ENCODING');
    expect(err.message).toMatch(/binary/);
  });

  it('reports malformed CSV with the file and line', async () => {
    const file = writeFixture(dir, 'unclosed.csv', 'prompt,value\nok,a\n"never closed,b\n');
    const err = await errorOf(readAll(spec(file)));
    expect(err.code).toBe('DATASET_MALFORMED');
    expect(err.message).toContain(file);
    expect(err.message).toContain('line 3: a quote opened here is never closed');
  });

  it('stops with CANCELLED when the signal is aborted', async () => {
    const file = writeFixture(dir, 'cancel.csv', 'prompt,value\na,x\nb,y\n');
    const controller = new AbortController();
    controller.abort();
    const err = await errorOf((async () => { for await (const _ of readDataset(spec(file), new RowAccountant(), { signal: controller.signal })) void _; })());
    expect(err.code).toBe('CANCELLED');
  });

  it('streams a file far larger than one read chunk, row by row in file order', async () => {
    const lines = ['prompt,value'];
    for (let i = 0; i < 20000; i++) lines.push(`row number ${i} with some padding text,${i % 3}`);
    const file = writeFixture(dir, 'large.csv', lines.join('\n'));
    let count = 0;
    for await (const row of readDataset(spec(file), new RowAccountant())) {
      expect(row.text).toBe(`row number ${count} with some padding text`);
      count++;
    }
    expect(count).toBe(20000);
  });
});
