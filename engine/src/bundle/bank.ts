// banks/<name>.json: per-layer, per-concept prototypes and calibration statistics. Format version 2 stores each
// layer's prototypes packed (float32, base64: packedFloats.ts), version 1 (still read) as arrays of decimals.
// parseBank validates a bank against the bundle's manifest (same model, layers, hidden size);
// writeBankAtomic is how banks are written (by calibration).
import type { BankInfo, LayerStats, Pooling } from '../../../common/protocol';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { LIMITS } from '../limits';
import { JsonChecker, type Json } from './jsonCheck';
import { packFloats } from './packedFloats';
import type { Manifest } from './manifest';

export const BANK_FORMAT = 'seer-concept-bank';
export const BANK_FORMAT_VERSION = 2;
/** The versions read: 1 wrote prototypes as decimal arrays (the engine's 17 digits: four times the bytes of packed). */
const READ_VERSIONS = [1, 2];

export interface BankLayer {
  layer: number;
  /** One unit-norm prototype per concept, hiddenSize long. */
  prototypes: Float32Array[];
  stats: LayerStats;
}

export interface BankSource {
  dataset: string;
  rowsUsed: number;
  rowsSkipped: number;
  skipped: Record<string, number>;
}

export interface ConceptBank {
  name: string;
  modelSha256: string;
  numLayers: number;
  hiddenSize: number;
  pooling: Pooling;
  concepts: string[];
  /** Empty when safety is unknown. */
  safeConcepts: string[];
  /** false when the bank was calibrated without a safe list: then no concept is called safe or unsafe. */
  safetyKnown: boolean;
  source: BankSource;
  /** numLayers + 1 entries, layer 0..numLayers in order. */
  layers: BankLayer[];
  /** The file it was read from or saved to (its concept map lies beside it: conceptMapFile.ts); absent otherwise. */
  file?: string;
}

export function parseBank(json: Json, file: string, manifest: Manifest): ConceptBank {
  const c = new JsonChecker(file, 'BANK_INVALID', {
    cli: 'Recreate the bank with `seer calibrate` (or `npm run build:model` for the default bank); see docs/bundle-format.md.',
    editor: 'Recreate the bank with "SEER: Calibrate Concepts from Dataset…" (or `npm run build:model` for the default bank); see docs/bundle-format.md.',
  });
  const root = c.object(json, '');
  if (root.format !== BANK_FORMAT) c.fail('format', `must be "${BANK_FORMAT}", got ${JSON.stringify(root.format)}`);
  if (!READ_VERSIONS.includes(root.formatVersion as number)) c.fail('formatVersion', `must be ${READ_VERSIONS.join(' or ')}, got ${JSON.stringify(root.formatVersion)}`);
  const packed = root.formatVersion === 2;

  const modelSha256 = c.string(root, 'modelSha256', '');
  const { numLayers: wantLayers, hiddenSize: wantHidden } = manifest.architecture;
  const numLayers = c.number(root, 'numLayers', '', { integer: true, min: 1 });
  const hiddenSize = c.number(root, 'hiddenSize', '', { integer: true, min: 1 });
  if (modelSha256 !== manifest.modelSha256 || numLayers !== wantLayers || hiddenSize !== wantHidden) {
    throw new SeerError(
      'BANK_MODEL_MISMATCH',
      `${file}: this concept bank was made for another model (bank: ${numLayers} layers × ${hiddenSize}, model ${short(modelSha256)}; ` +
        `bundle: ${wantLayers} layers × ${wantHidden}, model ${short(manifest.modelSha256)}).`,
      {
        file,
        fix: {
          cli: 'Recalibrate the bank for this bundle with `seer calibrate DATA --label COLUMN --bundle DIR`, or use the bundle it was made for.',
          editor: 'Recalibrate the bank for this bundle with "SEER: Calibrate Concepts from Dataset…", or use the bundle it was made for.',
        },
      },
    );
  }

  const concepts = c.stringArray(root, 'concepts', '', { nonEmpty: true, unique: true });
  // safeConcepts null (or absent): unknown safety; a list (even empty) says which concepts are safe.
  const safetyKnown = root.safeConcepts !== null && root.safeConcepts !== undefined;
  const safeConcepts = safetyKnown ? c.stringArray(root, 'safeConcepts', '', { unique: true }) : [];
  safeConcepts.forEach((s, i) => {
    if (!concepts.includes(s)) c.fail(`safeConcepts[${i}]`, `"${s}" is not one of the concepts`);
  });
  const k = concepts.length;
  // The concept × concept matrices grow with k²: the same bound as calibration (engine/src/limits.ts).
  if (k > LIMITS.conceptsPerBank) c.fail('concepts', `has ${k} concepts; the limit is ${LIMITS.conceptsPerBank} (engine/src/limits.ts)`);

  const src = root.source === undefined ? {} : c.object(root.source, 'source');
  const source: BankSource = {
    dataset: typeof src.dataset === 'string' ? src.dataset : '',
    rowsUsed: typeof src.rowsUsed === 'number' ? src.rowsUsed : 0,
    rowsSkipped: typeof src.rowsSkipped === 'number' ? src.rowsSkipped : 0,
    skipped: src.skipped !== undefined ? (c.object(src.skipped, 'source.skipped') as Record<string, number>) : {},
  };

  const layers = c.array(root.layers, 'layers', numLayers + 1).map((l, i): BankLayer => {
    const p = `layers[${i}]`;
    const layer = c.object(l, p);
    if (layer.layer !== i) c.fail(`${p}.layer`, `must be ${i} (layers are listed 0..${numLayers} in order), got ${JSON.stringify(layer.layer)}`);
    const prototypes = packed ? packedPrototypes(c, layer.prototypes, `${p}.prototypes`, hiddenSize, concepts)
      : c.array(layer.prototypes, `${p}.prototypes`, k).map((v, j) => c.unitLength(c.vector(v, `${p}.prototypes[${j}]`, hiddenSize, `concept "${concepts[j]}"`), `${p}.prototypes[${j}]`, `concept "${concepts[j]}"`));
    const s = c.object(layer.stats, `${p}.stats`);
    const sp = `${p}.stats`;
    const stats: LayerStats = {
      layer: i,
      sameConceptCos: c.number(s, 'sameConceptCos', sp),
      differentConceptCos: c.number(s, 'differentConceptCos', sp),
      gap: c.number(s, 'gap', sp),
      silhouette: s.silhouette === undefined || s.silhouette === null ? undefined : c.number(s, 'silhouette', sp),
      heldOutAccuracy: s.heldOutAccuracy === undefined || s.heldOutAccuracy === null ? undefined : c.number(s, 'heldOutAccuracy', sp),
      heldOutMaxCosineP05: s.heldOutMaxCosineP05 === undefined || s.heldOutMaxCosineP05 === null ? undefined : c.number(s, 'heldOutMaxCosineP05', sp),
      prototypeSimilarity: c.matrix(s.prototypeSimilarity, `${sp}.prototypeSimilarity`, k, k),
      counts: c.numbers(s.counts, `${sp}.counts`, k),
    };
    return { layer: i, prototypes, stats };
  });

  return {
    name: c.name(root.name, 'name'),
    modelSha256,
    numLayers,
    hiddenSize,
    pooling: c.oneOf(root, 'pooling', '', ['last', 'mean', 'request-end'] as const),
    concepts,
    safeConcepts,
    safetyKnown,
    source,
    layers,
  };
}

