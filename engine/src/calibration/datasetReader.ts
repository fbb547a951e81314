// Streams labelled rows out of a CSV, TSV or JSONL file without loading it: one row in memory at a time.
// The file layer (format, encoding, records, line numbers) is engine/src/input/dataset.ts, shared with the column
// listing; here a spec's columns become text and label. Every row that is not usable is counted with its reason
// in the RowAccountant; spec-level mistakes (missing columns) are SeerErrors naming the file and the fix.
import type { DatasetSpec } from '../../../common/protocol';
import { SeerError, throwIfAborted } from '../errors';
import { unusableTextReason } from '../input/encoding';
import { headerNames, noRecords, openDataset } from '../input/dataset';
import type { DelimitedRecord, JsonLine } from '../input/records';
import type { RowAccountant } from './rowAccounting';

export interface DatasetRow {
  /** 1-based line of the file where the row starts (for messages). */
  line: number;
  text: string;
  label: string;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/** Joins the text columns of a row into the model's input: non-empty parts separated by a blank line. */
const TEXT_SEPARATOR = '\n\n';

/** Yields the usable rows of the dataset in file order. The same file always yields the same rows. */
export async function* readDataset(spec: DatasetSpec, rows: RowAccountant, opts: ReadOptions = {}): AsyncGenerator<DatasetRow> {
  const dataset = await openDataset(spec.path);
  const records = dataset.format === 'jsonl' ? jsonlRecords(spec, dataset.records) : delimitedRecords(spec, dataset.format, dataset.records);
  let sawRecord = false;
  for await (const record of records) {
    throwIfAborted(opts.signal);
    sawRecord = true;
    rows.read();
    const row = toRow(record, rows);
    if (row) yield row;
  }
  if (!sawRecord && dataset.format === 'jsonl') throw noRecords(spec.path, dataset.format);
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
  const unusable = unusableTextReason(text) ?? unusableTextReason(label);
  if (unusable) return void rows.skip(unusable);
  return { line: record.line, text, label };
}

function missingColumnError(spec: DatasetSpec, missing: string, option: string, available: string[]): SeerError {
  const list = available.length ? available.map((c) => `"${c}"`).join(', ') : '(none)';
  return new SeerError('DATASET_COLUMN_MISSING', `${spec.path} has no column "${missing}". Its columns are: ${list}.`, {
    file: spec.path,
    fix: { cli: `Pass ${option} with one of the existing columns.`, editor: `Choose the ${option === '--label' ? 'label' : 'text'} column among the existing columns.` },
  });
}

async function* delimitedRecords(spec: DatasetSpec, format: 'csv' | 'tsv', records: AsyncGenerator<DelimitedRecord>): AsyncGenerator<RawRecord> {
  try {
    const first = await records.next();
    if (first.done) throw noRecords(spec.path, format);
    const header = headerNames(first.value.fields);
    const labelIdx = header.indexOf(spec.labelColumn);
    if (labelIdx < 0) throw missingColumnError(spec, spec.labelColumn, '--label', header);
    const textIdx = spec.textColumns.map((c) => {
      const i = header.indexOf(c);
      if (i < 0) throw missingColumnError(spec, c, '--text', header);
      return i;
    });
    const needed = Math.max(labelIdx, ...textIdx);
    for await (const { line, fields } of records) {
      if (fields.length !== header.length && fields.length <= needed) {
        yield { line, texts: [], label: '', problem: `too few fields (header has ${header.length})` };
        continue;
      }
      yield { line, texts: textIdx.map((i) => fields[i]), label: fields[labelIdx] };
    }
  } finally {
    await records.return(undefined); // closes the file when a missing column stops the read early
  }
}

function fieldText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

async function* jsonlRecords(spec: DatasetSpec, lines: AsyncGenerator<JsonLine>): AsyncGenerator<RawRecord> {
  let checkedColumns = false;
  for await (const { line, value, problem } of lines) {
    if (problem !== undefined) {
      yield { line, texts: [], label: '', problem };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, texts: [], label: '', problem: 'line is not a JSON object' };
      continue;
    }
    const record = value as Record<string, unknown>;
    if (!checkedColumns) {
      // The first object fixes the schema: a column missing there is a wrong option, not a bad row.
      const keys = Object.keys(record);
      if (!(spec.labelColumn in record)) throw missingColumnError(spec, spec.labelColumn, '--label', keys);
      for (const c of spec.textColumns) if (!(c in record)) throw missingColumnError(spec, c, '--text', keys);
      checkedColumns = true;
    }
    const label = fieldText(record[spec.labelColumn]);
    if (label === undefined) {
      yield { line, texts: [], label: '', problem: 'missing or non-text label' };
      continue;
    }
    if (spec.textColumns.some((c) => typeof record[c] === 'object' && record[c] !== null)) {
      yield { line, texts: [], label: '', problem: 'object or array in a text column' };
      continue;
    }
    yield { line, texts: spec.textColumns.map((c) => fieldText(record[c]) ?? ''), label };
  }
}
