// `seer represent` as users run it (`node bin/seer.js`, built by `npm run build`): its layers against the trainer's
// PyTorch hidden states (trainerBundle.readGolden), --file's JSON Lines across chunks, and clean errors.
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../engine/src/bundle/index';
import { chunkRows } from '../../engine/src/calibration/representer';
import { readOutPosition } from '../../engine/src/representation';
import { BUNDLE_DIR, readManifest, ROOT, runSeer } from './helpers';
import { type Golden, readGolden, trainerMissing } from './trainerBundle';

const TOLERANCE = 1e-4;

interface Represented {
  line?: number;
  ids: number[];
  position: number | null;
  truncated: boolean;
  layers: number[][];
}

function seer(args: string[], input?: string) {
  return runSeer(['represent', ...args, '--bundle', BUNDLE_DIR, '--threads', '1'], { input, timeoutMs: 120_000 });
}

/** Largest absolute difference between `got` and golden's every layer at token `t` (or the mean over tokens when t is null). */
function maxDiffFromGolden(got: number[][], ref: number[][][], t: number | null): number {
  let max = 0;
  ref.forEach((layer, l) => {
    const want = t === null ? layer[0].map((_, h) => layer.reduce((s, row) => s + row[h], 0) / layer.length) : layer[t];
    want.forEach((v, h) => (max = Math.max(max, Math.abs(got[l][h] - v))));
  });
  return max;
}

function expectCleanError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toContain('fix: ');
  expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
}

const skipReason = trainerMissing();

