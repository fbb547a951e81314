// The History as the extension keeps it: entries in a session file (engine/src/sessions/sessionFile.ts), full
// results cached in the extension's folder, and entry ids from the (untrusted) session file never reaching a path.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionEntryFromResult } from '../../engine/src/sessions/sessionFile';
import { HistoryStore, type HistoryStoreOptions } from '../../extension/src/historyStore';
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
