// What the engine's thread and its host worker threads (worker.ts) say to each other, by structured clone. What is
// big crosses as typed arrays: encoded prompts packed and transferred (packedPrompts.ts), a forward's output in shared
// memory (sharedOutputs.ts).
import type { EngineErrorCode } from '../../../common/errorCodes';
import type { ConceptMapAbsent, ExplainResult, ProviderReport, Truncation, TruncationSide } from '../../../common/protocol';
import type { ConceptBank, Manifest } from '../bundle/index';
import type { ConceptMap } from '../calibration/conceptMap';
import { SeerError } from '../errors';
import type { ResolvedOptions } from '../explain';
import type { ForwardOutput } from '../runtime/modelSession';
import type { PackedPrompts } from './packedPrompts';

/** The loaded bundle's parts a worker needs, and where its tokenizer file is (the real path the engine read). */
export interface BundleSource {
  dir: string;
  manifest: Manifest;
  manifestFile: string;
  modelFile: string;
  tokenizerFile: string;
}

/**
 * One row of a batch to explain: its prompt as encoded, less its tokens. A thread's results come without their token
 * view (tokens, tokenScores: an array per token, the bulk of a result), which the engine's thread adds: V8's
 * deserializer took ~2 µs an array (133 ms for a batch of 32 × 128 tokens × 17 token layers), the copy from the
 * forward's output there a fraction of that.
 */
export interface BuildRow {
  text: string;
  templatedText: string;
  truncation: Truncation | null;
  tokenizeMs: number;
}

export type Request =
  /**
   * Loads the tokenizer and encodes `probe` `rounds` times (its loops are optimised by V8 before the first batch, as
   * the engine's warm-up does on its own thread); answers its ids (the engine checks they are its own).
   */
  | { id: number; op: 'open'; source: BundleSource; probe: string; rounds: number }
  /** Encodes the texts in order, up to the first that fails (the engine reports the first failure). */
  | { id: number; op: 'tokenize'; texts: string[]; maxPrompt: number; side: TruncationSide }
  /** Answers the results of `rows`, rows firstRow, firstRow + 1, … of `out`, in order. */
  | {
    id: number;
    op: 'build';
    bank: number;
    opts: Omit<ResolvedOptions, 'bank'>;
    out: ForwardOutput;
    firstRow: number;
    rows: BuildRow[];
    provider: ProviderReport;
    forwardMs: number;
  };

/** Not answered: keep `bank` (and its map) as number `key` for later builds, and drop the banks numbered in `drop`. */
export interface KeepBank {
  op: 'bank';
  key: number;
  bank: ConceptBank;
  map: ConceptMap | ConceptMapAbsent;
  drop: number[];
}

/** The texts encoded before the first that failed (all of them, when `error` is absent), and each one's time. */
export interface TokenizedRun {
  prompts: PackedPrompts;
  ms: number[];
  error?: WireError;
}

export interface Answers {
  open: number[];
  tokenize: TokenizedRun;
  build: ExplainResult[];
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** An error as it crosses threads: a SeerError keeps its code, file and fix. */
export interface WireError {
  message: string;
  code?: EngineErrorCode;
  file?: string;
  fix?: SeerError['fix'];
}

export function toWire(err: unknown): WireError {
  if (err instanceof SeerError) return { message: err.message, code: err.code, file: err.file, fix: err.fix };
  return { message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(wire: WireError): Error {
  return wire.code === undefined ? new Error(wire.message) : new SeerError(wire.code, wire.message, { file: wire.file, fix: wire.fix });
}
