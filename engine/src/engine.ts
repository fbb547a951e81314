// The SEER engine: loads and validates a bundle, opens the model on an execution provider, and turns prompts
// into explanations (explain/explainBatch) or raw per-layer representations (represent, for calibration).
// Forward passes are serialised: one at a time keeps latency predictable and memory bounded.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ConceptMapAbsent, EngineConfig, ExplainOptions, ExplainResult, LoadResult, Pooling, TruncationSide } from '../../common/protocol';
import { type BatchLimits, limitsFor, planBatches, runBatchesSplitting } from './batching';
import { bankInfo, bundleInfo, type ConceptBank, defaultUserBankRoot, type EncodedPrompt, loadBundle, type LoadedBundle } from './bundle/index';
import { realPathInside } from './bundle/bundleFile';
import { loadConceptMap } from './bundle/conceptMapFile';
import type { ConceptMap } from './calibration/conceptMap';
import { SeerError, throwIfAborted } from './errors';
import { type ResolvedOptions, resultProvider, tokenScoresOf } from './explain';
import { explainRow } from './explainRow';
import { checkGenerateOptions, type GenerateOptions, type Generation, type GenerationStep, generate, steeringVector } from './generate';
import { LIMITS } from './limits';
import { POOLINGS } from './bundle/manifest';
import { pooled, readOutPosition } from './representation';
import { type ForwardOutput, type ForwardRequest, ModelSession } from './runtime/modelSession';
import { HostWorkerLost } from './hostWork/hostWorker';
import { type BuildRow, fromWire } from './hostWork/messages';
import { HostPool } from './hostWork/pool';
import { type HostThreads, hostThreadsSetting, poolSize, usePool } from './hostWork/threads';

export interface Representation {
  layers: Float32Array[];
  tokenCount: number;
  truncated: boolean;
}

/** A representation with the token ids the model read: the prompt template applied, after truncation. */
export interface TokenizedRepresentation extends Representation {
  ids: number[];
  /** The index in `ids` the representation was read at; null for mean pooling (every token). */
  position: number | null;
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
  /** Where each row is read (representation.ts); the graph pools. */
  pooling: Pooling;
  logits: boolean;
  /** The top next tokens per row (ForwardRequest.topTokens); absent for represent. */
  topTokens?: number;
  /** Layers whose tokens are scored (the token view); empty for represent. */
  tokenLayers: number[];
  /** Their prototypes: the token states are reduced to cosines in the forward pass (ForwardRequest.tokenPrototypes). */
  tokenPrototypes?: Float32Array[][];
  /** The read-out states reduced in the forward pass (ForwardRequest.readOut); absent for represent, which keeps them. */
  readOut?: ForwardRequest['readOut'];
  limits: BatchLimits;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const DEFAULT_TOP_NEXT = 5;
/** Too-long prompts lose their end by default, as in the trainer's calibration (seer_trainer/batching.py). */
const DEFAULT_TRUNCATION: TruncationSide = 'right';
/**
 * After the short warm-up prompt, a paragraph explained this many times: the tokenizer's and the scoring's loops
 * run interpreted until V8 has seen them often enough to optimise them (measured on an H200 host with the torch
 * provider: a first 128-token explain took 27 ms against 8 ms steady after the short prompt alone; with a stand-in
 * forward on 2 cores, 10-12 ms against 5-6 ms steady before, 6-8 ms after).
 */
const WARM_UP_ROUNDS = 6;
const WARM_UP_TEXT = 'Could you explain, step by step, how a city plans its water supply for a dry summer? I am curious about '
  + 'reservoirs, pipes and pumps, how engineers estimate demand (in litres per person per day), what happens when a river '
  + 'runs low, and whether recycling grey water at home really helps. Thanks — a short answer with numbers is fine: 1, 2, 3.';

export class Engine {
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The host worker threads that tokenize and score large batches beside this thread (hostWork/): started by the
   * first batch that uses them, null when they could not start or one was lost (then this thread does the work).
   */
  private hostPool: Promise<HostPool | null> | undefined;
  /** Set when a host thread died: then this thread does the work from then on. */
  private hostPoolLostAlready = false;
  private disposed = false;
  /** Each bank's concept map, read on its first explain (a recalibrated bank is a new object: its new map is read). */
  private readonly conceptMaps = new WeakMap<ConceptBank, Promise<ConceptMap | ConceptMapAbsent>>();

  private constructor(
    readonly bundle: LoadedBundle,
    private readonly model: ModelSession,
    readonly info: LoadResult,
    private readonly log: (line: string) => void,
    private readonly hostThreads: HostThreads,
  ) {}

