import { describe, expect, it } from 'vitest';
import { CUDA_LIMITS, DEFAULT_LIMITS, DeviceOutOfMemory, limitsFor, planBatches, runBatchesSplitting } from '../../engine/src/batching';
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

describe('limitsFor: how much one forward may take', () => {
  it('32 rows of 512 tokens in one forward for the torch provider on CUDA; the CPU bound everywhere else', () => {
    const cuda = { used: 'torch' as const, torch: { device: 'cuda:0 (NVIDIA H200)' } as never };
    expect(limitsFor(cuda, {})).toBe(CUDA_LIMITS);
    expect(limitsFor(cuda, { SEER_CUDA_MAX_ROWS: '8' })).toEqual({ ...CUDA_LIMITS, maxRows: 8 });
    expect(limitsFor(cuda, { SEER_CUDA_MAX_ROWS: 'lots' })).toBe(CUDA_LIMITS);
    expect(limitsFor({ used: 'cpu' }, { SEER_CUDA_MAX_ROWS: '8' })).toBe(DEFAULT_LIMITS);
    expect(planBatches(Array(32).fill(512), limitsFor(cuda))).toHaveLength(1);
    expect(planBatches(Array(32).fill(512), DEFAULT_LIMITS)).toHaveLength(4);
    expect(limitsFor({ used: 'torch', torch: { device: 'cpu' } as never })).toBe(DEFAULT_LIMITS);
    // After a fallback the report says cpu: the CPU's bound again.
    expect(limitsFor({ ...cuda, used: 'cpu' })).toBe(DEFAULT_LIMITS);
    expect(limitsFor({ used: 'webgpu' })).toBe(DEFAULT_LIMITS);
  });
});

describe('runBatchesSplitting: a batch that runs out of device memory runs again as two halves', () => {
  it('splits until the halves fit, keeps the planned order, and passes every row exactly once', async () => {
    const used: number[][] = [];
    const split: number[][] = [];
    const forward = async (batch: number[]) => {
      if (batch.length > 2) throw new DeviceOutOfMemory(`CUDA out of memory (${batch.length} rows)`);
      return batch.map((i) => i * 10);
    };
    const splits = await runBatchesSplitting([[0, 1, 2, 3, 4], [5]], forward, (batch, out) => {
      expect(out).toEqual(batch.map((i) => i * 10));
      used.push(batch);
    }, (batch) => split.push(batch));
    expect(used).toEqual([[0, 1], [2], [3, 4], [5]]);
    expect(split).toEqual([[0, 1, 2, 3, 4], [0, 1, 2]]);
    expect(splits).toBe(2);
  });

  it('a single row that does not fit, and any other error, are not retried', async () => {
    const oom = new DeviceOutOfMemory('CUDA out of memory');
    await expect(runBatchesSplitting([[7]], async () => Promise.reject(oom), () => undefined)).rejects.toBe(oom);
    const other = new Error('device lost');
    let calls = 0;
    await expect(runBatchesSplitting([[1, 2, 3]], async () => {
      calls++;
      throw other;
    }, () => undefined)).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it('starts the next forward before the current output is used (scoring overlaps the next forward), in order', async () => {
    const events: string[] = [];
    const forward = async (batch: number[]) => {
      events.push(`start ${batch}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (batch.length > 1 && batch[0] === 2) throw new DeviceOutOfMemory('CUDA out of memory');
      return batch;
    };
    await runBatchesSplitting([[0], [1], [2, 3]], forward, (batch) => events.push(`use ${batch}`));
    expect(events).toEqual(['start 0', 'start 1', 'use 0', 'start 2,3', 'use 1', 'start 2', 'start 3', 'use 2', 'use 3']);
  });
});

describe('Engine: a batch out of device memory', () => {
  it('is run as smaller batches with the same results, and the provider report says so', async () => {
    const { Engine } = await import('../../engine/src/engine');
    const { BUNDLE_DIR } = await import('./helpers');
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
    try {
      const texts = ['How do I bake bread?', 'how to kill a python process', 'ok', 'Write a haiku about the sea, please, in English.', 'What is 2 + 2?'];
      const whole = await engine.explainBatch(texts);
      expect(engine.info.provider.splitBatches).toBeUndefined();
      // The model as a GPU near its memory limit: more than two rows at once do not fit.
      const model = (engine as unknown as { model: { forward: (rows: number[][], ...rest: unknown[]) => Promise<unknown> } }).model;
      const forward = model.forward.bind(model);
      const sizes: number[] = [];
      model.forward = async (rows, ...rest) => {
        sizes.push(rows.length);
        if (rows.length > 2) throw new DeviceOutOfMemory('PyTorch (cuda:0): OutOfMemoryError: CUDA out of memory');
        return forward(rows, ...rest);
      };
      const split = await engine.explainBatch(texts);
      expect(sizes).toEqual([5, 3, 2, 1, 2]);
      split.forEach((r, i) => {
        expect(r.text).toBe(texts[i]);
        expect(r.layers.map((l) => l.cosine)).toEqual(whole[i].layers.map((l) => l.cosine));
        expect(r.tokenScores).toEqual(whole[i].tokenScores);
      });
      expect(engine.info.provider.splitBatches).toMatch(/^cpu ran out of device memory on a batch of 5 × \d+ tokens \(PyTorch \(cuda:0\): OutOfMemoryError: CUDA out of memory\); it was run as smaller batches on the same device\.$/);
    } finally {
      await engine.dispose();
    }
  }, 60_000);
});
