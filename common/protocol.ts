// The one protocol shared by the engine (child process + CLI), the extension host and the webview.
// Everything that crosses a process or iframe boundary is declared here and nowhere else.
// Sections: (1) results produced by the engine, (2) engine JSON-RPC parameters and results (the methods:
// common/engineProtocol.ts; the error codes: common/errorCodes.ts), (3) webview messages.
import type { Comparison } from '../engine/src/compare';
import type { EngineErrorCode } from './errorCodes';

// ───────────────────────────── (1) engine results ─────────────────────────────

/**
 * Where the forward pass runs: onnxruntime's CUDA, WebGPU or CPU provider, or `torch`: the model's own PyTorch
 * forward (trainer/seer_trainer/torch_forward.py) in a Python child process, on the user's PyTorch (CUDA where
 * it has it) — for users whose GPU stack is PyTorch. `auto` tries it only for models of 100M parameters or more,
 * when that PyTorch sees a CUDA device (providers.ts).
 */
export type ProviderName = 'cuda' | 'webgpu' | 'cpu' | 'torch';
export type ProviderChoice = 'auto' | ProviderName;
/** The torch provider's compute type; auto: bfloat16 on a CUDA device, float32 on CPU. */
export type TorchDtype = 'auto' | 'float32' | 'bfloat16' | 'float16';
export const TORCH_DTYPES: readonly TorchDtype[] = ['auto', 'float32', 'bfloat16', 'float16'];

/** What the torch provider runs on, as its Python process reported it at start. */
export interface TorchRuntime {
  python: string;
  torchVersion: string;
  /** e.g. "cuda:0 (NVIDIA H200)" or "cpu". */
  device: string;
  dtype: Exclude<TorchDtype, 'auto'>;
  /** The Python process's peak resident memory so far, MiB (updated with each forward). */
  peakRssMiB?: number;
  /**
   * The most of it seen (at load and after each forward) that was its own data rather than pages of the files it
   * maps (Linux RssAnon): with CUDA, most of peakRssMiB is the CUDA libraries' code, which the system can page out.
   */
  anonRssMiB?: number;
  /** Forward passes so far and the milliseconds PyTorch spent in them (inputs on the device to outputs on the host). */
  forwards?: number;
  forwardMs?: number;
  /**
   * Where those milliseconds went, summed over the forwards: the host checks, queueing the inputs and the forward
   * (the host runs ahead of the GPU), waiting for the outputs on the host, and (not in forwardMs) the pipe both ways.
   */
  phasesMs?: { check: number; launch: number; wait: number; wire: number };
}
/**
 * How a prompt's per-layer representation is read: the last token (the paper), the end-of-request token (the
 * template token right after the prompt, e.g. <|eot_id|>; the last token when the template has none after the
 * prompt; the paper's other choice) or the mean over tokens.
 */
export type Pooling = 'last' | 'mean' | 'request-end';
export type TruncationSide = 'left' | 'right';

export interface ProviderAttempt {
  provider: ProviderName;
  ok: boolean;
  /** Why it was skipped or failed (absent when ok). */
  reason?: string;
}

export interface ProviderReport {
  /** The provider that actually ran the forward pass. */
  used: ProviderName;
  requested: ProviderChoice;
  attempts: ProviderAttempt[];
  /** Why `auto` chose this provider (expected speed for the model's size, see engine/src/runtime/providerChoice.ts). */
  reason?: string;
  /** Set when the requested provider failed mid-run and the run was redone on CPU. */
  fellBackToCpu?: string;
  /** Set when a batch ran out of device memory and was run as smaller batches on the same device (the torch provider). */
  splitBatches?: string;
  /** Milliseconds of the one tiny forward pass run at load on a GPU provider (shader compilation), so the first explain is not the slow one. */
  warmUpMs?: number;
  /** Set when `used` is torch. */
  torch?: TorchRuntime;
}

export interface ArchitectureInfo {
  type: string;
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  intermediateSize: number;
  vocabSize: number;
  maxContext: number;
}

export interface BundleInfo {
  dir: string;
  name: string;
  description: string;
  formatVersion: number;
  architecture: ArchitectureInfo;
  /** Layer indices: 0 = embedding output, i = output of block i (1..numLayers). */
  targetLayers: number[];
  representation: Pooling;
  promptTemplate: string;
  logitScale: number;
  concepts: string[];
  safeConcepts: string[];
  banks: string[];
  defaultBank: string;
}