  static async load(config: EngineConfig, log: (line: string) => void = () => undefined): Promise<Engine> {
    const started = performance.now();
    const hostThreads = hostThreadsSetting(config.hostThreads);
    // The user's calibrated banks: $XDG_DATA_HOME/seer/banks unless the host names its own folder.
    const bundle = await loadBundle(config.bundleDir, { userBankDir: config.userBankDir ?? defaultUserBankRoot(), onWarning: log });
    const torch = { ...config.torch, onLog: (line: string) => log(`torch: ${line}`) };
    const model = await ModelSession.open(bundle, config.provider, { intraOpThreads: config.intraOpThreads, torch });
    const report = model.report;
    for (const a of report.attempts) log(`provider ${a.provider}: ${a.ok ? 'ok' : `skipped: ${a.reason}`}`);
    const info: LoadResult = { bundle: bundleInfo(bundle), provider: report, banks: [...bundle.banks.values()].map(bankInfo) };
    const engine = new Engine(bundle, model, info, log, hostThreads);
    if (report.used !== 'cpu') await engine.warmUp({ tokenLayers: 'target', ...config.warmUpWith });
    log(`loaded ${bundle.manifest.name} from ${bundle.dir} on ${report.used} in ${(performance.now() - started).toFixed(0)} ms`);
    return engine;
  }

  /**
   * Explains at load, on a GPU provider (a short prompt, then WARM_UP_ROUNDS of a paragraph): its first forward
   * compiles shaders, loads kernels or captures CUDA graphs (WebGPU on an H200: 247 ms against 7.7 ms on CPU), and
   * the engine's own first explain has one-time costs too
   * (the torch provider here: 77 ms, then 18 ms, even after a warm-up forward). Paid at load, the user's first
   * explain runs at steady speed. A provider that fails here falls back to CPU as in any run (ModelSession.run).
   * Not on CPU, where those costs are about 0.1 s once and many loads (tests, one-shot CLI runs) explain little.
   */
  private async warmUp(options: ExplainOptions): Promise<void> {
    const started = performance.now();
    try {
      // The short prompt first: on the torch provider its forward captures the batch-1 CUDA graphs of every length
      // for these options' outputs.
      await this.explainBatch(['Hello, how are you?'], options);
      for (let i = 0; i < WARM_UP_ROUNDS; i++) await this.explainBatch([WARM_UP_TEXT], options);
    } catch (err) {
      this.log(`warm-up explain failed (the first explain will say why): ${(err as Error).message}`);
      return;
    }
    const report = this.model.report;
    report.warmUpMs = Math.round((performance.now() - started) * 10) / 10;
    this.log(`warm-up explain on ${report.used}: ${report.warmUpMs} ms`);
  }

  async explain(text: string, options: ExplainOptions = {}, signal?: AbortSignal): Promise<ExplainResult> {
    return (await this.explainBatch([text], options, signal))[0];
  }

