// Reading prompts for `seer explain`: the argument text, stdin (`-`) or a file with one prompt per line
// (JSON Lines when the file ends in .jsonl: a string or an object with "text" or "prompt").
// Bytes are decoded strictly: invalid UTF-8 is an error naming the source and byte offset, never mojibake.
import { promises as fs } from 'node:fs';
import { TextDecoder } from 'node:util';
import { SeerError } from '../errors';

export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new SeerError('INVALID_UTF8', `${source} is not valid UTF-8 (first bad byte at offset ${offset}).`, {
      file: source,
      fix: 'Convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8 FILE > FILE.utf8`.',
    });
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return decodeUtf8(Buffer.concat(chunks), 'stdin');
}

export interface FilePrompts {
  prompts: string[];
  blankLines: number;
}

export async function readPromptFile(file: string): Promise<FilePrompts> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new SeerError('FILE_NOT_FOUND', `Cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, { file, fix: 'Check the path.' });
  }
  const lines = decodeUtf8(bytes, file).split(/\r?\n/);
  const jsonl = file.toLowerCase().endsWith('.jsonl');
  const prompts: string[] = [];
  let blankLines = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') {
      blankLines += i < lines.length - 1 || line !== '' ? 1 : 0; // the final newline is not a blank line
      return;
    }
    prompts.push(jsonl ? promptFromJson(line, file, i + 1) : line);
  });
  if (prompts.length === 0) throw new SeerError('EMPTY_INPUT', `${file} has no prompts.`, { file, fix: 'Put one prompt per line.' });
  return { prompts, blankLines };
}

function promptFromJson(line: string, file: string, lineNo: number): string {
  const fix = 'Each line of a .jsonl file must be a JSON string or an object with a "text" (or "prompt") string.';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new SeerError('BAD_INPUT', `${file}:${lineNo}: not valid JSON (${(err as Error).message}).`, { file, fix });
  }
  if (typeof value === 'string') return value;
  const obj = value as { text?: unknown; prompt?: unknown } | null;
  const text = obj?.text ?? obj?.prompt;
  if (typeof text !== 'string') throw new SeerError('BAD_INPUT', `${file}:${lineNo}: no "text" or "prompt" string.`, { file, fix });
  return text;
}

/** Offset of the first byte that makes the input invalid: the longest prefix that still decodes (in stream
 *  mode an unfinished character at the end is not an error, so validity is monotone and bisection works). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}
