// `npm run bench -- --gpu` (issue 10 item 4): explain p50/p95 at 128 and 512 tokens, batch 1 and 32, on WebGPU,
// CUDA (when its provider is installed) and CPU, for the default bundle and a random-weight model shaped like
// Llama-3.2-1B imported through `seer import`, beside PyTorch CUDA eager (transformers' LlamaForCausalLM, same
// checkpoint, same shapes, the same outputs to the host) and the physical bound (weight bytes read per forward
// over the GPU's measured memory bandwidth). Writes results-gpu.json and RESULTS-gpu.md.
// Each bundle × provider runs in its own process (bench/gpu.ts): load, first explain and peak memory are its own.
//
// Options: --cpu-only       no GPU needed: the CPU rows only, no PyTorch (the code path a machine without a GPU
//                           can run; the benchmark's test uses it)
//          --torch          with --cpu-only: also the torch provider on CPU PyTorch (on a GPU run it is measured
//                           whenever a Python has torch and onnx: SEER_PYTHON, python3, /usr/bin/python3)
//          --models LIST    default,llama-3.2-1b (default), llama-3.1-8b, tiny (a 0.35M stand-in for tests)
//          --providers LIST only these of the providers that start (e.g. torch: a run that re-measures one provider)
//          --fp16           also import the Hugging Face shapes with fp16 weights (vs PyTorch fp16 and bf16)
//          --dtypes LIST    the imports' weight types instead (fp32,fp16): `--dtypes fp16` alone also writes the random
//                           checkpoint in bfloat16, halving the disk an 8B shape needs (16 + 16 GB instead of 32 + 32)
//          --out DIR        where the two result files go (default bench/)
//          --default-bundle DIR   the default bundle (default models/default)
//          --quick          fewer samples per shape (5, at most ~10 s per shape)
//          --prepare        only bundle bench/gpu.ts into bench/tmp/gpu.js, and the host worker beside it (for the GPU machine, which has no esbuild)
//          --tokens LIST, --batches LIST   other shapes (default 128,512 and 1,32: the issue's; the test uses small ones)
//          --work DIR       where checkpoints and imported bundles go (default bench/tmp/gpu; 5 GB for Llama-3.2-1B)
//          --from DIR       measure nothing: write the results from a GPU run's pieces, for a run stopped at its time
//                           limit before it wrote them: DIR/machine.json (the machine block), DIR/model.json ({name,
//                           parameters, importSeconds?}), DIR/engine-*.json (bench/tmp/gpu.js's output, one per
//                           provider) and DIR/torch.json (gpu_torch.py's output); every run keeps them as it goes in
//                           WORK/pieces/<model>/ (bench/gpu-session.sh returns them when the benchmark was stopped)
// Environment: SEER_PYTHON, the Python with numpy (checkpoint), torch + onnx + jinja2 (import) and transformers
// (the PyTorch side); default: the first of python3 and /usr/bin/python3 that has them.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCommand, writeCalibrationCsv } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values } = parseArgs({
  options: {
    gpu: { type: 'boolean', default: false },
    'cpu-only': { type: 'boolean', default: false },
    models: { type: 'string', default: 'default,llama-3.2-1b' },
    fp16: { type: 'boolean', default: false },
    dtypes: { type: 'string' },
    out: { type: 'string' },
    'default-bundle': { type: 'string' },
    quick: { type: 'boolean', default: false },
    work: { type: 'string' },
    tokens: { type: 'string', default: '128,512' },
    batches: { type: 'string', default: '1,32' },
    prepare: { type: 'boolean', default: false },
    from: { type: 'string' },
    torch: { type: 'boolean', default: false },
    providers: { type: 'string' },
  },
});
const cpuOnly = values['cpu-only'];
const from = values.from ? path.resolve(values.from) : null;
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
/** The pieces of a stopped run (--from): the measurer's output per provider, PyTorch's, the machine and the model. */
const pieces = from && {
  engine: readdirSync(from).filter((f) => /^engine-.*\.json$/.test(f)).sort().map((f) => readJson(path.join(from, f))),
  torch: existsSync(path.join(from, 'torch.json')) ? readJson(path.join(from, 'torch.json')) : null,
  machine: readJson(path.join(from, 'machine.json')),
  model: readJson(path.join(from, 'model.json')),
};
const outDir = path.resolve(values.out ?? here);
const defaultBundle = path.resolve(values['default-bundle'] ?? path.join(root, 'models', 'default'));
const work = path.resolve(values.work ?? path.join(here, 'tmp', 'gpu'));
const runs = values.quick ? 5 : 20;
const BYTES = { float32: 4, float16: 2 };

