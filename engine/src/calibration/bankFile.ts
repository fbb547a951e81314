// Where a calibrated bank goes. By default a user folder (bundle/userBanks.ts), so a shipped bundle is never
// modified; an explicit --out file; or, when asked (--into-bundle), <bundle>/banks/<name>.json registered in
// seer.json's `banks` map. An existing bank is never replaced without `force`. Writes are atomic.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type ConceptBank, MANIFEST_FILE, bankToJson, defaultUserBankRoot, userBankFolder } from '../bundle';
import { SeerError, throwIfAborted } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import { conceptMapFileFor, conceptMapToJson } from '../bundle/conceptMapFile';
import type { ConceptMap } from './conceptMap';
import type { ModelFacts } from './representer';

const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkBankName(name: string): void {
  // "<name>.map.json" is where a bank's concept map goes (bundle/conceptMapFile.ts), so no bank is called "….map".
  if (BANK_NAME.test(name) && !/\.map$/i.test(name)) return;
  throw new SeerError('BANK_NAME_INVALID', `"${name}" is not a valid bank name.`, {
    fix: 'Use letters, digits, "-", "_" or "." (e.g. "safety"), at most 64 characters, not ending in ".map".',
  });
}

export interface SaveOptions {
  /** Explicit output file; the bundle is left untouched. */
  out?: string;
  /** Write into the bundle and register the bank in seer.json. */
  intoBundle?: boolean;
  /** Replace an existing bank of that name. */
  force?: boolean;
  /** Root of the user's banks (default: defaultUserBankRoot()). */
  userBankDir?: string;
  /** Once aborted, nothing is written (and a save under way is undone). */
  signal?: AbortSignal;
  /** The bank's 2-D concept map, written beside it as <bank>.map.json (all or nothing with the bank). */
  conceptMap?: ConceptMap;
}

export interface BankTarget {
  file: string;
  /** Registered in seer.json's banks map as this bundle-relative path. */
  register?: string;
}

/** Where saveBank would write, after the checks it makes: callable before any model work, so a bad target fails at once. */
export function checkSaveTarget(name: string, model: ModelFacts, opts: SaveOptions = {}): BankTarget {
  checkBankName(name);
  if (opts.out && opts.intoBundle) {
    throw new SeerError('INVALID_ARGUMENT', 'A bank goes either to an explicit output file or into the bundle, not both.', {
      fix: 'Give only one of the output file and "into the bundle".',
    });
  }
  const target = bankTarget(name, model, opts);
  const exists = existsSync(target.file) || (target.register !== undefined && model.bundleBanks.includes(name));
  if (exists && !opts.force) {
    throw new SeerError('BANK_EXISTS', `A bank "${name}" already exists (${target.file}); calibrating would replace it.`, {
      file: target.file,
      fix: {
        cli: 'Choose another --bank-name, or pass --force to replace the existing bank.',
        editor: 'Choose another bank name, or confirm that the existing bank should be replaced.',
      },
    });
  }
  if (!opts.out && !target.register && model.bundleBanks.includes(name)) {
    throw new SeerError('BANK_EXISTS', `The bundle ${model.dir} has its own bank "${name}"; a user bank of that name would be hidden by it.`, {
      fix: { cli: 'Choose another --bank-name (or write into the bundle with --into-bundle --force).', editor: 'Choose another bank name.' },
    });
  }
  return target;
}

function bankTarget(name: string, model: ModelFacts, opts: SaveOptions): BankTarget {
  if (opts.out) return { file: path.resolve(opts.out) };
  if (opts.intoBundle) return { file: path.join(model.dir, 'banks', `${name}.json`), register: `banks/${name}.json` };
  return { file: path.join(userBankFolder(opts.userBankDir ?? defaultUserBankRoot(), model), `${name}.json`) };
}

/**
 * Writes the bank (and, into a bundle, its seer.json entry) and returns its path. All or nothing: both texts
 * are prepared before the first write; once `opts.signal` is aborted nothing is written; and a save that
 * fails or is cancelled halfway puts back every byte it changed.
 */
