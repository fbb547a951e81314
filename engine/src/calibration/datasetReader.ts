// Streams labelled rows out of a CSV, TSV or JSONL file without loading it: one row in memory at a time.
// Every row that is not usable is counted with its reason in the RowAccountant; spec-level mistakes
// (missing columns, empty or UTF-16 file, malformed CSV) are SeerErrors naming the file, the line and the fix.
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { DatasetSpec } from '../../../common/protocol';
import { SeerError, throwIfAborted } from '../errors';
import type { RowAccountant } from './rowAccounting';

export interface DatasetRow {
  /** 1-based line of the file where the row starts (for messages). */
  line: number;
  text: string;
  label: string;
}

export type DatasetFormat = 'csv' | 'tsv' | 'jsonl';

export interface ReadOptions {
  signal?: AbortSignal;
}

/** Joins the text columns of a row into the model's input: non-empty parts separated by a blank line. */
const TEXT_SEPARATOR = '\n\n';
const REPLACEMENT_CHAR = '\uFFFD';
/** JSON escapes can produce these; they are not text and the tokenizer refuses them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function datasetFormat(file: string): DatasetFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new SeerError('DATASET_FORMAT', `${file}: unknown dataset format "${ext || '(no extension)'}".`, {
    file,
    fix: 'Use a .csv, .tsv or .jsonl file (one JSON object per line); rename the file if its content is one of these.',
  });
}

/** Yields the usable rows of the dataset in file order. The same file always yields the same rows. */
export async function* readDataset(spec: DatasetSpec, rows: RowAccountant, opts: ReadOptions = {}): AsyncGenerator<DatasetRow> {
  const format = datasetFormat(spec.path);
  await checkReadable(spec.path);
  const input = createReadStream(spec.path);
  const records = format === 'jsonl' ? jsonlRecords(spec, input) : delimitedRecords(spec, input, format);
  try {
    for await (const record of records) {
      throwIfAborted(opts.signal);
      rows.read();
      const row = toRow(record, rows);
      if (row) yield row;
    }
  } finally {
    input.destroy();
  }
}

/** A record before validation: the text parts and the label as found, with the line it came from. */
interface RawRecord {
  line: number;
  texts: string[];
  label: string;
  /** Set when the record is structurally unusable (bad JSON, wrong field count): the skip reason. */
  problem?: string;
}

function toRow(record: RawRecord, rows: RowAccountant): DatasetRow | undefined {
  if (record.problem) return void rows.skip(record.problem);
  const label = record.label.trim();
  const text = record.texts.filter((t) => t.trim() !== '').join(TEXT_SEPARATOR);
  if (label === '') return void rows.skip('empty label');
  if (text.trim() === '') return void rows.skip('empty text');
  if (LONE_SURROGATE.test(text) || LONE_SURROGATE.test(label)) return void rows.skip('invalid Unicode (unpaired surrogate)');
  if (text.includes(REPLACEMENT_CHAR) || label.includes(REPLACEMENT_CHAR)) rows.replacedInvalidUtf8();
  return { line: record.line, text, label };
}

async function checkReadable(file: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SeerError('DATASET_NOT_FOUND', `Cannot open dataset ${file} (${code ?? String(err)}).`, {
      file,
      fix: 'Check the path (relative paths are resolved from the current directory).',
    });
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) {
      throw new SeerError('DATASET_EMPTY', `${file} is empty.`, {
        file,
        fix: 'Give a file with a header row (CSV/TSV) or one JSON object per line (JSONL), and labelled rows.',
      });
    }
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
      throw new SeerError('DATASET_ENCODING', `${file} is UTF-16; datasets must be UTF-8.`, {
        file,
        fix: `Convert it, e.g. iconv -f UTF-16 -t UTF-8 "${file}" > data-utf8${path.extname(file)}`,
      });
    }
  } finally {
    await handle.close();
  }
}

