// A cancelled calibrate writes nothing: cancelled before it starts (queued behind another request), mid-run,
// or just before the save, the bundle's banks folder, seer.json and the user's bank folder stay byte-identical.
// Also: the concept limit of a bank (engine/src/limits.ts) is enforced before any model work.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource, createMessageConnection, type MessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { EngineProgress, EngineRequests } from '../../common/engineProtocol';
import type { CalibrateParams, EngineErrorData, ProgressParams } from '../../common/protocol';
import { saveBank } from '../../engine/src/calibration/bankFile';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { calibrateRequest } from '../../engine/src/calibration/requests';
import { modelFacts } from '../../engine/src/calibration/representer';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { LIMITS } from '../../engine/src/limits';
import { ROOT, copyBundle } from '../engine/helpers';
import { conceptCsv, tempDir, writeFixture } from './fixtures';

const SERVER = path.join(ROOT, 'dist', 'engine-server.js');

let bundleDir: string;
let dataDir: string;
let userBankDir: string;
let big: string;

/** One hash of every file (name and bytes) under the folders that a calibrate may write. */
function snapshot(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return hash.update(`absent ${dir}\n`) as unknown as void;
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      hash.update(`${file}\n`);
      if (statSync(file).isDirectory()) walk(file);
      else hash.update(readFileSync(file));
    }
  };
  walk(path.join(bundleDir, 'banks'));
  hash.update(readFileSync(path.join(bundleDir, 'seer.json')));
  walk(userBankDir);
  return hash.digest('hex');
}

const registered = (name: string): boolean => name in (JSON.parse(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).banks ?? {});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'succeeded',
    (e: unknown) => (e instanceof ResponseError ? (e.data as EngineErrorData | undefined)?.code ?? String(e.code) : e instanceof SeerError ? e.code : String(e)),
  );
}

