// The calibration and evaluation pipeline on a synthetic model of known geometry (syntheticModel.ts):
// concepts are separable from layer 1 up and indistinguishable at layer 0, so the measures must say so.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkBankName, saveBank, withBankEntry } from '../../engine/src/calibration/bankFile';
import { HELD_OUT_MAX, calibrate } from '../../engine/src/calibration/calibrate';
import { evaluate } from '../../engine/src/calibration/evaluate';
import { renderEvaluation } from '../../engine/src/report/terminalReport';
import { bankToJson, parseBank } from '../../engine/src/bundle';
import type { Manifest } from '../../engine/src/bundle/manifest';
import { SeerError } from '../../engine/src/errors';
import { conceptCsv, tempDir, writeFixture } from './fixtures';
import { DIM, LAYERS, MAX_WORDS, SyntheticModel, syntheticFacts } from './syntheticModel';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const concepts = ['algebra', 'geometry', 'biology', 'law'];
const csv = writeFixture(dir, 'train.csv', conceptCsv(concepts, 30));
const facts = syntheticFacts(dir);
const params = { path: csv, textColumns: ['prompt'], labelColumn: 'value' };

async function errorOf(p: Promise<unknown>): Promise<SeerError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SeerError);
  return err as SeerError;
}

describe('calibrate', () => {
  it('builds a bank whose statistics show concepts aggregating at the layers that carry them', async () => {
    const progress: number[] = [];
    const { bank, result } = await calibrate(new SyntheticModel(), facts, { ...params, bankName: 'topics', safeConcepts: ['biology'], batchSize: 8 }, {
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(bank.concepts).toEqual(concepts);
    expect(bank.safeConcepts).toEqual(['biology']);
    expect(bank.safetyKnown).toBe(true);
    expect(bank.layers).toHaveLength(LAYERS + 1);
    for (const layer of bank.layers) {
      expect(layer.prototypes).toHaveLength(4);
      for (const p of layer.prototypes) expect(Math.hypot(...p)).toBeCloseTo(1, 5);
      // The bank is the non-held-out rows: 30 − ⌊30 · 0.2⌋ per concept (held-out rows only measure it).
      expect(layer.stats.counts).toEqual([24, 24, 24, 24]);
    }
    const [l0, , , , top] = bank.layers.map((l) => l.stats);
    expect(top.gap).toBeGreaterThan(0.3);
    expect(Math.abs(l0.gap)).toBeLessThan(0.05);
    expect(top.heldOutAccuracy).toBe(1);
    expect(l0.heldOutAccuracy!).toBeLessThan(0.6);
    expect(top.silhouette!).toBeGreaterThan(l0.silhouette!);
    expect(result.rows).toMatchObject({ rowsRead: 120, rowsUsed: 120, rowsSkipped: 0, truncated: 0 });
    expect(result.examplesPerSecond).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(1);
  });

  it('leaves out a concept with a single example, says so, and counts its row as skipped', async () => {
    const file = writeFixture(dir, 'singleton.csv', conceptCsv(['algebra', 'law'], 5) + 'typo lone row,algbra\n');
    const { bank, result } = await calibrate(new SyntheticModel(), facts, { ...params, path: file });
    expect(bank.concepts).toEqual(['algebra', 'law']);
    expect(result.rows.skipped).toEqual({ 'concept with a single example': 1 });
    expect(result.rows).toMatchObject({ rowsRead: 11, rowsUsed: 10 });
    expect(result.warnings.join(' ')).toContain('"algbra"');
  });

  it('counts rows longer than the context as truncated', async () => {
    const long = Array.from({ length: MAX_WORDS + 10 }, (_, i) => `w${i}`).join(' ');
    const file = writeFixture(dir, 'long.csv', conceptCsv(['algebra', 'law'], 3) + `algebra ${long},algebra\n`);
    const { result } = await calibrate(new SyntheticModel(), facts, { ...params, path: file });
    expect(result.rows.truncated).toBe(1);
    expect(result.rows.rowsUsed).toBe(7);
  });

  it('refuses data with fewer than two usable concepts, listing what it found', async () => {
    const file = writeFixture(dir, 'one-concept.csv', conceptCsv(['algebra'], 4) + 'law x,law\n');
    const err = await errorOf(calibrate(new SyntheticModel(), facts, { ...params, path: file }));
    expect(err.code).toBe('DATASET_TOO_FEW_CONCEPTS');
    expect(err.message).toContain('"algebra" (4), "law" (1)');
  });

  it('without --safe, safety is unknown rather than "every concept unsafe"', async () => {
    const { bank, result } = await calibrate(new SyntheticModel(), facts, params);
    expect(bank).toMatchObject({ safeConcepts: [], safetyKnown: false });
    expect(result.bank.safetyKnown).toBe(false);
    expect((bankToJson(bank) as { safeConcepts: unknown }).safeConcepts).toBeNull();
  });

  it('refuses --safe concepts that are not in the data', async () => {
    const err = await errorOf(calibrate(new SyntheticModel(), facts, { ...params, safeConcepts: ['cooking'] }));
    expect(err.code).toBe('SAFE_CONCEPT_UNKNOWN');
    expect(err.fixFor('cli')).toContain('algebra, geometry, biology, law');
  });

  it('keeps memory bounded: the held-out sample never exceeds its cap per concept', async () => {
    const file = writeFixture(dir, 'big.csv', conceptCsv(['algebra', 'law'], 500));
    const { bank } = await calibrate(new SyntheticModel(), facts, { ...params, path: file, heldOutFraction: 0.5, batchSize: 64 });
    expect(bank.layers[0].stats.counts).toEqual([500 - HELD_OUT_MAX, 500 - HELD_OUT_MAX]);
    // held-out accuracy is measured on at most HELD_OUT_MAX rows per concept: a multiple of 1/(2·cap).
    const acc = bank.layers[LAYERS].stats.heldOutAccuracy!;
    expect(Math.round(acc * 2 * HELD_OUT_MAX)).toBeCloseTo(acc * 2 * HELD_OUT_MAX, 6);
  });

  it('a cancelled run throws CANCELLED and leaves no file behind', async () => {
    const controller = new AbortController();
    const model = new SyntheticModel();
    model.abortAfter = { calls: 2, controller };
    const out = path.join(dir, 'cancelled-bank.json');
    // 1000 rows → several represent() calls; the abort arrives during the second.
    const big = writeFixture(dir, 'cancel.csv', conceptCsv(['algebra', 'law'], 500));
    const run = calibrate(model, facts, { ...params, path: big, batchSize: 1, out }, { signal: controller.signal }).then((o) => saveBank(o.bank, facts, { out }));
    expect((await errorOf(run)).code).toBe('CANCELLED');
    expect(model.calls).toHaveLength(2);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('saveBank', () => {
  // A manifest whose number formatting JSON.stringify would change (10.0, 1e-5, 10000.0).
  const manifestText = [
    '{',
    '  "name": "my bundle/v2",',
    '  "architecture": { "numLayers": 4, "normEps": 1e-5, "ropeTheta": 10000.0 },',
    '  "logitScale": 10.0,',
    '  "banks": {',
    '    "default": "banks/default.json"',
    '  },',
    '  "defaultBank": "default",',
    '  "training": { "lr": 3.0e-4 }',
    '}',
    '',
  ].join('\n');
  const bundleWithManifest = () => {
    const bundle = tempDir();
    writeFileSync(path.join(bundle, 'seer.json'), manifestText);
    return { bundle, model: { ...syntheticFacts(bundle), name: 'my bundle/v2' } };
  };
  const topics = async () => (await calibrate(new SyntheticModel(), facts, { ...params, bankName: 'topics' })).bank;

  it('writes to the user bank folder by default and leaves the bundle untouched', async () => {
    const { bundle, model } = bundleWithManifest();
    const users = tempDir();
    const bank = await topics();
    const file = await saveBank(bank, model, { userBankDir: users });
    expect(file).toBe(path.join(users, 'my_bundle_v2', 'topics.json'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json).toMatchObject({ format: 'seer-concept-bank', formatVersion: 2, name: 'topics', numLayers: LAYERS, hiddenSize: DIM });
    // Format 2: each layer's prototypes packed as float32, read back bit for bit.
    expect(json.layers[1].prototypes.encoding).toBe('float32-le-base64');
    const manifest = { modelSha256: model.modelSha256, architecture: { numLayers: LAYERS, hiddenSize: DIM } } as Manifest;
    expect(parseBank(json, file, manifest).layers.map((l) => l.prototypes)).toEqual(bank.layers.map((l) => l.prototypes));
    expect(readFileSync(path.join(bundle, 'seer.json'), 'utf8')).toBe(manifestText);
    expect(readdirSync(bundle)).toEqual(['seer.json']);
    rmSync(bundle, { recursive: true, force: true });
    rmSync(users, { recursive: true, force: true });
  });

  it('into the bundle on request: registers the bank and keeps every byte of seer.json outside the banks map', async () => {
    const { bundle, model } = bundleWithManifest();
    const file = await saveBank(await topics(), model, { intoBundle: true });
    expect(file).toBe(path.join(bundle, 'banks', 'topics.json'));
    expect(JSON.parse(readFileSync(file, 'utf8')).layers[2].stats.layer).toBeUndefined();
    const after = readFileSync(path.join(bundle, 'seer.json'), 'utf8');
    const [before1, before2] = manifestText.split(/"banks": \{[^}]*\}/);
    expect(after.startsWith(`${before1}"banks": {`)).toBe(true);
    expect(after.endsWith(before2)).toBe(true);
    expect(JSON.parse(after).banks).toEqual({ default: 'banks/default.json', topics: 'banks/topics.json' });
    expect(after).toContain('"banks": {\n    "default": "banks/default.json",\n    "topics": "banks/topics.json"\n  },');
    rmSync(bundle, { recursive: true, force: true });
  });

  it('edits a one-line banks map in place, and adds a missing one at the end', () => {
    const oneLine = '{"a": 1.50, "banks": { "default": "banks/d.json" }, "z": [1e-5]}';
    expect(withBankEntry(oneLine, 'x', 'banks/x.json')).toBe('{"a": 1.50, "banks": { "default": "banks/d.json", "x": "banks/x.json" }, "z": [1e-5]}');
    expect(withBankEntry(oneLine, 'default', 'banks/d.json')).toBe(oneLine);
    // A "banks" key nested deeper is not the manifest's map.
    const nested = '{\n  "training": { "banks": {} },\n  "eps": 1e-5\n}\n';
    expect(withBankEntry(nested, 'x', 'banks/x.json')).toBe('{\n  "training": { "banks": {} },\n  "eps": 1e-5,\n  "banks": {\n    "x": "banks/x.json"\n  }\n}\n');
  });

  it('never replaces an existing bank without force, wherever it is', async () => {
    const { bundle, model } = bundleWithManifest();
    const users = tempDir();
    const bank = await topics();
    const userFile = await saveBank(bank, model, { userBankDir: users });
    const err = await errorOf(saveBank(bank, model, { userBankDir: users }));
    expect(err.code).toBe('BANK_EXISTS');
    expect(err.fixFor('cli')).toContain('--force');
    expect(await saveBank(bank, model, { userBankDir: users, force: true })).toBe(userFile);

    const out = writeFixture(users, 'mine.json', 'keep me');
    expect((await errorOf(saveBank(bank, model, { out }))).code).toBe('BANK_EXISTS');
    expect(readFileSync(out, 'utf8')).toBe('keep me');

    const { bank: named } = await calibrate(new SyntheticModel(), facts, { ...params, bankName: 'default' });
    expect((await errorOf(saveBank(named, model, { intoBundle: true }))).code).toBe('BANK_EXISTS');
    // A user bank may not take the name of a bundle bank, which would hide it, even with force.
    expect((await errorOf(saveBank(named, model, { userBankDir: users, force: true }))).code).toBe('BANK_EXISTS');
    expect(readFileSync(path.join(bundle, 'seer.json'), 'utf8')).toBe(manifestText);
    await saveBank(named, model, { intoBundle: true, force: true });
    expect(existsSync(path.join(bundle, 'banks', 'default.json'))).toBe(true);
    expect(() => checkBankName('../evil')).toThrow(SeerError);
    rmSync(bundle, { recursive: true, force: true });
    rmSync(users, { recursive: true, force: true });
  });

  it('turns an unwritable destination into an error naming the file', async () => {
    const blocker = writeFixture(dir, 'not-a-folder', 'x');
    const err = await errorOf(saveBank(await topics(), facts, { out: path.join(blocker, 'bank.json') }));
    expect(err.code).toBe('WRITE_FAILED');
    expect(err.message).toContain(path.join(blocker, 'bank.json'));
  });
});

describe('evaluate', () => {
  it('classifies held-out rows by nearest prototype: perfect where concepts are separable, near chance at layer 0', async () => {
    const report = await evaluate(new SyntheticModel(), facts, { ...params, split: 0.5, seed: 1, safeConcepts: ['biology'] }, { kind: 'split' });
    expect(report.concepts).toEqual(concepts);
    expect(report.support).toEqual([15, 15, 15, 15]);
    expect(report.rows).toMatchObject({ rowsRead: 120, rowsUsed: 120 });
    const top = report.perLayer[LAYERS];
    expect(top.accuracy).toBe(1);
    expect(top.macroF1).toBe(1);
    expect(report.perLayer[0].accuracy).toBeLessThan(0.6);
    expect(top.samePairCos).toBeGreaterThan(top.differentPairCos + 0.3);
    expect(report.bestLayer).toBeGreaterThan(0);
    expect(report.targetLayer).toBe(3);
    for (const m of [report.confusionBest, report.confusionTarget]) expect(m.flat().reduce((a, b) => a + b)).toBe(60);
    expect(report.binaryConfusionTarget!.flat().reduce((a, b) => a + b)).toBe(60);
    expect(top.binaryAccuracy).toBe(1);
    expect(report.prototypeSimilarityTarget).toHaveLength(4);
  });

  it('is reproducible per seed, and another seed gives another split', async () => {
    const run = (seed: number) => evaluate(new SyntheticModel(3), facts, { ...params, seed }, { kind: 'split' });
    const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
    expect(a.perLayer.map((l) => l.accuracy)).toEqual(b.perLayer.map((l) => l.accuracy));
    expect(a.confusionTarget).toEqual(b.confusionTarget);
    expect(c.perLayer.map((l) => l.samePairCos)).not.toEqual(a.perLayer.map((l) => l.samePairCos));
  });

  it('with a bank, classifies every row against its prototypes, and rejects labels the bank does not know', async () => {
    const { bank } = await calibrate(new SyntheticModel(), facts, { ...params, bankName: 'topics' });
    const other = writeFixture(dir, 'eval.csv', conceptCsv(['algebra', 'law'], 10));
    const report = await evaluate(new SyntheticModel(), facts, { ...params, path: other }, { kind: 'bank', bank, name: 'topics' });
    expect(report.support).toEqual([10, 0, 0, 10]);
    expect(report.perLayer[LAYERS].accuracy).toBe(1);
    // The baseline needs training rows: fitted on the first half of the data, it classifies the other half.
    expect(report.baselines!.tfidf).toMatchObject({ trainingRows: 10, rowsClassified: 10, accuracy: 1 });
    expect(report.warnings.join(' ')).toContain('fitted on 10 rows (the first part of the split) and tested on the other 10, while the bank classified all 20');
    expect(report.warnings.join(' ')).toContain('geometry, biology');

    const mismatch = writeFixture(dir, 'mismatch.csv', conceptCsv(['algebra', 'cooking'], 3));
    const err = await errorOf(evaluate(new SyntheticModel(), facts, { ...params, path: mismatch }, { kind: 'bank', bank, name: 'topics' }));
    expect(err.code).toBe('LABELS_MISMATCH');
    expect(err.message).toContain('"cooking"');
    expect(err.message).toContain('algebra, geometry, biology, law');
  });

  it('reports the matrices at a chosen layer, and rejects a layer the model does not have', async () => {
    const report = await evaluate(new SyntheticModel(), facts, { ...params, layer: 0 }, { kind: 'split' });
    expect(report.targetLayer).toBe(0);
    // Layer 0 carries no concept signal: its confusion matrix is not the diagonal one of the best layer.
    expect(report.confusionTarget).not.toEqual(report.confusionBest);
    expect((await errorOf(evaluate(new SyntheticModel(), facts, { ...params, layer: LAYERS + 1 }, { kind: 'split' }))).code).toBe('INVALID_ARGUMENT');
  });

  it('reports chance and a TF-IDF baseline fitted on the prototype part only, tested on the same held-out rows', async () => {
    // Each row has one word no other row has: a baseline fitted on every row would know 2 × 60 of them.
    const lines = ['prompt,value'];
    for (let i = 0; i < 30; i++) for (const c of concepts) lines.push(`${c} w${c}${i},${c}`);
    const file = writeFixture(dir, 'unique-words.csv', lines.join('\n') + '\n');
    const report = await evaluate(new SyntheticModel(), facts, { ...params, path: file, split: 0.5 }, { kind: 'split' });
    const b = report.baselines!;
    expect(b.uniformChance).toBe(0.25);
    expect(b.majority).toEqual({ concept: 'algebra', accuracy: 0.25 });
    // The concept name is in every text: words alone classify this data perfectly.
    expect(b.tfidf).toMatchObject({ accuracy: 1, macroF1: 1, trainingRows: 60, rowsClassified: 60 });
    expect(b.tfidf.vocabulary).toBe(4 + 60);
    expect(b.tfidf.recipe).toContain('TF-IDF');

    const text = renderEvaluation(report);
    expect(text).toContain(`TF-IDF bag of words 100.0% (macro-F1 1.000, 60 rows); chance 25.0% (uniform), 25.0% (always "algebra")`);
  });

  it('reads the same states with whitened cosine on a split, fitted on the prototype part, and says why not with a bank', async () => {
    const report = await evaluate(new SyntheticModel(), facts, { ...params, split: 0.5 }, { kind: 'split' });
    const w = report.whitened!;
    if ('skipped' in w) throw new Error(`skipped: ${w.skipped}`);
    expect(w.perLayer.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4]);
    expect(w.fittedRows).toBe(60); // 4 concepts × 15 prototype rows
    // Layer 0 carries no concept signal, the top layer a clean one: the whitened read-out sees the same.
    expect(w.perLayer[0].accuracy).toBeLessThan(0.6);
    expect(w.perLayer[LAYERS].accuracy).toBe(1);
    expect(renderEvaluation(report)).toMatch(/the same states, whitened cosine \(fitted on the prototype part\): best layer \d 100\.0%, target layer 3 /);

    const { bank } = await calibrate(new SyntheticModel(), facts, { ...params, bankName: 'topics' });
    const withBank = await evaluate(new SyntheticModel(), facts, params, { kind: 'bank', bank, name: 'topics' });
    expect(withBank.whitened).toEqual({ skipped: expect.stringContaining('evaluate with a split') });
    expect(renderEvaluation(withBank)).toContain('whitened read-out: skipped (with a bank');
  });

  it('measures whether the headline probability at the target layer matches accuracy (ECE, reliability table)', async () => {
    const report = await evaluate(new SyntheticModel(), facts, { ...params, split: 0.5 }, { kind: 'split' });
    const rel = report.reliability!;
    expect(rel).toMatchObject({ layer: 3, logitScale: facts.logitScale, rows: 60 });
    expect(rel.bins).toHaveLength(10);
    expect(rel.bins.reduce((a, b) => a + b.count, 0)).toBe(60);
    // The bins' accuracies reproduce the target layer's accuracy, and the ECE is their weighted gap.
    const right = rel.bins.reduce((a, b) => a + (b.count ? b.count * b.accuracy : 0), 0);
    expect(right / 60).toBeCloseTo(report.perLayer[3].accuracy, 12);
    const ece = rel.bins.reduce((a, b) => a + (b.count ? (b.count / 60) * Math.abs(b.accuracy - b.meanConfidence) : 0), 0);
    expect(rel.ece).toBeCloseTo(ece, 12);
    for (const bin of rel.bins.filter((x) => x.count)) {
      expect(bin.meanConfidence).toBeGreaterThanOrEqual(bin.from);
      expect(bin.meanConfidence).toBeLessThanOrEqual(bin.to);
    }
    // A larger logit scale makes the same predictions more confident.
    const sharper = await evaluate(new SyntheticModel(), { ...facts, logitScale: 100 }, { ...params, split: 0.5 }, { kind: 'split' });
    const meanConfidence = (r: typeof rel) => r.bins.reduce((a, b) => a + (b.count ? b.count * b.meanConfidence : 0), 0) / r.rows;
    expect(meanConfidence(sharper.reliability!)).toBeGreaterThan(meanConfidence(rel));
    expect(renderEvaluation(report)).toContain(`expected calibration error ${rel.ece.toFixed(3)} over 60 rows`);
  });

  it('rejects a split outside (0, 1)', async () => {
    expect((await errorOf(evaluate(new SyntheticModel(), facts, { ...params, split: 1 }, { kind: 'split' }))).code).toBe('INVALID_ARGUMENT');
  });
});
