// What the timing benchmarks share (bench/measure.ts, bench/gpu.ts, bench/hostWork.ts): percentiles, and prompts
// of an exact token count.
import type { Engine } from '../engine/src/engine';

export const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches near the old harbour'.split(' ');

/** The p-th percentile of ascending `sorted` (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * A prompt that the engine cuts to exactly `tokens` tokens (template included), and the options that do it. Only a
 * little longer than that (until GPU run 5 it was twice as long, so the engine tokenized twice the text it kept): a
 * word is at least one token, and the template's few tokens come off the budget. `seed` varies the words.
 */
export function exactPrompt(engine: Engine, tokens: number, seed: number) {
  const text = Array.from({ length: tokens + 16 }, (_, i) => WORDS[(seed * 7 + i * 13) % WORDS.length]).join(' ');
  const count = (maxTokens: number) => engine.bundle.tokenizer.encodePrompt(text, maxTokens, 'right').ids.length;
  let maxTokens = tokens;
  maxTokens += tokens - count(maxTokens); // take the template's tokens off the prompt's budget
  if (count(maxTokens) !== tokens) throw new Error(`a prompt of ${tokens} tokens: this bundle's template leaves ${count(maxTokens)}`);
  return { text, tokens, options: { maxTokens, truncation: 'right' as const, tokenLayers: 'target' as const } };
}
