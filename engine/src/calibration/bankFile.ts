// Where a calibrated bank goes: by default into the bundle (banks/<name>.json, registered in seer.json's
// `banks` map), or to an explicit --out path. Both files are written atomically (temp file + rename).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type ConceptBank, MANIFEST_FILE, writeBankAtomic } from '../bundle';
import { SeerError } from '../errors';
import { writeFileAtomic } from '../fsAtomic';
import type { ModelFacts } from './representer';

const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkBankName(name: string): void {
  if (BANK_NAME.test(name)) return;
  throw new SeerError('BANK_NAME_INVALID', `"${name}" is not a valid bank name.`, {
    fix: 'Use letters, digits, "-", "_" or "." (e.g. --bank-name safety), at most 64 characters.',
  });
}

export interface SaveOptions {
  /** Explicit output file; the bundle is then left untouched. */
  out?: string;
  /** Allow replacing the bundle's default bank. */
  force?: boolean;
}

/** The checks saveBank makes before writing, callable before any model work so a bad name fails at once. */
export function checkSaveTarget(name: string, model: ModelFacts, opts: SaveOptions = {}): void {
  checkBankName(name);
  if (!opts.out && name === model.defaultBank && !opts.force) {
    throw new SeerError('BANK_EXISTS', `Bank "${name}" is the default bank of ${model.dir}; calibrating would replace it.`, {
      fix: 'Choose another --bank-name (e.g. --bank-name math), write elsewhere with --out FILE, or pass --force to replace it.',
    });
  }
}

/** Writes the bank and returns its path. */
export async function saveBank(bank: ConceptBank, model: ModelFacts, opts: SaveOptions = {}): Promise<string> {
  checkSaveTarget(bank.name, model, opts);
  if (opts.out) {
    const file = path.resolve(opts.out);
    await explainWriteErrors(file, () => writeBankAtomic(file, bank));
    return file;
  }
  const rel = `banks/${bank.name}.json`;
  const file = path.join(model.dir, rel);
  await explainWriteErrors(file, async () => {
    await writeBankAtomic(file, bank);
    await registerBank(model.dir, bank.name, rel);
  });
  return file;
}

/** File-system failures (read-only bundle, missing folder, full disk) as a SeerError with a way out. */
export async function explainWriteErrors(file: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    throw new SeerError('WRITE_FAILED', `Cannot write ${file} (${code}: ${(err as Error).message}).`, {
      file,
      fix: 'Write somewhere you can write to (e.g. --out ~/banks/NAME.json), or fix the folder permissions.',
      cause: err,
    });
  }
}

/** Adds name → rel to seer.json's `banks` map (rewritten atomically; other fields kept as they are). */
export async function registerBank(bundleDir: string, name: string, rel: string): Promise<void> {
  const manifestFile = path.join(bundleDir, MANIFEST_FILE);
  const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as { banks?: Record<string, string> };
  if (manifest.banks?.[name] === rel) return;
  manifest.banks = { ...manifest.banks, [name]: rel };
  await writeFileAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}
