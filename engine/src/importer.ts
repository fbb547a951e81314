// Running the import of a Hugging Face checkpoint: the one implementation the `seer import` command and the
// VS Code command share. The import itself is the trainer's (`python -m seer_trainer import`, which builds the
// ONNX graph from the safetensors with PyTorch, without transformers); this module checks the checkpoint folder
// and the Python, runs the trainer with its output line by line, cancels it, and turns its failures into
// SeerErrors worded for the terminal and the editor.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { SeerError } from './errors';

export type ImportDtype = 'fp32' | 'fp16';
/** graph: the trainer's own graph writer (its families, no transformers); transformers: any causal LM transformers loads. */
export type ImportVia = 'graph' | 'transformers';

export interface ImportOptions {
  /** The Hugging Face checkpoint folder. */
  checkpoint: string;
  /** The bundle folder to create (the trainer writes beside it and renames at the end). */
  out: string;
  /** Replace an existing bundle (the trainer replaces only a bundle or an empty folder). */
  force?: boolean;
  /** The weights' type in the bundle; undefined: the trainer's default (fp32). */
  dtype?: ImportDtype;
  /** How the graph is built; undefined: the trainer's default (graph). */
  via?: ImportVia;
  /** The Python that runs the trainer; undefined or empty: the first of pythonCandidates() that has its packages (importPython). */
  python?: string;
  /** The folder holding the `seer_trainer` package; default: trainer/ of this installation. */
  trainerDir?: string;
  /** Aborting stops the trainer (SIGTERM; it removes its temporary folder) and rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Each line the trainer prints, as it prints it (its `error:` message excepted: that becomes the SeerError). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ImportResult {
  /** The new bundle folder, absolute. */
  bundleDir: string;
  /** The Python that ran the trainer. */
  python: string;
}

/** What the trainer imports: Debian's packages (the trainer is tested with Debian's torch 1.13). */
const REQUIRED_MODULES = ['torch', 'onnx', 'jinja2'];
/** Debian's Python, with which the trainer is tested (apt's python3-torch installs there). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const PROBE_TIMEOUT_MS = 120_000;

const PYTHON_FIX = {
  cli: 'Install them (Debian: sudo apt install python3-torch python3-onnx python3-jinja2; else pip install torch onnx jinja2), or name a Python that has them with --python PATH or SEER_PYTHON.',
  editor: 'Install them (Debian: sudo apt install python3-torch python3-onnx python3-jinja2; else pip install torch onnx jinja2), or set seer.pythonPath to a Python that has them.',
};

/** The Python used when none is named: $SEER_PYTHON, else Debian's /usr/bin/python3 where it exists, else python3 on PATH. */
export function defaultPython(env: NodeJS.ProcessEnv = process.env): string {
  return pythonCandidates(env)[0];
}

/**
 * The Pythons to try, in order, when none is named: $SEER_PYTHON alone when set; else Debian's /usr/bin/python3
 * where it exists and the python3 found first on PATH (a venv's or conda's, where pip's PyTorch usually is), when
 * that is another file.
 */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SEER_PYTHON) return [env.SEER_PYTHON];
  const name = process.platform === 'win32' ? 'python' : 'python3';
  const onPath = (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name)).find((file) => existsSync(file));
  const candidates = existsSync(DEBIAN_PYTHON) ? [DEBIAN_PYTHON] : [];
  if (!onPath) return candidates.length ? candidates : [name];
  if (!candidates.some((c) => sameFile(c, onPath))) candidates.push(onPath);
  return candidates;
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/** <package root>/trainer: the nearest folder above this file holding trainer/seer_trainer (the package root above
 * dist/, where this file is bundled into dist/*.js; the repository root when run from source, as in the tests). */
export function defaultTrainerDir(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'trainer', 'seer_trainer'))) return path.join(dir, 'trainer');
  }
  return path.resolve(__dirname, '..', 'trainer');
}

/**
 * Why `dir` is not a checkpoint folder the import can read, or undefined when it has what every import needs:
 * config.json, the weights as *.safetensors, and tokenizer.json. A quick check before starting Python; the
 * trainer checks the rest (the architecture, the shards an index names, tokenizer_config.json, …).
 */
