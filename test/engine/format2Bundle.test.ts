// The engine on format-2 bundles written by the trainer (trainerBundle.ts), independent of the committed models:
// represent's layers against the trainer's PyTorch decoder for each pooling, the read-out token of
// "request-end", the graph's pooled states against its every-token states, a model whose weights are in
// model.onnx.data giving the same results as the same model in one file, fp16 weights with fp32 outputs, and
// seer.json's onnx.kvCache checked against the manifest and the graph.
import { mkdtempSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pooling } from '../../common/protocol';
import { loadBundle, type LoadedBundle } from '../../engine/src/bundle/index';
import { SeerError } from '../../engine/src/errors';
import { Engine } from '../../engine/src/engine';
import { readOutPosition } from '../../engine/src/representation';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { buildCheckpoint, importBundles, type Reference, reference, trainerMissing } from './trainerBundle';

const TOLERANCE = 1e-4; // relative to the largest magnitude compared
const TIMEOUT = 300_000;
const PROMPTS = ['How do I bake bread?', 'hi', 'Tell me about the history of the printing press in Europe, please.'];

const skipReason = trainerMissing();
if (skipReason) console.warn(`skipping the trainer-built format-2 bundle tests: ${skipReason}`);

/** max |a - b| / max(1, max |b|) over flat arrays. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe.skipIf(skipReason)('format-2 bundles built by the trainer', () => {
  let tmp: string;
  let checkpoint: string;
  let inlineDir: string;
  let externalDir: string;
  let fp16Dir: string;
  let engine: Engine;
  /** The prompts' token ids (template applied) and the PyTorch decoder's outputs for them. */
  let rows: number[][];
  let ref: Reference;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-format2-'));
    checkpoint = buildCheckpoint(tmp);
    inlineDir = path.join(tmp, 'inline');
    externalDir = path.join(tmp, 'external');
    fp16Dir = path.join(tmp, 'fp16');
    importBundles(checkpoint, [{ out: inlineDir }, { out: externalDir, external: true }, { out: fp16Dir, dtype: 'fp16' }]);
    engine = await Engine.load({ bundleDir: inlineDir, provider: 'cpu', intraOpThreads: 1, userBankDir: path.join(tmp, 'no-user-banks') });
    rows = PROMPTS.map((p) => engine.bundle.tokenizer.encodePrompt(p, 1e9, 'right').ids);
    ref = reference(checkpoint, rows);
  }, TIMEOUT);
  afterAll(async () => {
    await engine?.dispose();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it.each(['last', 'request-end', 'mean'] as const)('represent (%s) equals the PyTorch decoder\'s hidden states, read where it says', async (pooling: Pooling) => {
    const reps = await engine.represent(PROMPTS, { pooling });
    reps.forEach((rep, i) => {
      expect(rep.ids).toEqual(rows[i]);
      const T = rep.ids.length;
      const layers = ref.hiddenStates[i];
      expect(rep.layers).toHaveLength(layers.length);
      const want = layers.map((layer) => (rep.position === null ? layer[0].map((_, h) => layer.reduce((s, row) => s + row[h], 0) / T) : layer[rep.position]));
      expect(relDiff(rep.layers.flatMap((l) => Array.from(l)), want.flat())).toBeLessThan(TOLERANCE);
      if (pooling === 'last') expect(rep.position).toBe(T - 1);
      if (pooling === 'mean') expect(rep.position).toBeNull();
    });
  }, TIMEOUT);

  it('request-end reads the template\'s end-of-turn token right after the prompt (<|eot_id|> of the Llama 3 template)', () => {
    const { tokenizer } = engine.bundle;
    for (const text of PROMPTS) {
      const enc = tokenizer.encodePrompt(text, 1e9, 'right');
      const at = readOutPosition(enc.tokens, 'request-end');
      expect(enc.tokens[at].text).toBe('<|eot_id|>');
      expect(enc.tokens[at - 1].fromPrompt).toBe(true);
      expect(enc.tokens.slice(at).every((t) => !t.fromPrompt)).toBe(true);
      expect(at).toBeLessThan(enc.ids.length - 1); // the assistant header follows: not the last token
    }
  });

  describe('one forward pass', () => {
    let bundle: LoadedBundle;
    let model: ModelSession;
    beforeAll(async () => {
      bundle = await loadBundle(inlineDir);
      model = await ModelSession.open(bundle, 'cpu', {});
    });
    afterAll(async () => model?.release());

    it('states at each row\'s read-out token equal token_states there, at every layer, in a right-padded batch; last_logits equal PyTorch\'s', async () => {
      const { numLayers: L, hiddenSize: H, vocabSize: V } = bundle.manifest.architecture;
      const tokenLayers = Array.from({ length: L + 1 }, (_, l) => L - l); // reversed: token_states follows the order asked
      for (const positions of [rows.map((r) => r.length - 1), rows.map((r) => Math.floor(r.length / 2))]) {
        const out = await model.forward(rows, bundle.tokenizer.padId, { positions, logits: true, tokenLayers });
        expect(out.states).toHaveLength((L + 1) * rows.length * H);
        expect(out.tokenStates).toHaveLength((L + 1) * rows.length * out.seq * H);
        rows.forEach((_, b) => {
          tokenLayers.forEach((layer, j) => {
            const state = out.states.subarray((layer * rows.length + b) * H, (layer * rows.length + b + 1) * H);
            const o = ((j * rows.length + b) * out.seq + positions[b]) * H;
            expect(relDiff(state, out.tokenStates.subarray(o, o + H))).toBeLessThan(1e-6);
          });
        });
        rows.forEach((_, b) => expect(relDiff(out.lastLogits!.subarray(b * V, (b + 1) * V), ref.lastLogits[b])).toBeLessThan(TOLERANCE));
      }
    }, TIMEOUT);
  });

  it('weights in model.onnx.data (declared in seer.json, checked at load) give the results of the one-file model', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(externalDir, 'seer.json'), 'utf8'));
    expect(manifest.onnx.externalData.file).toBe('model.onnx.data');
    expect((await fs.stat(path.join(externalDir, 'model.onnx.data'))).size).toBe(manifest.onnx.externalData.bytes);
    const external = await Engine.load({ bundleDir: externalDir, provider: 'cpu', intraOpThreads: 1, userBankDir: path.join(tmp, 'no-user-banks') });
    try {
      for (const pooling of ['last', 'mean'] as const) {
        const [a, b] = [await external.represent(PROMPTS, { pooling }), await engine.represent(PROMPTS, { pooling })];
        a.forEach((rep, i) => expect(relDiff(rep.layers.flatMap((l) => Array.from(l)), b[i].layers.flatMap((l) => Array.from(l)))).toBeLessThan(1e-6));
      }
    } finally {
      await external.dispose();
    }
  }, TIMEOUT);

  it('onnx.kvCache: an import declares its graph\'s cache; a bad declaration or one the graph does not match is refused clearly', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(inlineDir, 'seer.json'), 'utf8'));
    const { numHeads, hiddenSize } = engine.bundle.manifest.architecture;
    expect(manifest.onnx.kvCache).toEqual(engine.bundle.manifest.onnx.kvCache);
    expect(numHeads % manifest.onnx.kvCache.numKvHeads).toBe(0);
    expect(manifest.onnx.kvCache.headDim).toBeLessThanOrEqual(hiddenSize);
    const edited = path.join(tmp, 'edited');
    const refusal = async (kvCache: unknown, open: boolean) => {
      await fs.rm(edited, { recursive: true, force: true });
      await fs.cp(inlineDir, edited, { recursive: true });
      await fs.writeFile(path.join(edited, 'seer.json'), JSON.stringify({ ...manifest, onnx: { ...manifest.onnx, kvCache } }));
      const err = await loadBundle(edited).then((b) => (open ? ModelSession.open(b, 'cpu', {}).then((m) => m.release()) : undefined)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(SeerError);
      return err as SeerError;
    };
    const { numKvHeads, headDim } = manifest.onnx.kvCache;
    const notDividing = await refusal({ numKvHeads: numHeads - 1, headDim }, false);
    expect(notDividing.code).toBe('BUNDLE_INVALID');
    expect(notDividing.message).toContain(`"onnx.kvCache.numKvHeads" must divide architecture.numHeads (${numHeads}), got ${numHeads - 1}`);
    expect((await refusal({ numKvHeads, headDim: 'wide' }, false)).message).toContain('onnx.kvCache.headDim');
    const otherGraph = await refusal({ numKvHeads, headDim: headDim + 2 }, true);
    expect(otherGraph.code).toBe('MODEL_MISMATCH');
    expect(otherGraph.message).toContain(`"past_key_0" dimension 3 is ${headDim}, but seer.json implies ${headDim + 2}`);
  }, TIMEOUT);

  it('fp16 weights (float32 outputs) stay within 2e-2 of the float32 PyTorch decoder', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(fp16Dir, 'seer.json'), 'utf8'));
    expect(manifest.onnx.weightsDtype).toBe('float16');
    const fp16 = await Engine.load({ bundleDir: fp16Dir, provider: 'cpu', intraOpThreads: 1, userBankDir: path.join(tmp, 'no-user-banks') });
    try {
      const reps = await fp16.represent(PROMPTS, { pooling: 'last' });
      reps.forEach((rep, i) => {
        expect(rep.ids).toEqual(rows[i]);
        const want = ref.hiddenStates[i].map((layer) => layer[rep.position!]);
        expect(relDiff(rep.layers.flatMap((l) => Array.from(l)), want.flat())).toBeLessThan(2e-2);
      });
    } finally {
      await fp16.dispose();
    }
  }, TIMEOUT);
});
