// A prompt-engineering session: every explanation and generation recorded in a `.seer-session.json` (the
// prompt, the bundle, bank and settings, and a summary of the result), so that it survives reloads and crashes
// and can be exported. The file is untrusted input (hand-edited, merged by git, damaged): it is read within size limits
// and validated whole; one that is not a valid session is never rewritten — the error says where it is wrong
// and where a backup copy is. Every change takes a lock file, re-reads the file, applies the change to what is
// there now and writes it atomically, so two windows writing one session lose nothing. Format: docs/extension.md#sessions.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExplainOptions, ExplainResult, GenerateParams, Generation, Pooling, SteeringTerm, StopReason, TruncationSide } from '../../../common/protocol';
import { type Json, JsonChecker, parseJson } from '../bundle/jsonCheck';
import { csvRows } from '../csv';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { LIMITS } from '../limits';
import { formatBytes, readRegularFile, RegularFileError } from '../regularFile';

export const SESSION_FILE_NAME = '.seer-session.json';
/**
 * The newest format this module reads. Version 2 added generation entries; a file is written as version 2 only
 * once it holds one, so an explain-only session stays readable by a seer that knows version 1 (and one with
 * generations tells that older seer it was "written by a newer seer" rather than failing on a field).
 */
export const SESSION_VERSION = 2;

/** What every entry records, whatever its kind. */
interface EntryBase {
  /** The explanation's result id, or the generation's own (unique: the union of two writers' entries is by id). */
  id: string;
  /** ISO 8601 time of the explanation or generation. */
  createdAt: string;
  /** The prompt as given, cut to LIMITS.sessionPromptChars characters. */
  prompt: string;
  /** Present when the prompt was cut: its full length in characters. */
  promptChars?: number;
  bundle: { name: string; dir: string };
  bank: string;
}

export type SessionEntry = ExplainEntry | GenerationEntry;

