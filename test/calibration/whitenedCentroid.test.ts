// The whitened read-out (engine/src/calibration/whitenedCentroid.ts): it must find concepts that differ along
// a quiet direction while a loud direction every row shares swamps plain cosine, and its Cholesky shortcut must
// give the cosines of the Mahalanobis metric (C + λI)⁻¹ computed directly.
import { describe, expect, it } from 'vitest';
import { Matrix, inverse } from 'ml-matrix';
import { nearestPrototype } from '../../engine/src/calibration/classification';
import { mulberry32 } from '../../engine/src/calibration/seededSampling';
import { WHITENED_MAX_HIDDEN, WHITENING_SHRINKAGE, WhitenedCentroid, whitenedLayers } from '../../engine/src/calibration/whitenedCentroid';
import { unit } from '../../engine/src/vectors';

const DIM = 6;

/** Unit rows: a shared offset and a loud random direction dominate; the concept moves one quiet coordinate. */
function rows(n: number, seed: number): Array<{ concept: number; u: Float32Array }> {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, (_, i) => {
    const concept = i % 2;
    const v = new Float32Array(DIM);
    v[0] = 10; // what every row shares
    v[1] = 8 * gauss(); // loud, meaningless
    for (let a = 2; a < DIM; a++) v[a] = 0.15 * gauss();
    v[2] += concept ? 0.35 : -0.35; // quiet, meaningful
    return { concept, u: unit(v) };
  });
}

function plainCosineAccuracy(fit: ReturnType<typeof rows>, test: ReturnType<typeof rows>): number {
  const sums = [new Float64Array(DIM), new Float64Array(DIM)];
  for (const { concept, u } of fit) u.forEach((x, a) => (sums[concept][a] += x));
  const prototypes = sums.map((s) => unit(Float32Array.from(s)));
  return test.filter(({ concept, u }) => nearestPrototype(u, prototypes) === concept).length / test.length;
}

describe('WhitenedCentroid', () => {
  const fit = rows(400, 1);
  const test = rows(400, 2);

  it('reads a concept that plain cosine loses under a loud shared direction', () => {
    const w = new WhitenedCentroid([0], DIM, 2);
    for (const { concept, u } of fit) w.add(concept, [u]);
    for (const { concept, u } of test) w.classify(concept, [u]);
    const report = w.report();
    expect(report).toMatchObject({ shrinkage: WHITENING_SHRINKAGE, fittedRows: 400, bestLayer: 0 });
    expect(plainCosineAccuracy(fit, test), "plain cosine").toBeLessThan(0.7);
    expect(report.perLayer[0].accuracy).toBeGreaterThan(0.9);
  });

  it('predicts as the Mahalanobis cosine with (C + λI)⁻¹ computed directly', () => {
    const w = new WhitenedCentroid([0], DIM, 2);
    for (const { concept, u } of fit) w.add(concept, [u]);
    // Direct: mean, covariance, λ = α · trace / d, M = (C + λI)⁻¹, prototypes = concept means − μ.
    const n = fit.length;
    const mean = new Array(DIM).fill(0);
    for (const { u } of fit) u.forEach((x, a) => (mean[a] += x / n));
    const cov = Matrix.zeros(DIM, DIM);
    for (const { u } of fit) for (let a = 0; a < DIM; a++) for (let b = 0; b < DIM; b++) cov.set(a, b, cov.get(a, b) + ((u[a] - mean[a]) * (u[b] - mean[b])) / n);
    const lambda = (WHITENING_SHRINKAGE * cov.trace()) / DIM;
    const m = inverse(cov.add(Matrix.eye(DIM).mul(lambda)));
    const centredMean = (c: number) => {
      const rowsOf = fit.filter((x) => x.concept === c);
      return Array.from({ length: DIM }, (_, a) => rowsOf.reduce((s, x) => s + x.u[a], 0) / rowsOf.length - mean[a]);
    };
    const prototypes = [0, 1].map(centredMean);
    const inner = (x: number[], y: number[]) => Matrix.rowVector(x).mmul(m).mmul(Matrix.columnVector(y)).get(0, 0);
    const direct = test.map(({ u }) => {
      const x = Array.from(u, (v, a) => v - mean[a]);
      const cos = prototypes.map((p) => inner(x, p) / Math.sqrt(inner(p, p)));
      return cos[0] >= cos[1] ? 0 : 1;
    });
    const agree = test.filter(({ u }, i) => w.predict([u])[0] === direct[i]).length;
    expect(agree).toBe(test.length);
  });

  it('refuses rows after classification has started', () => {
    const w = new WhitenedCentroid([0], DIM, 2);
    for (const { concept, u } of fit) w.add(concept, [u]);
    w.predict([test[0].u]);
    expect(() => w.add(0, [test[1].u])).toThrow(/after the first prediction/);
  });
});

describe('whitenedLayers', () => {
  it('reads every layer of a small model, the target layer only when the statistics of all would be too big, none above the size limit', () => {
    expect(whitenedLayers(9, 256, 6)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(whitenedLayers(17, 2048, 12)).toEqual([12]); // 17 × 2048² × 8 bytes = 544 MiB
    expect(whitenedLayers(33, 4096, 25)).toMatch(`hidden size 4096 is above ${WHITENED_MAX_HIDDEN}`);
  });
});
