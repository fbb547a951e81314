// `npm run bench`: cold start, steady-state explain latency (16/128/512 tokens), batch throughput (1/8/32), generation tokens/s,
// peak RSS, the machine's matrix-multiply limit through ORT, and the PyTorch eager reference side by side.
// Writes bench/results.json and bench/RESULTS.md, stating for each goal whether it is met or by how much not.
// Options: --bundle DIR (default models/default), --threads N (default: all cores), --quick (few iterations);
// --gpu runs the GPU benchmark instead (bench/gpu.mjs, its own options).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleBenchScripts } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
if (process.argv.includes('--gpu')) {
  // `npm run bench -- --gpu`: the GPU benchmark (bench/gpu.mjs reads the same arguments).
  await import('./gpu.mjs');
  process.exit(process.exitCode ?? 0);
}
const { values } = parseArgs({
  options: { bundle: { type: 'string' }, threads: { type: 'string' }, quick: { type: 'boolean', default: false } },
});
const bundle = path.resolve(values.bundle ?? path.join(root, 'models', 'default'));
const threads = Number(values.threads ?? os.availableParallelism());
const quick = values.quick;
const python = process.env.SEER_PYTHON ?? '/usr/bin/python3';

if (!existsSync(path.join(bundle, 'seer.json'))) fail(`No SEER bundle at ${bundle}: build it with \`npm run build:model\` or pass --bundle DIR.`);
const busy = spawnSync('pgrep', ['-af', 'seer_trainer'], { encoding: 'utf8' }).stdout?.trim();
if (busy) console.error(`warning: a training job is running (${busy.split('\n')[0]}); numbers will be lower than on an idle machine.`);

const tmp = path.join(here, 'tmp');
await bundleBenchScripts({ measure: path.join(here, 'measure.ts'), cold: path.join(here, 'cold.ts') });

function runJson(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout);
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

console.error(`bench: bundle ${bundle}, ${threads} thread(s)${quick ? ', quick' : ''}`);
const coldRuns = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const r = runJson(process.execPath, [path.join(tmp, 'cold.js'), bundle, String(threads)]);
  coldRuns.push({ ...r, processWallMs: performance.now() - t0 });
}
let cliWallMs = null;
if (existsSync(path.join(root, 'dist', 'cli.js'))) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'seer.js'), 'explain', '--bundle', bundle, 'how do I hot-wire a car'], { encoding: 'utf8' });
  if (r.status === 0) cliWallMs = performance.now() - t0;
}
console.error('bench: cold start done; steady state…');
const m = runJson(process.execPath, [path.join(tmp, 'measure.js'), bundle, String(threads), ...(quick ? ['--quick'] : [])]);

let torch = null;
let torchSkipped = null;
const probe = existsSync(python) ? spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }) : { status: 1, stderr: `${python} not found` };
if (probe.status !== 0) torchSkipped = `${python} has no torch (${(probe.stderr || '').trim().split('\n').pop()})`;
else if (!existsSync(path.join(root, 'trainer', 'seer_trainer', 'model.py'))) torchSkipped = 'trainer/seer_trainer/model.py is missing';
else {
  console.error('bench: PyTorch eager reference…');
  torch = runJson(python, [path.join(here, 'torch_reference.py'), bundle, String(threads), ...(quick ? ['--quick'] : [])], {
    env: { ...process.env, PYTHONPATH: path.join(root, 'trainer') },
  });
}

