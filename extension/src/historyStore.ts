// The recorded explanations (the side bar's History): a session file (engine/src/sessions/sessionFile.ts) —
// the workspace's `.seer-session.json`, or one in the extension's global storage when no folder is open —
// holds every explanation's prompt, settings and summary; the full results are cached beside the extension's
// storage so that an entry reopens at once (an entry whose result is no longer cached is explained again).
// The session file is shared with other windows and may be hand-edited: every change goes through the
// session file's lock and merge, and a damaged file is reported, never replaced. Entry ids from the file are
// untrusted: an id names a cached file only through resultPath(), which refuses anything that could reach
// outside the cache folder.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExplainOptions, ExplainResult } from '../../common/protocol';
import {
  addEntries, deleteEntries, emptySession, readSession, renameSession, type Session, type SessionEntry, sessionEntryFromResult, writeFileAtomic,
} from '../../engine/src/api';

export interface HistoryEntry {
  id: string;
  createdAt: string;
  /** The first characters of the prompt, for the side bar. */
  preview: string;
  concept: string;
  confidence: number;
  bundle: string;
  /** The headline concept's safety; null when the bank has no safe list. */
  safe?: boolean | null;
}

const RESULTS = 'results';
const PREVIEW_CHARS = 80;
/** The ids the engine gives results (randomUUID): the only names a cached result file can have. */
const RESULT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface HistoryStoreOptions {
  /** The most full results cached (~100 KB each); older entries stay in the session and are explained again when opened. */
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
    await this.pruneCache();
    return toHistoryEntry(entry);
  }

  /** The cached result, or undefined when it is not cached (or unreadable). */
  async get(id: string): Promise<ExplainResult | undefined> {
    const file = await this.resultPathOrWarn(id);
    if (!file) return undefined;
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as ExplainResult;
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    await deleteEntries(this.sessionFile, [id]);
    const file = await this.resultPathOrWarn(id);
    if (file) await fs.rm(file, { force: true });
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

  /** Keeps the newest maxCachedResults result files. */
  private async pruneCache(): Promise<void> {
    const dir = path.join(this.cacheDir, RESULTS);
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => RESULT_ID.test(n.replace(/\.json$/, '')));
    if (names.length <= this.maxCachedResults) return;
    const dated = await Promise.all(names.map(async (n) => ({ n, at: (await fs.lstat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => b.at - a.at);
    await Promise.all(dated.slice(this.maxCachedResults).map(async ({ n }) => {
      const file = await this.resultPathOrWarn(n.replace(/\.json$/, ''));
      if (file) await fs.rm(file, { force: true });
    }));
  }

  /** The cached file of result `id`, or undefined (with a warning) when it has none: see resultPath. */
  private async resultPathOrWarn(id: string): Promise<string | undefined> {
    const file = await this.resultPath(id);
    if (typeof file === 'string') return file;
    this.warn(`history: ignored an entry: ${file.problem}`);
    return undefined;
  }

  /**
   * The cached file of result `id`, or the problem when `id` is not an engine result id or a link (the results
   * folder or the file itself) would take the path elsewhere, perhaps outside the cache folder.
   */
  private async resultPath(id: string): Promise<string | { problem: string }> {
    if (!RESULT_ID.test(id)) return { problem: `the result id ${describeId(id)} is not an engine result id` };
    const name = `${id}.json`;
    const file = path.join(this.cacheDir, RESULTS, name);
    // What exists must resolve to where it is named; what does not exist yet is created in place by the write.
    const root = await realpathOrUndefined(this.cacheDir);
    const resolved = [
      [path.join(this.cacheDir, RESULTS), root && path.join(root, RESULTS)],
      [file, root && path.join(root, RESULTS, name)],
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
  return {
    id: e.id,
    createdAt: e.createdAt,
    preview: e.prompt.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS),
    concept: e.summary.concept,
    confidence: e.summary.confidence,
    safe: e.summary.safe,
    bundle: e.bundle.name,
  };
}

/** An id as a log shows it: quoted (it may hold anything) and cut short. */
const describeId = (id: string): string => JSON.stringify(id.slice(0, 80));

async function realpathOrUndefined(p: string): Promise<string | undefined> {
  return fs.realpath(p).catch(() => undefined);
}
