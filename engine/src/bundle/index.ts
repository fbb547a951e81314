// loadBundle(dir): reads and validates a SEER bundle (docs/bundle-format.md) except the ONNX graph itself,
// which is checked when a session is opened (engine/src/runtime/modelSession.ts).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { EngineErrorCode } from '../../../common/errorCodes';
import type { BundleInfo } from '../../../common/protocol';
import { SeerError } from '../errors';
import { type ConceptBank, parseBank } from './bank';
import { type Manifest, parseManifest } from './manifest';
import { BundleTokenizer } from './tokenizer';
import { addUserBanks, userBankFolder } from './userBanks';

export { BANK_FORMAT, BANK_FORMAT_VERSION, bankInfo, bankToJson, parseBank, writeBankAtomic } from './bank';
export type { BankLayer, BankSource, ConceptBank } from './bank';
export type { Architecture, Manifest } from './manifest';
export { BUNDLE_FORMAT_VERSION, parseManifest } from './manifest';
export { BundleTokenizer } from './tokenizer';
export { defaultUserBankRoot, userBankFolder } from './userBanks';
export type { EncodedPrompt } from './tokenizer';

export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  manifestFile: string;
  modelFile: string;
  tokenizer: BundleTokenizer;
  /** Banks by name: those in the manifest, then any other banks/*.json, then the user's banks (userBanks.ts). */
  banks: Map<string, ConceptBank>;
  /** Which of `banks` came from the user's bank folder (calibrate writes there and may replace them). */
  userBanks: Set<string>;
  /** Root of the user's banks, when the engine was given one (calibrate writes there by default). */
  userBankDir?: string;
}

export const MANIFEST_FILE = 'seer.json';

export interface LoadOptions {
  /** Root of the user's banks (see userBanks.ts); those of this bundle are loaded after its own. */
  userBankDir?: string;
  /** Why a user bank was left out. */
  onWarning?: (message: string) => void;
}

export async function loadBundle(dir: string, opts: LoadOptions = {}): Promise<LoadedBundle> {
  const bundleDir = path.resolve(dir);
  const stat = await fs.stat(bundleDir).catch(() => null);
  if (!stat?.isDirectory()) {
    throw new SeerError('BUNDLE_NOT_FOUND', `No SEER bundle folder at ${bundleDir}.`, {
      file: bundleDir,
      fix: {
        cli: 'Pass --bundle DIR with a folder containing seer.json, or rebuild the default bundle with `npm run build:model`.',
        editor: 'Run "SEER: Select SEER Model Bundle…" and choose a folder containing seer.json, or rebuild the default bundle with `npm run build:model`.',
      },
    });
  }
  const manifestFile = path.join(bundleDir, MANIFEST_FILE);
  const manifest = parseManifest(await readJson(manifestFile, 'BUNDLE_INVALID'), manifestFile);

  const modelFile = inside(bundleDir, manifest.files.model, manifestFile);
  await readable(modelFile, 'the ONNX model', (f) => fs.access(f));
  const tokenizerFile = inside(bundleDir, manifest.files.tokenizer, manifestFile);
  const tokenizer = new BundleTokenizer(await readJson(tokenizerFile, 'TOKENIZER_INVALID'), manifest, tokenizerFile);

  const banks = new Map<string, ConceptBank>();
  for (const [name, rel] of Object.entries(manifest.banks)) {
    banks.set(name, await readBankFile(inside(bundleDir, rel, manifestFile), manifest));
  }
  for (const file of await extraBankFiles(bundleDir, manifest)) {
    const bank = await readBankFile(file, manifest);
    if (!banks.has(bank.name)) banks.set(bank.name, bank);
  }
  const userBanks = new Set<string>();
  if (opts.userBankDir) {
    const folder = userBankFolder(opts.userBankDir, manifest);
    for (const name of await addUserBanks(folder, banks, (f) => readBankFile(f, manifest), opts.onWarning ?? (() => undefined))) userBanks.add(name);
  }
  return { dir: bundleDir, manifest, manifestFile, modelFile, tokenizer, banks, userBanks, userBankDir: opts.userBankDir };
}

export async function readBankFile(file: string, manifest: Manifest): Promise<ConceptBank> {
  return parseBank(await readJson(file, 'BANK_INVALID'), file, manifest);
}

export function bundleInfo(bundle: LoadedBundle): BundleInfo {
  const m = bundle.manifest;
  const { ropeTheta: _r, normEps: _n, tiedEmbeddings: _t, ...architecture } = m.architecture;
  return {
    dir: bundle.dir,
    name: m.name,
    description: m.description,
    formatVersion: m.formatVersion,
    architecture,
    targetLayers: m.targetLayers,
    representation: m.representation,
    promptTemplate: m.promptTemplate,
    logitScale: m.logitScale,
    concepts: m.concepts,
    safeConcepts: m.safeConcepts,
    banks: [...bundle.banks.keys()],
    defaultBank: m.defaultBank,
  };
}

async function readJson(file: string, code: EngineErrorCode): Promise<unknown> {
  const text = await readable(file, path.basename(file), (f) => fs.readFile(f, 'utf8'));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SeerError(code, `${file} is not valid JSON: ${(err as Error).message}`, {
      file,
      fix: 'The file is damaged: rebuild the bundle (`npm run build:model`) or restore the file.',
      cause: err,
    });
  }
}

async function readable<T>(file: string, what: string, read: (file: string) => Promise<T>): Promise<T> {
  try {
    return await read(file);
  } catch (err) {
    throw new SeerError('BUNDLE_INVALID', `Missing ${what}: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, {
      file,
      fix: 'Restore the file or rebuild the bundle with `npm run build:model`.',
      cause: err,
    });
  }
}

/** Resolves a manifest-relative path, refusing paths that leave the bundle folder. */
function inside(dir: string, rel: string, manifestFile: string): string {
  const full = path.resolve(dir, rel);
  if (!full.startsWith(dir + path.sep)) {
    throw new SeerError('BUNDLE_INVALID', `${manifestFile}: the path "${rel}" points outside the bundle folder.`, {
      file: manifestFile,
      fix: 'Use paths relative to the bundle folder in seer.json.',
    });
  }
  return full;
}

async function extraBankFiles(dir: string, manifest: Manifest): Promise<string[]> {
  const listed = new Set(Object.values(manifest.banks).map((rel) => path.resolve(dir, rel)));
  const names = await fs.readdir(path.join(dir, 'banks')).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(dir, 'banks', n))
    .filter((f) => !listed.has(f));
}
