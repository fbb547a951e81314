// The engine child process seen from the extension host: started lazily, spoken to over typed
// JSON-RPC (vscode-jsonrpc on stdio), restarted after a crash, a hang or an out-of-memory exit.
// No vscode import: the host wires notifications, so this class is tested against the real engine.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import { errorCategory, isEngineErrorCode, type EngineErrorCode, type ErrorCategory } from '../../common/errorCodes';
import { EngineGenerationStep, EngineProgress, EngineRequests } from '../../common/engineProtocol';
import type { EngineConfig, EngineErrorData, ExplainOptions, ExplainResult, GenerationStepParams, LoadResult, ProgressParams } from '../../common/protocol';

/** An engine failure with the engine's stable code and, when it has them, the file and the fix. */
export class EngineError extends Error {
  constructor(message: string, readonly code: EngineErrorCode, readonly file?: string, readonly fix?: string) {
    super(message);
  }
  get category(): ErrorCategory {
    return errorCategory(this.code);
  }
  /** Cancelled by the user or replaced by a newer request: not worth a notification. */
  get quiet(): boolean {
    return this.category === 'cancelled';
  }
}

export interface EngineClientOptions {
  serverPath: string;
  /** Read at each (re)start, so that a settings change takes effect at the next load. */
  config: () => EngineConfig;
  /** A request without an answer for this long is a hang: the process is killed and restarted. */
  requestTimeoutMs: number;
  log: (line: string) => void;
  /** The process died on its own (crash, hang, out of memory); it restarts at the next request. */
  onCrash?: (reason: string) => void;
  onLoaded?: (result: LoadResult) => void;
  onProgress?: (p: ProgressParams) => void;
  /** Each new token of a seer/generate that carried a progressToken. */
  onGenerationStep?: (p: GenerationStepParams) => void;
  /** The engine process's environment, read at each start (e.g. seer.cudaLibraryPath on LD_LIBRARY_PATH); default: this process's. */
  env?: () => NodeJS.ProcessEnv;
}

const RPC_CANCELLED = -32800;
/**
 * How long a cancelled calibrate/evaluate/explainBatch waits for the engine's own answer: the engine stops
 * between batches, and a request that had already written its result answers with it, so what the user is
 * told matches what is on disk. Past this, it is reported as cancelled anyway.
 */
const CANCEL_GRACE_MS = 5000;

export class EngineClient {
  private proc?: ChildProcess;
  private conn?: MessageConnection;
  private loading?: Promise<LoadResult>;
  private lastLoad?: LoadResult;
  private stderrTail = '';
  private readonly pending = new Set<(e: EngineError) => void>();
  private currentExplain?: CancellationTokenSource;
  private disposed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  get running(): boolean {
    return this.proc !== undefined;
  }

  get loaded(): LoadResult | undefined {
    return this.lastLoad;
  }

  /** Starts the process and loads the bundle, once; later calls share the same promise. */
  ensureLoaded(): Promise<LoadResult> {
    if (this.disposed) return Promise.reject(new EngineError('The SEER engine was shut down.', 'DISPOSED'));
    if (!this.loading) {
      this.start();
      const loading = this.call(EngineRequests.load, this.opts.config(), undefined, this.opts.requestTimeoutMs);
      this.loading = loading.then(
        (r) => {
          this.lastLoad = r;
          this.opts.onLoaded?.(r);
          return r;
        },
        (e: unknown) => {
          // A bundle that fails to load leaves the process useless for this config: start over next time.
          this.stop();
          throw e;
        },
      );
    }
    return this.loading;
  }

