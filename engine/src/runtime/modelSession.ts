// The ONNX model as the engine uses it: opened on a provider, its inputs/outputs checked against the
// manifest, run on right-padded batches. The graph (bundle format 2, docs/bundle-format.md) returns only what
// an explanation reads: each layer's state at one token per row, the mean over the row, the last real token's
// logits, and every token's state at the layers asked for. A provider that fails mid-run is replaced by CPU once.
// A bundle whose graph has a KV cache (seer.json onnx.kvCache) is also run as a growing sequence (sequence()):
// each step feeds only its new tokens, the earlier tokens' keys and values staying in the forward worker.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderReport } from '../../../common/protocol';
import { checkExternalDataFile, modelLimit, readBundleFile } from '../bundle/bundleFile';
import { KV_INPUTS, KV_OUTPUTS, kvNames, type Manifest } from '../bundle/manifest';
import { SeerError } from '../errors';
import { type ExternalDataEntry, externalDataEntries } from './onnxProto';
import { type Carry, createSession, firstLine, type ForwardSession, invalidModel, openWithProvider, type SessionSettings } from './providers';
import { DeviceOutOfMemory } from '../batching';
import { typicalExplain } from './providerChoice';
import { readOutCosinesOf, rowCosinesOf, tokenCosinesOf, topTokensOf } from './reductions';

/** What one forward pass should return, per right-padded batch. */
export interface ForwardRequest {
  /** The read-out token of each row (0 <= p < its length): `states` is read there unless `mean`. */
  positions: number[];
  /** `states` is the mean over each row's real tokens (the graph's mean_states) instead. */
  mean?: boolean;
  /** Also the next-token logits at each row's last real token. */
  logits?: boolean;
  /** Layers whose every-token states are wanted (the token view); none by default. */
  tokenLayers?: number[];
  /** Added to the residual stream at each layer: [numLayers+1, hidden] (generate.ts's steering); zeros by default. */
  steering?: Float32Array;
  /**
   * With tokenLayers: the token states reduced to their cosine with these prototypes (for each token layer, in
   * order, the same number C of [hidden] vectors): `tokenCosines` instead of `tokenStates`. A provider in another
   * process (torch) reduces where the states are, so C numbers per token cross instead of `hidden`.
   */
  tokenPrototypes?: Float32Array[][];
  /**
   * The read-out states reduced to what an explanation reads of them (reductions.ts), instead of `states`: their
   * cosine with each layer's prototypes (`prototypes[layer]`, every layer, the same number C at each) and, with
   * `map`, with the concept map's examples at its layer. The torch provider then sends C (and M) numbers per layer
   * and row instead of `hidden`: a 1B model's states are 4.4 MB for 32 rows, an 8B's 17 MB.
   */
  readOut?: { prototypes: Float32Array[][]; map?: { layer: number; vectors: Float32Array[] } };
  /** The k largest next-token logits at each row's last real token and the log-sum-exp over the vocabulary (`top`). */
  topTokens?: number;
}

/** The k most probable next tokens per row, and what turns their logits into probabilities. */
export interface TopTokens {
  k: number;
  /** [batch, k], most probable first. */
  ids: Int32Array;
  logits: Float32Array;
  /** [batch]: log Σ exp(logit) over the vocabulary; a token's probability is exp(logit - logSumExp). */
  logSumExp: Float32Array;
}

/** One forward pass over a right-padded batch. */
export interface ForwardOutput {
  batch: number;
  /** Tokens per row this pass ran: the padded length, or a cached sequence's new tokens only (sequence()). */
  seq: number;
  /** Each row's representation per layer: [numLayers+1, batch, hidden] (at `positions`, or the mean); empty with readOut. */
  states: Float32Array;
  /**
   * With readOut: [numLayers+1, batch, C], each row's representation's cosine with each of its layer's prototypes
   * (float32 from the torch provider, double computed here: reductions.ts).
   */
  readOutCosines?: Float32Array | Float64Array;
  /** With readOut.map: [batch, M], each row's representation at the map's layer, its cosine with each map example. */
  mapCosines?: Float32Array | Float64Array;
  positions: number[];
  /** Logits at each row's last real token: [batch, vocab]. Absent when not requested. */
  lastLogits?: Float32Array;
  /** Every token's state at `tokenLayers[j]`: [k, batch, seq, hidden] (empty when tokenPrototypes were given). */
  tokenStates: Float32Array;
  tokenLayers: number[];
  /** With tokenPrototypes: [k, batch, seq, C], the cosine of each real token's state with each prototype (0 for padding). */
  tokenCosines?: Float32Array;
  /** With topTokens. */
  top?: TopTokens;
}

