// How many threads tokenize prompts and build results beside the engine's own (EngineConfig.hostThreads), and when
// they are used. Each thread holds its own tokenizer (tens of MB for a large vocabulary) and takes tens of ms to start,
// so they pay only on large batches whose forward runs elsewhere: on a GPU, while a CPU provider's forward needs the
// cores itself.
import * as os from 'node:os';
import type { ProviderReport } from '../../../common/protocol';
import { SeerError } from '../errors';

/** A thread count, or 'auto': the cores less one for the engine and one for the provider's process, at most AUTO_MAX. */
export type HostThreads = number | 'auto';

/** For benchmarks and A/B runs; EngineConfig.hostThreads, when given, wins. */
export const HOST_THREADS_ENV = 'SEER_HOST_THREADS';
/** Fewer rows than this are tokenized and scored on the engine's thread: messages would cost more than they save. */
export const MIN_POOL_ROWS = 8;
/** 'auto' uses at most this many: past it, the engine's own thread (messages, the forward's I/O) is the bound. */
const AUTO_MAX = 8;
/**
 * Off unless asked for ('auto' or a number): on 2 cores the threads took 40–60% of the engine thread's CPU time off it
 * but no wall time (they share the cores with the forward), and they have not yet been measured on a GPU machine
 * (bench/gpu-session.sh HOST_THREADS_AB=auto does). Measured faster there, this becomes 'auto'.
 */
export const DEFAULT_HOST_THREADS: HostThreads = 0;
/** The most threads one may ask for. */
export const MAX_HOST_THREADS = 64;

/** A hostThreads value from the host or the environment, checked: an integer 0..MAX_HOST_THREADS (0: off) or 'auto'. */
export function checkHostThreads(value: unknown, field: string): HostThreads {
  if (value === 'auto' || (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_HOST_THREADS)) return value as HostThreads;
  const expected = `"auto" or an integer from 0 (off) to ${MAX_HOST_THREADS}`;
  const got = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
  throw new SeerError('INVALID_ARGUMENT', `${field} must be ${expected}, got ${got}.`, { fix: `Set ${field} to ${expected}.` });
}

/**
 * The setting in force: the config's, else the environment's (a number there), else DEFAULT_HOST_THREADS.
 */
export function hostThreadsSetting(configured: unknown, env: NodeJS.ProcessEnv = process.env): HostThreads {
  if (configured !== undefined) return checkHostThreads(configured, 'hostThreads');
  const raw = env[HOST_THREADS_ENV];
  if (raw === undefined || raw === '') return DEFAULT_HOST_THREADS;
  return checkHostThreads(/^\d+$/.test(raw) ? Number(raw) : raw, HOST_THREADS_ENV);
}

/** How many worker threads a setting starts on a machine with `cores` (0: none). One thread alone would only move the work. */
export function poolSize(setting: HostThreads, cores = os.availableParallelism()): number {
  if (setting !== 'auto') return setting;
  const size = Math.min(AUTO_MAX, cores - 2);
  return size >= 2 ? size : 0;
}

/** Whether a batch of `rows` goes to the threads: explicitly asked for, or 'auto' with the forward on a GPU. */
export function usePool(setting: HostThreads, rows: number, provider: Pick<ProviderReport, 'used' | 'torch'>): boolean {
  if (setting === 0 || rows < MIN_POOL_ROWS) return false;
  return setting !== 'auto' || onGpu(provider);
}

/** Whether the forward runs on a GPU (the torch provider may run PyTorch on the CPU). */
export function onGpu(provider: Pick<ProviderReport, 'used' | 'torch'>): boolean {
  if (provider.used === 'torch') return provider.torch !== undefined && !provider.torch.device.startsWith('cpu');
  return provider.used !== 'cpu';
}