// FLOPs of one forward pass over T tokens (multiply-add = 2 FLOPs): projections, attention, MLP, LM head.
function forwardFlops(a, T) {
  const H = a.hiddenSize;
  const perLayer = 2 * T * 4 * H * H + 2 * T * 3 * H * a.intermediateSize + 4 * T * T * H;
  return a.numLayers * perLayer + 2 * T * H * a.vocabSize;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const peakGflops = Math.max(...m.matmul.map((x) => x.gflops));
const flops128 = forwardFlops(m.architecture, 128);
const boundMs = (flops128 / (peakGflops * 1e9)) * 1000;
const explain128 = m.latency['128'].explainMs.p50;
const forward128 = m.latency['128'].forwardMs.p50;
const tp1 = m.throughput['1'].promptsPerSecond;
const tp32 = m.throughput['32'].promptsPerSecond;
const gen = m.generation;

const goals = [
  {
    goal: 'steady-state explain of a 128-token prompt within 2x of the matrix-multiply limit',
    target: `≤ ${(2 * boundMs).toFixed(2)} ms (2 × ${boundMs.toFixed(2)} ms = ${(flops128 / 1e6).toFixed(0)} MFLOP at ${peakGflops.toFixed(1)} GFLOP/s)`,
    measured: `${explain128.toFixed(2)} ms p50 (forward alone ${forward128.toFixed(2)} ms) = ${(explain128 / boundMs).toFixed(1)}x the bound`,
    met: explain128 <= 2 * boundMs,
    by: explain128 <= 2 * boundMs ? null : `${(explain128 / (2 * boundMs)).toFixed(1)}x slower than the goal`,
  },
  torch
    ? {
        goal: 'at least 5x faster than the PyTorch eager reference (128 tokens, same threads)',
        target: '≥ 5x',
        measured: `PyTorch ${torch.latency['128'].p50.toFixed(2)} ms vs explain ${explain128.toFixed(2)} ms = ${(torch.latency['128'].p50 / explain128).toFixed(1)}x (forward alone ${(torch.latency['128'].p50 / forward128).toFixed(1)}x; PyTorch on 1 thread: ${torch.latency1Thread['128'].p50.toFixed(2)} ms = ${(torch.latency1Thread['128'].p50 / explain128).toFixed(1)}x)`,
        met: torch.latency['128'].p50 / explain128 >= 5,
        by: torch.latency['128'].p50 / explain128 >= 5 ? null : `${(5 / (torch.latency['128'].p50 / explain128)).toFixed(1)}x short`,
      }
    : { goal: 'at least 5x faster than the PyTorch eager reference', target: '≥ 5x', measured: `not run: ${torchSkipped}`, met: null, by: null },
  {
    goal: 'batch-32 throughput at least 3x batch 1',
    target: '≥ 3x',
    measured: `${tp32.toFixed(1)} vs ${tp1.toFixed(1)} prompts/s = ${(tp32 / tp1).toFixed(2)}x`,
    met: tp32 / tp1 >= 3,
    by: tp32 / tp1 >= 3 ? null : `${(3 / (tp32 / tp1)).toFixed(2)}x short`,
  },
  {
    goal: 'generation with a per-token explanation at least 20 tokens/s (greedy, whole prefix re-run per token)',
    target: '≥ 20 tokens/s',
    measured: `${gen.tokensPerSecond.toFixed(1)} tokens/s (${gen.tokens} tokens in ${gen.runs} runs of up to ${gen.maxNewTokens}; per token p50 ${gen.stepMs.p50.toFixed(2)} ms, p95 ${gen.stepMs.p95.toFixed(2)} ms)`,
    met: gen.tokensPerSecond >= 20,
    by: gen.tokensPerSecond >= 20 ? null : `${(20 / gen.tokensPerSecond).toFixed(2)}x short`,
  },
];

/** What batching could at best give: it removes per-call overhead, bounded by the fastest 16-token explain. */
function batchingNote() {
  const perPrompt = 1000 / tp1;
  const overhead = m.latency['16'].explainMs.min;
  const head = `Batching can only remove per-call overhead, which is at most the fastest 16-token explain (${f(overhead)} ms), against ${f(perPrompt)} ms per prompt at batch 1`;
  return overhead < perPrompt
    ? `${head}: so the best batching could give here is ${(perPrompt / (perPrompt - overhead)).toFixed(2)}x. On a CPU a single prompt already keeps the cores busy with useful work.`
    : `${head}: the run was too noisy to bound it.`;
}

const results = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30, loadAverage: os.loadavg(), trainingRunning: Boolean(busy) },
  bundle: { dir: bundle, name: JSON.parse(readFileSync(path.join(bundle, 'seer.json'), 'utf8')).name, architecture: m.architecture },
  threads,
  quick,
  coldStart: { runs: coldRuns, medianLoadMs: median(coldRuns.map((r) => r.loadMs)), medianFirstExplainMs: median(coldRuns.map((r) => r.firstExplainMs)), medianProcessWallMs: median(coldRuns.map((r) => r.processWallMs)), cliWallMs },
  latency: m.latency,
  throughput: m.throughput,
  generation: gen,
  peakRssMiB: m.peakRssMiB,
  matmul: m.matmul,
  forwardFlops: { 16: forwardFlops(m.architecture, 16), 128: flops128, 512: forwardFlops(m.architecture, 512) },
  matmulBoundMs128: boundMs,
  torch: torch ?? { skipped: torchSkipped },
  goals,
};

