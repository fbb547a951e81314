// The recorded explanations and generations (the side bar's History): a session file
// (engine/src/sessions/sessionFile.ts) — the workspace's `.seer-session.json`, or one in the extension's global
// storage when no folder is open — holds every explanation's prompt, settings and summary and every
// generation's settings, text and concept trace; the full results are cached in the extension's storage so that
// an entry reopens at once (an explanation no longer cached is explained again; a generation no longer cached
// reopens from the session's trace, without the per-token probabilities).
// The session file is shared with other windows and may be hand-edited: every change goes through the
// session file's lock and merge, and a damaged file is reported, never replaced. Entry ids from the file are
// untrusted: an id names a cached file only through resultPath(), which refuses anything that could reach
// outside the cache folder.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExplainOptions, ExplainResult, Generation, GenerationStep, StopReason } from '../../common/protocol';
import {
  addEntries, deleteEntries, emptySession, type GenerationEntry, type GenerationRun, isGenerationEntry, readSession, renameSession, type Session,
  type SessionEntry, sessionEntryFromGeneration, sessionEntryFromResult, steeringText, writeFileAtomic,
} from '../../engine/src/api';

export type HistoryEntry = ExplainHistoryEntry | GenerationHistoryEntry;

interface HistoryEntryBase {
  id: string;
  createdAt: string;
  /** The first characters of the prompt, for the side bar. */
  preview: string;
  bundle: string;
}

export interface ExplainHistoryEntry extends HistoryEntryBase {
  kind: 'explain';
  concept: string;
  confidence: number;
  /** The headline concept's safety; null when the bank has no safe list. */
  safe?: boolean | null;
}

export interface GenerationHistoryEntry extends HistoryEntryBase {
  kind: 'generation';
  /** "violence:-4" (the --steer terms); empty without steering. */
  steer: string;
  /** The plain run, then the steered one. */
  runs: Array<{ tokens: number; finalConcept: string | null; stopReason: StopReason }>;
}

/** A generation as the panel shows it again: the shown prompt's explanation (when cached) and its runs. */
export interface RecordedGeneration {
  /** The explanation the panel showed when the generation was made; undefined when only the session is left. */
  result?: ExplainResult;
  /** The plain run, then the steered one. Rebuilt from the session's trace, a step's probs are empty. */
  generations: Generation[];
  steer: GenerationEntry['settings']['steer'];
  prompt: string;
}

/** Cached files, one per entry: explanations' full results, and generations (steps with their probabilities). */
const RESULTS = 'results';
const GENERATIONS = 'generations';
type CacheFolder = typeof RESULTS | typeof GENERATIONS;
const PREVIEW_CHARS = 80;
/** The ids the engine gives results (randomUUID): the only names a cached result file can have. */
const RESULT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface HistoryStoreOptions {
  /**
   * The most full results cached (~100 KB each), and the most generations (each with the explanation it continued);
   * older entries stay in the session: an explanation is explained again, a generation reopens from its trace.
   */
  maxCachedResults?: number;
  /** Where to report cached files that are skipped (bad ids, files linked out of the folder). */
  warn?: (line: string) => void;
}

export class HistoryStore {
  private readonly maxCachedResults: number;
  private readonly warn: (line: string) => void;

  /** `sessionFile`: the .seer-session.json; `cacheDir`: a folder of the extension's own for cached results. */
  constructor(readonly sessionFile: string, private readonly cacheDir: string, options: HistoryStoreOptions = {}) {
    this.maxCachedResults = options.maxCachedResults ?? 100;
    this.warn = options.warn ?? (() => undefined);
  }

  /** The session as it is on disk (an empty one, not yet written, when there is none). Throws SESSION_INVALID for a damaged file. */
  async session(): Promise<Session> {
    return (await readSession(this.sessionFile)) ?? emptySession();
  }

  /** The entries for the side bar, newest first. */
  async list(): Promise<HistoryEntry[]> {
    return (await this.session()).entries.map(toHistoryEntry).reverse();
  }

  async entry(id: string): Promise<SessionEntry | undefined> {
    return (await this.session()).entries.find((e) => e.id === id);
  }

  /** Records `result` (explained with `options`) in the session and caches it for reopening. */
  async add(result: ExplainResult, options: ExplainOptions = {}): Promise<HistoryEntry> {
    const file = await this.resultPath(result.id);
    if (typeof file !== 'string') throw new Error(file.problem);
    const entry = sessionEntryFromResult(result, options);
    await addEntries(this.sessionFile, [entry]);
    await writeFileAtomic(file, JSON.stringify(result));
    await this.pruneCache(RESULTS);
    return toHistoryEntry(entry);
  }

  /**
   * Records a generation (a cancelled one too: its tokens so far) in the session, and caches its runs with
   * every step's probabilities and `shown`, the explanation of its prompt the panel showed, for reopening.
   */
  async addGeneration(run: GenerationRun, shown?: ExplainResult): Promise<HistoryEntry> {
    const file = await this.resultPath(run.id, GENERATIONS);
    if (typeof file !== 'string') throw new Error(file.problem);
    const entry = sessionEntryFromGeneration(run);
    await addEntries(this.sessionFile, [entry]);
    await writeFileAtomic(file, JSON.stringify({ result: shown, generations: run.generations }));
    await this.pruneCache(GENERATIONS);
    return toHistoryEntry(entry);
  }

  /** The cached result, or undefined when it is not cached (or unreadable). */
  async get(id: string): Promise<ExplainResult | undefined> {
    return this.readCached<ExplainResult>(id, RESULTS);
  }

