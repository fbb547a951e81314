// The engine as a child process: JSON-RPC (vscode-jsonrpc) over stdio, logs on stderr only. Each request
// type of common/engineProtocol.ts has one handler here; its params are checked (serverParams.ts) before
// the handler runs. Requests run with cancellation (the JSON-RPC CancellationToken becomes an AbortSignal)
// and progress notifications; every failure is a JSON-RPC error whose data is EngineErrorData (with the
// fix worded for VS Code), so the host never sees a crash. A malformed frame ends the process (see below).
import { CancellationToken, createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { RequestType } from 'vscode-jsonrpc';
import { EngineGenerationStep, EngineProgress, EngineRequests } from '../../common/engineProtocol';
import type { EngineErrorData } from '../../common/protocol';
import { calibrateRequest, evaluateRequest } from './calibration/requests';
import { Engine } from './engine';
import { asSeerError, SeerError, throwIfAborted } from './errors';
import { checkParams } from './serverParams';
import { CUDA_LIBS_ENV, setUpCudaLibs } from './runtime/cudaSetup';
import { ortBinaryDir } from './runtime/providers';

/** JSON-RPC error codes: -32800 is the LSP RequestCancelled code, -32000 a generic server error. */
const REQUEST_CANCELLED = -32800;
const SERVER_ERROR = -32000;

const log = (line: string) => process.stderr.write(`[seer-engine] ${line}\n`);
const reader = new StreamMessageReader(process.stdin);
const connection = createMessageConnection(reader, new StreamMessageWriter(process.stdout));

let engine: Engine | null = null;
/**
 * seer.cudaLibraryPath: the host started this process with the folder on LD_LIBRARY_PATH and in SEER_CUDA_LIBS;
 * its CUDA provider is linked where onnxruntime looks (runtime/cudaSetup.ts) before the first load.
 */
const cudaLibsProblem: Promise<SeerError | null> = process.env[CUDA_LIBS_ENV]
  ? setUpCudaLibs(process.env[CUDA_LIBS_ENV], ortBinaryDir()).then((lines) => (lines.forEach((l) => log(`CUDA provider: ${l}`)), null), (err: unknown) => asSeerError(err))
  : Promise.resolve(null);

export interface HandlerContext {
  signal: AbortSignal;
  /** Sends a progress notification when the request carried a progressToken. */
  progress(done: number, total: number, message?: string): void;
  engine(): Engine;
}

/**
 * Registers `handler` for `type`. vscode-jsonrpc calls handlers with (params, token), or with just
 * (token) when a request has no params, so the params are taken from the arguments and checked here.
 */
function serve<P, R>(type: RequestType<P, R, EngineErrorData>, check: (raw: unknown, field: string) => P, handler: (params: P, ctx: HandlerContext) => Promise<R>): void {
  connection.onRequest(type, async (...args: unknown[]): Promise<R | ResponseError<EngineErrorData>> => {
    const token = args[args.length - 1] as CancellationToken;
    const controller = new AbortController();
    // A request cancelled before it was dispatched arrives with an already-cancelled token whose event
    // never fires: read the flag too, or it would run to completion.
    if (token.isCancellationRequested) controller.abort();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      throwIfAborted(controller.signal);
      const params = check(args.length > 1 ? args[0] : undefined, 'params');
      const progressToken = (params as { progressToken?: string }).progressToken;
      const ctx: HandlerContext = {
        signal: controller.signal,
        progress: (done, total, message) => {
          if (progressToken !== undefined) void connection.sendNotification(EngineProgress, { token: progressToken, done, total, message });
        },
        engine: () => {
          if (!engine) throw new SeerError('NOT_LOADED', 'No bundle is loaded.', { fix: `Send ${EngineRequests.load.method} first.` });
          return engine;
        },
      };
      return await handler(params, ctx);
    } catch (err) {
      const e = asSeerError(err);
      if (e.code === 'INTERNAL') log(`${type.method} failed: ${(err as Error)?.stack ?? String(err)}`);
      return new ResponseError<EngineErrorData>(e.code === 'CANCELLED' ? REQUEST_CANCELLED : SERVER_ERROR, e.message, e.toData());
    } finally {
      sub.dispose();
    }
  });
}

serve(EngineRequests.load, checkParams.load, async (config) => {
  const previous = engine;
  engine = null;
  await previous?.dispose();
  const cudaProblem = await cudaLibsProblem;
  if (cudaProblem && config.provider === 'cuda') throw cudaProblem;
  if (cudaProblem) log(`CUDA libraries not used: ${cudaProblem.message}`);
  engine = await Engine.load(config, log);
  return engine.info;
});
serve(EngineRequests.explain, checkParams.explain, (p, ctx) => ctx.engine().explain(p.text, p.options, ctx.signal));
serve(EngineRequests.explainBatch, checkParams.explainBatch, (p, ctx) =>
  ctx.engine().explainBatch(p.texts, p.options, ctx.signal, (done, total) => ctx.progress(done, total)));
// Cancelling a generation answers with the steps so far (stopReason "cancelled"), not an error: nothing is lost.
serve(EngineRequests.generate, checkParams.generate, ({ text, progressToken, ...options }, ctx) =>
  ctx.engine().generate(text, { ...options, signal: ctx.signal }, (step, index) => {
    if (progressToken !== undefined) void connection.sendNotification(EngineGenerationStep, { token: progressToken, index, step });
  }));
serve(EngineRequests.calibrate, checkParams.calibrate, (p, ctx) => calibrateRequest(ctx.engine(), p, ctx.signal, ctx.progress));
serve(EngineRequests.evaluate, checkParams.evaluate, (p, ctx) => evaluateRequest(ctx.engine(), p, ctx.signal, ctx.progress));

connection.onRequest(EngineRequests.shutdown, async () => {
  await engine?.dispose();
  engine = null;
  // Exit once the response has been handed to stdout (it is written after this handler returns).
  setTimeout(() => process.stdout.write('', () => process.exit(0)), 50);
  return null;
});

// A bug must not take the process down silently: log it and keep serving.
process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? err}`));
// A malformed frame (a missing or non-numeric Content-Length, a body that is not JSON) or a broken pipe: the
// stream is out of step, so no later message can be read reliably. Say why and exit; the extension reports
// the engine stopped and restarts it at the next request, instead of waiting on a server gone silent.
const MALFORMED_FRAME_EXIT = 3;
connection.onError(([error]) => {
  log(`cannot read the host's messages (${error.message.split('\n')[0]}); exiting`);
  process.exit(MALFORMED_FRAME_EXIT);
});
// A Content-Length longer than what came is waited for (the rest may still be in the pipe); say so meanwhile.
reader.onPartialMessage(({ waitingTime }) => log(`a message from the host is still incomplete after ${Math.round(waitingTime / 1000)} s`));
connection.onClose(() => process.exit(0));
connection.listen();
log('ready');
