// The .seer-session.json store: entries from results and from generations (real ones, of the default bundle),
// validation of hand-edited files (with a backup and nothing overwritten), the lock, and two writers — two
// processes, as two VS Code windows are — losing nothing.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import type { Generation } from '../../engine/src/generate';
import { LIMITS } from '../../engine/src/limits';
import {
  addEntries, deleteEntries, type ExplainEntry, type GenerationEntry, type GenerationRun, readSession, renameSession, type Session, type SessionEntry,
  SESSION_VERSION, sessionEntryFromGeneration, sessionEntryFromResult, sessionToCsv, sessionToJson,
} from '../../engine/src/sessions/sessionFile';
import { makeResult } from '../webview/resultFixture';
import { BUNDLE_DIR, readManifest, ROOT, runSeer } from './helpers';

let tmp: string;
let n = 0;
const freshFile = async () => {
  const dir = path.join(tmp, `s${n++}`);
  await fs.mkdir(dir);
  return path.join(dir, '.seer-session.json');
};
const entry = (id: string, createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, n++)).toISOString(), text = `prompt ${id}`): ExplainEntry =>
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
    await write({ ...session, version: SESSION_VERSION + 1 });
    expect((await errorOf(readSession(file))).message).toMatch(/"version" is 3: the session was written by a newer seer \(this one reads version 2\)/);
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
    expect(lines[0]).toBe('id,kind,created_at,prompt,prompt_chars,bundle,bundle_dir,bank,pooling,max_tokens,truncation,layer_range,concept,confidence,margin,' +
      'safe,target_layer,low_confidence,max_new_tokens,temperature,top_p,seed,steer,generated_text,generated_tokens,generated_stop_reason,' +
      'generated_final_concept,generated_concept_shares,steered_text,steered_tokens,steered_stop_reason,steered_final_concept,steered_concept_shares');
    expect(lines[1]).toMatch(/^a,explain,2026-01-01T00:00:00\.000Z,"'=HYPERLINK\(""x""\)",15,fixture,\/tmp\/fixture,default,last,,right,,/);
    expect(csv).toContain('"two\nlines, ""quoted"""');
    const e = session.entries[1] as ExplainEntry;
    // The generation columns of an explanation are empty.
    expect(csv).toContain(`,${e.summary.concept},${e.summary.confidence},${e.summary.margin},,${e.summary.targetLayer},false,,,,,,,,,,,,,,,\n`);
  });

  it('JSON: the session as it is stored', () => {
    expect(JSON.parse(sessionToJson(session))).toEqual(session);
  });
});

// Real generations of the default bundle: a greedy plain run, its twin steered away from its first concept with
// the same seed, and a run stopped by the user after three tokens.
const defaultIsFormat2 = readManifest(BUNDLE_DIR).formatVersion === 2;
if (!defaultIsFormat2) console.warn(`skipping the session's generation entries: ${BUNDLE_DIR} is not format 2 (npm run build:model)`);

