// The formats SEER reads prompts and datasets from, and how their records are found: one parser configuration
// and one line-numbering rule, shared by the prompt-file reader, the dataset reader and the column listing.
// Input here is already decoded text (encoding.ts): line endings are \n.
import { Readable } from 'node:stream';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { type Options, parse as parseStream } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';

export type InputFormat = 'text' | 'jsonl' | 'csv' | 'tsv';

/** The format a file's extension names; any other extension is plain text. */
export function formatOfFile(file: string): InputFormat {
  switch (path.extname(file).toLowerCase()) {
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.csv':
      return 'csv';
    case '.tsv':
    case '.tab':
      return 'tsv';
    default:
      return 'text';
  }
}

/** One CSV/TSV record: its fields as written, and the 1-based lines where it starts and ends. */
export interface DelimitedRecord {
  line: number;
  lastLine: number;
  fields: string[];
}

/**
 * A syntax error no reader can skip past: an unclosed quote turns the rest of the file into one field, so
 * skipping "that row" would silently drop every row after it. (With the relaxed options below it is the only one.)
 */
export class MalformedFileError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

/** What csv-parse says about where it is (in a record's info, and in its errors). */
interface ParserPosition {
  /** The line where the record (or the error) ends. */
  lines: number;
  /** Blank lines skipped so far. */
  empty_lines: number;
}

/** The parser settings, which yield DelimitedRecords numbered by `startLine`. */
function delimitedOptions(format: 'csv' | 'tsv', startLine: (at: ParserPosition) => number): Options {
  return {
    delimiter: format === 'tsv' ? '\t' : ',',
    bom: true,
    // csv-parse's types only let on_record return string[]; it returns any value, and the parser yields it.
    on_record: ((fields: string[], at: ParserPosition): DelimitedRecord => ({ line: startLine(at), lastLine: at.lines, fields })) as unknown as Options['on_record'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    // TSV has no quoting convention; a literal " must stay a character.
    quote: format === 'tsv' ? false : '"',
  };
}

/**
 * Start lines from csv-parse's positions, in file order: a record starts after the previous one ended and
 * after the blank lines skipped since. (Its `raw` text would tell too, but costs a third of the parse time.)
 */
function startLineCounter(): (at: ParserPosition) => number {
  let previousEnd = 0;
  let previousEmpty = 0;
  return (at) => {
    const start = previousEnd + 1 + at.empty_lines - previousEmpty;
    previousEnd = at.lines;
    previousEmpty = at.empty_lines;
    return start;
  };
}

function malformed(err: unknown, startLine: (at: ParserPosition) => number): unknown {
  const e = err as Error & Partial<ParserPosition> & { code?: string };
  if (e.lines === undefined) return err;
  const line = startLine({ lines: e.lines, empty_lines: e.empty_lines ?? 0 });
  if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new MalformedFileError(line, `line ${line}: a quote opened here is never closed (the rest of the file would become one field)`);
  }
  return new MalformedFileError(line, `line ${line}: ${e.message}`);
}

/** The records of a whole CSV/TSV text. Throws MalformedFileError. */
export function delimitedRecordsOf(text: string, format: 'csv' | 'tsv'): DelimitedRecord[] {
  const startLine = startLineCounter();
  try {
    return parseSync(text, delimitedOptions(format, startLine)) as unknown as DelimitedRecord[];
  } catch (err) {
    throw malformed(err, startLine);
  }
}

/** The records of a CSV/TSV stream, one in memory at a time. Throws MalformedFileError. */
export async function* delimitedRecords(text: AsyncIterable<string>, format: 'csv' | 'tsv'): AsyncGenerator<DelimitedRecord> {
  const startLine = startLineCounter();
  const input = Readable.from(text);
  const parser = input.pipe(parseStream(delimitedOptions(format, startLine)));
  try {
    yield* parser as AsyncIterable<DelimitedRecord>;
  } catch (err) {
    throw malformed(err, startLine);
  } finally {
    input.destroy(); // stops the file read when the consumer stops early
    parser.destroy();
  }
}

/** One non-blank line of a JSONL file: its parsed value, or why it has none. */
export type JsonLine = { line: number; value: unknown; problem?: undefined } | { line: number; value?: undefined; problem: string };

function parseJsonLine(text: string, line: number): JsonLine | undefined {
  if (text.trim() === '') return undefined; // blank lines separate nothing in JSONL: ignored, not reported
  try {
    return { line, value: JSON.parse(text) as unknown };
  } catch {
    return { line, problem: 'not valid JSON' };
  }
}

/** The non-blank lines of a whole JSONL text. */
export function jsonLinesOf(text: string): JsonLine[] {
  return text.split('\n').flatMap((t, i) => parseJsonLine(t, i + 1) ?? []);
}

/** The non-blank lines of a JSONL stream, one in memory at a time. */
export async function* jsonLines(text: AsyncIterable<string>): AsyncGenerator<JsonLine> {
  const input = Readable.from(text);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const t of lines) {
      const parsed = parseJsonLine(t, ++line);
      if (parsed) yield parsed;
    }
  } finally {
    lines.close();
    input.destroy(); // stops the file read when the consumer stops early
  }
}
