// loadBundle(dir): reads and validates a SEER bundle (docs/bundle-format.md) except the ONNX graph itself,
// which is checked when a session is opened (engine/src/runtime/modelSession.ts).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { EngineErrorCode } from '../../../common/errorCodes';
import type { BundleInfo } from '../../../common/protocol';
import { SeerError } from '../errors';
import { type ConceptBank, parseBank } from './bank';
import { bankLimit, checkBundleFile, type FileLimit, MANIFEST_LIMIT, modelLimit, readBundleFile, realPathInside, TOKENIZER_LIMIT } from './bundleFile';
import { isConceptMapFile } from './conceptMapFile';
import { parseJson } from './jsonCheck';
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
  // Every file is read through its real path, which must be inside the bundle's real folder (bundleFile.ts).
  const realDir = await fs.realpath(bundleDir);
  const manifestFile = path.join(bundleDir, MANIFEST_FILE);
  const manifest = parseManifest(await readJson(await realPathInside(realDir, manifestFile), 'BUNDLE_INVALID', MANIFEST_LIMIT), manifestFile);
  const bundleFile = (rel: string) => realPathInside(realDir, inside(bundleDir, rel, manifestFile));

  const modelFile = await bundleFile(manifest.files.model);
  await checkBundleFile(modelFile, modelLimit(manifest.architecture)); // read (and checked again) when the session opens
  const tokenizerFile = await bundleFile(manifest.files.tokenizer);
  const tokenizer = new BundleTokenizer(await readJson(tokenizerFile, 'TOKENIZER_INVALID', TOKENIZER_LIMIT), manifest, tokenizerFile);

  const banks = new Map<string, ConceptBank>();
  for (const [name, rel] of Object.entries(manifest.banks)) {
    banks.set(name, await readBankFile(await bundleFile(rel), manifest));
  }
  for (const file of await extraBankFiles(bundleDir, manifest)) {
    const bank = await readBankFile(await realPathInside(realDir, file), manifest);
    if (!banks.has(bank.name)) banks.set(bank.name, bank);
  }
  const userBanks = new Set<string>();
  if (opts.userBankDir) {
    const folder = userBankFolder(opts.userBankDir, manifest);
    for (const name of await addUserBanks(folder, banks, (f) => readBankFile(f, manifest), opts.onWarning ?? (() => undefined))) userBanks.add(name);
  }
  return { dir: bundleDir, manifest, manifestFile, modelFile, tokenizer, banks, userBanks, userBankDir: opts.userBankDir };
}

/** A bank file (the bundle's, the user's, or one named on the command line): a regular file within the bank size limit. */
export async function readBankFile(file: string, manifest: Manifest): Promise<ConceptBank> {
  return { ...parseBank(await readJson(file, 'BANK_INVALID', bankLimit(manifest.architecture)), file, manifest), file };
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

async function readJson(file: string, code: EngineErrorCode, limit: FileLimit): Promise<unknown> {
  return parseJson((await readBundleFile(file, limit)).toString('utf8'), file, code);
}

/** Resolves a manifest-relative path, refusing paths that leave the bundle folder as written (links: realPathInside). */
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
    .filter((n) => n.endsWith('.json') && !isConceptMapFile(n))
    .sort()
    .map((n) => path.join(dir, 'banks', n))
    .filter((f) => !listed.has(f));
}
