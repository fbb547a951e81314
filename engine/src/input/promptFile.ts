// Prompt files: the one reader behind `seer explain --file` and the extension's "Explain File as Prompts".
// The rules, one per format (docs/cli.md, "Prompt files"):
// - .jsonl/.ndjson: each non-blank line is a JSON string, or an object whose "prompt", "text" or "input"
//   (the first that is a string, in that order) is the prompt.
// - .csv/.tsv: the first row is the header; the prompt column is the one named prompt, text or input (in that
//   order, any case), else the first column. A quoted CSV cell may span lines; TSV has no quoting.
// - .txt, .md and any other extension: a prompt is a paragraph, the lines between blank lines. Prompts are often
//   several lines long (context, few-shot examples, code), and the paragraph is what "Explain with SEER" picks
//   at the cursor in the editor, so a file explains the same prompts as clicking each of its paragraphs.
// Prompts are kept exactly as written. A line or row that yields no prompt (bad JSON, no prompt field, an empty
// cell, bytes that are not UTF-8) is skipped and reported by its line; blank lines are not reported.
import { SeerError } from '../errors';
import { readRegularFile, RegularFileError } from '../regularFile';
import { convertToUtf8Fix, decodeText, NOT_UTF8, notTextReason, unusableTextReason } from './encoding';
import { delimitedRecordsOf, formatOfFile, type InputFormat, jsonLinesOf, MalformedFileError } from './records';

export interface PromptFile {
  /** The prompts in file order, each with the 1-based lines where it starts and ends (a paragraph or a CSV
   * cell may span lines; a JSONL prompt is one line whatever it holds). */
  prompts: { text: string; line: number; lastLine: number }[];
  /** Lines or rows that gave no prompt, and why. */
  skipped: { line: number; reason: string }[];
}

/** Prompt files are read whole (datasets are streamed instead); this is far more than anyone explains. */
export const MAX_PROMPT_FILE_BYTES = 16 * 1024 * 1024;

/** The field (JSONL) or column (CSV/TSV) names that hold the prompt, in order of preference. */
const PROMPT_FIELDS = ['prompt', 'text', 'input'];
const PROMPT_FIELD_LIST = '"prompt", "text" or "input"';

/** A line or row as its format reads it: a prompt, or why there is none. */
type Candidate = { line: number; lastLine?: number; text: string; reason?: undefined } | { line: number; text?: undefined; reason: string };

/** Splits the bytes of a prompt file named `fileName` into prompts by the rules above. Pure. */
export function parsePromptFile(fileName: string, bytes: Uint8Array): PromptFile {
  const notText = notTextReason(fileName, bytes);
  if (notText) throw new SeerError('BAD_INPUT', `${fileName} ${notText.reason}.`, { file: fileName, fix: notText.fix });
  const format = formatOfFile(fileName);
  const text = decodeText(bytes);
  const candidates = format === 'text' ? paragraphs(text) : format === 'jsonl' ? jsonlPrompts(text) : delimitedPrompts(fileName, text, format);
  const file: PromptFile = { prompts: [], skipped: [] };
  for (const c of candidates.map(checkText)) {
    if (c.reason === undefined) file.prompts.push({ text: c.text, line: c.line, lastLine: c.lastLine ?? c.line });
    else file.skipped.push({ line: c.line, reason: c.reason });
  }
  if (file.prompts.length === 0) throw noPrompts(fileName, format, text, file.skipped);
  return file;
}

/** The same candidate, or the reason its text cannot be a prompt (the same for every format). */
function checkText(c: Candidate): Candidate {
  if (c.reason !== undefined) return c;
  const reason = c.text.trim() === '' ? 'empty prompt' : unusableTextReason(c.text);
  return reason === undefined ? c : { line: c.line, reason };
}

