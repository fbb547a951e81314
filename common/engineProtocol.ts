// The engine's JSON-RPC methods as vscode-jsonrpc message types, declared once and used by both ends:
// engine/src/server.ts registers one handler per type and extension/src/engineClient.ts sends them, so
// a parameter or result that does not match the declaration fails `tsc` on either side.
// The webview must not import this file: it would pull vscode-jsonrpc into the browser bundle.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type {
  CalibrateParams,
  CalibrateResult,
  EngineConfig,
  EngineErrorData,
  EvaluateParams,
  EvaluateReport,
  ExplainBatchParams,
  ExplainParams,
  ExplainResult,
  GenerateParams,
  Generation,
  GenerationStepParams,
  LoadResult,
  ProgressParams,
} from './protocol';

export const EngineRequests = {
  /** Loads (or replaces) the bundle and opens the model; must come before any other request. */
  load: new RequestType<EngineConfig, LoadResult, EngineErrorData>('seer/load'),
  explain: new RequestType<ExplainParams, ExplainResult, EngineErrorData>('seer/explain'),
  /** Progress per batch when params.progressToken is set. */
  explainBatch: new RequestType<ExplainBatchParams, ExplainResult[], EngineErrorData>('seer/explainBatch'),
  /** Builds and writes a concept bank; progress when params.progressToken is set. */
  calibrate: new RequestType<CalibrateParams, CalibrateResult, EngineErrorData>('seer/calibrate'),
  /** Per-layer accuracy and confusion on a labelled dataset; progress when params.progressToken is set. */
  evaluate: new RequestType<EvaluateParams, EvaluateReport, EngineErrorData>('seer/evaluate'),
  /** Continues a prompt token by token (a step notification each when params.progressToken is set); cancelling keeps the steps so far. */
  generate: new RequestType<GenerateParams, Generation, EngineErrorData>('seer/generate'),
  /** Releases the model and exits once the answer is written. */
  shutdown: new RequestType0<null, EngineErrorData>('seer/shutdown'),
} as const;

/** Engine → host, for requests that carried a progressToken (which the notification echoes). */
export const EngineProgress = new NotificationType<ProgressParams>('seer/progress');

/** Engine → host during seer/generate, per new token, for requests that carried a progressToken. */
export const EngineGenerationStep = new NotificationType<GenerationStepParams>('seer/generationStep');
