// Shared by the engine tests: the bundle under test (models/default, or SEER_TEST_BUNDLE), temp copies of it
// to damage.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BUNDLE_DIR = path.resolve(process.env.SEER_TEST_BUNDLE ?? path.join(ROOT, 'models', 'default'));

if (!existsSync(path.join(BUNDLE_DIR, 'seer.json'))) {
  throw new Error(`No SEER bundle at ${BUNDLE_DIR}: build it with \`npm run build:model\` (or set SEER_TEST_BUNDLE).`);
}

export function readManifest(dir = BUNDLE_DIR): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, 'seer.json'), 'utf8'));
}

/** A fresh copy of the bundle under test in a temp folder (delete it with `fs.rm(dir, { recursive: true })`). */
export async function copyBundle(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-bundle-'));
  await fs.cp(BUNDLE_DIR, dir, { recursive: true });
  return dir;
}

/** Rewrites a JSON file through `edit` (to break a copied bundle in one place). */
export async function editJson(file: string, edit: (json: any) => void): Promise<void> {
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  edit(json);
  await fs.writeFile(file, JSON.stringify(json));
}

/** Runs the built CLI (`bin/seer.js`, after `npm run build`) with plain (uncoloured) output. */
export function runSeer(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'seer.js'), ...args], {
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 2 ** 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