/** Reads and parses a prompt file from disk: a regular file only (not a FIFO or a device), of bounded size. */
export async function readPromptFile(file: string): Promise<PromptFile> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, MAX_PROMPT_FILE_BYTES);
  } catch (err) {
    if (!(err instanceof RegularFileError)) throw err;
    if (err.kind === 'too-large') {
      throw new SeerError('BAD_INPUT', `${file} ${err.message}; a prompt file is read whole, up to ${MAX_PROMPT_FILE_BYTES / 2 ** 20} MB.`, {
        file,
        fix: 'Split it into smaller prompt files.',
      });
    }
    if (err.kind === 'not-a-file') throw new SeerError('BAD_INPUT', `${file} ${err.message}.`, { file, fix: 'Give a text file of prompts.' });
    throw new SeerError('FILE_NOT_FOUND', `Cannot read ${file} (${(err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message}).`, { file, fix: 'Check the path.' });
  }
  return parsePromptFile(file, bytes);
}

/** The paragraph (0-based first and last line) holding line `index` of `lines`; undefined on a blank line. */
export function paragraphAt(lines: string[], index: number): { start: number; end: number } | undefined {
  const isBlank = (i: number): boolean => (lines[i] ?? '').trim() === '';
  if (isBlank(index)) return undefined;
  let start = index;
  let end = index;
  while (start > 0 && !isBlank(start - 1)) start--;
  while (end < lines.length - 1 && !isBlank(end + 1)) end++;
  return { start, end };
}

function paragraphs(text: string): Candidate[] {
  const lines = text.split('\n');
  const out: Candidate[] = [];
  for (let i = 0; i < lines.length; i++) {
    const paragraph = paragraphAt(lines, i);
    if (!paragraph) continue;
    out.push({ line: paragraph.start + 1, lastLine: paragraph.end + 1, text: lines.slice(paragraph.start, paragraph.end + 1).join('\n') });
    i = paragraph.end;
  }
  return out;
}

function jsonlPrompts(text: string): Candidate[] {
  return jsonLinesOf(text).map(({ line, value, problem }) => {
    if (problem !== undefined) return { line, reason: problem };
    const prompt = promptOfJson(value);
    return prompt === undefined ? { line, reason: `no ${PROMPT_FIELD_LIST} string` } : { line, text: prompt };
  });
}

function promptOfJson(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  return PROMPT_FIELDS.map((f) => fields[f]).find((v): v is string => typeof v === 'string');
}

function delimitedPrompts(fileName: string, text: string, format: 'csv' | 'tsv'): Candidate[] {
  let records;
  try {
    records = delimitedRecordsOf(text, format);
  } catch (err) {
    if (!(err instanceof MalformedFileError)) throw err;
    throw new SeerError('BAD_INPUT', `${fileName}: ${err.message}.`, { file: fileName, fix: 'Close the quote; a quote inside a quoted cell is written twice ("").' });
  }
  const [header, ...rows] = records;
  if (!header) return [];
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const named = PROMPT_FIELDS.map((f) => names.indexOf(f)).find((i) => i >= 0);
  const column = named ?? 0;
  const out: Candidate[] = [];
  // Nothing is dropped unsaid: when the header names no prompt column, say which column is read instead.
  if (named === undefined) out.push({ line: header.line, reason: `header row; no ${PROMPT_FIELD_LIST} column, so prompts are read from the first column ("${header.fields[0]}")` });
  for (const { line, lastLine, fields } of rows) {
    out.push(column < fields.length ? { line, lastLine, text: fields[column] } : { line, reason: `no "${header.fields[column].trim()}" field (the row has ${fields.length})` });
  }
  return out;
}

const FORMAT_FIX: Record<InputFormat, string> = {
  text: 'Write prompts separated by blank lines.',
  jsonl: `Write one prompt per line: a JSON string, or an object with a ${PROMPT_FIELD_LIST} string.`,
  csv: 'Start with a header row and put the prompts in a "prompt" column (or in the first column).',
  tsv: 'Start with a header row and put the prompts in a "prompt" column (or in the first column).',
};

function noPrompts(file: string, format: InputFormat, text: string, skipped: PromptFile['skipped']): SeerError {
  const shown = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`);
  if (skipped.length > 3) shown.push(`${skipped.length - 3} more`);
  const why = skipped.length ? `; skipped ${shown.join('; ')}` : '';
  const fix = skipped.some((s) => s.reason === NOT_UTF8) ? convertToUtf8Fix(file) : FORMAT_FIX[format];
  return new SeerError('EMPTY_INPUT', `${file} ${text.trim() === '' ? 'is empty' : 'has no prompts'}${why}.`, { file, fix });
}
