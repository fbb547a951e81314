// The few vector operations calibration needs, on plain typed arrays (hot loops: no allocation per call).

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A unit-length copy of v (all zeros stays all zeros: a zero vector has no direction). */
export function unit(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  const n = Math.sqrt(dot(v, v));
  if (n > 0) for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

export function addInto(target: Float64Array, v: ArrayLike<number>): void {
  for (let i = 0; i < target.length; i++) target[i] += v[i];
}
