// `seer compare A B [C …]` (prompts under one bundle; A is the reference the others are compared with),
// `seer compare A B --compare-bundle DIR` (B under its own bundle) and `seer compare TEXT --compare-bundle DIR`
// (one prompt under two bundles, e.g. SEER and its baseline twin): explained through the engine's public API,
// compared by engine/src/compare.ts, printed side by side or as JSON (docs/cli.md#compare).
import * as path from 'node:path';
import type { EngineConfig, ExplainOptions, ExplainResult } from '../../../common/protocol';
import { compareResults, MAX_COMPARE_SIDES, sideLabel } from '../compare';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { renderComparison } from '../report/comparisonReport';
import { styleFor } from '../report/terminalStyle';
import { write } from './explainCommand';
import { type Command, ENGINE_OPTIONS, ENGINE_USAGE, engineConfigFromArgs, parseCommandArgs, promptReadingFromArgs } from './shared';

const USAGE = `seer compare "A" "B" ["C" …] [options]          explain the prompts and compare B, C, … with A
seer compare "TEXT" --compare-bundle DIR [options]  one prompt under two bundles (--bundle and DIR)
seer compare "A" "B" --compare-bundle DIR          A under --bundle, B under DIR
  --json                the comparison as JSON (layout in docs/cli.md#compare)
  --compare-bundle DIR  bundle of side B, with at most two prompts (default: the --bundle of side A)
  --bank NAME           concept bank of both sides (default: each bundle's default bank)
  --pooling P           last | request-end | mean (default: the bank's)
  --max-tokens N        keep at most N prompt tokens (default and cap: the model context)
  --truncate left|right which end of a too-long prompt is dropped (default right)
${ENGINE_USAGE}`;

const OPTIONS = {
  ...ENGINE_OPTIONS,
  json: { type: 'boolean', default: false },
  'compare-bundle': { type: 'string' },
  bank: { type: 'string' },
  pooling: { type: 'string' },
  'max-tokens': { type: 'string' },
  truncate: { type: 'string' },
} as const;

export const compareCommand: Command = {
  name: 'compare',
  summary: 'compare the explanations of two or more prompts, or of one prompt under two bundles',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, USAGE);
    const fix = `Usage:\n${USAGE}`;
    const otherBundle = values['compare-bundle'];
    if (positionals.length === 0 || positionals.length > MAX_COMPARE_SIDES) {
      throw new SeerError('INVALID_ARGUMENT', `compare takes 2 to ${MAX_COMPARE_SIDES} prompts (or one with --compare-bundle), got ${positionals.length}.`, {
        fix: `Quote each prompt: seer compare "how do I bake bread" "how do I make a bomb".\n${fix}`,
      });
    }
    if (positionals.length === 1 && otherBundle === undefined) {
      throw new SeerError('INVALID_ARGUMENT', 'One prompt was given: compare needs a second prompt or a second bundle (--compare-bundle DIR).', { fix });
    }
    if (positionals.length > 2 && otherBundle !== undefined) {
      throw new SeerError('INVALID_ARGUMENT', `--compare-bundle compares two sides, got ${positionals.length} prompts.`, {
        fix: `Drop --compare-bundle to compare ${positionals.length} prompts under one bundle, or give two prompts.\n${fix}`,
      });
    }
    for (const [i, p] of positionals.entries()) {
      if (p.trim() === '') throw new SeerError('INVALID_ARGUMENT', `Prompt ${sideLabel(i)} is empty.`, { fix });
    }
    const texts = positionals.length === 1 ? [positionals[0], positionals[0]] : positionals;
    const options: ExplainOptions = { ...promptReadingFromArgs(values, USAGE), bank: values.bank };
    const configA = engineConfigFromArgs(values, USAGE);
    const configB = otherBundle === undefined ? configA : { ...configA, bundleDir: path.resolve(otherBundle) };
    const results = await explainAll(configA, configB, texts, options);
    const comparison = compareResults(results[0], ...results.slice(1));
    await write(values.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${renderComparison(comparison, styleFor(process.stdout))}\n`);
    for (const w of new Set(results.flatMap((r) => [r.provider.fellBackToCpu ?? [], r.warnings ?? []].flat()))) process.stderr.write(`warning: ${w}\n`);
    return 0;
  },
};

/** Every side from one engine (one batch) when all use A's bundle, else A and B from one engine per bundle, one after the other. */
async function explainAll(configA: EngineConfig, configB: EngineConfig, texts: string[], options: ExplainOptions): Promise<ExplainResult[]> {
  if (configA.bundleDir === configB.bundleDir) return withEngine(configA, (e) => e.explainBatch(texts, options));
  // One model in memory at a time: two large bundles side by side could need twice the memory.
  const a = await withEngine(configA, (e) => e.explain(texts[0], options));
  const b = await withEngine(configB, (e) => e.explain(texts[1], options));
  return [a, b];
}

async function withEngine<T>(config: EngineConfig, use: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.load(config);
  try {
    return await use(engine);
  } finally {
    await engine.dispose();
  }
}
