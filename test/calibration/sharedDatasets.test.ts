// Real labelled data from ../shared/datasets (the SEER paper's splits and XSTest). A fresh clone has no
// ../shared: these tests then skip, saying why.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { scanDataset } from '../../engine/src/calibration/datasetScan';
import { evaluate } from '../../engine/src/calibration/evaluate';
import { modelFacts } from '../../engine/src/calibration/representer';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { BUNDLE_DIR, ROOT } from '../engine/helpers';

const SHARED = path.resolve(ROOT, '..', 'shared', 'datasets');
const MATH = path.join(SHARED, 'math', 'math-7concepts.csv');
const XSTEST = path.join(SHARED, 'xstest', 'xstest-v2-prompts.csv');
const present = existsSync(MATH) && existsSync(XSTEST);
if (!present) console.warn(`skipping real-data calibration tests: ${SHARED} is absent (it is not part of the repository)`);

describe.skipIf(!present)('real datasets in ../shared/datasets', () => {
  it('MATH: 7 concepts × 400 rows; a wrong label column lists the real columns', async () => {
    const scan = await scanDataset({ path: MATH, textColumns: ['prompt'], labelColumn: 'value' });
    expect([...scan.labelCounts.values()]).toEqual(new Array(7).fill(400));
    const err = await scanDataset({ path: MATH, textColumns: ['prompt'], labelColumn: 'subject' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeerError);
    expect((err as SeerError).message).toContain('"prompt", "level", "type", "response", "value"');
  });

  describe('XSTest through the bundle under test', () => {
    let engine: Engine;
    beforeAll(async () => {
      engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
    });
    afterAll(async () => engine?.dispose());

    it('calibrates 10 concepts from all 250 rows with bounded held-out statistics', async () => {
      const { bank, result } = await calibrate(engine, modelFacts(engine.bundle), { path: XSTEST, textColumns: ['prompt'], labelColumn: 'type', batchSize: 16 });
      expect(result.rows).toMatchObject({ rowsRead: 250, rowsUsed: 250, rowsSkipped: 0 });
      expect(bank.concepts).toHaveLength(10);
      // 25 rows per concept, ⌊25 · 0.2⌋ = 5 held out: the bank is the other 20 (docs/bundle-format.md).
      expect(bank.layers[0].stats.counts).toEqual(new Array(10).fill(20));
      const best = Math.max(...bank.layers.map((l) => l.stats.heldOutAccuracy!));
      expect(best).toBeGreaterThan(0.2); // chance is 0.1
    });

    it('evaluates on a seeded split: accuracy well above chance at the best layer, confusion covering the held-out half', async () => {
      const report = await evaluate(engine, modelFacts(engine.bundle), { path: XSTEST, textColumns: ['prompt'], labelColumn: 'type', split: 0.5, seed: 1 }, { kind: 'split' });
      expect(report.support.reduce((a, b) => a + b)).toBe(report.confusionBest.flat().reduce((a, b) => a + b));
      expect(report.support).toEqual(new Array(10).fill(12)); // 25 rows: 13 build prototypes, 12 are classified
      expect(report.perLayer[report.bestLayer].accuracy).toBeGreaterThan(0.25);
      // Beside it, on the same split: chance (10 types × 12 rows) and a TF-IDF baseline fitted on the 130 prototype rows.
      expect(report.baselines!.uniformChance).toBe(0.1);
      expect(report.baselines!.majority.accuracy).toBe(0.1);
      expect(report.baselines!.tfidf).toMatchObject({ trainingRows: 130, rowsClassified: 120 });
      expect(report.baselines!.tfidf.accuracy).toBeGreaterThan(0.1);
      // The reliability table covers every classified row; its bins' accuracies give the target layer's accuracy.
      const rel = report.reliability!;
      expect(rel.rows).toBe(120);
      const right = rel.bins.reduce((a, b) => a + (b.count ? b.count * b.accuracy : 0), 0);
      expect(right).toBeCloseTo(120 * report.perLayer[report.targetLayer].accuracy, 9);
      expect(rel.ece).toBeGreaterThanOrEqual(0);
      expect(rel.ece).toBeLessThanOrEqual(1);
    });
  });
});