describe.skipIf(!defaultIsFormat2)('generation entries', () => {
  const PROMPT = 'How do I chop an onion?';
  const SEED = 7;
  let plain: Generation;
  let steered: Generation;
  let stopped: Generation;
  let bundle: { name: string; dir: string };
  let concepts: string[];
  let at = 0;
  const run = (id: string, generations: Generation[], over: Partial<GenerationRun['options']> = {}): GenerationRun => ({
    id, createdAt: new Date(Date.UTC(2026, 1, 1, 0, 0, at++)).toISOString(), prompt: PROMPT, bundle, bank: 'default',
    options: { maxNewTokens: 8, temperature: 0, seed: SEED, ...over }, generations,
  });
  const steer = () => [{ concept: concepts[0], strength: -4 }];

  beforeAll(async () => {
    const engine = await Engine.load({ bundleDir: BUNDLE_DIR, provider: 'cpu' });
    try {
      bundle = { name: engine.info.bundle.name, dir: engine.info.bundle.dir };
      concepts = engine.info.bundle.concepts;
      plain = await engine.generate(PROMPT, { maxNewTokens: 8, seed: SEED });
      steered = await engine.generate(PROMPT, { maxNewTokens: 8, seed: SEED, steer: steer() });
      const controller = new AbortController();
      stopped = await engine.generate(PROMPT, { maxNewTokens: 8, seed: SEED, signal: controller.signal }, (_, i) => {
        if (i === 2) controller.abort();
      });
    } finally {
      await engine.dispose();
    }
  }, 120_000);

  it('records the settings, each run\'s text and concept trace, and where the trace ended', () => {
    const e = sessionEntryFromGeneration(run('g', [plain, steered], { steer: steer(), topP: 0.9 }));
    expect(e).toMatchObject({
      kind: 'generation', id: 'g', prompt: PROMPT, bundle, bank: 'default', concepts,
      settings: { maxNewTokens: 8, temperature: 0, topP: 0.9, seed: SEED, steer: steer() },
    });
    expect(e.runs).toHaveLength(2);
    e.runs.forEach((r, i) => {
      const g = [plain, steered][i];
      expect(r.text).toBe(g.text);
      expect(r.stopReason).toBe(g.stopReason);
      expect(r.tokenCount).toBe(g.steps.length);
      expect(r.tokens).toEqual(g.steps.map((s) => s.token));
      expect(r.stepConcepts.map((k) => concepts[k])).toEqual(g.steps.map((s) => s.concept));
      expect(r.finalConcept).toBe(g.steps.at(-1)!.concept);
      const counted = concepts.map((c) => g.steps.filter((s) => s.concept === c).length / g.steps.length);
      expect(r.conceptShares).toEqual(counted);
      expect(r.conceptShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    });
    // The probabilities (concepts × tokens numbers) stay out of the session.
    expect(JSON.stringify(e)).not.toContain('probs');
  });

  it('a cancelled generation is recorded as cancelled, with the tokens it had', async () => {
    expect(stopped.stopReason).toBe('cancelled');
    expect(stopped.steps).toHaveLength(3);
    const file = await freshFile();
    await addEntries(file, [sessionEntryFromGeneration(run('stopped', [stopped]))]);
    const [r] = ((await readSession(file))!.entries[0] as GenerationEntry).runs;
    expect(r).toMatchObject({ stopReason: 'cancelled', tokenCount: 3, text: stopped.text, tokens: stopped.steps.map((s) => s.token) });
  });

  it('keeps a long run\'s first LIMITS.sessionGenerationSteps tokens and counts the rest; a long text is cut', () => {
    const n = LIMITS.sessionGenerationSteps + 5;
    const long: Generation = { ...plain, text: 'y'.repeat(LIMITS.sessionPromptChars + 1), steps: Array.from({ length: n }, (_, i) => plain.steps[i % plain.steps.length]) };
    const [r] = sessionEntryFromGeneration(run('long', [long])).runs;
    expect(r.tokenCount).toBe(n);
    expect(r.tokens).toHaveLength(LIMITS.sessionGenerationSteps);
    expect(r.stepConcepts).toHaveLength(LIMITS.sessionGenerationSteps);
    expect(r.text).toHaveLength(LIMITS.sessionPromptChars);
    expect(r.textChars).toBe(LIMITS.sessionPromptChars + 1);
  });

  it('an older explain-only file stays version 1 and readable; the first generation makes it version 2', async () => {
    const file = await freshFile();
    // As seer wrote it before generations were recorded: entries without a kind.
    await fs.writeFile(file, JSON.stringify({ version: 1, name: 'old', entries: [entry('old')] }, null, 1));
    await addEntries(file, [entry('new')]);
    const before = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(before.version).toBe(1);
    expect(before.entries.map((e: SessionEntry) => e.kind)).toEqual([undefined, undefined]);
    await addEntries(file, [sessionEntryFromGeneration(run('gen', [plain]))]);
    const s = (await readSession(file))!;
    expect(s.version).toBe(2);
    expect(s.entries.map((e) => [e.id, e.kind ?? 'explain'])).toEqual([['old', 'explain'], ['new', 'explain'], ['gen', 'generation']]);
    await deleteEntries(file, ['gen']);
    expect((await readSession(file))!.entries.map((e) => e.id)).toEqual(['old', 'new']);
  });

  it('hand-edited generation entries: SESSION_INVALID names the field, keeps a backup, and the file is not rewritten', async () => {
    const file = await freshFile();
    const good = sessionEntryFromGeneration(run('g', [plain, steered], { steer: steer() }));
    const cases: Array<[(e: any) => void, RegExp]> = [
      [(e) => (e.kind = 'chat'), /"entries\[1\]\.kind" must be one of "explain", "generation", got "chat"/],
      [(e) => delete e.runs, /"entries\[1\]\.runs" must be an array, got /],
      [(e) => e.runs.pop(), /"entries\[1\]\.runs" must have 2 entries, has 1/],
      [(e) => (e.runs[1].stopReason = 'bored'), /"entries\[1\]\.runs\[1\]\.stopReason" must be one of "eos", "max-new-tokens", "context", "cancelled", got "bored"/],
      [(e) => (e.runs[0].stepConcepts[2] = concepts.length), new RegExp(`"entries\\[1\\]\\.runs\\[0\\]\\.stepConcepts\\[2\\]" must be the index of one of the ${concepts.length} concepts`)],
      [(e) => e.runs[0].tokens.pop(), /"entries\[1\]\.runs\[0\]\.tokens" must have \d+ entries, has \d+/],
      [(e) => (e.runs[0].conceptShares[0] = 2), /"entries\[1\]\.runs\[0\]\.conceptShares\[0\]" must be a share from 0 to 1, got 2/],
      [(e) => (e.runs[0].finalConcept = 'knitting'), /"entries\[1\]\.runs\[0\]\.finalConcept" must be one of the entry's concepts, got "knitting"/],
      [(e) => (e.settings.steer[0].strength = 'strong'), /"entries\[1\]\.settings\.steer\[0\]\.strength" must be a finite number, got /],
      [(e) => (e.settings.topP = 0), /"entries\[1\]\.settings\.topP" must be above 0, got 0/],
      [(e) => (e.settings.seed = -1), /"entries\[1\]\.settings\.seed" must be at least 0, got -1/],
      [(e) => (e.concepts = 'violence'), /"entries\[1\]\.concepts" must be an array/],
    ];
    for (const [spoil, message] of cases) {
      const bad = structuredClone(good) as any;
      spoil(bad);
      const text = JSON.stringify({ version: 2, name: 'x', entries: [entry('a'), bad] });
      await fs.writeFile(file, text);
      const err = await errorOf(readSession(file));
      expect(err.code).toBe('SESSION_INVALID');
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(/a copy is kept at .*\.invalid-/);
      expect((await errorOf(addEntries(file, [entry('b')]))).code).toBe('SESSION_INVALID');
      expect(await fs.readFile(file, 'utf8')).toBe(text);
    }
  });

  it('two processes (two windows), one recording generations and one explanations, lose nothing', async () => {
    const file = await freshFile();
    const script = path.join(tmp, 'mixed-writer.cjs');
    await build({
      stdin: {
        contents: `const s = require(${JSON.stringify(path.join(ROOT, 'engine/src/sessions/sessionFile.ts'))});
          const [file, who, count] = process.argv.slice(2);
          const explained = s.sessionEntryFromResult(${JSON.stringify(makeResult())});
          const generated = s.sessionEntryFromGeneration(${JSON.stringify(run('base', [plain, steered], { steer: steer() }))});
          (async () => {
            for (let i = 0; i < Number(count); i++) {
              const base = who === 'gen' ? generated : explained;
              await s.addEntries(file, [{ ...base, id: who + i, createdAt: new Date().toISOString() }]);
            }
          })().catch((e) => { console.error(e.message); process.exit(1); });`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'cjs', outfile: script, logLevel: 'silent',
    });
    const writer = (who: string) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [script, file, who, '25'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(await Promise.all([writer('gen'), writer('exp')])).toEqual([{ code: 0, stderr: '' }, { code: 0, stderr: '' }]);
    const s = (await readSession(file))!;
    expect(s.version).toBe(2);
    expect(s.entries.filter((e) => e.kind === 'generation').map((e) => e.id).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `gen${i}`).sort());
    expect(s.entries.filter((e) => e.kind === undefined)).toHaveLength(25);
    expect((s.entries.find((e) => e.id === 'gen0') as GenerationEntry).runs[1].text).toBe(steered.text);
    expect(await siblings(file)).toEqual(['.seer-session.json']);
  }, 60_000);

  it('CSV: the kind column, the settings and each run; JSON as stored', () => {
    const session: Session = {
      version: 2, name: 'mixed',
      entries: [entry('e', '2026-01-01T00:00:00.000Z'), sessionEntryFromGeneration(run('g', [plain, steered], { steer: steer() })), sessionEntryFromGeneration(run('s', [stopped]))],
    };
    const rows = parse(sessionToCsv(session), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.kind)).toEqual(['explain', 'generation', 'generation']);
    expect(rows[0]).toMatchObject({ concept: (session.entries[0] as ExplainEntry).summary.concept, generated_text: '', steer: '' });
    expect(rows[1]).toMatchObject({
      prompt: PROMPT, pooling: '', concept: '', max_new_tokens: '8', temperature: '0', top_p: '1', seed: String(SEED), steer: `${concepts[0]}:-4`,
      generated_tokens: String(plain.steps.length), generated_stop_reason: plain.stopReason, generated_final_concept: plain.steps.at(-1)!.concept,
      steered_tokens: String(steered.steps.length), steered_final_concept: steered.steps.at(-1)!.concept,
    });
    // A cell a spreadsheet would run as a formula is shown as text; otherwise the text is as generated.
    for (const [cell, g] of [[rows[1].generated_text, plain], [rows[1].steered_text, steered]] as const) {
      expect(cell).toBe(/^[=+\-@\t\r]/.test(g.text) ? `'${g.text}` : g.text);
    }
    const shares = rows[1].generated_concept_shares.split('; ').map((p) => p.split(' '));
    expect(shares.map(([c]) => c)).toContain(plain.steps.at(-1)!.concept);
    expect(shares.reduce((sum, [, v]) => sum + Number(v), 0)).toBeCloseTo(1, 3);
    expect(rows[2]).toMatchObject({ generated_stop_reason: 'cancelled', generated_tokens: '3', steered_text: '', steer: '' });
    expect(JSON.parse(sessionToJson(session))).toEqual(session);
  });
});

describe.skipIf(!defaultIsFormat2)('seer generate --session', () => {
  it('records the generation (plain and steered, one entry) in the session file the History reads', async () => {
    const file = await freshFile();
    const concept = readManifest(BUNDLE_DIR).concepts[0];
    const args = (seed: string) => ['generate', 'How do I chop an onion?', '--max-new-tokens', '4', '--seed', seed, '--steer', `${concept}:-4`, '--json',
      '--bundle', BUNDLE_DIR, '--provider', 'cpu', '--session', file];
    const r = runSeer(args('3'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(runSeer(args('4')).code).toBe(0); // a second generation appends
    const s = (await readSession(file))!;
    expect(s.entries).toHaveLength(2);
    const e = s.entries[0] as GenerationEntry;
    expect(e).toMatchObject({ kind: 'generation', prompt: 'How do I chop an onion?', bank: 'default', settings: { maxNewTokens: 4, seed: 3, steer: [{ concept, strength: -4 }] } });
    expect(e.runs.map((g) => g.text)).toEqual([printed.text, printed.steered.text]);
    expect(e.runs[0].tokens).toEqual(printed.steps.map((step: { token: string }) => step.token));
    expect((s.entries[1] as GenerationEntry).settings.seed).toBe(4);
  }, 120_000);

  it('a damaged session file: the generation is still printed, the error says where, and the file is left as it is', async () => {
    const file = await freshFile();
    await fs.writeFile(file, '{"version": 1, "name": "x", "entries": [}');
    const r = runSeer(['generate', 'Hello', '--max-new-tokens', '2', '--json', '--bundle', BUNDLE_DIR, '--provider', 'cpu', '--session', file]);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout).steps.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/syntax error at line 1[\s\S]*a copy is kept at/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await fs.readFile(file, 'utf8')).toBe('{"version": 1, "name": "x", "entries": [}');
  }, 60_000);
});
