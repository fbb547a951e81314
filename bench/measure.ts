// In-process measurements for `npm run bench` (bundled by bench/run.mjs into bench/tmp/): steady-state explain
// latency by prompt length, forward-only latency, batch throughput, matrix-multiply throughput through ORT,
// and peak RSS. Prints one JSON object on stdout. Usage: node bench/tmp/measure.js BUNDLE THREADS [--quick]
import * as ort from 'onnxruntime-node';
import { Engine } from '../engine/src/engine';
import { matmulModelBytes } from '../engine/src/runtime/matmulModel';
import type { ModelSession } from '../engine/src/runtime/modelSession';
import { percentile, WORDS } from './timing';

const [bundleDir, threadsArg, ...flags] = process.argv.slice(2);
const threads = Number(threadsArg);
const quick = flags.includes('--quick');

const LENGTHS = [16, 128, 512];
const BATCH_SIZES = [1, 8, 32];

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0], p50: percentile(s, 50), p95: percentile(s, 95), mean: s.reduce((a, b) => a + b, 0) / s.length, n: s.length };
}

/** A prompt of natural-looking words; long enough to be cut to any length with maxTokens. */
function text(seed: number, words: number): string {
  return Array.from({ length: words }, (_, i) => WORDS[(seed * 7 + i * 13) % WORDS.length]).join(' ');
}

async function timeIt(fn: () => Promise<unknown>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Best-of GFLOP/s of C = A·B through ORT's MatMul on the CPU provider (the machine's practical GEMM limit). */
async function matmulLimit(size: number, runs: number) {
  const session = await ort.InferenceSession.create(matmulModelBytes(), { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const a = new ort.Tensor('float32', Float32Array.from({ length: size * size }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [size, size]);
  const times = await timeIt(() => session.run({ A: a, B: a }), 2, runs);
  await session.release();
  const best = Math.min(...times);
  return { size, bestMs: best, gflops: (2 * size ** 3) / (best / 1000) / 1e9 };
}

/**
 * Greedy `seer generate` speed with its per-token explanation (issue 13's goal: ≥ 20 tokens/s on CPU): each
 * step re-runs the whole prefix (no KV cache in the graph) and scores the target layer against the bank.
 * Tokens/s over every step of every run; a run may stop early at the model's eos.
 */
async function generationSpeed(engine: Engine, quick: boolean) {
  const maxNewTokens = quick ? 16 : 64;
  const runs = quick ? 2 : 5;
  const prompts = Array.from({ length: runs + 1 }, (_, i) => text(i, 6 + i));
  await engine.generate(prompts[runs], { maxNewTokens: 4 }); // warm-up
  const stepMs: number[] = [];
  let seconds = 0;
  for (const prompt of prompts.slice(0, runs)) {
    let last = performance.now();
    const t0 = last;
    await engine.generate(prompt, { maxNewTokens }, () => {
      const now = performance.now();
      stepMs.push(now - last);
      last = now;
    });
    seconds += (performance.now() - t0) / 1000;
  }
  return { runs, maxNewTokens, tokens: stepMs.length, seconds, tokensPerSecond: stepMs.length / seconds, stepMs: stats(stepMs) };
}

async function main() {
  const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: threads });
  const templateTokens = engine.bundle.tokenizer.encodePrompt('x', 1, 'right').tokens.filter((t) => !t.fromPrompt).length;
  const runs = quick ? 5 : 40;

  const latency: Record<string, unknown> = {};
  for (const len of LENGTHS) {
    // A prompt of natural length: the most words that stay within `len` tokens, then trimmed to exactly `len`
    // by maxTokens (so tokenization costs what it would for a real prompt of that length).
    const count = (t: string) => engine.bundle.tokenizer.encodePrompt(t, Infinity, 'right', Infinity).ids.length;
    let words = 1;
    while (count(text(len, words + 1)) <= len) words++;
    const prompt = text(len, words + 1);
    const opts = { maxTokens: len - templateTokens, truncation: 'right' as const, tokenLayers: 'target' as const };
    opts.maxTokens += len - (await engine.explain(prompt, opts)).tokens.length;
    const tokens = (await engine.explain(prompt, opts)).tokens.length;
    const explainMs = await timeIt(() => engine.explain(prompt, opts), 5, len >= 512 ? Math.ceil(runs / 2) : runs);
    const ids = engine.bundle.tokenizer.encodePrompt(prompt, opts.maxTokens, 'right').ids;
    const model = (engine as unknown as { model: ModelSession }).model;
    const want = { positions: [ids.length - 1], logits: true, tokenLayers: engine.bundle.manifest.targetLayers.slice(0, 1) }; // what explain fetches
    const forwardMs = await timeIt(() => model.forward([ids], engine.bundle.tokenizer.padId, want), 3, len >= 512 ? Math.ceil(runs / 2) : runs);
    latency[String(len)] = { tokens, explainMs: stats(explainMs), forwardMs: stats(forwardMs) };
  }

  // Typical prompts: a short question to a paragraph (4..40 words).
  const pool = Array.from({ length: quick ? 64 : 256 }, (_, i) => text(i, 4 + ((i * 13) % 37)));
  const throughput: Record<string, unknown> = {};
  for (const size of BATCH_SIZES) {
    await engine.explainBatch(pool.slice(0, size));
    const t0 = performance.now();
    for (let i = 0; i < pool.length; i += size) await engine.explainBatch(pool.slice(i, i + size));
    const seconds = (performance.now() - t0) / 1000;
    throughput[String(size)] = { prompts: pool.length, seconds, promptsPerSecond: pool.length / seconds };
  }
  const promptTokens = pool.map((p) => engine.bundle.tokenizer.encodePrompt(p, Infinity, 'right').ids.length);
  const generation = await generationSpeed(engine, quick);
  await engine.dispose();

  const matmul = [await matmulLimit(512, quick ? 3 : 10), await matmulLimit(1024, quick ? 2 : 6)];
  const arch = engine.bundle.manifest.architecture;
  process.stdout.write(
    JSON.stringify({
      threads,
      architecture: arch,
      templateTokens,
      latency,
      throughput: { ...throughput, promptTokens: stats(promptTokens) },
      generation,
      matmul,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
