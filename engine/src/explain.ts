// Assembles an ExplainResult for one prompt from its row of a forward pass: per-layer scores against the
// bank, the headline at the target layer with its trajectory, the token × concept matrix, next tokens.
import { randomUUID } from 'node:crypto';
import type { ExplainResult, LayerScores, NextToken, Pooling, ProviderReport } from '../../common/protocol';
import { type ConceptBank, poolingWarning } from './bundle/bank';
import type { LoadedBundle } from './bundle/index';
import type { EncodedPrompt } from './bundle/tokenizer';
import { pooled, tokenStateOffset } from './representation';
import type { ForwardOutput } from './runtime/modelSession';
import { lowConfidence } from './lowConfidence';
import { cosineToAll, scoreLayer } from './scores';
import { norm } from './vectors';

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
  const { hiddenSize } = manifest.architecture;
  const { bank } = opts;
  const targetLayer = manifest.targetLayers[0];

  const scoreAt = (layer: number): LayerScores =>
    scoreLayer(layer, pooled(ctx.out, hiddenSize, layer, ctx.row), bank.layers[layer].prototypes, manifest.logitScale);
  const layers = opts.layers.map(scoreAt);
  const target = layers.find((l) => l.layer === targetLayer) ?? scoreAt(targetLayer);
  const concept = target.predicted;
  // Far from every concept seen in calibration (the bank's own statistic at the target layer): say so.
  const low = lowConfidence(target, bank.layers[targetLayer].stats);
  const withLowConfidence = low ? { lowConfidence: low } : {};

  // The forward pass fetched every token's state at exactly these layers (engine.ts), in this order.
  const tokenScores = opts.tokenLayers.map((layer, j) => {
    const prototypes = bank.layers[layer].prototypes;
    const norms = prototypes.map((p) => norm(p));
    return ctx.encoded.ids.map((_, t) => cosineToAll(ctx.out.tokenStates, tokenStateOffset(ctx.out, hiddenSize, j, ctx.row, t), prototypes, norms));
  });

  const vocab = manifest.architecture.vocabSize;
  const logits = ctx.out.lastLogits!.subarray(ctx.row * vocab, (ctx.row + 1) * vocab);
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
    nextTokens: topNextTokens(logits, opts.topNextTokens, (id) => bundle.tokenizer.tokenText(id)),
    provider: { ...ctx.provider, attempts: [...ctx.provider.attempts] },
    timingsMs: { ...ctx.timingsMs, score, total: ctx.timingsMs.tokenize + ctx.timingsMs.forward + score },
    bundle: { name: manifest.name, dir: bundle.dir },
  };
}

/** The k most probable next tokens (probabilities from a softmax over the full vocabulary). */
export function topNextTokens(logits: Float32Array, k: number, text: (id: number) => string): NextToken[] {
  let max = -Infinity;
  for (let id = 0; id < logits.length; id++) if (logits[id] > max) max = logits[id];
  let sum = 0;
  for (let id = 0; id < logits.length; id++) sum += Math.exp(logits[id] - max);
  // Top k by logit (the same order as by probability), kept sorted by insertion.
  const top: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    if (top.length < k || logits[id] > logits[top[top.length - 1]]) {
      let at = top.length < k ? top.length : k - 1;
      top[at] = id;
      while (at > 0 && logits[top[at]] > logits[top[at - 1]]) {
        [top[at], top[at - 1]] = [top[at - 1], top[at]];
        at--;
      }
    }
  }
  return top.map((id) => ({ id, text: text(id), prob: Math.exp(logits[id] - max) / sum }));
}
