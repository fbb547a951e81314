// What calibration needs from the engine: batched per-layer representations, and a few facts about the model.
import type { Pooling } from '../../../common/protocol';
import type { LoadedBundle } from '../bundle';
import type { Representation, RepresentOptions } from '../engine';
import { throwIfAborted } from '../errors';
import { unit } from '../vectors';

export type { Representation, RepresentOptions };

/** The part of Engine that calibration uses; tests may pass any object with the same shape. */
export interface Representer {
  represent(texts: string[], opts: RepresentOptions, signal?: AbortSignal): Promise<Representation[]>;
}

/** The facts about a bundle that banks and reports record. */
export interface ModelFacts {
  name: string;
  dir: string;
  /** Layers in a representation: numLayers + 1 (layer 0 is the embedding output). */
  layerCount: number;
  hiddenSize: number;
  modelSha256: string;
  targetLayers: number[];
  /** The headline probability is softmax(logitScale · cosine), as explain computes it. */
  logitScale: number;
  representation: Pooling;
  defaultBank: string;
  /** Names of the banks the bundle itself holds (seer.json's map and banks/*.json), not the user's. */
  bundleBanks: string[];
}

export function modelFacts(bundle: LoadedBundle): ModelFacts {
  const m = bundle.manifest;
  return {
    name: m.name,
    dir: bundle.dir,
    layerCount: m.architecture.numLayers + 1,
    hiddenSize: m.architecture.hiddenSize,
    modelSha256: m.modelSha256,
    targetLayers: m.targetLayers,
    logitScale: m.logitScale,
    representation: m.representation,
    defaultBank: m.defaultBank,
    bundleBanks: [...bundle.banks.keys()].filter((name) => !bundle.userBanks.has(name)),
  };
}

/** The layer reports single out, as explain does: the bundle's first target layer. */
export function reportLayer(facts: ModelFacts): number {
  return facts.targetLayers[0] ?? facts.layerCount - 1;
}

/** Rows per represent() call: 256, fewer for big models so a chunk's representations stay under ~64 MiB. */
export function chunkRows(layerBytes = 0): number {
  return Math.max(16, Math.min(256, Math.floor((64 * 2 ** 20) / Math.max(1, layerBytes))));
}

export interface Represented<T> {
  item: T;
  /** Unit-normalised representation per layer. */
  layers: Float32Array[];
  tokenCount: number;
  truncated: boolean;
  /** The last row of its chunk: the moment to report progress. */
  lastInChunk: boolean;
}

/**
 * Runs items through the model a chunk at a time (the engine sorts each chunk by length and batches it),
 * so at most one chunk of representations is alive at once.
 */
export async function* representInChunks<T extends { text: string }>(
  items: AsyncIterable<T>,
  representer: Representer,
  opts: RepresentOptions & { /** Bytes of one row's representation (all layers), to bound a chunk's memory. */ layerBytes?: number },
  signal?: AbortSignal,
): AsyncGenerator<Represented<T>> {
  // Many engine batches per call: the engine sorts a call's texts by length, so a big chunk means little
  // padding (measured: batch 16 is ~2× batch 1 with 256-row chunks, slower than batch 1 with 64-row chunks).
  const chunkSize = Math.max(opts.batchSize ?? 1, chunkRows(opts.layerBytes));
  let chunk: T[] = [];
  const flush = async function* (): AsyncGenerator<Represented<T>> {
    const { layerBytes: _bytes, ...repOpts } = opts;
    const reps = await representer.represent(chunk.map((c) => c.text), repOpts, signal);
    throwIfAborted(signal);
    for (let i = 0; i < chunk.length; i++) {
      const { layers, tokenCount, truncated } = reps[i];
      yield { item: chunk[i], layers: layers.map(unit), tokenCount, truncated, lastInChunk: i === chunk.length - 1 };
    }
    chunk = [];
  };
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= chunkSize) yield* flush();
  }
  if (chunk.length) yield* flush();
}
