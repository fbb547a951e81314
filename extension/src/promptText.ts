// Which text "Explain with SEER" explains in the editor. Pure functions. Prompt files are read by the engine
// (parsePromptFile in engine/src/api.ts), with the same paragraph rule as the cursor pick here.
import { binaryReason, paragraphAt } from '../../engine/src/api';

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
  const paragraph = paragraphAt(lines, cursorLine);
  if (!paragraph) throw new PromptError('Nothing to explain: select a prompt, or put the cursor on a non-empty line.');
  const text = lines.slice(paragraph.start, paragraph.end + 1).join('\n');
  return limit(text, paragraph.start === paragraph.end ? 'line' : 'paragraph');
}

function limit(text: string, source: PromptPick['source']): PromptPick {
  const binary = binaryReason(text);
  if (binary) throw new PromptError(`This looks like binary data (${binary}); SEER explains text prompts.`);
  if (text.length <= MAX_PROMPT_CHARS) return { text, source };
  return { text: text.slice(0, MAX_PROMPT_CHARS), source, truncatedFrom: text.length };
}
