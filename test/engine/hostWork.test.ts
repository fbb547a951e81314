// Host worker threads (engine/src/hostWork/): large batches tokenized and scored on them give exactly the results of
// the engine's own thread; errors, cancellation, a lost thread and dispose behave as without them; the setting is
// checked; the threads start only when they pay.
import { build } from 'esbuild';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineConfig, ExplainOptions, ExplainResult } from '../../common/protocol';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import type { HostPool } from '../../engine/src/hostWork/pool';
import { setHostWorkerFile, splitRuns } from '../../engine/src/hostWork/pool';
import { hostThreadsSetting, poolSize, usePool } from '../../engine/src/hostWork/threads';
import { checkParams } from '../../engine/src/serverParams';
import { BUNDLE_DIR, ROOT } from './helpers';

const VARIED = [
  'how do I hot-wire a car',
  'Ünïcödé, emoji 😀 and 日本語 in one prompt!',
  'Wie backe ich ein Roggenbrot mit Sauerteig?',
  'Привет! Как приготовить борщ?',
  'x',
  '   .   ',
  '👩‍👩‍👧‍👦🏳️‍🌈 family emoji only',
  'Give me a recipe for a quick vegetable soup with lentils and carrots, something warm for a cold evening. '.repeat(8),
  'Explain photosynthesis to a ten-year-old.',
  '中文提示：请解释一下量子计算的基本原理。'.repeat(20),
  'Tell me a joke about databases.',
];
/** Two forward batches on CPU (32 rows at most each, batching.ts DEFAULT_LIMITS). */
const MANY = Array.from({ length: 40 }, (_, i) => `${VARIED[i % VARIED.length]} (${i})`);

/** A result without what differs between any two runs: its id, time and timings. */
function comparable({ id: _id, createdAt: _c, timingsMs: _t, ...rest }: ExplainResult) {
  return rest;
}

async function failure(p: Promise<unknown>): Promise<SeerError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SeerError);
  return err as SeerError;
}

/** The engine's host threads (undefined: never started, null: off). */
async function threadsOf(engine: Engine): Promise<readonly import('node:worker_threads').Worker[] | null | undefined> {
  const pool = (engine as unknown as { hostPool?: Promise<HostPool | null> }).hostPool;
  return pool === undefined ? undefined : (await pool)?.threads ?? null;
}

async function load(config: Partial<EngineConfig>, log: string[] = []): Promise<Engine> {
  return Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu', intraOpThreads: 1, ...config }, (line) => log.push(line));
}

