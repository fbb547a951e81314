// Calibration and evaluation through the real engine (the bundle under test, copied to a temp folder):
// the library, the `seer` CLI and the JSON-RPC server, on datasets the test writes itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationTokenSource, createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { EngineProgress, EngineRequests } from '../../common/engineProtocol';
import type { CalibrateResult, EvaluateReport, ExplainResult, ProgressParams } from '../../common/protocol';
import { loadBundle } from '../../engine/src/bundle';
import { saveBank } from '../../engine/src/calibration/bankFile';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { evaluate } from '../../engine/src/calibration/evaluate';
import { modelFacts } from '../../engine/src/calibration/representer';
import { Engine } from '../../engine/src/engine';
import { ROOT, copyBundle } from '../engine/helpers';
import { tempDir, topicsCsv, writeFixture } from './fixtures';

const BIN = path.join(ROOT, 'bin', 'seer.js');
const SERVER = path.join(ROOT, 'dist', 'engine-server.js');

let bundleDir: string;
let dataDir: string;
let csv: string;
/** The user bank root of these tests (never the real ~/.local/share/seer/banks). */
let userBankDir: string;
/** Where calibrate writes this bundle's user banks by default. */
const userBank = (name: string) => path.join(userBankDir, 'seer-default', `${name}.json`);
let manifestText: string;
beforeAll(async () => {
  bundleDir = await copyBundle();
  dataDir = tempDir();
  userBankDir = path.join(dataDir, 'user-banks');
  csv = writeFixture(dataDir, 'topics.csv', topicsCsv(12));
  manifestText = readFileSync(path.join(bundleDir, 'seer.json'), 'utf8');
});
afterAll(() => {
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('calibration with the real engine', () => {
  it('writes a user bank that the bundle loader lists and explain can use, leaving the bundle untouched', async () => {
    const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
    try {
      const model = modelFacts(engine.bundle);
      const { bank, result } = await calibrate(engine, model, { path: csv, textColumns: ['prompt'], labelColumn: 'value', bankName: 'topics', safeConcepts: ['cooking'] });
      expect(result.rows).toMatchObject({ rowsRead: 36, rowsUsed: 36, rowsSkipped: 0 });
      expect(result.tokensPerSecond).toBeGreaterThan(0);
      expect(await saveBank(bank, model, { userBankDir })).toBe(userBank('topics'));
    } finally {
      await engine.dispose();
    }
    expect(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).toBe(manifestText);
    expect(existsSync(path.join(bundleDir, 'banks', 'topics.json'))).toBe(false);
    expect((await loadBundle(bundleDir)).banks.has('topics')).toBe(false);
    const reloaded = await loadBundle(bundleDir, { userBankDir });
    const bank = reloaded.banks.get('topics')!;
    expect(bank.concepts).toEqual(['cooking', 'coding', 'travel']);
    expect([...reloaded.userBanks]).toEqual(['topics']);

    const again = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
    try {
      expect(again.info.banks.map((b) => b.name)).toContain('topics');
      const r = await again.explain('How do I reverse a list in Python, variant 99?', { bank: 'topics' });
      expect(r.concepts).toEqual(['cooking', 'coding', 'travel']);
      expect(typeof r.headline.safe).toBe('boolean');
      expect(r.warnings).toBeUndefined();
      // The bank is calibrated at the bundle's representation; another pooling is a different measurement: the result says so.
      expect(bank.pooling).toBe(again.bundle.manifest.representation);
      const other = bank.pooling === 'mean' ? 'last' : 'mean';
      const elsewhere = await again.explain('How do I reverse a list in Python?', { bank: 'topics', pooling: other });
      expect(elsewhere.warnings?.join(' ')).toContain(`calibrated with ${bank.pooling} pooling`);
      const report = await evaluate(again, modelFacts(again.bundle), { path: csv, textColumns: ['prompt'], labelColumn: 'value' }, { kind: 'bank', bank, name: 'topics' });
      // Prototypes from these very rows: nearest-prototype accuracy must beat chance (1/3) at the best layer.
      expect(report.perLayer[report.bestLayer].accuracy).toBeGreaterThan(0.5);
      expect(report.support).toEqual([12, 12, 12]);
    } finally {
      await again.dispose();
    }
  });
});

describe('user banks', () => {
  it('a user bank that does not fit, or would hide a bundle bank, is skipped with a warning; the bundle still loads', async () => {
    const root = path.join(dataDir, 'odd-user-banks');
    const folder = path.join(root, 'seer-default');
    mkdirSync(folder, { recursive: true });
    const shipped = JSON.parse(readFileSync(path.join(bundleDir, 'banks', 'default.json'), 'utf8'));
    writeFileSync(path.join(folder, 'stale.json'), JSON.stringify({ ...shipped, name: 'stale', modelSha256: 'f'.repeat(64) }));
    writeFileSync(path.join(folder, 'default.json'), JSON.stringify(shipped));
    writeFileSync(path.join(folder, 'fresh.json'), JSON.stringify({ ...shipped, name: 'fresh', safeConcepts: null }));
    const warnings: string[] = [];
    const bundle = await loadBundle(bundleDir, { userBankDir: root, onWarning: (w) => warnings.push(w) });
    expect([...bundle.userBanks]).toEqual(['fresh']);
    expect(bundle.banks.get('fresh')!.safetyKnown).toBe(false);
    expect(bundle.banks.get('default')!.safetyKnown).toBe(true);
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toContain('stale.json skipped');
    expect(warnings.join('\n')).toContain('already has a bank "default"');
  });
});

function seer(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args, '--bundle', bundleDir, '--provider', 'cpu', '--threads', '1'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, XDG_DATA_HOME: path.join(dataDir, 'xdg') },
  });
}
const cliUserBank = (name: string) => path.join(dataDir, 'xdg', 'seer', 'banks', 'seer-default', `${name}.json`);

