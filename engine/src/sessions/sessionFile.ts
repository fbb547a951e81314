// A prompt-engineering session: every explanation recorded in a `.seer-session.json` (the prompt, the bundle,
// bank and settings, and a summary of the result), so that it survives reloads and crashes and can be
// exported. The file is untrusted input (hand-edited, merged by git, damaged): it is read within size limits
// and validated whole; one that is not a valid session is never rewritten — the error says where it is wrong
// and where a backup copy is. Every change takes a lock file, re-reads the file, applies the change to what is
// there now and writes it atomically, so two windows writing one session lose nothing. Format: docs/extension.md#sessions.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExplainOptions, ExplainResult, Pooling, TruncationSide } from '../../../common/protocol';
import { type Json, JsonChecker, parseJson } from '../bundle/jsonCheck';
import { csvRows } from '../csv';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { LIMITS } from '../limits';
import { formatBytes, readRegularFile, RegularFileError } from '../regularFile';

export const SESSION_FILE_NAME = '.seer-session.json';
export const SESSION_VERSION = 1;

export interface SessionEntry {
  /** The explanation's result id (unique: the union of two writers' entries is by id). */
  id: string;
  /** ISO 8601 time of the explanation. */
  createdAt: string;
  /** The prompt as given, cut to LIMITS.sessionPromptChars characters. */
  prompt: string;
  /** Present when the prompt was cut: its full length in characters. */
  promptChars?: number;
  bundle: { name: string; dir: string };
  bank: string;
  settings: {
    pooling: Pooling;
    /** The token limit asked for (null: the model's context). */
    maxTokens: number | null;
    truncation: TruncationSide;
    /** The layers scored, inclusive (null: every layer). */
    layerRange: [number, number] | null;
  };
  summary: {
    concept: string;
    confidence: number;
    margin: number;
    /** null: the bank does not say which concepts are safe. */
    safe: boolean | null;
    targetLayer: number;
    /** The prompt was far from every concept seen in calibration (headline.lowConfidence). */
    lowConfidence: boolean;
  };
}

export interface Session {
  version: typeof SESSION_VERSION;
  name: string;
  /** Oldest first. */
  entries: SessionEntry[];
}

/** The entry recording `result`, explained with `options` (the settings a result does not carry itself). */
export function sessionEntryFromResult(result: ExplainResult, options: ExplainOptions = {}): SessionEntry {
  const cut = result.text.length > LIMITS.sessionPromptChars;
  const h = result.headline;
  return {
    id: result.id,
    createdAt: result.createdAt,
    prompt: cut ? result.text.slice(0, LIMITS.sessionPromptChars) : result.text,
    ...(cut ? { promptChars: result.text.length } : {}),
    bundle: { name: result.bundle.name, dir: result.bundle.dir },
    bank: result.bank,
    settings: {
      pooling: result.pooling,
      maxTokens: options.maxTokens ?? null,
      truncation: options.truncation ?? result.truncation?.side ?? 'right',
      layerRange: options.layerRange ?? null,
    },
    summary: {
      concept: h.concept,
      confidence: h.confidence,
      margin: h.margin,
      safe: h.safe,
      targetLayer: h.layer,
      lowConfidence: h.lowConfidence !== undefined,
    },
  };
}

/** A new, empty session named after the day it starts. */
export function emptySession(now = new Date()): Session {
  return { version: SESSION_VERSION, name: `Session ${now.toISOString().slice(0, 10)}`, entries: [] };
}

/** The session in `file`, or undefined when there is none yet. Throws SESSION_INVALID (after keeping a backup) when it cannot be read as one. */
export async function readSession(file: string): Promise<Session | undefined> {
  // A link (one a cloned repository could plant) is never followed: its target would be read, and copied as a backup.
  if ((await fs.lstat(file).catch(() => undefined))?.isSymbolicLink()) {
    throw new SeerError('SESSION_INVALID', `The session file ${file} is a symbolic link; a session is never read through a link. It was left as it is.`, {
      file,
      fix: 'Replace the link with the session file itself, or remove it to start a new session.',
    });
  }
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, LIMITS.sessionFileBytes);
  } catch (err) {
    if (err instanceof RegularFileError && err.kind === 'missing') return undefined;
    const why = err instanceof RegularFileError && err.kind === 'too-large'
      ? `is ${formatBytes(err.size ?? 0)}; a session file is at most ${formatBytes(LIMITS.sessionFileBytes)}`
      : `cannot be read (${(err as Error).message})`;
    throw new SeerError('SESSION_INVALID', `The session file ${file} ${why}. It was left as it is.`, {
      file,
      fix: 'Move it out of the workspace (or export what you need from it) to start a new session.',
    });
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return validateSession(parseJson(text, file, 'SESSION_INVALID'), file);
  } catch (err) {
    const backup = await keepBackup(file, bytes);
    const problem = err instanceof SeerError ? err.message.replace(/\.?$/, '.') : `${file} is not UTF-8 text.`;
    throw new SeerError('SESSION_INVALID', `${problem} The session was not changed; a copy is kept at ${backup}.`, {
      file,
      fix: `Fix the file at the place named (or restore it from ${path.basename(backup)}), or move it away to start a new session.`,
    });
  }
}