type Session = ForwardSession;

/**
 * One growing token sequence run step by step (generation, batch 1): forward(ids) returns the states at ids' last
 * token and its next-token logits, where each call's ids extend the previous call's. With the bundle's KV cache
 * only the tokens added since the last call are run; without, the whole sequence is, every step.
 */
export interface SequenceForward {
  forward(ids: readonly number[]): Promise<ForwardOutput>;
  /** Frees the sequence's cache in the worker. */
  release(): Promise<void>;
}

/** A cached step that cannot run because the session holding the cache was replaced (a GPU fell back to CPU). */
class CacheLost extends Error {}

/** Where a session's model comes from: a loaded bundle's manifest, model file (real path) and folder. */
export interface ModelSource {
  manifest: Manifest;
  modelFile: string;
  dir: string;
}

/** The model's checked bytes, and the folder onnxruntime reads its external data from (when it has any). */
interface CheckedModel {
  bytes: Uint8Array;
  settings: SessionSettings;
}

export class ModelSession {
  private session: Session;
  readonly report: ProviderReport;
  private readonly manifest: Manifest;
  private readonly reopen: () => Promise<CheckedModel>;
  /** The unsteered model: one zero steering tensor, fed to every run. */
  private readonly steering: ort.Tensor;
  /** Counts the sessions this model has run on: a sequence's cache lives in one (run() replaces a failed GPU's). */
  private sessionEpoch = 0;
  private nextSequenceId = 0;
  /** The last few vector lists' feeds, reused while the bank is: the torch provider then sends each once. */
  private readonly vectorTensors: Array<{ vectors: Float32Array[][]; tensor: ort.Tensor }> = [];

  private constructor(session: Session, report: ProviderReport, manifest: Manifest, reopen: () => Promise<CheckedModel>) {
    this.session = session;
    this.report = report;
    this.manifest = manifest;
    this.reopen = reopen;
    const { numLayers, hiddenSize } = manifest.architecture;
    this.steering = new ort.Tensor('float32', new Float32Array((numLayers + 1) * hiddenSize), [numLayers + 1, hiddenSize]);
  }

  static async open(source: ModelSource, choice: ProviderChoice, settings: SessionSettings): Promise<ModelSession> {
    const { manifest, modelFile } = source;
    const check = () => checkModel(source, settings);
    const checked = await check();
    const torch = { ...settings.torch, bundleDir: source.dir };
    const opened = await openWithProvider(checked.bytes, modelFile, choice, { ...checked.settings, torch, autoShape: typicalExplain(manifest.architecture) });
    try {
      checkSignature(opened.session, manifest, modelFile);
    } catch (err) {
      await opened.session.release(); // its worker thread would keep the process alive
      throw err;
    }
    const model = new ModelSession(opened.session, opened.report, manifest, check);
    return model;
  }

  /** For tests: wraps an existing session (e.g. one that fails) with a report and a way to reopen on CPU. */
  static wrap(session: Session, report: ProviderReport, manifest: Manifest, modelBytes: () => Promise<Uint8Array>): ModelSession {
    return new ModelSession(session, report, manifest, async () => ({ bytes: await modelBytes(), settings: {} }));
  }

  /** Runs `rows` (token ids, unpadded) as one right-padded batch, fetching only what `want` asks for. */
  async forward(rows: number[][], padId: number, want: ForwardRequest): Promise<ForwardOutput> {
    const batch = rows.length;
    const seq = Math.max(...rows.map((r) => r.length));
    const { positions } = want;
    if (positions.length !== batch || positions.some((p, b) => !Number.isInteger(p) || p < 0 || p >= rows[b].length)) {
      throw new Error(`read-out positions ${JSON.stringify(positions)} do not fit rows of ${rows.map((r) => r.length).join(', ')} tokens`); // a bug, not bad input
    }
    const ids = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    const pad = BigInt(padId); // masked out: never reaches a real position
    rows.forEach((r, b) => {
      for (let t = 0; t < seq; t++) {
        ids[b * seq + t] = t < r.length ? BigInt(r[t]) : pad;
        mask[b * seq + t] = t < r.length ? 1n : 0n;
      }
    });
    const graphInputs = { ids: new ort.Tensor('int64', ids, [batch, seq]), mask: new ort.Tensor('int64', mask, [batch, seq]), past: this.emptyPast(batch) };
    return this.runGraph(graphInputs, want, positions, rows.map((r) => r.length));
  }

