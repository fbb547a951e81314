// Nearest-prototype classification and its scores: accuracy, macro-F1, and the binary safe/unsafe view.
import { dot } from '../vectors';

/** Index of the prototype with the highest cosine to the unit vector x. */
export function nearestPrototype(x: ArrayLike<number>, prototypes: readonly ArrayLike<number>[]): number {
  let best = 0;
  let bestCos = -Infinity;
  for (let c = 0; c < prototypes.length; c++) {
    const cos = dot(x, prototypes[c]);
    if (cos > bestCos) {
      bestCos = cos;
      best = c;
    }
  }
  return best;
}

export function emptyConfusion(n: number): number[][] {
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

/** confusion[true][predicted] counts → fraction on the diagonal. */
export function accuracy(confusion: number[][]): number {
  let right = 0;
  let total = 0;
  confusion.forEach((row, t) => row.forEach((n, p) => ((total += n), t === p && (right += n))));
  return total ? right / total : NaN;
}

/** Mean F1 over the classes that occur in the data (classes with no true example are left out). */
export function macroF1(confusion: number[][]): number {
  const f1s: number[] = [];
  for (let c = 0; c < confusion.length; c++) {
    const support = confusion[c].reduce((a, b) => a + b, 0);
    if (support === 0) continue;
    const tp = confusion[c][c];
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    f1s.push(tp === 0 ? 0 : (2 * tp) / (support + predicted));
  }
  return f1s.length ? f1s.reduce((a, b) => a + b, 0) / f1s.length : NaN;
}

/** Collapses a concept confusion matrix to [[safe→safe, safe→unsafe], [unsafe→safe, unsafe→unsafe]]. */
export function binaryConfusion(confusion: number[][], safe: ReadonlySet<number>): number[][] {
  const out = emptyConfusion(2);
  confusion.forEach((row, t) => row.forEach((n, p) => (out[safe.has(t) ? 0 : 1][safe.has(p) ? 0 : 1] += n)));
  return out;
}

/** The layer of highest accuracy, macro-F1 breaking ties (the first of equals): what a report calls the best layer. */
export function bestLayerOf(perLayer: ReadonlyArray<{ layer: number; accuracy: number; macroF1: number }>): number {
  return perLayer.reduce((best, x) => (x.accuracy > best.accuracy || (x.accuracy === best.accuracy && x.macroF1 > best.macroF1) ? x : best)).layer;
}