  async explainBatch(texts: string[], options: ExplainOptions = {}, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<ExplainResult[]> {
    const opts = this.resolveOptions(options);
    const maxPrompt = this.maxPromptTokens(options.maxTokens);
    const results = new Array<ExplainResult>(texts.length);
    const side = options.truncation ?? DEFAULT_TRUNCATION;
    // What an explanation reads, reduced in the forward pass (runtime/reductions.ts): token × concept cosines at
    // the token layers and the top next tokens, not every token's states and the whole vocabulary's logits.
    // And the read-out's cosines with every layer's prototypes and the concept map's examples, not its states.
    const tokenPrototypes = opts.tokenLayers.map((layer) => opts.bank.layers[layer].prototypes);
    const map = await this.conceptMapOf(opts.bank);
    const readOut = { prototypes: opts.bank.layers.map((l) => l.prototypes), ...('vectors' in map && { map: { layer: map.layer, vectors: map.vectors } }) };
    const run = { maxPrompt, side, pooling: opts.pooling, logits: false, topTokens: opts.topNextTokens, tokenPrototypes, readOut, tokenLayers: opts.tokenLayers, limits: limitsFor(this.model.report), signal, onProgress };
    await this.runBatches(texts, run, (batch, encoded, out, tokenizeMs, forwardMs, pool) => {
      const forward = forwardMs / batch.length;
      const here = (provider = this.model.report) => batch.forEach((i, row) => {
        results[i] = explainRow(this.bundle, opts, map, { text: encoded[i].text, encoded: encoded[i], out, row, provider, timingsMs: { tokenize: tokenizeMs[i], forward } });
      });
      if (!pool) return here();
      const rows: BuildRow[] = batch.map((i) => {
        const { text, templatedText, truncation } = encoded[i];
        return { text, templatedText, truncation, tokenizeMs: tokenizeMs[i] };
      });
      // The report as a result built here now would carry it (a later forward may change it before the answers come).
      const provider = resultProvider(this.model.report);
      const concepts = opts.bank.concepts.length;
      return pool.build(opts, map, out, rows, provider, forward).then(
        // The threads' results without their token view (BuildRow): added here, as buildExplainResult makes it.
        (built) => built.forEach((r, row) => {
          const { tokens, ids } = encoded[batch[row]];
          const tokenScores = tokenScoresOf(out, row, opts.tokenLayers.length, concepts, ids.length);
          results[batch[row]] = { ...r, tokens, tokenScores, provider: resultProvider(provider) };
        }),
        (err: unknown) => {
          if (!(err instanceof HostWorkerLost)) throw err;
          this.hostPoolLost(err);
          here(provider);
        },
      );
    });
    return results;
  }

  /** The bank's 2-D concept map (read once per bank, beside its file), or why it has none. */
  private conceptMapOf(bank: ConceptBank): Promise<ConceptMap | ConceptMapAbsent> {
    let map = this.conceptMaps.get(bank);
    if (!map) {
      map = loadConceptMap(bank, bank.file);
      this.conceptMaps.set(bank, map);
    }
    return map;
  }

  async represent(texts: string[], opts: RepresentOptions, signal?: AbortSignal): Promise<TokenizedRepresentation[]> {
    const maxPrompt = this.maxPromptTokens(opts.maxTokens);
    const numLayers = this.bundle.manifest.architecture.numLayers;
    const hidden = this.bundle.manifest.architecture.hiddenSize;
    const pooling = checkPooling(opts.pooling);
    const bounds = limitsFor(this.model.report);
    const limits = { ...bounds, maxRows: opts.batchSize ?? bounds.maxRows };
    const reps = new Array<TokenizedRepresentation>(texts.length);
    const run = { maxPrompt, side: opts.truncation ?? DEFAULT_TRUNCATION, pooling, logits: false, tokenLayers: [], limits, signal };
    await this.runBatches(texts, run, (batch, encoded, out) => {
      batch.forEach((i, row) => {
        // Copies: calibration keeps them long after the batch; a view would hold on to all of its states.
        const layers = Array.from({ length: numLayers + 1 }, (_, l) => pooled(out, hidden, l, row).slice());
        const position = pooling === 'mean' ? null : out.positions[row];
        reps[i] = { ids: encoded[i].ids, position, layers, tokenCount: encoded[i].ids.length, truncated: encoded[i].truncation !== null };
      });
    });
    return reps;
  }

  /**
   * Writes a continuation of `text` (the prompt template applied) one token at a time, each with the model's
   * concept profile at the target layer (generate.ts), steered when options.steer says so. Each step is one
   * serialised forward pass, so explains interleave with a long generation. The prompt keeps its end when it
   * is too long: at most the context minus maxNewTokens (or half the context, if more) of its tokens.
   */
  async generate(text: string, options: GenerateOptions, onStep?: (step: GenerationStep, index: number) => void): Promise<Generation> {
    checkGenerateOptions(options);
    checkText(text, 0, 1);
    const { manifest, tokenizer } = this.bundle;
    const { numLayers, hiddenSize, maxContext } = manifest.architecture;
    const reader = { bank: this.resolveOptions({ bank: options.bank }).bank, layer: manifest.targetLayers[0], logitScale: manifest.logitScale };
    const steering = steeringVector(reader, options.steer ?? [], numLayers, hiddenSize);
    const room = maxContext - Math.min(options.maxNewTokens, Math.floor(maxContext / 2)); // template and bos included
    const { ids } = tokenizer.encodePrompt(cutPrompt(text, room * LIMITS.promptCharsPerToken, 'left'), room, 'left', room);
    const sequence = this.model.sequence(tokenizer.padId, steering); // with the bundle's KV cache when it has one
    const model = {
      eosId: tokenizer.eosId,
      maxContext,
      tokenText: (id: number) => tokenizer.tokenText(id),
      decode: (ids: number[]) => tokenizer.decode(ids),
      next: async (prefix: number[]) => {
        const out = await this.serialised(() => sequence.forward(prefix));
        return { logits: out.lastLogits!, state: pooled(out, hiddenSize, reader.layer, 0) };
      },
      release: () => this.serialised(() => sequence.release()),
    };
    return generate(model, reader, ids, options, onStep);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const pool = this.hostPool;
    this.hostPool = Promise.resolve(null);
    // Until no forward is queued: one queued while waiting (a generation's next step) must end before the session does.
    for (let queued = this.queue; ; queued = this.queue) {
      await queued.catch(() => undefined);
      if (queued === this.queue) break;
    }
    await this.model.release();
    await (await pool)?.dispose();
  }

  /**
   * Tokenizes, plans batches, runs them one after another (serialised with other requests), hands each to `use`.
   * With host worker threads (hostPoolFor), they tokenize, and `use` may hand its work to them (a promise): a
   * batch's forward then waits for the batches two or more before it to be scored, so that at most two outputs wait.
   */
  private async runBatches(
    texts: string[],
    { maxPrompt, side, pooling, logits, topTokens, tokenPrototypes, readOut, tokenLayers, limits, signal, onProgress }: BatchRun,
    use: (batch: number[], encoded: CutPrompt[], out: ForwardOutput, tokenizeMs: number[], forwardMs: number, pool: HostPool | null) => void | Promise<void>,
  ): Promise<void> {
    if (!Array.isArray(texts) || texts.length === 0) throw new SeerError('EMPTY_INPUT', 'No prompts were given.', { fix: 'Pass at least one prompt.' });
    throwIfAborted(signal);
    const pool = await this.hostPoolFor(texts.length);
    const { encoded, tokenizeMs } = pool ? await this.encodeOnPool(pool, texts, maxPrompt, side) : this.encode(texts, maxPrompt, side);
    const batches = planBatches(encoded.map((e) => e.ids.length), limits);
    let done = 0;
    let settled = false;
    const progress = (batch: number[]) => {
      done += batch.length;
      if (!settled) onProgress?.(done, texts.length);
    };
    /** What `use` is doing on the host threads, batch by batch. */
    const scoring: Promise<void>[] = [];
    // Each forward's own time, from its turn to its output (the next batch's forward starts before this one is scored).
    const forward = (batch: number[]) => {
      throwIfAborted(signal);
      const turn = () => this.serialised(async () => {
        // Checked again at its turn: a request cancelled while it waited behind another never runs.
        throwIfAborted(signal);
        const started = performance.now();
        const positions = batch.map((i) => readOutPosition(encoded[i].tokens, pooling));
        const out = await this.model.forward(batch.map((i) => encoded[i].ids), this.bundle.tokenizer.padId, { positions, mean: pooling === 'mean', logits, topTokens, tokenPrototypes, readOut, tokenLayers });
        return { out, ms: performance.now() - started };
      });
      // Scored on the host threads, the batches before the last one are done first: outputs do not pile up.
      return scoring.length > 0 ? Promise.all(scoring).then(turn) : turn();
    };
    let split = false;
    const onSplit = (batch: number[], err: Error) => {
      if (split) return; // the request's first (largest) batch that did not fit is the one worth saying
      split = true;
      const tokens = Math.max(...batch.map((i) => encoded[i].ids.length));
      this.model.report.splitBatches = `${this.model.report.used} ran out of device memory on a batch of ${batch.length} × ${tokens} tokens (${err.message}); it was run as smaller batches on the same device.`;
      this.log(this.model.report.splitBatches);
    };
    try {
      await runBatchesSplitting(batches, forward, (batch, { out, ms }) => {
        const using = use(batch, encoded, out, tokenizeMs, ms, pool);
        if (!using) return progress(batch);
        const scored = using.then(() => progress(batch));
        scored.catch(() => undefined); // waited for below, or the request failed already
        scoring.push(scored);
      }, onSplit);
      await Promise.all(scoring);
    } finally {
      settled = true;
    }
    throwIfAborted(signal);
  }

  /** Each prompt checked, cut and encoded in order, on this thread; the first that fails throws. */
  private encode(texts: string[], maxPrompt: number, side: TruncationSide): { encoded: CutPrompt[]; tokenizeMs: number[] } {
    const tokenizeMs: number[] = [];
    const maxChars = this.maxPromptChars(maxPrompt);
    const encoded = texts.map((text, i) => {
      checkText(text, i, texts.length);
      const t0 = performance.now();
      const kept = cutPrompt(text, maxChars, side);
      const enc = this.bundle.tokenizer.encodePrompt(kept, maxPrompt, side);
      tokenizeMs.push(performance.now() - t0);
      return withCut(enc, text, kept, side);
    });
    return { encoded, tokenizeMs };
  }

  /**
   * encode() with the encoding on the host threads: the same prompts, the same first failure (a prompt's check comes
   * before its encoding, as there). Done here if a thread is lost.
   */
  private async encodeOnPool(pool: HostPool, texts: string[], maxPrompt: number, side: TruncationSide): Promise<{ encoded: CutPrompt[]; tokenizeMs: number[] }> {
    const maxChars = this.maxPromptChars(maxPrompt);
    const kept: string[] = [];
    let invalid: unknown = null;
    for (const [i, text] of texts.entries()) {
      try {
        checkText(text, i, texts.length);
      } catch (err) {
        invalid = err; // thrown after the prompts before it, which may fail first
        break;
      }
      kept.push(cutPrompt(text, maxChars, side));
    }
    let answers: Awaited<ReturnType<HostPool['tokenize']>> = [];
    try {
      if (kept.length > 0) answers = await pool.tokenize(kept, maxPrompt, side, (id) => this.bundle.tokenizer.tokenText(id));
    } catch (err) {
      if (!(err instanceof HostWorkerLost)) throw err;
      this.hostPoolLost(err);
      return this.encode(texts, maxPrompt, side);
    }
    const tokenizeMs: number[] = [];
    const encoded = kept.map((k, i) => {
      const answer = answers[i]!;
      if ('error' in answer) throw fromWire(answer.error);
      tokenizeMs.push(answer.ms);
      return withCut(answer.encoded, texts[i], k, side);
    });
    if (invalid !== null) throw invalid;
    return { encoded, tokenizeMs };
  }

  /** Prompts are cut before tokenizing: a prompt's cost is bounded by what the model can read, not by its length. */
  private maxPromptChars(maxPrompt: number): number {
    return Math.min(maxPrompt, this.bundle.manifest.architecture.maxContext) * LIMITS.promptCharsPerToken;
  }

  /** The host threads for a batch of `rows` (hostWork/threads.ts says when), started on first use; null: this thread. */
  private hostPoolFor(rows: number): Promise<HostPool | null> {
    if (this.disposed || !usePool(this.hostThreads, rows, this.model.report)) return Promise.resolve(null);
    this.hostPool ??= this.openHostPool();
    return this.hostPool;
  }

  private async openHostPool(): Promise<HostPool | null> {
    const size = poolSize(this.hostThreads);
    if (size === 0) return null;
    const started = performance.now();
    try {
      const { dir, manifest, manifestFile, modelFile, tokenizer } = this.bundle;
      // The real path loadBundle read the tokenizer from; the probe checks it still holds the same tokenizer.
      const tokenizerFile = await realPathInside(await fs.realpath(dir), path.resolve(dir, manifest.files.tokenizer));
      const probe = { text: WARM_UP_TEXT, ids: tokenizer.encodePrompt(WARM_UP_TEXT, Number.POSITIVE_INFINITY, 'right').ids, rounds: WARM_UP_ROUNDS };
      const pool = await HostPool.open(size, { dir, manifest, manifestFile, modelFile, tokenizerFile }, probe);
      this.log(`host work: ${size} threads tokenize and score large batches (started in ${(performance.now() - started).toFixed(0)} ms)`);
      return pool;
    } catch (err) {
      this.log(`host work: the threads did not start, this thread does the work (${(err as Error).message})`);
      return null;
    }
  }

  /** A host thread died: the request goes on here, and so do later ones (said once). */
  private hostPoolLost(err: HostWorkerLost): void {
    const pool = this.hostPool;
    if (this.disposed || this.hostPoolLostAlready) return;
    this.hostPoolLostAlready = true;
    this.hostPool = Promise.resolve(null);
    void pool?.then((p) => p?.dispose());
    this.log(`host work: ${err.message}; this thread tokenizes and scores from now on`);
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
    const pooling = checkPooling(o.pooling ?? bank.pooling);
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

function checkPooling(pooling: unknown): Pooling {
  if (!(POOLINGS as readonly unknown[]).includes(pooling)) throw badOption('pooling', pooling, POOLINGS.map((p) => `"${p}"`).join(', '));
  return pooling as Pooling;
}

function badOption(name: string, value: unknown, allowed: string): SeerError {
  return new SeerError('INVALID_ARGUMENT', `Option ${name} is ${String(value)}; it must be ${allowed}.`, { fix: `Set ${name} to ${allowed}.` });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
