// The prompts of `seer explain` and `seer represent`: TEXT, stdin (`-`) decoded by the rule every input
// follows (engine/src/input/encoding.ts), or a prompt file read by engine/src/input/promptFile.ts.
import { SeerError } from '../errors';
import { decodeText, notTextReason, unusableTextReason } from '../input/encoding';
import { readPromptFile } from '../input/promptFile';

/** One prompt, with the file line it starts on (none for TEXT or stdin). */
export interface CliPrompt {
  text: string;
  line?: number;
}

/** TEXT (the positionals joined: `seer explain how do I …` without quotes is one prompt), `-` or --file F. */
export async function readCliPrompts(positionals: string[], file: string | undefined, usage: string): Promise<{ prompts: CliPrompt[]; fromFile: boolean }> {
  const fix = `Usage:\n${usage}`;
  if (file !== undefined) {
    if (positionals.length) throw new SeerError('INVALID_ARGUMENT', 'Give either TEXT or --file, not both.', { fix });
    const { prompts, skipped } = await readPromptFile(file);
    for (const s of skipped) process.stderr.write(`skipped line ${s.line}: ${s.reason}\n`);
    return { prompts, fromFile: true };
  }
  if (positionals.length === 0) throw new SeerError('INVALID_ARGUMENT', 'No prompt given.', { fix });
  if (positionals.length === 1 && positionals[0] === '-') return { prompts: [{ text: await readStdin() }], fromFile: false };
  return { prompts: [{ text: positionals.join(' ') }], fromFile: false };
}

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
