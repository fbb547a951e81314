// Builds a concept bank from a labelled dataset in one streamed model pass (the statistics: bankBuilder.ts).
// Nothing is written here: see bankFile.ts.
import type { CalibrateParams, CalibrateResult, DatasetSpec, Pooling } from '../../../common/protocol';
import type { ConceptBank } from '../bundle';
import { throwIfAborted } from '../errors';
import { BankBuilder, DEFAULT_HELD_OUT_FRACTION, DEFAULT_SEED } from './bankBuilder';
import { type ConceptMap, ConceptMapSampler } from './conceptMap';
import { readDataset } from './datasetReader';
import { SINGLETON_REASON, checkSafeConcepts, conceptsWithPairs, requireConceptLimit, requireTwoConcepts, scanDataset, singletonWarning } from './datasetScan';
import { ProgressMeter, type ProgressListener } from './progress';
import { type ModelFacts, type Representer, reportLayer, representInChunks } from './representer';
import { RowAccountant } from './rowAccounting';

export { DEFAULT_HELD_OUT_FRACTION, HELD_OUT_MAX } from './bankBuilder';
export const DEFAULT_BATCH_SIZE = 16;

export interface CalibrationOutcome {
  bank: ConceptBank;
  /** The bank's 2-D concept map at the report layer, saved beside it (conceptMap.ts). */
  conceptMap: ConceptMap;
  result: Omit<CalibrateResult, 'bankPath'>;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** What a pass over a dataset (calibrate, evaluate) starts with: the clock, the dataset's columns, no warnings. */
export function startRun(params: DatasetSpec): { started: number; spec: DatasetSpec; warnings: string[] } {
  return { started: Date.now(), spec: { path: params.path, textColumns: params.textColumns, labelColumn: params.labelColumn }, warnings: [] };
}

export async function calibrate(
  representer: Representer,
  model: ModelFacts,
  params: CalibrateParams,
  opts: RunOptions = {},
): Promise<CalibrationOutcome> {
  const { started, spec, warnings } = startRun(params);
  const pooling: Pooling = params.pooling ?? model.representation;

  const scan = await scanDataset(spec, opts.signal);
  const { concepts, singletons } = conceptsWithPairs(scan);
  requireTwoConcepts(spec, scan, concepts);
  requireConceptLimit(spec, concepts);
  if (singletons.length) warnings.push(singletonWarning(singletons));
  // Without a safe list, safety is unknown: no concept is called safe or unsafe.
  const safetyKnown = params.safeConcepts !== undefined;
  const safeConcepts = params.safeConcepts ?? [];
  checkSafeConcepts(safeConcepts, concepts, spec.path);

  // The statistics' definition (held-out split, prototypes, measures) lives in bankBuilder.ts.
  const builder = new BankBuilder(
    concepts,
    concepts.map((c) => scan.labelCounts.get(c)!),
    model.layerCount,
    model.hiddenSize,
    { fraction: params.heldOutFraction ?? DEFAULT_HELD_OUT_FRACTION, seed: params.seed ?? DEFAULT_SEED },
  );
  const mapSampler = new ConceptMapSampler(concepts, concepts.map((c) => scan.labelCounts.get(c)!), reportLayer(model), params.seed ?? DEFAULT_SEED);
  const conceptIndex = new Map(concepts.map((c, i) => [c, i]));
  const rows = new RowAccountant();
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
    builder.add(r.item.concept, r.layers);
    mapSampler.add(r.item.concept, r.item.text, r.layers);
    done++;
    if (r.lastInChunk) meter.update(done, 'calibrating');
  }
  throwIfAborted(opts.signal);
  const layers = builder.layers();

  const acct = rows.snapshot();
  const bank: ConceptBank = {
    name: params.bankName ?? 'custom',
    modelSha256: model.modelSha256,
    numLayers: model.layerCount - 1,
    hiddenSize: model.hiddenSize,
    pooling,
    concepts,
    safeConcepts,
    safetyKnown,
    source: { dataset: spec.path, rowsUsed: acct.rowsUsed, rowsSkipped: acct.rowsSkipped, skipped: acct.skipped },
    layers,
  };
  meter.update(done, 'projecting the concept map'); // UMAP: a few seconds for 400 examples
  const conceptMap = mapSampler.build(bank);
  const seconds = (Date.now() - started) / 1000;
  return {
    bank,
    conceptMap,
    result: {
      warnings,
      bank: { name: bank.name, concepts, safeConcepts, safetyKnown, pooling, stats: layers.map((l) => l.stats) },
      rows: acct,
      seconds,
      examplesPerSecond: done / seconds,
      tokensPerSecond: tokens / seconds,
    },
  };
}
