// The engine client against the real engine process (dist/engine-server.js) and the real default
// bundle: lazy start, explain, supersede, cancel, crash restart, hang timeout, broken bundle.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { EngineRequests } from '../../common/engineProtocol';
import { EngineClient, EngineError, toEngineError, type EngineClientOptions } from '../../extension/src/engineClient';
import { evaluationReportHtml } from '../../extension/src/evaluationHtml';

const root = path.resolve(__dirname, '../..');
const serverPath = path.join(root, 'dist/engine-server.js');
const bundleDir = path.join(root, 'models/default');
const ready = existsSync(serverPath) && existsSync(path.join(bundleDir, 'seer.json'));
if (!ready) console.warn('engineClient tests skipped: build dist/engine-server.js (npm run build) and models/default first');

const clients: EngineClient[] = [];
function client(over: Partial<EngineClientOptions> = {}) {
  const crashes: string[] = [];
  const c = new EngineClient({
    serverPath, config: () => ({ bundleDir, provider: 'cpu' }), requestTimeoutMs: 60_000,
    log: () => undefined, onCrash: (r) => crashes.push(r), ...over,
  });
  clients.push(c);
  return { c, crashes };
}
const dirs: string[] = [];
const tempDir = (prefix: string): string => {
  dirs.push(mkdtempSync(path.join(tmpdir(), prefix)));
  return dirs[dirs.length - 1];
};
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('engine errors as the extension sees them', () => {
  it('keeps a known code with its category, file and fix, and calls anything else ENGINE_ERROR', () => {
    const known = toEngineError(new ResponseError(-32000, 'No bank.', { code: 'UNKNOWN_BANK', fix: 'Pick one.', file: 'b.json' }));
    expect(known).toMatchObject({ code: 'UNKNOWN_BANK', category: 'input', fix: 'Pick one.', file: 'b.json', message: 'No bank.' });
    expect(toEngineError(new ResponseError(-32000, 'Odd.', { code: 'MADE_UP', fix: 3 }))).toMatchObject({ code: 'ENGINE_ERROR', fix: undefined });
    expect(toEngineError(new ResponseError(-32800, 'cancelled'))).toMatchObject({ code: 'CANCELLED', quiet: true });
    expect(toEngineError(new Error('boom'))).toMatchObject({ code: 'ENGINE_ERROR', category: 'engine' });
  });

  it('takes only the params and gives only the result its request type declares', () => {
    const typed = (c: EngineClient) => {
      // @ts-expect-error: calibrate needs a dataset spec, not a prompt.
      void c.request(EngineRequests.calibrate, { text: 'x' });
      // @ts-expect-error: evaluate answers an EvaluateReport, which has no bankPath.
      void c.request(EngineRequests.evaluate, { path: 'd.csv', textColumns: ['t'], labelColumn: 'l' }).then((r) => r.bankPath);
    };
    expect(typed).toBeTypeOf('function');
  });
});

