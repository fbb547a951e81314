import { describe, expect, it } from 'vitest';
import { planBatches } from '../../engine/src/batching';
import { rng } from './random';

describe('planBatches', () => {
  it('covers every prompt once, sorted by length, within the row and padded-token limits', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 50; trial++) {
      const lengths = Array.from({ length: 1 + Math.floor(rand() * 100) }, () => 1 + Math.floor(rand() * 512));
      const limits = { maxRows: 1 + Math.floor(rand() * 32), maxPaddedTokens: 512 + Math.floor(rand() * 8192) };
      const batches = planBatches(lengths, limits);
      expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      const flat = batches.flat().map((i) => lengths[i]);
      expect(flat).toEqual([...flat].sort((a, b) => a - b));
      for (const b of batches) {
        expect(b.length).toBeLessThanOrEqual(limits.maxRows);
        const padded = b.length * Math.max(...b.map((i) => lengths[i]));
        if (b.length > 1) expect(padded).toBeLessThanOrEqual(limits.maxPaddedTokens);
      }
    }
  });
});
