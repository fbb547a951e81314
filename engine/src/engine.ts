// The SEER engine: loads and validates a bundle, opens the model on an execution provider, and turns prompts
// into explanations (explain/explainBatch) or raw per-layer representations (represent, for calibration).
// Forward passes are serialised: one at a time keeps latency predictable and memory bounded.
import type { EngineConfig, ExplainOptions, ExplainResult, LoadResult, Pooling, TruncationSide } from '../../common/protocol';
import { type BatchLimits, DEFAULT_LIMITS, planBatches } from './batching';
import { bankInfo, bundleInfo, defaultUserBankRoot, type EncodedPrompt, loadBundle, type LoadedBundle } from './bundle/index';
import { SeerError, throwIfAborted } from './errors';
import { buildExplainResult, type ResolvedOptions } from './explain';
import { LIMITS } from './limits';
import { pool } from './representation';
import { ModelSession, type ForwardOutput } from './runtime/modelSession';

export interface Representation {
  layers: Float32Array[];
  tokenCount: number;
  truncated: boolean;
}

/** A representation with the token ids the model read: the prompt template applied, after truncation. */
export interface TokenizedRepresentation extends Representation {
  ids: number[];
}

export interface RepresentOptions {
  pooling: Pooling;
  maxTokens?: number;
  truncation?: TruncationSide;
  batchSize?: number;
}

/** How runBatches tokenizes, batches and runs a list of prompts. */
interface BatchRun {
  maxPrompt: number;
  side: TruncationSide;
  wantLogits: boolean;
  limits: BatchLimits;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const DEFAULT_TOP_NEXT = 5;
/** Too-long prompts lose their end by default, as in the trainer's calibration (seer_trainer/batching.py). */
const DEFAULT_TRUNCATION: TruncationSide = 'right';

export class Engine {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly bundle: LoadedBundle,
    private readonly model: ModelSession,
    readonly info: LoadResult,
  ) {}

  static async load(config: EngineConfig, log: (line: string) => void = () => undefined): Promise<Engine> {
    const started = performance.now();
    // The user's calibrated banks: $XDG_DATA_HOME/seer/banks unless the host names its own folder.
    const bundle = await loadBundle(config.bundleDir, { userBankDir: config.userBankDir ?? defaultUserBankRoot(), onWarning: log });
    const model = await ModelSession.open(bundle.manifest, bundle.modelFile, config.provider, { intraOpThreads: config.intraOpThreads });
    const report = model.report;
    for (const a of report.attempts) log(`provider ${a.provider}: ${a.ok ? 'ok' : `skipped: ${a.reason}`}`);
    log(`next-token logits: ${model.head ? 'last position only (final norm + LM head run separately)' : "the model's logits output"}`);
    log(`loaded ${bundle.manifest.name} from ${bundle.dir} on ${report.used} in ${(performance.now() - started).toFixed(0)} ms`);
    const info: LoadResult = { bundle: bundleInfo(bundle), provider: report, banks: [...bundle.banks.values()].map(bankInfo) };
    return new Engine(bundle, model, info);
  }

  async explain(text: string, options: ExplainOptions = {}, signal?: AbortSignal): Promise<ExplainResult> {
    return (await this.explainBatch([text], options, signal))[0];
  }

  async explainBatch(texts: string[], options: ExplainOptions = {}, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<ExplainResult[]> {
    const opts = this.resolveOptions(options);
    const maxPrompt = this.maxPromptTokens(options.maxTokens);
    const results = new Array<ExplainResult>(texts.length);
    const run = { maxPrompt, side: options.truncation ?? DEFAULT_TRUNCATION, wantLogits: true, limits: DEFAULT_LIMITS, signal, onProgress };
    await this.runBatches(texts, run, (batch, encoded, out, tokenizeMs, forwardMs) => {
      batch.forEach((i, row) => {
        results[i] = buildExplainResult(this.bundle, opts, {
          text: encoded[i].text,
          encoded: encoded[i],
          out,
          row,
          provider: this.model.report,
          timingsMs: { tokenize: tokenizeMs[i], forward: forwardMs / batch.length },
        });
      });
    });
    return results;
  }

  async represent(texts: string[], opts: RepresentOptions, signal?: AbortSignal): Promise<TokenizedRepresentation[]> {
    const maxPrompt = this.maxPromptTokens(opts.maxTokens);
    const numLayers = this.bundle.manifest.architecture.numLayers;
    const hidden = this.bundle.manifest.architecture.hiddenSize;
    const limits = { ...DEFAULT_LIMITS, maxRows: opts.batchSize ?? DEFAULT_LIMITS.maxRows };
    const reps = new Array<TokenizedRepresentation>(texts.length);
    await this.runBatches(texts, { maxPrompt, side: opts.truncation ?? DEFAULT_TRUNCATION, wantLogits: false, limits, signal }, (batch, encoded, out) => {
      batch.forEach((i, row) => {
        const len = encoded[i].ids.length;
        const layers = Array.from({ length: numLayers + 1 }, (_, l) => pool(out, { hiddenSize: hidden, layer: l, row, tokens: len, pooling: opts.pooling }));
        reps[i] = { ids: encoded[i].ids, layers, tokenCount: len, truncated: encoded[i].truncation !== null };
      });
    });
    return reps;
  }

  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.model.release();
  }

