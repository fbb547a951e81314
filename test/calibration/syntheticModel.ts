// A synthetic "model" with known geometry, for testing the calibration pipeline without ONNX: the text
// "<concept> <anything>" maps to that concept's direction (sharper at higher layers) plus per-text noise.
import type { Representation, RepresentOptions, Representer } from '../../engine/src/calibration/representer';
import type { ModelFacts } from '../../engine/src/calibration/representer';
import { mulberry32, seedFor } from '../../engine/src/calibration/seededSampling';
import { throwIfAborted } from '../../engine/src/errors';

export const LAYERS = 4;
export const DIM = 16;
/** Texts with more words than this are reported as truncated. */
export const MAX_WORDS = 50;

export class SyntheticModel implements Representer {
  calls: Array<{ count: number; opts: RepresentOptions }> = [];
  /** When set, aborts this controller after this many represent() calls (to test cancellation). */
  abortAfter?: { calls: number; controller: AbortController };

  constructor(private readonly noise = 0.5) {}

  async represent(texts: string[], opts: RepresentOptions, signal?: AbortSignal): Promise<Representation[]> {
    this.calls.push({ count: texts.length, opts });
    if (this.abortAfter && this.calls.length >= this.abortAfter.calls) this.abortAfter.controller.abort();
    throwIfAborted(signal); // as Engine does
    return texts.map((text) => {
      const concept = text.split(/\s+/)[0];
      const words = text.split(/\s+/).length;
      const layers = Array.from({ length: LAYERS + 1 }, (_, l) => {
        const dir = direction(`${concept}@${l}`);
        const noise = direction(`${text}#${l}`);
        // Layer 0 carries no concept signal; later layers more and more.
        const signal = l / LAYERS;
        return dir.map((d, i) => 3 * (signal * d + this.noise * noise[i]));
      });
      return { layers, tokenCount: Math.min(words, MAX_WORDS), truncated: words > MAX_WORDS };
    });
  }
}

function direction(key: string): Float32Array {
  const r = mulberry32(seedFor(7, key));
  const v = Float32Array.from({ length: DIM }, () => r() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export function syntheticFacts(dir: string): ModelFacts {
  return {
    name: 'synthetic',
    dir,
    layerCount: LAYERS + 1,
    hiddenSize: DIM,
    modelSha256: 'synthetic-sha',
    targetLayers: [3],
    logitScale: 10,
    representation: 'last',
    defaultBank: 'default',
    bundleBanks: ['default'],
  };
}
