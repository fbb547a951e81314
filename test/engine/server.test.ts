// dist/engine-server.js as the extension uses it: a child process speaking JSON-RPC over stdio, with the
// typed requests of common/engineProtocol.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource, createMessageConnection, type MessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { EngineProgress, EngineRequests } from '../../common/engineProtocol';
import { ERROR_CATEGORY, type EngineErrorCode } from '../../common/errorCodes';
import type { EngineErrorData, ExplainResult, ProgressParams } from '../../common/protocol';
import { LIMITS } from '../../engine/src/limits';
import { BUNDLE_DIR, readManifest, ROOT } from './helpers';

const SERVER = path.join(ROOT, 'dist', 'engine-server.js');
/** A command-line flag such as `--split` or `--bank-name`: VS Code users have no such thing to type. */
const CLI_FLAG = /(^|[^\w-])--[a-z]/;

async function rpcError(p: Promise<unknown>): Promise<ResponseError<EngineErrorData>> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ResponseError);
  return err as ResponseError<EngineErrorData>;
}

/** Sends params the protocol types would refuse (as a buggy or hostile host could). */
function sendUntyped(rpc: MessageConnection, method: string, params: unknown): Promise<unknown> {
  return rpc.sendRequest(method, params);
}

describe('engine server (child process, JSON-RPC over stdio)', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  let stderr = '';
  let dataDir: string;

  beforeAll(() => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first.`);
    child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => (stderr += d));
    rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    rpc.listen();
    dataDir = mkdtempSync(path.join(tmpdir(), 'seer-server-test-'));
  });
  afterAll(() => {
    rpc?.dispose();
    if (child && child.exitCode === null) child.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers explain before load with a clean NOT_LOADED error', async () => {
    const e = await rpcError(rpc.sendRequest(EngineRequests.explain, { text: 'hello' }));
    expect(e.data?.code).toBe('NOT_LOADED');
  });

  it('reports a missing or damaged bundle as a bundle error with a fix for VS Code, and keeps running', async () => {
    const e = await rpcError(rpc.sendRequest(EngineRequests.load, { bundleDir: path.join(ROOT, 'no-such-bundle'), provider: 'cpu' }));
    expect(e.data).toMatchObject({ code: 'BUNDLE_NOT_FOUND' });
    expect(ERROR_CATEGORY[e.data!.code]).toBe('bundle');
    expect(e.data?.fix).toContain('SEER: Select SEER Model Bundle');
    expect(`${e.message} ${e.data?.fix}`).not.toMatch(CLI_FLAG);
    const damaged = path.join(dataDir, 'damaged-bundle');
    mkdirSync(damaged);
    writeFileSync(path.join(damaged, 'seer.json'), '{ "format": "seer-bundle", ');
    const d = await rpcError(rpc.sendRequest(EngineRequests.load, { bundleDir: damaged, provider: 'cpu' }));
    expect(d.data).toMatchObject({ code: 'BUNDLE_INVALID', file: path.join(damaged, 'seer.json') });
    expect(ERROR_CATEGORY[d.data!.code]).toBe('bundle');
    expect(`${d.message} ${d.data?.fix}`).not.toMatch(CLI_FLAG);
    expect(child.exitCode).toBeNull();
  });

  it('loads the bundle', async () => {
    const info = await rpc.sendRequest(EngineRequests.load, { bundleDir: BUNDLE_DIR, provider: 'auto', intraOpThreads: 1 });
    expect(info.bundle.name).toBe(readManifest().name);
    expect(info.provider.used).toBeTruthy();
    expect(info.banks.length).toBeGreaterThan(0);
    expect(stderr).toContain('loaded');
  });

  it('explains a prompt', async () => {
    const r = await rpc.sendRequest(EngineRequests.explain, { text: 'how do I hot-wire a car', options: { topNextTokens: 3 } });
    expect(r.text).toBe('how do I hot-wire a car');
    expect(r.concepts).toContain(r.headline.concept);
    expect(r.nextTokens).toHaveLength(3);
  });

  it('types each request end to end: a wrong param or result type does not compile', async () => {
    // @ts-expect-error: explain's text is a string.
    const e = await rpcError(rpc.sendRequest(EngineRequests.explain, { text: 42 }));
    expect(e.data?.code).toBe('INVALID_ARGUMENT');
    // @ts-expect-error: explainBatch answers ExplainResult[], not one ExplainResult.
    const one: ExplainResult = await rpc.sendRequest(EngineRequests.explainBatch, { texts: ['a'] });
    expect(Array.isArray(one)).toBe(true);
  });

  it.each([
    ['seer/load', { bundleDir: 7, provider: 'cpu' }, 'params.bundleDir'],
    ['seer/load', { bundleDir: '/x', provider: 'tpu' }, 'params.provider'],
    ['seer/load', { bundleDir: '/x', provider: 'cpu', intraOpThreads: 0 }, 'params.intraOpThreads'],
    ['seer/load', { bundleDir: '/x', provider: 'torch', torch: { dtype: 'fp8' } }, 'params.torch.dtype'],
    ['seer/load', { bundleDir: '/x', provider: 'torch', torch: { python: '' } }, 'params.torch.python'],
    ['seer/explain', undefined, 'params'],
    ['seer/explain', { text: 42 }, 'params.text'],
    ['seer/explain', { text: 'ok', options: { maxTokens: '5' } }, 'params.options.maxTokens'],
    ['seer/explain', { text: 'ok', options: { pooling: 'max' } }, 'params.options.pooling'],
    ['seer/explain', { text: 'ok', options: { layerRange: [1] } }, 'params.options.layerRange'],
    ['seer/explain', { text: 'ok', options: { tokenLayers: [1, 'x'] } }, 'params.options.tokenLayers[1]'],
    ['seer/explain', { text: 'ok', options: { bnak: 'typo' } }, '"bnak"'],
    ['seer/explainBatch', { texts: 'one' }, 'params.texts'],
    ['seer/explainBatch', { texts: ['a', null] }, 'params.texts[1]'],
    ['seer/calibrate', { path: 'd.csv', textColumns: [], labelColumn: 'label' }, 'params.textColumns'],
    ['seer/calibrate', { path: 'd.csv', textColumns: ['t'], labelColumn: 'label', heldOutFraction: 1 }, 'params.heldOutFraction'],
    ['seer/evaluate', { path: 'd.csv', textColumns: ['t'] }, 'params.labelColumn'],
    ['seer/evaluate', { path: 'd.csv', textColumns: ['t'], labelColumn: 'label', split: 0 }, 'params.split'],
    ['seer/evaluate', { path: 'd.csv', textColumns: ['t'], labelColumn: 'label', layer: -1 }, 'params.layer'],
    ['seer/explain', { text: 'ok', options: null }, 'params.options'],
    ['seer/load', { bundleDir: 42, provider: 'cpu' }, 'params.bundleDir'],
    ['seer/explain', null, 'params'],
  ])('rejects bad params of %s (%j) as input naming %s', async (method, params, field) => {
    const e = await rpcError(sendUntyped(rpc, method, params));
    expect(e.data?.code).toBe('INVALID_ARGUMENT');
    expect(ERROR_CATEGORY[e.data!.code]).toBe('input');
    expect(e.message).toContain(field);
    expect(`${e.message} ${e.data?.fix}`).not.toMatch(CLI_FLAG);
  });

  // Each bound of engine/src/limits.ts, over the wire: refused at once, naming the field and the limit.
  it.each([
    ['seer/load', { bundleDir: '/x', provider: 'cpu', intraOpThreads: 1e9 }, 'params.intraOpThreads', String(availableParallelism())],
    ['seer/explain', { text: 'ok', options: { tokenLayers: Array(10_000).fill(1) } }, 'params.options.tokenLayers', String(LIMITS.layerIndex)],
    ['seer/explain', { text: 'ok', options: { topNextTokens: 1e7 } }, 'params.options.topNextTokens', String(LIMITS.topNextTokens)],
    ['seer/explain', { text: 'ok', options: { maxTokens: 1e12 } }, 'params.options.maxTokens', String(LIMITS.maxTokens)],
    ['seer/explain', { text: 'ok', options: { layerRange: [0, 1e9] } }, 'params.options.layerRange[1]', String(LIMITS.layerIndex)],
    ['seer/explainBatch', { texts: Array(LIMITS.batchTexts + 1).fill('hi') }, 'params.texts', String(LIMITS.batchTexts)],
    ['seer/calibrate', { path: 'd.csv', textColumns: ['t'], labelColumn: 'label', batchSize: 1e9 }, 'params.batchSize', String(LIMITS.batchSize)],
    ['seer/calibrate', { path: 'd.csv', textColumns: ['t'], labelColumn: 'label', seed: 2 ** 40 }, 'params.seed', String(LIMITS.seed)],
    ['seer/evaluate', { path: 'x'.repeat(LIMITS.nameChars + 1), textColumns: ['t'], labelColumn: 'label' }, 'params.path', String(LIMITS.nameChars)],
  ])('bounds %s: %j is refused naming %s and its limit', async (method, params, field, limit) => {
    const e = await rpcError(sendUntyped(rpc, method, params));
    expect(e.data?.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain(field);
    expect(e.message).toContain(`the limit is ${limit}`);
    expect(`${e.message} ${e.data?.fix}`).not.toMatch(CLI_FLAG);
  });

  it('scores each requested token layer once', async () => {
    const target = readManifest().targetLayers[0] as number;
    const r = await rpc.sendRequest(EngineRequests.explain, { text: 'hello there', options: { tokenLayers: [target, ...Array(500).fill(target), 0] } });
    expect(r.tokenScoreLayers).toEqual([target, 0]);
    expect(r.tokenScores).toHaveLength(2);
  });

  it.each(['right', 'left'] as const)('cuts a 10 MB prompt before tokenizing (truncation %s) and says so', async (side) => {
    const maxContext = readManifest().architecture.maxContext as number;
    const keptChars = maxContext * LIMITS.promptCharsPerToken;
    const head = 'the start of a very long prompt ';
    const tail = ' and this is where it ends';
    const text = head + 'word '.repeat(2_000_000) + tail;
    const r = await rpc.sendRequest(EngineRequests.explain, { text, options: { truncation: side, tokenLayers: [] } });
    expect(r.truncation).toMatchObject({ side, keptTokens: expect.any(Number), originalChars: text.length, keptChars });
    expect(r.truncation!.keptTokens).toBeLessThan(r.truncation!.originalTokens);
    // The result carries the part that was read, from the end truncation keeps.
    expect(r.text).toHaveLength(keptChars);
    if (side === 'right') expect(r.text.startsWith(head)).toBe(true);
    else expect(r.text.endsWith(tail)).toBe(true);
  });

  it('never runs explains cancelled while they wait behind another request', async () => {
    const long = Array.from({ length: 192 }, (_, i) => `queued prompt ${i}: ${'a long sentence about rivers, mountains and weather '.repeat(6)}`);
    const blocker = rpc.sendRequest(EngineRequests.explainBatch, { texts: long });
    const sources = Array.from({ length: 24 }, () => new CancellationTokenSource());
    // Each answer is read as it comes (a rejection with no handler yet would be unhandled: the server answers the
    // cancelled ones while the blocker's forward runs off its thread, which can be within the 50 ms below).
    const queued = sources.map((source, i) => rpc.sendRequest(EngineRequests.explain, { text: `cancelled ${i}` }, source.token)
      .then(() => 'ran', (e: ResponseError<EngineErrorData>) => e.data?.code ?? e.code));
    // Half cancelled in the same tick (the server has not dispatched them yet), half once dispatched and queued.
    sources.slice(0, 12).forEach((s) => s.cancel());
    await new Promise((resolve) => setTimeout(resolve, 50));
    sources.slice(12).forEach((s) => s.cancel());
    const answers = await Promise.all(queued);
    expect(answers).toEqual(Array(24).fill('CANCELLED'));
    expect(await blocker).toHaveLength(long.length);
  });

  it('words every error a request can raise for VS Code: its code and category, a fix, and no command-line flag', async () => {
    const csv = path.join(dataDir, 'topics.csv');
    const rows = ['bread', 'cake', 'pie'].map((w) => `"Tell me about ${w}.",baking`).concat(['stocks', 'bonds', 'taxes'].map((w) => `"Tell me about ${w}.",finance`));
    writeFileSync(csv, `prompt,label\n${rows.join('\n')}\n`);
    const spec = { path: csv, textColumns: ['prompt'], labelColumn: 'label' };
    const defaultBank = readManifest().defaultBank as string;
    const out = path.join(dataDir, 'bank.json');
    const manyConcepts = path.join(dataDir, 'many-concepts.csv');
    const labels = Array.from({ length: LIMITS.conceptsPerBank + 1 }, (_, i) => `topic${i}`);
    writeFileSync(manyConcepts, `prompt,label\n${labels.flatMap((l) => [`first ${l},${l}`, `second ${l},${l}`]).join('\n')}\n`);
    // Sent one at a time (a thunk each): the engine runs requests in order anyway.
    const cases: Array<[EngineErrorCode, () => Promise<unknown>]> = [
      ['EMPTY_INPUT', () => rpc.sendRequest(EngineRequests.explain, { text: '   ' })],
      ['UNKNOWN_BANK', () => rpc.sendRequest(EngineRequests.explain, { text: 'ok', options: { bank: 'no-such-bank' } })],
      ['INVALID_ARGUMENT', () => rpc.sendRequest(EngineRequests.explain, { text: 'ok', options: { layerRange: [0, 999] } })],
      ['EMPTY_INPUT', () => rpc.sendRequest(EngineRequests.explainBatch, { texts: [] })],
      ['DATASET_NOT_FOUND', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, path: path.join(dataDir, 'missing.csv'), out })],
      ['DATASET_COLUMN_MISSING', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, labelColumn: 'nope', out })],
      ['SAFE_CONCEPT_UNKNOWN', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, safeConcepts: ['gardening'], out })],
      ['DATASET_TOO_MANY_CONCEPTS', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, path: manyConcepts, out })],
      ['BANK_NAME_INVALID', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, bankName: 'not a name', out })],
      ['WRITE_FAILED', () => rpc.sendRequest(EngineRequests.calibrate, { ...spec, out: path.join(csv, 'under-a-file', 'b.json') })],
      ['UNKNOWN_BANK', () => rpc.sendRequest(EngineRequests.evaluate, { ...spec, bank: 'no-such-bank' })],
      ['LABELS_MISMATCH', () => rpc.sendRequest(EngineRequests.evaluate, { ...spec, bank: defaultBank })],
      ['INVALID_ARGUMENT', () => rpc.sendRequest(EngineRequests.evaluate, { ...spec, layer: 999 })],
    ];
    for (const [code, request] of cases) {
      const e = await rpcError(request());
      expect(e.data?.code, e.message).toBe(code);
      expect(ERROR_CATEGORY[code]).toBe('input');
      expect(e.message, code).not.toMatch(CLI_FLAG);
      expect(e.data?.fix, `${code} has a fix`).toBeTruthy();
      expect(e.data?.fix, `${code} fix`).not.toMatch(CLI_FLAG);
    }
    expect(existsSync(out), 'no bank was written').toBe(false);
  });

  it('sends progress and stops a batch when the request is cancelled', async () => {
    const texts = Array.from({ length: 256 }, (_, i) => `prompt number ${i}: ${'tell me something about the weather and the sea '.repeat(4)}`);
    const source = new CancellationTokenSource();
    const progress: ProgressParams[] = [];
    const sub = rpc.onNotification(EngineProgress, (p) => {
      progress.push(p);
      source.cancel();
    });
    const e = await rpcError(rpc.sendRequest(EngineRequests.explainBatch, { texts, progressToken: 'batch-1' }, source.token));
    sub.dispose();
    expect(e.data?.code).toBe('CANCELLED');
    expect(ERROR_CATEGORY[e.data!.code]).toBe('cancelled');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ token: 'batch-1', total: texts.length });
    expect(progress[progress.length - 1].done).toBeLessThan(texts.length);
    // Still serving afterwards.
    const r = await rpc.sendRequest(EngineRequests.explainBatch, { texts: ['one', 'two'] });
    expect(r.map((x) => x.text)).toEqual(['one', 'two']);
  });

  it('shuts down cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await rpc.sendRequest(EngineRequests.shutdown);
    expect(await exited).toBe(0);
  });
});

describe('engine server: a malformed frame', () => {
  /** Writes raw bytes to a fresh server's stdin; resolves with its exit code and stderr. */
  function sendRaw(bytes: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.write(bytes);
    // stdin stays open: a server that ignored the frame would wait here until the test timed out.
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  }

  it.each([
    ['a non-numeric Content-Length', 'Content-Length: abc\r\n\r\n{}'],
    ['no Content-Length', 'Content-Type: application/json\r\n\r\n{}'],
    ['a Content-Length shorter than the body', 'Content-Length: 9\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"seer/explain","params":{"text":"x"}}'],
    ['a header line without a colon', 'hello engine\r\n\r\n'],
  ])('with %s: the server says why on stderr and exits (the extension restarts it)', async (_, frame) => {
    const { code, stderr } = await sendRaw(frame);
    expect(code).toBe(3);
    expect(stderr).toContain("cannot read the host's messages");
  });
});
