// ORT vs the trainer's PyTorch reference (golden.json): every layer's hidden states at every position, the last
// position's logits, and the tokenizer vs the trainer's tokenization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, type LoadedBundle } from '../../engine/src/bundle/index';
import { Engine } from '../../engine/src/engine';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { BUNDLE_DIR, type Golden, readGolden } from './helpers';

const TOLERANCE = 1e-4;

describe('golden values from the PyTorch reference', () => {
  let bundle: LoadedBundle;
  let model: ModelSession;
  let engine: Engine;
  const golden: Golden = readGolden();

  beforeAll(async () => {
    bundle = await loadBundle(BUNDLE_DIR);
    model = await ModelSession.open(bundle.manifest, bundle.modelFile, 'cpu', {});
    engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
  });
  afterAll(async () => {
    await model?.release();
    await engine?.dispose();
  });

  it('has golden inputs and a tokenization set to check against', () => {
    expect(golden.inputs.length).toBeGreaterThan(0);
    expect(golden.tokenization.length).toBeGreaterThan(0);
  });

  it('tokenizes every golden string exactly like the trainer', () => {
    const mismatches = golden.tokenization.filter((t) => JSON.stringify(bundle.tokenizer.encodeRaw(t.text)) !== JSON.stringify(t.ids));
    expect(mismatches.map((m) => m.text)).toEqual([]);
  });

  it('applies the prompt template and bos exactly like the trainer', () => {
    for (const input of golden.inputs) {
      const enc = bundle.tokenizer.encodePrompt(input.text, 1e9, 'right');
      expect(enc.templatedText).toBe(input.templated);
      expect(enc.ids).toEqual(input.input_ids);
      // The tokens flagged as the prompt's decode to the prompt (plus, at most, template characters they share).
      const promptIds = enc.tokens.filter((t) => t.fromPrompt).map((t) => t.id);
      expect(bundle.tokenizer.decode(promptIds)).toContain(input.text);
      const templateIds = enc.tokens.filter((t) => !t.fromPrompt).map((t) => t.id);
      expect(bundle.tokenizer.decode(templateIds)).not.toContain(input.text);
    }
  });

  it.each(golden.inputs.map((input, i) => [i, input.text] as const))('matches every layer at every position for golden input %i (%s)', async (i) => {
    const ids = golden.inputs[i].input_ids;
    const out = await model.forward([ids], bundle.tokenizer.padId, true);
    const { numLayers, hiddenSize } = bundle.manifest.architecture;
    const ref = golden.hidden_states[i];
    expect(ref.length).toBe(numLayers + 1);
    let maxDiff = 0;
    for (let l = 0; l <= numLayers; l++) {
      expect(ref[l].length).toBe(ids.length);
      for (let t = 0; t < ids.length; t++) {
        const o = (l * ids.length + t) * hiddenSize;
        for (let h = 0; h < hiddenSize; h++) maxDiff = Math.max(maxDiff, Math.abs(out.hidden[o + h] - ref[l][t][h]));
      }
    }
    expect(maxDiff).toBeLessThan(TOLERANCE);
    let maxLogitDiff = 0;
    golden.last_logits[i].forEach((v, j) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(out.lastLogits![j] - v))));
    expect(maxLogitDiff).toBeLessThan(TOLERANCE * 10); // logits are ~10x larger in magnitude than hidden states
  });

  it('represent() returns the golden last-token and mean representations through the whole engine path', async () => {
    const texts = golden.inputs.map((g) => g.text);
    const [last, mean] = await Promise.all([engine.represent(texts, { pooling: 'last' }), engine.represent(texts, { pooling: 'mean' })]);
    texts.forEach((_, i) => {
      const ref = golden.hidden_states[i];
      const T = golden.inputs[i].input_ids.length;
      expect(last[i].tokenCount).toBe(T);
      expect(last[i].truncated).toBe(false);
      ref.forEach((layer, l) => {
        const refMean = layer[0].map((_, h) => layer.reduce((s, row) => s + row[h], 0) / T);
        for (let h = 0; h < refMean.length; h++) {
          expect(Math.abs(last[i].layers[l][h] - layer[T - 1][h])).toBeLessThan(TOLERANCE);
          expect(Math.abs(mean[i].layers[l][h] - refMean[h])).toBeLessThan(TOLERANCE);
        }
      });
    });
  });
});
