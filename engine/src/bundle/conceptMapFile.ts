// <bank>.map.json, format version 1: a bank's 2-D concept map (engine/src/calibration/conceptMap.ts), stored
// beside the bank file. Untrusted input like a bank: read within a size limit, parsed with bounded nesting,
// every field checked against the bank it belongs to. A missing map is normal (a bank calibrated before
// maps existed): explain says so and goes on.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ConceptMapAbsent } from '../../../common/protocol';
import type { ConceptMap } from '../calibration/conceptMap';
import { SeerError } from '../errors';
import { LIMITS } from '../limits';
import { formatBytes, readRegularFile, RegularFileError } from '../regularFile';
import type { ConceptBank } from './bank';
import { realPathInside } from './bundleFile';
import { JsonChecker, parseJson, type Json } from './jsonCheck';
import { type PackedEncoding, packFloats } from './packedFloats';

export const CONCEPT_MAP_FORMAT = 'seer-concept-map';
export const CONCEPT_MAP_FORMAT_VERSION = 1;
/**
 * How the examples' vectors are stored: float16 since 2026-11-29 (half the bytes of float32: each embedded
 * bundle's map 580 → 308 KB; a stored component is off by at most 2^-11 of itself, or 3e-8 below 6e-5: far
 * below what moves a prompt among its nearest examples); float32, as earlier maps hold them, is still read.
 */
const WRITTEN_ENCODING: PackedEncoding = 'float16-le-base64';
const READ_ENCODINGS: readonly PackedEncoding[] = ['float16-le-base64', 'float32-le-base64'];
/** Characters of an example's text kept for its tooltip. */
export const MAP_TEXT_CHARS = 120;

/** Where a bank's map lives: banks/default.json → banks/default.map.json. */
export function conceptMapFileFor(bankFile: string): string {
  return `${bankFile.replace(/\.json$/i, '')}.map.json`;
}

/** Whether a file name in a bank folder is a map, not a bank (the bank listings skip them). */
export const isConceptMapFile = (name: string): boolean => name.toLowerCase().endsWith('.map.json');

/** The largest map file: LIMITS.conceptMapPoints vectors in base64 plus their texts, coordinates and a margin. */
export function conceptMapLimit(hiddenSize: number): { bytes: number; why: string } {
  const n = LIMITS.conceptMapPoints;
  const bytes = Math.ceil((n * hiddenSize * 4 * 4) / 3) + n * (6 * MAP_TEXT_CHARS + 64) + 64 * 1024 + LIMITS.conceptsPerBank * 256; // float32: the larger encoding
  return { bytes, why: `a concept map of at most ${n} examples × ${hiddenSize} hidden is at most ${formatBytes(bytes)}` };
}

export function conceptMapToJson(map: ConceptMap): Json {
  return {
    format: CONCEPT_MAP_FORMAT,
    formatVersion: CONCEPT_MAP_FORMAT_VERSION,
    bank: map.bank,
    modelSha256: map.modelSha256,
    hiddenSize: map.hiddenSize,
    layer: map.layer,
    pooling: map.pooling,
    concepts: map.concepts,
    projection: map.projection,
    points: map.points,
    vectors: packFloats(map.vectors, WRITTEN_ENCODING),
  };
}

