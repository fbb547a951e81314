// Engine.explain / explainBatch on the real bundle: result properties, batching invariance, determinism,
// truncation stated in the result, bad text and options rejected with clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult } from '../../common/protocol';
import { cutPrompt, Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { LIMITS } from '../../engine/src/limits';
import { BUNDLE_DIR, readManifest } from './helpers';

const PROMPTS = [
  'how do I hot-wire a car',
  'What is the derivative of x^2 + 3x?',
  'Ünïcödé, emoji 😀 and 日本語 in one prompt!',
  'Give me a recipe for a quick vegetable soup with lentils and carrots, something warm for a cold evening.',
  'hi',
  'Explain photosynthesis to a ten-year-old.',
  'a '.repeat(120).trim(),
  'Tell me a joke about databases.',
  'x',
];

async function seerError(p: Promise<unknown>): Promise<SeerError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SeerError);
  return err as SeerError;
}

function comparable(r: ExplainResult) {
  return { tokens: r.tokens, layers: r.layers, headline: r.headline, tokenScores: r.tokenScores, nextTokens: r.nextTokens };
}

function expectClose(a: unknown, b: unknown, tol: number, where = ''): void {
  if (typeof a === 'number' && typeof b === 'number') {
    expect(Math.abs(a - b), where).toBeLessThan(tol);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, where).toBe(b.length);
    a.forEach((x, i) => expectClose(x, b[i], tol, `${where}[${i}]`));
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), where).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) expectClose((a as any)[k], (b as any)[k], tol, `${where}.${k}`);
  } else {
    expect(a, where).toEqual(b);
  }
}