function missingColumnError(spec: DatasetSpec, missing: string, option: string, available: string[]): SeerError {
  const list = available.length ? available.map((c) => `"${c}"`).join(', ') : '(none)';
  return new SeerError('DATASET_COLUMN_MISSING', `${spec.path} has no column "${missing}". Its columns are: ${list}.`, {
    file: spec.path,
    fix: `Pass ${option} with one of the existing columns.`,
  });
}

async function* delimitedRecords(
  spec: DatasetSpec,
  input: NodeJS.ReadableStream,
  format: 'csv' | 'tsv',
): AsyncGenerator<RawRecord> {
  const parser = input.pipe(
    parse({
      delimiter: format === 'tsv' ? '\t' : ',',
      bom: true,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      // TSV has no quoting convention; a literal " must stay a character.
      quote: format === 'tsv' ? false : '"',
    }),
  );
  let header: string[] | undefined;
  let textIdx: number[] = [];
  let labelIdx = -1;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((c) => c.trim());
        labelIdx = header.indexOf(spec.labelColumn);
        if (labelIdx < 0) throw missingColumnError(spec, spec.labelColumn, '--label', header);
        textIdx = spec.textColumns.map((c) => {
          const i = header!.indexOf(c);
          if (i < 0) throw missingColumnError(spec, c, '--text', header!);
          return i;
        });
        continue;
      }
      const line = info.lines;
      if (record.length !== header.length && record.length <= Math.max(labelIdx, ...textIdx)) {
        yield { line, texts: [], label: '', problem: `too few fields (header has ${header.length})` };
        continue;
      }
      yield { line, texts: textIdx.map((i) => record[i]), label: record[labelIdx] };
    }
  } catch (err) {
    if (err instanceof SeerError) throw err;
    const e = err as Error & { code?: string; lines?: number };
    throw new SeerError('DATASET_MALFORMED', `${spec.path}: line ${e.lines ?? '?'}: ${e.message}`, {
      file: spec.path,
      fix: `Fix the ${format.toUpperCase()} syntax at that line (an unclosed quote usually runs to the end of the file).`,
    });
  }
  if (!header) {
    throw new SeerError('DATASET_EMPTY', `${spec.path} has no header row.`, {
      file: spec.path,
      fix: `Start the file with a header naming the columns, e.g. prompt${format === 'tsv' ? '\\t' : ','}value.`,
    });
  }
}

function fieldText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

async function* jsonlRecords(spec: DatasetSpec, input: NodeJS.ReadableStream): AsyncGenerator<RawRecord> {
  (input as NodeJS.ReadableStream & { setEncoding(e: string): void }).setEncoding('utf8');
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let checkedColumns = false;
  let sawLine = false;
  for await (const raw of lines) {
    lineNo++;
    const text = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    sawLine = true;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      yield { line: lineNo, texts: [], label: '', problem: 'invalid JSON' };
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      yield { line: lineNo, texts: [], label: '', problem: 'line is not a JSON object' };
      continue;
    }
    const record = obj as Record<string, unknown>;
    if (!checkedColumns) {
      // The first object fixes the schema: a column missing there is a wrong option, not a bad row.
      const keys = Object.keys(record);
      if (!(spec.labelColumn in record)) throw missingColumnError(spec, spec.labelColumn, '--label', keys);
      for (const c of spec.textColumns) if (!(c in record)) throw missingColumnError(spec, c, '--text', keys);
      checkedColumns = true;
    }
    const label = fieldText(record[spec.labelColumn]);
    if (label === undefined) {
      yield { line: lineNo, texts: [], label: '', problem: 'missing or non-text label' };
      continue;
    }
    if (spec.textColumns.some((c) => typeof record[c] === 'object' && record[c] !== null)) {
      yield { line: lineNo, texts: [], label: '', problem: 'object or array in a text column' };
      continue;
    }
    yield { line: lineNo, texts: spec.textColumns.map((c) => fieldText(record[c]) ?? ''), label };
  }
  if (!sawLine) {
    throw new SeerError('DATASET_EMPTY', `${spec.path} has no JSON lines.`, {
      file: spec.path,
      fix: 'Write one JSON object per line, e.g. {"prompt": "…", "value": "algebra"}.',
    });
  }
}
