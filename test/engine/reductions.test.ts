// runtime/reductions.ts: the read-out's and the tokens' cosines with prototypes and the top next tokens that ModelSession computes from
// onnxruntime's outputs (the torch provider computes the same in PyTorch: torchProvider.test.ts compares them).
import { describe, expect, it } from 'vitest';
import { readOutCosinesOf, rowCosinesOf, tokenCosinesOf, topTokensOf } from '../../engine/src/runtime/reductions';
import { cosine } from '../../engine/src/vectors';
import { rng as mulberry32 } from './random';

describe('reductions', () => {
  it('token cosines: each real token against each prototype, per token layer; padding stays 0', () => {
    const rand = mulberry32(7);
    const [k, batch, seq, hidden, C] = [2, 3, 5, 4, 3];
    const states = Float32Array.from({ length: k * batch * seq * hidden }, () => rand() * 2 - 1);
    const protos = Array.from({ length: k }, () => Array.from({ length: C }, () => Float32Array.from({ length: hidden }, () => rand() - 0.5)));
    const lengths = [5, 2, 0];
    const out = tokenCosinesOf(states, { batch, seq, lengths }, protos);
    expect(out).toHaveLength(k * batch * seq * C);
    for (let j = 0; j < k; j++) for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) for (let c = 0; c < C; c++) {
      const at = (j * batch + b) * seq + t;
      const want = t < lengths[b] ? cosine(states.subarray(at * hidden, (at + 1) * hidden), protos[j][c]) : 0;
      expect(out[at * C + c]).toBeCloseTo(want, 6);
    }
  });

  it('read-out cosines: each row\'s state at every layer against that layer\'s prototypes, and at one layer against the map\'s examples', () => {
    const rand = mulberry32(11);
    const [layers, batch, hidden, C, M] = [3, 2, 4, 3, 5];
    const states = Float32Array.from({ length: layers * batch * hidden }, () => rand() * 2 - 1);
    const vectors = (n: number) => Array.from({ length: n }, () => Float32Array.from({ length: hidden }, () => rand() - 0.5));
    const protos = Array.from({ length: layers }, () => vectors(C));
    protos[1][2] = new Float32Array(hidden); // a zero prototype: cosine 0, not NaN
    const state = (l: number, b: number) => states.subarray((l * batch + b) * hidden, (l * batch + b + 1) * hidden);
    const out = readOutCosinesOf(states, batch, hidden, protos);
    expect(out).toHaveLength(layers * batch * C);
    for (let l = 0; l < layers; l++) for (let b = 0; b < batch; b++) for (let c = 0; c < C; c++) {
      expect(out[(l * batch + b) * C + c]).toBe(cosine(state(l, b), protos[l][c]));
    }
    expect(out[(1 * batch + 0) * C + 2]).toBe(0);
    const examples = vectors(M);
    const map = rowCosinesOf(states, batch, hidden, 2, examples);
    expect(map).toHaveLength(batch * M);
    for (let b = 0; b < batch; b++) for (let m = 0; m < M; m++) expect(map[b * M + m]).toBeCloseTo(cosine(state(2, b), examples[m]), 12);
  });

  it('top tokens: the k largest logits per row, most probable first, ties to the lower id, with the log-sum-exp', () => {
    const logits = Float32Array.from([0.5, 3, -1, 3, 2, /* row 2 */ 10, -10, 0, 1, 9]);
    const top = topTokensOf(logits, 2, 3);
    expect(top.k).toBe(3);
    expect(Array.from(top.ids)).toEqual([1, 3, 4, 0, 4, 3]);
    expect(Array.from(top.logits)).toEqual([3, 3, 2, 10, 9, 1]);
    for (let b = 0; b < 2; b++) {
      const row = Array.from(logits.subarray(b * 5, b * 5 + 5));
      expect(top.logSumExp[b]).toBeCloseTo(Math.log(row.reduce((s, x) => s + Math.exp(x), 0)), 5);
    }
    // Probabilities from it sum to 1 over the whole row.
    const p = Array.from(logits.subarray(0, 5), (x) => Math.exp(x - top.logSumExp[0]));
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 6);
    // k above the vocabulary: all of it.
    expect(topTokensOf(logits, 2, 9).k).toBe(5);
  });
});