/**
 * Applies `change` to the session in `file` as it is now (a new session when there is none) and writes the
 * result atomically, holding the file's lock throughout so that another writer's change is never lost.
 * Returns the session written. An invalid file is refused (readSession), never replaced.
 */
export async function updateSession(file: string, change: (session: Session) => Session, options: LockOptions = {}): Promise<Session> {
  return withLock(file, options, async () => {
    const next = change((await readSession(file)) ?? emptySession());
    if (next.entries.length > LIMITS.sessionEntries) {
      throw new SeerError('SESSION_INVALID', `The session ${file} would have ${next.entries.length} entries; the limit is ${LIMITS.sessionEntries}.`, {
        file,
        fix: 'Export the session (CSV or JSON), then move the file away to start a new one.',
      });
    }
    await writeFileAtomic(file, `${JSON.stringify(next, null, 1)}\n`);
    return next;
  });
}

/** Adds `entries` (an entry whose id is already there replaces it), keeping the session oldest first. */
export function addEntries(file: string, entries: SessionEntry[], options?: LockOptions): Promise<Session> {
  return updateSession(file, (s) => {
    const ids = new Set(entries.map((e) => e.id));
    const merged = [...s.entries.filter((e) => !ids.has(e.id)), ...entries];
    return { ...s, entries: merged.sort((x, y) => x.createdAt.localeCompare(y.createdAt)) };
  }, options);
}

export function deleteEntries(file: string, ids: string[], options?: LockOptions): Promise<Session> {
  const gone = new Set(ids);
  return updateSession(file, (s) => ({ ...s, entries: s.entries.filter((e) => !gone.has(e.id)) }), options);
}

export async function renameSession(file: string, name: string, options?: LockOptions): Promise<Session> {
  const clean = name.trim();
  if (clean === '' || clean.length > LIMITS.sessionNameChars) {
    throw new SeerError('INVALID_ARGUMENT', `A session name must have 1 to ${LIMITS.sessionNameChars} characters, got ${clean.length}.`, { fix: 'Choose a shorter (or a non-empty) name.' });
  }
  return updateSession(file, (s) => ({ ...s, name: clean }), options);
}

const CSV_HEADER = ['id', 'created_at', 'prompt', 'prompt_chars', 'bundle', 'bundle_dir', 'bank', 'pooling', 'max_tokens', 'truncation',
  'layer_range', 'concept', 'confidence', 'margin', 'safe', 'target_layer', 'low_confidence'];

/** One row per entry, oldest first; an empty cell is "not set" (e.g. safe when the bank has no safe list). */
export function sessionToCsv(session: Session): string {
  return csvRows([CSV_HEADER, ...session.entries.map((e) => [
    e.id, e.createdAt, e.prompt, e.promptChars ?? e.prompt.length, e.bundle.name, e.bundle.dir, e.bank, e.settings.pooling,
    e.settings.maxTokens ?? '', e.settings.truncation, e.settings.layerRange ? e.settings.layerRange.join('-') : '',
    e.summary.concept, e.summary.confidence, e.summary.margin, e.summary.safe === null ? '' : String(e.summary.safe),
    e.summary.targetLayer, String(e.summary.lowConfidence),
  ])]);
}

export function sessionToJson(session: Session): string {
  return `${JSON.stringify(session, null, 2)}\n`;
}

// ───────────────────────── validation ─────────────────────────

const FIX = 'Fix the entry named, or move the file away to start a new session.';

/**
 * The session in `json`, checked field by field (the first problem is thrown with its JSON path). Fields this
 * version does not know are kept, so a rewrite never drops what a newer writer or a user added.
 */
export function validateSession(json: Json, file: string): Session {
  const c = new JsonChecker(file, 'SESSION_INVALID', FIX);
  const root = c.object(json, '');
  const version = c.number(root, 'version', '', { integer: true, min: 1 });
  if (version > SESSION_VERSION) c.fail('version', `is ${version}: the session was written by a newer seer (this one reads version ${SESSION_VERSION})`);
  const name = c.string(root, 'name', '', { nonEmpty: true });
  if (name.length > LIMITS.sessionNameChars) c.fail('name', `has ${name.length} characters; the limit is ${LIMITS.sessionNameChars}`);
  const entries = c.array(root.entries, 'entries');
  if (entries.length > LIMITS.sessionEntries) c.fail('entries', `has ${entries.length} entries; the limit is ${LIMITS.sessionEntries}`);
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const id = checkEntry(c, e, `entries[${i}]`);
    const first = seen.get(id);
    if (first !== undefined) c.fail(`entries[${i}].id`, `repeats the id of entries[${first}]`);
    seen.set(id, i);
  });
  return root as unknown as Session;
}

