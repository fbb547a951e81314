// The history of explained prompts in this workspace: an index (history.json) plus one file per
// result, under the extension's workspace storage. Every write is atomic (temp file + rename), so a
// reload or a crash mid-write leaves the previous version intact.
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
  /** Hash of bundle + prompt: explaining the same prompt again replaces its entry. */
  key: string;
}

const INDEX = 'history.json';
const PREVIEW_CHARS = 80;

export class HistoryStore {
  private entries: HistoryEntry[] = [];
  private loaded = false;
  /** Serializes writes so that two quick explains cannot interleave their index updates. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string, private readonly maxEntries = 50) {}

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
        bundle: result.bundle.name,
        key: createHash('sha256').update(`${result.bundle.dir}\0${result.pooling}\0${result.text}`).digest('hex').slice(0, 32),
      };
      await writeFileAtomic(this.resultFile(entry.id), JSON.stringify(result));
      const others = this.entries.filter((e) => e.id !== entry.id && e.key !== entry.key);
      const dropped = this.entries.filter((e) => e.id !== entry.id && !others.slice(0, this.maxEntries - 1).includes(e));
      this.entries = [entry, ...others].slice(0, this.maxEntries);
      await writeFileAtomic(path.join(this.dir, INDEX), JSON.stringify({ version: 1, entries: this.entries }, null, 1));
      await Promise.all(dropped.map((d) => fs.rm(this.resultFile(d.id), { force: true })));
      return entry;
    });
  }

  /** The stored result, or undefined when its file is gone or unreadable. */
  async get(id: string): Promise<ExplainResult | undefined> {
    if (!/^[\w-]+$/.test(id)) return undefined;
    try {
      return JSON.parse(await fs.readFile(this.resultFile(id), 'utf8')) as ExplainResult;
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

  private resultFile(id: string): string {
    return path.join(this.dir, 'results', `${id}.json`);
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const parsed = JSON.parse(await fs.readFile(path.join(this.dir, INDEX), 'utf8')) as { entries?: unknown };
      this.entries = Array.isArray(parsed.entries) ? (parsed.entries as HistoryEntry[]).filter(isEntry) : [];
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

function isEntry(e: unknown): e is HistoryEntry {
  const o = e as HistoryEntry;
  return typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.preview === 'string' &&
    typeof o.concept === 'string' && typeof o.confidence === 'number';
}
