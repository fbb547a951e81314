// Running sums of unit-normalised representations per concept and layer: everything the prototypes and
// the pairwise statistics need, in O(concepts × layers × hidden) memory however many rows stream past.
import { addInto, unit } from '../vectors';

export class ConceptSums {
  readonly counts: number[];
  /** sums[concept][layer]: sum of the unit-normalised representations seen for that concept. */
  readonly sums: Float64Array[][];

  constructor(
    readonly concepts: readonly string[],
    readonly numLayers: number,
    readonly dim: number,
  ) {
    this.counts = concepts.map(() => 0);
    this.sums = concepts.map(() => Array.from({ length: numLayers }, () => new Float64Array(dim)));
  }

  /** Adds one example given as unit vectors, one per layer. */
  add(concept: number, unitLayers: ArrayLike<number>[]): void {
    this.counts[concept]++;
    for (let l = 0; l < this.numLayers; l++) addInto(this.sums[concept][l], unitLayers[l]);
  }

  addAll(other: ConceptSums): void {
    for (let c = 0; c < this.concepts.length; c++) {
      this.counts[c] += other.counts[c];
      for (let l = 0; l < this.numLayers; l++) addInto(this.sums[c][l], other.sums[c][l]);
    }
  }

  /** Per-concept prototypes at a layer: the renormalised mean of the unit representations. */
  prototypes(layer: number): Float32Array[] {
    return this.sums.map((perLayer) => unit(perLayer[layer]));
  }
}
