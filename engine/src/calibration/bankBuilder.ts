// A bank's prototypes and statistics from rows arriving one by one, exactly as docs/bundle-format.md
// ("Bank statistics") defines them; trainer/seer_trainer/calibrate.py implements the same definition and
// test/calibration/crossLanguage.test.ts checks that both give the same numbers. Memory: running sums per
// concept and layer plus the held-out rows (at most HELD_OUT_MAX per concept). Held-out rows are never part
// of the bank: they measure it (held-out accuracy, silhouette).
import type { LayerStats } from '../../../common/protocol';
import type { BankLayer } from '../bundle';
import { accuracy, emptyConfusion, nearestPrototype } from './classification';
import { ConceptSums } from './conceptSums';
import { type SampledExample, heldOutMaxCosinePercentile, pairwiseCosines, prototypeSimilarity, silhouette } from './layerStatistics';
import { SelectionSampler, seedFor } from './seededSampling';

/** Held-out rows per concept (bounded: these are the only representations kept in memory). */
export const HELD_OUT_MAX = 64;
export const DEFAULT_HELD_OUT_FRACTION = 0.2;
export const DEFAULT_SEED = 1;

/** The seeded split: k = min(64, ⌊n · fraction⌋, n − 1) rows of each concept, one independent stream per concept. */
export function heldOutPickers(concepts: readonly string[], counts: readonly number[], fraction: number, seed: number): SelectionSampler[] {
  return concepts.map((c, i) => {
    const n = counts[i];
    const k = Math.max(0, Math.min(HELD_OUT_MAX, Math.floor(n * fraction), n - 1));
    return new SelectionSampler(k, n, seedFor(seed, c));
  });
}

export class BankBuilder {
  private readonly train: ConceptSums;
  private readonly heldOut: SampledExample[] = [];
  private readonly pickers: SelectionSampler[];

  /** counts: the rows each concept will receive (from a first scan), needed by the seeded split. */
  constructor(
    readonly concepts: readonly string[],
    counts: readonly number[],
    private readonly layerCount: number,
    hiddenSize: number,
    split: { fraction: number; seed: number },
  ) {
    this.train = new ConceptSums(concepts, layerCount, hiddenSize);
    this.pickers = heldOutPickers(concepts, counts, split.fraction, split.seed);
  }

  /** One row, in dataset order: unit-normalised representations, one per layer. */
  add(concept: number, unitLayers: Float32Array[]): void {
    if (this.pickers[concept].next()) this.heldOut.push({ concept, layers: unitLayers });
    else this.train.add(concept, unitLayers);
  }

  /** Per-layer prototypes and statistics: the bank is the non-held-out rows; the held-out rows only measure it. */
  layers(): BankLayer[] {
    const { heldOut, train } = this;
    return Array.from({ length: this.layerCount }, (_, l) => {
      const prototypes = train.prototypes(l);
      const confusion = emptyConfusion(this.concepts.length);
      for (const ex of heldOut) confusion[ex.concept][nearestPrototype(ex.layers[l], prototypes)]++;
      const stats: LayerStats = {
        layer: l,
        ...pairwiseCosines(train, l),
        silhouette: heldOut.length ? silhouette(train, l, heldOut, false) : undefined,
        heldOutAccuracy: heldOut.length ? accuracy(confusion) : undefined,
        heldOutMaxCosineP05: heldOut.length ? heldOutMaxCosinePercentile(heldOut, l, prototypes) : undefined,
        prototypeSimilarity: prototypeSimilarity(prototypes),
        counts: [...train.counts],
      };
      return { layer: l, prototypes, stats };
    });
  }
}
