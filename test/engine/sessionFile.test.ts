// The .seer-session.json store: entries from results, validation of hand-edited files (with a backup and
// nothing overwritten), the lock, and two writers — two processes, as two VS Code windows are — losing nothing.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeerError } from '../../engine/src/errors';
import { LIMITS } from '../../engine/src/limits';
import {
  addEntries, deleteEntries, readSession, renameSession, type Session, type SessionEntry, sessionEntryFromResult, sessionToCsv, sessionToJson,
} from '../../engine/src/sessions/sessionFile';
import { makeResult } from '../webview/resultFixture';
import { ROOT } from './helpers';

let tmp: string;
let n = 0;
const freshFile = async () => {
  const dir = path.join(tmp, `s${n++}`);
  await fs.mkdir(dir);
  return path.join(dir, '.seer-session.json');
};
const entry = (id: string, createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString(), text = `prompt ${id}`): SessionEntry =>
  sessionEntryFromResult({ ...makeResult(), id, createdAt, text });
const errorOf = async (p: Promise<unknown>): Promise<SeerError> => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(SeerError);
  return e as SeerError;
};
const siblings = async (file: string) => (await fs.readdir(path.dirname(file))).sort();

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-session-'));
});
afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

describe('session entries', () => {
  it('records the prompt, bundle, bank, settings and the headline of a result', () => {
    const r = makeResult();
    const e = sessionEntryFromResult(r, { maxTokens: 64, layerRange: [1, 5] });
    expect(e).toEqual({
      id: r.id, createdAt: r.createdAt, prompt: r.text, bundle: r.bundle, bank: r.bank,
      settings: { pooling: 'last', maxTokens: 64, truncation: 'right', layerRange: [1, 5] },
      summary: { concept: r.headline.concept, confidence: r.headline.confidence, margin: r.headline.margin, safe: r.headline.safe, targetLayer: r.headline.layer, lowConfidence: false },
    });
  });

  it('cuts a very long prompt and says how long it was', () => {
    const text = 'x'.repeat(LIMITS.sessionPromptChars + 10);
    const e = sessionEntryFromResult({ ...makeResult(), text });
    expect(e.prompt).toHaveLength(LIMITS.sessionPromptChars);
    expect(e.promptChars).toBe(text.length);
  });
});

