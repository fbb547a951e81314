// Every error code the engine (child process, CLI) and the extension's engine client can report, each
// with the category the user interface acts on. A code not listed here fails `tsc` where it is thrown.

/**
 * bundle: the model bundle (manifest, model, tokenizer, a bank) is missing, damaged or inconsistent —
 *   the extension offers to pick another bundle.
 * input: the request, a prompt, a dataset or an output path is wrong — the user can fix what they sent.
 * provider: the execution provider (CPU/CUDA/WebGPU) could not run the model.
 * cancelled: the user cancelled, or a newer request replaced this one — not worth a notification.
 * engine: the engine process crashed, hung, was shut down, or hit a bug.
 */
export type ErrorCategory = 'bundle' | 'input' | 'provider' | 'cancelled' | 'engine';

export const ERROR_CATEGORY = {
  // The model bundle.
  BUNDLE_NOT_FOUND: 'bundle',
  BUNDLE_INVALID: 'bundle',
  BUNDLE_VERSION: 'bundle',
  MODEL_INVALID: 'bundle',
  MODEL_MISMATCH: 'bundle',
  MODEL_CHANGED: 'bundle',
  TOKENIZER_INVALID: 'bundle',
  CONTEXT_TOO_SMALL: 'bundle',
  BANK_INVALID: 'bundle',
  BANK_MODEL_MISMATCH: 'bundle',
  // What the user or the host sent.
  /** A request parameter, an option or a command-line argument has the wrong type or value. */
  INVALID_ARGUMENT: 'input',
  /** A prompt file's content is malformed (e.g. a JSONL line that is not JSON). */
  BAD_INPUT: 'input',
  EMPTY_INPUT: 'input',
  INVALID_UTF8: 'input',
  FILE_NOT_FOUND: 'input',
  UNKNOWN_BANK: 'input',
  BANK_NAME_INVALID: 'input',
  BANK_EXISTS: 'input',
  SAFE_CONCEPT_UNKNOWN: 'input',
  LABELS_MISMATCH: 'input',
  DATASET_NOT_FOUND: 'input',
  DATASET_FORMAT: 'input',
  DATASET_ENCODING: 'input',
  DATASET_MALFORMED: 'input',
  DATASET_EMPTY: 'input',
  DATASET_NO_ROWS: 'input',
  DATASET_COLUMN_MISSING: 'input',
  DATASET_TOO_FEW_CONCEPTS: 'input',
  DATASET_TOO_MANY_CONCEPTS: 'input',
  WRITE_FAILED: 'input',
  /** A `.seer-session.json` that is not JSON, not a session, or too large: left as it is, with a backup copy. */
  SESSION_INVALID: 'input',
  /** Another window held the session file's lock too long. */
  SESSION_LOCKED: 'input',
  // The execution provider.
  PROVIDER_UNAVAILABLE: 'provider',
  FORWARD_FAILED: 'provider',
  // Cancellation.
  CANCELLED: 'cancelled',
  /** Extension only: a newer explain replaced this one. */
  SUPERSEDED: 'cancelled',
  // The engine itself.
  /** A bug: anything thrown that is not a SeerError. */
  INTERNAL: 'engine',
  /** A request arrived before seer/load (a host bug). */
  NOT_LOADED: 'engine',
  /** Extension only: the engine process died during the request. */
  ENGINE_CRASHED: 'engine',
  /** Extension only: the engine did not answer in time and was restarted. */
  ENGINE_TIMEOUT: 'engine',
  /** Extension only: the engine was restarted for a new bundle or setting while the request ran (an explain is retried once on the new one). */
  ENGINE_RESTARTED: 'engine',
  /** Extension only: the client was disposed (the extension is shutting down). */
  DISPOSED: 'engine',
  /** Extension only: an answer from the engine that carried no known code. */
  ENGINE_ERROR: 'engine',
} as const satisfies Record<string, ErrorCategory>;

export type EngineErrorCode = keyof typeof ERROR_CATEGORY;

export function isEngineErrorCode(v: unknown): v is EngineErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATEGORY, v);
}

export function errorCategory(code: EngineErrorCode): ErrorCategory {
  return ERROR_CATEGORY[code];
}
