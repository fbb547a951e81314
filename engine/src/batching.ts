// Groups prompts into forward-pass batches: sorted by length (little padding), each batch bounded by a
// row count and by padded tokens. The token bound keeps a forward's activations and token-view outputs small and
// bounds how long a cancellation waits (it takes effect between forwards).

export interface BatchLimits {
  maxRows: number;
  maxPaddedTokens: number;
}

export const DEFAULT_LIMITS: BatchLimits = { maxRows: 32, maxPaddedTokens: 4096 };

/** Batches of indices into `lengths`, shortest first; every index appears exactly once. */
export function planBatches(lengths: number[], limits: BatchLimits = DEFAULT_LIMITS): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    // Sorted ascending, so the newest row is the longest: padded size = rows × its length.
    const padded = (current.length + 1) * lengths[i];
    if (current.length > 0 && (current.length >= limits.maxRows || padded > limits.maxPaddedTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
