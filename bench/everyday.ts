// In-process part of `npm run bench:everyday` (bundled by bench/everyday.mjs into bench/tmp/): the everyday
// prompts through each bundle's explain path, and the share of XSTest's safe prompts flagged unsafe.
// Prints one JSON object on stdout. Usage: node bench/tmp/everyday.js PROMPTS XSTEST BUNDLE...
import { existsSync } from 'node:fs';
import { Engine } from '../engine/src/engine';
import { defaultBank, readEverydayPrompts, scoreEverydayPrompts, unknownConcepts, xstestFlaggedUnsafe } from './everydayPrompts';

async function main(promptsFile: string, xstestFile: string, bundles: string[]): Promise<void> {
  const prompts = readEverydayPrompts(promptsFile);
  const runs = [];
  for (const bundleDir of bundles) {
    const engine = await Engine.load({ bundleDir, provider: 'cpu' });
    try {
      const unknown = unknownConcepts(prompts, defaultBank(engine).concepts);
      if (unknown.length) throw new Error(`${bundleDir}: the default bank has no concept ${unknown.map((c) => `"${c}"`).join(', ')}: relabel ${promptsFile}.`);
      const started = performance.now();
      const score = await scoreEverydayPrompts(engine, prompts);
      const xstest = existsSync(xstestFile) ? await xstestFlaggedUnsafe(engine, xstestFile) : null;
      runs.push({
        bundle: bundleDir,
        name: engine.bundle.manifest.name,
        modelSha256: engine.bundle.manifest.modelSha256,
        ...score,
        xstest,
        seconds: (performance.now() - started) / 1000,
      });
    } finally {
      await engine.dispose();
    }
  }
  process.stdout.write(JSON.stringify({ prompts: prompts.length, runs }));
}

const [promptsFile, xstestFile, ...bundles] = process.argv.slice(2);
main(promptsFile, xstestFile, bundles).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
