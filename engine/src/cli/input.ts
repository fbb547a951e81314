// The prompt `seer explain -` reads from stdin, decoded by the rule every input follows
// (engine/src/input/encoding.ts). Prompt files are read by engine/src/input/promptFile.ts.
import { SeerError } from '../errors';
import { decodeText, notTextReason, unusableTextReason } from '../input/encoding';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const notText = notTextReason('stdin', bytes);
  if (notText) throw new SeerError('BAD_INPUT', `stdin ${notText.reason}.`, { fix: 'Pipe UTF-8 text into `seer explain -`.' });
  const text = decodeText(bytes);
  // One prompt: a bad byte cannot be skipped as a line of a file is, so the prompt is refused.
  const unusable = unusableTextReason(text);
  if (unusable) throw new SeerError('INVALID_UTF8', `stdin is ${unusable}.`, { fix: 'Convert it first, e.g. `iconv -f latin1 -t utf-8 FILE | seer explain -`.' });
  return text;
}
