// Evaluates a bundle's concept structure on labelled data: nearest-prototype classification per layer
// (prototypes from one part of the data, or from a bank), the paper's cosine measures, the training-time
// two-view metric, beside chance and a TF-IDF baseline (bagOfWords.ts), the same states under a whitened
// read-out (whitenedCentroid.ts), and whether the headline probability is calibrated (reliability.ts).
// Streamed like calibration: each row is run through the model once.
import type { EvaluateParams, Pooling } from '../../../common/protocol';
import type { ConceptBank } from '../bundle';
import { SeerError, throwIfAborted } from '../errors';
import { scoreLayer } from '../scores';
import { BAG_OF_WORDS_RECIPE, TfidfNearestCentroid } from './bagOfWords';
import { accuracy, bestLayerOf, binaryConfusion, emptyConfusion, macroF1, nearestPrototype } from './classification';
import { ConceptSums } from './conceptSums';
import { readDataset } from './datasetReader';
import type { FullEvaluateReport } from './fullReport';
import { type DatasetScan, SINGLETON_REASON, checkSafeConcepts, conceptsWithPairs, requireConceptLimit, requireTwoConcepts, scanDataset, singletonWarning } from './datasetScan';
import { HELD_OUT_MAX, DEFAULT_BATCH_SIZE, type RunOptions, startRun } from './calibrate';
import { type SampledExample, crossViewCosines, pairwiseCosines, prototypeSimilarity, silhouette } from './layerStatistics';
import { ProgressMeter } from './progress';
import { ReliabilityTable } from './reliability';
import { type ModelFacts, type Representer, reportLayer, representInChunks } from './representer';
import { RowAccountant } from './rowAccounting';
import { SelectionSampler, seedFor } from './seededSampling';
import { WhitenedCentroid, whitenedLayers, whitenedSkipped } from './whitenedCentroid';

/** Where the classifying prototypes come from. */
export type PrototypeSource = { kind: 'split' } | { kind: 'bank'; bank: ConceptBank; name: string };

export const DEFAULT_SPLIT = 0.5;

interface Part {
  concept: number;
  /** In the first view (prototype part in split mode). */
  first: boolean;
}