/** Per-layer statistics of a concept bank (from calibration data). */
export interface LayerStats {
  layer: number;
  /** Mean cosine between representations of examples of the same concept. */
  sameConceptCos: number;
  /** Mean cosine between representations of examples of different concepts. */
  differentConceptCos: number;
  /** sameConceptCos - differentConceptCos: the paper's headline measure. */
  gap: number;
  /** Mean silhouette (cosine distance), when computed. */
  silhouette?: number;
  /** Nearest-prototype accuracy on a held-out split, when computed. */
  heldOutAccuracy?: number;
  /**
   * 5th percentile over the held-out rows of their highest cosine to any prototype, when computed: a prompt
   * below it is far from every concept seen in calibration (headline.lowConfidence).
   */
  heldOutMaxCosineP05?: number;
  /** Concept × concept cosine similarity of the prototypes. */
  prototypeSimilarity: number[][];
  /** Examples per concept used to build the prototypes. */
  counts: number[];
}

/** Why a headline is low-confidence: its best cosine at the target layer is below the bank's heldOutMaxCosineP05. */
export interface LowConfidence {
  reason: string;
  /** The prompt's highest cosine to any prototype at the target layer. */
  maxCosine: number;
  /** The target layer's heldOutMaxCosineP05. */
  threshold: number;
}

export interface BankInfo {
  name: string;
  concepts: string[];
  safeConcepts: string[];
  /** false: the bank was calibrated without a safe list, so no concept is known to be safe or unsafe. */
  safetyKnown: boolean;
  pooling: Pooling;
  stats: LayerStats[];
}

export interface LayerScores {
  layer: number;
  /** Cosine similarity of the prompt's representation to each concept prototype, in [-1, 1]. */
  cosine: number[];
  /** softmax(logitScale * cosine) over concepts. */
  probs: number[];
  predicted: number;
  /** Probability of the predicted concept minus that of the runner-up. */
  margin: number;
}

export interface TokenInfo {
  id: number;
  /** Decoded text of this token alone (readable, not byte-level symbols). */
  text: string;
  /** False for tokens added by the prompt template or special tokens. */
  fromPrompt: boolean;
}

export interface Truncation {
  side: TruncationSide;
  originalTokens: number;
  keptTokens: number;
  /**
   * Set when the prompt was longer than the engine tokenizes (engine/src/limits.ts): it was cut to keptChars of
   * its originalChars characters first, and originalTokens counts the tokens of that cut text.
   */
  originalChars?: number;
  keptChars?: number;
}

export interface NextToken {
  id: number;
  text: string;
  prob: number;
}

export interface ExplainOptions {
  pooling?: Pooling;
  /** Bank name inside the bundle (default: the bundle's defaultBank). */
  bank?: string;
  /** Maximum number of prompt tokens kept (default and cap: the model context). */
  maxTokens?: number;
  truncation?: TruncationSide;
  /** Layers for which the token × concept matrix is returned: 'all', 'target' or explicit indices. */
  tokenLayers?: 'all' | 'target' | number[];
  /** Restrict per-layer scoring to this inclusive range (default: all layers). */
  layerRange?: [number, number];
  /** How many next-token predictions to return (default 5). */
  topNextTokens?: number;
}

export interface ExplainResult {
  id: string;
  createdAt: string;
  /** The user's text as given. */
  text: string;
  /** The text after the bundle's prompt template was applied (what the model saw). */
  templatedText: string;
  tokens: TokenInfo[];
  truncation: Truncation | null;
  pooling: Pooling;
  /** The index in `tokens` the representation was read at (null for mean pooling); absent in results saved before it was added. */
  readOut?: number | null;
  bank: string;
  concepts: string[];
  safeConcepts: string[];
  targetLayer: number;
  logitScale: number;
  /** Things the reader should know about this result (e.g. pooled differently from the bank's calibration). */
  warnings?: string[];
  /** One entry per scored layer, in increasing layer order. */
  layers: LayerScores[];
  headline: {
    concept: string;
    conceptIndex: number;
    confidence: number;
    margin: number;
    layer: number;
    /** null: the bank does not say which concepts are safe (unknown, not unsafe). */
    safe: boolean | null;
    /** Probability of the headline concept at each entry of `layers`. */
    trajectory: number[];
    /** Present when the prompt is far from every concept seen in calibration: then `confidence` means little. */
    lowConfidence?: LowConfidence;
  };
  /** Token × concept cosine at selected layers, to 6 decimals (explain.ts tokenScoresOf): tokenScores[k] belongs to layer tokenScoreLayers[k]. */
  tokenScoreLayers: number[];
  tokenScores: number[][][];
  /** Calibration statistics of the bank, per layer (context for the scores). */
  bankStats: LayerStats[];
  nextTokens: NextToken[];
  provider: ProviderReport;
  timingsMs: { tokenize: number; forward: number; score: number; total: number };
  bundle: { name: string; dir: string };
  /** The bank's 2-D concept map with this prompt on it (absent in results made before it was added). */
  conceptMap?: ConceptMapView | ConceptMapAbsent;
}

