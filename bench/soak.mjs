// Soak of the engine server (dist/engine-server.js, what VS Code runs): many explains over JSON-RPC with a
// fixed number in flight, as a busy editor would send them, recording the server's memory as it goes.
// Every 20th request is cancelled right after it is sent (before or while it runs). Memory must stay flat,
// every request must be answered, and a cancelled request must not run to completion once it was cancelled
// before its turn. Memory is read from /proc (Linux): VmRSS every `--sample` answers, VmHWM (peak) at the end.
// Usage: node bench/soak.mjs [--requests N] [--in-flight N] [--sample N] [--bundle DIR]   (npm run bench:soak)
// Writes bench/RESULTS-soak.md.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CancellationTokenSource, createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { ROOT, fmt, requireProcMemory, requireServer, writeResults } from './common.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    'in-flight': { type: 'string', default: '32' },
    sample: { type: 'string', default: '500' },
    bundle: { type: 'string', default: path.join(ROOT, 'models', 'default') },
  },
});
const REQUESTS = Number(values.requests);
const IN_FLIGHT = Number(values['in-flight']);
const SAMPLE = Number(values.sample);
const CANCEL_EVERY = 20;
/** A request not answered this long after the last answer counts as lost. */
const LOST_AFTER_MS = 60_000;
const SERVER = requireServer();
requireProcMemory('This soak');

const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
rpc.listen();
const memoryMb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;

const words = 'how do I bake bread write a python function find the address of someone travel to rome the science of stars'.split(' ');
/** Prompts of 4 to ~120 words, all different. */
const prompt = (i) => `${i}: ${Array.from({ length: 4 + ((i * 37) % 117) }, (_, k) => words[(i + k * 7) % words.length]).join(' ')}`;

await rpc.sendRequest('seer/load', { bundleDir: path.resolve(values.bundle), provider: 'cpu' });
const samples = [{ answered: 0, rssMb: memoryMb('VmRSS') }];
const counts = { ok: 0, cancelled: 0, cancelledAsked: 0, cancelledButRan: 0, failed: 0 };
const errors = new Map();
let sent = 0;
let answered = 0;
let lastAnswer = Date.now();
const started = performance.now();

async function one(i) {
  const cancel = i % CANCEL_EVERY === CANCEL_EVERY - 1 ? new CancellationTokenSource() : undefined;
  const pending = rpc.sendRequest('seer/explain', { text: prompt(i), options: { topNextTokens: 5 } }, cancel?.token);
  if (cancel) {
    counts.cancelledAsked++;
    cancel.cancel();
  }
  try {
    await pending;
    if (cancel) counts.cancelledButRan++;
    else counts.ok++;
  } catch (e) {
    const code = e?.data?.code ?? String(e?.code ?? e);
    if (code === 'CANCELLED') counts.cancelled++;
    else {
      counts.failed++;
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  }
  answered++;
  lastAnswer = Date.now();
  if (answered % SAMPLE === 0) {
    samples.push({ answered, rssMb: memoryMb('VmRSS') });
    process.stderr.write(`\r${answered}/${REQUESTS} answered, RSS ${samples.at(-1).rssMb.toFixed(0)} MB`);
  }
}

/** Keeps IN_FLIGHT requests outstanding until REQUESTS were sent. */
async function worker() {
  while (sent < REQUESTS) await one(sent++);
}
const workers = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
const watchdog = new Promise((resolve) => {
  const timer = setInterval(() => {
    if (Date.now() - lastAnswer > LOST_AFTER_MS) {
      clearInterval(timer);
      resolve('lost');
    }
  }, 1000);
  workers.then(() => (clearInterval(timer), resolve('done')));
});
const outcome = await watchdog;
const seconds = (performance.now() - started) / 1000;
const peakMb = memoryMb('VmHWM');
process.stderr.write('\n');
rpc.dispose();
child.kill();

const lost = REQUESTS - answered;
const rss = samples.map((s) => s.rssMb);
const lines = [
  '# Engine soak: explains over JSON-RPC',
  '',
  `Written by \`npm run bench:soak\` (bench/soak.mjs) on ${new Date().toISOString()}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
  '',
  `${REQUESTS} \`seer/explain\` requests to one \`dist/engine-server.js\` (bundle \`${path.relative(ROOT, path.resolve(values.bundle)) || values.bundle}\`, CPU), ${IN_FLIGHT} in flight; every ${CANCEL_EVERY}th cancelled right after it was sent.`,
  '',
  '| measure | value |',
  '|---|---|',
  `| wall time | ${fmt(seconds, 1)} s |`,
  `| requests/s (all answers) | ${fmt(answered / seconds, 1)} |`,
  `| explained | ${counts.ok} |`,
  `| cancelled: asked / answered CANCELLED / ran anyway | ${counts.cancelledAsked} / ${counts.cancelled} / ${counts.cancelledButRan} |`,
  `| failed (other errors) | ${counts.failed}${errors.size ? ` (${[...errors].map(([c, n]) => `${c}: ${n}`).join(', ')})` : ''} |`,
  `| lost (no answer${outcome === 'lost' ? ` ${LOST_AFTER_MS / 1000} s after the last one` : ''}) | ${lost} |`,
  `| RSS after load / last / max of samples | ${fmt(rss[0], 0)} / ${fmt(rss.at(-1), 0)} / ${fmt(Math.max(...rss), 0)} MB |`,
  `| peak (VmHWM) | ${fmt(peakMb, 0)} MB |`,
  '',
  `RSS every ${SAMPLE} answers (MB):`,
  '',
  '| answered | RSS MB |',
  '|---|---|',
  ...samples.map((s) => `| ${s.answered} | ${fmt(s.rssMb, 0)} |`),
  '',
  '"Ran anyway": a cancelled request answered with a result. It can only be one whose cancellation arrived after its',
  'forward pass had started (a request cancelled before its turn never runs).',
  '',
];
writeResults('RESULTS-soak.md', lines.join('\n'));
process.exit(lost > 0 || counts.failed > 0 ? 1 : 0);