describe('seer calibrate / seer eval', () => {
  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  });

  it('eval --json --html: a report per layer and a self-contained HTML file', () => {
    const html = path.join(dataDir, 'report.html');
    const r = seer('eval', csv, '--label', 'value', '--split', '0.5', '--seed', '3', '--json', '--html', html);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluateReport;
    expect(report.concepts).toEqual(['cooking', 'coding', 'travel']);
    expect(report.perLayer).toHaveLength(readManifestLayers() + 1);
    expect(report.rows.rowsUsed).toBe(36);
    expect(report.support).toEqual([6, 6, 6]);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain(report.label);
  });

  it('calibrate writes a user bank that explain and eval find by name; eval --compare-bank puts two runs in one JSON array and one HTML report; an unknown bank fails before any model work', () => {
    const cal = seer('calibrate', csv, '--label', 'value', '--bank-name', 'cli-topics', '--json');
    expect(cal.status, cal.stderr).toBe(0);
    expect((JSON.parse(cal.stdout) as CalibrateResult).bankPath).toBe(cliUserBank('cli-topics'));
    expect(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).toBe(manifestText);
    // Without --safe, safety is unknown: neither the JSON nor the report calls the concept unsafe.
    const explained = seer('explain', 'How long should I bake the bread?', '--bank', 'cli-topics', '--json');
    expect(explained.status, explained.stderr).toBe(0);
    expect((JSON.parse(explained.stdout) as ExplainResult).headline.safe).toBeNull();
    const text = seer('explain', 'How long should I bake the bread?', '--bank', 'cli-topics');
    expect(text.stdout).toContain('safety unknown');
    expect(text.stdout).not.toContain('UNSAFE');
    // An existing bank is never replaced silently.
    const again = seer('calibrate', csv, '--label', 'value', '--bank-name', 'cli-topics');
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(again.stderr).toContain('--force');

    const html = path.join(dataDir, 'compare.html');
    const r = seer('eval', csv, '--label', 'value', '--compare-bank', 'cli-topics', '--json', '--html', html);
    expect(r.status, r.stderr).toBe(0);
    const [split, bank] = JSON.parse(r.stdout) as EvaluateReport[];
    expect([split.prototypeSource, bank.prototypeSource, bank.bank]).toEqual(['split', 'bank', 'cli-topics']);
    expect(readFileSync(html, 'utf8')).toContain(bank.label!);
    const missing = seer('eval', csv, '--label', 'value', '--compare-bank', 'no-such-bank');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('has no concept bank "no-such-bank"');
    expect(missing.stderr).not.toContain('evaluating');
  });

  it('calibrate --into-bundle registers the bank in seer.json, changing nothing else in it', () => {
    const cal = seer('calibrate', csv, '--label', 'value', '--bank-name', 'shipped', '--into-bundle', '--safe', 'cooking', '--json');
    expect(cal.status, cal.stderr).toBe(0);
    expect((JSON.parse(cal.stdout) as CalibrateResult).bankPath).toBe(path.join(bundleDir, 'banks', 'shipped.json'));
    const after = readFileSync(path.join(bundleDir, 'seer.json'), 'utf8');
    const banksValue = /"banks": \{[^}]*\}/;
    expect(after.replace(banksValue, '')).toBe(manifestText.replace(banksValue, ''));
    expect(JSON.parse(after).banks).toEqual({ ...JSON.parse(manifestText).banks, shipped: 'banks/shipped.json' });
    manifestText = after;
  });

  it('a missing label column is one clear error line with the columns that exist, and no stack trace', () => {
    const r = seer('calibrate', csv, '--label', 'topic', '--bank-name', 'x');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: ');
    expect(r.stderr).toContain('no column "topic". Its columns are: "prompt", "value".');
    expect(r.stderr).toContain('fix: Pass --label');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(bundleDir, 'banks', 'x.json'))).toBe(false);
  });

  it('Ctrl-C (SIGINT) stops `seer calibrate` cleanly: exit 1, "cancelled", no bank and no temp file', async () => {
    const big = writeFixture(dataDir, 'sigint.csv', topicsCsv(600));
    const child = spawn(process.execPath, [BIN, 'calibrate', big, '--label', 'value', '--bank-name', 'interrupted', '--batch', '1', '--bundle', bundleDir, '--provider', 'cpu', '--threads', '1']);
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      // The progress bar appears once the model pass starts: interrupt then, once (a second Ctrl-C kills).
      if (stderr.includes('calibrating') && !interrupted) interrupted = child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('error: The request was cancelled.');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(bundleDir, 'banks', 'interrupted.json'))).toBe(false);
    expect(existsSync(cliUserBank('interrupted'))).toBe(false);
    expect(readdirSync(path.join(bundleDir, 'banks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).banks.interrupted).toBeUndefined();
  });

  it('a label set that does not match the bank is refused before any work', () => {
    const other = writeFixture(dataDir, 'other.csv', 'prompt,value\nhello there,greeting\nbye now,farewell\n');
    const r = seer('eval', other, '--label', 'value', '--bank', 'default');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has labels that bank "default" does not know: "greeting", "farewell"/);
  });
});

