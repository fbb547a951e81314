// The history of explained prompts in this workspace: an index (history.json) plus one file per
// result, under the extension's workspace storage. Every write is atomic (temp file + rename), so a
// reload or a crash mid-write leaves the previous version intact. The index is read back as untrusted:
// an id names a file only through entryPath(), which refuses anything that could reach outside the folder.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExplainResult } from '../../common/protocol';
import { writeFileAtomic } from '../../engine/src/api';

export interface HistoryEntry {
  id: string;
  createdAt: string;
  /** The first characters of the prompt, for the side bar. */
  preview: string;
  concept: string;
  confidence: number;
  bundle: string;
  /** The headline concept's safety; null when the bank has no safe list, absent in entries written before it was stored. */
  safe?: boolean | null;
  /** Hash of bundle + prompt: explaining the same prompt again replaces its entry. */
  key: string;
}

const INDEX = 'history.json';
const RESULTS = 'results';
const PREVIEW_CHARS = 80;
/** The ids the engine gives results (randomUUID): the only names a result file can have. */
const RESULT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface HistoryStoreOptions {
  /** The most entries kept; the oldest are dropped (with their files) beyond it. */
  maxEntries?: number;
  /** Where to report entries that are skipped (bad ids, files linked out of the folder). */
  warn?: (line: string) => void;
}

export class HistoryStore {
  private entries: HistoryEntry[] = [];
  private loaded = false;
  /** Serializes writes so that two quick explains cannot interleave their index updates. */
  private queue: Promise<unknown> = Promise.resolve();

  private readonly maxEntries: number;
  private readonly warn: (line: string) => void;

  constructor(private readonly dir: string, options: HistoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 50;
    this.warn = options.warn ?? (() => undefined);
  }

  async list(): Promise<HistoryEntry[]> {
    await this.load();
    return [...this.entries];
  }

  add(result: ExplainResult): Promise<HistoryEntry> {
    return this.enqueue(async () => {
      await this.load();
      const entry: HistoryEntry = {
        id: result.id,
        createdAt: result.createdAt,
        preview: result.text.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_CHARS),
        concept: result.headline.concept,
        confidence: result.headline.confidence,
        safe: result.headline.safe,
        bundle: result.bundle.name,
        key: createHash('sha256').update(`${result.bundle.dir}\0${result.pooling}\0${result.text}`).digest('hex').slice(0, 32),
      };
      const file = await this.entryPath(entry.id);
      if (typeof file !== 'string') throw new Error(file.problem);
      await writeFileAtomic(file, JSON.stringify(result));
      const others = this.entries.filter((e) => e.id !== entry.id && e.key !== entry.key);
      const dropped = this.entries.filter((e) => e.id !== entry.id && !others.slice(0, this.maxEntries - 1).includes(e));
      this.entries = [entry, ...others].slice(0, this.maxEntries);
      await writeFileAtomic(path.join(this.dir, INDEX), JSON.stringify({ version: 1, entries: this.entries }, null, 1));
      await Promise.all(dropped.map(async (d) => {
        const droppedFile = await this.entryPathOrWarn(d.id);
        if (droppedFile) await fs.rm(droppedFile, { force: true });
      }));
      return entry;
    });
  }

  /** The stored result, or undefined when its file is gone or unreadable. */
  async get(id: string): Promise<ExplainResult | undefined> {
    const file = await this.entryPathOrWarn(id);
    if (!file) return undefined;
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as ExplainResult;
    } catch {
      return undefined;
    }
  }

  clear(): Promise<void> {
    return this.enqueue(async () => {
      this.entries = [];
      this.loaded = true;
      await fs.rm(this.dir, { recursive: true, force: true });
    });
  }

  /** The file of result `id`, or undefined (with a warning) when it has none: see entryPath. */
  private async entryPathOrWarn(id: string): Promise<string | undefined> {
    const file = await this.entryPath(id);
    if (typeof file === 'string') return file;
    this.warn(`history: ignored an entry: ${file.problem}`);
    return undefined;
  }

  /**
   * The file of result `id`, or the problem when `id` is not an engine result id or a link (the results
   * folder or the file itself) would take the path elsewhere, perhaps outside the history folder.
   */
  private async entryPath(id: string): Promise<string | { problem: string }> {
    if (!RESULT_ID.test(id)) return { problem: `the result id ${describeId(id)} is not an engine result id` };
    const name = `${id}.json`;
    const file = path.join(this.dir, RESULTS, name);
    // What exists must resolve to where it is named; what does not exist yet is created in place by the write.
    const root = await realpathOrUndefined(this.dir);
    const resolved = [
      [path.join(this.dir, RESULTS), root && path.join(root, RESULTS)],
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

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const parsed = JSON.parse(await fs.readFile(path.join(this.dir, INDEX), 'utf8')) as { entries?: unknown };
      const entries = Array.isArray(parsed.entries) ? (parsed.entries as unknown[]).filter(isEntry) : [];
      // A bad id is dropped here, so it never reaches a path; the next add() rewrites the index without it.
      for (const bad of entries.filter((e) => !RESULT_ID.test(e.id))) {
        this.warn(`history: dropped the entry ${describeId(bad.id)} from ${INDEX}: not an engine result id`);
      }
      this.entries = entries.filter((e) => RESULT_ID.test(e.id));
    } catch {
      this.entries = []; // No history yet, or a damaged index: start fresh rather than fail the explain.
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** An id as a log shows it: quoted (it may hold anything) and cut short. */
const describeId = (id: string): string => JSON.stringify(id.slice(0, 80));

async function realpathOrUndefined(p: string): Promise<string | undefined> {
  return fs.realpath(p).catch(() => undefined);
}

function isEntry(e: unknown): e is HistoryEntry {
  const o = e as HistoryEntry;
  return typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.preview === 'string' &&
    typeof o.concept === 'string' && typeof o.confidence === 'number';
}
