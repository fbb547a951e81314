// Resolves --bank / --compare-bank: a bank name known to the bundle, or a bank .json file made for it.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { type LoadedBundle, readBankFile } from '../bundle';
import { SeerError } from '../errors';
import type { PrototypeSource } from './evaluate';

export async function resolveBank(bundle: LoadedBundle, nameOrFile: string): Promise<PrototypeSource> {
  const known = bundle.banks.get(nameOrFile);
  if (known) return { kind: 'bank', bank: known, name: nameOrFile };
  if (nameOrFile.endsWith('.json') && existsSync(nameOrFile)) {
    const bank = await readBankFile(path.resolve(nameOrFile), bundle.manifest);
    return { kind: 'bank', bank, name: path.basename(nameOrFile, '.json') };
  }
  throw new SeerError('UNKNOWN_BANK', `Bundle ${bundle.dir} has no concept bank "${nameOrFile}" (it has: ${[...bundle.banks.keys()].join(', ') || 'none'}).`, {
    fix: {
      cli: 'Pass one of those names, a path to a bank .json made for this bundle, or create the bank with `seer calibrate --bank-name NAME`.',
      editor: 'Use one of those names or a bank .json made for this bundle, or create the bank with "SEER: Calibrate Concepts from Dataset…".',
    },
  });
}