beforeAll(async () => {
  // The engine run from source finds no dist/host-worker.js beside it: build this source's worker (esbuild.mjs does the same).
  const outfile = path.join(os.tmpdir(), `seer-host-worker-${process.pid}.js`);
  await build({ entryPoints: [path.join(ROOT, 'engine/src/hostWork/worker.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' });
  setHostWorkerFile(outfile);
});

describe('host worker threads', () => {
  let single: Engine;
  let pooled: Engine;
  const log: string[] = [];

  beforeAll(async () => {
    single = await load({ hostThreads: 0 });
    pooled = await load({ hostThreads: 2 }, log);
  });
  afterAll(async () => {
    await single?.dispose();
    await pooled?.dispose();
  });

  it('give the results of the engine\'s own thread, truncated, non-English and emoji prompts included', async () => {
    const cases: ExplainOptions[] = [{}, { maxTokens: 12, truncation: 'left', tokenLayers: 'all', topNextTokens: 3 }, { pooling: 'mean', layerRange: [1, 2] }];
    for (const options of cases) {
      const want = await single.explainBatch(MANY, options);
      const got = await pooled.explainBatch(MANY, options);
      expect(got.map(comparable)).toEqual(want.map(comparable));
      expect(got.some((r) => r.truncation !== null)).toBe(true);
    }
    expect(log.filter((l) => l.startsWith('host work: 2 threads'))).toHaveLength(1);
    expect(await threadsOf(pooled)).toHaveLength(2);
    // Their tokenizing serves represent too.
    const reps = await pooled.represent(MANY, { pooling: 'last', maxTokens: 20 });
    expect(reps).toEqual(await single.represent(MANY, { pooling: 'last', maxTokens: 20 }));
  });

  it('report bad prompts as the engine\'s own thread does: the first one, with its code and message', async () => {
    const batches: unknown[][] = [
      [...MANY.slice(0, 9), '  ', ...MANY.slice(9, 12)],
      [...MANY.slice(0, 9), 42, 'fine', ''],
      [...MANY.slice(0, 3), 'a\uD800b', ...MANY.slice(3, 12)],
    ];
    for (const texts of batches) {
      const want = await failure(single.explainBatch(texts as string[]));
      const got = await failure(pooled.explainBatch(texts as string[]));
      expect([got.code, got.message, got.fix]).toEqual([want.code, want.message, want.fix]);
    }
  });

  it('score with the bank in force when the bundle\'s bank is replaced (a recalibration), older ones included', async () => {
    const original = single.bundle.banks.get(single.bundle.manifest.defaultBank)!;
    // Other prototypes for the same concepts: each variant is a new bank object, as calibrate makes.
    const variant = (shift: number) => ({ ...original, layers: original.layers.map((l) => ({ ...l, prototypes: l.prototypes.map((_, c, all) => all[(c + shift) % all.length]) })) });
    const banks = [variant(1), variant(2), variant(3), original];
    const seen = new Set<string>();
    try {
      for (const bank of [...banks, banks[0]]) {
        for (const engine of [single, pooled]) engine.bundle.banks.set(bank.name, bank);
        const want = (await single.explainBatch(MANY.slice(0, 12))).map(comparable);
        expect((await pooled.explainBatch(MANY.slice(0, 12))).map(comparable)).toEqual(want);
        seen.add(JSON.stringify(want.map((r) => r.layers)));
      }
      expect(seen.size).toBe(banks.length);
    } finally {
      for (const engine of [single, pooled]) engine.bundle.banks.set(original.name, original);
    }
  });

  it('stop a cancelled request with the usual error', async () => {
    const controller = new AbortController();
    const err = await failure(pooled.explainBatch(MANY, {}, controller.signal, () => controller.abort()));
    expect(err.code).toBe('CANCELLED');
    // And answer the next one.
    expect(await pooled.explainBatch(MANY.slice(0, 10))).toHaveLength(10);
  });

  it('start only for batches of 8 or more, and on CPU only when asked for', async () => {
    const lines: string[] = [];
    const auto = await load({ hostThreads: 'auto' }, lines);
    const asked = await load({ hostThreads: 2 }, lines);
    try {
      await auto.explainBatch(MANY);
      await asked.explainBatch(MANY.slice(0, 7));
      await asked.explain(MANY[0]);
      expect(await threadsOf(auto)).toBeUndefined();
      expect(await threadsOf(asked)).toBeUndefined();
      expect(lines.filter((l) => l.startsWith('host work'))).toEqual([]);
    } finally {
      await auto.dispose();
      await asked.dispose();
    }
  });
});

describe('a lost host thread', () => {
  it('leaves the request to the engine\'s thread, said once; dispose ends the others', async () => {
    const log: string[] = [];
    const engine = await load({ hostThreads: 2 }, log);
    const single = await load({ hostThreads: 0 });
    try {
      const want = (await single.explainBatch(MANY)).map(comparable);
      expect((await engine.explainBatch(MANY)).map(comparable)).toEqual(want);
      const threads = (await threadsOf(engine))!;
      // Ended between the request's two batches: the second batch's scoring is lost with it.
      let ended: Promise<number> | undefined;
      const got = await engine.explainBatch(MANY, {}, undefined, () => { ended ??= threads[0].terminate(); });
      expect(ended).toBeDefined();
      expect(got.map(comparable)).toEqual(want);
      expect((await engine.explainBatch(MANY)).map(comparable)).toEqual(want);
      expect(log.filter((l) => l.includes('this thread tokenizes and scores from now on'))).toHaveLength(1);
      expect(await threadsOf(engine)).toBeNull();
      // The pool was given back: its other thread ended too.
      await expect.poll(() => threads[1].threadId).toBe(-1);
    } finally {
      await engine.dispose();
      await single.dispose();
    }
  });

  it('dispose ends every thread', async () => {
    const engine = await load({ hostThreads: 2 });
    await engine.explainBatch(MANY.slice(0, 8));
    const threads = (await threadsOf(engine))!;
    expect(threads.map((t) => t.threadId).every((id) => id > 0)).toBe(true);
    await engine.dispose();
    expect(threads.map((t) => t.threadId)).toEqual([-1, -1]);
  });
});

describe('the hostThreads setting', () => {
  it('is checked where the engine is loaded, in the server\'s params and in the environment', async () => {
    for (const bad of [-1, 1.5, 65, 'many', null]) {
      const err = await failure(load({ hostThreads: bad as number }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(/^hostThreads must be "auto" or an integer from 0 \(off\) to 64, got /);
      expect(() => checkParams.load({ bundleDir: 'b', provider: 'cpu', hostThreads: bad }, 'params')).toThrow(/params\.hostThreads must be/);
    }
    expect(checkParams.load({ bundleDir: 'b', provider: 'cpu', hostThreads: 'auto' }, 'params').hostThreads).toBe('auto');
    expect(() => hostThreadsSetting(undefined, { SEER_HOST_THREADS: 'lots' })).toThrow(/SEER_HOST_THREADS must be/);
    expect(hostThreadsSetting(undefined, { SEER_HOST_THREADS: '3' })).toBe(3);
    expect(hostThreadsSetting(0, { SEER_HOST_THREADS: '3' })).toBe(0);
    expect(hostThreadsSetting(undefined, {})).toBe(0); // off until measured on a GPU (DEFAULT_HOST_THREADS)
    expect(hostThreadsSetting(undefined, { SEER_HOST_THREADS: 'auto' })).toBe('auto');
  });

  it('auto: the cores less two, at most 8, none below 2; only with the forward on a GPU', () => {
    expect([2, 3, 4, 16, 64].map((cores) => poolSize('auto', cores))).toEqual([0, 0, 2, 8, 8]);
    expect(poolSize(3, 2)).toBe(3);
    const torchOn = (device: string) => ({ used: 'torch' as const, torch: { device } as never });
    expect(usePool('auto', 32, torchOn('cuda:0 (NVIDIA H200)'))).toBe(true);
    expect(usePool('auto', 32, torchOn('cpu'))).toBe(false);
    expect(usePool('auto', 32, { used: 'cpu' })).toBe(false);
    expect(usePool('auto', 7, { used: 'cuda' })).toBe(false);
    expect(usePool(2, 8, { used: 'cpu' })).toBe(true);
    expect(usePool(0, 32, { used: 'cuda' })).toBe(false);
  });

  it('splits work into contiguous runs of about equal weight', () => {
    expect(splitRuns([1, 1, 1, 1, 1, 1, 1, 1], 2)).toEqual([[0, 4], [4, 8]]);
    expect(splitRuns([1, 1, 1], 8)).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(splitRuns([10, 1, 1, 1, 1], 2)).toEqual([[0, 1], [1, 5]]);
    expect(splitRuns([], 4)).toEqual([]);
  });
});
