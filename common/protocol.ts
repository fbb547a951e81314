// The one protocol shared by the engine (child process + CLI), the extension host and the webview.
// Everything that crosses a process or iframe boundary is declared here and nowhere else.
// Sections: (1) results produced by the engine, (2) engine JSON-RPC parameters and results (the methods:
// common/engineProtocol.ts; the error codes: common/errorCodes.ts), (3) webview messages.
import type { EngineErrorCode } from './errorCodes';

// ───────────────────────────── (1) engine results ─────────────────────────────

export type ProviderName = 'cuda' | 'webgpu' | 'cpu';
export type ProviderChoice = 'auto' | ProviderName;
/** How a prompt's per-layer representation is read: the last token (the paper) or the mean over tokens. */
export type Pooling = 'last' | 'mean';
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
  /** Set when the requested provider failed mid-run and the run was redone on CPU. */
  fellBackToCpu?: string;
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
  /** Concept × concept cosine similarity of the prototypes. */
  prototypeSimilarity: number[][];
  /** Examples per concept used to build the prototypes. */
  counts: number[];
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
  };
  /** Token × concept cosine at selected layers: tokenScores[k] belongs to layer tokenScoreLayers[k]. */
  tokenScoreLayers: number[];
  tokenScores: number[][][];
  /** Calibration statistics of the bank, per layer (context for the scores). */
  bankStats: LayerStats[];
  nextTokens: NextToken[];
  provider: ProviderReport;
  timingsMs: { tokenize: number; forward: number; score: number; total: number };
  bundle: { name: string; dir: string };
}

// ───────────────────────────── (2) engine JSON-RPC ─────────────────────────────
// The extension talks to `dist/engine-server.js` (a child process) over stdio with vscode-jsonrpc.

export interface EngineConfig {
  bundleDir: string;
  provider: ProviderChoice;
  intraOpThreads?: number;
  /** Root of the user's calibrated banks: <userBankDir>/<bundle name>/*.json are loaded too and calibrate writes there. */
  userBankDir?: string;
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
}

// ───────────────────────────── (3) webview messages ─────────────────────────────
// Added by the extension work: ToWebviewMessage / FromWebviewMessage unions with a `type` field.

/** Charts the panel can export, one id per chart. */
export const ChartIds = ['layers', 'prototypes', 'layer-concept', 'tokens', 'calibration'] as const;
export type ChartId = (typeof ChartIds)[number];
export type HeatmapScheme = 'sequential' | 'diverging';

/** What the panel needs besides the result; changes with the user's settings. */
export interface PanelSettings {
  heatmapScheme: HeatmapScheme;
}

/** Saved by the webview (vscode.setState) and handed back to the serializer after a reload. */
export interface PanelState {
  result?: ExplainResult;
  layer?: number;
  hiddenConcepts?: string[];
}

export type ToWebviewMessage =
  | { type: 'result'; result: ExplainResult; settings: PanelSettings }
  | { type: 'busy'; message: string }
  | { type: 'error'; message: string }
  | { type: 'settings'; settings: PanelSettings };

export type FromWebviewMessage =
  | { type: 'ready' }
  /** Rendering of result `id` finished, taking `ms` milliseconds (for benchmarks and tests). */
  | { type: 'rendered'; id: string; ms: number; charts: ChartId[] }
  /** The webview serialized a chart; the host asks where to save it and writes the file. */
  | { type: 'exportChart'; chart: ChartId; format: 'svg' | 'png'; data: string }
  /** The host writes the current result itself: the webview sends no data. */
  | { type: 'exportResult'; format: 'json' | 'csv' };

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
    default:
      return false;
  }
}