/**
 * The bank's calibration examples projected to 2-D at one layer (UMAP, computed when the bank was
 * calibrated: engine/src/calibration/conceptMap.ts), coloured by concept, and the prompt placed on it.
 */
export interface ConceptMapView {
  status: 'ok';
  bank: string;
  layer: number;
  /** The map's own concept names, when its points index those rather than the result's concepts (an evaluation
   * that calibrated on its dataset shows the bundle's default bank's map). */
  concepts?: string[];
  /** One entry per example: its concept (an index into `concepts`, else the result's concepts), x and y in [0, 1], its text (cut). */
  points: { concept: number[]; x: number[]; y: number[]; text: string[] };
  /** How the map was made and the prompt placed, in words. */
  method: string;
  /** The prompt's place; null when it cannot be placed (`note` says why). */
  prompt: { x: number; y: number; neighbours: number[]; nearestCosine: number } | null;
  note?: string;
}

/** Why there is no map: the bank has none (calibrated before maps existed) or its map file is damaged. */
export interface ConceptMapAbsent {
  status: 'missing' | 'invalid';
  message: string;
}

// ───────────────────────────── (2) engine JSON-RPC ─────────────────────────────
// The extension talks to `dist/engine-server.js` (a child process) over stdio with vscode-jsonrpc.

export interface EngineConfig {
  bundleDir: string;
  provider: ProviderChoice;
  intraOpThreads?: number;
  /** For provider torch: the Python to run (default: the import's, engine/src/importer.ts defaultPython) and the compute type. */
  torch?: { python?: string; dtype?: TorchDtype };
  /** Root of the user's calibrated banks: <userBankDir>/<bundle name>/*.json are loaded too and calibrate writes there. */
  userBankDir?: string;
  /**
   * The options of the explains the warm-up at load runs on a GPU provider (default { tokenLayers: 'target' }):
   * give those the host will explain with, so that what the provider prepares is theirs (the torch provider
   * captures CUDA graphs per set of outputs asked for: the extension asks for every layer's token scores).
   */
  warmUpWith?: ExplainOptions;
  /**
   * Worker threads that tokenize and score batches of 8 or more prompts beside the engine's own (engine/src/hostWork/):
   * 'auto' uses the cores less two, at most 8, while the forward runs on a GPU; a number uses that many on any
   * provider; 0 (the default until they are measured on a GPU; env SEER_HOST_THREADS when this is unset) turns them off.
   */
  hostThreads?: number | 'auto';
}

export interface EngineErrorData {
  /** Stable machine-readable code; its category (ERROR_CATEGORY) tells the host how to react. */
  code: EngineErrorCode;
  /** The file concerned, when there is one. */
  file?: string;
  /** What the user can do about it, worded for VS Code (commands and settings, never CLI flags). */
  fix?: string;
}

// The methods themselves are vscode-jsonrpc message types in common/engineProtocol.ts (kept apart so
// that the webview bundle, which imports this file, does not pull in vscode-jsonrpc).

export interface ExplainParams {
  text: string;
  options?: ExplainOptions;
}

export interface ExplainBatchParams {
  texts: string[];
  options?: ExplainOptions;
  /** When set, the engine sends a progress notification with this token after each batch. */
  progressToken?: string;
}

/** Add `strength` × the concept's unit prototype at the target layer (negative: away from it); docs/cli.md#generate. */
export interface SteeringTerm {
  concept: string;
  strength: number;
}