/** bench/gpu.ts bundled into one file: the GPU machine has no esbuild (nor npm), so it is built here and carried. */
const measurer = path.join(here, 'tmp', 'gpu.js');
async function bundleMeasurer() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  try {
    // With the engine's host worker threads beside it (SEER_HOST_THREADS: engine/src/hostWork/pool.ts finds the worker there).
    await esbuild.build({
      entryPoints: { gpu: path.join(here, 'gpu.ts'), 'host-worker': path.join(root, 'engine/src/hostWork/worker.ts') },
      outdir: path.dirname(measurer), bundle: true, platform: 'node', target: 'node20', format: 'cjs',
      external: ['onnxruntime-node'], logLevel: 'silent',
    });
  } catch (err) {
    // The GPU machine carries esbuild (for hf-train) but not every engine dependency: the carried file is the one.
    if (!existsSync(measurer)) throw err;
    console.error(`bench --gpu: could not rebuild ${path.relative(root, measurer)} (${String(err.message).split('\n')[0]}); using the carried one`);
  }
  return true;
}
if (values.prepare) {
  if (!await bundleMeasurer()) fail('esbuild is not installed: run `npm ci` first.');
  const worker = path.relative(root, path.join(path.dirname(measurer), 'host-worker.js'));
  console.log(`written: ${path.relative(root, measurer)} and ${worker} (carry them to the GPU machine: EXTRA="${path.relative(root, measurer)} ${worker}" pack.sh)`);
  process.exit(0);
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}
const log = (line) => console.error(`bench --gpu: ${line}`);

const run = runCommand;

// ─────────────────────────────── the machine ───────────────────────────────

function gpuInfo() {
  const r = run('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader']);
  if (!r.ok) return null;
  const [name, memory, driver] = r.stdout.trim().split('\n')[0].split(',').map((s) => s.trim());
  return { name, memory, driver };
}

const gpu = gpuInfo();
const machine = pieces?.machine ?? {
  gpu: gpu ? `${gpu.name} (${gpu.memory}, driver ${gpu.driver})` : null,
  cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}`,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
};
if (!from && !existsSync(path.join(root, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run build` first.');
if (!from && !existsSync(path.join(defaultBundle, 'seer.json'))) fail(`No SEER bundle at ${defaultBundle}: build it with \`npm run build:model\` or pass --default-bundle DIR.`);

