// Builds a concept bank from a labelled dataset in one streamed model pass. Memory: running sums per concept
// and layer, plus a held-out sample of at most HELD_OUT_MAX rows per concept (for held-out accuracy and the
// silhouette); no other hidden state is kept. Nothing is written here: see bankFile.ts.
import type { CalibrateParams, CalibrateResult, LayerStats, Pooling } from '../../../common/protocol';
import type { BankLayer, ConceptBank } from '../bundle';
import { throwIfAborted } from '../errors';
import { accuracy, emptyConfusion, nearestPrototype } from './classification';
import { ConceptSums } from './conceptSums';
import { readDataset } from './datasetReader';
import { SINGLETON_REASON, checkSafeConcepts, conceptsWithPairs, requireTwoConcepts, scanDataset, singletonWarning } from './datasetScan';
import { type SampledExample, pairwiseCosines, prototypeSimilarity, silhouette } from './layerStatistics';
import { ProgressMeter, type ProgressListener } from './progress';
import { type ModelFacts, type Representer, representInChunks } from './representer';
import { RowAccountant } from './rowAccounting';
import { SelectionSampler, seedFor } from './seededSampling';

/** Held-out rows per concept (bounded: these are the only representations kept in memory). */
export const HELD_OUT_MAX = 64;
export const DEFAULT_HELD_OUT_FRACTION = 0.2;
export const DEFAULT_BATCH_SIZE = 16;

export interface CalibrationOutcome {
  bank: ConceptBank;
  result: Omit<CalibrateResult, 'bankPath'>;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export async function calibrate(
  representer: Representer,
  model: ModelFacts,
  params: CalibrateParams,
  opts: RunOptions = {},
): Promise<CalibrationOutcome> {
  const started = Date.now();
  const spec = { path: params.path, textColumns: params.textColumns, labelColumn: params.labelColumn };
  const pooling: Pooling = params.pooling ?? model.representation;
  const seed = params.seed ?? 1;
  const warnings: string[] = [];

  const scan = await scanDataset(spec, opts.signal);
  const { concepts, singletons } = conceptsWithPairs(scan);
  requireTwoConcepts(spec, scan, concepts);
  if (singletons.length) warnings.push(singletonWarning(singletons));
  const safeConcepts = params.safeConcepts ?? [];
  checkSafeConcepts(safeConcepts, concepts, spec.path);

  // Held-out rows per concept: a fixed-size uniform sample, chosen as rows stream past; at least one row
  // of every concept stays in the prototype part.
  const fraction = params.heldOutFraction ?? DEFAULT_HELD_OUT_FRACTION;
  const heldOutPicker = concepts.map((c) => {
    const n = scan.labelCounts.get(c)!;
    const k = Math.min(HELD_OUT_MAX, Math.floor(n * fraction), n - 1);
    return new SelectionSampler(k, n, seedFor(seed, c));
  });

  const conceptIndex = new Map(concepts.map((c, i) => [c, i]));
  const rows = new RowAccountant();
  const train = new ConceptSums(concepts, model.layerCount, model.hiddenSize);
  const heldOut: SampledExample[] = [];
  const total = concepts.reduce((a, c) => a + scan.labelCounts.get(c)!, 0);
  const meter = new ProgressMeter(total, opts.onProgress);
  let done = 0;
  let tokens = 0;

  const usable = async function* () {
    for await (const row of readDataset(spec, rows, { signal: opts.signal })) {
      const concept = conceptIndex.get(row.label);
      if (concept === undefined) rows.skip(SINGLETON_REASON);
      else yield { text: row.text, concept };
    }
  };
  meter.update(0, 'calibrating');
  const repOpts = { pooling, batchSize: params.batchSize ?? DEFAULT_BATCH_SIZE, layerBytes: 4 * model.layerCount * model.hiddenSize };
  for await (const r of representInChunks(usable(), representer, repOpts, opts.signal)) {
    rows.used();
    if (r.truncated) rows.truncatedRow();
    tokens += r.tokenCount;
    if (heldOutPicker[r.item.concept].next()) heldOut.push({ concept: r.item.concept, layers: r.layers });
    else train.add(r.item.concept, r.layers);
    done++;
    if (r.lastInChunk) meter.update(done, 'calibrating');
  }
  throwIfAborted(opts.signal);

  // Held-out accuracy uses prototypes without the held-out rows; the bank's prototypes then use every row.
  const heldOutAccuracy = Array.from({ length: model.layerCount }, (_, l) => {
    const protos = train.prototypes(l);
    const confusion = emptyConfusion(concepts.length);
    for (const ex of heldOut) confusion[ex.concept][nearestPrototype(ex.layers[l], protos)]++;
    return accuracy(confusion);
  });
  const all = train;
  for (const ex of heldOut) all.add(ex.concept, ex.layers);

  const layers: BankLayer[] = Array.from({ length: model.layerCount }, (_, l) => {
    const prototypes = all.prototypes(l);
    const stats: LayerStats = {
      layer: l,
      ...pairwiseCosines(all, l),
      silhouette: heldOut.length ? silhouette(all, l, heldOut) : undefined,
      heldOutAccuracy: heldOut.length ? heldOutAccuracy[l] : undefined,
      prototypeSimilarity: prototypeSimilarity(prototypes),
      counts: [...all.counts],
    };
    return { layer: l, prototypes, stats };
  });

  const acct = rows.snapshot();
  const bank: ConceptBank = {
    name: params.bankName ?? 'custom',
    modelSha256: model.modelSha256,
    numLayers: model.layerCount - 1,
    hiddenSize: model.hiddenSize,
    pooling,
    concepts,
    safeConcepts,
    source: { dataset: spec.path, rowsUsed: acct.rowsUsed, rowsSkipped: acct.rowsSkipped, skipped: acct.skipped },
    layers,
  };
  const seconds = (Date.now() - started) / 1000;
  return {
    bank,
    result: {
      warnings,
      bank: { name: bank.name, concepts, safeConcepts, pooling, stats: layers.map((l) => l.stats) },
      rows: acct,
      seconds,
      examplesPerSecond: done / seconds,
      tokensPerSecond: tokens / seconds,
    },
  };
}