/** seer/generate: continue `text` token by token with the concept profile per token (engine/src/generate.ts). */
export interface GenerateParams {
  text: string;
  /** New tokens at most (fewer when the model writes its eos or the context is full). */
  maxNewTokens: number;
  /** 0 (default): greedy. Above 0: sampled from softmax(logits / temperature). */
  temperature?: number;
  /** Nucleus sampling: only the most probable tokens whose probabilities add up to topP (default 1: all). */
  topP?: number;
  /** The sampler's 32-bit seed: the same seed, prompt and options give the same tokens (default: a random one). */
  seed?: number;
  /** The bank whose concepts are traced and steered (default: the bundle's default bank). */
  bank?: string;
  steer?: SteeringTerm[];
  /** When set, the engine sends a seer/generationStep notification with this token per new token. */
  progressToken?: string;
}

/** One generated token and the model's concept profile as it chose it. */
export interface GenerationStep {
  token: string;
  id: number;
  /** The most probable concept (of `probs`). */
  concept: string;
  /** One per concept of the bank, in its order: at the target layer, at the last token before this one. */
  probs: number[];
}

export type StopReason = 'eos' | 'max-new-tokens' | 'context' | 'cancelled';

export interface Generation {
  /** The generated continuation (the prompt not included), decoded as a whole. */
  text: string;
  concepts: string[];
  steps: GenerationStep[];
  stopReason: StopReason;
}

/** Engine → host during seer/generate: step `index` (0-based) of the request that carried `token`. */
export interface GenerationStepParams {
  token: string;
  index: number;
  step: GenerationStep;
}

export interface LoadResult {
  bundle: BundleInfo;
  provider: ProviderReport;
  banks: BankInfo[];
}

export interface ProgressParams {
  /** Correlates with the request that asked for progress. */
  token: string;
  done: number;
  total: number;
  message?: string;
}

/** A labelled dataset: CSV, TSV or JSONL, read as a stream. */
export interface DatasetSpec {
  path: string;
  /** Columns joined (with a blank line) into the text, e.g. ['prompt'] or ['prompt', 'response']. */
  textColumns: string[];
  labelColumn: string;
}

export interface CalibrateParams extends DatasetSpec {
  /** Name of the bank written (default 'custom'). */
  bankName?: string;
  /** Output file (default: <userBankDir>/<bundle name>/<bankName>.json; the bundle is left untouched). */
  out?: string;
  /** Write into the bundle (<bundle>/banks/<bankName>.json, registered in seer.json) instead. */
  intoBundle?: boolean;
  /** Replace an existing bank of that name (refused otherwise). */
  force?: boolean;
  safeConcepts?: string[];
  pooling?: Pooling;
  batchSize?: number;
  /** Fraction of rows held out (per concept) for the held-out accuracy statistic. */
  heldOutFraction?: number;
  seed?: number;
  progressToken?: string;
}

export interface RowAccounting {
  rowsRead: number;
  rowsUsed: number;
  rowsSkipped: number;
  /** Reason → count, e.g. { 'empty text': 3, 'missing label': 1 }. */
  skipped: Record<string, number>;
  /** Rows longer than the context, truncated (and still used). */
  truncated: number;
}

export interface CalibrateResult {
  bankPath: string;
  bank: BankInfo;
  rows: RowAccounting;
  seconds: number;
  examplesPerSecond: number;
  tokensPerSecond: number;
  /** Things the user should know that did not stop the run (e.g. concepts left out for having one example). */
  warnings: string[];
}

export interface EvaluateParams extends DatasetSpec {
  /** Bank name or path whose concepts define the label set (default: prototypes from the data). */
  bank?: string;
  /** Fraction of each concept used to build prototypes; the rest is classified. */
  split?: number;
  seed?: number;
  safeConcepts?: string[];
  pooling?: Pooling;
  batchSize?: number;
  /** Layer of the reported target-layer matrices (default: the bundle's first target layer). */
  layer?: number;
  progressToken?: string;
}