function readManifestLayers(): number {
  return JSON.parse(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).architecture.numLayers;
}

describe('seer/calibrate and seer/evaluate over JSON-RPC', () => {
  it('reports progress, answers with the result, and a cancelled calibration writes nothing', async () => {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first.`);
    const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const progress: ProgressParams[] = [];
    rpc.onNotification(EngineProgress, (p: ProgressParams) => progress.push(p));
    rpc.listen();
    try {
      await rpc.sendRequest(EngineRequests.load, { bundleDir, provider: 'cpu', intraOpThreads: 1, userBankDir });
      const dataset = { path: csv, textColumns: ['prompt'], labelColumn: 'value' };
      const result = await rpc.sendRequest(EngineRequests.calibrate, { ...dataset, bankName: 'rpc', progressToken: 'cal-1', batchSize: 4 });
      expect(result.bankPath).toBe(userBank('rpc'));
      expect(progress.filter((p) => p.token === 'cal-1').at(-1)).toMatchObject({ done: 36, total: 36 });

      const report = await rpc.sendRequest(EngineRequests.evaluate, { ...dataset, bank: 'rpc' });
      expect(report.prototypeSource).toBe('bank');
      expect(report.rows.rowsUsed).toBe(36);

      const big = writeFixture(dataDir, 'big.csv', topicsCsv(400));
      const source = new CancellationTokenSource();
      const pending = rpc.sendRequest(EngineRequests.calibrate, { ...dataset, path: big, bankName: 'cancelled', progressToken: 'cal-2', batchSize: 1 }, source.token);
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => progress.some((p) => p.token === 'cal-2') && (clearInterval(poll), resolve()), 20);
      });
      source.cancel();
      const err = await pending.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ResponseError);
      expect((err as ResponseError<{ code: string }>).data?.code).toBe('CANCELLED');
      expect(existsSync(userBank('cancelled'))).toBe(false);
      expect(readFileSync(path.join(bundleDir, 'seer.json'), 'utf8')).toBe(manifestText);
      expect(readdirSync(path.join(bundleDir, 'banks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      rpc.dispose();
      child.kill();
    }
  });
});
