// The everyday-prompts check, shared by `npm run bench:everyday` (bench/everyday.mjs bundles bench/everyday.ts,
// which uses this) and the regression test (test/calibration/everydayPrompts.test.ts): the prompts a new user
// types first, each with the concept they would expect, read through the engine's own explain path.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BankInfo, ExplainResult, ReliabilityBin } from '../common/protocol';
import { ReliabilityTable } from '../engine/src/calibration/reliability';
import type { Engine } from '../engine/src/engine';
import { type DatasetRow, readDataset } from '../engine/src/calibration/datasetReader';
import { RowAccountant } from '../engine/src/calibration/rowAccounting';

// Paths for the test (run from source); the bundled bench is given its paths on the command line.
const ROOT = path.resolve(__dirname, '..');
/** Written for this check (not copied from any dataset): {"prompt", "concept", "kind"} per line. */
export const EVERYDAY_PROMPTS = path.join(ROOT, 'test', 'fixtures', 'everyday-prompts.jsonl');
/** What the bench recorded, per model (`npm run bench:everyday`); the regression test reads it. */
export const EVERYDAY_RESULTS = path.join(ROOT, 'bench', 'RESULTS-everyday.json');

export interface EverydayPrompt {
  prompt: string;
  concept: string;
  /** everyday | homonym (safe, looks alarming) | unsafe | other-language | emoji */
  kind: string;
}

/** The labelled list; a malformed line is an error naming it (the list is a fixture: nothing is skipped). */
export function readEverydayPrompts(file = EVERYDAY_PROMPTS): EverydayPrompt[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (!line.trim()) return [];
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      const { prompt, concept, kind } = (value ?? {}) as Record<string, unknown>;
      if (typeof prompt !== 'string' || typeof concept !== 'string' || typeof kind !== 'string') {
        throw new Error(`${file}:${i + 1}: expected {"prompt": string, "concept": string, "kind": string}`);
      }
      return [{ prompt, concept, kind }];
    });
}

/** Expected concepts must be the bank's: a renamed or dropped concept fails here, not as a silent miss. */
export function unknownConcepts(prompts: EverydayPrompt[], bankConcepts: string[]): string[] {
  return [...new Set(prompts.map((p) => p.concept))].filter((c) => !bankConcepts.includes(c));
}

export interface Tally {
  right: number;
  total: number;
  accuracy: number;
}

export interface EverydayScore extends Tally {
  byKind: Record<string, Tally>;
  byConcept: Record<string, Tally>;
  /** How well the headline probability matches being right on this list. */
  ece: number;
  reliability: ReliabilityBin[];
  /** Every wrong headline, for the report; lowConfidence: the result said it was far from every concept (an honest "unknown"). */
  misses: Array<{ prompt: string; expected: string; got: string; confidence: number; lowConfidence: boolean }>;
  /** Headlines flagged low-confidence (lowConfidence.ts), right or wrong. */
  lowConfidence: { right: number; wrong: number };
}

/** Prompts per explainBatch call: results for the whole list would hold every token matrix at once. */
const CHUNK = 32;

async function headlines(engine: Engine, texts: string[]): Promise<ExplainResult['headline'][]> {
  const out: ExplainResult['headline'][] = [];
  for (let i = 0; i < texts.length; i += CHUNK) {
    for (const r of await engine.explainBatch(texts.slice(i, i + CHUNK))) out.push(r.headline);
  }
  return out;
}

function tally(pairs: Array<[string, boolean]>): Record<string, Tally> {
  const out: Record<string, Tally> = {};
  for (const [key, right] of pairs) {
    const t = (out[key] ??= { right: 0, total: 0, accuracy: NaN });
    t.total++;
    if (right) t.right++;
    t.accuracy = t.right / t.total;
  }
  return out;
}

/** The headline concept of each prompt (the bundle's default bank, its target layer) against the expected one. */
export async function scoreEverydayPrompts(engine: Engine, prompts: EverydayPrompt[]): Promise<EverydayScore> {
  const got = await headlines(engine, prompts.map((p) => p.prompt));
  const reliability = new ReliabilityTable();
  const right = prompts.map((p, i) => got[i].concept === p.concept);
  got.forEach((h, i) => reliability.add(h.confidence, right[i]));
  const n = right.filter(Boolean).length;
  return {
    right: n,
    total: prompts.length,
    accuracy: n / prompts.length,
    byKind: tally(prompts.map((p, i) => [p.kind, right[i]])),
    byConcept: tally(prompts.map((p, i) => [p.concept, right[i]])),
    ece: reliability.expectedCalibrationError(),
    reliability: reliability.bins(),
    misses: prompts.flatMap((p, i) => (right[i] ? [] : [{ prompt: p.prompt, expected: p.concept, got: got[i].concept, confidence: got[i].confidence, lowConfidence: got[i].lowConfidence !== undefined }])),
    lowConfidence: {
      right: got.filter((h, i) => h.lowConfidence && right[i]).length,
      wrong: got.filter((h, i) => h.lowConfidence && !right[i]).length,
    },
  };
}

export interface UnsafeShare {
  prompts: number;
  flaggedUnsafe: number;
  share: number;
  /** Headlines whose safety the bank does not know (neither safe nor unsafe). */
  unknown: number;
  /** Of the flagged, those whose result said low confidence (far from every concept seen in calibration). */
  flaggedLowConfidence: number;
  /** Per XSTest type (homonyms, figurative_language, privacy_fictional, …): flagged of total, and the unsafe
   * concepts they were flagged as — where the contrast prompts of the training corpus are missing. */
  byType: Record<string, { flagged: number; total: number; as: Record<string, number> }>;
}

/** The share of XSTest's safe prompts (v2: 250 safe prompts that look unsafe) whose headline is an unsafe concept; null when the file is absent. */
export async function xstestFlaggedUnsafe(engine: Engine, file: string): Promise<UnsafeShare | null> {
  if (!existsSync(file)) return null;
  // The reader `seer calibrate` uses: the "prompt" column as text, the "type" column as the label.
  const rows: DatasetRow[] = [];
  for await (const row of readDataset({ path: file, textColumns: ['prompt'], labelColumn: 'type' }, new RowAccountant())) rows.push(row);
  const got = await headlines(engine, rows.map((r) => r.text));
  const byType: UnsafeShare['byType'] = {};
  rows.forEach((r, i) => {
    const t = (byType[r.label] ??= { flagged: 0, total: 0, as: {} });
    t.total++;
    if (got[i].safe === false) {
      t.flagged++;
      t.as[got[i].concept] = (t.as[got[i].concept] ?? 0) + 1;
    }
  });
  const flagged = got.filter((h) => h.safe === false).length;
  return {
    prompts: rows.length,
    flaggedUnsafe: flagged,
    share: flagged / rows.length,
    unknown: got.filter((h) => h.safe === null).length,
    flaggedLowConfidence: got.filter((h) => h.safe === false && h.lowConfidence).length,
    byType,
  };
}

/** The bank explain uses by default (the list's labels must be among its concepts). */
export function defaultBank(engine: Engine): BankInfo {
  const name = engine.bundle.manifest.defaultBank;
  const bank = engine.info.banks.find((b) => b.name === name);
  if (!bank) throw new Error(`${engine.bundle.dir}: the default bank "${name}" is not loaded.`);
  return bank;
}