/** Defined by the calibration/evaluation module (engine/src/calibration). */
export interface EvaluateReport {
  // Fields marked optional were added after the first version of this type; the engine always sets them.
  bundle: { name: string; dir: string };
  /** Short name for this run in a comparison, e.g. "seer-default · bank math". */
  label?: string;
  /** Where the prototypes came from: 'split' (built from the --split part of the data) or 'bank'. */
  prototypeSource?: 'split' | 'bank';
  /** Bank name (or file) when prototypeSource is 'bank'. */
  bank?: string;
  pooling?: Pooling;
  /** Fraction of each concept used for prototypes (and as the first of the two views), and its seed. */
  split?: number;
  seed?: number;
  dataset: string;
  concepts: string[];
  /** Rows classified per concept (the support of each confusion-matrix row). */
  support?: number[];
  /** The layer of confusionTarget and prototypeSimilarityTarget: the bundle's target layer unless EvaluateParams.layer chose another. */
  targetLayer: number;
  bestLayer: number;
  rows: RowAccounting;
  perLayer: Array<{
    layer: number;
    accuracy: number;
    macroF1: number;
    sameConceptCos: number;
    differentConceptCos: number;
    gap: number;
    silhouette: number;
    /** Paper's training-time metric: mean cosine of same-concept pairs vs different-concept pairs (two views). */
    samePairCos: number;
    differentPairCos: number;
    binaryAccuracy?: number;
  }>;
  confusionBest: number[][];
  confusionTarget: number[][];
  /** Safe/unsafe view ([[safe→safe, safe→unsafe], [unsafe→safe, unsafe→unsafe]]) when safeConcepts is not empty. */
  binaryConfusionBest?: number[][];
  binaryConfusionTarget?: number[][];
  prototypeSimilarityTarget: number[][];
  safeConcepts: string[];
  seconds: number;
  examplesPerSecond?: number;
  tokensPerSecond?: number;
  warnings?: string[];
  /** What the accuracies are read against (added with issue #11; absent in older reports). */
  baselines?: EvaluateBaselines;
  /** Whether the headline probability at targetLayer means what it says (added with issue #11; absent in older reports). */
  reliability?: Reliability;
  /**
   * The same states read with whitened cosine, fitted on the prototype part: is a gap to TF-IDF in the states or
   * in the read-out? (Added with issue #11; absent in older reports; skipped with a bank or a large model.)
   */
  whitened?: WhitenedReadout | WhitenedReadoutSkipped;
  /** The evaluated bank's 2-D concept map (no prompt placed), when the bank has one (issue #12). */
  conceptMap?: ConceptMapView | ConceptMapAbsent;
}

/** Reference accuracies on the same data: a representation worth reading beats all three. */
export interface EvaluateBaselines {
  /** 1 / number of concepts: a uniform guess. */
  uniformChance: number;
  /** Always answering the most frequent concept among the classified rows: its share of them. */
  majority: { concept: string; accuracy: number };
  /**
   * TF-IDF nearest-centroid on the same text (the prompt before the template), fitted on the prototype part of
   * the split and tested on the held-out part (with a bank, the model classifies every row; the baseline still
   * needs training rows, so it is tested on the held-out part only: rowsClassified says how many).
   */
  tfidf: { accuracy: number; macroF1: number; trainingRows: number; rowsClassified: number; vocabulary: number; recipe: string };
}

/** Nearest centroid under whitened cosine (engine/src/calibration/whitenedCentroid.ts has the recipe). */
export interface WhitenedReadout {
  recipe: string;
  /** α: the covariance is shrunk by α × its mean variance. */
  shrinkage: number;
  fittedRows: number;
  /** Every layer, or the target layer only when the d × d statistics of all layers would not fit in memory. */
  perLayer: Array<{ layer: number; accuracy: number; macroF1: number }>;
  bestLayer: number;
}

export interface WhitenedReadoutSkipped {
  skipped: string;
}

/** One equal-width bin of the headline probability: [from, to), the last bin including 1. */
export interface ReliabilityBin {
  from: number;
  to: number;
  count: number;
  /** NaN (null in JSON) for an empty bin, as is accuracy. */
  meanConfidence: number;
  accuracy: number;
}

/** The headline probability softmax(logitScale · cosine) of each classified row at `layer`, against being right. */
export interface Reliability {
  layer: number;
  logitScale: number;
  /** Expected calibration error: Σ_bins (count / rows) · |accuracy − mean confidence|. */
  ece: number;
  rows: number;
  bins: ReliabilityBin[];
}

// ───────────────────────────── (3) webview messages ─────────────────────────────
// Added by the extension work: ToWebviewMessage / FromWebviewMessage unions with a `type` field.

/** Charts the panel can export, one id per chart. */
export const ChartIds = ['layers', 'prototypes', 'layer-concept', 'tokens', 'calibration', 'concept-map'] as const;
export type ChartId = (typeof ChartIds)[number];
export type HeatmapScheme = 'sequential' | 'diverging';

/** What the panel needs besides the result; changes with the user's settings. */
export interface PanelSettings {
  heatmapScheme: HeatmapScheme;
}

