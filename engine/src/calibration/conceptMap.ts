// The 2-D concept map (the SEER paper's verification figure, live): a bounded, concept-stratified sample of
// a bank's calibration examples at one layer, projected to 2-D with UMAP (umap-js, seeded, so the same data
// and seed give the same map), and the prompt placed on it by its nearest examples. Computed once, when a
// bank is calibrated (calibrate.ts feeds the sampler); stored beside the bank (bundle/conceptMapFile.ts).
import { UMAP } from 'umap-js';
import type { ConceptMapAbsent, ConceptMapView, Pooling } from '../../../common/protocol';
import type { PrototypeSource } from './evaluate';
import type { LoadedBundle } from '../bundle';
import { loadConceptMap, MAP_TEXT_CHARS } from '../bundle/conceptMapFile';
import { LIMITS } from '../limits';
import { cosineFromDot, dot, norm, normsOf } from '../vectors';
import { mulberry32, SelectionSampler, seedFor } from './seededSampling';

/** Neighbours whose 2-D positions place a prompt. */
export const PLACEMENT_NEIGHBOURS = 5;
const UMAP_NEIGHBOURS = 15;
const UMAP_MIN_DIST = 0.1;

export interface ConceptMap {
  bank: string;
  modelSha256: string;
  hiddenSize: number;
  layer: number;
  pooling: Pooling;
  /** The bank's concepts, in bank order (a point's concept is an index into it). */
  concepts: string[];
  projection: { method: 'umap'; library: string; nNeighbors: number; minDist: number; seed: number };
  /** One entry per sampled example; x and y are scaled to [0, 1]. */
  points: { concept: number[]; x: number[]; y: number[]; text: string[] };
  /** Each example's unit-length representation at `layer`: what places a prompt (placeConceptMap). */
  vectors: Float32Array[];
}

/** The examples per concept in the map: an equal share of LIMITS.conceptMapPoints, at least one each. */
export function mapQuota(concepts: number): number {
  return Math.max(1, Math.floor(LIMITS.conceptMapPoints / concepts));
}

/**
 * Keeps a seeded, concept-stratified sample of rows arriving one by one (Knuth's selection sampling per
 * concept, one independent stream each): at most mapQuota(k) rows per concept, only their vector at `layer`.
 */
export class ConceptMapSampler {
  private readonly pickers: SelectionSampler[];
  private readonly picked: Array<{ concept: number; text: string; vector: Float32Array }> = [];

  constructor(
    readonly concepts: readonly string[],
    counts: readonly number[],
    readonly layer: number,
    readonly seed: number,
  ) {
    const quota = mapQuota(concepts.length);
    this.pickers = concepts.map((c, i) => new SelectionSampler(Math.min(quota, counts[i]), counts[i], seedFor(seed, `map:${c}`)));
  }

  /** One row, in dataset order: its unit-normalised representation per layer. */
  add(concept: number, text: string, unitLayers: Float32Array[]): void {
    if (this.pickers[concept].next()) this.picked.push({ concept, text: text.slice(0, MAP_TEXT_CHARS), vector: Float32Array.from(unitLayers[this.layer]) });
  }

  get size(): number {
    return this.picked.length;
  }

  /** The map of the sample (the UMAP fit: about a second for 400 examples). */
  build(bank: { name: string; modelSha256: string; hiddenSize: number; pooling: Pooling }): ConceptMap {
    const examples = this.picked;
    const embedding = projectUmap(examples.map((e) => e.vector), this.seed);
    const [xs, ys] = [0, 1].map((d) => scaleToUnit(embedding.map((p) => p[d])));
    return {
      bank: bank.name,
      modelSha256: bank.modelSha256,
      hiddenSize: bank.hiddenSize,
      layer: this.layer,
      pooling: bank.pooling,
      concepts: [...this.concepts],
      projection: { method: 'umap', library: 'umap-js', nNeighbors: umapNeighbours(examples.length), minDist: UMAP_MIN_DIST, seed: this.seed },
      points: { concept: examples.map((e) => e.concept), x: xs, y: ys, text: examples.map((e) => e.text) },
      vectors: examples.map((e) => e.vector),
    };
  }
}

const umapNeighbours = (n: number): number => Math.max(2, Math.min(UMAP_NEIGHBOURS, n - 1));

/** 2-D UMAP of unit vectors (euclidean on unit vectors orders pairs as cosine does); every random draw is seeded. */
function projectUmap(vectors: Float32Array[], seed: number): number[][] {
  // UMAP needs a neighbourhood: two or three points get a fixed layout instead.
  if (vectors.length < 4) return vectors.map((_, i) => [Math.cos((2 * Math.PI * i) / vectors.length), Math.sin((2 * Math.PI * i) / vectors.length)]);
  const umap = new UMAP({ nComponents: 2, nNeighbors: umapNeighbours(vectors.length), minDist: UMAP_MIN_DIST, random: mulberry32(seed) });
  return umap.fit(vectors.map((v) => Array.from(v)));
}

