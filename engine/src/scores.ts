// Pure scoring math on Float32Arrays: cosine to concept prototypes, softmax at the logit scale,
// predicted concept and margin. Plain loops, no allocation beyond the results.
import type { LayerScores } from '../../common/protocol';

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[aOffset + i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>, offset = 0, length = a.length - offset): number {
  let s = 0;
  for (let i = offset; i < offset + length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Cosine similarity in [-1, 1]; 0 when either vector is zero. `aOffset` reads `a` as a view into a larger buffer. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0): number {
  const denom = norm(a, aOffset, b.length) * norm(b);
  if (denom === 0) return 0;
  return Math.max(-1, Math.min(1, dot(a, b, aOffset) / denom));
}

/** A unit-norm copy (a zero vector stays zero). */
export function normalise(v: ArrayLike<number>): Float32Array {
  const n = norm(v);
  const out = new Float32Array(v.length);
  if (n > 0) for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** softmax(scale · x), numerically stable. */
export function softmax(x: ArrayLike<number>, scale = 1): number[] {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, scale * x[i]);
  const out = new Array<number>(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(scale * x[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

/** Index of the largest value and the gap to the runner-up (0 when there is only one). */
export function argmaxWithMargin(p: ArrayLike<number>): { index: number; margin: number } {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  let second = -Infinity;
  for (let i = 0; i < p.length; i++) if (i !== best && p[i] > second) second = p[i];
  return { index: best, margin: p.length > 1 ? p[best] - second : p[best] };
}

/**
 * Cosine of the `dim`-long vector at `offset` in `buf` with every prototype, given the prototypes' norms:
 * the hot loop of the token × concept matrix, so the vector's norm is computed once, not once per concept.
 */
export function cosineToAll(buf: Float32Array, offset: number, prototypes: Float32Array[], prototypeNorms: number[]): number[] {
  const dim = prototypes.length > 0 ? prototypes[0].length : 0;
  let sq = 0;
  for (let i = offset; i < offset + dim; i++) sq += buf[i] * buf[i];
  const n = Math.sqrt(sq);
  const out = new Array<number>(prototypes.length);
  for (let k = 0; k < prototypes.length; k++) {
    const p = prototypes[k];
    let d = 0;
    for (let i = 0; i < dim; i++) d += buf[offset + i] * p[i];
    const denom = n * prototypeNorms[k];
    out[k] = denom === 0 ? 0 : Math.max(-1, Math.min(1, d / denom));
  }
  return out;
}

/** Scores one representation against a layer's prototypes (cosine, softmax at logitScale, prediction, margin). */
export function scoreLayer(layer: number, rep: Float32Array, prototypes: Float32Array[], logitScale: number): LayerScores {
  const cos = cosineToAll(rep, 0, prototypes, prototypes.map((p) => norm(p)));
  const probs = softmax(cos, logitScale);
  const { index, margin } = argmaxWithMargin(probs);
  return { layer, cosine: cos, probs, predicted: index, margin };
}