describe.skipIf(skipReason)('seer represent against the PyTorch reference', () => {
  const golden: Golden = skipReason ? { inputs: [], hidden_states: [], last_logits: [], tokenization: [] } : readGolden();
  const { numLayers, hiddenSize } = readManifest().architecture;
  let tmp: string;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-represent-'));
  });
  afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

  it.each(golden.inputs.map((input, i) => [i, input.text] as const))('--json gives the golden ids and every layer at the last token for golden input %i (%s)', (i, text) => {
    const r = seer([text, '--json', '--pooling', 'last']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const rep = JSON.parse(r.stdout) as Represented;
    const T = golden.inputs[i].input_ids.length;
    expect(rep.ids).toEqual(golden.inputs[i].input_ids); // the prompt template and bos applied, as explain does
    expect(rep.position).toBe(T - 1);
    expect(rep.truncated).toBe(false);
    expect(rep.layers).toHaveLength(numLayers + 1);
    expect(rep.layers.every((l) => l.length === hiddenSize)).toBe(true);
    expect(maxDiffFromGolden(rep.layers, golden.hidden_states[i], T - 1)).toBeLessThan(TOLERANCE);
  });

  it('--pooling mean gives the mean over tokens and no position; stdin with -', () => {
    const r = seer(['-', '--json', '--pooling', 'mean'], golden.inputs[0].text);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Represented;
    expect(rep.position).toBeNull();
    expect(maxDiffFromGolden(rep.layers, golden.hidden_states[0], null)).toBeLessThan(TOLERANCE);
  });

  it('--pooling request-end reads the token right after the prompt (the template\'s first token after it), and says where', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    const suffix = bundle.manifest.promptTemplate.split('{prompt}')[1];
    const suffixIds = bundle.tokenizer.encodeRaw(suffix);
    for (const [i, input] of golden.inputs.entries()) {
      const T = input.input_ids.length;
      const r = seer([input.text, '--json', '--pooling', 'request-end']);
      expect(r.code).toBe(0);
      const rep = JSON.parse(r.stdout) as Represented;
      // With a template suffix, the prompt's tokens end where the suffix's begin (golden ids end with them).
      expect(rep.ids.slice(T - suffixIds.length)).toEqual(suffixIds);
      const want = suffixIds.length > 0 ? T - suffixIds.length : T - 1;
      expect(rep.position).toBe(want);
      expect(maxDiffFromGolden(rep.layers, golden.hidden_states[i], want)).toBeLessThan(TOLERANCE);
    }
    const human = seer([golden.inputs[0].text, '--pooling', 'request-end']);
    expect(human.stdout).toContain(`read at position ${golden.inputs[0].input_ids.length - suffixIds.length} (the end-of-request token)`);
  });

  it('without --json prints the token count, the position and each layer\'s norm', () => {
    const T = golden.inputs[1].input_ids.length;
    const r = seer([golden.inputs[1].text, '--pooling', 'last']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${T} tokens (prompt template applied), read at position ${T - 1}`);
    const norms = [...r.stdout.matchAll(/^\s+(\d+)\s+(\d+\.\d+)$/gm)].map((m) => Number(m[2]));
    const want = golden.hidden_states[1].map((layer) => Math.hypot(...layer[T - 1]));
    expect(norms).toHaveLength(numLayers + 1);
    norms.forEach((n, l) => expect(Math.abs(n - want[l])).toBeLessThan(1e-3 + 1e-4 * want[l]));
  });

  it('--file writes one JSON line per prompt, in order, with its line number, across several chunks', async () => {
    // More than two chunks, so the chunk boundaries are crossed; a bad line is skipped and reported.
    const count = 2 * chunkRows(4 * (numLayers + 1) * hiddenSize) + 10;
    const goldenTexts = golden.inputs.map((g) => g.text);
    const prompts = Array.from({ length: count }, (_, i) => goldenTexts[i % goldenTexts.length]);
    const lines = prompts.map((p) => JSON.stringify({ prompt: p }));
    lines.splice(3, 0, '{not json', '');
    const file = path.join(tmp, 'prompts.jsonl');
    await fs.writeFile(file, lines.join('\n'));
    // Read at the last token (the golden states' position), whatever the bundle's own representation.
    const r = seer(['--file', file, '--jsonl', '--pooling', 'last']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('skipped line 4: not valid JSON\n');
    const reps = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Represented);
    expect(reps).toHaveLength(count);
    // Prompt k sits on file line k+1, or k+3 after the bad and the blank line.
    expect(reps.map((rep) => rep.line)).toEqual(prompts.map((_, k) => (k < 3 ? k + 1 : k + 3)));
    reps.forEach((rep, k) => {
      const g = k % goldenTexts.length;
      expect(rep.ids).toEqual(golden.inputs[g].input_ids);
      expect(rep.position).toBe(rep.ids.length - 1);
    });
    const last = reps.length - 1;
    expect(maxDiffFromGolden(reps[last].layers, golden.hidden_states[last % goldenTexts.length], reps[last].position)).toBeLessThan(TOLERANCE);
  });

  it('says so when a prompt is truncated', () => {
    const r = seer([golden.inputs[0].text, '--json', '--max-tokens', '2']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Represented;
    expect(rep.truncated).toBe(true);
    expect(rep.ids.length).toBeLessThan(golden.inputs[0].input_ids.length);
    expect(r.stderr).toBe(`warning: the prompt was truncated to ${rep.ids.length} tokens\n`);
  });
});

describe('seer represent', () => {
  let tmp: string;
  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-represent-'));
  });
  afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

  it('refuses bad flags and missing input with a clear error, not a stack trace', () => {
    expectCleanError(seer(['hello', '--pooling', 'avg']), /--pooling must be last or mean or request-end, got "avg"/);
    expectCleanError(seer(['hello', '--layers', '3']), /Unknown option '--layers'/);
    expectCleanError(seer(['hello', '--max-tokens', '0']), /--max-tokens must be a positive integer/);
    expectCleanError(seer([]), /No prompt given/);
    expectCleanError(seer(['hello', '--file', path.join(tmp, 'prompts.jsonl')]), /either TEXT or --file/);
    expectCleanError(seer(['--file', path.join(tmp, 'missing.txt')]), /Cannot read .*missing\.txt/);
  });
});

describe('readOutPosition', () => {
  const tokens = (flags: string) => [...flags].map((f) => ({ fromPrompt: f === 'p' }));
  it.each([
    ['last', 'tppptt', 5],
    ['mean', 'tppptt', 5],
    ['request-end', 'tppptt', 4],
    ['request-end', 'tpppt', 4],
    ['request-end', 'tppp', 3], // no template after the prompt: the last token
    ['request-end', 'ttt', 2], // no prompt token at all (cannot happen after encoding): the last token
  ] as const)('%s over %s reads token %i', (pooling, flags, want) => {
    expect(readOutPosition(tokens(flags), pooling)).toBe(want);
  });
});
