// Peak memory of the engine server (dist/engine-server.js, what VS Code runs) loading and explaining with the
// default bundle, and refusing hostile bundles (issue 14: goal < 500 MB peak). Peak = the process's VmHWM
// (Linux /proc), read after each phase of one server process; each hostile bundle gets a fresh process.
// Usage: node bench/hostile-bundle-memory.mjs [--bundle DIR] [--prompts N]   (npm run bench:hostile)
// Writes bench/RESULTS-hostile.md.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { ROOT, fmt, requireProcMemory, requireServer, writeResults } from './common.mjs';

const GOAL_MB = 500;
const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: path.join(ROOT, 'models', 'default') },
    prompts: { type: 'string', default: '300' },
  },
});
const SERVER = requireServer();
requireProcMemory('This measurement');
const bundle = path.resolve(values.bundle);
const manifest = JSON.parse(readFileSync(path.join(bundle, 'seer.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-bench-hostile-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function startServer() {
  const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'ignore'] });
  const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  rpc.listen();
  const memory = () => {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)[1]);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  };
  const stop = () => {
    rpc.dispose();
    child.kill();
  };
  return { rpc, memory, stop };
}

/** Prompts of growing length, the longest past the model's context (cut by the engine). */
function prompts(n) {
  const words = 'how do I bake bread write a python function find the address of someone travel to the science of'.split(' ');
  return Array.from({ length: n }, (_, i) => Array.from({ length: 3 + ((i * 53) % (manifest.architecture.maxContext + 40)) }, (_, k) => words[(i + k * 7) % words.length]).join(' '));
}

const phases = [];
const good = startServer();
try {
  let t = Date.now();
  await good.rpc.sendRequest('seer/load', { bundleDir: bundle, provider: 'cpu' });
  phases.push({ phase: 'loaded the bundle', seconds: (Date.now() - t) / 1000, ...good.memory() });
  const texts = prompts(Number(values.prompts));
  t = Date.now();
  for (const text of texts) await good.rpc.sendRequest('seer/explain', { text });
  phases.push({ phase: `explained ${texts.length} prompts one by one (3–${manifest.architecture.maxContext + 42} words)`, seconds: (Date.now() - t) / 1000, ...good.memory() });
  t = Date.now();
  for (let i = 0; i < texts.length; i += 32) await good.rpc.sendRequest('seer/explainBatch', { texts: texts.slice(i, i + 32) });
  phases.push({ phase: `explained them again in batches of 32`, seconds: (Date.now() - t) / 1000, ...good.memory() });
} finally {
  good.stop();
}

let copies = 0;
function hostileCopy(rel, make) {
  const dir = path.join(tmp, `bundle-${++copies}`);
  mkdirSync(path.join(dir, 'banks'), { recursive: true });
  for (const f of ['seer.json', manifest.files.model, manifest.files.tokenizer, ...Object.values(manifest.banks)]) copyFileSync(path.join(bundle, f), path.join(dir, f));
  const target = path.join(dir, rel);
  rmSync(target);
  make(target);
  return dir;
}
const HOSTILE = [
  [manifest.files.model, 'a symlink to /dev/zero', (t) => symlinkSync('/dev/zero', t)],
  [manifest.files.model, 'a sparse 100 GB file', (t) => (writeFileSync(t, ''), truncateSync(t, 100 * 2 ** 30))],
  [manifest.files.tokenizer, 'a FIFO', (t) => execFileSync('mkfifo', [t])],
  [manifest.files.tokenizer, 'a symlink to /dev/urandom', (t) => symlinkSync('/dev/urandom', t)],
  [manifest.banks[manifest.defaultBank], 'a sparse 100 GB file', (t) => (writeFileSync(t, ''), truncateSync(t, 100 * 2 ** 30))],
  ['seer.json', 'a symlink to /dev/zero', (t) => symlinkSync('/dev/zero', t)],
];
const refusals = [];
for (const [rel, what, make] of HOSTILE) {
  const dir = hostileCopy(rel, make);
  const server = startServer();
  try {
    const t = Date.now();
    const code = await server.rpc.sendRequest('seer/load', { bundleDir: dir, provider: 'cpu' }).then(
      () => 'loaded (!)',
      (e) => e.data?.code ?? e.message,
    );
    refusals.push({ file: rel, what, code, seconds: (Date.now() - t) / 1000, ...server.memory() });
  } finally {
    server.stop();
  }
}

const peak = Math.max(...phases.map((p) => p.peakMb), ...refusals.map((r) => r.peakMb));
const verdict = `peak ${fmt(peak, 0)} MB: ${peak < GOAL_MB ? 'under' : 'OVER'} the ${GOAL_MB} MB goal`;
const md = [
  `Engine memory with the default and hostile bundles (\`npm run bench:hostile\`, ${new Date().toISOString().slice(0, 16)} UTC): the engine`,
  `server (dist/engine-server.js) on bundle \`${path.relative(ROOT, bundle) || bundle}\`, CPU provider, ${os.cpus().length} cores, Node ${process.version}.`,
  'Peak is the process\'s VmHWM (high-water resident set), RSS its VmRSS at that moment.',
  '',
  '| phase | seconds | RSS MB | peak MB |',
  '|---|---:|---:|---:|',
  ...phases.map((p) => `| ${p.phase} | ${p.seconds === undefined ? '' : fmt(p.seconds, 2)} | ${fmt(p.rssMb, 0)} | ${fmt(p.peakMb, 0)} |`),
  '',
  'Hostile bundles (a fresh server each): load answered with',
  '',
  '| file | replaced by | answer | seconds | peak MB |',
  '|---|---|---|---:|---:|',
  ...refusals.map((r) => `| ${r.file} | ${r.what} | ${r.code} | ${fmt(r.seconds, 3)} | ${fmt(r.peakMb, 0)} |`),
  '',
  `${verdict}.`,
  '',
].join('\n');
writeResults('RESULTS-hostile.md', md);
if (peak >= GOAL_MB || refusals.some((r) => r.code === 'loaded (!)')) process.exitCode = 1;