/** An explanation. Written without a `kind` (as before generations were recorded); `kind: "explain"` reads the same. */
export interface ExplainEntry extends EntryBase {
  kind?: 'explain';
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

/**
 * A generation: the plain run and, when steered, its steered twin (same prompt, settings and seed) in ONE entry —
 * they are made together, stopped together and only mean something side by side, so one History row reopens,
 * renames, exports and deletes both, and no entry can point at a twin that was deleted.
 */
export interface GenerationEntry extends EntryBase {
  kind: 'generation';
  settings: {
    maxNewTokens: number;
    /** 0: greedy. */
    temperature: number;
    topP: number;
    /** The sampler's seed, shared by both runs: with the settings it reproduces the tokens. */
    seed: number;
    /** The steered run's terms; empty: no steered run. */
    steer: SteeringTerm[];
  };
  /** The bank's concepts, in its order: what a step's concept index and a run's conceptShares refer to. */
  concepts: string[];
  /** The plain run, then the steered run when settings.steer is not empty. */
  runs: GenerationRecord[];
}

/**
 * One run as the session keeps it: the text, why it stopped, and the concept trace (each token and its concept)
 * without the per-step probabilities — those are concepts × tokens numbers, kept in the extension's cache only,
 * so that the session (read whole at every change) stays small.
 */
export interface GenerationRecord {
  /** The generated continuation, cut to LIMITS.sessionPromptChars characters. */
  text: string;
  /** Present when the text was cut: its full length in characters. */
  textChars?: number;
  /** "cancelled": stopped by the user; the tokens so far are kept. */
  stopReason: StopReason;
  /** Tokens generated (tokens/stepConcepts keep the first LIMITS.sessionGenerationSteps of them). */
  tokenCount: number;
  tokens: string[];
  /** Per token: the index in `concepts` of its concept (the most probable at the target layer). */
  stepConcepts: number[];
  /** Per concept of `concepts`: the share of the tokens whose concept it is (all tokens, not only those kept). */
  conceptShares: number[];
  /** The concept of the last token, where the trace ended (null: no token was generated). */
  finalConcept: string | null;
}

/** What the extension (panel) and the CLI know about a generation when they record it. */
export interface GenerationRun {
  id: string;
  createdAt: string;
  prompt: string;
  bundle: { name: string; dir: string };
  bank: string;
  options: Pick<GenerateParams, 'maxNewTokens' | 'temperature' | 'topP' | 'steer'> & { seed: number };
  /** The plain run, then the steered one when options.steer has terms. */
  generations: Generation[];
}

export const isGenerationEntry = (e: SessionEntry): e is GenerationEntry => e.kind === 'generation';

export interface Session {
  /** 1, or 2 once the session holds a generation (SESSION_VERSION). */
  version: 1 | typeof SESSION_VERSION;
  name: string;
  /** Oldest first. */
  entries: SessionEntry[];
}

/** The entry recording `result`, explained with `options` (the settings a result does not carry itself). */
export function sessionEntryFromResult(result: ExplainResult, options: ExplainOptions = {}): ExplainEntry {
  const h = result.headline;
  return {
    id: result.id,
    createdAt: result.createdAt,
    ...cutPrompt(result.text),
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

/** The entry recording a generation (its plain run and, when steered, its steered twin). */
export function sessionEntryFromGeneration(g: GenerationRun): GenerationEntry {
  const concepts = g.generations[0]?.concepts ?? [];
  return {
    kind: 'generation',
    id: g.id,
    createdAt: g.createdAt,
    ...cutPrompt(g.prompt),
    bundle: { name: g.bundle.name, dir: g.bundle.dir },
    bank: g.bank,
    settings: {
      maxNewTokens: g.options.maxNewTokens,
      temperature: g.options.temperature ?? 0,
      topP: g.options.topP ?? 1,
      seed: g.options.seed,
      steer: (g.options.steer ?? []).map((t) => ({ concept: t.concept, strength: t.strength })),
    },
    concepts,
    runs: g.generations.map((run) => generationRecord(run, concepts)),
  };
}

function generationRecord(g: Generation, concepts: string[]): GenerationRecord {
  const kept = g.steps.slice(0, LIMITS.sessionGenerationSteps);
  const counts = concepts.map(() => 0);
  for (const s of g.steps) {
    const k = concepts.indexOf(s.concept);
    if (k >= 0) counts[k]++;
  }
  const { kept: text, chars: textChars } = cutText(g.text);
  return {
    text,
    ...(textChars !== undefined && { textChars }),
    stopReason: g.stopReason,
    tokenCount: g.steps.length,
    tokens: kept.map((s) => s.token),
    stepConcepts: kept.map((s) => concepts.indexOf(s.concept)),
    conceptShares: counts.map((n) => (g.steps.length ? n / g.steps.length : 0)),
    finalConcept: g.steps.at(-1)?.concept ?? null,
  };
}

/** `text` cut to LIMITS.sessionPromptChars characters, with its full length when it was cut. */
function cutText(text: string): { kept: string; chars?: number } {
  return text.length > LIMITS.sessionPromptChars ? { kept: text.slice(0, LIMITS.sessionPromptChars), chars: text.length } : { kept: text };
}

/** An entry's prompt fields: the prompt as kept, and promptChars when it was cut. */
function cutPrompt(text: string): Pick<EntryBase, 'prompt' | 'promptChars'> {
  const { kept, chars } = cutText(text);
  return { prompt: kept, ...(chars !== undefined && { promptChars: chars }) };
}

/** A new, empty session named after the day it starts (version 1 until it holds a generation: SESSION_VERSION). */
export function emptySession(now = new Date()): Session {
  return { version: 1, name: `Session ${now.toISOString().slice(0, 10)}`, entries: [] };
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
    const changed = change((await readSession(file)) ?? emptySession());
    const next: Session = changed.entries.some(isGenerationEntry) ? { ...changed, version: SESSION_VERSION } : changed;
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

const RUN_COLUMNS = ['text', 'tokens', 'stop_reason', 'final_concept', 'concept_shares'];
const CSV_HEADER = ['id', 'kind', 'created_at', 'prompt', 'prompt_chars', 'bundle', 'bundle_dir', 'bank',
  // explanations
  'pooling', 'max_tokens', 'truncation', 'layer_range', 'concept', 'confidence', 'margin', 'safe', 'target_layer', 'low_confidence',
  // generations: the settings, the plain run, the steered run
  'max_new_tokens', 'temperature', 'top_p', 'seed', 'steer',
  ...RUN_COLUMNS.map((c) => `generated_${c}`), ...RUN_COLUMNS.map((c) => `steered_${c}`)];

type Cell = string | number;

/**
 * One row per entry, oldest first, whatever its kind (the `kind` column says which; the other kind's columns are
 * empty). An empty cell is "not set" (e.g. safe when the bank has no safe list, steered_* without steering).
 */
export function sessionToCsv(session: Session): string {
  return csvRows([CSV_HEADER, ...session.entries.map((e) => {
    const common: Cell[] = [e.id, e.kind ?? 'explain', e.createdAt, e.prompt, e.promptChars ?? e.prompt.length, e.bundle.name, e.bundle.dir, e.bank];
    const explain: Cell[] = isGenerationEntry(e) ? Array<Cell>(10).fill('') : [
      e.settings.pooling, e.settings.maxTokens ?? '', e.settings.truncation, e.settings.layerRange ? e.settings.layerRange.join('-') : '',
      e.summary.concept, e.summary.confidence, e.summary.margin, e.summary.safe === null ? '' : String(e.summary.safe),
      e.summary.targetLayer, String(e.summary.lowConfidence),
    ];
    if (!isGenerationEntry(e)) return [...common, ...explain, ...Array<Cell>(5 + 2 * RUN_COLUMNS.length).fill('')];
    const { maxNewTokens, temperature, topP, seed, steer } = e.settings;
    const run = (r: GenerationRecord | undefined): Cell[] => (!r ? Array<Cell>(RUN_COLUMNS.length).fill('') : [
      r.text, r.tokenCount, r.stopReason, r.finalConcept ?? '', conceptSharesText(e.concepts, r.conceptShares),
    ]);
    return [...common, ...explain, maxNewTokens, temperature, topP, seed, steeringText(steer), ...run(e.runs[0]), ...run(e.runs[1])];
  })]);
}

/** "violence:-4; cooking:2": the --steer terms as the CLI takes them. */
export function steeringText(steer: readonly SteeringTerm[]): string {
  return steer.map((t) => `${t.concept}:${t.strength}`).join('; ');
}

/** "cooking 0.75; violence 0.25": the concepts that occur, most frequent first. */
function conceptSharesText(concepts: readonly string[], shares: readonly number[]): string {
  return concepts.map((c, k) => [c, shares[k]] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1])
    .map(([c, v]) => `${c} ${Number(v.toFixed(4))}`).join('; ');
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

/** Checks entry `v` (what every kind has, then its kind's fields); returns its id. */
function checkEntry(c: JsonChecker, v: Json, at: string): string {
  const e = c.object(v, at);
  const kind = e.kind === undefined ? 'explain' : c.oneOf(e, 'kind', at, ['explain', 'generation'] as const);
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
  if (kind === 'generation') checkGeneration(c, e, at);
  else checkExplanation(c, e, at);
  return id;
}

function checkExplanation(c: JsonChecker, e: Record<string, Json>, at: string): void {
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
}

const STOP_REASONS: readonly StopReason[] = ['eos', 'max-new-tokens', 'context', 'cancelled'];

function checkGeneration(c: JsonChecker, e: Record<string, Json>, at: string): void {
  const sAt = `${at}.settings`;
  const s = c.object(e.settings, sAt);
  c.number(s, 'maxNewTokens', sAt, { integer: true, min: 1, max: LIMITS.maxTokens });
  c.number(s, 'temperature', sAt, { min: 0 });
  const topP = c.number(s, 'topP', sAt, { max: 1 });
  if (topP <= 0) c.fail(`${sAt}.topP`, `must be above 0, got ${topP}`);
  c.number(s, 'seed', sAt, { integer: true, min: 0, max: LIMITS.seed });
  const steer = c.array(s.steer, `${sAt}.steer`);
  steer.forEach((t, i) => {
    const term = c.object(t, `${sAt}.steer[${i}]`);
    c.string(term, 'concept', `${sAt}.steer[${i}]`, { nonEmpty: true });
    c.number(term, 'strength', `${sAt}.steer[${i}]`);
  });
  const concepts = c.stringArray(e, 'concepts', at, { unique: true });
  if (concepts.length > LIMITS.conceptsPerBank) c.fail(`${at}.concepts`, `has ${concepts.length} concepts; the limit is ${LIMITS.conceptsPerBank}`);
  const runs = c.array(e.runs, `${at}.runs`, steer.length > 0 ? 2 : 1);
  runs.forEach((r, i) => checkRun(c, r, `${at}.runs[${i}]`, concepts));
}

function checkRun(c: JsonChecker, v: Json, at: string, concepts: string[]): void {
  const r = c.object(v, at);
  const text = c.string(r, 'text', at);
  if (text.length > LIMITS.sessionPromptChars) c.fail(`${at}.text`, `has ${text.length} characters; the limit is ${LIMITS.sessionPromptChars}`);
  if (r.textChars !== undefined) c.number(r, 'textChars', at, { integer: true, min: text.length });
  c.oneOf(r, 'stopReason', at, STOP_REASONS);
  const tokenCount = c.number(r, 'tokenCount', at, { integer: true, min: 0 });
  const kept = Math.min(tokenCount, LIMITS.sessionGenerationSteps);
  const tokens = c.array(r.tokens, `${at}.tokens`, kept);
  tokens.forEach((t, i) => {
    if (typeof t !== 'string') c.fail(`${at}.tokens[${i}]`, `must be a string, got ${JSON.stringify(t)?.slice(0, 40)}`);
  });
  c.array(r.stepConcepts, `${at}.stepConcepts`, kept).forEach((k, i) => {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= concepts.length) {
      c.fail(`${at}.stepConcepts[${i}]`, `must be the index of one of the ${concepts.length} concepts (0 to ${concepts.length - 1}), got ${JSON.stringify(k)?.slice(0, 40)}`);
    }
  });
  c.numbers(r.conceptShares, `${at}.conceptShares`, concepts.length).forEach((x, i) => {
    if (x < 0 || x > 1) c.fail(`${at}.conceptShares[${i}]`, `must be a share from 0 to 1, got ${x}`);
  });
  if (r.finalConcept === null) {
    if (tokenCount > 0) c.fail(`${at}.finalConcept`, `is null, but the run has ${tokenCount} tokens`);
  } else if (!concepts.includes(c.string(r, 'finalConcept', at))) {
    c.fail(`${at}.finalConcept`, `must be one of the entry's concepts, got ${JSON.stringify(r.finalConcept).slice(0, 60)}`);
  }
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