describe.skipIf(!ready)('EngineClient with the real engine', () => {
  it('starts lazily and explains a prompt', async () => {
    const { c } = client();
    expect(c.running).toBe(false);
    const r = await c.explain('How do I bake sourdough bread?', { tokenLayers: 'all' });
    expect(c.running).toBe(true);
    expect(r.concepts.length).toBeGreaterThan(1);
    expect(r.tokenScoreLayers.length).toBe(r.layers.length);
    expect(c.loaded!.bundle.concepts).toEqual(r.concepts);
  });

  it('lets a newer explain supersede an older one', async () => {
    const { c } = client();
    await c.ensureLoaded();
    const first = c.explain('first prompt '.repeat(40), {});
    const second = c.explain('second prompt', {});
    await expect(first).rejects.toMatchObject({ code: 'SUPERSEDED', category: 'cancelled', quiet: true });
    expect((await second).text).toBe('second prompt');
  });

  it('cancels through the caller token', async () => {
    const { c } = client();
    await c.ensureLoaded();
    const cts = new CancellationTokenSource();
    const p = c.explain('a prompt to cancel', {}, cts.token);
    cts.cancel();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await c.explain('still works', {})).text).toBe('still works');
  });

  it('an explain in flight when the bundle or provider changes is explained again by the new engine', async () => {
    const { c } = client();
    const loading = c.ensureLoaded();
    const explained = c.explain('asked while the setting changes', {});
    const reloaded = c.reload(); // what a changed seer.bundlePath does
    await expect(loading).rejects.toMatchObject({ code: 'ENGINE_RESTARTED', category: 'engine' });
    await reloaded;
    expect((await explained).text).toBe('asked while the setting changes');
  });

  it('reports a crash, fails the request in flight, and works again at the next request', async () => {
    const { c, crashes } = client();
    await c.ensureLoaded();
    const pid = c.pid!;
    const p = c.explain('the engine dies during this '.repeat(20), {});
    process.kill(pid, 'SIGKILL');
    await expect(p).rejects.toMatchObject({ code: 'ENGINE_CRASHED', category: 'engine', quiet: false });
    expect(crashes[0]).toMatch(/killed \(SIGKILL\)/);
    const r = await c.explain('after the crash', {});
    expect(c.pid).not.toBe(pid);
    expect(r.text).toBe('after the crash');
  });

  it('treats a request past the timeout as a hang and restarts', async () => {
    const { c, crashes } = client({ requestTimeoutMs: 60_000 });
    await c.ensureLoaded();
    const pid = c.pid!;
    // A 1 ms limit: no engine answers that fast, so this is a "hang".
    await expect(c.request(EngineRequests.explain, { text: 'x' }, undefined, 1)).rejects.toMatchObject({ code: 'ENGINE_TIMEOUT' });
    expect(crashes[0]).toMatch(/did not answer/);
    expect(c.running).toBe(false);
    expect((await c.explain('after the hang', {})).text).toBe('after the hang');
    expect(c.pid).not.toBe(pid);
  });

  it('calibrates and evaluates a dataset with the parameters the Calibrate command sends', async () => {
    const dir = tempDir('seer-calibrate-');
    const topics: Record<string, string[]> = {
      baking: ['bread', 'cake', 'cookies', 'muffins', 'pie', 'scones', 'bagels', 'brownies'],
      finance: ['stocks', 'bonds', 'taxes', 'loans', 'savings', 'pensions', 'budgets', 'mortgages'],
      travel: ['Paris', 'Tokyo', 'Lima', 'Cairo', 'Oslo', 'Rome', 'Lagos', 'Quito'],
    };
    const rows = Object.entries(topics).flatMap(([label, words]) => words.map((w) => `"Tell me about ${w}, please.",${label}`));
    const csv = path.join(dir, 'topics.csv');
    writeFileSync(csv, `prompt,label\n${rows.join('\n')}\n`);
    const progress: number[] = [];
    const { c } = client({ onProgress: (p) => progress.push(p.done) });
    const spec = { path: csv, textColumns: ['prompt'], labelColumn: 'label' };
    const cal = await c.request(EngineRequests.calibrate, { ...spec, bankName: 'topics', out: path.join(dir, 'topics.json'), progressToken: 't1' });
    expect(cal.rows.rowsUsed).toBe(24);
    expect(progress.length).toBeGreaterThan(0); // seer/progress notifications reach the host
    expect(cal.bank.concepts.sort()).toEqual(['baking', 'finance', 'travel']);
    const report = await c.request(EngineRequests.evaluate, { ...spec, bank: cal.bankPath, progressToken: 't2' });
    const html = evaluationReportHtml([report], 'n');
    for (const concept of report.concepts) expect(html).toContain(concept);
  });

  it('turns a broken bundle into an error naming the file', async () => {
    const dir = tempDir('seer-broken-');
    writeFileSync(path.join(dir, 'seer.json'), '{ "format": "seer-bundle", ');
    const { c } = client({ config: () => ({ bundleDir: dir, provider: 'cpu' }) });
    const err = (await c.explain('x', {}).catch((e: unknown) => e)) as EngineError;
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toMatch(/BUNDLE/);
    expect(err.category).toBe('bundle');
    expect(err.file ?? err.message).toContain('seer.json');
    expect(c.running).toBe(false);
  });
});
