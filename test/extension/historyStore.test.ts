import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from '../../extension/src/historyStore';
import { makeResult } from '../webview/resultFixture';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'seer-history-'));
const withId = (id: string, text = `prompt ${id}`) => ({ ...makeResult(), id, text });

describe('HistoryStore', () => {
  it('persists entries newest first and survives a new instance (a reload)', async () => {
    const dir = fresh();
    const a = new HistoryStore(dir);
    await a.add(withId('one'));
    await a.add(withId('two', '  multi\n line   prompt '));
    const b = new HistoryStore(dir);
    const list = await b.list();
    expect(list.map((e) => e.id)).toEqual(['two', 'one']);
    expect(list[0].preview).toBe('multi line prompt');
    expect((await b.get('one'))!.text).toBe('prompt one');
  });

  it('keeps at most maxEntries and deletes the dropped results', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir, 3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.add(withId(id));
    expect((await store.list()).map((e) => e.id)).toEqual(['e', 'd', 'c']);
    expect(readdirSync(path.join(dir, 'results')).sort()).toEqual(['c.json', 'd.json', 'e.json']);
  });

  it('replaces the entry of a prompt explained again', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir);
    await store.add(withId('first', 'same prompt'));
    await store.add(withId('other', 'another prompt'));
    await store.add(withId('again', 'same prompt'));
    expect((await store.list()).map((e) => e.id)).toEqual(['again', 'other']);
    expect(await store.get('first')).toBeUndefined();
  });

  it('serializes concurrent adds and leaves no temp files', async () => {
    const dir = fresh();
    const store = new HistoryStore(dir);
    await Promise.all(['p', 'q', 'r', 's'].map((id) => store.add(withId(id))));
    const index = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8'));
    expect(index.entries.map((e: { id: string }) => e.id).sort()).toEqual(['p', 'q', 'r', 's']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('starts fresh from a damaged index and refuses ids that are paths', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'history.json'), '{ not json');
    const store = new HistoryStore(dir);
    expect(await store.list()).toEqual([]);
    await store.add(withId('ok'));
    expect((await store.list()).map((e) => e.id)).toEqual(['ok']);
    expect(await store.get('../history')).toBeUndefined();
  });
});
