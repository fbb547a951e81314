// scores.ts and vectors.ts against an independent, straightforward Float64 computation on random vectors, plus properties.
import { describe, expect, it } from 'vitest';
import { argmaxWithMargin, cosineToAll, scoreLayer, softmax } from '../../engine/src/scores';
import { cosine, dot, norm, normsOf, unit } from '../../engine/src/vectors';
import { rng } from './random';

function naiveCosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  const na = Math.hypot(...a);
  const nb = Math.hypot(...b);
  return dot / (na * nb);
}

function naiveSoftmax(x: number[], scale: number): number[] {
  const e = x.map((v) => Math.exp(scale * v));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}

describe('scores', () => {
  const rand = rng(42);
  const vec = (n: number) => Array.from({ length: n }, () => rand() * 2 - 1);

  it('matches a straightforward cosine/softmax/argmax on random vectors', () => {
    for (let trial = 0; trial < 200; trial++) {
      const dim = 1 + Math.floor(rand() * 300);
      const k = 1 + Math.floor(rand() * 12);
      const scale = 0.5 + rand() * 20;
      const rep = vec(dim);
      const protos = Array.from({ length: k }, () => vec(dim));
      const got = scoreLayer(3, Float32Array.from(rep), protos.map((p) => Float32Array.from(p)), scale);
      const cos = protos.map((p) => naiveCosine(rep, p));
      const probs = naiveSoftmax(cos, scale);
      const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
      expect(got.layer).toBe(3);
      got.cosine.forEach((c, i) => expect(c).toBeCloseTo(cos[i], 5)); // float32 inputs: ~1e-6 relative
      got.probs.forEach((p, i) => expect(p).toBeCloseTo(probs[i], 5));
      expect(got.predicted).toBe(order[0][1]);
      expect(got.margin).toBeCloseTo(k > 1 ? order[0][0] - order[1][0] : order[0][0], 5);
    }
  });

  it('keeps cosines in [-1, 1] and probabilities summing to 1, also for extreme inputs', () => {
    const cases = [vec(64), vec(64).map((x) => x * 1e6), vec(64).map((x) => x * 1e-20)];
    for (const rep of cases) {
      const protos = [rep, rep.map((x) => -x), vec(64), vec(64)].map((p) => Float32Array.from(p));
      const s = scoreLayer(0, Float32Array.from(rep), protos, 100);
      for (const c of s.cosine) expect(Math.abs(c)).toBeLessThanOrEqual(1);
      expect(s.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(s.cosine[0]).toBeCloseTo(1, 5);
      expect(s.cosine[1]).toBeCloseTo(-1, 5);
      expect(s.predicted).toBe(0);
    }
  });

  it('is stable where a naive softmax overflows', () => {
    const p = softmax([1000, 999, -1000], 10);
    expect(p.every(Number.isFinite)).toBe(true);
    expect(p[0]).toBeCloseTo(1 / (1 + Math.exp(-10)), 12);
  });

  it('treats a zero vector as orthogonal to everything', () => {
    expect(cosine(new Float32Array(8), Float32Array.from(vec(8)))).toBe(0);
    expect(Array.from(unit(new Float32Array(4)))).toEqual([0, 0, 0, 0]);
  });

  it('unit gives unit vectors in the same direction', () => {
    const v = vec(50);
    const n = unit(v);
    expect(Math.hypot(...n)).toBeCloseTo(1, 6);
    expect(naiveCosine(v, Array.from(n))).toBeCloseTo(1, 6);
  });

  it('cosineToAll reads a token row at an offset of a larger buffer, like cosine on the copied row', () => {
    const dim = 16;
    const rows = Float32Array.from(vec(3 * dim));
    const protos = [vec(dim), vec(dim)].map((p) => Float32Array.from(p));
    const got = cosineToAll(rows, dim, protos, protos.map((p) => norm(p)));
    const row = Array.from(rows.subarray(dim, 2 * dim));
    got.forEach((c, k) => expect(c).toBeCloseTo(naiveCosine(row, Array.from(protos[k])), 5));
    expect(got[0]).toBe(cosine(rows, protos[0], dim));
  });

  it('dot and norm add in the order of a plain loop (unrolled, the same sums to the last bit), at any offset and length', () => {
    for (let dim = 0; dim <= 13; dim++) {
      for (const offset of [0, 1, 3]) {
        const a = Float32Array.from(vec(offset + dim + 2));
        const b = Float32Array.from(vec(dim));
        let d = 0;
        let n = 0;
        for (let i = 0; i < dim; i++) {
          d += a[offset + i] * b[i];
          n += a[offset + i] * a[offset + i];
        }
        expect(dot(a, b, offset)).toBe(d);
        expect(norm(a, offset, dim)).toBe(Math.sqrt(n));
      }
    }
  });

  it('normsOf: the norm of each vector, computed once per list', () => {
    const list = [vec(5), vec(5)].map((p) => Float32Array.from(p));
    const norms = normsOf(list);
    expect(norms).toEqual(list.map((p) => norm(p)));
    expect(normsOf(list)).toBe(norms);
  });

  it('reports the margin to the runner-up, ties included', () => {
    expect(argmaxWithMargin([0.2, 0.5, 0.3])).toEqual({ index: 1, margin: 0.5 - 0.3 });
    expect(argmaxWithMargin([0.5, 0.5])).toEqual({ index: 0, margin: 0 });
  });
});
