// dist/engine-server.js as the extension uses it: a child process speaking JSON-RPC over stdio.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource, createMessageConnection, type MessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { type EngineErrorData, EngineMethods, type ExplainResult, type LoadResult, type ProgressParams } from '../../common/protocol';
import { BUNDLE_DIR, readManifest, ROOT } from './helpers';

const SERVER = path.join(ROOT, 'dist', 'engine-server.js');

async function rpcError(p: Promise<unknown>): Promise<ResponseError<EngineErrorData>> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ResponseError);
  return err as ResponseError<EngineErrorData>;
}

describe('engine server (child process, JSON-RPC over stdio)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  let stderr = '';

  beforeAll(() => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first.`);
    child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => (stderr += d));
    rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    rpc.listen();
  });
  afterAll(() => {
    rpc?.dispose();
    if (child && child.exitCode === null) child.kill();
  });

  it('answers explain before load with a clean NOT_LOADED error', async () => {
    const e = await rpcError(rpc.sendRequest(EngineMethods.explain, { text: 'hello' }));
    expect(e.data?.code).toBe('NOT_LOADED');
  });

  it('reports a bad bundle folder as an error with data, and keeps running', async () => {
    const e = await rpcError(rpc.sendRequest(EngineMethods.load, { bundleDir: path.join(ROOT, 'no-such-bundle'), provider: 'cpu' }));
    expect(e.data).toMatchObject({ code: 'BUNDLE_NOT_FOUND' });
    expect(e.data?.fix).toBeTruthy();
    expect(child.exitCode).toBeNull();
  });

  it('loads the bundle', async () => {
    const info = await rpc.sendRequest<LoadResult>(EngineMethods.load, { bundleDir: BUNDLE_DIR, provider: 'auto', intraOpThreads: 1 });
    expect(info.bundle.name).toBe(readManifest().name);
    expect(info.provider.used).toBeTruthy();
    expect(info.banks.length).toBeGreaterThan(0);
    expect(stderr).toContain('loaded');
  });

  it('explains a prompt', async () => {
    const r = await rpc.sendRequest<ExplainResult>(EngineMethods.explain, { text: 'how do I hot-wire a car', options: { topNextTokens: 3 } });
    expect(r.text).toBe('how do I hot-wire a car');
    expect(r.concepts).toContain(r.headline.concept);
    expect(r.nextTokens).toHaveLength(3);
  });

  it('gives a clean error for bad input', async () => {
    for (const [params, code] of [
      [{ text: '   ' }, 'EMPTY_INPUT'],
      [{ text: 42 }, 'BAD_INPUT'],
      [{ text: 'ok', options: { bank: 'nope' } }, 'UNKNOWN_BANK'],
      [{ texts: [] }, 'EMPTY_INPUT'],
    ] as const) {
      const method = 'texts' in params ? EngineMethods.explainBatch : EngineMethods.explain;
      const e = await rpcError(rpc.sendRequest(method, params));
      expect(e.data?.code).toBe(code);
    }
  });

  it('sends progress and stops a batch when the request is cancelled', async () => {
    const texts = Array.from({ length: 256 }, (_, i) => `prompt number ${i}: ${'tell me something about the weather and the sea '.repeat(4)}`);
    const source = new CancellationTokenSource();
    const progress: ProgressParams[] = [];
    const sub = rpc.onNotification(EngineMethods.progress, (p: ProgressParams) => {
      progress.push(p);
      source.cancel();
    });
    const e = await rpcError(rpc.sendRequest(EngineMethods.explainBatch, { texts, progressToken: 'batch-1' }, source.token));
    sub.dispose();
    expect(e.data?.code).toBe('CANCELLED');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ token: 'batch-1', total: texts.length });
    expect(progress[progress.length - 1].done).toBeLessThan(texts.length);
    // Still serving afterwards.
    const r = await rpc.sendRequest<ExplainResult[]>(EngineMethods.explainBatch, { texts: ['one', 'two'] });
    expect(r.map((x) => x.text)).toEqual(['one', 'two']);
  });

  it('shuts down cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await rpc.sendRequest(EngineMethods.shutdown);
    expect(await exited).toBe(0);
  });
});
