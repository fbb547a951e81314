// Deterministic randomness for splits and samples: the same --seed gives the same rows on every machine.

/** mulberry32: a tiny, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string mixed with a seed: one independent stream per concept, whatever the row order. */
export function seedFor(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Chooses exactly `k` of `n` items arriving one by one, each subset equally likely (Knuth's selection
 * sampling, Algorithm S): needs only the counts, so a streamed dataset can be split without holding it.
 */
export class SelectionSampler {
  private seen = 0;
  private selected = 0;
  private readonly random: () => number;

  constructor(
    private readonly k: number,
    private readonly n: number,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  /** Call once per item, in order; true when this item is in the sample. */
  next(): boolean {
    const remaining = this.n - this.seen;
    const take = remaining > 0 && this.random() * remaining < this.k - this.selected;
    this.seen++;
    if (take) this.selected++;
    return take;
  }
}
