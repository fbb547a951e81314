// Which text "Explain with SEER" explains, and how prompt files split into prompts. Pure functions.
import { parse } from 'csv-parse/sync';

/** Larger selections are cut here (and the user is told): the model context is far smaller anyway. */
export const MAX_PROMPT_CHARS = 32_000;

export interface PromptPick {
  text: string;
  /** What the text is: shown in messages and the history. */
  source: 'selection' | 'paragraph' | 'line';
  truncatedFrom?: number;
}

export class PromptError extends Error {}

/**
 * The selection if there is one, else the paragraph (blank-line delimited) around the cursor line,
 * else that line. `lines` is the document, `cursorLine` 0-based.
 */
export function pickPrompt(selection: string, lines: string[], cursorLine: number): PromptPick {
  if (selection.trim().length > 0) return limit(selection, 'selection');
  const isBlank = (i: number): boolean => (lines[i] ?? '').trim().length === 0;
  if (isBlank(cursorLine)) {
    throw new PromptError('Nothing to explain: select a prompt, or put the cursor on a non-empty line.');
  }
  let start = cursorLine;
  let end = cursorLine;
  while (start > 0 && !isBlank(start - 1)) start--;
  while (end < lines.length - 1 && !isBlank(end + 1)) end++;
  const text = lines.slice(start, end + 1).join('\n');
  return limit(text, start === end ? 'line' : 'paragraph');
}

function limit(text: string, source: PromptPick['source']): PromptPick {
  assertText(text);
  if (text.length <= MAX_PROMPT_CHARS) return { text, source };
  return { text: text.slice(0, MAX_PROMPT_CHARS), source, truncatedFrom: text.length };
}

/** Binary content (NUL bytes or mostly control characters) is refused rather than tokenized. */
export function assertText(text: string): void {
  const sample = text.slice(0, 8192);
  if (sample.includes('\u0000')) throw new PromptError('This looks like a binary file (it contains NUL bytes); SEER explains text prompts.');
  const control = sample.match(/[\u0001-\u0008\u000e-\u001f\ufffd]/g)?.length ?? 0;
  if (sample.length > 0 && control / sample.length > 0.1) {
    throw new PromptError('This looks like binary data (many control characters); SEER explains text prompts.');
  }
}

export const PROMPT_FILE_EXTENSIONS = ['.txt', '.md', '.jsonl', '.csv'] as const;

/**
 * Splits a prompt file into prompts: .txt/.md by blank lines, .jsonl by line (field prompt|text|input
 * or a bare string), .csv by row (column prompt|text|input, else the first column).
 */
export function parsePromptFile(fileName: string, content: string, maxPrompts = 200): string[] {
  assertText(content);
  const ext = fileName.slice(fileName.lastIndexOf('.')).toLowerCase();
  let prompts: string[];
  if (ext === '.txt' || ext === '.md') {
    prompts = content.split(/\r?\n\s*\r?\n/);
  } else if (ext === '.jsonl') {
    prompts = content.split(/\r?\n/).flatMap((line, i) => (line.trim() ? [jsonlPrompt(fileName, line, i + 1)] : []));
  } else if (ext === '.csv') {
    prompts = csvPrompts(fileName, content);
  } else {
    throw new PromptError(`${fileName}: not a prompt file; use ${PROMPT_FILE_EXTENSIONS.join(', ')}.`);
  }
  prompts = prompts.map((p) => p.trim()).filter((p) => p.length > 0);
  if (prompts.length === 0) throw new PromptError(`${fileName}: no prompts found (the file is empty or has only blank entries).`);
  return prompts.slice(0, maxPrompts);
}

const TEXT_FIELDS = ['prompt', 'text', 'input'];

function jsonlPrompt(fileName: string, line: string, lineNo: number): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new PromptError(`${fileName}:${lineNo}: not valid JSON; each line must be a JSON object like {"prompt": "..."}.`);
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    for (const f of TEXT_FIELDS) {
      const v = (value as Record<string, unknown>)[f];
      if (typeof v === 'string') return v;
    }
  }
  throw new PromptError(`${fileName}:${lineNo}: no text field; give each line a "prompt", "text" or "input" string.`);
}

function csvPrompts(fileName: string, content: string): string[] {
  let rows: string[][];
  try {
    rows = parse(content, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (e) {
    throw new PromptError(`${fileName}: not valid CSV (${(e as Error).message}).`);
  }
  if (rows.length === 0) return [];
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = TEXT_FIELDS.map((f) => header.indexOf(f)).find((i) => i >= 0);
  return col === undefined ? rows.map((r) => r[0] ?? '') : rows.slice(1).map((r) => r[col] ?? '');
}