/** Saved by the webview (vscode.setState) and handed back to the serializer after a reload. */
export interface PanelState {
  result?: ExplainResult;
  /** The compare view's comparison, when the panel shows one instead of a result. */
  comparison?: Comparison;
  layer?: number;
  hiddenConcepts?: string[];
}

export type ToWebviewMessage =
  | { type: 'result'; result: ExplainResult; settings: PanelSettings }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string }
  | { type: 'settings'; settings: PanelSettings }
  /** Generation (webview/src/generationView.ts): run 0 is plain, run 1 steered; a step as it comes, then the run's end. */
  /** `id`: the PanelGenerateRequest's, so that a late message of an earlier generation is told apart. */
  | { type: 'generationStep'; id: number; run: GenerationRun; index: number; step: GenerationStep }
  | { type: 'generationEnd'; id: number; run: GenerationRun; generation: Generation }
  | { type: 'generationError'; id: number; message: string }
  /**
   * A recorded generation reopened from the History (after the 'result' of its prompt): its runs as they ended,
   * plain then steered by `steer` (empty: no steered run). Rebuilt from the session file alone, a step's `probs`
   * is empty (its concept only).
   */
  | { type: 'generationRecorded'; generations: Generation[]; steer: SteeringTerm[] }
  /** Explain File (webview/src/fileTable.ts): rows as batches arrive; `reset` starts a new table, `done` ends it. */
  | { type: 'fileRows'; file: string; total: number; rows: FileRow[]; reset: boolean; done: boolean }
  /** Compare (webview/src/compareView.ts): two or more explanations side by side (A the reference); `id` comes back in 'rendered'. */
  | { type: 'comparison'; id: string; comparison: Comparison };

/** One prompt of an explained file, as its table row. */
export interface FileRow {
  /** Position in the file's prompts (0-based): what the panel sends back to open it. */
  index: number;
  /** 1-based line where the prompt starts. */
  line: number;
  /** 1-based line where it ends (a paragraph or CSV cell may span lines): the editor flags them all. */
  lastLine: number;
  /** The prompt, cut for the table. */
  text: string;
  concept: string;
  confidence: number;
  margin: number;
  /** null: the bank does not say which concepts are safe. */
  safe: boolean | null;
  lowConfidence: boolean;
  /** The concept is in the user's risk set (seer.riskConcepts): the row is flagged in the editor too. */
  risk: boolean;
}

/** 0: the plain run; 1: the steered run (only when the panel asked for steering). */
export type GenerationRun = 0 | 1;

/** The panel's Generate: the host continues its current result's prompt (never text sent by the webview). */
export interface PanelGenerateRequest {
  /** Chosen by the webview, one per Generate press; echoed in the host's generation messages. */
  id: number;
  maxNewTokens: number;
  temperature: number;
  /** Steering: then a plain and a steered run side by side. */
  steer?: SteeringTerm;
}

/** Bounds of the panel's generation controls (the host checks every message against them). */
export const PANEL_GENERATION = { maxNewTokens: 1024, maxTemperature: 10, conceptChars: 200 } as const;

export type FromWebviewMessage =
  | { type: 'ready' }
  /** Rendering of result `id` finished, taking `ms` milliseconds (for benchmarks and tests). */
  | { type: 'rendered'; id: string; ms: number; charts: ChartId[] }
  /** The webview serialized a chart; the host asks where to save it and writes the file. */
  | { type: 'exportChart'; chart: ChartId; format: 'svg' | 'png'; data: string }
  /** The host writes the current result itself: the webview sends no data. */
  | { type: 'exportResult'; format: 'json' | 'csv' }
  | ({ type: 'generate' } & PanelGenerateRequest)
  /** Stops the generation; the tokens so far stay. */
  | { type: 'stopGeneration' }
  /** A row of the file table clicked: the host explains that prompt in full and reveals its line. */
  | { type: 'openFileRow'; index: number }
  /** The host writes the file table it holds as CSV: the webview sends no data. */
  | { type: 'exportFileTable' };

