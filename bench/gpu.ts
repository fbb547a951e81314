// One provider on one bundle, for `npm run bench -- --gpu` (bench/gpu.mjs bundles this into bench/tmp/ and runs
// it once per bundle × provider, each in a fresh process: load time, the first explain after load and peak
// memory are per process). Explain latency (the engine's whole explainBatch: tokenize, forward, score) at each
// tokens × batch shape, p50/p95. Prints one JSON object on stdout; a provider that cannot start is a result
// ({ error }), not a failure.
// usage: [SEER_PYTHON=…] node bench/tmp/gpu.js BUNDLE PROVIDER [--tokens 128,512] [--batches 1,32] [--runs N] [--row-seconds S]
import { parseArgs } from 'node:util';
import type { ProviderChoice } from '../common/protocol';
import { Engine } from '../engine/src/engine';
import { parameterCount } from '../engine/src/runtime/providerChoice';
import { exactPrompt, percentile } from './timing';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: 'string', default: '128,512' }, batches: { type: 'string', default: '1,32' }, runs: { type: 'string', default: '20' }, 'row-seconds': { type: 'string', default: '30' } },
});
const [bundleDir, provider] = positionals as [string, ProviderChoice];
const list = (s: string) => s.split(',').map(Number);

const round = (ms: number) => Math.round(ms * 100) / 100;

async function main(): Promise<void> {
  const started = performance.now();
  let engine: Engine;
  try {
    // The torch provider runs on SEER_PYTHON (gpu.mjs sets it to the Python that has torch), in its default dtype
    // (bfloat16 on CUDA: what PyTorch users run, and the PyTorch column it is compared with).
    engine = await Engine.load({ bundleDir, provider, ...(provider === 'torch' ? { torch: { python: process.env.SEER_PYTHON } } : {}) },
      (line) => process.stderr.write(`[${provider}] ${line}\n`));
  } catch (err) {
    process.stdout.write(JSON.stringify({ requested: provider, error: (err as Error).message.split('\n')[0] }));
    return;
  }
  const loadMs = performance.now() - started;
  const report = engine.info.provider;
  const arch = engine.bundle.manifest.architecture;
  const rowSeconds = Number(values['row-seconds']);
  const rows: Record<string, unknown>[] = [];
  let firstMs: number | null = null;
  let firstExplainParts: Record<string, number> | null = null;
  // The torch provider's sums of where its forwards' time went (TorchRuntime.phasesMs): their growth over one explain.
  const torchParts = () => {
    const sums = () => ({ ...(report.torch?.phasesMs ?? {}) }) as Record<string, number>;
    if (!report.torch) return null;
    const start = sums();
    const ms: Record<string, number> = {};
    return { ms, end: () => Object.assign(ms, Object.fromEntries(Object.entries(sums()).map(([k, v]) => [k, round(v - (start[k] ?? 0))]))) };
  };
  for (const tokens of list(values.tokens!)) {
    for (const batch of list(values.batches!)) {
      const prompts = Array.from({ length: batch }, (_, i) => exactPrompt(engine, tokens, i));
      const run = () => engine.explainBatch(prompts.map((p) => p.text), prompts[0].options);
      try {
        const t0 = performance.now();
        const firstParts = torchParts();
        await run();
        if (firstMs === null) {
          firstMs = performance.now() - t0; // the first explain after load (warm-up included in loadMs)
          firstParts?.end();
          if (firstParts) firstExplainParts = firstParts.ms;
        }
        const samples: number[] = [];
        const inProvider: number[] = []; // the torch provider: the part of each sample spent in PyTorch itself
        const parts: Record<string, number>[] = []; // …and where that went (torch_forward.py's phasesMs, and the pipe)
        const rowStart = performance.now();
        // Adaptive: up to --runs samples, fewer when one shape would take longer than --row-seconds (at least 3).
        while (samples.length < Number(values.runs) && (samples.length < 3 || performance.now() - rowStart < rowSeconds * 1000)) {
          const s = performance.now();
          const before = report.torch?.forwardMs ?? 0;
          const sample = torchParts();
          await run();
          samples.push(performance.now() - s);
          if (report.torch?.forwardMs !== undefined) inProvider.push(report.torch.forwardMs - before);
          if (sample) parts.push(sample.end());
          if (report.fellBackToCpu) break;
        }
        samples.sort((a, b) => a - b);
        inProvider.sort((a, b) => a - b);
        const p50 = (xs: number[]) => round(percentile([...xs].sort((a, b) => a - b), 50));
        rows.push({
          provider: report.used, computeDtype: report.torch?.dtype ?? 'float32', tokens: prompts[0].tokens, batch,
          engineMs: { p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), n: samples.length },
          ...(inProvider.length ? { pytorchMs: { p50: round(percentile(inProvider, 50)), p95: round(percentile(inProvider, 95)) } } : {}),
          ...(parts.length ? { pytorchPartsMs: Object.fromEntries(Object.keys(parts[0]).map((k) => [k, p50(parts.map((p) => p[k]))])) } : {}),
          ...(report.fellBackToCpu ? { fellBackToCpu: report.fellBackToCpu } : {}),
        });
      } catch (err) {
        rows.push({ provider: report.used, tokens, batch, error: (err as Error).message.split('\n')[0] });
      }
      if (report.fellBackToCpu) break;
    }
  }
  await engine.dispose();
  process.stdout.write(JSON.stringify({
    requested: provider,
    used: report.used,
    reason: report.reason ?? null,
    ...(report.torch ? { torch: report.torch } : {}),
    dtype: engine.bundle.manifest.onnx.weightsDtype,
    parameters: parameterCount(arch),
    architecture: arch,
    loadMs: round(loadMs),
    warmUpMs: report.warmUpMs ?? null,
    firstExplainMs: firstMs === null ? null : round(firstMs),
    ...(firstExplainParts ? { firstExplainPytorchPartsMs: firstExplainParts } : {}),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    rows,
  }));
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
