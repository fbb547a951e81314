// Shared by the benchmarks: running the built `seer` CLI (dist/cli.js via bin/seer.js) or engine server,
// locating ../shared/datasets, and writing a results file atomically.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = path.resolve(ROOT, '..', 'shared', 'datasets');
export const TMP = path.join(ROOT, 'bench', 'tmp');

/** The built engine server (dist/engine-server.js), or exit with how to build it. */
export function requireServer() {
  const server = path.join(ROOT, 'dist', 'engine-server.js');
  if (!existsSync(server)) {
    console.error('dist/engine-server.js is missing: run `npm run build` first.');
    process.exit(1);
  }
  return server;
}

/**
 * Runs a command to its end: { ok, stdout, why } (why: the last lines of its stderr, or how it ended). For the
 * benchmarks' drivers (gpu.mjs, host-work.mjs), which report a failed step rather than throw.
 */
export function runCommand(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) return { ok: false, why: r.error.message, stdout: '' };
  const why = r.stderr ? r.stderr.trim().split('\n').slice(-3).join(' | ') : `exit code ${r.status ?? r.signal} (its stderr is in the log above)`;
  return { ok: r.status === 0, why, stdout: r.stdout };
}

/** Memory is read from /proc (Linux): exit with a clear message elsewhere. */
export function requireProcMemory(what) {
  if (!existsSync('/proc/self/status')) {
    console.error(`${what} reads memory from /proc (Linux).`);
    process.exit(1);
  }
}

/** Writes bench/NAME (or DIR/NAME) atomically (temp file + rename), prints it and where it went; returns the path. */
export function writeResults(name, text, dir = path.join(ROOT, 'bench')) {
  const file = path.join(dir, name);
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
  console.log(text);
  console.log(`written: ${path.relative(ROOT, file)}`);
  return file;
}

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

/** Bundles bench TypeScript entry points ({name: file}) into bench/tmp/<name>.js with the engine's settings
 * (onnxruntime-node stays external: its native addon is loaded from node_modules). */
export async function bundleBenchScripts(entryPoints) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints, outdir: TMP, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    external: ['onnxruntime-node'], logLevel: 'warning',
  });
}

/**
 * Labelled prompts for a benchmark's imported random-weight bundle (`seer import --calibrate FILE --label label`):
 * explain needs a bank; its content does not change the timing. Writes them to `file`; returns it.
 */
export function writeCalibrationCsv(file) {
  const topics = {
    cooking: ['bake bread with flour', 'simmer a tomato sauce', 'roast vegetables in the oven', 'whisk eggs for an omelette'],
    travel: ['book a train to Rome', 'pack a suitcase for the beach', 'find a hotel near the airport', 'plan a trip across Japan'],
    programming: ['fix a bug in the parser', 'write a unit test in Python', 'refactor the login function', 'compile a C program'],
  };
  const lines = ['prompt,label'];
  for (const [label, items] of Object.entries(topics)) {
    for (const item of items) for (const lead of ['How do I', 'Please explain how to', 'What is the best way to']) lines.push(`"${lead} ${item}?",${label}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
