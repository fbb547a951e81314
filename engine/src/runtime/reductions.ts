// What an explanation reads from the states and the logits, reduced: each row's read-out state's cosine with each
// layer's concept prototypes and with the concept map's examples, each real token's cosine with the prototypes (the
// token × concept matrix), and the top next tokens with the log-sum-exp that turns their logits into probabilities.
// ModelSession computes these here for onnxruntime's providers (in-process: the full outputs are already on the
// host); the torch provider computes the same in PyTorch (torch_explain.py `reduced_outputs`), so that C numbers per
// layer and row (per token for the token view) and k per row cross its pipe instead of hidden and vocab.
import { cosineToAll } from '../scores';
import { normsOf } from '../vectors';
import type { TopTokens } from './modelSession';

/**
 * tokenStates [k, batch, seq, hidden] → [k, batch, seq, C]: the cosine of each row's real tokens (t < lengths[b])
 * with each of layer j's C prototypes; 0 at padding.
 */
export function tokenCosinesOf(tokenStates: Float32Array, shape: { batch: number; seq: number; lengths: number[] }, prototypes: Float32Array[][]): Float32Array {
  const { batch, seq, lengths } = shape;
  const C = prototypes[0]?.length ?? 0;
  const hidden = prototypes[0]?.[0]?.length ?? 0;
  const out = new Float32Array(prototypes.length * batch * seq * C);
  prototypes.forEach((layer, j) => {
    const norms = normsOf(layer);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < lengths[b]; t++) {
        const at = (j * batch + b) * seq + t;
        out.set(cosineToAll(tokenStates, at * hidden, layer, norms), at * C);
      }
    }
  });
  return out;
}

/**
 * states [L+1, batch, hidden] → [L+1, batch, C]: each row's state at layer l with each of layer l's C prototypes. In
 * double precision, as scoreLayer computes them from a state (what the torch provider sends is float32).
 */
export function readOutCosinesOf(states: Float32Array, batch: number, hidden: number, prototypes: Float32Array[][]): Float64Array {
  const C = prototypes[0]?.length ?? 0;
  const out = new Float64Array(prototypes.length * batch * C);
  prototypes.forEach((layer, l) => out.set(rowCosinesOf(states, batch, hidden, l, layer), l * batch * C));
  return out;
}

/** states [L+1, batch, hidden] → [batch, M]: each row's state at `layer` with each of the M vectors (double precision). */
export function rowCosinesOf(states: Float32Array, batch: number, hidden: number, layer: number, vectors: Float32Array[]): Float64Array {
  const M = vectors.length;
  const norms = normsOf(vectors);
  const out = new Float64Array(batch * M);
  for (let b = 0; b < batch; b++) out.set(cosineToAll(states, (layer * batch + b) * hidden, vectors, norms), b * M);
  return out;
}

/** The k largest of each row of logits [batch, vocab] (most probable first; ties: the lower id) and the row's log-sum-exp. */
export function topTokensOf(logits: Float32Array, batch: number, k: number): TopTokens {
  const vocab = logits.length / batch;
  const kk = Math.min(k, vocab);
  const ids = new Int32Array(batch * kk);
  const values = new Float32Array(batch * kk);
  const logSumExp = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const row = logits.subarray(b * vocab, (b + 1) * vocab);
    let max = -Infinity;
    for (let id = 0; id < vocab; id++) if (row[id] > max) max = row[id];
    let sum = 0;
    for (let id = 0; id < vocab; id++) sum += Math.exp(row[id] - max);
    logSumExp[b] = max + Math.log(sum);
    // Top k by logit, kept sorted by insertion.
    const top: number[] = [];
    for (let id = 0; id < vocab; id++) {
      if (top.length < kk || row[id] > row[top[top.length - 1]]) {
        let at = top.length < kk ? top.length : kk - 1;
        top[at] = id;
        while (at > 0 && row[top[at]] > row[top[at - 1]]) {
          [top[at], top[at - 1]] = [top[at - 1], top[at]];
          at--;
        }
      }
    }
    top.forEach((id, i) => {
      ids[b * kk + i] = id;
      values[b * kk + i] = row[id];
    });
  }
  return { k: kk, ids, logits: values, logSumExp };
}