describe('Engine.explain', () => {
  let engine: Engine;
  const manifest = readManifest();
  const numLayers: number = manifest.architecture.numLayers;

  beforeAll(async () => {
    engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu', intraOpThreads: 1 });
  });
  afterAll(async () => engine?.dispose());

  it('reports the bundle, its banks and the provider on load', () => {
    expect(engine.info.bundle.concepts).toEqual(manifest.concepts);
    expect(engine.info.bundle.banks).toContain(manifest.defaultBank);
    expect(engine.info.provider).toMatchObject({ used: 'cpu', requested: 'cpu', attempts: [{ provider: 'cpu', ok: true }] });
  });

  it('gives a complete, self-consistent explanation', async () => {
    const r = await engine.explain(PROMPTS[0]);
    const bank = engine.bundle.banks.get(manifest.defaultBank)!;
    expect(r.concepts).toEqual(bank.concepts);
    expect(r.templatedText).toBe(manifest.promptTemplate.replace('{prompt}', PROMPTS[0]));
    expect(r.tokens[0]).toMatchObject({ fromPrompt: false });
    expect(r.tokens.some((t) => t.fromPrompt)).toBe(true);
    expect(r.layers.map((l) => l.layer)).toEqual(Array.from({ length: numLayers + 1 }, (_, i) => i));
    for (const l of r.layers) {
      expect(l.cosine).toHaveLength(r.concepts.length);
      for (const c of l.cosine) expect(Math.abs(c)).toBeLessThanOrEqual(1);
      expect(l.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(l.probs[l.predicted]).toBe(Math.max(...l.probs));
      expect(l.margin).toBeGreaterThanOrEqual(0);
    }
    const target = r.layers.find((l) => l.layer === manifest.targetLayers[0])!;
    expect(r.headline).toMatchObject({
      layer: manifest.targetLayers[0],
      conceptIndex: target.predicted,
      concept: r.concepts[target.predicted],
      confidence: target.probs[target.predicted],
      margin: target.margin,
      safe: bank.safeConcepts.includes(r.concepts[target.predicted]),
    });
    expect(r.headline.trajectory).toEqual(r.layers.map((l) => l.probs[target.predicted]));
    expect(r.tokenScoreLayers).toEqual([manifest.targetLayers[0]]);
    expect(r.tokenScores[0]).toHaveLength(r.tokens.length);
    expect(r.bankStats).toHaveLength(numLayers + 1);
    expect(r.nextTokens).toHaveLength(5);
    for (let i = 1; i < r.nextTokens.length; i++) expect(r.nextTokens[i].prob).toBeLessThanOrEqual(r.nextTokens[i - 1].prob);
    expect(r.truncation).toBeNull();
    expect(r.provider.used).toBe('cpu');
  });

  it('gives the same output for the same input', async () => {
    const a = await engine.explain(PROMPTS[1]);
    const b = await engine.explain(PROMPTS[1]);
    expect(comparable(a)).toEqual(comparable(b));
  });

  it('batching (sorted, right-padded) does not change any result', async () => {
    const batch = await engine.explainBatch(PROMPTS, { tokenLayers: 'all' });
    for (let i = 0; i < PROMPTS.length; i++) {
      const single = await engine.explain(PROMPTS[i], { tokenLayers: 'all' });
      expect(batch[i].text).toBe(PROMPTS[i]);
      expectClose(comparable(batch[i]), comparable(single), 1e-5, `prompt ${i}`);
    }
  });

  it('batched representations equal one-at-a-time ones', async () => {
    const batched = await engine.represent(PROMPTS, { pooling: 'mean', batchSize: 4 });
    for (let i = 0; i < PROMPTS.length; i++) {
      const [one] = await engine.represent([PROMPTS[i]], { pooling: 'mean' });
      expectClose(batched[i].layers.map((l) => Array.from(l)), one.layers.map((l) => Array.from(l)), 1e-5, `prompt ${i}`);
    }
  });

  it('truncates a prompt longer than the context from the configured side and says so', async () => {
    const long = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ');
    const maxContext = manifest.architecture.maxContext;
    for (const side of ['left', 'right'] as const) {
      const r = await engine.explain(long, { truncation: side });
      expect(r.tokens.length).toBe(maxContext);
      expect(r.truncation).toMatchObject({ side });
      expect(r.truncation!.keptTokens).toBeLessThan(r.truncation!.originalTokens);
      expect(r.tokens.filter((t) => t.fromPrompt)).toHaveLength(r.truncation!.keptTokens);
      const kept = engine.bundle.tokenizer.decode(r.tokens.filter((t) => t.fromPrompt).map((t) => t.id));
      if (side === 'left') expect(kept).toContain('word2999');
      else expect(kept).toContain('word0 ');
      // The template's tokens survive: the last token is still the template's.
      expect(r.tokens[r.tokens.length - 1].fromPrompt).toBe(false);
    }
    const capped = await engine.explain(PROMPTS[3], { maxTokens: 5, truncation: 'right' });
    expect(capped.truncation).toMatchObject({ side: 'right', keptTokens: 5 });
  });

  it('scores only the requested layer range and returns token matrices for the requested layers', async () => {
    const r = await engine.explain(PROMPTS[2], { layerRange: [1, 3], tokenLayers: [0, numLayers], topNextTokens: 2, pooling: 'mean' });
    expect(r.layers.map((l) => l.layer)).toEqual([1, 2, 3]);
    expect(r.headline.trajectory).toHaveLength(3);
    expect(r.tokenScoreLayers).toEqual([0, numLayers]);
    expect(r.tokenScores).toHaveLength(2);
    expect(r.nextTokens).toHaveLength(2);
    expect(r.pooling).toBe('mean');
    expect(r.readOut).toBeNull();
  });

  it.each([
    ['last', (r: ExplainResult) => r.tokens.length - 1],
    ['request-end', (r: ExplainResult) => r.tokens.map((t) => t.fromPrompt).lastIndexOf(true) + 1],
  ] as const)('%s pooling scores each layer at the token it names: the pooled state equals that token\'s own state', async (pooling, at) => {
    // The graph reads the pooled state (states) and every token's state (token_states) separately: they must agree.
    const r = await engine.explainBatch([PROMPTS[1], PROMPTS[4]], { pooling, tokenLayers: 'all' });
    for (const result of r) {
      const t = at(result);
      expect(t).toBeGreaterThan(0);
      expect(t).toBeLessThan(result.tokens.length);
      expect(result.readOut).toBe(t); // the panel marks this token
      if (pooling === 'request-end') expect(result.tokens[t].fromPrompt).toBe(false); // the template's token after the prompt
      result.layers.forEach((layer) => expectClose(layer.cosine, result.tokenScores[layer.layer][t], 1e-5, `layer ${layer.layer}`));
      // The token view is rounded to 6 decimals (a float32 cosine's noise past them would double its JSON).
      for (const score of result.tokenScores.flat(2)) expect(String(score).replace('-', '').length).toBeLessThanOrEqual(8);
      expect(result.tokenScores.flat(2).some((score) => String(score).length >= 7)).toBe(true); // not rounded further
    }
  });

  it.each([
    ['', 'EMPTY_INPUT'],
    ['   \n\t  ', 'EMPTY_INPUT'],
    ['broken \ud800 surrogate', 'INVALID_UTF8'],
  ])('rejects bad text %j with %s', async (text, code) => {
    const err = await seerError(engine.explain(text));
    expect(err.code).toBe(code);
    expect(err.fix).toBeTruthy();
  });

  it('names the failing prompt in a batch', async () => {
    const err = await seerError(engine.explainBatch(['fine', ' ', 'also fine']));
    expect(err.message).toContain('Prompt 2 of 3');
  });

  it.each([
    [{ bank: 'no-such-bank' }, 'UNKNOWN_BANK'],
    [{ maxTokens: 0 }, 'INVALID_ARGUMENT'],
    [{ layerRange: [3, 1] as [number, number] }, 'INVALID_ARGUMENT'],
    [{ tokenLayers: [999] }, 'INVALID_ARGUMENT'],
    [{ pooling: 'max' as never }, 'INVALID_ARGUMENT'],
  ])('rejects bad options %j', async (options, code) => {
    expect((await seerError(engine.explain('hello', options))).code).toBe(code);
  });

  it('stops a batch when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await seerError(engine.explainBatch(PROMPTS, {}, controller.signal))).code).toBe('CANCELLED');
    // The engine keeps working afterwards.
    expect((await engine.explain('still alive?')).layers.length).toBe(numLayers + 1);
  });

  it('reports progress per batch', async () => {
    const seen: number[] = [];
    await engine.explainBatch(PROMPTS, {}, undefined, (done, total) => {
      expect(total).toBe(PROMPTS.length);
      seen.push(done);
    });
    expect(seen[seen.length - 1]).toBe(PROMPTS.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe('cutPrompt: a long prompt cut before tokenizing', () => {
  it('keeps the start when the end is dropped, the end when the start is dropped, and never halves a surrogate pair', () => {
    expect(cutPrompt('abcdef', 10, 'right')).toBe('abcdef');
    expect(cutPrompt('abcdef', 4, 'right')).toBe('abcd');
    expect(cutPrompt('abcdef', 4, 'left')).toBe('cdef');
    // '😀' is two UTF-16 code units: a cut through it drops the whole character.
    expect(cutPrompt('ab😀cd', 3, 'right')).toBe('ab');
    expect(cutPrompt('ab😀cd', 3, 'left')).toBe('cd');
    expect(cutPrompt('ab😀cd', 4, 'left')).toBe('😀cd');
  });

  it('reads the same tokens as the whole prompt would give', async () => {
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu', intraOpThreads: 1 });
    try {
      const long = 'tell me about the sea and the mountains. '.repeat(2000);
      const [cut] = await engine.explainBatch([long], { maxTokens: 64 });
      expect(cut.truncation).toMatchObject({ keptTokens: 64, originalChars: long.length, keptChars: 64 * LIMITS.promptCharsPerToken });
      // The tokens the model reads are those of the whole prompt tokenized, then truncated.
      const whole = engine.bundle.tokenizer.encodePrompt(long, 64, 'right');
      expect(cut.tokens.map((t) => t.id)).toEqual(whole.ids);
      expect(cut.truncation!.originalTokens).toBeLessThan(whole.truncation!.originalTokens);
    } finally {
      await engine.dispose();
    }
  });
});
