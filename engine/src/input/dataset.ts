// Dataset files (CSV, TSV, JSONL) as streams of records: the format and encoding checks and the record layer
// that both the calibration row reader (calibration/datasetReader.ts) and the column listing use.
import { createReadStream, promises as fs } from 'node:fs';
import { SeerError } from '../errors';
import { openRegularFile, RegularFileError } from '../regularFile';
import { decodeTextStream, notTextReason, SNIFF_BYTES } from './encoding';
import { type DelimitedRecord, delimitedRecords, formatOfFile, type JsonLine, jsonLines, MalformedFileError } from './records';

export type DatasetFormat = 'csv' | 'tsv' | 'jsonl';

const JSONL_FIX = 'Write one JSON object per line, e.g. {"prompt": "…", "value": "algebra"}.';

/** A dataset's records: CSV/TSV rows (the first is the header) or JSONL lines. */
export type DatasetRecords =
  | { format: 'csv' | 'tsv'; records: AsyncGenerator<DelimitedRecord> }
  | { format: 'jsonl'; records: AsyncGenerator<JsonLine> };

export function datasetFormat(file: string): DatasetFormat {
  const format = formatOfFile(file);
  if (format !== 'text') return format;
  throw new SeerError('DATASET_FORMAT', `${file}: not a dataset file (its extension is not .csv, .tsv or .jsonl).`, {
    file,
    fix: 'Use a .csv, .tsv or .jsonl file (one JSON object per line); rename the file if its content is one of these.',
  });
}

/**
 * Opens a dataset after checking that it exists, is not empty and is UTF-8 text. Its records are read lazily,
 * one in memory at a time; a syntax error no row can be skipped past throws DATASET_MALFORMED with its line.
 */
export async function openDataset(file: string): Promise<DatasetRecords> {
  const format = datasetFormat(file);
  await checkText(file);
  const text = decodeTextStream(createReadStream(file));
  if (format === 'jsonl') return { format, records: jsonLines(text) };
  return { format, records: withLineErrors(file, format, delimitedRecords(text, format)) };
}

/** The column names a dataset offers: the header row's (CSV/TSV) or the first JSON object's keys. */
export async function datasetColumns(file: string): Promise<string[]> {
  const dataset = await openDataset(file);
  try {
    if (dataset.format !== 'jsonl') {
      const header = await dataset.records.next();
      if (header.done) throw noRecords(file, dataset.format);
      return headerNames(header.value.fields).filter(Boolean);
    }
    const first = await dataset.records.next();
    if (first.done) throw noRecords(file, dataset.format);
    const { line, value, problem } = first.value;
    if (problem !== undefined || typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SeerError('DATASET_MALFORMED', `${file}: line ${line}: ${problem ?? 'not a JSON object'}.`, {
        file,
        fix: JSONL_FIX,
      });
    }
    return Object.keys(value);
  } finally {
    await dataset.records.return(undefined);
  }
}

/** A dataset's first rows for a preview (the calibrate column pickers): every cell as text, '' when absent. */
export interface DatasetPreview {
  columns: string[];
  rows: Array<Record<string, string>>;
}

/**
 * The columns and up to `maxRows` rows. JSONL lines that are not objects are passed over (the calibration
 * reader counts them as skipped rows); nested values show as JSON, as a user would recognise them.
 */
export async function datasetPreview(file: string, maxRows: number): Promise<DatasetPreview> {
  const columns = await datasetColumns(file);
  const dataset = await openDataset(file);
  const rows: Array<Record<string, string>> = [];
  try {
    if (dataset.format !== 'jsonl') {
      const header = await dataset.records.next();
      const names = header.done ? [] : headerNames(header.value.fields);
      for await (const { fields } of dataset.records) {
        if (rows.length >= maxRows) break;
        rows.push(Object.fromEntries(columns.map((c) => [c, fields[names.indexOf(c)] ?? ''])));
      }
    } else {
      for await (const { value } of dataset.records) {
        if (rows.length >= maxRows) break;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
        const record = value as Record<string, unknown>;
        rows.push(Object.fromEntries(columns.map((c) => [c, previewText(record[c])])));
      }
    }
  } finally {
    await dataset.records.return(undefined);
  }
  return { columns, rows };
}

function previewText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Column names as written in a header row, without surrounding spaces. */
export function headerNames(fields: string[]): string[] {
  return fields.map((f) => f.trim());
}

/** The error for a dataset with no header row (CSV/TSV) or no JSON line. */
export function noRecords(file: string, format: DatasetFormat): SeerError {
  if (format === 'jsonl') {
    return new SeerError('DATASET_EMPTY', `${file} has no JSON lines.`, {
      file,
      fix: JSONL_FIX,
    });
  }
  return new SeerError('DATASET_EMPTY', `${file} has no header row.`, {
    file,
    fix: `Start the file with a header naming the columns, e.g. prompt${format === 'tsv' ? '\\t' : ','}value.`,
  });
}

async function* withLineErrors(file: string, format: 'csv' | 'tsv', records: AsyncGenerator<DelimitedRecord>): AsyncGenerator<DelimitedRecord> {
  try {
    yield* records;
  } catch (err) {
    if (!(err instanceof MalformedFileError)) throw err;
    throw new SeerError('DATASET_MALFORMED', `${file}: ${err.message}.`, {
      file,
      fix: `Fix the ${format.toUpperCase()} syntax at that line; a quote inside a quoted cell is written twice ("").`,
    });
  }
}

async function checkText(file: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    // A regular file only: a FIFO would block the read below forever, a device never end.
    ({ handle } = await openRegularFile(file));
  } catch (err) {
    if (!(err instanceof RegularFileError)) throw err;
    if (err.kind === 'not-a-file') throw new SeerError('DATASET_FORMAT', `Dataset ${file} ${err.message}.`, { file, fix: 'Give a CSV, TSV or JSONL file.' });
    throw new SeerError('DATASET_NOT_FOUND', `Cannot open dataset ${file}: it ${err.message}.`, {
      file,
      fix: 'Check the path (relative paths are resolved from the current directory).',
    });
  }
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    if (bytesRead === 0) {
      throw new SeerError('DATASET_EMPTY', `${file} is empty.`, {
        file,
        fix: 'Give a file with a header row (CSV/TSV) or one JSON object per line (JSONL), and labelled rows.',
      });
    }
    const notText = notTextReason(file, head.subarray(0, bytesRead));
    if (notText) throw new SeerError('DATASET_ENCODING', `${file} ${notText.reason}.`, { file, fix: notText.fix });
  } finally {
    await handle.close();
  }
}
