// ORT vs the trainer's PyTorch reference (trainerBundle.readGolden, per prompt: hidden_states [L+1][T][H], last_logits): the
// format-2 graph's read-outs — states at the last token and at another token, mean_states, last_logits,
// token_states at a few layers — and the tokenizer vs the trainer's tokenization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, type LoadedBundle } from '../../engine/src/bundle/index';
import { Engine } from '../../engine/src/engine';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { BUNDLE_DIR } from './helpers';
import { type Golden, readGolden, trainerMissing } from './trainerBundle';

const TOLERANCE = 1e-4;
const skipReason = trainerMissing();

describe.skipIf(skipReason)('golden values from the PyTorch reference', () => {
  let bundle: LoadedBundle;
  let model: ModelSession;
  let engine: Engine;
  const golden: Golden = skipReason ? { inputs: [], hidden_states: [], last_logits: [], tokenization: [] } : readGolden();

  beforeAll(async () => {
    bundle = await loadBundle(BUNDLE_DIR);
    model = await ModelSession.open(bundle, 'cpu', {});
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

  it.each(golden.inputs.map((input, i) => [i, input.text] as const))('matches every read-out of golden input %i (%s)', async (i) => {
    const ids = golden.inputs[i].input_ids;
    const T = ids.length;
    const { numLayers: L, hiddenSize: H } = bundle.manifest.architecture;
    const ref = golden.hidden_states[i];
    expect(ref.length).toBe(L + 1);
    ref.forEach((layer) => expect(layer.length).toBe(T));
    const tokenLayers = [L, 0, bundle.manifest.targetLayers[0]]; // any order: token_states follows it
    const middle = Math.floor(T / 2);
    const pad = bundle.tokenizer.padId;
    const [last, atMiddle, mean] = await Promise.all([
      model.forward([ids], pad, { positions: [T - 1], logits: true, tokenLayers }),
      model.forward([ids], pad, { positions: [middle] }),
      model.forward([ids], pad, { positions: [T - 1], mean: true }),
    ]);
    const refMean = (l: number, h: number) => ref[l].reduce((sum, row) => sum + row[h], 0) / T;
    let maxDiff = 0;
    const diff = (got: number, want: number) => (maxDiff = Math.max(maxDiff, Math.abs(got - want)));
    for (let l = 0; l <= L; l++) {
      for (let h = 0; h < H; h++) {
        diff(last.states[l * H + h], ref[l][T - 1][h]);
        diff(atMiddle.states[l * H + h], ref[l][middle][h]);
        diff(mean.states[l * H + h], refMean(l, h));
      }
    }
    expect(last.tokenStates.length).toBe(tokenLayers.length * T * H);
    tokenLayers.forEach((layer, j) => {
      for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) diff(last.tokenStates[(j * T + t) * H + h], ref[layer][t][h]);
    });
    expect(maxDiff).toBeLessThan(TOLERANCE);
    let maxLogitDiff = 0;
    golden.last_logits[i].forEach((v, j) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(last.lastLogits![j] - v))));
    expect(maxLogitDiff).toBeLessThan(TOLERANCE * 10); // logits are ~10x larger in magnitude than hidden states
  });

  it('reads each row of a right-padded batch at its own positions, as alone', async () => {
    const rows = golden.inputs.slice(0, 3).map((g) => g.input_ids);
    const { numLayers: L, hiddenSize: H } = bundle.manifest.architecture;
    const pad = bundle.tokenizer.padId;
    const positions = rows.map((r) => r.length - 2);
    const batch = await model.forward(rows, pad, { positions, logits: true, tokenLayers: [1] });
    let maxDiff = 0;
    rows.forEach((r, b) => {
      const ref = golden.hidden_states[b];
      for (let l = 0; l <= L; l++) for (let h = 0; h < H; h++) maxDiff = Math.max(maxDiff, Math.abs(batch.states[(l * rows.length + b) * H + h] - ref[l][positions[b]][h]));
      for (let t = 0; t < r.length; t++) for (let h = 0; h < H; h++) maxDiff = Math.max(maxDiff, Math.abs(batch.tokenStates[(b * batch.seq + t) * H + h] - ref[1][t][h]));
      golden.last_logits[b].forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(batch.lastLogits![b * golden.last_logits[b].length + j] - v) / 10)));
    });
    expect(maxDiff).toBeLessThan(TOLERANCE);
  });

  it('represent() returns the golden last-token, end-of-request and mean representations through the whole engine path', async () => {
    const texts = golden.inputs.map((g) => g.text);
    const [last, end, mean] = await Promise.all((['last', 'request-end', 'mean'] as const).map((pooling) => engine.represent(texts, { pooling })));
    texts.forEach((_, i) => {
      const ref = golden.hidden_states[i];
      const T = golden.inputs[i].input_ids.length;
      expect(last[i].tokenCount).toBe(T);
      expect(last[i].truncated).toBe(false);
      expect(last[i].position).toBe(T - 1);
      expect(mean[i].position).toBeNull();
      // The token after the prompt's: the first of the template's suffix when it has one, else the last.
      const tokens = bundle.tokenizer.encodePrompt(texts[i], 1e9, 'right').tokens;
      const afterPrompt = tokens.map((t) => t.fromPrompt).lastIndexOf(true) + 1;
      expect(end[i].position).toBe(Math.min(afterPrompt, T - 1));
      ref.forEach((layer, l) => {
        const refMean = layer[0].map((_, h) => layer.reduce((s, row) => s + row[h], 0) / T);
        for (let h = 0; h < refMean.length; h++) {
          expect(Math.abs(last[i].layers[l][h] - layer[T - 1][h])).toBeLessThan(TOLERANCE);
          expect(Math.abs(end[i].layers[l][h] - layer[end[i].position!][h])).toBeLessThan(TOLERANCE);
          expect(Math.abs(mean[i].layers[l][h] - refMean[h])).toBeLessThan(TOLERANCE);
        }
      });
    });
  });
});
