// The same states read another way, beside the product's read-out in every split evaluation: nearest
// centroid under whitened cosine. Cosine to prototypes (what explain shows) is dominated by the few
// directions every representation shares: on the default model the same- and different-concept cosines of
// MMLU questions are 0.93 and 0.88. Whitening weighs each direction by how much the prototype part varies
// along it, as TF-IDF's idf weighs words by how rare they are. When the whitened read-out beats TF-IDF and
// the plain one does not, the information is in the states and the gap is the read-out's.
//
// Recipe: u = the unit representation (as every read-out); μ and C = mean and covariance of the prototype
// part's u; R Rᵀ = C + λI (Cholesky), λ = α · trace(C) / d with α = WHITENING_SHRINKAGE (shrunk toward the
// mean variance, so a direction seen in few rows is not blown up); W = R⁻¹ (applied by forward substitution); a concept's prototype is
// W (mean of its u − μ); a row goes to the prototype of highest cosine with W (u − μ). Any W with
// Wᵀ W = (C + λI)⁻¹ gives the same cosines, so the Cholesky factor serves as well as a symmetric root.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { accuracy, bestLayerOf, emptyConfusion, macroF1, nearestPrototype } from './classification';
import { unit } from '../vectors';
import type { WhitenedReadout, WhitenedReadoutSkipped } from '../../../common/protocol';

/** α: 0.1 of the mean variance. On the default model's MATH / MMLU states α from 0.03 to 0.3 moves the best layer by ≤ 2 points. */
export const WHITENING_SHRINKAGE = 0.1;
/** Above this hidden size the d × d Cholesky factorisation is too slow in JavaScript (d³ / 6): the read-out is skipped, saying why. */
export const WHITENED_MAX_HIDDEN = 2048;
/** The d × d second moments of all layers within this many bytes; else the target layer only. */
export const WHITENED_MEMORY_BYTES = 256 * 2 ** 20;

export const WHITENED_RECIPE =
  `whitened cosine nearest centroid: unit states centred and whitened with the prototype part's covariance (shrinkage ${WHITENING_SHRINKAGE} of the mean variance), fitted on the prototype part only`;

/** Which layers get the whitened read-out, or why none does. */
export function whitenedLayers(layerCount: number, hidden: number, targetLayer: number): number[] | string {
  if (hidden > WHITENED_MAX_HIDDEN) {
    return `hidden size ${hidden} is above ${WHITENED_MAX_HIDDEN}: the ${hidden} × ${hidden} covariance's Cholesky factor would take over a minute in JavaScript`;
  }
  const perLayer = 8 * hidden * hidden;
  return layerCount * perLayer <= WHITENED_MEMORY_BYTES ? Array.from({ length: layerCount }, (_, l) => l) : [targetLayer];
}

interface FittedLayer {
  /** R, row-major d × d (lower triangular): W x = R⁻¹ x is one forward substitution, no inverse needed. */
  r: Float64Array;
  mean: Float64Array;
  /** Unit prototypes in the whitened space. */
  prototypes: Float32Array[];
}

/** Accumulates the prototype part (add), then classifies held-out rows (predict, classify) and reports per layer. */
export class WhitenedCentroid {
  private readonly counts: number[];
  private readonly sums: Float64Array[][];
  private readonly moments: Float64Array[];
  private rows = 0;
  private fitted?: FittedLayer[];
  private readonly confusion: number[][][];

  constructor(
    readonly layers: readonly number[],
    readonly dim: number,
    readonly conceptCount: number,
  ) {
    this.counts = Array.from({ length: conceptCount }, () => 0);
    this.sums = Array.from({ length: conceptCount }, () => layers.map(() => new Float64Array(dim)));
    this.moments = layers.map(() => new Float64Array(dim * dim));
    this.confusion = layers.map(() => emptyConfusion(conceptCount));
  }