/** Largest payload the host accepts from the webview (a PNG data URL of a big chart). */
export const MAX_WEBVIEW_PAYLOAD = 32 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Host-side validation: the webview is untrusted, every field is checked before use. */
export function isFromWebviewMessage(v: unknown): v is FromWebviewMessage {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready':
      return true;
    case 'rendered':
      return typeof v.id === 'string' && typeof v.ms === 'number' && Number.isFinite(v.ms) &&
        Array.isArray(v.charts) && v.charts.every((c) => (ChartIds as readonly unknown[]).includes(c));
    case 'exportChart':
      if (!(ChartIds as readonly unknown[]).includes(v.chart) || typeof v.data !== 'string') return false;
      if (v.data.length > MAX_WEBVIEW_PAYLOAD) return false;
      if (v.format === 'svg') return v.data.trimStart().startsWith('<svg');
      if (v.format === 'png') return v.data.startsWith('data:image/png;base64,');
      return false;
    case 'exportResult':
      return v.format === 'json' || v.format === 'csv';
    case 'generate': {
      const n = v.maxNewTokens;
      const t = v.temperature;
      const s = v.steer;
      const steerOk = s === undefined || (isObject(s) && typeof s.concept === 'string' && s.concept.length > 0 &&
        s.concept.length <= PANEL_GENERATION.conceptChars && typeof s.strength === 'number' && Number.isFinite(s.strength));
      return Number.isSafeInteger(v.id) && typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= PANEL_GENERATION.maxNewTokens &&
        typeof t === 'number' && t >= 0 && t <= PANEL_GENERATION.maxTemperature && steerOk;
    }
    case 'stopGeneration':
    case 'exportFileTable':
      return true;
    case 'openFileRow':
      return Number.isSafeInteger(v.index) && (v.index as number) >= 0;
    default:
      return false;
  }
}

/** Webview-side guard for messages from the host. */
export function isToWebviewMessage(v: unknown): v is ToWebviewMessage {
  if (!isObject(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'result':
      return isObject(v.result) && Array.isArray(v.result.layers) && isObject(v.settings);
    case 'busy':
    case 'error':
      return typeof v.message === 'string';
    case 'settings':
      return isObject(v.settings);
    case 'generationStep':
      return typeof v.id === 'number' && (v.run === 0 || v.run === 1) && typeof v.index === 'number' && isObject(v.step) && Array.isArray(v.step.probs);
    case 'generationEnd':
      return typeof v.id === 'number' && (v.run === 0 || v.run === 1) && isObject(v.generation) && Array.isArray(v.generation.steps);
    case 'generationError':
      return typeof v.id === 'number' && typeof v.message === 'string';
    case 'generationRecorded':
      return Array.isArray(v.generations) && v.generations.length >= 1 && v.generations.length <= 2 && Array.isArray(v.steer) &&
        v.generations.every((g) => isObject(g) && Array.isArray(g.steps) && Array.isArray(g.concepts) && typeof g.stopReason === 'string');
    case 'fileRows':
      return typeof v.file === 'string' && typeof v.total === 'number' && Array.isArray(v.rows) &&
        typeof v.reset === 'boolean' && typeof v.done === 'boolean';
    case 'comparison':
      return typeof v.id === 'string' && isComparison(v.comparison);
    default:
      return false;
  }
}

/** The parts of a Comparison the compare view indexes: sides, matching layer and concept axes, one change per other side. */
function isComparison(c: unknown): c is Comparison {
  if (!isObject(c) || !Array.isArray(c.sides) || c.sides.length < 2 || !c.sides.every((s) => isObject(s) && isObject(s.headline))) return false;
  const { sides, layers, concepts, conceptsOnly, headlineCurves, changes } = c;
  const perLayer = (rows: unknown[]) => Array.isArray(layers) && rows.length === layers.length;
  return Array.isArray(layers) && Array.isArray(concepts) &&
    Array.isArray(conceptsOnly) && conceptsOnly.length === sides.length && conceptsOnly.every(Array.isArray) &&
    Array.isArray(headlineCurves) && headlineCurves.every((h) => isObject(h) && Array.isArray(h.values) && h.values.length === sides.length &&
      h.values.every((v) => Array.isArray(v) && perLayer(v))) &&
    Array.isArray(changes) && changes.length === sides.length - 1 && changes.every((ch, i) => isObject(ch) && ch.side === i + 1 &&
      typeof ch.confidenceChange === 'number' && Array.isArray(ch.differences) && perLayer(ch.differences) &&
      ch.differences.every((row) => Array.isArray(row) && row.length === concepts.length) &&
      Array.isArray(ch.textDiff) && ch.textDiff.every((p) => isObject(p) && typeof p.text === 'string' && ['same', 'removed', 'added'].includes(p.op as string)));
}
