// Shared by the calibration benchmark and the shared-data evaluation: running the built `seer` CLI
// (dist/cli.js via bin/seer.js) and locating ../shared/datasets.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = path.resolve(ROOT, '..', 'shared', 'datasets');
export const TMP = path.join(ROOT, 'bench', 'tmp');

export function requireBuild() {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
    console.error('dist/cli.js is missing: run `npm run build` first.');
    process.exit(1);
  }
}

/** Runs `seer ARGS --json`, returns the parsed JSON (exits with the CLI's message on failure). */
export function seerJson(args) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'seer.js'), ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) {
    console.error(`seer ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
  return JSON.parse(r.stdout);
}

export const fmt = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
export const pct = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');
