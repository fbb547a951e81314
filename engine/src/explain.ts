// Assembles an ExplainResult for one prompt from its row of a forward pass: per-layer scores against the
// bank, the headline at the target layer with its trajectory, the token × concept matrix, next tokens.
import { randomUUID } from 'node:crypto';
import type { ExplainResult, LayerScores, NextToken, Pooling, ProviderReport } from '../../common/protocol';
import { type ConceptBank, poolingWarning } from './bundle/bank';
import type { LoadedBundle } from './bundle/index';
import type { EncodedPrompt } from './bundle/tokenizer';
import type { ForwardOutput, TopTokens } from './runtime/modelSession';
import { lowConfidence } from './lowConfidence';
import { scoreCosines } from './scores';

export interface ResolvedOptions {
  pooling: Pooling;
  bank: ConceptBank;
  /** Scored layers, increasing. */
  layers: number[];
  tokenLayers: number[];
  topNextTokens: number;
}

export interface RowContext {
  text: string;
  encoded: EncodedPrompt;
  out: ForwardOutput;
  row: number;
  provider: ProviderReport;
  timingsMs: { tokenize: number; forward: number };
}

export function buildExplainResult(bundle: LoadedBundle, opts: ResolvedOptions, ctx: RowContext): ExplainResult {
  const started = performance.now();
  const { manifest } = bundle;
  const { bank } = opts;
  const targetLayer = manifest.targetLayers[0];

  const scoreAt = (layer: number): LayerScores => scoreCosines(layer, readOutCosines(ctx.out, layer, ctx.row, bank.concepts.length), manifest.logitScale);
  const layers = opts.layers.map(scoreAt);
  const target = layers.find((l) => l.layer === targetLayer) ?? scoreAt(targetLayer);
  const concept = target.predicted;
  // Far from every concept seen in calibration (the bank's own statistic at the target layer): say so.
  const low = lowConfidence(target, bank.layers[targetLayer].stats);
  const withLowConfidence = low ? { lowConfidence: low } : {};

  const tokenScores = tokenScoresOf(ctx.out, ctx.row, opts.tokenLayers.length, bank.concepts.length, ctx.encoded.ids.length);
  const score = performance.now() - started;

  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    text: ctx.text,
    templatedText: ctx.encoded.templatedText,
    tokens: ctx.encoded.tokens,
    truncation: ctx.encoded.truncation,
    pooling: opts.pooling,
    readOut: opts.pooling === 'mean' ? null : ctx.out.positions[ctx.row],
    bank: bank.name,
    concepts: bank.concepts,
    safeConcepts: bank.safeConcepts,
    targetLayer,
    logitScale: manifest.logitScale,
    ...(opts.pooling !== bank.pooling && { warnings: [poolingWarning(bank.name, bank.pooling, opts.pooling)] }),
    layers,
    headline: {
      concept: bank.concepts[concept],
      conceptIndex: concept,
      confidence: target.probs[concept],
      margin: target.margin,
      layer: targetLayer,
      safe: bank.safetyKnown ? bank.safeConcepts.includes(bank.concepts[concept]) : null,
      trajectory: layers.map((l) => l.probs[concept]),
      ...withLowConfidence,
    },
    tokenScoreLayers: opts.tokenLayers,
    tokenScores,
    bankStats: bank.layers.map((l) => l.stats),
    nextTokens: nextTokens(ctx.out.top, ctx.row, (id) => bundle.tokenizer.tokenText(id)),
    provider: resultProvider(ctx.provider),
    timingsMs: { ...ctx.timingsMs, score, total: ctx.timingsMs.tokenize + ctx.timingsMs.forward + score },
    bundle: { name: manifest.name, dir: bundle.dir },
  };
}

/** Row `row`'s representation's cosines with `layer`'s concept prototypes: the forward pass reduced them (ForwardRequest.readOut). */
function readOutCosines(out: ForwardOutput, layer: number, row: number, concepts: number): number[] {
  const at = (layer * out.batch + row) * concepts;
  return Array.from(out.readOutCosines!.subarray(at, at + concepts));
}

/**
 * Row `row`'s token × concept matrix per token layer: the forward pass reduced every token's state at exactly the
 * token layers (engine.ts), in order, to its cosines with the bank's `concepts` prototypes there (tokenPrototypes,
 * runtime/reductions.ts). Rounded to 6 decimals (TOKEN_SCORE_SCALE): computed in float32, their digits past that are noise, and
 * as JSON they are most of a result (a 512-token prompt at the default model's 9 layers: 955 of 1,040 KB; rounded,
 * the result is 518 KB and its JSON.stringify + parse took 5.7 ms instead of 13.6–20.6 on this machine).
 */
export function tokenScoresOf(out: ForwardOutput, row: number, tokenLayers: number, concepts: number, tokens: number): number[][][] {
  const cosines = out.tokenCosines!;
  return Array.from({ length: tokenLayers }, (_, j) => {
    const matrix = new Array<number[]>(tokens);
    for (let t = 0; t < tokens; t++) {
      const at = ((j * out.batch + row) * out.seq + t) * concepts;
      // Copied value by value: a subarray view per token (and Array.from's iteration of it) cost more than the copy.
      const scores = new Array<number>(concepts);
      for (let c = 0; c < concepts; c++) scores[c] = Math.round(cosines[at + c] * TOKEN_SCORE_SCALE) / TOKEN_SCORE_SCALE;
      matrix[t] = scores;
    }
    return matrix;
  });
}

/**
 * The token view's resolution, 1e-6: float32 cosines near 1 are good to about 1e-7; the panel shows three decimals.
 * Divided by (not multiplied by 1e-6, which is inexact), so that each is the double nearest its 6-decimal value and
 * JSON writes it in at most 9 characters.
 */
export const TOKEN_SCORE_SCALE = 1e6;

/** The provider report a result carries: its own copy of the top level (the engine's report changes as it runs). */
export function resultProvider(report: ProviderReport): ProviderReport {
  return { ...report, attempts: [...report.attempts] };
}

/** Row `row`'s most probable next tokens (the forward pass's topTokens; probabilities over the full vocabulary). */
export function nextTokens(top: TopTokens | undefined, row: number, text: (id: number) => string): NextToken[] {
  if (!top) return [];
  const out: NextToken[] = [];
  for (let i = row * top.k; i < (row + 1) * top.k; i++) {
    out.push({ id: top.ids[i], text: text(top.ids[i]), prob: Math.exp(top.logits[i] - top.logSumExp[row]) });
  }
  return out;
}
