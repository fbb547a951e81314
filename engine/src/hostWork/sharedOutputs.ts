// Forward outputs copied into shared memory, posted to every host thread without a copy (each scores its own rows).
// The memory is kept and reused batch after batch: a new SharedArrayBuffer costs far more than the copy into it
// (measured for a 4.4 MB output: 16 ms to allocate and fill a new one, 0.2 ms to fill one already there; a plain
// buffer per thread, cut to its rows, cost 6 ms a batch in allocation).
import type { ForwardOutput } from '../runtime/modelSession';

type Numbers = Float32Array | Float64Array | Int32Array;

/** Free buffers kept for the next batches: one being scored while the next is copied, and one spare. */
const KEEP = 2;

export class SharedOutputs {
  private readonly free: SharedArrayBuffer[] = [];

  /** `out` in shared memory; `release` once no thread reads it any more. */
  share(out: ForwardOutput): { out: ForwardOutput; release(): void } {
    const arrays = [out.states, out.readOutCosines, out.mapCosines, out.tokenStates, out.tokenCosines, out.lastLogits, out.top?.ids, out.top?.logits, out.top?.logSumExp];
    const bytes = arrays.reduce((n, a) => n + aligned(a?.byteLength ?? 0), 0);
    const memory = this.take(bytes);
    let at = 0;
    const share = <T extends Numbers>(a: T): T => {
      const copy = new (a.constructor as new (b: SharedArrayBuffer, offset: number, length: number) => T)(memory, at, a.length);
      copy.set(a);
      at += aligned(a.byteLength);
      return copy;
    };
    const shared: ForwardOutput = {
      ...out,
      states: share(out.states),
      ...(out.readOutCosines && { readOutCosines: share(out.readOutCosines) }),
      ...(out.mapCosines && { mapCosines: share(out.mapCosines) }),
      tokenStates: share(out.tokenStates),
      ...(out.tokenCosines && { tokenCosines: share(out.tokenCosines) }),
      ...(out.lastLogits && { lastLogits: share(out.lastLogits) }),
      ...(out.top && { top: { ...out.top, ids: share(out.top.ids), logits: share(out.top.logits), logSumExp: share(out.top.logSumExp) } }),
    };
    let released = false;
    return {
      out: shared,
      release: () => {
        if (released) return;
        released = true;
        this.free.push(memory);
        // The largest are kept: a batch's output fits in any buffer at least as large.
        if (this.free.length > KEEP) this.free.sort((a, b) => b.byteLength - a.byteLength).pop();
      },
    };
  }

  /** The smallest free buffer of at least `bytes`, or a new one. */
  private take(bytes: number): SharedArrayBuffer {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    });
    return best >= 0 ? this.free.splice(best, 1)[0] : new SharedArrayBuffer(bytes);
  }
}

/** Each array starts on an 8-byte boundary (a typed array's offset must be a multiple of its element size). */
function aligned(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}