/** The map, checked against the bank it claims to belong to (same model, hidden size, pooling and concepts). */
export function parseConceptMap(json: Json, file: string, bank: ConceptBank): ConceptMap {
  const c = new JsonChecker(file, 'BANK_INVALID', {
    cli: 'Recalibrate the bank (`seer calibrate … --force`, or `seer concept-map` for a bundle\'s own bank) to write a new map, or delete the file.',
    editor: 'Recalibrate the bank with "SEER: Calibrate Concepts from Dataset…" to write a new map, or delete the file.',
  });
  const root = c.object(json, '');
  if (root.format !== CONCEPT_MAP_FORMAT) c.fail('format', `must be "${CONCEPT_MAP_FORMAT}", got ${JSON.stringify(root.format)}`);
  if (root.formatVersion !== CONCEPT_MAP_FORMAT_VERSION) c.fail('formatVersion', `must be ${CONCEPT_MAP_FORMAT_VERSION}, got ${JSON.stringify(root.formatVersion)}`);
  if (c.string(root, 'modelSha256', '') !== bank.modelSha256) c.fail('modelSha256', `is not the model of bank "${bank.name}": the map belongs to another model`);
  const hiddenSize = c.number(root, 'hiddenSize', '', { integer: true, min: bank.hiddenSize, max: bank.hiddenSize });
  const layer = c.number(root, 'layer', '', { integer: true, min: 0, max: bank.numLayers });
  const pooling = c.oneOf(root, 'pooling', '', ['last', 'mean', 'request-end'] as const);
  if (pooling !== bank.pooling) c.fail('pooling', `is ${pooling}, but bank "${bank.name}" was calibrated with ${bank.pooling} pooling`);
  const concepts = c.stringArray(root, 'concepts', '');
  if (concepts.length !== bank.concepts.length || concepts.some((x, i) => x !== bank.concepts[i])) {
    c.fail('concepts', `must be the concepts of bank "${bank.name}" in its order (${bank.concepts.join(', ')})`);
  }

  const proj = c.object(root.projection, 'projection');
  const projection: ConceptMap['projection'] = {
    method: c.oneOf(proj, 'method', 'projection', ['umap'] as const),
    library: c.string(proj, 'library', 'projection'),
    nNeighbors: c.number(proj, 'nNeighbors', 'projection', { integer: true, min: 1 }),
    minDist: c.number(proj, 'minDist', 'projection', { min: 0 }),
    seed: c.number(proj, 'seed', 'projection', { integer: true, min: 0, max: LIMITS.seed }),
  };

  const pts = c.object(root.points, 'points');
  const n = c.array(pts.concept, 'points.concept').length;
  if (n < 1) c.fail('points.concept', 'must not be empty');
  if (n > LIMITS.conceptMapPoints) c.fail('points.concept', `has ${n} examples; the limit is ${LIMITS.conceptMapPoints} (engine/src/limits.ts)`);
  const concept = c.numbers(pts.concept, 'points.concept', n);
  concept.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || k >= concepts.length) c.fail(`points.concept[${i}]`, `must be a concept index from 0 to ${concepts.length - 1}, got ${k}`);
  });
  const coordinate = (key: 'x' | 'y'): number[] => {
    const values = c.numbers(pts[key], `points.${key}`, n);
    values.forEach((v, i) => {
      if (v < 0 || v > 1) c.fail(`points.${key}[${i}]`, `must be in [0, 1], got ${v}`);
    });
    return values;
  };
  const text = c.array(pts.text, 'points.text', n).map((t, i) => {
    if (typeof t !== 'string' || t.length > MAP_TEXT_CHARS) c.fail(`points.text[${i}]`, `must be a string of at most ${MAP_TEXT_CHARS} characters`);
    return t as string;
  });
  const points = { concept, x: coordinate('x'), y: coordinate('y'), text };

  const values = c.packed(root.vectors, 'vectors', n * hiddenSize, READ_ENCODINGS);
  const vectors = Array.from({ length: n }, (_, i) => c.unitLength(values.slice(i * hiddenSize, (i + 1) * hiddenSize), 'vectors.data', `example ${i}`));
  return { bank: bank.name, modelSha256: bank.modelSha256, hiddenSize, layer, pooling, concepts, projection, points, vectors };
}

/** Reads and checks `file` (the map of `bank`); a missing, oversized, non-regular or damaged file is a SeerError. */
export async function readConceptMapFile(file: string, bank: ConceptBank): Promise<ConceptMap> {
  const limit = conceptMapLimit(bank.hiddenSize);
  const bytes = await readRegularFile(file, limit.bytes).catch((err: unknown) => {
    if (!(err instanceof RegularFileError)) throw err;
    const why = err.kind === 'too-large' ? `${err.message}, too large: ${limit.why}. It was not read` : err.message;
    throw new SeerError(err.kind === 'missing' ? 'FILE_NOT_FOUND' : 'BANK_INVALID', `Concept map ${file} ${why}.`, {
      file,
      fix: 'Recalibrate the bank to write a new map, or delete the file.',
    });
  });
  return parseConceptMap(parseJson(bytes.toString('utf8'), file, 'BANK_INVALID'), file, bank);
}

/** The map of a bank read from `bankFile`, or why there is none (never throws: a map is an extra, not the bank). */
export async function loadConceptMap(bank: ConceptBank, bankFile: string | undefined): Promise<ConceptMap | ConceptMapAbsent> {
  const missing: ConceptMapAbsent = { status: 'missing', message: 'No concept map for this bank: recalibrate to add one.' };
  if (!bankFile) return missing;
  try {
    // Read through its real path, which must stay in the bank's own folder (a link out of a bundle is refused).
    const folder = await fs.realpath(path.dirname(bankFile)).catch(() => undefined);
    if (!folder) return missing;
    return await readConceptMapFile(await realPathInside(folder, conceptMapFileFor(bankFile)), bank);
  } catch (err) {
    if (err instanceof SeerError && err.code === 'FILE_NOT_FOUND') return missing;
    return { status: 'invalid', message: `The concept map was not loaded: ${(err as Error).message}` };
  }
}
