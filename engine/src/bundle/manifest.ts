// seer.json, format version 2 (docs/bundle-format.md): the manifest schema in code, validated on load.
import type { ArchitectureInfo, Pooling } from '../../../common/protocol';
import { JsonChecker, type Json } from './jsonCheck';

export const BUNDLE_FORMAT = 'seer-bundle';
export const BUNDLE_FORMAT_VERSION = 2;
export const PROMPT_PLACEHOLDER = '{prompt}';

/** The protocol's ArchitectureInfo plus what only the engine needs. */
export interface Architecture extends ArchitectureInfo {
  ropeTheta: number;
  normEps: number;
  tiedEmbeddings: boolean;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: typeof BUNDLE_FORMAT_VERSION;
  name: string;
  description: string;
  architecture: Architecture;
  files: { model: string; tokenizer: string };
  onnx: OnnxEntry;
  targetLayers: number[];
  representation: Pooling;
  promptTemplate: string;
  addBos: boolean;
  specialTokens: { bos: string; eos: string; pad: string };
  logitScale: number;
  concepts: string[];
  safeConcepts: string[];
  banks: Record<string, string>;
  defaultBank: string;
  modelSha256: string;
  training?: Json;
}

/** seer.json's "onnx": the explain-head graph's signature, and where its weights are. */
export interface OnnxEntry {
  inputs: string[];
  outputs: string[];
  opset: number;
  weightsDtype: 'float32' | 'float16';
  /** The one file beside model.onnx that holds the weights of a big model; absent when model.onnx holds them. */
  externalData?: { file: string; bytes: number; sha256: string };
  /** The graph also takes and returns each block's keys and values (KV_INPUTS/KV_OUTPUTS): generation then feeds
   * only the new token. Absent: generation re-runs the whole prefix each step. */
  kvCache?: { numKvHeads: number; headDim: number };
}

export const ONNX_INPUTS = ['input_ids', 'attention_mask', 'positions', 'token_layers', 'steering'] as const;
export const ONNX_OUTPUTS = ['states', 'mean_states', 'last_logits', 'token_states'] as const;
/** A KV-cache graph's extra inputs and outputs, one pair per block i: [batch, numKvHeads, past or total, headDim]. */
export const KV_INPUTS = ['past_key_', 'past_value_'] as const;
export const KV_OUTPUTS = ['present_key_', 'present_value_'] as const;
/** KV_INPUTS or KV_OUTPUTS spelled out for every block, in graph order (past_key_0, past_value_0, past_key_1, …). */
export function kvNames(prefixes: readonly string[], numLayers: number): string[] {
  return Array.from({ length: numLayers }, (_, i) => prefixes.map((p) => `${p}${i}`)).flat();
}
/** The graph writer (trainer/seer_trainer/onnx_graph.py) targets opset 17; older opsets lack what it uses. */
export const MIN_OPSET = 17;
export const POOLINGS = ['last', 'mean', 'request-end'] as const;

/** Far above any model this engine can run (the largest are ~128 layers, 16k hidden, 256k vocabulary): sizes are allocated from these. */
export const MAX_ARCHITECTURE = { numLayers: 1024, hiddenSize: 65536, numHeads: 1024, intermediateSize: 262144, vocabSize: 1 << 22, maxContext: 1 << 24 };

