// The one error type users see. `code` is stable (mapped to EngineErrorData over JSON-RPC), `file` names
// what is wrong, `fix` says what to do. Anything else escaping the engine is a bug, reported as INTERNAL.
import type { EngineErrorCode } from '../../common/errorCodes';
import type { EngineErrorData } from '../../common/protocol';

/**
 * What the user can do. One string when it reads right everywhere; otherwise one wording per surface:
 * the terminal names `seer` commands and flags, VS Code names its commands and `seer.*` settings.
 */
export type Fix = string | { cli: string; editor: string };

/** Where an error is shown: the `seer` CLI in a terminal, or VS Code (through the engine server). */
export type Surface = 'cli' | 'editor';

export class SeerError extends Error {
  readonly code: EngineErrorCode;
  readonly file?: string;
  readonly fix?: Fix;

  constructor(code: EngineErrorCode, message: string, opts: { file?: string; fix?: Fix; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SeerError';
    this.code = code;
    this.file = opts.file;
    this.fix = opts.fix;
  }

  /** The fix worded for `surface`. */
  fixFor(surface: Surface): string | undefined {
    return typeof this.fix === 'object' ? this.fix[surface] : this.fix;
  }

  /** The error as the engine server sends it to VS Code. */
  toData(): EngineErrorData {
    return { code: this.code, file: this.file, fix: this.fixFor('editor') };
  }
}

/** The request was cancelled (AbortSignal / JSON-RPC cancellation). */
export function cancelledError(): SeerError {
  return new SeerError('CANCELLED', 'The request was cancelled.');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelledError();
}

/** Any thrown value as a SeerError: SeerErrors pass through, the rest become INTERNAL with the original message. */
export function asSeerError(err: unknown): SeerError {
  if (err instanceof SeerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SeerError('INTERNAL', `Internal error: ${message}`, {
    fix: 'This is a bug in seer; please report it with the input that caused it.',
    cause: err,
  });
}
