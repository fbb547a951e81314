// Generation with a live explanation (issue 13 items 3-4): the model writes one token at a time, and each step
// carries its concept profile — the bank's concept probabilities at the target layer, read at the last token of
// the text so far, i.e. the state the next token is chosen from. Steering adds STRENGTH × a concept's unit
// prototype to the residual stream at the target layer (the graph's `steering` input, docs/bundle-format.md).
// A bundle whose graph has a KV cache (seer.json onnx.kvCache: imported models) runs only each new token, the
// earlier tokens' keys and values staying in the forward worker; without one every step re-runs the whole prefix
// (cheap for the default bundle, quadratic in the length for big models). Either way the step model returns the
// same logits and states (modelSession.ts: ModelSession.sequence; engine.ts: Engine.generate).
import type { GenerateParams, Generation, GenerationStep, SteeringTerm, StopReason } from '../../common/protocol';
import type { ConceptBank } from './bundle/bank';
import { mulberry32 } from './calibration/seededSampling';
import { SeerError } from './errors';
import { LIMITS } from './limits';
import { scoreLayer } from './scores';

// The shapes a generation takes are the protocol's (common/protocol.ts): the CLI's JSON and the panel's messages.
export type { Generation, GenerationStep, SteeringTerm, StopReason };

/** The protocol's seer/generate settings (common/protocol.ts GenerateParams: temperature 0 = greedy; the same
 * seed, prompt and options give the same tokens; bank defaults to the bundle's), plus a signal that stops the
 * generation between two steps, keeping the tokens so far (stopReason "cancelled"). */
export type GenerateOptions = Omit<GenerateParams, 'text' | 'progressToken'> & { signal?: AbortSignal };

/** What one step needs from the model: the next-token logits and the target layer's state at the last token.
 * Each call's ids extend the previous call's (so a model may cache the prefix); release() ends the generation. */
export interface StepModel {
  next(ids: number[]): Promise<{ logits: Float32Array; state: Float32Array }>;
  release?(): Promise<void>;
  eosId: number;
  maxContext: number;
  tokenText(id: number): string;
  decode(ids: number[]): string;
}

/** The bank's prototypes at the target layer and the logit scale: how a state becomes a concept profile. */
export interface ConceptReader {
  bank: ConceptBank;
  layer: number;
  logitScale: number;
}

/** The sampling options by name, for an error message (the CLI names its flags). */
export type GenerateOptionNames = Record<'maxNewTokens' | 'temperature' | 'topP' | 'seed', string>;

/** Checks the sampling options (the steering terms are checked by steeringVector). */
export function checkGenerateOptions(o: GenerateOptions, names?: GenerateOptionNames): void {
  const bad = (option: keyof GenerateOptionNames, value: unknown, allowed: string) => {
    const name = names?.[option] ?? option;
    return new SeerError('INVALID_ARGUMENT', `${name} is ${String(value)}; it must be ${allowed}.`, { fix: `Set ${name} to ${allowed}.` });
  };
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1 || o.maxNewTokens > LIMITS.maxTokens) throw bad('maxNewTokens', o.maxNewTokens, `an integer from 1 to ${LIMITS.maxTokens}`);
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature >= 0)) throw bad('temperature', o.temperature, 'a number ≥ 0 (0: greedy)');
  if (o.topP !== undefined && !(Number.isFinite(o.topP) && o.topP > 0 && o.topP <= 1)) throw bad('topP', o.topP, 'a number in (0, 1]');
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= LIMITS.seed)) throw bad('seed', o.seed, `an integer from 0 to ${LIMITS.seed}`);
}

/**
 * The steering input [numLayers+1, hidden]: each term's strength × its concept's unit prototype, added at the
 * target layer only. One layer because that is where the bank's prototypes were measured (a direction of layer
 * l's space means nothing at another layer), and because the residual stream carries an addition forward to the
 * layers after it: adding at several layers would compound. Undefined without terms (the model's own zero
 * input is then used).
 */
