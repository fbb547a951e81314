// One greedy generation through ModelSession.sequence (what Engine.generate runs per step), timed; prints JSON.
// Usage (bundled by kvCache.mjs): node bench/tmp/kvCache.js BUNDLE NEW_TOKENS THREADS
import { loadBundle } from '../engine/src/bundle/index';
import { ModelSession } from '../engine/src/runtime/modelSession';

async function main(): Promise<void> {
  const [dir, newTokens, threads] = process.argv.slice(2);
  const bundle = await loadBundle(dir, { userBankDir: dir });
  const model = await ModelSession.open(bundle, 'cpu', { intraOpThreads: Number(threads) });
  const ids = bundle.tokenizer.encodePrompt('Write a short story about a lighthouse keeper and a storm.', 1e9, 'left').ids;
  const prompt = ids.length;
  const sequence = model.sequence(bundle.tokenizer.padId);
  const stepMs: number[] = [];
  for (let k = 0; k < Number(newTokens); k++) {
    const started = performance.now();
    const logits = (await sequence.forward(ids)).lastLogits!;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    ids.push(best);
    stepMs.push(performance.now() - started);
  }
  await sequence.release();
  await model.release();
  const total = stepMs.reduce((a, b) => a + b, 0);
  const round = (x: number) => Math.round(x * 10) / 10;
  process.stdout.write(JSON.stringify({
    kvCache: Boolean(bundle.manifest.onnx.kvCache), promptTokens: prompt, newTokens: stepMs.length,
    tokensPerSecond: round((stepMs.length * 1000) / total), firstStepMs: round(stepMs[0]), lastStepMs: round(stepMs[stepMs.length - 1]),
    tokens: ids.slice(prompt),
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