  /** Explains `text`; a newer explain cancels this one (it then rejects with code SUPERSEDED). */
  async explain(text: string, options: ExplainOptions, token?: CancellationToken): Promise<ExplainResult> {
    this.currentExplain?.cancel();
    const mine = new CancellationTokenSource();
    this.currentExplain = mine;
    token?.onCancellationRequested(() => mine.cancel());
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.ensureLoaded();
          if (mine.token.isCancellationRequested) throw this.cancelled(mine);
          return await this.call(EngineRequests.explain, { text, options }, mine.token, this.opts.requestTimeoutMs);
        } catch (e) {
          // The bundle or provider changed while this explain ran: explain again with the new engine, once.
          if (attempt === 1 && e instanceof EngineError && e.code === 'ENGINE_RESTARTED' && !mine.token.isCancellationRequested) continue;
          throw e;
        }
      }
    } catch (e) {
      if (mine.token.isCancellationRequested) throw this.cancelled(mine);
      throw e;
    } finally {
      if (this.currentExplain === mine) this.currentExplain = undefined;
      mine.dispose();
    }
  }

  /** Any other engine request (calibrate, evaluate, explainBatch), with its own time limit. */
  async request<P, R>(type: RequestType<P, R, EngineErrorData>, params: P, token?: CancellationToken, timeoutMs?: number): Promise<R> {
    await this.ensureLoaded();
    return this.call(type, params, token, timeoutMs ?? this.opts.requestTimeoutMs, CANCEL_GRACE_MS);
  }

  /** Drops the process (e.g. the bundle or provider setting changed); the next request starts anew. */
  async reload(): Promise<void> {
    await this.shutdown();
  }

  /** Asks the engine to exit, then makes sure it did. */
  async shutdown(): Promise<void> {
    const proc = this.proc;
    const conn = this.conn;
    if (!proc || !conn) return;
    this.detach();
    // Requests still in flight belong to the old engine: say so clearly (an explain retries on the new one).
    this.failPending(new EngineError('The SEER engine restarted with new settings while this request ran.', 'ENGINE_RESTARTED', undefined, 'Run it again.'));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await Promise.race([conn.sendRequest(EngineRequests.shutdown), delay(1000)]);
    } catch {
      // Already gone: nothing to shut down.
    }
    if (proc.exitCode === null && proc.signalCode === null) {
      await Promise.race([exited, delay(1500)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    conn.dispose();
  }

  dispose(): Promise<void> {
    this.disposed = true;
    return this.shutdown();
  }

  /** For tests and the "engine killed mid-run" case: the process id of the running engine. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private start(): void {
    this.stderrTail = '';
    const proc = spawn(process.execPath, [this.opts.serverPath], {
      env: { ...(this.opts.env?.() ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // vscode-jsonrpc rejects unhandled (a throw inside an async Promise executor) when a request is
    // written to a dead process's stdin. Writing through a PassThrough that outlives the process keeps
    // such late writes harmless: after the exit it discards them.
    const toEngine = new PassThrough();
    toEngine.pipe(proc.stdin!);
    proc.on('exit', () => {
      toEngine.unpipe();
      toEngine.resume();
    });
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(toEngine));
    conn.onNotification(EngineProgress, (p) => this.opts.onProgress?.(p));
    conn.onNotification(EngineGenerationStep, (p) => this.opts.onGenerationStep?.(p));
    conn.onError(([err]) => this.opts.log(`engine connection error: ${err.message}`));
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line.trim()) this.opts.log(`[engine] ${line}`);
    });
    proc.stdin!.on('error', () => undefined); // EPIPE after a crash is reported by 'exit'.
    proc.on('error', (err) => this.died(proc, `could not start: ${err.message}`));
    proc.on('exit', (code, signal) => this.died(proc, this.exitReason(code, signal)));
    conn.listen();
    this.proc = proc;
    this.conn = conn;
    this.opts.log(`engine started (pid ${proc.pid})`);
  }

  private exitReason(code: number | null, signal: NodeJS.Signals | null): string {
    if (/heap out of memory|ERR_MEMORY|std::bad_alloc|Failed to allocate/i.test(this.stderrTail)) return 'it ran out of memory';
    if (signal) return `it was killed (${signal})`;
    return `it exited with code ${code}`;
  }

  /** The process ended: unexpected unless we detached it first. */
  private died(proc: ChildProcess, reason: string): void {
    if (this.proc !== proc) return;
    this.detach();
    this.opts.log(`engine stopped: ${reason}`);
    this.failPending(new EngineError(`The SEER engine stopped: ${reason}.`, 'ENGINE_CRASHED', undefined,
      'It restarts automatically at the next request; see "SEER: Show Output" for details.'));
    if (!this.disposed) this.opts.onCrash?.(reason);
  }

  private detach(): void {
    const conn = this.conn;
    this.proc = undefined;
    this.conn = undefined;
    this.loading = undefined;
    conn?.dispose();
  }

  private stop(): void {
    const proc = this.proc;
    this.detach();
    proc?.kill('SIGKILL');
  }

  private failPending(err: EngineError): void {
    for (const reject of [...this.pending]) reject(err);
    this.pending.clear();
  }

  private cancelled(src: CancellationTokenSource): EngineError {
    return src === this.currentExplain || this.currentExplain === undefined
      ? new EngineError('Cancelled.', 'CANCELLED')
      : new EngineError('Replaced by a newer request.', 'SUPERSEDED');
  }

  /**
   * One request, rejected on cancellation (at once, or when the engine answers within `cancelGraceMs`), on the
   * process dying, or after `timeoutMs` (a hang).
   */
  private call<P, R>(type: RequestType<P, R, EngineErrorData>, params: P, token: CancellationToken | undefined, timeoutMs: number, cancelGraceMs = 0): Promise<R> {
    const { method } = type;
    const conn = this.conn;
    const proc = this.proc;
    if (!conn || !proc) return Promise.reject(new EngineError('The SEER engine is not running.', 'ENGINE_CRASHED'));
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        sub?.dispose();
        this.pending.delete(onDeath);
        fn();
      };
      const onDeath = (e: EngineError): void => finish(() => reject(e));
      this.pending.add(onDeath);
      const timer = setTimeout(() => {
        finish(() => reject(new EngineError(`The SEER engine did not answer ${method} within ${Math.round(timeoutMs / 1000)} s.`,
          'ENGINE_TIMEOUT', undefined, 'It was restarted; try a shorter prompt or raise seer.requestTimeoutSeconds.')));
        this.opts.log(`engine hang on ${method}: killing pid ${proc.pid}`);
        this.stop();
        this.failPending(new EngineError('The SEER engine was restarted after a hang.', 'ENGINE_TIMEOUT'));
        this.opts.onCrash?.(`it did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs);
      const cancelled = () => finish(() => reject(new EngineError('Cancelled.', 'CANCELLED')));
      let graceTimer: NodeJS.Timeout | undefined;
      const sub = token?.onCancellationRequested(() => {
        if (cancelGraceMs > 0) graceTimer ??= setTimeout(cancelled, cancelGraceMs);
        else cancelled();
      });
      conn.sendRequest(type, params, token).then(
        (r) => finish(() => resolve(r)),
        (e: unknown) => finish(() => reject(toEngineError(e))),
      );
    });
  }
}

export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof ResponseError) {
    if (e.code === RPC_CANCELLED) return new EngineError('Cancelled.', 'CANCELLED');
    const data = (e.data ?? {}) as Partial<Record<keyof EngineErrorData, unknown>>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return new EngineError(e.message, isEngineErrorCode(data.code) ? data.code : 'ENGINE_ERROR', str(data.file), str(data.fix));
  }
  return new EngineError(e instanceof Error ? e.message : String(e), 'ENGINE_ERROR');
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
