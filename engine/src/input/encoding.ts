// How bytes become text, for every input SEER reads (prompt files, stdin, datasets, the editor selection).
// One rule: UTF-8, decoded leniently, and any prompt or row that holds a byte that is not UTF-8 is skipped and
// reported by line. A file is refused whole only when it is not text at all (UTF-16, binary): skipping every
// line of it would report noise instead of the one fix that matters.
import { extname } from 'node:path';
import { TextDecoder } from 'node:util';

/** What an invalid byte decodes to; seeing it in a line is how the readers know the line was not UTF-8. */
const REPLACEMENT_CHAR = '\uFFFD';
/** JSON escapes can produce these; they are not text and the tokenizer refuses them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Binary sniffing looks at the start only, like git and editors do. */
const SNIFF_CHARS = 8192;
/** How many bytes of a file `notTextReason` looks at. */
export const SNIFF_BYTES = SNIFF_CHARS;
const MAX_CONTROL_SHARE = 0.1;

/** The skip reason of a prompt or row holding bytes that are not UTF-8. */
export const NOT_UTF8 = 'not valid UTF-8';

/** The fix when lines were skipped as not UTF-8 (Latin-1 / Windows-1252 are the usual culprits). */
export function convertToUtf8Fix(file: string): string {
  return `Convert the file to UTF-8, e.g. \`iconv -f latin1 -t utf-8 "${file}" > converted${extname(file)}\`.`;
}

/** UTF-8 bytes as text: a leading byte-order mark dropped, invalid bytes as U+FFFD, line endings as \n. */
export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes).replace(/\r\n?/g, '\n');
}

/** decodeText for a stream of chunks (a file larger than memory). */
export async function* decodeTextStream(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  // A CR ending a chunk waits for the next one: it may be the first half of a CRLF.
  let carry = '';
  for await (const chunk of chunks) {
    const text = carry + decoder.decode(chunk, { stream: true });
    carry = text.endsWith('\r') ? '\r' : '';
    const complete = carry ? text.slice(0, -1) : text;
    if (complete) yield complete.replace(/\r\n?/g, '\n');
  }
  const rest = carry + decoder.decode();
  if (rest) yield rest.replace(/\r\n?/g, '\n');
}

/**
 * Why `text` (one prompt, or one row's field) cannot be used, or undefined. U+FFFD counts as invalid UTF-8
 * even when written literally: it is the trace of an earlier failed conversion, not text to explain.
 */
export function unusableTextReason(text: string): string | undefined {
  if (text.includes(REPLACEMENT_CHAR)) return NOT_UTF8;
  if (LONE_SURROGATE.test(text)) return 'invalid Unicode (unpaired surrogate)';
  return undefined;
}

/**
 * Why `text` looks like binary data rather than text (NUL bytes, or many control characters), or undefined.
 * Bytes that are not UTF-8 do not count: a Latin-1 file is text, and its lines are skipped one by one.
 */
export function binaryReason(text: string): string | undefined {
  const sample = text.slice(0, SNIFF_CHARS);
  if (sample.includes('\u0000')) return 'it contains NUL bytes';
  const control = sample.match(/[\u0001-\u0008\u000e-\u001f]/g)?.length ?? 0;
  if (sample.length > 0 && control / sample.length > MAX_CONTROL_SHARE) return 'it has many control characters';
  return undefined;
}

/** Why `file`, which starts with `head`, is not UTF-8 text at all, with the fix; undefined when it is text. */
export function notTextReason(file: string, head: Uint8Array): { reason: string; fix: string } | undefined {
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    return { reason: 'is UTF-16 (it starts with a UTF-16 byte-order mark); SEER reads UTF-8', fix: `Convert it, e.g. \`iconv -f UTF-16 -t UTF-8 "${file}" > converted${extname(file)}\`.` };
  }
  // stream: a character cut at the end of the sample is not counted as a bad byte.
  const binary = binaryReason(new TextDecoder('utf-8').decode(head.subarray(0, SNIFF_BYTES), { stream: true }));
  if (binary) return { reason: `looks like binary data (${binary})`, fix: 'Give a text file: SEER reads UTF-8 text.' };
  return undefined;
}