/** Values mapped onto [0, 1] (a constant to 0.5); the map's axes have no units, only neighbourhoods. */
function scaleToUnit(values: number[]): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => (hi > lo ? round((v - lo) / (hi - lo)) : 0.5));
}

const round = (v: number): number => Math.round(v * 1e5) / 1e5;

/**
 * Where a prompt goes on the map: the mean of the 2-D positions of its PLACEMENT_NEIGHBOURS nearest examples
 * by cosine in the original space, each weighted by 1 / (1 − cosine) so that an example's own representation
 * lands on its own point. (umap-js's out-of-sample `transform` would need the fitted model and its training
 * data at explain time, i.e. a refit; the neighbours need only the stored vectors.) `cosines`: the prompt's
 * representation's with each of the map's examples (exampleCosines; an explain's forward pass reduces them).
 */
export function placeOnConceptMap(map: Pick<ConceptMap, 'points'>, cosines: ArrayLike<number>): NonNullable<ConceptMapView['prompt']> {
  const order = Array.from({ length: cosines.length }, (_, i) => i);
  const nearest = order.sort((a, b) => cosines[b] - cosines[a]).slice(0, PLACEMENT_NEIGHBOURS);
  let x = 0;
  let y = 0;
  let total = 0;
  for (const i of nearest) {
    const w = 1 / Math.max(1e-6, 1 - cosines[i]);
    x += w * map.points.x[i];
    y += w * map.points.y[i];
    total += w;
  }
  return { x: round(x / total), y: round(y / total), neighbours: nearest, nearestCosine: cosines[nearest[0]] };
}

/** A representation's cosine with each of the map's examples (their norms once per map: stored unit-length, but a map file is read, not trusted). */
export function exampleCosines(map: Pick<ConceptMap, 'vectors'>, representation: ArrayLike<number>): number[] {
  const norms = normsOf(map.vectors);
  const n = norm(representation);
  return map.vectors.map((v, i) => cosineFromDot(dot(representation, v), n * norms[i]));
}

/**
 * What a result carries: the points to draw and the prompt's place (null when its pooling differs from the
 * map's, or when there is no prompt: an evaluation report).
 */
export function conceptMapView(map: ConceptMap, cosines?: ArrayLike<number>, pooling: Pooling = map.pooling): ConceptMapView {
  const placeable = cosines !== undefined && pooling === map.pooling;
  return {
    status: 'ok',
    bank: map.bank,
    layer: map.layer,
    points: map.points,
    method: `UMAP (umap-js, ${map.projection.nNeighbors} neighbours, min. distance ${map.projection.minDist}, seed ${map.projection.seed}) of ` +
      `${map.points.x.length} calibration examples` +
      (placeable ? `; the prompt is placed among its ${Math.min(PLACEMENT_NEIGHBOURS, map.vectors.length)} nearest examples by cosine` : ''),
    prompt: placeable ? placeOnConceptMap(map, cosines) : null,
    note: placeable || cosines === undefined ? undefined
      : `The prompt is not placed: the map was made with ${map.pooling} pooling, this explanation uses ${pooling}.`,
  };
}

/**
 * The map with its concepts in `order` (a bank's order; a dataset may list the same concepts in another), or
 * undefined when the two are not the same set of concepts.
 */
export function inConceptOrder(map: ConceptMap, order: readonly string[]): ConceptMap | undefined {
  if (order.length !== map.concepts.length || !map.concepts.every((c) => order.includes(c))) return undefined;
  const index = map.concepts.map((c) => order.indexOf(c));
  return { ...map, concepts: [...order], points: { ...map.points, concept: map.points.concept.map((c) => index[c]) } };
}

/**
 * The map an evaluation report shows beside its numbers: the evaluated bank's, or, when the prototypes came
 * from the data, the bundle's default bank's (so `seer eval --compare-bundle` shows two models' maps side by side).
 */
export async function evaluationConceptMap(bundle: LoadedBundle, source: PrototypeSource): Promise<ConceptMapView | ConceptMapAbsent | undefined> {
  const bank = source.kind === 'bank' ? source.bank : bundle.banks.get(bundle.manifest.defaultBank);
  if (!bank) return undefined;
  const map = await loadConceptMap(bank, bank.file);
  if (!('vectors' in map)) return map;
  // The report colours points by the run's concepts; a run calibrated on its data has the dataset's, not the bank's.
  return { ...conceptMapView(map), concepts: [...map.concepts] };
}
