// A prompt far from every concept is reported as low-confidence, from the bank's own statistics: a bank
// calibrated on the synthetic model (syntheticModel.ts: "<concept> …" lies along that concept's direction,
// any other first word along a direction of its own), then prompts scored at the target layer.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { ExplainResult } from '../../common/protocol';
import { type ConceptBank, bankToJson, parseBank } from '../../engine/src/bundle';
import type { Manifest } from '../../engine/src/bundle/manifest';
import type { LoadedBundle } from '../../engine/src/bundle/index';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { heldOutMaxCosinePercentile } from '../../engine/src/calibration/layerStatistics';
import { buildExplainResult } from '../../engine/src/explain';
import { LOW_CONFIDENCE_REASON, lowConfidence } from '../../engine/src/lowConfidence';
import { renderBatchLine, renderReport } from '../../engine/src/report/explanationReport';
import { readOutCosinesOf } from '../../engine/src/runtime/reductions';
import type { Style } from '../../engine/src/report/terminalStyle';
import { scoreLayer } from '../../engine/src/scores';
import { conceptCsv, tempDir, writeFixture } from './fixtures';
import { DIM, LAYERS, SyntheticModel, syntheticFacts } from './syntheticModel';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const concepts = ['algebra', 'geometry', 'biology', 'law'];
const facts = syntheticFacts(dir);
const TARGET = facts.targetLayers[0];
const model = new SyntheticModel();

async function syntheticBank(): Promise<ConceptBank> {
  const csv = writeFixture(dir, 'train.csv', conceptCsv(concepts, 60));
  return (await calibrate(model, facts, { path: csv, textColumns: ['prompt'], labelColumn: 'value', bankName: 'topics' })).bank;
}

async function representation(text: string): Promise<Float32Array[]> {
  const [rep] = await model.represent([text], { pooling: 'last' });
  return rep.layers.map((l) => Float32Array.from(l));
}

async function flag(bank: ConceptBank, text: string) {
  const rep = await representation(text);
  const scores = scoreLayer(TARGET, rep[TARGET], bank.layers[TARGET].prototypes, facts.logitScale);
  return { scores, low: lowConfidence(scores, bank.layers[TARGET].stats) };
}

const same = (s: string) => s;
const plain: Style = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same };
const unseen = Array.from({ length: 40 }, (_, i) => `zq${i}x words the bank never saw, number ${i}`);