function checkEntry(c: JsonChecker, v: Json, at: string): string {
  const e = c.object(v, at);
  const id = c.string(e, 'id', at, { nonEmpty: true });
  if (id.length > LIMITS.nameChars) c.fail(`${at}.id`, `has ${id.length} characters; the limit is ${LIMITS.nameChars}`);
  const createdAt = c.string(e, 'createdAt', at);
  if (Number.isNaN(Date.parse(createdAt))) c.fail(`${at}.createdAt`, `must be an ISO 8601 time, got ${JSON.stringify(createdAt.slice(0, 40))}`);
  const prompt = c.string(e, 'prompt', at);
  if (prompt.length > LIMITS.sessionPromptChars) c.fail(`${at}.prompt`, `has ${prompt.length} characters; the limit is ${LIMITS.sessionPromptChars}`);
  if (e.promptChars !== undefined) c.number(e, 'promptChars', at, { integer: true, min: prompt.length });
  const bundle = c.object(e.bundle, `${at}.bundle`);
  c.string(bundle, 'name', `${at}.bundle`);
  c.string(bundle, 'dir', `${at}.bundle`);
  c.string(e, 'bank', at);
  const s = c.object(e.settings, `${at}.settings`);
  const sAt = `${at}.settings`;
  c.oneOf(s, 'pooling', sAt, ['last', 'mean', 'request-end'] as const);
  if (s.maxTokens !== null) c.number(s, 'maxTokens', sAt, { integer: true, min: 1 });
  c.oneOf(s, 'truncation', sAt, ['left', 'right'] as const);
  if (s.layerRange !== null) c.numbers(s.layerRange, `${sAt}.layerRange`, 2);
  const m = c.object(e.summary, `${at}.summary`);
  const mAt = `${at}.summary`;
  c.string(m, 'concept', mAt);
  c.number(m, 'confidence', mAt, { min: 0, max: 1 });
  c.number(m, 'margin', mAt, { min: 0, max: 1 });
  if (m.safe !== null) c.boolean(m, 'safe', mAt);
  c.number(m, 'targetLayer', mAt, { integer: true, min: 0 });
  c.boolean(m, 'lowConfidence', mAt);
  return id;
}

/**
 * Keeps the unreadable bytes beside the file as `<name>.invalid-<time>.json` (once per content: a file read
 * again and again while it stays broken gets one backup). Returns the backup's path.
 */
async function keepBackup(file: string, bytes: Buffer): Promise<string> {
  const dir = path.dirname(file);
  const stem = path.basename(file).replace(/\.json$/, '');
  const prefix = `${stem}.invalid-`;
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && n.endsWith('.json'))) {
    const existing = await fs.readFile(path.join(dir, name)).catch(() => undefined);
    if (existing?.equals(bytes)) return path.join(dir, name);
  }
  const backup = path.join(dir, `${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFileAtomic(backup, bytes);
  return backup;
}

// ───────────────────────── the lock ─────────────────────────

export interface LockOptions {
  /** How long to wait for another writer's lock before giving up (default 10 s). */
  waitMs?: number;
  /** A lock older than this is left from a crash and taken over (default 30 s; a change holds it for milliseconds). */
  staleMs?: number;
}

/**
 * Runs `task` holding `<file>.lock`, created exclusively ('wx'), so one writer at a time on this machine or a
 * shared file system. A lock older than staleMs was left by a crashed writer and is removed. (Two writers
 * that find the same stale lock at the same instant could both proceed; a change takes milliseconds and a
 * lock is stale only after seconds, so this needs a crash and a race together.)
 */
async function withLock<T>(file: string, options: LockOptions, task: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const waitMs = options.waitMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const started = Date.now();
  const token = `${process.pid}@${os.hostname()} ${randomBytes(6).toString('hex')}`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lock, token, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SeerError('WRITE_FAILED', `Cannot create the session lock ${lock}: ${(err as Error).message}`, { file: lock, fix: 'Check that the folder is writable.' });
      }
    }
    const held = await fs.stat(lock).catch(() => undefined);
    if (held && Date.now() - held.mtimeMs > staleMs) {
      await fs.rm(lock, { force: true });
      continue;
    }
    if (Date.now() - started > waitMs) {
      const holder = await fs.readFile(lock, 'utf8').catch(() => '?');
      throw new SeerError('SESSION_LOCKED', `The session ${file} is being written by another window (lock ${lock}, held by ${holder.slice(0, 100)}).`, {
        file: lock,
        fix: `Try again; if no other SEER window or seer process is running, delete ${lock}.`,
      });
    }
    // A short, growing, jittered wait: two writers retrying in step would collide again.
    await new Promise((r) => setTimeout(r, Math.min(100, 5 + attempt * 5) * (0.5 + Math.random())));
  }
  try {
    return await task();
  } finally {
    // Remove only our own lock: if it was taken over as stale, it is someone else's now.
    if ((await fs.readFile(lock, 'utf8').catch(() => undefined)) === token) await fs.rm(lock, { force: true });
  }
}
