// The one error type users see. `code` is stable (mapped to EngineErrorData over JSON-RPC), `file` names
// what is wrong, `fix` says what to do. Anything else escaping the engine is a bug, reported as INTERNAL.
import type { EngineErrorData } from '../../common/protocol';

export class SeerError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly fix?: string;

  constructor(code: string, message: string, opts: { file?: string; fix?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SeerError';
    this.code = code;
    this.file = opts.file;
    this.fix = opts.fix;
  }

  toData(): EngineErrorData {
    return { code: this.code, file: this.file, fix: this.fix };
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