export async function saveBank(bank: ConceptBank, model: ModelFacts, opts: SaveOptions = {}): Promise<string> {
  const target = checkSaveTarget(bank.name, model, opts);
  await explainWriteErrors(target.file, async () => {
    const bankText = `${JSON.stringify(bankToJson(bank))}\n`;
    const manifest = target.register ? await manifestUpdate(model.dir, bank.name, target.register) : undefined;
    const bankBefore = await fs.readFile(target.file).catch(() => undefined);
    const mapFile = conceptMapFileFor(target.file);
    const mapText = opts.conceptMap && `${JSON.stringify(conceptMapToJson(opts.conceptMap))}\n`;
    const mapBefore = await fs.readFile(mapFile).catch(() => undefined);
    throwIfAborted(opts.signal);
    const undo: Array<() => Promise<unknown>> = [];
    try {
      const createdDir = await fs.mkdir(path.dirname(target.file), { recursive: true });
      if (createdDir) undo.push(() => fs.rm(createdDir, { recursive: true, force: true }));
      undo.push(() => (bankBefore ? writeFileAtomic(target.file, bankBefore) : fs.rm(target.file, { force: true })));
      await writeFileAtomic(target.file, bankText);
      // A replaced bank never keeps the old bank's map: it would show other examples.
      undo.push(() => (mapBefore ? writeFileAtomic(mapFile, mapBefore) : fs.rm(mapFile, { force: true })));
      if (mapText) await writeFileAtomic(mapFile, mapText);
      else await fs.rm(mapFile, { force: true });
      if (manifest && manifest.after !== manifest.before) {
        undo.push(() => writeFileAtomic(manifest.file, manifest.before));
        await writeFileAtomic(manifest.file, manifest.after);
      }
      throwIfAborted(opts.signal);
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw err;
    }
  });
  return target.file;
}

/** File-system failures (read-only bundle, missing folder, full disk) as a SeerError with a way out. */
export async function explainWriteErrors(file: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code || err instanceof SeerError) throw err;
    throw new SeerError('WRITE_FAILED', `Cannot write ${file} (${code}: ${(err as Error).message}).`, {
      file,
      fix: 'Write somewhere you can write to, or fix the folder permissions.',
      cause: err,
    });
  }
}

/** seer.json's text before and after adding name → rel to its `banks` map (every byte outside that map stays as it was). */
async function manifestUpdate(bundleDir: string, name: string, rel: string): Promise<{ file: string; before: string; after: string }> {
  const file = path.join(bundleDir, MANIFEST_FILE);
  const before = await fs.readFile(file, 'utf8');
  return { file, before, after: withBankEntry(before, name, rel) };
}

/**
 * The manifest text with banks[name] = rel. Only the `banks` value is rewritten (JSON.stringify of the whole
 * manifest would change how numbers such as 10.0 or 1e-5 are written); one-line or indented, as it was.
 */
export function withBankEntry(text: string, name: string, rel: string): string {
  const manifest = JSON.parse(text) as { banks?: Record<string, string> };
  if (manifest.banks?.[name] === rel) return text;
  const banks = { ...manifest.banks, [name]: rel };
  const span = topLevelValue(text, 'banks');
  if (!span) {
    const close = text.lastIndexOf('}');
    const body = text.slice(0, close).trimEnd();
    const sep = body.endsWith('{') ? '' : ',';
    return `${body}${sep}\n  "banks": ${formatMap(banks, '  ', true)}\n${text.slice(close)}`;
  }
  const lineStart = text.lastIndexOf('\n', span.keyStart) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const multiline = text.slice(span.start, span.end).includes('\n');
  return text.slice(0, span.start) + formatMap(banks, indent, multiline) + text.slice(span.end);
}

function formatMap(map: Record<string, string>, indent: string, multiline: boolean): string {
  const entries = Object.entries(map).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  if (!entries.length) return '{}';
  return multiline ? `{\n${entries.map((e) => `${indent}  ${e}`).join(',\n')}\n${indent}}` : `{ ${entries.join(', ')} }`;
}

/** Span of a top-level key's value in valid JSON text (a small scanner: strings, nesting, nothing else). */
function topLevelValue(text: string, key: string): { keyStart: number; start: number; end: number } | undefined {
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = stringEnd(text, i);
      if (depth === 1 && expectKey && JSON.parse(text.slice(i, end)) === key) {
        let start = text.indexOf(':', end) + 1;
        while (/\s/.test(text[start])) start++;
        return { keyStart: i, start, end: valueEnd(text, start) };
      }
      expectKey = false;
      i = end - 1;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
  }
  return undefined;
}

/** Index just after the string starting at i. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

function valueEnd(text: string, start: number): number {
  if (text[start] === '"') return stringEnd(text, start);
  if (text[start] !== '{' && text[start] !== '[') return start + /^[^,}\]\s]*/.exec(text.slice(start))![0].length;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '"') i = stringEnd(text, i) - 1;
    else if (text[i] === '{' || text[i] === '[') depth++;
    else if ((text[i] === '}' || text[i] === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}