/** Validates parsed seer.json; `file` is its path (used in every message). */
export function parseManifest(json: Json, file: string): Manifest {
  const c = new JsonChecker(file, 'BUNDLE_INVALID', 'Rebuild the bundle with `npm run build:model`, or fix seer.json as described in docs/bundle-format.md.');
  const root = c.object(json, '');
  if (root.format !== BUNDLE_FORMAT) c.fail('format', `must be "${BUNDLE_FORMAT}" (is this a SEER bundle?), got ${JSON.stringify(root.format)}`);
  if (root.formatVersion === 1) {
    // Format 1's graph returned every token's logits and states; format 2's returns only what an explanation reads.
    throw new JsonChecker(file, 'BUNDLE_VERSION', 'Rebuild it: the embedded models (models/default, models/baseline) with `npm run build:model`; an imported model by rerunning `seer import HF_DIR --out BUNDLE` on its checkpoint folder.')
      .fail('formatVersion', `is 1, an older bundle format (a graph with full logits and hidden states) that this seer no longer reads; it reads format ${BUNDLE_FORMAT_VERSION}`);
  }
  if (root.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw new JsonChecker(file, 'BUNDLE_VERSION', `This seer reads bundle format version ${BUNDLE_FORMAT_VERSION}: rebuild the bundle with this version's trainer (\`npm run build:model\`, or \`seer import\`) or use a matching seer.`)
      .fail('formatVersion', `is ${JSON.stringify(root.formatVersion)}, but only version ${BUNDLE_FORMAT_VERSION} is supported`);
  }

  const a = c.object(root.architecture, 'architecture');
  const architecture: Architecture = {
    type: c.string(a, 'type', 'architecture', { nonEmpty: true }),
    numLayers: c.number(a, 'numLayers', 'architecture', { integer: true, min: 1, max: MAX_ARCHITECTURE.numLayers }),
    hiddenSize: c.number(a, 'hiddenSize', 'architecture', { integer: true, min: 1, max: MAX_ARCHITECTURE.hiddenSize }),
    numHeads: c.number(a, 'numHeads', 'architecture', { integer: true, min: 1, max: MAX_ARCHITECTURE.numHeads }),
    intermediateSize: c.number(a, 'intermediateSize', 'architecture', { integer: true, min: 1, max: MAX_ARCHITECTURE.intermediateSize }),
    vocabSize: c.number(a, 'vocabSize', 'architecture', { integer: true, min: 2, max: MAX_ARCHITECTURE.vocabSize }),
    maxContext: c.number(a, 'maxContext', 'architecture', { integer: true, min: 2, max: MAX_ARCHITECTURE.maxContext }),
    ropeTheta: c.number(a, 'ropeTheta', 'architecture', { min: 0 }),
    normEps: c.number(a, 'normEps', 'architecture', { min: 0 }),
    tiedEmbeddings: c.boolean(a, 'tiedEmbeddings', 'architecture'),
  };

  const f = c.object(root.files, 'files');
  const files = {
    model: c.string(f, 'model', 'files', { nonEmpty: true }),
    tokenizer: c.string(f, 'tokenizer', 'files', { nonEmpty: true }),
  };

  const onnx = parseOnnxEntry(c, root.onnx, architecture);

  const targets = c.array(root.targetLayers, 'targetLayers');
  if (targets.length === 0) c.fail('targetLayers', 'must name at least one layer');
  const targetLayers = targets.map((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > architecture.numLayers) {
      c.fail(`targetLayers[${i}]`, `must be a layer index 0..${architecture.numLayers}, got ${JSON.stringify(t)}`);
    }
    return t as number;
  });

  const promptTemplate = c.string(root, 'promptTemplate', '');
  if (promptTemplate.split(PROMPT_PLACEHOLDER).length !== 2) c.fail('promptTemplate', `must contain "${PROMPT_PLACEHOLDER}" exactly once`);

  const s = c.object(root.specialTokens, 'specialTokens');
  const specialTokens = {
    bos: c.string(s, 'bos', 'specialTokens', { nonEmpty: true }),
    eos: c.string(s, 'eos', 'specialTokens', { nonEmpty: true }),
    pad: c.string(s, 'pad', 'specialTokens', { nonEmpty: true }),
  };

  // Empty for a bundle without a concept bank yet (issue 9 item 5: `seer import` writes one); see `banks` below.
  const concepts = c.stringArray(root, 'concepts', '', { unique: true });
  const safeConcepts = c.stringArray(root, 'safeConcepts', '', { unique: true });
  safeConcepts.forEach((sc, i) => {
    if (!concepts.includes(sc)) c.fail(`safeConcepts[${i}]`, `"${sc}" is not one of the concepts`);
  });

  const b = c.object(root.banks, 'banks');
  // Own keys only, and no reserved names: a bank named "__proto__" must not pass as a bank every object has.
  const banks: Record<string, string> = Object.fromEntries(Object.keys(b).map((name) => [c.name(name, `banks.${name}`), c.string(b, name, 'banks', { nonEmpty: true })]));
  // A bundle without banks is valid (an imported model before calibration, issue 9 item 5): it loads, and
  // explaining asks for the bank `defaultBank` names (UNKNOWN_BANK: "create it with `seer calibrate`"), which a
  // user bank of that name (`seer calibrate --bank-name <defaultBank>`) then provides.
  const defaultBank = c.name(root.defaultBank, 'defaultBank');
  if (Object.keys(banks).length > 0 && !Object.hasOwn(banks, defaultBank)) c.fail('defaultBank', `"${defaultBank}" is not one of the banks (${Object.keys(banks).join(', ')})`);

  const modelSha256 = c.string(root, 'modelSha256', '');
  if (!/^[0-9a-f]{64}$/.test(modelSha256)) c.fail('modelSha256', 'must be 64 lowercase hex digits (sha256 of the model file)');

  return {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    name: c.string(root, 'name', '', { nonEmpty: true }),
    description: typeof root.description === 'string' ? root.description : '',
    architecture,
    files,
    onnx,
    targetLayers,
    representation: c.oneOf(root, 'representation', '', POOLINGS),
    promptTemplate,
    addBos: c.boolean(root, 'addBos', ''),
    specialTokens,
    logitScale: c.number(root, 'logitScale', '', { min: Number.MIN_VALUE }),
    concepts,
    safeConcepts,
    banks,
    defaultBank,
    modelSha256,
    training: root.training,
  };
}

