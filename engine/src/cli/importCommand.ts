// `seer import HF_DIR --out BUNDLE`: runs the project's trainer (`python -m seer_trainer import`, which builds
// the ONNX graph from the safetensors with PyTorch, without transformers), then loads the new bundle with
// the engine to check it. The trainer is the one implementation of the import; this command finds Python,
// streams the trainer's output and turns its failures into SeerErrors.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { type Command, parseCommandArgs } from './shared';

const USAGE = `seer import HF_DIR --out BUNDLE [options]
  HF_DIR                Hugging Face checkpoint folder: config.json, model.safetensors (or sharded
                        model-*.safetensors + model.safetensors.index.json), tokenizer.json, tokenizer_config.json
  --out BUNDLE          the SEER bundle folder to create (written beside it, renamed at the end)
  --force               replace an existing BUNDLE (refused otherwise)
  --python PATH         the Python that runs the trainer; needs torch, onnx and jinja2
                        (default: $SEER_PYTHON, else /usr/bin/python3)`;

/** What the trainer imports: Debian's packages (the trainer is tested with Debian's torch 1.13). */
const REQUIRED_MODULES = ['torch', 'onnx', 'jinja2'];
const DEFAULT_PYTHON = '/usr/bin/python3';

export const importCommand: Command = {
  name: 'import',
  summary: 'turn a Hugging Face checkpoint folder (e.g. Llama 3.x) into a SEER bundle, without transformers',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, force: { type: 'boolean', default: false }, python: { type: 'string' } },
      USAGE,
    );
    if (positionals.length !== 1 || !values.out) {
      throw new SeerError('INVALID_ARGUMENT', 'seer import needs one checkpoint folder and --out BUNDLE.', { fix: `Usage:\n${USAGE}` });
    }
    const trainerDir = trainerRoot();
    const python = values.python ?? process.env.SEER_PYTHON ?? DEFAULT_PYTHON;
    checkPython(python);
    const out = path.resolve(values.out);
    await runTrainer(python, trainerDir, ['import', path.resolve(positionals[0]), '--out', out, ...(values.force ? ['--force'] : [])]);
    await checkAndSummarize(out);
    return 0;
  },
};

/** <package root>/trainer: the package root is the folder above dist/ (this file is bundled into dist/cli.js). */
function trainerRoot(): string {
  const dir = path.resolve(__dirname, '..', 'trainer');
  if (!existsSync(path.join(dir, 'seer_trainer', 'hf_import.py'))) {
    throw new SeerError('FILE_NOT_FOUND', `The trainer is not part of this installation (no ${path.join(dir, 'seer_trainer')}).`, {
      file: dir,
      fix: 'Run seer import from a checkout of the seer-vscode repository (git clone, npm ci); the installed extension ships without the trainer.',
    });
  }
  return dir;
}

/** Fails with the modules `python` lacks (or that it does not run), before the trainer starts. */
function checkPython(python: string): void {
  const probe = `import sys\nmissing = []\nfor m in ${JSON.stringify(REQUIRED_MODULES)}:\n    try:\n        __import__(m)\n    except Exception:\n        missing.append(m)\nprint(" ".join(missing))`;
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 120_000 });
  const fix = `Install Debian's packages (sudo apt install python3-torch python3-onnx python3-jinja2), or name a Python that has them with --python PATH or SEER_PYTHON.`;
  if (r.error || r.status !== 0) {
    const why = r.error ? (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message : `exited with code ${r.status}`;
    throw new SeerError('INVALID_ARGUMENT', `Cannot run Python "${python}": ${why}.`, { fix });
  }
  const missing = r.stdout.trim().split(/\s+/).filter(Boolean);
  if (missing.length > 0) {
    throw new SeerError('INVALID_ARGUMENT', `${python} cannot import ${missing.join(', ')}, which the import needs (it exports the model with PyTorch).`, { fix });
  }
}

/**
 * Runs `python -m seer_trainer ARGS` with its stdout on ours; stderr is passed on too, except the trainer's
 * `error: …` message (exit code 2: bad input), which becomes the SeerError the CLI prints once.
 */
function runTrainer(python: string, trainerDir: string, args: string[]): Promise<void> {
  const child = spawn(python, ['-u', '-m', 'seer_trainer', ...args], {
    env: { ...process.env, PYTHONPATH: [trainerDir, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  // Ctrl-C reaches the trainer too (same process group): wait for it to remove its temporary folder.
  const ignoreInterrupt = () => undefined;
  process.on('SIGINT', ignoreInterrupt);
  let pending = ''; // stderr is passed on by whole lines, to find the `error:` line
  let errorLines: string[] | undefined; // the trainer's error message: from its `error: ` line to the end
  const take = (line: string) => {
    if (!errorLines && line.startsWith('error: ')) errorLines = [line.slice('error: '.length)];
    else if (errorLines) errorLines.push(line);
    else process.stderr.write(`${line}\n`);
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    lines.forEach(take);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new SeerError('INVALID_ARGUMENT', `Cannot run Python "${python}": ${err.message}.`)));
    child.on('close', (code, signal) => {
      process.off('SIGINT', ignoreInterrupt);
      if (pending) take(pending);
      if (code === 0) return resolve();
      const message = errorLines?.join('\n').trim() ?? '';
      if (code === 2 && message) {
        return reject(new SeerError('BAD_INPUT', message, { fix: 'Nothing was written. See docs/trainer.md ("import") for the checkpoints it reads.' }));
      }
      if (code === 130 || signal === 'SIGINT') return reject(new SeerError('CANCELLED', 'The import was interrupted; nothing was written.'));
      if (errorLines) process.stderr.write(`error: ${errorLines.join('\n')}\n`); // an unexpected failure: show all it said
      reject(new SeerError('INTERNAL', `The trainer failed (${signal ?? `exit code ${code}`}); its output is above.`, {
        fix: 'This is a bug in the import; please report it with the checkpoint\'s config.json.',
      }));
    });
  });
}

/** Loads the new bundle on the CPU (as every command would) and says what it holds and what to do next. */
async function checkAndSummarize(out: string): Promise<void> {
  const engine = await Engine.load({ bundleDir: out, provider: 'cpu' });
  try {
    const b = engine.info.bundle;
    const a = b.architecture;
    const lines = [
      `checked: the engine loads ${out}`,
      `  architecture     ${a.type}: ${a.numLayers} layers, hidden ${a.hiddenSize}, ${a.numHeads} heads, vocabulary ${a.vocabSize}, context ${a.maxContext}`,
      `  target layer     ${b.targetLayers.join(', ')} of ${a.numLayers} (representation: ${b.representation} token)`,
      `  prompt template  ${JSON.stringify(b.promptTemplate)}`,
      b.banks.length > 0
        ? `  concept banks    ${b.banks.join(', ')}`
        : `no concept bank yet: run seer calibrate DATA --label COLUMN --bundle ${out} --bank-name ${b.defaultBank}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await engine.dispose();
  }
}
