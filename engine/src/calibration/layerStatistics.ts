// The paper's per-layer measures, computed exactly from running sums (no pairwise loop over examples):
// for unit vectors, Σ_{i≠j} x_i·x_j = |Σx|² − n, and the mean cosine between two groups is S_a·S_b / (n_a n_b).
import type { ConceptSums } from './conceptSums';
import { dot } from '../vectors';

/** One example kept in memory (a bounded sample per concept) for the per-example measures. */
export interface SampledExample {
  concept: number;
  /** Unit-normalised representation per layer. */
  layers: Float32Array[];
}

export interface PairwiseCosines {
  /** Mean over concepts of the mean cosine between two different examples of that concept. */
  sameConceptCos: number;
  /** Mean over concept pairs of the mean cosine between an example of one and an example of the other. */
  differentConceptCos: number;
  gap: number;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function pairwiseCosines(s: ConceptSums, layer: number): PairwiseCosines {
  const same: number[] = [];
  const different: number[] = [];
  const C = s.concepts.length;
  for (let c = 0; c < C; c++) {
    const n = s.counts[c];
    const S = s.sums[c][layer];
    if (n >= 2) same.push((dot(S, S) - n) / (n * (n - 1)));
    for (let d = c + 1; d < C; d++) {
      const m = s.counts[d];
      if (n > 0 && m > 0) different.push(dot(S, s.sums[d][layer]) / (n * m));
    }
  }
  const sameConceptCos = mean(same);
  const differentConceptCos = mean(different);
  return { sameConceptCos, differentConceptCos, gap: sameConceptCos - differentConceptCos };
}

/**
 * The paper's training-time metric on two disjoint views (a and b) of every concept: the mean cosine of
 * cross-view pairs of the same concept, and of cross-view pairs of different concepts.
 */
export function crossViewCosines(a: ConceptSums, b: ConceptSums, layer: number): { samePairCos: number; differentPairCos: number } {
  const same: number[] = [];
  const different: number[] = [];
  for (let c = 0; c < a.concepts.length; c++) {
    for (let d = 0; d < b.concepts.length; d++) {
      const n = a.counts[c];
      const m = b.counts[d];
      if (n === 0 || m === 0) continue;
      const cos = dot(a.sums[c][layer], b.sums[d][layer]) / (n * m);
      (c === d ? same : different).push(cos);
    }
  }
  return { samePairCos: mean(same), differentPairCos: mean(different) };
}

/**
 * Mean silhouette with cosine distance (1 − cos) over sampled examples: a = mean distance to the examples
 * of its concept in `s`, b = smallest mean distance to another concept's, score = (b − a) / max(a, b).
 * The means come from the sums, so only the sample is in memory. `members`: the sample is part of `s`
 * (its own distance 0 is left out of a); otherwise it is held out from `s` (docs/bundle-format.md).
 */
export function silhouette(s: ConceptSums, layer: number, sample: readonly SampledExample[], members = true): number {
  const scores: number[] = [];
  const self = members ? 1 : 0;
  for (const ex of sample) {
    const n = s.counts[ex.concept] - self;
    if (n < 1) continue;
    const x = ex.layers[layer];
    const a = 1 - (dot(x, s.sums[ex.concept][layer]) - self) / n;
    let b = Infinity;
    for (let d = 0; d < s.concepts.length; d++) {
      if (d === ex.concept || s.counts[d] === 0) continue;
      b = Math.min(b, 1 - dot(x, s.sums[d][layer]) / s.counts[d]);
    }
    if (!Number.isFinite(b)) continue;
    const denom = Math.max(a, b);
    scores.push(denom > 0 ? (b - a) / denom : 0);
  }
  return mean(scores);
}

/** Concept × concept cosine similarity of unit prototypes. */
export function prototypeSimilarity(prototypes: readonly Float32Array[]): number[][] {
  return prototypes.map((p) => prototypes.map((q) => dot(p, q)));
}

/**
 * A prompt whose best cosine to the bank's prototypes is below this percentile of the held-out rows' best
 * cosines is farther from every concept than almost all calibration rows: its headline is low-confidence.
 */
export const FAR_PERCENTILE = 5;

/** The FAR_PERCENTILE-th percentile (nearest rank) over held-out unit vectors of their highest cosine to any prototype. */
export function heldOutMaxCosinePercentile(sample: readonly SampledExample[], layer: number, prototypes: readonly Float32Array[]): number {
  const best = sample.map((ex) => Math.max(...prototypes.map((p) => dot(ex.layers[layer], p)))).sort((a, b) => a - b);
  return best[Math.max(0, Math.ceil((best.length * FAR_PERCENTILE) / 100) - 1)];
}