/** Largest external data file named in seer.json: 2^53 bytes (exact in a double); the architecture bounds it further at load. */
const MAX_EXTERNAL_BYTES = Number.MAX_SAFE_INTEGER;

function parseOnnxEntry(c: JsonChecker, value: Json, architecture: Architecture): OnnxEntry {
  const o = c.object(value, 'onnx');
  const onnx: OnnxEntry = {
    inputs: c.stringArray(o, 'inputs', 'onnx'),
    outputs: c.stringArray(o, 'outputs', 'onnx'),
    opset: c.number(o, 'opset', 'onnx', { integer: true, min: MIN_OPSET }),
    weightsDtype: c.oneOf(o, 'weightsDtype', 'onnx', ['float32', 'float16'] as const),
  };
  for (const [kind, expected, got] of [['inputs', ONNX_INPUTS, onnx.inputs], ['outputs', ONNX_OUTPUTS, onnx.outputs]] as const) {
    if (expected.join() !== got.join()) c.fail(`onnx.${kind}`, `must be ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
  if (o.externalData !== undefined) {
    const e = c.object(o.externalData, 'onnx.externalData');
    const file = c.string(e, 'file', 'onnx.externalData', { nonEmpty: true });
    // A plain name: the data lies beside model.onnx, and onnxruntime resolves it from there (never a path).
    if (file === '.' || file === '..' || /[/\\\0]/.test(file)) c.fail('onnx.externalData.file', `must be a plain file name beside the model (no folders, no ".."), got ${JSON.stringify(file)}`);
    const bytes = c.number(e, 'bytes', 'onnx.externalData', { integer: true, min: 1, max: MAX_EXTERNAL_BYTES });
    const sha256 = c.string(e, 'sha256', 'onnx.externalData');
    if (!/^[0-9a-f]{64}$/.test(sha256)) c.fail('onnx.externalData.sha256', 'must be 64 lowercase hex digits (sha256 of the external data file)');
    onnx.externalData = { file, bytes, sha256 };
  }
  if (o.kvCache !== undefined) {
    const k = c.object(o.kvCache, 'onnx.kvCache');
    const { numHeads } = architecture;
    const numKvHeads = c.number(k, 'numKvHeads', 'onnx.kvCache', { integer: true, min: 1, max: numHeads });
    if (numHeads % numKvHeads !== 0) c.fail('onnx.kvCache.numKvHeads', `must divide architecture.numHeads (${numHeads}), got ${numKvHeads}`);
    const headDim = c.number(k, 'headDim', 'onnx.kvCache', { integer: true, min: 1, max: MAX_ARCHITECTURE.hiddenSize });
    onnx.kvCache = { numKvHeads, headDim };
  }
  return onnx;
}
