// The sum-based statistics must equal the straightforward pairwise computation on the same vectors.
import { describe, expect, it } from 'vitest';
import { accuracy, binaryConfusion, macroF1, nearestPrototype } from '../../engine/src/calibration/classification';
import { ConceptSums } from '../../engine/src/calibration/conceptSums';
import { crossViewCosines, pairwiseCosines, prototypeSimilarity, silhouette } from '../../engine/src/calibration/layerStatistics';
import { SelectionSampler, mulberry32 } from '../../engine/src/calibration/seededSampling';
import { unit } from '../../engine/src/vectors';

const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) ((d += a[i] * b[i]), (na += a[i] * a[i]), (nb += b[i] * b[i]));
  return d / Math.sqrt(na * nb);
};
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Random vectors around a per-concept centre, raw (not normalised), one layer. */
function clusters(sizes: number[], dim: number, seed: number): number[][][] {
  const r = mulberry32(seed);
  return sizes.map((n) => {
    const centre = Array.from({ length: dim }, () => r() * 2 - 1);
    return Array.from({ length: n }, () => centre.map((c) => c + (r() - 0.5) * 1.5));
  });
}

function sumsOf(data: number[][][]): ConceptSums {
  const s = new ConceptSums(data.map((_, i) => `c${i}`), 1, data[0][0].length);
  data.forEach((xs, c) => xs.forEach((x) => s.add(c, [unit(x)])));
  return s;
}

describe('per-layer statistics from running sums', () => {
  const data = clusters([5, 9, 2, 7], 6, 3);
  const sums = sumsOf(data);

  it('mean same- and different-concept cosine equal the pairwise loops', () => {
    const same = data.map((xs) => {
      const pairs: number[] = [];
      xs.forEach((x, i) => xs.forEach((y, j) => i !== j && pairs.push(cos(x, y))));
      return avg(pairs);
    });
    const different: number[] = [];
    for (let c = 0; c < data.length; c++)
      for (let d = c + 1; d < data.length; d++) different.push(avg(data[c].flatMap((x) => data[d].map((y) => cos(x, y)))));
    const got = pairwiseCosines(sums, 0);
    expect(got.sameConceptCos).toBeCloseTo(avg(same), 5);
    expect(got.differentConceptCos).toBeCloseTo(avg(different), 5);
    expect(got.gap).toBeCloseTo(avg(same) - avg(different), 5);
  });

  it('silhouette equals the textbook definition with cosine distance', () => {
    const sample = data.flatMap((xs, c) => xs.map((x) => ({ concept: c, layers: [unit(x)] })));
    const scores = data.flatMap((xs, c) =>
      xs.map((x, i) => {
        const a = avg(xs.filter((_, j) => j !== i).map((y) => 1 - cos(x, y)));
        const b = Math.min(...data.map((ys, d) => (d === c ? Infinity : avg(ys.map((y) => 1 - cos(x, y))))));
        return (b - a) / Math.max(a, b);
      }),
    );
    expect(silhouette(sums, 0, sample)).toBeCloseTo(avg(scores), 5);
  });

  it('the two-view metric is the mean cross-view pair cosine, same vs different concept', () => {
    const other = clusters([4, 3, 6, 2], 6, 3).map((xs, c) => xs.map((x, i) => x.map((v, k) => v + data[c][i % data[c].length][k])));
    const b = sumsOf(other);
    const same = data.map((xs, c) => avg(xs.flatMap((x) => other[c].map((y) => cos(x, y)))));
    const different: number[] = [];
    data.forEach((xs, c) => other.forEach((ys, d) => c !== d && different.push(avg(xs.flatMap((x) => ys.map((y) => cos(x, y)))))));
    const got = crossViewCosines(sums, b, 0);
    expect(got.samePairCos).toBeCloseTo(avg(same), 5);
    expect(got.differentPairCos).toBeCloseTo(avg(different), 5);
  });

  it('prototypes are the renormalised mean of unit vectors, and their similarity matrix is symmetric with unit diagonal', () => {
    const protos = sums.prototypes(0);
    const mean0 = data[0].map(unit).reduce((acc, v) => acc.map((a, i) => a + v[i]), new Array(6).fill(0));
    expect(cos(protos[0], mean0)).toBeCloseTo(1, 6);
    const sim = prototypeSimilarity(protos);
    sim.forEach((row, i) => {
      expect(row[i]).toBeCloseTo(1, 5);
      row.forEach((v, j) => expect(v).toBeCloseTo(sim[j][i], 6));
    });
  });
});

describe('classification scores', () => {
  // rows = true class, columns = predicted
  const m = [
    [8, 2, 0],
    [1, 6, 3],
    [0, 0, 5],
  ];

  it('accuracy and macro-F1 match a hand computation', () => {
    expect(accuracy(m)).toBeCloseTo(19 / 25, 10);
    const f1 = (tp: number, support: number, predicted: number) => (2 * tp) / (support + predicted);
    expect(macroF1(m)).toBeCloseTo((f1(8, 10, 9) + f1(6, 10, 8) + f1(5, 5, 8)) / 3, 10);
  });

  it('macro-F1 leaves out classes with no true example', () => {
    // class 0: tp 3, support 4, predicted 3 → F1 6/7; class 1 has no true example and does not count.
    expect(macroF1([[3, 1], [0, 0]])).toBeCloseTo(6 / 7, 10);
  });

  it('the binary view folds concepts into safe and unsafe', () => {
    expect(binaryConfusion(m, new Set([0]))).toEqual([
      [8, 2],
      [1, 14],
    ]);
  });

  it('nearest prototype picks the highest cosine', () => {
    const protos = [unit([1, 0]), unit([0, 1]), unit([-1, 1])];
    expect(nearestPrototype(unit([0.2, 1]), protos)).toBe(1);
    expect(nearestPrototype(unit([-1, 0.8]), protos)).toBe(2);
  });
});

describe('SelectionSampler', () => {
  it('selects exactly k of n, reproducibly per seed, each item about equally often', () => {
    const picks = (seed: number) => Array.from({ length: 20 }, ((s) => () => s.next())(new SelectionSampler(7, 20, seed)));
    expect(picks(5).filter(Boolean)).toHaveLength(7);
    expect(picks(5)).toEqual(picks(5));
    expect(picks(5)).not.toEqual(picks(6));
    const freq = new Array(20).fill(0);
    for (let seed = 0; seed < 2000; seed++) picks(seed).forEach((p, i) => p && freq[i]++);
    for (const f of freq) expect(f / 2000).toBeGreaterThan(0.28), expect(f / 2000).toBeLessThan(0.42);
  });
});