/** Format 2's layer prototypes: concepts × hiddenSize float32 values, one unit-length row per concept. */
function packedPrototypes(c: JsonChecker, v: Json, path: string, hiddenSize: number, concepts: string[]): Float32Array[] {
  const values = c.packed(v, path, concepts.length * hiddenSize, ['float32-le-base64']);
  return concepts.map((concept, j) => c.unitLength(values.slice(j * hiddenSize, (j + 1) * hiddenSize), `${path}[${j}]`, `concept "${concept}"`));
}

/** The bank as written to disk (format version 2). */
export function bankToJson(bank: ConceptBank): Json {
  return {
    format: BANK_FORMAT,
    formatVersion: BANK_FORMAT_VERSION,
    name: bank.name,
    modelSha256: bank.modelSha256,
    numLayers: bank.numLayers,
    hiddenSize: bank.hiddenSize,
    pooling: bank.pooling,
    concepts: bank.concepts,
    safeConcepts: bank.safetyKnown ? bank.safeConcepts : null,
    source: bank.source,
    layers: bank.layers.map(({ layer, prototypes, stats: { layer: _omit, ...stats } }) => ({
      layer,
      prototypes: packFloats(prototypes, 'float32-le-base64'),
      stats,
    })),
  };
}

export async function writeBankAtomic(file: string, bank: ConceptBank): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(bankToJson(bank))}\n`);
}

export function bankInfo(bank: ConceptBank): BankInfo {
  return {
    name: bank.name,
    concepts: bank.concepts,
    safeConcepts: bank.safeConcepts,
    safetyKnown: bank.safetyKnown,
    pooling: bank.pooling,
    stats: bank.layers.map((l) => l.stats),
  };
}

/** Prototypes compare like with like: a representation pooled otherwise than the bank's is a different measurement. */
export function poolingWarning(bankName: string, bankPooling: Pooling, used: Pooling): string {
  return `Bank "${bankName}" was calibrated with ${bankPooling} pooling, but this explanation uses ${used} pooling: its scores are not comparable with the bank's statistics. Use ${bankPooling} pooling, or calibrate a bank with ${used} pooling.`;
}

function short(sha: string): string {
  return sha.length > 12 ? `${sha.slice(0, 12)}…` : JSON.stringify(sha);
}