  /** One prototype-part row: its unit representation at every layer of the model. */
  add(concept: number, unitLayers: ArrayLike<number>[]): void {
    if (this.fitted) throw new Error('WhitenedCentroid.add after the first prediction: the fit is done');
    this.counts[concept]++;
    this.rows++;
    const d = this.dim;
    this.layers.forEach((layer, i) => {
      const u = unitLayers[layer];
      const sum = this.sums[concept][i];
      const m = this.moments[i];
      for (let a = 0; a < d; a++) {
        const ua = u[a];
        sum[a] += ua;
        // Upper triangle only: the lower one is mirrored at fit time.
        for (let b = a, k = a * d + a; b < d; b++, k++) m[k] += ua * u[b];
      }
    });
  }

  private fit(): FittedLayer[] {
    const d = this.dim;
    const n = this.rows;
    return this.layers.map((_, i) => {
      const mean = new Float64Array(d);
      for (const perConcept of this.sums) for (let a = 0; a < d; a++) mean[a] += perConcept[i][a] / n;
      const cov = new Matrix(d, d);
      const m = this.moments[i];
      let trace = 0;
      for (let a = 0; a < d; a++) {
        for (let b = a; b < d; b++) {
          const c = m[a * d + b] / n - mean[a] * mean[b];
          cov.set(a, b, c);
          cov.set(b, a, c);
        }
        trace += cov.get(a, a);
      }
      const lambda = (WHITENING_SHRINKAGE * trace) / d || Number.EPSILON;
      for (let a = 0; a < d; a++) cov.set(a, a, cov.get(a, a) + lambda);
      const chol = new CholeskyDecomposition(cov);
      if (!chol.isPositiveDefinite()) throw new Error('whitening: the shrunk covariance is not positive definite');
      const r = Float64Array.from(chol.lowerTriangularMatrix.to1DArray());
      // Every concept of a split has prototype rows (evaluate keeps concepts with at least two).
      const prototypes = this.sums.map((perConcept, c) => {
        const centred = new Float64Array(d);
        for (let a = 0; a < d; a++) centred[a] = perConcept[i][a] / this.counts[c] - mean[a];
        return unit(solveLower(r, centred, d));
      });
      return { r, mean, prototypes };
    });
  }

  /** The concept each read layer gives a row (the first call fits; add is refused after it). */
  predict(unitLayers: ArrayLike<number>[]): number[] {
    const fitted = (this.fitted ??= this.fit());
    const d = this.dim;
    return this.layers.map((layer, i) => {
      const f = fitted[i];
      const u = unitLayers[layer];
      const centred = new Float64Array(d);
      for (let a = 0; a < d; a++) centred[a] = u[a] - f.mean[a];
      return nearestPrototype(solveLower(f.r, centred, d), f.prototypes);
    });
  }

  /** One held-out row: counted in each read layer's confusion matrix. */
  classify(concept: number, unitLayers: ArrayLike<number>[]): void {
    this.predict(unitLayers).forEach((predicted, i) => this.confusion[i][concept][predicted]++);
  }

  report(): WhitenedReadout {
    const perLayer = this.layers.map((layer, i) => ({ layer, accuracy: accuracy(this.confusion[i]), macroF1: macroF1(this.confusion[i]) }));
    return { recipe: WHITENED_RECIPE, shrinkage: WHITENING_SHRINKAGE, fittedRows: this.rows, perLayer, bestLayer: bestLayerOf(perLayer) };
  }
}

export function whitenedSkipped(reason: string): WhitenedReadoutSkipped {
  return { skipped: reason };
}

/** R⁻¹ x for a row-major lower-triangular d × d R with a positive diagonal: forward substitution (d² / 2). */
function solveLower(r: Float64Array, x: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d);
  for (let a = 0; a < d; a++) {
    let s = x[a];
    for (let b = 0, k = a * d; b < a; b++, k++) s -= r[k] * out[b];
    out[a] = s / r[a * d + a];
  }
  return out;
}

