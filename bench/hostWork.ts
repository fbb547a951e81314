// In-process part of `npm run bench:host` (bench/host-work.mjs bundles this into bench/tmp/): the engine's own work
// per explain — tokenizing, the pipe both ways, building results — with the torch provider's forward replaced by a
// stand-in that answers at once (bench/standin-forward: the same wire protocol, random outputs of the right shapes,
// reporting a GPU so that the engine batches as on one). What a GPU run adds on top of these numbers is the forward
// itself. Prints one JSON object on stdout.
// usage: SEER_TORCH_FORWARD_DIR=bench/standin-forward node bench/tmp/host-work.js BUNDLE PYTHON [--tokens 128,512] [--batches 1,32]
//        [--runs N] [--warm N]
import { parseArgs } from 'node:util';
import { Engine } from '../engine/src/engine';
import { exactPrompt, percentile } from './timing';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: 'string', default: '128,512' }, batches: { type: 'string', default: '1,32' }, runs: { type: 'string', default: '30' }, warm: { type: 'string', default: '5' } },
});
const [bundleDir, python] = positionals;
const list = (s: string) => s.split(',').map(Number);
const round = (ms: number) => Math.round(ms * 100) / 100;
const p50 = (xs: number[]) => round(percentile([...xs].sort((a, b) => a - b), 50));

async function main(): Promise<void> {
  const engine = await Engine.load({ bundleDir, provider: 'torch', torch: { python } });
  try {
    const report = engine.info.provider;
    if (report.used !== 'torch' || report.torch?.torchVersion !== 'stand-in') throw new Error(`the stand-in forward did not start: ${JSON.stringify(report)}`);
    const rows = [];
    for (const tokens of list(values.tokens!)) {
      for (const batch of list(values.batches!)) {
        const prompts = Array.from({ length: batch }, (_, i) => exactPrompt(engine, tokens, i));
        const wall: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < Number(values.warm) + Number(values.runs); i++) {
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          await engine.explainBatch(prompts.map((p) => p.text), prompts[0].options);
          const ms = performance.now() - t0;
          const used = process.cpuUsage(cpu0);
          if (i < Number(values.warm)) continue; // V8 optimising the loops, the bank's vectors sent once
          wall.push(ms);
          cpu.push((used.user + used.system) / 1000);
        }
        rows.push({ tokens, batch, engineMs: p50(wall), engineCpuMs: p50(cpu), perPromptMs: round(p50(wall) / batch), runs: wall.length });
      }
    }
    const { architecture, name } = engine.bundle.manifest;
    process.stdout.write(JSON.stringify({ bundle: bundleDir, name, architecture: { numLayers: architecture.numLayers, hiddenSize: architecture.hiddenSize, vocabSize: architecture.vocabSize }, rows }));
  } finally {
    await engine.dispose();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