/** The first of SEER_PYTHON, python3 on PATH and /usr/bin/python3 that imports `modules`, or null. */
const PYTHONS = [process.env.SEER_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
const pythonWith = (modules) => PYTHONS.find((p) => run(p, ['-c', `import ${modules.join(', ')}`]).ok) ?? null;
const seer = (...args) => run(process.execPath, [path.join(root, 'bin', 'seer.js'), ...args]);
let providers = pieces ? pieces.engine.map((e) => e.requested) : ['cpu'];
if (!cpuOnly && !from) {
  if (!gpu) fail('no GPU: `nvidia-smi` found none on this machine. On a GPU machine run `npm run bench -- --gpu`; here `node bench/gpu.mjs --cpu-only` measures the CPU rows.');
  // The GPU providers that start on the default bundle (seer info opens a session; its native warnings stay in the probe).
  const starts = Object.fromEntries(['webgpu', 'cuda'].map((p) => [p, seer('info', '--json', '--provider', p, '--bundle', defaultBundle)]));
  for (const [p, r] of Object.entries(starts)) log(`${p}: ${r.ok ? 'starts' : `does not start (${r.why})`}`);
  // The torch provider (PyTorch in a Python process, bfloat16 on CUDA) wherever a Python has torch and onnx.
  const torchPython = pythonWith(['torch', 'onnx']);
  log(`torch: ${torchPython ? `runs on ${torchPython}` : 'no Python with torch and onnx'}`);
  if (!starts.webgpu.ok && !starts.cuda.ok && !torchPython) {
    fail(`no GPU provider starts: webgpu: ${starts.webgpu.why}; cuda: ${starts.cuda.why}; torch: no Python with torch and onnx. \`seer doctor\` lists what is missing (e.g. no WebGPU adapter: the Vulkan loader, libglvnd or the NVIDIA ICD).`);
  }
  if (torchPython) process.env.SEER_PYTHON = torchPython;
  // The torch provider first: the fastest path (issue 10's goals), measured before a time limit can stop the run.
  providers = [...(torchPython ? ['torch'] : []), ...['webgpu', 'cuda'].filter((p) => starts[p].ok), 'cpu'];
} else if (cpuOnly && values.torch) {
  // --cpu-only --torch: the torch provider on CPU PyTorch too (its code path, no GPU).
  const torchPython = pythonWith(['torch', 'onnx']);
  if (!torchPython) fail('--torch: no Python with torch and onnx (SEER_PYTHON, python3, /usr/bin/python3).');
  process.env.SEER_PYTHON = torchPython;
  providers = ['torch', 'cpu'];
}
if (values.providers) {
  const asked = values.providers.split(',').map((s) => s.trim());
  const unknown = asked.filter((p) => !providers.includes(p));
  if (unknown.length) fail(`--providers: ${unknown.join(', ')} cannot run here (available: ${providers.join(', ')})`);
  providers = providers.filter((p) => asked.includes(p));
}

// ─────────────────────────────── the models ───────────────────────────────

/** A random-weight checkpoint of `shape` (bench/gpu_checkpoint.py), imported and calibrated with `seer import`. */
/** The imports' weight types (--dtypes, else fp32 and, with --fp16, fp16). */
const importDtypes = values.dtypes ? values.dtypes.split(',').map((s) => s.trim()) : values.fp16 ? ['fp32', 'fp16'] : ['fp32'];
for (const d of importDtypes) if (!['fp32', 'fp16'].includes(d)) fail(`--dtypes: "${d}" is not fp32 or fp16`);

function importedBundles(shape) {
  const checkpoint = path.join(work, `${shape}-hf`);
  // Without an fp32 import nothing needs float32 weights: a bfloat16 checkpoint takes half the disk.
  const checkpointDtype = importDtypes.includes('fp32') ? 'F32' : 'BF16';
  log(`${shape}: writing the random checkpoint (${checkpointDtype})…`);
  const made = run(python, [path.join(here, 'gpu_checkpoint.py'), checkpoint, '--shape', shape, '--dtype', checkpointDtype, '--tokenizer-bundle', defaultBundle], { stdio: ['ignore', 'pipe', 'inherit'] });
  const parameters = made.ok ? JSON.parse(made.stdout).parameters : null; // exact, where the manifest only allows an estimate
  if (!made.ok) return [{ name: shape, shape, error: `${python} bench/gpu_checkpoint.py failed: ${made.why}` }];
  const bundles = [];
  for (const dtype of importDtypes) {
    const out = path.join(work, `${shape}-${dtype}`);
    log(`${shape}: seer import --dtype ${dtype}…`);
    const t0 = performance.now();
    const imported = seer('import', checkpoint, '--out', out, '--force', '--dtype', dtype, '--python', python, '--calibrate', writeCalibrationCsv(path.join(work, 'calibration.csv')), '--label', 'label');
    if (!imported.ok) {
      bundles.push({ name: `${shape} (random weights, ${dtype})`, shape, error: `seer import failed: ${imported.why}` });
      continue;
    }
    bundles.push({ name: `${shape} (random weights, ${dtype})`, shape, dir: out, checkpoint, parameters, importSeconds: Math.round((performance.now() - t0) / 100) / 10 });
  }
  return bundles;
}

// The import needs numpy, torch, onnx and jinja2; the PyTorch side also transformers. A Python without them fails
// where it is used, with its own message in the results.
const IMPORT_MODULES = ['numpy', 'torch', 'onnx', 'jinja2'];
const python = (!cpuOnly && pythonWith([...IMPORT_MODULES, 'transformers'])) || pythonWith(IMPORT_MODULES) || PYTHONS[0];
if (!from) mkdirSync(work, { recursive: true });
if (!from && !await bundleMeasurer() && !existsSync(measurer)) fail(`${measurer} is missing and esbuild is not installed here: run \`node bench/gpu.mjs --prepare\` where it is, and carry the file.`);

const models = pieces ? [{ ...pieces.model, checkpoint: from }] : [];
for (const name of from ? [] : values.models.split(',').map((s) => s.trim()).filter(Boolean)) {
  if (name === 'default') models.push({ name: 'default', dir: defaultBundle, checkpoint: null });
  else if (['llama-3.2-1b', 'llama-3.1-8b', 'tiny'].includes(name)) models.push(...importedBundles(name));
  else fail(`--models: unknown model "${name}" (default, llama-3.2-1b, llama-3.1-8b, tiny)`);
}

// ─────────────────────────────── measuring ───────────────────────────────

/** PyTorch CUDA eager on a checkpoint, once per checkpoint (all dtypes); null on --cpu-only. */
const torchRuns = new Map();
function torchOn(checkpoint, dtypes) {
  if (pieces) return pieces.torch;
  if (cpuOnly || !checkpoint) return null;
  if (!torchRuns.has(checkpoint)) {
    log(`PyTorch CUDA eager on ${path.basename(checkpoint)} (${dtypes.join(', ')})…`);
    const r = run(python, [path.join(here, 'gpu_torch.py'), checkpoint, '--dtypes', dtypes.join(','), '--runs', String(runs), '--tokens', values.tokens, '--batches', values.batches], { stdio: ['ignore', 'pipe', 'inherit'] });
    torchRuns.set(checkpoint, r.ok ? JSON.parse(r.stdout) : { error: r.why });
  }
  return torchRuns.get(checkpoint);
}

const results = [];
let bandwidthGBs = null;
let json;
for (const model of models) {
  if (model.error) {
    log(`${model.name}: ${model.error}`);
    results.push({ name: model.name, error: model.error, rows: [] });
    writeResults();
    continue;
  }
  const big = model.shape && model.shape !== 'tiny';
  const measured = [];
  // Each measurement is also kept as a piece (--from DIR reassembles a model's results from them), so a run stopped
  // at its time limit mid-model still returns what it measured (bench/gpu-session.sh packs them).
  const pieceDir = path.join(work, 'pieces', model.name.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const keep = (file, value) => {
    mkdirSync(pieceDir, { recursive: true });
    writeAtomic(path.join(pieceDir, file), `${JSON.stringify(value, null, 2)}\n`);
  };
  if (!pieces) {
    keep('machine.json', { ...machine, date: new Date().toISOString() });
    keep('model.json', { name: model.name, parameters: model.parameters ?? null, ...(model.importSeconds ? { importSeconds: model.importSeconds } : {}) });
  }
  for (const provider of providers) {
    // A billion-parameter model on CPU: batch 1 only (batch 32 would take minutes per sample).
    const batches = provider === 'cpu' && big ? values.batches.split(',')[0] : values.batches;
    log(`${model.name} on ${provider}…`);
    if (pieces) {
      measured.push(pieces.engine.find((e) => e.requested === provider));
      continue;
    }
    // stderr inherited: the engine's log (the torch provider's CUDA graph captures) lands in the session log.
    const r = run(process.execPath, [measurer, model.dir, provider, '--tokens', values.tokens, '--batches', batches, '--runs', String(runs), '--row-seconds', values.quick ? '10' : '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    measured.push(r.ok ? JSON.parse(r.stdout) : { requested: provider, error: r.why });
    keep(`engine-${provider}.json`, measured.at(-1));
  }
  const ok = measured.find((m) => !m.error);
  const dtype = ok?.dtype ?? 'float32';
  const torch = torchOn(model.checkpoint, [...importDtypes, 'bf16']);
  if (torch && !pieces) keep('torch.json', torch);
  bandwidthGBs ??= torch?.bandwidthGBs ?? null;
  const torchMs = (d, tokens, batch) => torch?.rows?.find((t) => t.dtype === d && t.tokens === tokens && t.batch === batch)?.torchCudaMs ?? null;
  const torchDtype = dtype === 'float16' ? 'fp16' : 'fp32';
  const parameters = model.parameters ?? ok?.parameters ?? null;
  const weightBytes = parameters ? parameters * BYTES[dtype] : null;
  const boundMs = weightBytes && bandwidthGBs ? (weightBytes / (bandwidthGBs * 1e9)) * 1000 : null;
  results.push({
    name: model.name,
    parameters,
    parametersExact: Boolean(model.parameters),
    dtype,
    ...(model.importSeconds ? { importSeconds: model.importSeconds } : {}),
    weightBytesPerForward: weightBytes,
    boundMs: boundMs === null ? null : Math.round(boundMs * 100) / 100,
    providers: measured.map(({ rows, ...rest }) => rest),
    rows: measured.flatMap((m) => (m.rows ?? []).map((row) => ({
      ...row,
      dtype,
      // The torch provider computes in bfloat16 on CUDA: its "same dtype" PyTorch is bf16, not the bundle's weights'.
      torchCudaMs: torchMs({ bfloat16: 'bf16', float16: 'fp16' }[row.computeDtype] ?? torchDtype, row.tokens, row.batch),
      torchCudaBf16Ms: torchMs('bf16', row.tokens, row.batch),
      boundRatio: boundMs && row.engineMs ? Math.round((row.engineMs.p50 / boundMs) * 100) / 100 : null,
    }))),
    ...(torch ? { torch: { device: torch.device, torch: torch.torch, transformers: torch.transformers, error: torch.error ?? null, rows: torch.rows ?? [] } } : {}),
  });
  writeResults(); // after each model: a run stopped at its time limit keeps what it measured
}
console.log(markdown());
console.log(`written: ${path.join(outDir, 'results-gpu.json')}, ${path.join(outDir, 'RESULTS-gpu.md')}`);

// ─────────────────────────────── writing ───────────────────────────────

function ms(m) {
  return m ? `${m.p50} / ${m.p95}` : '—';
}
/** Issue 10's goals, per provider that ran: each met, or missed by how much. */
function goalLines(m) {
  const lines = [];
  const fmt = (x) => (Math.round(x * 100) / 100).toString();
  for (const p of m.providers.filter((x) => !x.error)) {
    const rows = m.rows.filter((r) => r.provider === p.used && r.engineMs);
    const at = (t, b) => rows.find((r) => r.tokens === t && r.batch === b);
    const first = rows[0];
    if (first && p.firstExplainMs) {
      const x = p.firstExplainMs / first.engineMs.p50;
      lines.push(`- ${p.used}: first explain after load ${fmt(x)}× steady state at ${first.tokens} × ${first.batch} (goal ≤ 2×: ${x <= 2 ? 'met' : 'missed'})`);
    }
    for (const t of [...new Set(rows.map((r) => r.tokens))]) {
      const [one, many] = [at(t, 1), at(t, 32)];
      if (one && many) {
        const gain = (many.batch * one.engineMs.p50) / many.engineMs.p50;
        lines.push(`- ${p.used}: batch-${many.batch} throughput at ${t} tokens ${fmt(gain)}× batch 1 (goal ≥ 8×: ${gain >= 8 ? 'met' : 'missed'})`);
      }
    }
    for (const r of rows.filter((x) => x.torchCudaBf16Ms)) {
      const x = r.engineMs.p50 / r.torchCudaBf16Ms.p50;
      lines.push(`- ${p.used}: ${r.tokens} × ${r.batch} ${fmt(x)}× PyTorch CUDA bf16 (goal ≤ 1×: ${x <= 1 ? 'met' : 'missed'})`);
    }
    const rss = p.peakRssMiB + (p.torch?.peakRssMiB ?? 0); // the torch provider's Python process counts too
    lines.push(`- ${p.used}: peak host memory ${p.torch ? 'of the engine and its PyTorch process' : 'of the process'} ${rss} MiB (goal for a 512-token explain < 1024 MiB: ${rss < 1024 ? 'met' : 'missed; includes loading the model'})`);
    if (p.torch?.anonRssMiB !== undefined) {
      const own = p.peakRssMiB + p.torch.anonRssMiB;
      lines.push(`- ${p.used}: of it not mapped from files (the PyTorch process's RssAnon, the rest being its CUDA libraries' pages) ${own} MiB (< 1024 MiB: ${own < 1024 ? 'met' : 'missed'})`);
    }
  }
  return lines.length ? ['Goals (issue 10):', ...lines, ''] : [];
}

function markdown() {
  const out = [
    '# GPU benchmark (`npm run bench -- --gpu`)', '',
    `${json.date.slice(0, 10)} · GPU: ${machine.gpu ?? 'none'} · CPU: ${machine.cpu} · ${machine.memoryGiB} GiB · ${machine.os} · Node ${machine.node}`,
    `memory bandwidth (measured, device copy): ${bandwidthGBs ? `${bandwidthGBs} GB/s` : '— (not measured: no PyTorch CUDA in this run)'}${cpuOnly ? ` · **--cpu-only: ${values.torch ? 'CPU and the torch provider on CPU PyTorch' : 'CPU rows only'}, no GPU and no PyTorch CUDA**` : ''}`,
    ...(json.assembledFrom ? ['', `Written from ${json.assembledFrom}: only what that run measured is here.`] : []),
    ...(json.complete ? [] : ['', `**Incomplete: ${results.length} of ${models.length} models measured so far** (a run stopped at its time limit keeps the models it finished).`]),
    '', 'Explain latency, p50 / p95 ms (the engine\'s explainBatch: tokenize, forward, score; batches over 4,096 padded tokens, 16,384 for the torch provider on CUDA, run as several forwards). In the provider\'s PyTorch: for the torch provider, the part of each explain its Python process spent in the forward (the rest is the pipe, tokenizing and scoring); of it: its host checks, queueing the inputs and the forward, waiting for the outputs on the host (torch_forward.py\'s phasesMs), and the pipe both ways (not part of it). PyTorch: transformers\' LlamaForCausalLM, CUDA eager, last-token states of every layer and last-token logits copied to the host. Bound: weight bytes read once per forward ÷ memory bandwidth.', '',
  ];
  for (const m of results) {
    if (m.error) {
      out.push(`## ${m.name}`, '', `not measured: ${m.error}`, '');
      continue;
    }
    out.push(`## ${m.name}`, '', `${m.parameters ? `${(m.parameters / 1e6).toFixed(1)}M parameters${m.parametersExact ? '' : ' (manifest estimate)'}, ` : ''}${m.dtype}${m.importSeconds ? `, imported in ${m.importSeconds} s` : ''}${m.boundMs ? `, bound ${m.boundMs} ms per forward` : ''}`, '');
    for (const p of m.providers) {
      out.push(p.error ? `- ${p.requested}: did not run: ${p.error}`
        : `- ${p.used}${p.requested !== p.used ? ` (asked ${p.requested})` : ''}: load ${p.loadMs} ms (warm-up ${p.warmUpMs ?? '—'} ms), first explain ${p.firstExplainMs} ms, peak RSS ${p.peakRssMiB} MiB${p.torch ? ` + ${p.torch.peakRssMiB ?? '—'} MiB in the PyTorch process (${p.torch.device}, ${p.torch.dtype}, torch ${p.torch.torchVersion})` : ''}`);
    }
    out.push('', '| provider | tokens × batch | engine | in the provider\'s PyTorch | of it: check / launch / wait; + pipe (p50) | PyTorch same dtype | PyTorch bf16 | engine ÷ bound |', '|---|---|---|---|---|---|---|---|');
    for (const r of m.rows) {
      const parts = r.pytorchPartsMs ? `${r.pytorchPartsMs.check} / ${r.pytorchPartsMs.launch} / ${r.pytorchPartsMs.wait}; + ${r.pytorchPartsMs.wire}` : '—';
      out.push(`| ${r.provider}${r.computeDtype && r.computeDtype !== 'float32' ? ` (${r.computeDtype})` : ''} | ${r.tokens} × ${r.batch} | ${r.error ? `failed: ${r.error}` : ms(r.engineMs)}${r.fellBackToCpu ? ' (fell back to CPU)' : ''} | ${ms(r.pytorchMs)} | ${parts} | ${ms(r.torchCudaMs)} | ${ms(r.torchCudaBf16Ms)} | ${r.boundRatio ?? '—'} |`);
    }
    if (m.torch?.error) out.push('', `PyTorch did not run: ${m.torch.error}`);
    out.push('', ...goalLines(m));
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
function writeResults() {
  const done = results.length === models.length;
  json = { date: pieces?.machine.date ?? new Date().toISOString(), ...(from ? { assembledFrom: 'the pieces of a GPU run stopped at its time limit (--from)' } : {}), machine: { ...machine, memoryBandwidthGBs: bandwidthGBs }, cpuOnly, quick: values.quick, complete: done, models: results };
  mkdirSync(outDir, { recursive: true });
  writeAtomic(path.join(outDir, 'results-gpu.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeAtomic(path.join(outDir, 'RESULTS-gpu.md'), markdown());
}
