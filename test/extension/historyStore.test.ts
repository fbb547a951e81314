import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from '../../extension/src/historyStore';
import { makeResult } from '../webview/resultFixture';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'seer-history-'));
/** A result id of the engine's shape (a UUID), readable in the test: 'one' → 00000000-0000-4000-8000-0000006f6e65. */
const idOf = (name: string) => `00000000-0000-4000-8000-${Buffer.from(name).toString('hex').padStart(12, '0')}`;
const withId = (name: string, text = `prompt ${name}`) => ({ ...makeResult(), id: idOf(name), text });
const fileOf = (name: string) => `${idOf(name)}.json`;

describe('HistoryStore', () => {
  it('persists entries newest first and survives a new instance (a reload)', async () => {
    const dir = fresh();
    const a = new HistoryStore(dir);
    await a.add(withId('one'));
    await a.add(withId('two', '  multi\n line   prompt '));
    const b = new HistoryStore(dir);
    const list = await b.list();
    expect(list.map((e) => e.id)).toEqual([idOf('two'), idOf('one')]);
    expect(list[0].preview).toBe('multi line prompt');
    expect((await b.get(idOf('one')))!.text).toBe('prompt one');
  });

  it('stores the headline\'s safety for the side bar, and reads older entries without it', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir);
    const unsafe = withId('bad');
    await store.add({ ...unsafe, headline: { ...unsafe.headline, safe: false } });
    const unknown = withId('unk');
    await store.add({ ...unknown, headline: { ...unknown.headline, safe: null } });
    const index = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8')) as { entries: Array<Record<string, unknown>> };
    expect(index.entries.map((e) => e.safe)).toEqual([null, false]);
    delete index.entries[1].safe; // as written before the field existed
    writeFileSync(path.join(dir, 'history.json'), JSON.stringify(index));
    expect((await new HistoryStore(dir).list()).map((e) => [e.id, e.safe])).toEqual([[idOf('unk'), null], [idOf('bad'), undefined]]);
  });

  it('keeps at most maxEntries and deletes the dropped results', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir, { maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.add(withId(id));
    expect((await store.list()).map((e) => e.id)).toEqual(['e', 'd', 'c'].map(idOf));
    expect(readdirSync(path.join(dir, 'results')).sort()).toEqual(['c', 'd', 'e'].map(fileOf).sort());
  });

  it('replaces the entry of a prompt explained again', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir);
    await store.add(withId('first', 'same prompt'));
    await store.add(withId('other', 'another prompt'));
    await store.add(withId('again', 'same prompt'));
    expect((await store.list()).map((e) => e.id)).toEqual(['again', 'other'].map(idOf));
    expect(await store.get(idOf('first'))).toBeUndefined();
  });

  it('serializes concurrent adds and leaves no temp files', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir);
    await Promise.all(['p', 'q', 'r', 's'].map((id) => store.add(withId(id))));
    const index = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8'));
    expect(index.entries.map((e: { id: string }) => e.id).sort()).toEqual(['p', 'q', 'r', 's'].map(idOf).sort());
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'results')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('starts fresh from a damaged index and refuses ids that are paths', async () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'history.json'), '{ not json');
    const store = new HistoryStore(dir);
    expect(await store.list()).toEqual([]);
    await store.add(withId('ok'));
    expect((await store.list()).map((e) => e.id)).toEqual([idOf('ok')]);
    expect(await store.get('../history')).toBeUndefined();
    await expect(store.add({ ...makeResult(), id: '../escape' })).rejects.toThrow(/not an engine result id/);
    expect(existsSync(path.join(dir, 'escape.json'))).toBe(false);
  });
});

describe('HistoryStore with a tampered index', () => {
  /** A history folder inside `base`, with a victim file beside it and another in an unrelated folder. */
  function tampered() {
    const base = fresh();
    const dir = path.join(base, 'history');
    mkdirSync(path.join(dir, 'results'), { recursive: true });
    const outside = fresh();
    const victims = [path.join(base, 'victim.json'), path.join(outside, 'victim.json'), path.join(outside, 'linked.json')];
    for (const v of victims) writeFileSync(v, '{"precious":true}');
    // A result file that is a link out of the folder, under an id of the right shape.
    symlinkSync(victims[2], path.join(dir, 'results', fileOf('linked')));
    const entry = (id: string) => ({ id, createdAt: '2026-01-01T00:00:00.000Z', preview: 'p', concept: 'c', confidence: 0.5, bundle: 'b', key: id });
    const ids = ['../../victim', path.join(outside, 'victim'), idOf('linked')];
    writeFileSync(path.join(dir, 'history.json'), JSON.stringify({ version: 1, entries: ids.map(entry) }));
    const warnings: string[] = [];
    const store = new HistoryStore(dir, { maxEntries: 2, warn: (line) => warnings.push(line) });
    const survived = () => victims.every((v) => readFileSync(v, 'utf8') === '{"precious":true}');
    return { dir, ids, store, warnings, survived };
  }

  it('drops ids that are paths from the index, with a warning, and touches no file through them', async () => {
    const { dir, ids, store, warnings, survived } = tampered();
    expect((await store.list()).map((e) => e.id)).toEqual([idOf('linked')]);
    expect(warnings.filter((w) => w.includes('dropped'))).toHaveLength(2);
    for (const id of ids) expect(await store.get(id)).toBeUndefined();
    expect(warnings.some((w) => w.includes('is a link'))).toBe(true);

    // Two adds with maxEntries 2 evict the linked entry: its link is left alone, and so is its target.
    await store.add(withId('x'));
    await store.add(withId('y'));
    expect((await store.list()).map((e) => e.id)).toEqual(['y', 'x'].map(idOf));
    const index = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8'));
    expect(index.entries.map((e: { id: string }) => e.id)).toEqual(['y', 'x'].map(idOf));
    expect(survived()).toBe(true);

    await store.clear();
    expect(existsSync(dir)).toBe(false);
    expect(survived()).toBe(true);
  });

  it('refuses a results folder that is a link out of the history folder', async () => {
    const base = fresh();
    const dir = path.join(base, 'history');
    mkdirSync(dir);
    const outside = fresh();
    const victim = path.join(outside, fileOf('old'));
    writeFileSync(victim, '{"precious":true}');
    symlinkSync(outside, path.join(dir, 'results'));
    const entry = { id: idOf('old'), createdAt: '2026-01-01T00:00:00.000Z', preview: 'p', concept: 'c', confidence: 0.5, bundle: 'b', key: 'k' };
    writeFileSync(path.join(dir, 'history.json'), JSON.stringify({ version: 1, entries: [entry] }));
    const store = new HistoryStore(dir, { maxEntries: 1 });

    expect(await store.get(idOf('old'))).toBeUndefined();
    await expect(store.add(withId('new'))).rejects.toThrow(/results is a link/);
    expect(readdirSync(outside)).toEqual([fileOf('old')]);
    await store.clear();
    expect(readFileSync(victim, 'utf8')).toBe('{"precious":true}');
    await store.add(withId('new')); // A cleared history works again.
    expect((await store.get(idOf('new')))!.text).toBe('prompt new');
  });
});