  /** Starts a growing sequence (generation), steered by `steering` at every step: see SequenceForward. */
  sequence(padId: number, steering?: Float32Array): SequenceForward {
    const last = (ids: readonly number[]) => ({ positions: [ids.length - 1], logits: true, steering });
    const kv = this.session.noCarry ? undefined : this.manifest.onnx.kvCache;
    if (!kv) return { forward: (ids) => this.forward([[...ids]], padId, last(ids)), release: async () => undefined };
    const id = this.nextSequenceId++;
    const keep = Object.fromEntries(kvNames(KV_OUTPUTS, this.manifest.architecture.numLayers).map((o) => [o, o.replace('present_', 'past_')]));
    let cached = 0; // the tokens whose keys and values the worker holds, in the session of `epoch`
    let epoch = this.sessionEpoch;
    const step = (ids: readonly number[], from: number) => {
      const fresh = ids.slice(from);
      const graphInputs = {
        ids: new ort.Tensor('int64', BigInt64Array.from(fresh, BigInt), [1, fresh.length]),
        mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]), // past and new tokens
        past: from === 0 ? this.emptyPast(1) : {},
      };
      // The read-out position counts the new tokens only; the output reports it in the whole sequence.
      const want = { ...last(ids), positions: [fresh.length - 1] };
      return this.runGraph(graphInputs, want, [ids.length - 1], [fresh.length], { id, resume: from > 0, keep });
    };
    return {
      forward: async (ids) => {
        if (epoch !== this.sessionEpoch || ids.length <= cached) cached = 0; // the cache went with its session
        const out = await step(ids, cached).catch((err: unknown) => {
          if (err instanceof CacheLost) return step(ids, 0);
          throw err;
        });
        [cached, epoch] = [ids.length, this.sessionEpoch];
        return out;
      },
      release: async () => {
        await this.session.forget?.(id).catch(() => undefined); // a dead worker took the cache with it
      },
    };
  }

  /**
   * One run of the graph on prepared ids/mask/past feeds; `positions` are reported in the output, `lengths` are the
   * rows' real tokens (of this run). The reductions (tokenPrototypes, topTokens) run in the session when it can
   * (reduces: the torch provider), else here on what the graph returns (reductions.ts).
   */
  private async runGraph(inputs: { ids: ort.Tensor; mask: ort.Tensor; past: Record<string, ort.Tensor> }, want: ForwardRequest, positions: number[], lengths: number[], carry?: Carry): Promise<ForwardOutput> {
    const [batch, seq] = inputs.ids.dims;
    const tokenLayers = want.tokenLayers ?? [];
    const protos = tokenLayers.length > 0 ? want.tokenPrototypes : undefined;
    const topK = want.topTokens ?? 0;
    const statesName = want.mean ? 'mean_states' : 'states';
    const readOut = want.readOut;
    // The torch provider reduces the read-out at the positions (explain's own pooling); mean states are reduced here.
    const reducesReadOut = (reduces: boolean) => reduces && readOut !== undefined && !want.mean;
    const plan = (reduces: boolean) => {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: inputs.ids,
        attention_mask: inputs.mask,
        positions: new ort.Tensor('int64', BigInt64Array.from(want.positions, BigInt), [batch]),
        token_layers: new ort.Tensor('int64', BigInt64Array.from(tokenLayers, BigInt), [tokenLayers.length]),
        steering: want.steering ? this.steeringTensor(want.steering) : this.steering,
        ...inputs.past,
      };
      const fetches = reducesReadOut(reduces) ? [] : [statesName];
      if (reducesReadOut(reduces)) {
        feeds.readout_prototypes = this.vectorsTensor(readOut!.prototypes);
        fetches.push('readout_cosines');
        if (readOut!.map) {
          feeds.map_vectors = this.vectorsTensor([readOut!.map.vectors], true);
          feeds.map_layer = new ort.Tensor('int64', BigInt64Array.from([BigInt(readOut!.map.layer)]), [1]);
          fetches.push('map_cosines');
        }
      }
      if (reduces) {
        if (protos) feeds.token_prototypes = this.vectorsTensor(protos);
        if (topK > 0) feeds.top_k = new ort.Tensor('int64', BigInt64Array.from([BigInt(topK)]), [1]);
        fetches.push(...(want.logits ? ['last_logits'] : []), ...(topK > 0 ? ['top_ids', 'top_logits', 'log_sum_exp'] : []));
        fetches.push(...(tokenLayers.length > 0 ? [protos ? 'token_cosines' : 'token_states'] : []));
      } else {
        fetches.push(...(want.logits || topK > 0 ? ['last_logits'] : []), ...(tokenLayers.length > 0 ? ['token_states'] : []));
      }
      return { feeds, fetches, reduces };
    };
    const { out, reduced } = await this.run(plan, batch > 1 && !carry, carry);
    const hidden = this.manifest.architecture.hiddenSize;
    let states = out[statesName]?.data as Float32Array | undefined;
    let readOutCosines: Float32Array | Float64Array | undefined;
    let mapCosines: Float32Array | Float64Array | undefined;
    if (readOut && reducesReadOut(reduced)) {
      readOutCosines = out.readout_cosines.data as Float32Array;
      mapCosines = out.map_cosines?.data as Float32Array | undefined;
    } else if (readOut) {
      readOutCosines = readOutCosinesOf(states!, batch, hidden, readOut.prototypes);
      if (readOut.map) mapCosines = rowCosinesOf(states!, batch, hidden, readOut.map.layer, readOut.map.vectors);
    }
    if (readOut) states = new Float32Array(0);
    const tokenStates = tokenLayers.length > 0 && !protos ? (out.token_states.data as Float32Array) : new Float32Array(0);
    const lastLogits = out.last_logits?.data as Float32Array | undefined;
    let tokenCosines: Float32Array | undefined;
    let top: TopTokens | undefined;
    if (reduced) {
      if (protos) tokenCosines = out.token_cosines.data as Float32Array;
      if (topK > 0) top = { k: topK, ids: Int32Array.from(out.top_ids.data as BigInt64Array, Number), logits: out.top_logits.data as Float32Array, logSumExp: out.log_sum_exp.data as Float32Array };
    } else {
      if (protos) tokenCosines = tokenCosinesOf(out.token_states.data as Float32Array, { batch, seq, lengths }, protos);
      if (topK > 0) top = topTokensOf(lastLogits!, batch, topK);
    }
    return {
      batch,
      seq,
      states: states!,
      ...(readOutCosines ? { readOutCosines } : {}),
      ...(mapCosines ? { mapCosines } : {}),
      positions,
      lastLogits: want.logits ? lastLogits : undefined,
      tokenStates,
      tokenLayers,
      ...(tokenCosines ? { tokenCosines } : {}),
      ...(top ? { top } : {}),
    };
  }

  /** A KV-cache graph's past inputs with no past tokens (an explain, a sequence's first step); {} without a cache. */
  private emptyPast(batch: number): Record<string, ort.Tensor> {
    const kv = this.session.noCarry ? undefined : this.manifest.onnx.kvCache;
    if (!kv) return {};
    const empty = new ort.Tensor('float32', new Float32Array(0), [batch, kv.numKvHeads, 0, kv.headDim]);
    return Object.fromEntries(kvNames(KV_INPUTS, this.manifest.architecture.numLayers).map((name) => [name, empty]));
  }

  /**
   * Vectors as a feed of the torch provider's reductions ([k, C, hidden]; `flat`: one list as [C, hidden]): the same
   * tensor for the same (unchanging) arrays, so that it crosses the pipe once.
   */
  private vectorsTensor(vectors: Float32Array[][], flat = false): ort.Tensor {
    const same = (a: Float32Array[][]) => a.length === vectors.length && a.every((list, j) => list.length === vectors[j].length && list.every((v, c) => v === vectors[j][c]));
    const known = this.vectorTensors.find((k) => same(k.vectors));
    if (known) return known.tensor;
    const tensor = vectorsTensor(vectors, this.manifest.architecture.hiddenSize, flat);
    this.vectorTensors.unshift({ vectors, tensor });
    this.vectorTensors.length = Math.min(this.vectorTensors.length, KEPT_VECTOR_FEEDS);
    return tensor;
  }

  private steeringTensor(values: Float32Array): ort.Tensor {
    const { numLayers, hiddenSize } = this.manifest.architecture;
    if (values.length !== (numLayers + 1) * hiddenSize) throw new Error(`a steering vector of ${values.length} values for ${numLayers + 1} layers × ${hiddenSize}`); // a bug, not bad input
    return new ort.Tensor('float32', values, [numLayers + 1, hiddenSize]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** Runs the session on `plan(it reduces?)`'s feeds; a GPU provider that fails is replaced by CPU once, and the plan made again for it. */
  private async run(plan: (reduces: boolean) => { feeds: Record<string, ort.Tensor>; fetches: string[]; reduces: boolean }, splittable: boolean, carry?: Carry): Promise<{ out: ort.InferenceSession.ReturnType; reduced: boolean }> {
    const once = async () => {
      const p = plan(this.session.reduces === true);
      return { out: await this.session.run(p.feeds, p.fetches, carry), reduced: p.reduces };
    };
    try {
      return await once();
    } catch (err) {
      // Out of device memory on several rows: the engine runs them as smaller batches here (batching.ts).
      if (err instanceof DeviceOutOfMemory && splittable) throw err;
      if (this.report.used === 'cpu') {
        throw new SeerError('FORWARD_FAILED', `The forward pass failed on CPU: ${firstLine(err)}`, { fix: 'Check the model file and the input; report the input if it persists.', cause: err });
      }
      // A GPU provider failed mid-run: reopen on CPU once, say so, and stay there.
      const failed = this.report.used;
      const checked = await this.reopen();
      const cpu = await createSession(checked.bytes, 'cpu', checked.settings);
      await this.session.release().catch(() => undefined);
      this.session = cpu;
      this.sessionEpoch++;
      this.report.used = 'cpu';
      delete this.report.torch;
      this.report.fellBackToCpu = `${failed} failed during a forward pass (${firstLine(err)}); the run was redone on CPU, which is used from now on.`;
      if (carry?.resume) throw new CacheLost(); // its past went with the failed session: the sequence starts over
      return await once();
    }
  }
}

/** Three lists per bank (token layers', every layer's, the map's): the last few banks'. */
const KEPT_VECTOR_FEEDS = 12;

/** Lists of vectors as a feed of the torch provider's reductions: [k, C, hidden], or [C, hidden] for one list `flat`. */
function vectorsTensor(vectors: Float32Array[][], hidden: number, flat: boolean): ort.Tensor {
  const C = vectors[0].length;
  const data = new Float32Array(vectors.length * C * hidden);
  vectors.forEach((list, j) => {
    if (list.length !== C) throw new Error(`vector lists of ${list.length} and ${C}`); // a bug: one bank, one concept list
    list.forEach((v, c) => data.set(v, (j * C + c) * hidden));
  });
  return new ort.Tensor('float32', data, flat ? [C, hidden] : [vectors.length, C, hidden]);
}

/**
 * The model's bytes, checked before onnxruntime sees them: a regular file within the size the architecture
 * implies (bundle/bundleFile.ts) and the manifest's sha256. External data (issue 14: no file outside the
 * bundle is ever read) only as seer.json's onnx.externalData declares it: one file beside the model, checked
 * (bundleFile.ts: inside the bundle, regular, size, sha256), which every external tensor of the model must
 * name, within its bytes. onnxruntime is then told to read external data from the model's folder, never the
 * process's working folder (what it does for a model given as bytes).
 */
async function checkModel({ manifest, modelFile: file, dir }: ModelSource, settings: SessionSettings): Promise<CheckedModel> {
  const bytes = await readBundleFile(file, modelLimit(manifest.architecture));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.modelSha256) {
    throw new SeerError('MODEL_CHANGED', `${file} does not match seer.json's modelSha256 (file ${sha.slice(0, 12)}…, manifest ${manifest.modelSha256.slice(0, 12)}…): it is damaged, truncated or from another build.`, {
      file,
      fix: 'Restore the model file, or rebuild the whole bundle with `npm run build:model` so that model, manifest and banks agree.',
    });
  }
  let entries: ExternalDataEntry[];
  try {
    entries = externalDataEntries(bytes);
  } catch (err) {
    throw invalidModel(file, err);
  }
  const declared = manifest.onnx.externalData;
  const refuse = (problem: string, fix: string): never => {
    throw new SeerError('MODEL_INVALID', `${file} ${problem}; a SEER bundle's model may keep its weights only in the one external data file seer.json names, and no file outside the bundle is read.`, { file, fix });
  };
  const rebuild = 'Rebuild the bundle (`npm run build:model`, or rerun `seer import`), which writes model.onnx, its model.onnx.data and seer.json together.';
  if (!declared) {
    if (entries.length > 0) refuse(`keeps ${entries.length} tensor(s) in external data (${describeEntries(entries)}), but seer.json's onnx has no externalData`, rebuild);
    return { bytes, settings };
  }
  const realRoot = await fs.realpath(dir);
  await checkExternalDataFile(realRoot, file, declared, manifest.architecture);
  for (const e of entries) {
    if (e.location !== declared.file) refuse(`keeps tensor ${quoted(e.tensor)} in external data at ${quoted(e.location)}, not in ${declared.file}`, rebuild);
    const offset = e.offset === undefined ? 0 : decimal(e.offset);
    const length = e.length === undefined ? null : decimal(e.length);
    if (offset === null || length === null || offset + length > declared.bytes) {
      refuse(`says tensor ${quoted(e.tensor)} lies at offset ${quoted(e.offset ?? '0')}, length ${quoted(e.length ?? '(none)')} of ${declared.file}, which is not within its ${declared.bytes} bytes`, rebuild);
    }
  }
  return { bytes, settings: { ...settings, externalDataFolder: path.dirname(file) } };
}