describe('session file', () => {
  it('has no session until the first entry, then keeps entries oldest first across reads', async () => {
    const file = await freshFile();
    expect(await readSession(file)).toBeUndefined();
    await addEntries(file, [entry('b', '2026-01-02T00:00:00.000Z')]);
    await addEntries(file, [entry('a', '2026-01-01T00:00:00.000Z'), entry('c', '2026-01-03T00:00:00.000Z')]);
    const s = (await readSession(file))!;
    expect(s.version).toBe(1);
    expect(s.name).toMatch(/^Session \d{4}-\d\d-\d\d$/);
    expect(s.entries.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(await siblings(file)).toEqual(['.seer-session.json']); // no lock or temp file left behind
  });

  it('renames, deletes entries and replaces an entry recorded again', async () => {
    const file = await freshFile();
    const a = entry('a');
    await addEntries(file, [a, entry('b'), entry('c')]);
    await renameSession(file, '  jailbreak variants ');
    await deleteEntries(file, ['b', 'not-there']);
    const again = { ...a, prompt: 'edited' };
    await addEntries(file, [again]);
    const s = (await readSession(file))!;
    expect(s.name).toBe('jailbreak variants');
    expect(s.entries.map((e) => [e.id, e.prompt])).toEqual([['a', 'edited'], ['c', 'prompt c']]);
    const err = await errorOf(renameSession(file, '   '));
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('hand-edited into invalid JSON: says where, keeps one backup, never overwrites', async () => {
    const file = await freshFile();
    await addEntries(file, [entry('a')]);
    const good = await fs.readFile(file, 'utf8');
    const lines = good.split('\n');
    const at = lines.findIndex((l) => l.includes('"prompt"'));
    lines[at] = lines[at].replace(/,$/, ''); // a missing comma, as a hand edit leaves it
    const broken = lines.join('\n');
    await fs.writeFile(file, broken);

    const err = await errorOf(readSession(file));
    expect(err.code).toBe('SESSION_INVALID');
    expect(err.message).toMatch(new RegExp(`syntax error at line ${at + 2}, column \\d+`));
    const backupName = /a copy is kept at (.*\.seer-session\.invalid-[\dTZ-]+\.json)\./.exec(err.message)![1];
    expect(await fs.readFile(backupName, 'utf8')).toBe(broken);
    expect(err.fixFor('cli')).toContain(path.basename(backupName));

    // A write is refused and leaves the file as the user left it; reading again makes no second backup.
    const refused = await errorOf(addEntries(file, [entry('b')]));
    expect(refused.code).toBe('SESSION_INVALID');
    expect(await fs.readFile(file, 'utf8')).toBe(broken);
    expect((await siblings(file)).filter((f) => f.includes('.invalid-'))).toHaveLength(1);
    await errorOf(readSession(file));
    expect((await siblings(file)).filter((f) => f.includes('.invalid-'))).toHaveLength(1);
    expect(await siblings(file)).not.toContain('.seer-session.json.lock');
  });

  it('names the field of an entry that is wrong, a newer version, a repeated id and bytes that are not UTF-8', async () => {
    const file = await freshFile();
    const write = (s: unknown) => fs.writeFile(file, typeof s === 'string' || Buffer.isBuffer(s) ? s : JSON.stringify(s));
    const session = { version: 1, name: 'x', entries: [entry('a'), entry('b')] };
    const bad = structuredClone(session) as any;
    bad.entries[1].summary.confidence = 'high';
    await write(bad);
    expect((await errorOf(readSession(file))).message).toMatch(/"entries\[1\]\.summary\.confidence" must be a finite number, got .*a copy is kept at/);
    await write({ ...session, version: 2 });
    expect((await errorOf(readSession(file))).message).toMatch(/"version" is 2: the session was written by a newer seer/);
    await write({ ...session, entries: [entry('a'), entry('a')] });
    expect((await errorOf(readSession(file))).message).toMatch(/"entries\[1\]\.id" repeats the id of entries\[0\]/);
    await write(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect((await errorOf(readSession(file))).message).toMatch(/is not UTF-8 text/);
    await write('');
    expect((await errorOf(readSession(file))).message).toMatch(/it is empty/);
  });

  it('never reads through a symbolic link, nor copies its target', async () => {
    const file = await freshFile();
    const secret = path.join(tmp, 'secret.txt');
    await fs.writeFile(secret, 'not a session');
    await fs.symlink(secret, file);
    const err = await errorOf(readSession(file));
    expect(err.message).toMatch(/is a symbolic link/);
    await errorOf(addEntries(file, [entry('a')]));
    expect(await fs.readFile(secret, 'utf8')).toBe('not a session');
    expect((await siblings(file)).filter((f) => f.includes('.invalid-'))).toEqual([]);
  });

  it('keeps fields it does not know when it rewrites the file', async () => {
    const file = await freshFile();
    const withExtra = { version: 1, name: 'x', note: 'kept', entries: [{ ...entry('a'), tags: ['mine'] }] };
    await fs.writeFile(file, JSON.stringify(withExtra));
    await addEntries(file, [entry('b')]);
    const raw = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(raw.note).toBe('kept');
    expect(raw.entries[0].tags).toEqual(['mine']);
  });

  it('refuses a file over the size limit without reading it, and a lock held too long', async () => {
    const file = await freshFile();
    await fs.writeFile(file, '');
    await fs.truncate(file, LIMITS.sessionFileBytes + 1); // sparse: costs no disk
    const err = await errorOf(readSession(file));
    expect(err.message).toMatch(/is 64\.0 MB; a session file is at most 64\.0 MB\. It was left as it is/);
    await fs.rm(file);
    await fs.writeFile(`${file}.lock`, 'someone else');
    const locked = await errorOf(addEntries(file, [entry('a')], { waitMs: 200 }));
    expect(locked.code).toBe('SESSION_LOCKED');
    expect(locked.fixFor('cli')).toContain(`${file}.lock`);
    expect(existsSync(file)).toBe(false);
    // The same lock, left by a crash long ago, is taken over.
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(`${file}.lock`, old, old);
    await addEntries(file, [entry('a')], { waitMs: 200 });
    expect((await readSession(file))!.entries.map((e) => e.id)).toEqual(['a']);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('two writers in one process (interleaved changes) lose nothing', async () => {
    const file = await freshFile();
    const ids = Array.from({ length: 40 }, (_, i) => `w${i}`);
    await Promise.all([
      ...ids.map((id) => addEntries(file, [entry(id)])),
      renameSession(file, 'renamed meanwhile'),
    ]);
    const s = (await readSession(file))!;
    expect(s.entries.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(s.name).toBe('renamed meanwhile');
  });

  it('two processes (two windows) appending at once lose nothing', async () => {
    const file = await freshFile();
    const script = path.join(tmp, 'writer.cjs');
    // The module as the extension ships it: bundled, run by node in its own process.
    await build({
      stdin: {
        contents: `const s = require(${JSON.stringify(path.join(ROOT, 'engine/src/sessions/sessionFile.ts'))});
          const [file, who, count] = process.argv.slice(2);
          const base = s.sessionEntryFromResult(${JSON.stringify(makeResult())});
          (async () => {
            for (let i = 0; i < Number(count); i++) {
              await s.addEntries(file, [{ ...base, id: who + i, createdAt: new Date().toISOString(), prompt: who + ' prompt ' + i }]);
            }
          })().catch((e) => { console.error(e.message); process.exit(1); });`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'cjs', outfile: script, logLevel: 'silent',
    });
    const run = (who: string) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [script, file, who, '30'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    const results = await Promise.all([run('left'), run('right')]);
    expect(results).toEqual([{ code: 0, stderr: '' }, { code: 0, stderr: '' }]);
    const s = (await readSession(file))!;
    expect(s.entries).toHaveLength(60);
    expect(new Set(s.entries.map((e) => e.id)).size).toBe(60);
    expect(await siblings(file)).toEqual(['.seer-session.json']);
  }, 60_000);
});

describe('session export', () => {
  const session: Session = {
    version: 1,
    name: 'export',
    entries: [
      entry('a', '2026-01-01T00:00:00.000Z', '=HYPERLINK("x")'),
      { ...entry('b', '2026-01-02T00:00:00.000Z', 'two\nlines, "quoted"'), summary: { ...entry('b').summary, safe: null } },
    ],
  };

  it('CSV: a header and one row per entry, formulas shown as text, unknown safety empty', () => {
    const csv = sessionToCsv(session);
    const lines = csv.split('\n');
    expect(lines[0]).toBe('id,created_at,prompt,prompt_chars,bundle,bundle_dir,bank,pooling,max_tokens,truncation,layer_range,concept,confidence,margin,safe,target_layer,low_confidence');
    expect(lines[1]).toMatch(/^a,2026-01-01T00:00:00\.000Z,"'=HYPERLINK\(""x""\)",15,fixture,\/tmp\/fixture,default,last,,right,,/);
    expect(csv).toContain('"two\nlines, ""quoted"""');
    const e = session.entries[1];
    expect(csv).toContain(`,${e.summary.concept},${e.summary.confidence},${e.summary.margin},,${e.summary.targetLayer},false\n`);
  });

  it('JSON: the session as it is stored', () => {
    expect(JSON.parse(sessionToJson(session))).toEqual(session);
  });
});