export function steeringVector(reader: ConceptReader, terms: readonly SteeringTerm[], numLayers: number, hiddenSize: number): Float32Array | undefined {
  const { bank, layer } = reader;
  for (const t of terms) {
    if (!bank.concepts.includes(t.concept)) {
      throw new SeerError('INVALID_ARGUMENT', `Cannot steer toward "${t.concept}": the bank "${bank.name}" has no such concept (it has ${bank.concepts.join(', ')}).`, {
        fix: {
          cli: 'Steer with one of the listed concepts, or pick another bank with --bank.',
          editor: 'Steer with one of the listed concepts, or pick another bank (seer.bank).',
        },
      });
    }
    if (!Number.isFinite(t.strength)) {
      throw new SeerError('INVALID_ARGUMENT', `The steering strength for "${t.concept}" is ${String(t.strength)}; it must be a finite number.`, {
        fix: 'Give a number such as 4 (toward the concept) or -4 (away from it).',
      });
    }
  }
  if (terms.length === 0) return undefined;
  const vector = new Float32Array((numLayers + 1) * hiddenSize);
  const at = layer * hiddenSize;
  for (const t of terms) {
    const prototype = bank.layers[layer].prototypes[bank.concepts.indexOf(t.concept)];
    for (let h = 0; h < hiddenSize; h++) vector[at + h] += t.strength * prototype[h];
  }
  return vector;
}

/**
 * Chooses the next token from logits: the argmax when temperature is 0 (ties: the lowest id), otherwise a draw
 * from the nucleus (the most probable tokens whose probabilities reach topP) of softmax(logits / temperature),
 * with a seeded PRNG so that a seed reproduces a run.
 */
export function tokenChooser(temperature = 0, topP = 1, seed = 0): (logits: Float32Array) => number {
  if (temperature === 0) return argmax;
  const random = mulberry32(seed);
  return (logits) => {
    const max = logits[argmax(logits)];
    const weights = Array.from(logits, (l) => Math.exp((l - max) / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    const order = weights.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
    let kept = 0;
    let mass = 0;
    while (kept < order.length && (kept === 0 || mass < topP * total)) mass += weights[order[kept++]];
    let r = random() * mass;
    for (let i = 0; i < kept; i++) {
      r -= weights[order[i]];
      if (r < 0) return order[i];
    }
    return order[kept - 1];
  };
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Generates after `promptIds`, one step per token, handing each step to `onStep` as it is made. Stops at the
 * model's eos (not included), after maxNewTokens, when the context is full, or when the signal aborts (the steps
 * so far are kept and returned). The model is released however the generation ends.
 */
export async function generate(
  model: StepModel,
  reader: ConceptReader,
  promptIds: readonly number[],
  options: GenerateOptions,
  onStep?: (step: GenerationStep, index: number) => void,
): Promise<Generation> {
  const choose = tokenChooser(options.temperature, options.topP, options.seed ?? Math.floor(Math.random() * LIMITS.seed));
  const prototypes = reader.bank.layers[reader.layer].prototypes;
  const ids = [...promptIds];
  const steps: GenerationStep[] = [];
  const done = (stopReason: StopReason): Generation => ({
    text: model.decode(ids.slice(promptIds.length)),
    concepts: reader.bank.concepts,
    steps,
    stopReason,
  });
  try {
    while (steps.length < options.maxNewTokens) {
      if (ids.length >= model.maxContext) return done('context');
      if (options.signal?.aborted) return done('cancelled');
      const { logits, state } = await model.next(ids);
      // Cancelled while this step ran: stop now, as the user asked, rather than add a token after the fact.
      if (options.signal?.aborted) return done('cancelled');
      const id = choose(logits);
      if (id === model.eosId) return done('eos');
      const scores = scoreLayer(reader.layer, state, prototypes, reader.logitScale);
      const step = { token: model.tokenText(id), id, concept: reader.bank.concepts[scores.predicted], probs: scores.probs };
      ids.push(id);
      steps.push(step);
      onStep?.(step, steps.length - 1);
    }
    return done('max-new-tokens');
  } finally {
    await model.release?.();
  }
}

/** The mean probability of `concept` over a generation's steps (NaN when it has none): what steering moves. */
export function meanProbability(g: Pick<Generation, 'concepts' | 'steps'>, concept: string): number {
  const k = g.concepts.indexOf(concept);
  return g.steps.reduce((sum, s) => sum + s.probs[k], 0) / g.steps.length;
}
