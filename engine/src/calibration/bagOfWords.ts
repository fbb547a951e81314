// The bag-of-words reference every evaluation is reported beside: TF-IDF nearest-centroid on the same rows,
// the same split and the same text the model saw (the dataset's text columns, before the prompt template).
// If the model's representations do not beat counting words, the report should say so.
//
// Recipe (scikit-learn's TfidfVectorizer defaults, written out): words are lower-cased runs of Unicode letters,
// combining marks and digits (everything else separates words; no stop words, no stemming); tf = raw count
// in the prompt; idf = ln((1 + n) / (1 + df)) + 1 over the n training prompts; each prompt's vector is
// L2-normalised; a concept's centroid is the renormalised mean of its training vectors; a prompt is
// classified to the centroid of highest cosine. Vocabulary, idf and centroids come from the training
// part only; a word never seen in training is ignored.

export const BAG_OF_WORDS_RECIPE =
  'TF-IDF nearest centroid: lower-cased runs of letters and digits as words, smoothed idf, L2-normalised vectors, fitted on the prototype part only';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** The words of a text, in order (see the recipe above). */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** A text as term counts over a vocabulary: `add` = false ignores words outside it. */
function termCounts(text: string, vocabulary: Map<string, number>, add: boolean): Map<number, number> {
  const counts = new Map<number, number>();
  for (const w of words(text)) {
    let id = vocabulary.get(w);
    if (id === undefined) {
      if (!add) continue;
      id = vocabulary.size;
      vocabulary.set(w, id);
    }
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface LabelledText {
  text: string;
  /** Index of the true concept. */
  concept: number;
}

/**
 * A TF-IDF nearest-centroid classifier, fitted in two streamed passes over the training rows (document
 * frequencies, then centroids), so a dataset of any size needs memory for the vocabulary only.
 */
export class TfidfNearestCentroid {
  private constructor(
    private readonly vocabulary: Map<string, number>,
    private readonly idf: Float64Array,
    /** Sparse unit centroid per concept; null for a concept without training rows (never predicted). */
    private readonly centroids: Array<Map<number, number> | null>,
    readonly trainingRows: number,
  ) {}

  /** `training()` must yield the same rows each time it is called. */
  static async fit(training: () => AsyncIterable<LabelledText>, conceptCount: number): Promise<TfidfNearestCentroid> {
    const vocabulary = new Map<string, number>();
    const df: number[] = [];
    let n = 0;
    for await (const row of training()) {
      n++;
      for (const id of termCounts(row.text, vocabulary, true).keys()) df[id] = (df[id] ?? 0) + 1;
    }
    const idf = Float64Array.from(df, (d) => Math.log((1 + n) / (1 + d)) + 1);
    const sums: Array<Map<number, number> | null> = new Array(conceptCount).fill(null);
    for await (const row of training()) {
      const v = weighted(termCounts(row.text, vocabulary, false), idf);
      const sum = (sums[row.concept] ??= new Map());
      for (const [id, x] of v) sum.set(id, (sum.get(id) ?? 0) + x);
    }
    // The renormalised sum is the renormalised mean; a concept whose prompts have no words keeps a zero vector.
    const centroids = sums.map((s) => (s === null ? null : normalised(s)));
    return new TfidfNearestCentroid(vocabulary, idf, centroids, n);
  }

  get vocabularySize(): number {
    return this.vocabulary.size;
  }

  /** Concept index of the centroid closest to the text (ties and word-less texts: the lowest index among the best). */
  predict(text: string): number {
    const v = weighted(termCounts(text, this.vocabulary, false), this.idf);
    let best = -1;
    let bestCos = -Infinity;
    this.centroids.forEach((centroid, c) => {
      if (centroid === null) return;
      let cos = 0;
      for (const [id, x] of v) cos += x * (centroid.get(id) ?? 0);
      if (cos > bestCos) {
        bestCos = cos;
        best = c;
      }
    });
    return best;
  }
}

/** tf · idf, L2-normalised. */
function weighted(counts: Map<number, number>, idf: Float64Array): Map<number, number> {
  const v = new Map<number, number>();
  for (const [id, tf] of counts) v.set(id, tf * idf[id]);
  return normalised(v);
}

function normalised(v: Map<number, number>): Map<number, number> {
  let sq = 0;
  for (const x of v.values()) sq += x * x;
  const n = Math.sqrt(sq);
  if (n > 0) for (const [id, x] of v) v.set(id, x / n);
  return v;
}