function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const f = (x) => (x === undefined || x === null ? '–' : x.toFixed(2));
const md = [
  '# SEER engine benchmark',
  '',
  `${results.date} · bundle \`${results.bundle.name}\` (${m.architecture.numLayers} layers, hidden ${m.architecture.hiddenSize}, vocab ${m.architecture.vocabSize}) · CPU provider, ${threads} thread(s) · ${results.machine.cpus} × ${results.machine.model} · load average ${results.machine.loadAverage.map((x) => x.toFixed(2)).join(' ')}${busy ? ' · **a training job was running**' : ''}${quick ? ' · **--quick run (few iterations)**' : ''}`,
  '',
  '## Goals',
  '',
  '| goal | target | measured | result |',
  '|---|---|---|---|',
  ...goals.map((g) => `| ${g.goal} | ${g.target} | ${g.measured} | ${g.met === null ? 'not run' : g.met ? '**met**' : `**missed**: ${g.by}`} |`),
  '',
  '## Latency (ms, steady state, batch 1)',
  '',
  `| prompt tokens | explain p50 | explain p95 | explain min | ORT forward p50 | PyTorch eager forward p50 (${threads} thr.) | PyTorch / explain | PyTorch p50, 1 thread |`,
  '|---|---|---|---|---|---|---|---|',
  ...Object.entries(m.latency).map(([n, l]) => `| ${l.tokens} | ${f(l.explainMs.p50)} | ${f(l.explainMs.p95)} | ${f(l.explainMs.min)} | ${f(l.forwardMs.p50)} | ${f(torch?.latency[n]?.p50)} | ${torch ? `${(torch.latency[n].p50 / l.explainMs.p50).toFixed(1)}x` : '–'} | ${f(torch?.latency1Thread?.[n]?.p50)} |`),
  '',
  '## Throughput',
  '',
  `${m.throughput['1'].prompts} prompts of ${m.throughput.promptTokens.p50}–${Math.round(m.throughput.promptTokens.p95)} tokens (p50–p95), explainBatch in chunks of the batch size.`,
  '',
  '| batch | prompts/s | vs batch 1 |',
  '|---|---|---|',
  ...['1', '8', '32'].map((b) => `| ${b} | ${m.throughput[b].promptsPerSecond.toFixed(1)} | ${(m.throughput[b].promptsPerSecond / tp1).toFixed(2)}x |`),
  '',
  batchingNote(),
  '',
  '## Other numbers',
  '',
  `- cold start (fresh process: load + validate bundle, open model, first explain): load ${f(results.coldStart.medianLoadMs)} ms + first explain ${f(results.coldStart.medianFirstExplainMs)} ms; whole process ${f(results.coldStart.medianProcessWallMs)} ms (median of 3); \`seer explain\` CLI wall time ${f(cliWallMs)} ms`,
  `- peak RSS of the measuring process: ${m.peakRssMiB.toFixed(0)} MiB`,
  `- matrix-multiply limit (ORT MatMul, CPU, ${threads} thread(s), best of runs): ${m.matmul.map((x) => `${x.size}³: ${x.gflops.toFixed(1)} GFLOP/s`).join(', ')}`,
  `- forward-pass FLOPs: ${(results.forwardFlops[16] / 1e6).toFixed(0)} M at 16 tokens, ${(flops128 / 1e6).toFixed(0)} M at 128, ${(results.forwardFlops[512] / 1e6).toFixed(0)} M at 512`,
  `- PyTorch reference: ${torch ? `torch ${torch.torch}, trainer's SeerLlama (weights: ${torch.weights}), eager, inference_mode, ${torch.threads} thread(s)` : torchSkipped}`,
  '',
].join('\n');

writeAtomic(path.join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeAtomic(path.join(here, 'RESULTS.md'), md);
console.log(md);

// Calibration throughput, batch 1 vs larger batches (its own table: bench/RESULTS-calibration.md).
console.error('bench: calibration throughput…');
const calibration = spawnSync(process.execPath, [path.join(here, 'calibration.bench.mjs'), '--bundle', bundle, ...(quick ? ['--rows', '70', '--batches', '1,16'] : [])], { stdio: 'inherit' });
if (calibration.status !== 0) console.error(`bench: the calibration benchmark failed (exit ${calibration.status})`);
