// The History as the extension keeps it: explanations and generations in a session file
// (engine/src/sessions/sessionFile.ts), full results cached in the extension's folder, and entry ids from the
// (untrusted) session file never reaching a path.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult, Generation, GenerationStep } from '../../common/protocol';
import { Engine } from '../../engine/src/engine';
import { type GenerationRun, sessionEntryFromResult, sessionToCsv } from '../../engine/src/sessions/sessionFile';
import { HistoryStore, type HistoryStoreOptions, stoppedGeneration } from '../../extension/src/historyStore';
import { BUNDLE_DIR, readManifest } from '../engine/helpers';
import { makeResult } from '../webview/resultFixture';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'seer-history-'));
/** A result id of the engine's shape (a UUID), readable in the test: 'one' → 00000000-0000-4000-8000-0000006f6e65. */
const idOf = (name: string) => `00000000-0000-4000-8000-${Buffer.from(name).toString('hex').padStart(12, '0')}`;
let clock = 0;
const withId = (name: string, text = `prompt ${name}`) => ({ ...makeResult(), id: idOf(name), text, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString() });
const fileOf = (name: string) => `${idOf(name)}.json`;

/** A workspace folder (the session file) and the extension's storage folder (the cache), apart as in VS Code. */
function stores(options?: HistoryStoreOptions) {
  const workspace = fresh();
  const cache = path.join(fresh(), 'history');
  const sessionFile = path.join(workspace, '.seer-session.json');
  return { workspace, cache, sessionFile, store: new HistoryStore(sessionFile, cache, options), again: () => new HistoryStore(sessionFile, cache, options) };
}

describe('HistoryStore', () => {
  it('records every explanation in the session file, newest first, and reopens it after a reload', async () => {
    const { sessionFile, store, again } = stores();
    await store.add(withId('one'), { maxTokens: 32 });
    await store.add(withId('two', '  multi\n line   prompt '));
    const list = await again().list();
    expect(list.map((e) => e.id)).toEqual([idOf('two'), idOf('one')]);
    expect(list[0].preview).toBe('multi line prompt');
    expect((await again().get(idOf('one')))!.text).toBe('prompt one');
    const session = JSON.parse(readFileSync(sessionFile, 'utf8'));
    expect(session.entries.map((e: { prompt: string }) => e.prompt)).toEqual(['prompt one', '  multi\n line   prompt ']);
    expect(session.entries[0].settings.maxTokens).toBe(32);
    expect((await again().entry(idOf('one')))!.prompt).toBe('prompt one');
  });

  it('keeps an explanation made again as a new entry (a session records every try)', async () => {
    const { store } = stores();
    await store.add(withId('first', 'same prompt'));
    await store.add(withId('again', 'same prompt'));
    expect((await store.list()).map((e) => e.id)).toEqual(['again', 'first'].map(idOf));
  });

  it('lists entries another window wrote, whose results it does not have: their prompt is kept to explain again', async () => {
    const { sessionFile, store, cache } = stores();
    await store.add(withId('mine'));
    const other = new HistoryStore(sessionFile, path.join(fresh(), 'history'));
    await other.add(withId('theirs'));
    expect((await store.list()).map((e) => e.id)).toEqual(['theirs', 'mine'].map(idOf));
    expect(await store.get(idOf('theirs'))).toBeUndefined();
    expect((await store.entry(idOf('theirs')))!.prompt).toBe('prompt theirs');
    expect(readdirSync(path.join(cache, 'results'))).toEqual([fileOf('mine')]);
  });

  it('caches at most maxCachedResults results; the session keeps every entry', async () => {
    const { store, cache } = stores({ maxCachedResults: 2 });
    for (const id of ['a', 'b', 'c', 'd']) {
      await store.add(withId(id));
      await new Promise((r) => setTimeout(r, 15)); // distinct modification times
    }
    expect((await store.list()).map((e) => e.id)).toEqual(['d', 'c', 'b', 'a'].map(idOf));
    expect(readdirSync(path.join(cache, 'results')).sort()).toEqual(['c', 'd'].map(fileOf).sort());
  });

  it('deletes an entry, renames the session and clears it', async () => {
    const { store, cache } = stores();
    await store.add(withId('a'));
    await store.add(withId('b'));
    await store.remove(idOf('a'));
    expect((await store.list()).map((e) => e.id)).toEqual([idOf('b')]);
    expect(existsSync(path.join(cache, 'results', fileOf('a')))).toBe(false);
    await store.rename('refusal probes');
    expect((await store.session()).name).toBe('refusal probes');
    await store.clear();
    expect(await store.list()).toEqual([]);
    expect((await store.session()).name).toBe('refusal probes');
    expect(existsSync(cache)).toBe(false);
  });

  it('a damaged session file: the explanation is not recorded and the file is left as the user left it', async () => {
    const { sessionFile, store } = stores();
    writeFileSync(sessionFile, '{ "version": 1, "name": "x", "entries": [ }');
    await expect(store.list()).rejects.toThrow(/syntax error at line 1, column 43.*a copy is kept at/);
    await expect(store.add(withId('new'))).rejects.toMatchObject({ code: 'SESSION_INVALID' });
    expect(readFileSync(sessionFile, 'utf8')).toBe('{ "version": 1, "name": "x", "entries": [ }');
    expect(await store.get(idOf('new'))).toBeUndefined();
  });

  it('refuses result ids that are paths', async () => {
    const { store, cache } = stores();
    expect(await store.get('../history')).toBeUndefined();
    await expect(store.add({ ...makeResult(), id: '../escape' })).rejects.toThrow(/not an engine result id/);
    expect(existsSync(path.join(path.dirname(cache), 'escape.json'))).toBe(false);
  });
});