beforeAll(async () => {
  bundleDir = await copyBundle();
  dataDir = tempDir();
  userBankDir = path.join(dataDir, 'user-banks');
  big = writeFixture(dataDir, 'big.csv', conceptCsv(['cooking', 'travel', 'coding'], 300));
});
afterAll(() => {
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a calibrate cancelled over JSON-RPC writes nothing', () => {
  let child: ChildProcess;
  let rpc: MessageConnection;
  const progress: ProgressParams[] = [];
  /** Called on every progress notification (vscode-jsonrpc keeps one handler per notification type). */
  let onProgress = (_p: ProgressParams): void => undefined;
  const params = (bankName: string, progressToken?: string): CalibrateParams => ({
    path: big, textColumns: ['prompt'], labelColumn: 'value', bankName, intoBundle: true, batchSize: 8, progressToken,
  });

  beforeAll(async () => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first.`);
    child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'ignore'] });
    rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    rpc.onNotification(EngineProgress, (p: ProgressParams) => {
      progress.push(p);
      onProgress(p);
    });
    rpc.listen();
    await rpc.sendRequest(EngineRequests.load, { bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
  });
  afterAll(() => {
    rpc?.dispose();
    child?.kill();
  });

  it('(a) cancelled while queued behind a long request, before it starts', async () => {
    const before = snapshot();
    const texts = Array.from({ length: 128 }, (_, i) => `blocking prompt ${i}: ${'a sentence about rivers and mountains '.repeat(8)}`);
    const blocker = rpc.sendRequest(EngineRequests.explainBatch, { texts });
    const now = new CancellationTokenSource();
    const soon = new CancellationTokenSource();
    // Each answer is read as it comes: a rejection with no handler yet would be unhandled.
    const cancelledNow = codeOf(rpc.sendRequest(EngineRequests.calibrate, params('cancelledNow'), now.token));
    const cancelledSoon = codeOf(rpc.sendRequest(EngineRequests.calibrate, params('cancelledSoon'), soon.token));
    now.cancel();
    setTimeout(() => soon.cancel(), 30);
    expect(await cancelledNow).toBe('CANCELLED');
    expect(await cancelledSoon).toBe('CANCELLED');
    await blocker;
    expect(snapshot()).toBe(before);
  });

  it('(b) cancelled mid-run', async () => {
    const before = snapshot();
    const source = new CancellationTokenSource();
    onProgress = (p) => {
      if (p.token === 'mid' && p.done > 0 && p.done < p.total) source.cancel();
    };
    const code = await codeOf(rpc.sendRequest(EngineRequests.calibrate, params('midRun', 'mid'), source.token));
    expect(code).toBe('CANCELLED');
    expect(progress.filter((p) => p.token === 'mid').some((p) => p.done > 0)).toBe(true);
    expect(snapshot()).toBe(before);
  });

  it('the same calibrate, not cancelled, does write and register its bank (so the checks above can fail)', async () => {
    const before = snapshot();
    const result = await rpc.sendRequest(EngineRequests.calibrate, params('written'));
    expect(result.bankPath).toBe(path.join(bundleDir, 'banks', 'written.json'));
    expect(registered('written')).toBe(true);
    expect(snapshot()).not.toBe(before);
  });
});

describe('a calibrate cancelled just before its save writes nothing', () => {
  it('(c) cancelled after the last row, before the write', async () => {
    const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
    try {
      const before = snapshot();
      const controller = new AbortController();
      const small = writeFixture(dataDir, 'small.csv', conceptCsv(['cooking', 'travel'], 10));
      // The last progress report comes after the last row and before the save: cancel there.
      const onProgress = (done: number, total: number) => done === total && controller.abort();
      const run = calibrateRequest(engine, { path: small, textColumns: ['prompt'], labelColumn: 'value', bankName: 'lastMoment', intoBundle: true }, controller.signal, onProgress);
      expect(await codeOf(run)).toBe('CANCELLED');
      expect(controller.signal.aborted).toBe(true);
      expect(snapshot()).toBe(before);
      expect(engine.bundle.banks.has('lastMoment')).toBe(false);
    } finally {
      await engine.dispose();
    }
  });

  it('cancelled while the save is writing: every byte it changed is put back', async () => {
    const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
    try {
      const model = modelFacts(engine.bundle);
      const small = writeFixture(dataDir, 'small2.csv', conceptCsv(['cooking', 'travel'], 6));
      const { bank } = await calibrate(engine, model, { path: small, textColumns: ['prompt'], labelColumn: 'value', bankName: 'halfway' });
      const before = snapshot();
      // Not aborted when the save starts, aborted by the time its writes are done.
      let checks = 0;
      const signal = { get aborted() { return ++checks > 1; } } as AbortSignal;
      expect(await codeOf(saveBank(bank, model, { intoBundle: true, signal }))).toBe('CANCELLED');
      expect(checks).toBe(2);
      expect(snapshot()).toBe(before);
      expect(readdirSync(path.join(bundleDir, 'banks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await engine.dispose();
    }
  });
});

describe('concepts per bank', () => {
  it(`refuses more than ${LIMITS.conceptsPerBank} concepts before any model work, naming the limit`, async () => {
    const labels = Array.from({ length: LIMITS.conceptsPerBank + 1 }, (_, i) => `label${i}`);
    const file = writeFixture(dataDir, 'many.csv', conceptCsv(labels, 2));
    let represented = 0;
    const representer = { represent: async () => { represented++; return []; } };
    const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
    try {
      const err = await calibrate(representer, modelFacts(engine.bundle), { path: file, textColumns: ['prompt'], labelColumn: 'value' }).then(() => null, (e: unknown) => e as SeerError);
      expect(err?.code).toBe('DATASET_TOO_MANY_CONCEPTS');
      expect(err?.message).toContain(`${labels.length} concepts`);
      expect(err?.message).toContain(`at most ${LIMITS.conceptsPerBank}`);
      expect(represented).toBe(0);
    } finally {
      await engine.dispose();
    }
  });
});