/** A non-negative decimal integer as the ONNX external_data entries write them, or null. */
function decimal(text: string): number | null {
  return /^[0-9]{1,16}$/.test(text) ? Number(text) : null;
}

const quoted = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

function describeEntries(entries: ExternalDataEntry[]): string {
  return entries.slice(0, 3).map((e) => `${quoted(e.tensor)} at ${quoted(e.location)}`).join(', ') + (entries.length > 3 ? ', …' : '');
}

/** Input/output names, element types, ranks and the fixed sizes the manifest promises. */
function checkSignature(session: Session, manifest: Manifest, file: string): void {
  const { numLayers, hiddenSize, vocabSize } = manifest.architecture;
  const L1 = numLayers + 1;
  const expect: Array<[ort.InferenceSession.ValueMetadata[] | readonly ort.InferenceSession.ValueMetadata[], string, string, Array<number | null>]> = [
    [session.inputMetadata, 'input_ids', 'int64', [null, null]],
    [session.inputMetadata, 'attention_mask', 'int64', [null, null]],
    [session.inputMetadata, 'positions', 'int64', [null]],
    [session.inputMetadata, 'token_layers', 'int64', [null]],
    [session.inputMetadata, 'steering', 'float32', [L1, hiddenSize]],
    [session.outputMetadata, 'states', 'float32', [L1, null, hiddenSize]],
    [session.outputMetadata, 'mean_states', 'float32', [L1, null, hiddenSize]],
    [session.outputMetadata, 'last_logits', 'float32', [null, vocabSize]],
    [session.outputMetadata, 'token_states', 'float32', [null, null, null, hiddenSize]],
  ];
  const kv = manifest.onnx.kvCache;
  if (kv && !session.noCarry) {
    for (const name of kvNames(KV_INPUTS, numLayers)) expect.push([session.inputMetadata, name, 'float32', [null, kv.numKvHeads, null, kv.headDim]]);
    for (const name of kvNames(KV_OUTPUTS, numLayers)) expect.push([session.outputMetadata, name, 'float32', [null, kv.numKvHeads, null, kv.headDim]]);
  }
  const fail = (problem: string): never => {
    throw new SeerError('MODEL_MISMATCH', `${file}: ${problem}.`, { file, fix: 'The model and seer.json disagree: rebuild the bundle (`npm run build:model`, or rerun `seer import`).' });
  };
  for (const [list, name, type, dims] of expect) {
    const meta = list.find((m) => m.name === name);
    if (!meta) fail(`has no ${list === session.inputMetadata ? 'input' : 'output'} "${name}" (it has ${list.map((m) => m.name).join(', ')})`);
    if (!meta!.isTensor) fail(`"${name}" is not a tensor`);
    const tensor = meta as ort.InferenceSession.TensorValueMetadata;
    if (tensor.type !== type) fail(`"${name}" is ${tensor.type}, expected ${type}`);
    if (tensor.shape.length !== dims.length) fail(`"${name}" has rank ${tensor.shape.length}, expected ${dims.length}`);
    dims.forEach((d, i) => {
      const got = tensor.shape[i];
      if (d !== null && typeof got === 'number' && got !== d) fail(`"${name}" dimension ${i} is ${got}, but seer.json implies ${d}`);
    });
  }
}
