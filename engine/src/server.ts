// The engine as a child process: JSON-RPC (vscode-jsonrpc) over stdio, logs on stderr only. Requests run
// with cancellation (the JSON-RPC CancellationToken becomes an AbortSignal) and progress notifications;
// every failure is a JSON-RPC error whose data is EngineErrorData, so the host never sees a crash.
import { CancellationToken, createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  type CalibrateParams,
  type EngineConfig,
  type EngineErrorData,
  EngineMethods,
  type EvaluateParams,
  type ExplainOptions,
  type ProgressParams,
} from '../../common/protocol';
import { calibrateRequest, evaluateRequest } from './calibration/requests';
import { Engine } from './engine';
import { asSeerError, SeerError } from './errors';

/** JSON-RPC error codes: -32800 is the LSP RequestCancelled code, -32000 a generic server error. */
const REQUEST_CANCELLED = -32800;
const SERVER_ERROR = -32000;

const log = (line: string) => process.stderr.write(`[seer-engine] ${line}\n`);
const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));

let engine: Engine | null = null;

export interface HandlerContext {
  signal: AbortSignal;
  /** Sends a progress notification when the request carried a progressToken. */
  progress(done: number, total: number, message?: string): void;
  engine(): Engine;
}

type Handler = (params: any, ctx: HandlerContext) => Promise<unknown>;

const handlers: Record<string, Handler> = {
  [EngineMethods.load]: async (config: EngineConfig) => {
    const previous = engine;
    engine = null;
    await previous?.dispose();
    engine = await Engine.load(config, log);
    return engine.info;
  },
  [EngineMethods.explain]: (p: { text: string; options?: ExplainOptions }, ctx) => ctx.engine().explain(p?.text, p?.options, ctx.signal),
  [EngineMethods.explainBatch]: (p: { texts: string[]; options?: ExplainOptions }, ctx) =>
    ctx.engine().explainBatch(p?.texts, p?.options, ctx.signal, (done, total) => ctx.progress(done, total)),
  [EngineMethods.calibrate]: (p: CalibrateParams, ctx) => calibrateRequest(ctx.engine(), p, ctx.signal, ctx.progress),
  [EngineMethods.evaluate]: (p: EvaluateParams, ctx) => evaluateRequest(ctx.engine(), p, ctx.signal, ctx.progress),
  [EngineMethods.shutdown]: async () => {
    await engine?.dispose();
    engine = null;
    // Exit once the response has been handed to stdout (it is written after this handler returns).
    setTimeout(() => process.stdout.write('', () => process.exit(0)), 50);
    return null;
  },
};

for (const [method, handler] of Object.entries(handlers)) {
  // vscode-jsonrpc passes (params, token), or just (token) when the request has no params.
  connection.onRequest(method, async (...args: unknown[]) => {
    const token = args[args.length - 1] as CancellationToken;
    const params = args.length > 1 ? args[0] : undefined;
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    const progressToken = (params as { progressToken?: unknown } | null)?.progressToken;
    const ctx: HandlerContext = {
      signal: controller.signal,
      progress: (done, total, message) => {
        if (typeof progressToken === 'string') {
          void connection.sendNotification(EngineMethods.progress, { token: progressToken, done, total, message } satisfies ProgressParams);
        }
      },
      engine: () => {
        if (!engine) throw new SeerError('NOT_LOADED', 'No bundle is loaded.', { fix: `Send ${EngineMethods.load} first.` });
        return engine;
      },
    };
    try {
      return await handler(params, ctx);
    } catch (err) {
      const e = asSeerError(err);
      if (e.code === 'INTERNAL') log(`${method} failed: ${(err as Error)?.stack ?? String(err)}`);
      return new ResponseError<EngineErrorData>(e.code === 'CANCELLED' ? REQUEST_CANCELLED : SERVER_ERROR, e.message, e.toData());
    } finally {
      sub.dispose();
    }
  });
}

// A bug must not take the process down silently: log it and keep serving.
process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? err}`));
connection.onClose(() => process.exit(0));
connection.listen();
log('ready');