  /**
   * Generation `id` to show again: from the cache, else rebuilt from the session's trace (each token and its
   * concept, no probabilities). Undefined when the session has no such generation.
   */
  async generation(id: string): Promise<RecordedGeneration | undefined> {
    const entry = await this.entry(id);
    if (!entry || !isGenerationEntry(entry)) return undefined;
    const cached = await this.readCached<{ result?: ExplainResult; generations?: Generation[] }>(id, GENERATIONS);
    const usable = Array.isArray(cached?.generations) && cached.generations.length === entry.runs.length;
    return {
      result: usable ? cached.result : undefined,
      generations: usable ? cached.generations! : generationsFromTrace(entry),
      steer: entry.settings.steer,
      prompt: entry.prompt,
    };
  }

  async remove(id: string): Promise<void> {
    await deleteEntries(this.sessionFile, [id]);
    for (const folder of [RESULTS, GENERATIONS] as const) {
      const file = await this.resultPathOrWarn(id, folder);
      if (file) await fs.rm(file, { force: true });
    }
  }

  async rename(name: string): Promise<void> {
    await renameSession(this.sessionFile, name);
  }

  /** Deletes the entries listed now (one another window adds meanwhile stays) and the cached results. */
  async clear(): Promise<void> {
    const ids = (await this.session()).entries.map((e) => e.id);
    if (ids.length) await deleteEntries(this.sessionFile, ids);
    await fs.rm(this.cacheDir, { recursive: true, force: true });
  }

  /** The cached file of `id` in `folder` as JSON, or undefined when it is not cached (or unreadable). */
  private async readCached<T>(id: string, folder: CacheFolder): Promise<T | undefined> {
    const file = await this.resultPathOrWarn(id, folder);
    if (!file) return undefined;
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  /** Keeps the newest maxCachedResults files of `folder`. */
  private async pruneCache(folder: CacheFolder): Promise<void> {
    const dir = path.join(this.cacheDir, folder);
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => RESULT_ID.test(n.replace(/\.json$/, '')));
    if (names.length <= this.maxCachedResults) return;
    const dated = await Promise.all(names.map(async (n) => ({ n, at: (await fs.lstat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => b.at - a.at);
    await Promise.all(dated.slice(this.maxCachedResults).map(async ({ n }) => {
      const file = await this.resultPathOrWarn(n.replace(/\.json$/, ''), folder);
      if (file) await fs.rm(file, { force: true });
    }));
  }

  /** The cached file of result `id`, or undefined (with a warning) when it has none: see resultPath. */
  private async resultPathOrWarn(id: string, folder: CacheFolder = RESULTS): Promise<string | undefined> {
    const file = await this.resultPath(id, folder);
    if (typeof file === 'string') return file;
    this.warn(`history: ignored an entry: ${file.problem}`);
    return undefined;
  }

  /**
   * The cached file of result `id`, or the problem when `id` is not an engine result id or a link (the results
   * folder or the file itself) would take the path elsewhere, perhaps outside the cache folder.
   */
  private async resultPath(id: string, folder: CacheFolder = RESULTS): Promise<string | { problem: string }> {
    if (!RESULT_ID.test(id)) return { problem: `the result id ${describeId(id)} is not an engine result id` };
    const name = `${id}.json`;
    const file = path.join(this.cacheDir, folder, name);
    // What exists must resolve to where it is named; what does not exist yet is created in place by the write.
    const root = await realpathOrUndefined(this.cacheDir);
    const resolved = [
      [path.join(this.cacheDir, folder), root && path.join(root, folder)],
      [file, root && path.join(root, folder, name)],
    ] as const;
    for (const [at, expected] of resolved) {
      const real = await realpathOrUndefined(at);
      if (real !== undefined && real !== expected) {
        return { problem: `${at} is a link (to ${real}); history files are never read or written through links` };
      }
    }
    return file;
  }
}

/** How a session entry is listed in the side bar. */
export function toHistoryEntry(e: SessionEntry): HistoryEntry {
  const base = { id: e.id, createdAt: e.createdAt, preview: e.prompt.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS), bundle: e.bundle.name };
  if (isGenerationEntry(e)) {
    return {
      ...base,
      kind: 'generation',
      steer: steeringText(e.settings.steer),
      runs: e.runs.map((r) => ({ tokens: r.tokenCount, finalConcept: r.finalConcept, stopReason: r.stopReason })),
    };
  }
  return {
    ...base,
    kind: 'explain',
    concept: e.summary.concept,
    confidence: e.summary.confidence,
    safe: e.summary.safe,
  };
}

/**
 * A generation's runs rebuilt from the session's trace: each kept token with its concept; `probs` is empty (the
 * session does not keep them) and a token's id unknown (-1). Tokens past those kept are in the text only.
 */
export function generationsFromTrace(e: GenerationEntry): Generation[] {
  return e.runs.map((r) => ({
    text: r.text,
    concepts: e.concepts,
    steps: r.tokens.map((token, i) => ({ token, id: -1, concept: e.concepts[r.stepConcepts[i]], probs: [] })),
    stopReason: r.stopReason,
  }));
}

/** An id as a log shows it: quoted (it may hold anything) and cut short. */
const describeId = (id: string): string => JSON.stringify(id.slice(0, 80));

async function realpathOrUndefined(p: string): Promise<string | undefined> {
  return fs.realpath(p).catch(() => undefined);
}

/**
 * A run stopped before the engine answered (it answers with the tokens so far, but not always within the
 * client's grace time): the steps that streamed, their tokens joined as its text, recorded as cancelled.
 */
export function stoppedGeneration(steps: GenerationStep[], concepts: string[]): Generation {
  return { text: steps.map((s) => s.token).join(''), concepts, steps, stopReason: 'cancelled' };
}
