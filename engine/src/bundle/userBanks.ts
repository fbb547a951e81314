// Banks the user calibrated live outside the bundle (a shipped bundle is never written by default):
// <root>/<bundle name>/<bank>.json, root = $XDG_DATA_HOME/seer/banks (else ~/.local/share/seer/banks;
// %APPDATA%\seer\banks on Windows), or the extension's global storage. Loaded next to the bundle's banks.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConceptBank } from './bank';
import { isConceptMapFile } from './conceptMapFile';
import type { Manifest } from './manifest';

export function defaultUserBankRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(env.APPDATA || path.join(os.homedir(), 'AppData', 'Roaming'), 'seer', 'banks');
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'seer', 'banks');
}

/** The folder of one bundle's user banks: its manifest name, made safe as one path segment. */
export function userBankFolder(root: string, manifest: Pick<Manifest, 'name'>): string {
  const segment = manifest.name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || 'bundle';
  return path.join(root, segment);
}

/**
 * Adds the user banks of this bundle to `banks` (the bundle's own banks keep their names). A bank that
 * does not fit (e.g. made before the model was rebuilt) is reported through onSkip, not fatal: it is the
 * user's file, not part of the bundle. Returns the names added.
 */
export async function addUserBanks(
  folder: string,
  banks: Map<string, ConceptBank>,
  read: (file: string) => Promise<ConceptBank>,
  onSkip: (message: string) => void,
): Promise<string[]> {
  const added: string[] = [];
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json') && !isConceptMapFile(n)).sort()) {
    const file = path.join(folder, name);
    try {
      const bank = await read(file);
      if (banks.has(bank.name)) onSkip(`user bank ${file} skipped: the bundle already has a bank "${bank.name}".`);
      else {
        banks.set(bank.name, bank);
        added.push(bank.name);
      }
    } catch (err) {
      onSkip(`user bank ${file} skipped: ${(err as Error).message}`);
    }
  }
  return added;
}