describe('HistoryStore with a tampered session file', () => {
  it('ids that are paths or links reach no file outside the cache', async () => {
    const { sessionFile, cache } = stores();
    mkdirSync(path.join(cache, 'results'), { recursive: true });
    const outside = fresh();
    const victims = [path.join(path.dirname(cache), 'victim.json'), path.join(outside, 'victim.json'), path.join(outside, 'linked.json')];
    for (const v of victims) writeFileSync(v, '{"precious":true}');
    symlinkSync(victims[2], path.join(cache, 'results', fileOf('linked')));
    const ids = ['../../victim', path.join(outside, 'victim'), idOf('linked')];
    const entries = ids.map((id, i) => ({ ...sessionEntryFromResult(withId(`x${i}`)), id }));
    writeFileSync(sessionFile, JSON.stringify({ version: 1, name: 'tampered', entries }));
    const warnings: string[] = [];
    const store = new HistoryStore(sessionFile, cache, { warn: (line) => warnings.push(line) });
    expect((await store.list()).map((e) => e.id)).toEqual([...ids].reverse());
    for (const id of ids) expect(await store.get(id)).toBeUndefined();
    expect(warnings.some((w) => w.includes('not an engine result id'))).toBe(true);
    expect(warnings.some((w) => w.includes('is a link'))).toBe(true);
    for (const id of ids) await store.remove(id);
    expect(await store.list()).toEqual([]);
    await store.clear();
    expect(victims.every((v) => readFileSync(v, 'utf8') === '{"precious":true}')).toBe(true);
  });

  it('refuses a results folder that is a link out of the cache folder', async () => {
    const { store, cache } = stores();
    mkdirSync(cache, { recursive: true });
    const outside = fresh();
    const victim = path.join(outside, fileOf('old'));
    writeFileSync(victim, '{"precious":true}');
    symlinkSync(outside, path.join(cache, 'results'));
    expect(await store.get(idOf('old'))).toBeUndefined();
    await expect(store.add(withId('new'))).rejects.toThrow(/results is a link/);
    expect(readdirSync(outside)).toEqual([fileOf('old')]);
    await store.clear();
    expect(readFileSync(victim, 'utf8')).toBe('{"precious":true}');
    await store.add(withId('new')); // A cleared cache works again.
    expect((await store.get(idOf('new')))!.text).toBe('prompt new');
  });
});

// Real generations of the default bundle, recorded as the panel's Generate records them.
const defaultIsFormat2 = readManifest(BUNDLE_DIR).formatVersion === 2;