describe('low confidence', () => {
  it('takes the 5th percentile by nearest rank, as calibrate.py does (trainer/tests/test_calibrate.py)', () => {
    // Two prototypes at right angles; row i at angle θ_i from the first, so its best cosine is max(cos θ_i, sin θ_i).
    const prototypes = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
    const rows = (n: number) => Array.from({ length: n }, (_, i) => {
      const angle = (Math.PI / 4) * (i / n);
      return { concept: i % 2, layers: [Float32Array.of(Math.cos(angle), Math.sin(angle))] };
    });
    const best = (n: number) => rows(n).map((r) => Math.max(r.layers[0][0], r.layers[0][1])).sort((a, b) => a - b);
    for (const [n, rank] of [[3, 1], [20, 1], [21, 2], [60, 3], [100, 5]]) {
      expect(heldOutMaxCosinePercentile(rows(n), 0, prototypes), `n = ${n}`).toBeCloseTo(best(n)[rank - 1], 6);
    }
  });

  it('the bank records, per layer, the 5th percentile of the held-out rows\' best cosine, and keeps it through its file', async () => {
    const bank = await syntheticBank();
    for (const l of bank.layers) expect(l.stats.heldOutMaxCosineP05).toBeGreaterThan(-1);
    // Concepts sharpen with depth (syntheticModel.ts): held-out rows sit closer to their prototypes higher up.
    expect(bank.layers[LAYERS].stats.heldOutMaxCosineP05!).toBeGreaterThan(bank.layers[1].stats.heldOutMaxCosineP05! + 0.1);
    const manifest = { modelSha256: facts.modelSha256, architecture: { numLayers: LAYERS, hiddenSize: DIM } } as Manifest;
    const reread = parseBank(JSON.parse(JSON.stringify(bankToJson(bank))), 'topics.json', manifest);
    expect(reread.layers.map((l) => l.stats.heldOutMaxCosineP05)).toEqual(bank.layers.map((l) => l.stats.heldOutMaxCosineP05));
  });

  it('flags prompts far from every concept, and few of a known concept\'s new prompts', async () => {
    const bank = await syntheticBank();
    const threshold = bank.layers[TARGET].stats.heldOutMaxCosineP05!;
    const far = await Promise.all(unseen.map((t) => flag(bank, t)));
    const flagged = far.filter((f) => f.low);
    expect(flagged.length / far.length).toBeGreaterThan(0.9);
    for (const { scores, low } of flagged) {
      expect(low!.threshold).toBe(threshold);
      expect(low!.maxCosine).toBe(Math.max(...scores.cosine));
      expect(low!.maxCosine).toBeLessThan(threshold);
      expect(low!.reason).toContain(LOW_CONFIDENCE_REASON);
    }
    // New rows of the calibrated concepts: about 5% fall below the held-out 5th percentile, not most of them.
    const near = await Promise.all(concepts.flatMap((c) => Array.from({ length: 25 }, (_, i) => flag(bank, `${c} new prompt ${i}`))));
    expect(near.filter((f) => f.low).length / near.length).toBeLessThan(0.15);
  });

  it('never flags with a bank that predates the statistic', async () => {
    const bank = await syntheticBank();
    const { heldOutMaxCosineP05: _dropped, ...oldStats } = bank.layers[TARGET].stats;
    const rep = await representation(unseen[0]);
    expect(lowConfidence(scoreLayer(TARGET, rep[TARGET], bank.layers[TARGET].prototypes, 10), oldStats)).toBeUndefined();
  });

  it('explain puts it in the headline', async () => {
    const bank = await syntheticBank();
    const explainWith = async (text: string): Promise<ExplainResult> => {
      const rep = await representation(text);
      const states = new Float32Array((LAYERS + 1) * DIM);
      rep.forEach((v, l) => states.set(v, l * DIM));
      const bundle = {
        dir,
        manifest: { name: 'synthetic', modelSha256: facts.modelSha256, targetLayers: [TARGET], logitScale: facts.logitScale, architecture: { numLayers: LAYERS, hiddenSize: DIM, vocabSize: 1 } },
        tokenizer: { tokenText: () => '' },
      } as unknown as LoadedBundle;
      return buildExplainResult(
        bundle,
        { pooling: 'last', bank, layers: [TARGET], tokenLayers: [], topNextTokens: 1 },
        {
          text,
          encoded: { ids: [], tokens: [], templatedText: text, truncation: null } as never,
          out: {
            batch: 1, seq: 0, states: new Float32Array(0), readOutCosines: readOutCosinesOf(states, 1, DIM, bank.layers.map((l) => l.prototypes)),
            positions: [0], lastLogits: new Float32Array(1), tokenStates: new Float32Array(0), tokenLayers: [],
          },
          row: 0,
          provider: { requested: 'cpu', used: 'cpu', attempts: [] } as never,
          timingsMs: { tokenize: 0, forward: 0 },
        },
      );
    };
    const flags = await Promise.all(unseen.map((t) => flag(bank, t)));
    const farText = unseen[flags.findIndex((f) => f.low)];
    const far = await explainWith(farText);
    expect(far.headline.lowConfidence).toEqual((await flag(bank, farText)).low);
    expect(far.headline.lowConfidence?.reason).toContain(LOW_CONFIDENCE_REASON);
    const near = await explainWith('algebra a question like the others');
    expect(near.headline.lowConfidence).toBeUndefined();
    // The CLI's report says it on the headline's next line, and on a --file batch line.
    expect(renderReport(far, plain).split('\n')[1]).toBe(`low confidence: ${far.headline.lowConfidence!.reason}`);
    expect(renderBatchLine(far, plain)).toContain('(low confidence)');
    expect(renderReport(near, plain)).not.toContain('low confidence');
    expect(renderBatchLine(near, plain)).not.toContain('low confidence');
  });
});
