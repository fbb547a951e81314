// The rules of "SEER: Import Hugging Face Model…" that need no VS Code (unit-tested): where the new bundle may
// go, what it is called, what is already there, and which Python seer.pythonPath names.
import { existsSync, promises as fs, realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The bundle folder suggested for a checkpoint: its folder name with a `-seer` suffix. */
export function suggestedBundleName(checkpoint: string): string {
  return `${path.basename(path.resolve(checkpoint))}-seer`;
}

/** Where the output picker opens: the first workspace folder, else the home folder (never the extension's). */
export function suggestedOutputParent(workspaceFolders: string[], home: string = os.homedir()): string {
  return workspaceFolders[0] ?? home;
}

/**
 * Why a bundle may not be written at `out`, or undefined. Never inside the installed extension: VS Code deletes
 * that folder when it updates or uninstalls the extension, and the bundle would go with it. (The extension's
 * global storage is a separate folder, and allowed.) Symbolic links are resolved, so a link cannot hide it.
 */
export function outputLocationProblem(out: string, extensionPath: string): string | undefined {
  if (isInside(realPathOfExisting(out), realPathOfExisting(extensionPath))) {
    return `${out} is inside the installed SEER extension (${extensionPath}), which VS Code replaces when it updates the extension: the bundle would be lost. Choose a folder under your home or workspace.`;
  }
  return undefined;
}

/** Why `name` cannot be the new bundle's folder name, or undefined. */
export function bundleNameProblem(name: string): string | undefined {
  const n = name.trim();
  if (!n) return 'Give the bundle folder a name.';
  if (n === '.' || n === '..' || /[/\\]/.test(n)) return 'A folder name only (no "/" or "\\"); the folder it goes in was picked in the previous step.';
  return undefined;
}

/** What is at the output path already: nothing, a SEER bundle or an empty folder (replaceable), or something else. */
export async function existingOutput(out: string): Promise<'none' | 'replaceable' | 'other'> {
  const stat = await fs.stat(out).catch(() => undefined);
  if (!stat) return 'none';
  if (!stat.isDirectory()) return 'other';
  const names = await fs.readdir(out);
  return names.length === 0 || names.includes('seer.json') ? 'replaceable' : 'other';
}

/** seer.pythonPath as the Python to run, `~` expanded; undefined when empty (the engine's default applies). */
export function pythonFromSetting(value: string | undefined, home: string = os.homedir()): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  return v === '~' || v.startsWith('~/') ? path.join(home, v.slice(1)) : v;
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (the output need not exist yet). */
function realPathOfExisting(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  while (!existsSync(head) && path.dirname(head) !== head) head = path.dirname(head);
  try {
    return path.join(realpathSync(head), path.relative(head, abs));
  } catch {
    return abs;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