describe.skipIf(!defaultIsFormat2)('HistoryStore with generations', () => {
  const PROMPT = 'How do I chop an onion?';
  let plain: Generation;
  let steered: Generation;
  let streamedBeforeStop: GenerationStep[];
  let shown: ExplainResult;
  let bundle: { name: string; dir: string };
  const steer = () => [{ concept: plain.concepts[0], strength: -4 }];
  const recorded = (name: string, generations: Generation[], terms: ReturnType<typeof steer> = []): GenerationRun => ({
    id: idOf(name), createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString(), prompt: PROMPT, bundle, bank: 'default',
    options: { maxNewTokens: 6, temperature: 0, seed: 1, steer: terms }, generations,
  });

  beforeAll(async () => {
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
    try {
      shown = await engine.explain(PROMPT);
      bundle = { name: shown.bundle.name, dir: shown.bundle.dir };
      plain = await engine.generate(PROMPT, { maxNewTokens: 6, seed: 1 });
      steered = await engine.generate(PROMPT, { maxNewTokens: 6, seed: 1, steer: steer() });
      // Stop pressed after the second token, the client no longer waiting for the engine's answer: only what streamed is left.
      const controller = new AbortController();
      streamedBeforeStop = [];
      await engine.generate(PROMPT, { maxNewTokens: 6, seed: 1, signal: controller.signal }, (step, i) => {
        streamedBeforeStop.push(step);
        if (i === 1) controller.abort();
      });
    } finally {
      await engine.dispose();
    }
  }, 120_000);

  it('records a steered generation with its plain twin as one entry and reopens it, probabilities and all, after a reload', async () => {
    const { store, again, sessionFile } = stores();
    await store.add(withId('expl'));
    await store.addGeneration(recorded('gen', [plain, steered], steer()), shown);
    const [first, second] = await again().list();
    expect(second).toMatchObject({ kind: 'explain', id: idOf('expl') });
    expect(first).toEqual({
      kind: 'generation', id: idOf('gen'), createdAt: expect.any(String), preview: PROMPT, bundle: bundle.name, steer: `${plain.concepts[0]}:-4`,
      runs: [plain, steered].map((g) => ({ tokens: g.steps.length, finalConcept: g.steps.at(-1)!.concept, stopReason: g.stopReason })),
    });
    const reopened = (await again().generation(idOf('gen')))!;
    expect(reopened.result).toEqual(shown);
    expect(reopened.generations).toEqual([plain, steered]);
    expect(reopened.steer).toEqual(steer());
    // The session holds the trace, not the probabilities.
    const onDisk = readFileSync(sessionFile, 'utf8');
    expect(onDisk).not.toContain('"probs"');
    expect(JSON.parse(onDisk).entries[1].runs[1].text).toBe(steered.text);
    expect(await again().generation(idOf('expl'))).toBeUndefined(); // an explanation is no generation
  });

  it('a generation stopped before the engine answered is recorded as cancelled, with the tokens that streamed', async () => {
    const { store, again } = stores();
    const stopped = stoppedGeneration(streamedBeforeStop, plain.concepts);
    await store.addGeneration(recorded('stop', [stopped]), shown);
    const [row] = await again().list();
    expect(row).toMatchObject({ kind: 'generation', runs: [{ tokens: 2, stopReason: 'cancelled', finalConcept: streamedBeforeStop[1].concept }] });
    const { generations } = (await again().generation(idOf('stop')))!;
    expect(generations[0].steps).toEqual(streamedBeforeStop);
    expect(generations[0].steps.map((s) => s.id)).toEqual(plain.steps.slice(0, 2).map((s) => s.id)); // greedy: the same first tokens
    expect(generations[0].stopReason).toBe('cancelled');
  });

  it('another window\'s generation (not cached here) reopens from the session\'s trace: tokens and concepts, no probabilities', async () => {
    const { sessionFile, store } = stores();
    const other = new HistoryStore(sessionFile, path.join(fresh(), 'history'));
    await other.addGeneration(recorded('theirs', [plain, steered], steer()), shown);
    const reopened = (await store.generation(idOf('theirs')))!;
    expect(reopened.result).toBeUndefined();
    expect(reopened.prompt).toBe(PROMPT);
    reopened.generations.forEach((g, i) => {
      const made = [plain, steered][i];
      expect(g).toMatchObject({ text: made.text, concepts: made.concepts, stopReason: made.stopReason });
      expect(g.steps.map((s) => [s.token, s.concept])).toEqual(made.steps.map((s) => [s.token, s.concept]));
      expect(g.steps.every((s) => s.probs.length === 0)).toBe(true);
    });
  });

  it('deletes, renames, exports (a kind column) and clears generations like explanations; caches at most maxCachedResults', async () => {
    const { store, cache } = stores({ maxCachedResults: 2 });
    await store.add(withId('e'));
    for (const name of ['g1', 'g2', 'g3']) {
      await store.addGeneration(recorded(name, [plain]), shown);
      await new Promise((r) => setTimeout(r, 15)); // distinct modification times
    }
    expect(readdirSync(path.join(cache, 'generations')).sort()).toEqual(['g2', 'g3'].map(fileOf).sort());
    expect((await store.generation(idOf('g1')))!.generations[0].steps[0].probs).toEqual([]); // pruned: from the session
    await store.remove(idOf('g2'));
    expect(existsSync(path.join(cache, 'generations', fileOf('g2')))).toBe(false);
    await store.rename('onion variants');
    const session = await store.session();
    expect(session.name).toBe('onion variants');
    const rows = parse(sessionToCsv(session), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.kind, r.id])).toEqual([['explain', idOf('e')], ['generation', idOf('g1')], ['generation', idOf('g3')]]);
    expect(rows[2]).toMatchObject({ generated_tokens: String(plain.steps.length), generated_final_concept: plain.steps.at(-1)!.concept, steer: '' });
    await store.clear();
    expect(await store.list()).toEqual([]);
    expect(existsSync(cache)).toBe(false);
  });

  it('a generation id that is a path reaches no file', async () => {
    const { store, cache } = stores();
    await expect(store.addGeneration({ ...recorded('x', [plain]), id: '../../escape' }, shown)).rejects.toThrow(/not an engine result id/);
    expect(existsSync(path.join(cache, '..', 'escape.json'))).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});