export async function checkpointFolderProblem(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    if (!(await fs.stat(dir)).isDirectory()) return `${dir} is a file; choose the checkpoint folder that holds it.`;
    names = await fs.readdir(dir);
  } catch {
    return `${dir} does not exist or cannot be read.`;
  }
  const missing: string[] = [];
  if (!names.includes('config.json')) missing.push('config.json');
  if (!names.some((n) => n.endsWith('.safetensors'))) missing.push('the weights (*.safetensors, e.g. model.safetensors)');
  if (!names.includes('tokenizer.json')) {
    const slow = ['tokenizer.model', 'vocab.json', 'spiece.model'].filter((n) => names.includes(n));
    missing.push(slow.length ? `tokenizer.json (it has only ${slow.join(', ')}, a slow tokenizer; save it once with transformers' AutoTokenizer to get tokenizer.json)` : 'tokenizer.json');
  }
  if (missing.length === 0) return undefined;
  return `${dir} is not a Hugging Face checkpoint folder: it lacks ${missing.join(', ')}.`;
}

/** Imports `opts.checkpoint` as the bundle `opts.out`; rejects with a SeerError (CANCELLED once aborted). */
export async function importCheckpoint(opts: ImportOptions): Promise<ImportResult> {
  const checkpoint = path.resolve(opts.checkpoint);
  const bundleDir = path.resolve(opts.out);
  const problem = await checkpointFolderProblem(checkpoint);
  if (problem) {
    throw new SeerError('BAD_INPUT', problem, {
      file: checkpoint,
      fix: 'Pass the folder a Hugging Face model was downloaded or saved to (config.json, model.safetensors or model-*.safetensors with model.safetensors.index.json, tokenizer.json, tokenizer_config.json).',
    });
  }
  const trainerDir = opts.trainerDir ?? defaultTrainerDir();
  checkTrainer(trainerDir);
  const named = opts.python?.trim();
  const python = named ? (await checkPython(named, opts.signal), named) : await importPython(opts.signal);
  const args = ['import', checkpoint, '--out', bundleDir, ...(opts.force ? ['--force'] : []), ...(opts.dtype ? ['--dtype', opts.dtype] : []), ...(opts.via ? ['--via', opts.via] : [])];
  await runTrainer(python, trainerDir, args, opts);
  return { bundleDir, python };
}

function checkTrainer(trainerDir: string): void {
  if (existsSync(path.join(trainerDir, 'seer_trainer', 'hf_import.py'))) return;
  throw new SeerError('FILE_NOT_FOUND', `This installation has no trainer (no ${path.join(trainerDir, 'seer_trainer')}), which runs the import.`, {
    file: trainerDir,
    fix: {
      cli: 'Run seer import from a checkout of the seer-vscode repository (git clone, npm ci).',
      editor: 'Reinstall the SEER extension (its package ships the trainer), or run seer import from a checkout of the repository.',
    },
  });
}

/** Starts `python args…`; the child is sent SIGTERM when `signal` aborts. */
function runPython(python: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal | undefined) {
  return spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGTERM' });
}

/**
 * No Python named: the first of `candidates` (pythonCandidates: Debian's, then the one on PATH) that has what the
 * import needs, as the torch provider chooses (findTorchPython); when none has, the first one's problem.
 */
export async function importPython(signal?: AbortSignal, candidates: string[] = pythonCandidates()): Promise<string> {
  let first: unknown;
  for (const python of candidates) {
    try {
      await checkPython(python, signal);
      return python;
    } catch (err) {
      if (signal?.aborted) throw err;
      first ??= err;
    }
  }
  throw first;
}

/** Fails with the modules `python` lacks (or why it does not run), before the trainer starts. */
async function checkPython(python: string, signal: AbortSignal | undefined): Promise<void> {
  const probe = `missing = []\nfor m in ${JSON.stringify(REQUIRED_MODULES)}:\n    try:\n        __import__(m)\n    except Exception:\n        missing.append(m)\nprint(" ".join(missing))`;
  const child = runPython(python, ['-c', probe], process.env, signal);
  // spawn's own `timeout` would keep the event loop alive for its length when the program does not exist
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, PROBE_TIMEOUT_MS);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.resume();
  const { code, error } = await exited(child).finally(() => clearTimeout(timer));
  if (signal?.aborted) throw cancelled();
  if (error || code !== 0) {
    const why = error
      ? ((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : error.message)
      : timedOut ? `importing ${REQUIRED_MODULES.join(', ')} took over ${PROBE_TIMEOUT_MS / 1000} s` : `exited with code ${code}`;
    throw new SeerError('INVALID_ARGUMENT', `Cannot run Python "${python}": ${why}.`, { fix: PYTHON_FIX });
  }
  const missing = stdout.trim().split(/\s+/).filter(Boolean);
  if (missing.length > 0) {
    throw new SeerError('INVALID_ARGUMENT', `${python} cannot import ${missing.join(', ')}, which the import needs (it exports the model with PyTorch).`, { fix: PYTHON_FIX });
  }
}

