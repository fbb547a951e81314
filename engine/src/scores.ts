// Pure scoring math on Float32Arrays: cosine to concept prototypes, softmax at the logit scale,
// predicted concept and margin. The vector operations themselves live in vectors.ts.
import type { LayerScores } from '../../common/protocol';
import { cosineFromDot, dot, norm, normsOf } from './vectors';

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
  const n = norm(buf, offset, dim);
  return prototypes.map((p, k) => cosineFromDot(dot(buf, p, offset), n * prototypeNorms[k]));
}

/** Scores one representation against a layer's prototypes (cosine, softmax at logitScale, prediction, margin). */
export function scoreLayer(layer: number, rep: Float32Array, prototypes: Float32Array[], logitScale: number): LayerScores {
  return scoreCosines(layer, cosineToAll(rep, 0, prototypes, normsOf(prototypes)), logitScale);
}

/** A layer's scores from a representation's cosines with its prototypes (softmax at logitScale, prediction, margin). */
export function scoreCosines(layer: number, cosines: number[], logitScale: number): LayerScores {
  const probs = softmax(cosines, logitScale);
  const { index, margin } = argmaxWithMargin(probs);
  return { layer, cosine: cosines, probs, predicted: index, margin };
}