export async function evaluate(
  representer: Representer,
  model: ModelFacts,
  params: EvaluateParams,
  source: PrototypeSource,
  opts: RunOptions = {},
): Promise<FullEvaluateReport> {
  const split = params.split ?? DEFAULT_SPLIT;
  if (!(split > 0 && split < 1)) {
    throw new SeerError('INVALID_ARGUMENT', `The split must be between 0 and 1 (exclusive), got ${split}.`, { fix: { cli: 'Use e.g. --split 0.5.', editor: 'Use e.g. 0.5.' } });
  }
  const seed = params.seed ?? 1;
  if (params.layer !== undefined && !(Number.isInteger(params.layer) && params.layer >= 0 && params.layer < model.layerCount)) {
    throw new SeerError('INVALID_ARGUMENT', `The layer must be from 0 to ${model.layerCount - 1}, got ${params.layer}.`, {
      fix: {
        cli: `Pick a layer 0…${model.layerCount - 1} (0 is the embedding output), or leave --layer out for the target layer.`,
        editor: `Pick a layer 0…${model.layerCount - 1} (0 is the embedding output), or leave the layer unset for the target layer.`,
      },
    });
  }
  // Options are checked before the clock starts: a bad one fails at once.
  const { started, spec, warnings } = startRun(params);
  const scan = await scanDataset(spec, opts.signal);
  const concepts = source.kind === 'bank' ? bankConcepts(spec.path, scan, source, warnings) : splitConcepts(spec, scan, warnings);
  const pooling: Pooling = params.pooling ?? (source.kind === 'bank' ? source.bank.pooling : model.representation);
  const safeConcepts = params.safeConcepts ?? (source.kind === 'bank' ? source.bank.safeConcepts : []);
  checkSafeConcepts(safeConcepts, concepts, source.kind === 'bank' ? `bank "${source.name}"` : spec.path);

  const conceptIndex = new Map(concepts.map((c, i) => [c, i]));
  const countOf = (c: string) => scan.labelCounts.get(c) ?? 0;
  const firstViewSize = (n: number) => (n < 2 ? n : Math.min(n - 1, Math.max(1, Math.round(split * n))));
  const L = model.layerCount;
  const C = concepts.length;
  const viewA = new ConceptSums(concepts, L, model.hiddenSize);
  const viewB = new ConceptSums(concepts, L, model.hiddenSize);
  const confusion = Array.from({ length: L }, () => emptyConfusion(C));
  const sample: SampledExample[] = [];
  const sampler = concepts.map((c) => {
    const nB = countOf(c) - firstViewSize(countOf(c));
    return new SelectionSampler(Math.min(HELD_OUT_MAX, nB), nB, seedFor(seed + 1, c));
  });
  const rows = new RowAccountant();
  const targetLayer = params.layer ?? reportLayer(model);
  const reliability = new ReliabilityTable();
  const total = concepts.reduce((a, c) => a + countOf(c), 0);
  const meter = new ProgressMeter(total, opts.onProgress);
  meter.update(0, 'evaluating');
  const repOpts = { pooling, batchSize: params.batchSize ?? DEFAULT_BATCH_SIZE, layerBytes: 4 * model.layerCount * model.hiddenSize };
  let done = 0;
  let tokens = 0;

  /** The rows for which `want` is true, with their part; every call sees the same split. */
  const parts = async function* (accountant: RowAccountant, want: (p: Part) => boolean) {
    const splitters = concepts.map((c) => new SelectionSampler(firstViewSize(countOf(c)), countOf(c), seedFor(seed, c)));
    for await (const row of readDataset(spec, accountant, { signal: opts.signal })) {
      const concept = conceptIndex.get(row.label);
      if (concept === undefined) {
        accountant.skip(SINGLETON_REASON);
        continue;
      }
      const part = { concept, first: splitters[concept].next() };
      if (want(part)) yield { text: row.text, part };
    }
  };
  /** One streamed pass of the model over the rows for which `want` is true. */
  const pass = async function* (accountant: RowAccountant, want: (p: Part) => boolean) {
    for await (const r of representInChunks(parts(accountant, want), representer, repOpts, opts.signal)) {
      rows.used();
      if (r.truncated) rows.truncatedRow();
      tokens += r.tokenCount;
      done++;
      if (r.lastInChunk) meter.update(done, 'evaluating');
      yield { part: r.item.part, layers: r.layers, text: r.item.text };
    }
  };

  // The bag-of-words reference reads the text only: fitted on the first part before any model work, it then
  // classifies each held-out row as the model pass brings it by.
  const bagOfWords = await TfidfNearestCentroid.fit(async function* () {
    for await (const r of parts(new RowAccountant(), (p) => p.first)) yield { text: r.text, concept: r.part.concept };
  }, C);
  const bagConfusion = emptyConfusion(C);
  const classifyByWords = (concept: number, text: string) => {
    const predicted = bagOfWords.predict(text);
    if (predicted >= 0) bagConfusion[concept][predicted]++;
  };

  const classify = (concept: number, layers: Float32Array[], prototypes: Float32Array[][]) => {
    for (let l = 0; l < L; l++) confusion[l][concept][nearestPrototype(layers[l], prototypes[l])]++;
    // The headline probability at the reported layer, as explain computes it.
    const headline = scoreLayer(targetLayer, layers[targetLayer], prototypes[targetLayer], model.logitScale);
    reliability.add(headline.probs[headline.predicted], headline.predicted === concept);
  };
  const addSecondView = (concept: number, layers: Float32Array[]) => {
    viewB.add(concept, layers);
    if (sampler[concept].next()) sample.push({ concept, layers });
  };

  // The whitened read-out needs the prototype part before any held-out row: split mode only.
  const readLayers = source.kind === 'split' ? whitenedLayers(L, model.hiddenSize, targetLayer) : 'with a bank the model classifies every row: evaluate with a split (no bank) to see it';
  const whitened = typeof readLayers === 'string' ? undefined : new WhitenedCentroid(readLayers, model.hiddenSize, C);

  let prototypes: Float32Array[][];
  if (source.kind === 'split') {
    // Pass 1 builds prototypes from the first part; pass 2 classifies the second part against them.
    for await (const r of pass(rows, (p) => p.first)) {
      viewA.add(r.part.concept, r.layers);
      whitened?.add(r.part.concept, r.layers);
    }
    prototypes = Array.from({ length: L }, (_, l) => viewA.prototypes(l));
    for await (const r of pass(new RowAccountant(), (p) => !p.first)) {
      classify(r.part.concept, r.layers, prototypes);
      classifyByWords(r.part.concept, r.text);
      whitened?.classify(r.part.concept, r.layers);
      addSecondView(r.part.concept, r.layers);
    }
  } else {
    prototypes = source.bank.layers.map((l) => l.prototypes);
    for await (const r of pass(rows, () => true)) {
      classify(r.part.concept, r.layers, prototypes);
      if (r.part.first) viewA.add(r.part.concept, r.layers);
      else {
        addSecondView(r.part.concept, r.layers);
        classifyByWords(r.part.concept, r.text);
      }
    }
  }
  throwIfAborted(opts.signal);

  const all = new ConceptSums(concepts, L, model.hiddenSize);
  all.addAll(viewA);
  all.addAll(viewB);
  const safe = new Set(safeConcepts.map((s) => conceptIndex.get(s)!));
  const perLayer = confusion.map((m, l) => {
    const binary = safe.size ? accuracy(binaryConfusion(m, safe)) : undefined;
    return {
      layer: l,
      accuracy: accuracy(m),
      macroF1: macroF1(m),
      ...pairwiseCosines(all, l),
      silhouette: silhouette(all, l, sample),
      ...crossViewCosines(viewA, viewB, l),
      ...(binary === undefined ? {} : { binaryAccuracy: binary }),
    };
  });
  const bestLayer = bestLayerOf(perLayer);
  const support = confusion[0].map((row) => row.reduce((a, b) => a + b, 0));
  const bagRows = bagConfusion.flat().reduce((a, b) => a + b, 0);
  if (source.kind === 'bank') {
    warnings.push(
      `The TF-IDF baseline needs training rows: it was fitted on ${bagOfWords.trainingRows} rows (the first part of the split) and tested on the other ${bagRows}, ` +
        `while the bank classified all ${support.reduce((a, b) => a + b, 0)}.`,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  const acct = rows.snapshot();
  return {
    bundle: { name: model.name, dir: model.dir },
    label: `${model.name} · ${source.kind === 'bank' ? `bank ${source.name}` : `split ${split}`}`,
    prototypeSource: source.kind,
    ...(source.kind === 'bank' ? { bank: source.name } : {}),
    pooling,
    split,
    seed,
    dataset: spec.path,
    concepts,
    support,
    targetLayer,
    bestLayer,
    rows: acct,
    perLayer,
    confusionBest: confusion[bestLayer],
    confusionTarget: confusion[targetLayer],
    ...(safe.size
      ? { binaryConfusionBest: binaryConfusion(confusion[bestLayer], safe), binaryConfusionTarget: binaryConfusion(confusion[targetLayer], safe) }
      : {}),
    prototypeSimilarityTarget: prototypeSimilarity(prototypes[targetLayer]),
    safeConcepts,
    seconds,
    examplesPerSecond: done / seconds,
    tokensPerSecond: tokens / seconds,
    warnings,
    baselines: {
      uniformChance: 1 / C,
      majority: majorityBaseline(concepts, support),
      tfidf: {
        accuracy: accuracy(bagConfusion),
        macroF1: macroF1(bagConfusion),
        trainingRows: bagOfWords.trainingRows,
        rowsClassified: bagRows,
        vocabulary: bagOfWords.vocabularySize,
        recipe: BAG_OF_WORDS_RECIPE,
      },
    },
    reliability: { layer: targetLayer, logitScale: model.logitScale, ece: reliability.expectedCalibrationError(), rows: reliability.rows, bins: reliability.bins() },
    whitened: whitened ? whitened.report() : whitenedSkipped(readLayers as string),
  };
}

/** Always answering the most frequent concept of the classified rows (the first of equals). */
function majorityBaseline(concepts: string[], support: number[]): { concept: string; accuracy: number } {
  const total = support.reduce((a, b) => a + b, 0);
  const top = support.indexOf(Math.max(...support));
  return { concept: concepts[top], accuracy: total ? support[top] / total : NaN };
}

function splitConcepts(spec: { path: string; labelColumn: string; textColumns: string[] }, scan: DatasetScan, warnings: string[]): string[] {
  const { concepts, singletons } = conceptsWithPairs(scan);
  requireTwoConcepts(spec, scan, concepts);
  requireConceptLimit(spec, concepts);
  if (singletons.length) warnings.push(singletonWarning(singletons));
  return concepts;
}

/** The bank fixes the label set: every label in the data must be one of its concepts. */
function bankConcepts(file: string, scan: DatasetScan, source: { bank: ConceptBank; name: string }, warnings: string[]): string[] {
  const concepts = source.bank.concepts;
  const unknown = [...scan.labelCounts.keys()].filter((l) => !concepts.includes(l));
  if (unknown.length) {
    const shown = unknown.slice(0, 10).map((u) => `"${u}"`).join(', ') + (unknown.length > 10 ? ` and ${unknown.length - 10} more` : '');
    throw new SeerError(
      'LABELS_MISMATCH',
      `${file} has labels that bank "${source.name}" does not know: ${shown}. The bank's concepts are: ${concepts.join(', ')}.`,
      {
        file,
        fix: {
          cli: 'Evaluate with a bank calibrated on these labels (--bank NAME), drop --bank to build prototypes from the data, or filter the rows.',
          editor: 'Evaluate with a bank calibrated on these labels, or without a bank to build prototypes from the data, or filter the rows.',
        },
      },
    );
  }
  const absent = concepts.filter((c) => !scan.labelCounts.has(c));
  if (absent.length) warnings.push(`Bank concept(s) with no rows in the data (never the true label): ${absent.join(', ')}.`);
  return concepts;
}
