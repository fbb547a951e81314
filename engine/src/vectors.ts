// The vector operations of scoring and calibration, on plain typed arrays (hot loops: no allocation per call).
// `aOffset` reads `a` as a view into a larger buffer (a token's row in the hidden-state tensor) without a copy.

/** Dot product of b with the b.length values of a from aOffset. */
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

/** A dot product divided by the product of the norms, clamped to [-1, 1] (rounding); 0 for a zero vector. */
export function cosineFromDot(dotProduct: number, normProduct: number): number {
  if (normProduct === 0) return 0;
  return Math.max(-1, Math.min(1, dotProduct / normProduct));
}

/** Cosine similarity in [-1, 1]; 0 when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0): number {
  return cosineFromDot(dot(a, b, aOffset), norm(a, aOffset, b.length) * norm(b));
}

/** A unit-length copy of v (all zeros stays all zeros: a zero vector has no direction). */
export function unit(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  const n = norm(v);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

export function addInto(target: Float64Array, v: ArrayLike<number>): void {
  for (let i = 0; i < target.length; i++) target[i] += v[i];
}