  /** Tokenizes, plans batches, runs them one after another (serialised with other requests), hands each to `use`. */
  private async runBatches(
    texts: string[],
    { maxPrompt, side, wantLogits, limits, signal, onProgress }: BatchRun,
    use: (batch: number[], encoded: CutPrompt[], out: ForwardOutput, tokenizeMs: number[], forwardMs: number) => void,
  ): Promise<void> {
    if (!Array.isArray(texts) || texts.length === 0) throw new SeerError('EMPTY_INPUT', 'No prompts were given.', { fix: 'Pass at least one prompt.' });
    throwIfAborted(signal);
    const tokenizeMs: number[] = [];
    // Cut before tokenizing: a prompt's cost is bounded by what the model can read, not by its length.
    const maxChars = Math.min(maxPrompt, this.bundle.manifest.architecture.maxContext) * LIMITS.promptCharsPerToken;
    const encoded = texts.map((text, i) => {
      checkText(text, i, texts.length);
      const t0 = performance.now();
      const kept = cutPrompt(text, maxChars, side);
      const enc = this.bundle.tokenizer.encodePrompt(kept, maxPrompt, side);
      tokenizeMs.push(performance.now() - t0);
      return withCut(enc, text, kept, side);
    });
    const batches = planBatches(encoded.map((e) => e.ids.length), limits);
    let done = 0;
    for (const batch of batches) {
      throwIfAborted(signal);
      const t0 = performance.now();
      const out = await this.serialised(() => {
        // Checked again at its turn: a request cancelled while it waited behind another never runs.
        throwIfAborted(signal);
        return this.model.forward(batch.map((i) => encoded[i].ids), this.bundle.tokenizer.padId, wantLogits);
      });
      use(batch, encoded, out, tokenizeMs, performance.now() - t0);
      done += batch.length;
      onProgress?.(done, texts.length);
    }
    throwIfAborted(signal);
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The requested prompt-token limit (the context cap is applied per prompt, by the tokenizer). */
  private maxPromptTokens(requested?: number): number {
    if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
      throw new SeerError('INVALID_ARGUMENT', `maxTokens must be a positive integer, got ${requested}.`, { fix: `Use a value from 1 to ${this.bundle.manifest.architecture.maxContext}.` });
    }
    return requested ?? Number.POSITIVE_INFINITY;
  }

