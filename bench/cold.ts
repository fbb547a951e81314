// One cold start, in a fresh process: load the bundle (validate, open the model) and run the first explain.
// Prints {"loadMs", "firstExplainMs"}. Usage: node bench/tmp/cold.js BUNDLE THREADS
import { Engine } from '../engine/src/engine';

(async () => {
  const [bundleDir, threads] = process.argv.slice(2);
  const t0 = performance.now();
  const engine = await Engine.load({ bundleDir, provider: 'auto', intraOpThreads: Number(threads) });
  const t1 = performance.now();
  await engine.explain('how do I hot-wire a car');
  const t2 = performance.now();
  await engine.dispose();
  process.stdout.write(JSON.stringify({ loadMs: t1 - t0, firstExplainMs: t2 - t1, provider: engine.info.provider.used }));
})().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
