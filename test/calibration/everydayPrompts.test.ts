// Regression test of the committed model on everyday prompts (test/fixtures/everyday-prompts.jsonl): the
// headline concept must be right at least as often as `npm run bench:everyday` recorded for this very model in
// bench/RESULTS-everyday.json. A rebuilt model has another modelSha256: rerun the bench to record its number.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYDAY_RESULTS, defaultBank, readEverydayPrompts, scoreEverydayPrompts, unknownConcepts } from '../../bench/everydayPrompts';
import { Engine } from '../../engine/src/engine';
import { BUNDLE_DIR } from '../engine/helpers';

const prompts = readEverydayPrompts();

describe('everyday prompts on the committed model', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
  });
  afterAll(async () => engine?.dispose());

  it('the list: 120+ distinct prompts, labelled with the default bank’s concepts, safe and unsafe', () => {
    expect(prompts.length).toBeGreaterThanOrEqual(120);
    expect(new Set(prompts.map((p) => p.prompt)).size).toBe(prompts.length);
    const bank = defaultBank(engine);
    expect(unknownConcepts(prompts, bank.concepts)).toEqual([]);
    // The ten concepts of #11 at least (a bank may add more: the list then gains prompts for them when relabelled).
    expect(new Set(prompts.map((p) => p.concept)).size).toBeGreaterThanOrEqual(10);
    // Alarming-looking homonyms expect a safe concept, unsafe requests an unsafe one.
    const safeOf = (kind: string) => [...new Set(prompts.filter((p) => p.kind === kind).map((p) => bank.safeConcepts.includes(p.concept)))];
    expect(safeOf('homonym')).toEqual([true]);
    expect(safeOf('unsafe')).toEqual([false]);
    // The homonyms the issue (#11) names are there, labelled with their harmless meaning.
    const find = (re: RegExp) => prompts.find((p) => re.test(p.prompt));
    expect(find(/kill .*python process/i)?.concept).toBe('programming');
    expect(find(/shoot a photo/i)?.kind).toBe('homonym');
  });

  it('gets at least as many headlines right as recorded for this model by `npm run bench:everyday`', async () => {
    const sha = engine.bundle.manifest.modelSha256;
    const rerun = 'run `npm run bench:everyday` to record it (after every model rebuild; docs/benchmarks.md)';
    if (!existsSync(EVERYDAY_RESULTS)) throw new Error(`${EVERYDAY_RESULTS} is missing: ${rerun}.`);
    const recorded = (JSON.parse(readFileSync(EVERYDAY_RESULTS, 'utf8')) as { runs: Array<{ modelSha256: string; accuracy: number }> }).runs.find((r) => r.modelSha256 === sha);
    if (!recorded) throw new Error(`${EVERYDAY_RESULTS} has no result for this model (${sha.slice(0, 12)}, ${BUNDLE_DIR}): ${rerun}.`);
    const score = await scoreEverydayPrompts(engine, prompts);
    expect(score.total).toBe(prompts.length);
    const misses = score.misses.map((m) => `${m.prompt} → ${m.got} (expected ${m.expected})`).join('\n');
    expect(score.accuracy, `accuracy ${score.accuracy.toFixed(3)} < recorded ${recorded.accuracy.toFixed(3)}; wrong:\n${misses}`).toBeGreaterThanOrEqual(recorded.accuracy);
  }, 300_000);
});