  private resolveOptions(o: ExplainOptions): ResolvedOptions {
    const m = this.bundle.manifest;
    const numLayers = m.architecture.numLayers;
    const bankName = o.bank ?? m.defaultBank;
    const bank = this.bundle.banks.get(bankName);
    if (!bank) {
      const names = [...this.bundle.banks.keys()];
      // An imported model has no bank until it is calibrated: then the one way forward is to calibrate.
      if (names.length === 0) {
        throw new SeerError('UNKNOWN_BANK', 'This bundle has no concept bank yet: explaining needs one.', {
          fix: {
            cli: `Create it from labelled data with \`seer calibrate DATA --label COLUMN --bank-name ${m.defaultBank}\`.`,
            editor: 'Create it from labelled data with "SEER: Calibrate Concepts from Dataset…".',
          },
        });
      }
      throw new SeerError('UNKNOWN_BANK', `The bundle has no concept bank "${bankName}" (it has ${names.join(', ')}).`, {
        fix: {
          cli: 'Pick one of the listed banks with --bank, or create it with `seer calibrate`.',
          editor: 'Set seer.bank to one of the listed banks (empty: the default bank), or create it with "SEER: Calibrate Concepts from Dataset…".',
        },
      });
    }
    const pooling = o.pooling ?? bank.pooling;
    if (pooling !== 'last' && pooling !== 'mean') throw badOption('pooling', pooling, '"last" or "mean"');
    if (o.truncation !== undefined && o.truncation !== 'left' && o.truncation !== 'right') throw badOption('truncation', o.truncation, '"left" or "right"');
    const isLayer = (l: unknown) => Number.isInteger(l) && (l as number) >= 0 && (l as number) <= numLayers;
    const [from, to] = o.layerRange ?? [0, numLayers];
    if (!isLayer(from) || !isLayer(to) || from > to) throw badOption('layerRange', describeList(o.layerRange), `[from, to] with 0 ≤ from ≤ to ≤ ${numLayers}`);
    const tl = o.tokenLayers ?? 'target';
    const requested = tl === 'all' ? range(0, numLayers) : tl === 'target' ? [m.targetLayers[0]] : tl;
    if (!Array.isArray(requested) || !requested.every(isLayer)) throw badOption('tokenLayers', describeList(tl), `"all", "target" or layer indices 0..${numLayers}`);
    // Each layer once (in the order asked): the token × concept matrix is the biggest part of a result.
    const tokenLayers = [...new Set(requested)];
    const topNextTokens = o.topNextTokens ?? DEFAULT_TOP_NEXT;
    if (!Number.isInteger(topNextTokens) || topNextTokens < 0 || topNextTokens > LIMITS.topNextTokens) {
      throw badOption('topNextTokens', topNextTokens, `an integer from 0 to ${LIMITS.topNextTokens}`);
    }
    return { pooling, bank, layers: range(from, to), tokenLayers, topNextTokens: Math.min(topNextTokens, m.architecture.vocabSize) };
  }
}

/** An encoded prompt and the text it was encoded from (the prompt itself, or its kept part when it was cut). */
type CutPrompt = EncodedPrompt & { text: string };

/**
 * At most `maxChars` characters of `text`, from the end that truncation keeps: the start when `side` (the
 * side dropped) is right, the end when it is left. A surrogate pair is never split.
 */
export function cutPrompt(text: string, maxChars: number, side: TruncationSide): string {
  if (text.length <= maxChars) return text;
  if (side === 'right') {
    const end = isHighSurrogate(text.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars;
    return text.slice(0, end);
  }
  const start = text.length - maxChars;
  return text.slice(isLowSurrogate(text.charCodeAt(start)) ? start + 1 : start);
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The encoding of a cut prompt, its truncation recording the characters cut before tokenizing. */
function withCut(enc: EncodedPrompt, text: string, kept: string, side: TruncationSide): CutPrompt {
  if (kept === text) return { ...enc, text };
  const promptTokens = enc.tokens.filter((t) => t.fromPrompt).length;
  const tokens = enc.truncation ?? { side, originalTokens: promptTokens, keptTokens: promptTokens };
  return { ...enc, text: kept, truncation: { ...tokens, originalChars: text.length, keptChars: kept.length } };
}

/** A list option in an error message, short even when the list is long. */
function describeList(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(text: unknown, index: number, total: number): void {
  const which = total > 1 ? `Prompt ${index + 1} of ${total}` : 'The prompt';
  if (typeof text !== 'string') throw new SeerError('BAD_INPUT', `${which} is not text (got ${typeof text}).`, { fix: 'Send the prompt as a string.' });
  if (LONE_SURROGATE.test(text)) {
    throw new SeerError('INVALID_UTF8', `${which} contains invalid Unicode (an unpaired surrogate).`, { fix: 'Re-encode the text as valid UTF-8.' });
  }
  if (!/\S/.test(text)) throw new SeerError('EMPTY_INPUT', `${which} is empty or only whitespace.`, { fix: 'Type or select some text to explain.' });
}

function badOption(name: string, value: unknown, allowed: string): SeerError {
  return new SeerError('INVALID_ARGUMENT', `Option ${name} is ${String(value)}; it must be ${allowed}.`, { fix: `Set ${name} to ${allowed}.` });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
