// `npm run bench:host` (issue 10): the engine's own work per explain — tokenizing, the torch provider's pipe both
// ways, building results — measured without a GPU: the torch provider's Python side is replaced by a stand-in that
// answers at once with outputs of the right shapes (bench/standin-forward; numpy only) and reports a GPU, so the
// engine batches as it would on one. A GPU run's explain is about this plus the forward (bench/gpu.mjs measures
// that). Bundles: the committed default and a random-weight model with Llama-3.2-1B's hidden size and depth
// (bench/gpu_checkpoint.py's llama-3.2-1b-thin, imported once into bench/tmp/host-work/: its states are a 1B's,
// its forward is cheap). Writes bench/results-host-work.json and bench/RESULTS-host-work.md.
// Options: --bundles LIST (default: models/default and the 1B-thin shape), --tokens 128,512, --batches 1,32,
//          --runs N (30), --warm N (5), --out DIR (default bench/).
// Environment: SEER_PYTHON, a Python with numpy (the stand-in) and, to import the 1B-thin shape, torch, onnx and
// jinja2 (default: /usr/bin/python3, else python3).
import { existsSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, TMP, bundleBenchScripts, requireBuild, runCommand, writeCalibrationCsv, writeResults } from './common.mjs';

const { values } = parseArgs({
  options: {
    bundles: { type: 'string' },
    tokens: { type: 'string', default: '128,512' },
    batches: { type: 'string', default: '1,32' },
    runs: { type: 'string', default: '30' },
    warm: { type: 'string', default: '5' },
    out: { type: 'string', default: path.join(ROOT, 'bench') },
  },
});
const fail = (message) => {
  console.error(`bench:host: ${message}`);
  process.exit(1);
};
const run = (cmd, args, env = process.env) => runCommand(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
const python = [process.env.SEER_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean).find((p) => run(p, ['-c', 'import numpy']).ok);
if (!python) fail('no Python with numpy: install python3-numpy (the stand-in forward needs it), or set SEER_PYTHON.');
const work = path.join(TMP, 'host-work');
const THIN = 'llama-3.2-1b-thin';

/** The 1B-thin shape, imported once (a random checkpoint of 31M parameters; the import takes a minute or two). */
function thinBundle() {
  const out = path.join(work, THIN);
  if (existsSync(path.join(out, 'seer.json'))) return out;
  requireBuild();
  if (!run(python, ['-c', 'import torch, onnx, jinja2']).ok) fail(`${python} cannot import torch, onnx and jinja2 to import the ${THIN} shape: apt-get install python3-torch python3-onnx python3-jinja2, or pass --bundles.`);
  mkdirSync(work, { recursive: true });
  const checkpoint = path.join(work, `${THIN}-hf`);
  console.log(`${THIN}: writing a random checkpoint and importing it (once)…`);
  const made = run(python, [path.join(ROOT, 'bench', 'gpu_checkpoint.py'), checkpoint, '--shape', THIN, '--tokenizer-bundle', path.join(ROOT, 'models', 'default')]);
  if (!made.ok) fail(`bench/gpu_checkpoint.py failed: ${made.why}`);
  const imported = run(process.execPath, [path.join(ROOT, 'bin', 'seer.js'), 'import', checkpoint, '--out', out, '--force', '--python', python,
    '--calibrate', writeCalibrationCsv(path.join(work, 'calibration.csv')), '--label', 'label']);
  if (!imported.ok) fail(`seer import failed: ${imported.why}`);
  return out;
}

const bundles = values.bundles ? values.bundles.split(',').map((b) => path.resolve(b)) : [path.join(ROOT, 'models', 'default'), thinBundle()];
for (const b of bundles) if (!existsSync(path.join(b, 'seer.json'))) fail(`no SEER bundle at ${b}`);
await bundleBenchScripts({ 'host-work': path.join(ROOT, 'bench', 'hostWork.ts') });
const measured = bundles.map((bundle) => {
  console.log(`measuring ${path.relative(ROOT, bundle) || bundle}…`);
  const r = run(process.execPath, [path.join(TMP, 'host-work.js'), bundle, python,
    '--tokens', values.tokens, '--batches', values.batches, '--runs', values.runs, '--warm', values.warm],
  { ...process.env, SEER_TORCH_FORWARD_DIR: path.join(ROOT, 'bench', 'standin-forward') });
  if (!r.ok) fail(`measuring ${bundle} failed: ${r.why}`);
  return JSON.parse(r.stdout);
});

const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, loadAverage: Math.round(os.loadavg()[0] * 100) / 100 };
const json = { date: new Date().toISOString(), machine, runs: Number(values.runs), models: measured };
mkdirSync(values.out, { recursive: true });
writeResults('results-host-work.json', `${JSON.stringify(json, null, 1)}\n`, values.out);
const lines = [
  `Measured by \`npm run bench:host\` on ${json.date.slice(0, 16)} UTC (${machine.cores} × ${machine.cpu}, Node ${machine.node}, load average ${machine.loadAverage} at the end): the engine's own work`,
  'per explainBatch with the torch provider\'s forward replaced by a stand-in that answers at once (bench/standin-forward),',
  'p50 of ' + values.runs + ' runs after ' + values.warm + ' warm-up runs. Wall: explainBatch\'s time, the stand-in\'s included (its reply is',
  'immediate; its process runs on another core when there is one). CPU: the engine process\'s own CPU time in that call (its threads and',
  'the pipe\'s system calls). A GPU run adds the forward: bench/RESULTS-gpu.md.',
  '',
  '| model | layers × hidden | tokens × batch | wall ms | CPU ms | wall ms per prompt |',
  '|---|---|---|---:|---:|---:|',
  ...measured.flatMap((m) => m.rows.map((r) => `| ${m.name} | ${m.architecture.numLayers + 1} × ${m.architecture.hiddenSize} | ${r.tokens} × ${r.batch} | ${r.engineMs} | ${r.engineCpuMs} | ${r.perPromptMs} |`)),
  '',
];
writeResults('RESULTS-host-work.md', lines.join('\n'), values.out);
