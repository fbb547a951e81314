// Groups prompts into forward-pass batches: sorted by length (little padding), each batch bounded by a
// row count and by padded tokens. The token bound keeps a forward's activations and token-view outputs small and
// bounds how long a cancellation waits (it takes effect between forwards).
import type { ProviderReport } from '../../common/protocol';

export interface BatchLimits {
  maxRows: number;
  maxPaddedTokens: number;
}

export const DEFAULT_LIMITS: BatchLimits = { maxRows: 32, maxPaddedTokens: 4096 };

/**
 * The torch provider on CUDA: the read-outs are reduced on the GPU (only cosines cross the pipe) and a batch that
 * does not fit is split (runBatchesSplitting), so one forward may take 32 rows of 512 tokens. With 4096 tokens a
 * 512 × 32 explain of the Llama-3.2-1B shape was four forwards on an H200: 135 ms in PyTorch against 91 ms for the
 * same rows as one forward (bench/RESULTS-gpu.md).
 */
export const CUDA_LIMITS: BatchLimits = { maxRows: 32, maxPaddedTokens: 16384 };

/** The batch bounds for where the forward runs now (a provider that fell back to CPU gets the CPU's). */
export function limitsFor(provider: Pick<ProviderReport, 'used' | 'torch'>, env: NodeJS.ProcessEnv = process.env): BatchLimits {
  if (!(provider.used === 'torch' && provider.torch?.device.startsWith('cuda'))) return DEFAULT_LIMITS;
  // A tuning knob for the benchmark's A/B (docs/benchmarks.md): fewer rows per forward, so that more forwards
  // overlap the engine's scoring of the one before (runBatchesSplitting).
  const rows = Number(env.SEER_CUDA_MAX_ROWS);
  return Number.isInteger(rows) && rows >= 1 && rows < CUDA_LIMITS.maxRows ? { ...CUDA_LIMITS, maxRows: rows } : CUDA_LIMITS;
}

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

/**
 * A forward pass that ran out of device memory (the torch provider's CUDA): the engine runs the batch again as two
 * halves on the same device (runBatchesSplitting) instead of leaving the GPU for the CPU; a single row that does not
 * fit falls back to CPU as any failing GPU forward does.
 */
export class DeviceOutOfMemory extends Error {}

/**
 * Runs each batch through `forward` and hands its output to `use`; a batch of two or more rows whose forward runs
 * out of device memory is split in two halves (shorter rows first, as planned) and those run in its place.
 * `onSplit` is told each time. Returns how many splits there were. The next batch's forward is started before
 * `use` reads the current one's output: with a provider in another process (torch), scoring one batch here
 * overlaps the next forward there.
 */
export async function runBatchesSplitting<T>(
  batches: number[][],
  forward: (batch: number[]) => Promise<T>,
  use: (batch: number[], out: T) => void,
  onSplit?: (batch: number[], err: DeviceOutOfMemory) => void,
): Promise<number> {
  const queue = [...batches];
  let splits = 0;
  const start = (batch: number[]) => ({ batch, out: forward(batch) });
  let running = queue.length > 0 ? start(queue.shift()!) : null;
  while (running) {
    const { batch } = running;
    let out: T;
    try {
      out = await running.out;
    } catch (err) {
      if (!(err instanceof DeviceOutOfMemory) || batch.length < 2) throw err;
      splits++;
      onSplit?.(batch, err);
      const half = Math.ceil(batch.length / 2);
      queue.unshift(batch.slice(0, half), batch.slice(half));
      running = start(queue.shift()!);
      continue;
    }
    // Started before `use` runs (synchronously: the promise is awaited before it can settle unobserved).
    running = queue.length > 0 ? start(queue.shift()!) : null;
    use(batch, out);
  }
  return splits;
}