/** The environment `python -m seer_trainer` runs in (the import, the torch provider): the trainer importable. */
export function trainerEnv(trainerDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    PYTHONPATH: [trainerDir, env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONDONTWRITEBYTECODE: '1', // the installed extension's folder may be read-only, and stays as installed
  };
}

/**
 * Runs `python -m seer_trainer ARGS`, passing each output line to `onLine`, except the trainer's `error: …`
 * message (exit code 2: bad input), which becomes the SeerError.
 */
async function runTrainer(python: string, trainerDir: string, args: string[], opts: ImportOptions): Promise<void> {
  const env = trainerEnv(trainerDir);
  // SIGTERM on abort: the trainer turns it into KeyboardInterrupt and removes its temporary folder (cli.py).
  const child = runPython(python, ['-u', '-m', 'seer_trainer', ...args], env, opts.signal);
  let errorLines: string[] | undefined; // the trainer's error message: from its `error: ` line to the end
  let lastStderr = '';
  const onLine = opts.onLine ?? (() => undefined);
  forEachLine(child.stdout, (line) => onLine(line, 'stdout'));
  forEachLine(child.stderr, (line) => {
    if (!errorLines && line.startsWith('error: ')) errorLines = [line.slice('error: '.length)];
    else if (errorLines) errorLines.push(line);
    else {
      if (line.trim()) lastStderr = line.trim();
      onLine(line, 'stderr');
    }
  });
  const { code, signal, error } = await exited(child);
  if (code === 0) return; // complete, even if the abort came too late to stop it
  if (opts.signal?.aborted || code === 130 || signal === 'SIGINT') throw cancelled();
  if (error) throw new SeerError('INVALID_ARGUMENT', `Cannot run Python "${python}": ${error.message}.`, { fix: PYTHON_FIX });
  const message = errorLines?.join('\n').trim() ?? '';
  if (code === 2 && message) {
    throw new SeerError('BAD_INPUT', message, { fix: 'Nothing was written. docs/trainer.md ("import") lists the checkpoints it reads.' });
  }
  if (errorLines) onLine(`error: ${errorLines.join('\n')}`, 'stderr'); // an unexpected failure: pass on all it said
  const how = signal === 'SIGKILL' ? 'was killed (SIGKILL: most likely out of memory)' : `failed (${signal ?? `exit code ${code}`})`;
  throw new SeerError('INTERNAL', `The import ${how}${lastStderr && !signal ? `: ${lastStderr}` : ''}. Nothing was written.`, {
    fix: {
      cli: "The trainer's output is above. If it is a bug, please report it with the checkpoint's config.json.",
      editor: "The trainer's output is in SEER's output (SEER: Show SEER Output). If it is a bug, please report it with the checkpoint's config.json.",
    },
  });
}

function cancelled(): SeerError {
  return new SeerError('CANCELLED', 'The import was cancelled; nothing was written.');
}

/** Calls `take` with each whole line of `stream` (the last one too, at its end). */
export function forEachLine(stream: NodeJS.ReadableStream, take: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop()!;
    lines.forEach(take);
  });
  stream.on('end', () => {
    if (pending) take(pending);
    pending = '';
  });
}

/** How the child ended, after its output is read to the end ('close'); an abort counts as an ending, not an error. */
function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  return new Promise((resolve) => {
    let error: Error | undefined;
    child.on('error', (e) => {
      if (e.name !== 'AbortError') error = e;
      if (child.pid === undefined) resolve({ code: null, signal: null, error }); // never started: no 'close'
    });
    child.on('close', (code, signal) => resolve({ code, signal, error }));
  });
}
