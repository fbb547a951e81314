// Execution-provider selection. `auto` keeps forwards too small for a GPU on CPU (providerChoice.ts), else
// tries CUDA, then torch (when a Python's PyTorch sees a CUDA device), then WebGPU, then CPU and records why each
// was skipped;
// an explicit choice that cannot start fails loudly. The cheap CUDA check (is the provider library there?)
// avoids ORT's noisy native error; WebGPU is attempted with a time limit because adapter discovery can hang.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ProviderAttempt, ProviderChoice, ProviderName, ProviderReport, TorchDtype } from '../../../common/protocol';
import { SeerError } from '../errors';
import { type Carry, ForwardWorker } from './forwardWorker';
import { chooseProvider, type ForwardShape, formatParameters, GPU_WORK_THRESHOLD, gpuWork } from './providerChoice';
import { findTorchPython, TORCH_FIX, TorchSession } from './torchSession';
import { pythonCandidates } from '../importer';

/** A session as the engine uses it; it runs in a worker thread (forwardWorker.ts) so that a long forward
 * does not hold the engine's thread (progress, cancel and other requests stay live). */
export interface ForwardSession extends Pick<ort.InferenceSession, 'release' | 'inputMetadata' | 'outputMetadata' | 'inputNames' | 'outputNames'> {
  /** `carry`: outputs kept in the session for the next run of the same sequence (a KV cache; forwardWorker.ts). */
  run(feeds: Record<string, ort.Tensor>, fetches: readonly string[], carry?: Carry): Promise<Record<string, ort.Tensor>>;
  /** Drops what runs kept under `id` (absent: the session keeps nothing). */
  forget?(id: number): Promise<void>;
  /** The session cannot keep a sequence's KV cache (the torch provider): sequences rerun their whole prefix. */
  readonly noCarry?: boolean;
  /**
   * The session takes token_prototypes, readout_prototypes, map_vectors, map_layer and top_k and returns
   * token_cosines, readout_cosines, map_cosines, top_ids, top_logits and log_sum_exp (ModelSession's reductions,
   * computed where the states are: the torch provider, whose outputs cross a pipe).
   */
  readonly reduces?: boolean;
}
export type { Carry };

/** torch after ORT's CUDA (in-process) and before WebGPU (float32 shaders: 4.8–43× slower than PyTorch bf16 on an H200). */
export const AUTO_ORDER: ProviderName[] = ['cuda', 'torch', 'webgpu', 'cpu'];
/** Providers that failed to start in this process: `auto` does not pay for probing them again (e.g. on reload). */
const failedEarlier = new Map<ProviderName, string>();
const WEBGPU_TIMEOUT_MS = 15_000;

export interface SessionSettings {
  intraOpThreads?: number;
  /** The folder onnxruntime reads the model's (checked) external data from; without it, a model given as bytes would resolve it against the working folder. */
  externalDataFolder?: string;
  /** What `auto` weighs (providerChoice.ts): CPU for forwards too small to earn back a GPU's fixed cost. */
  autoShape?: ForwardShape;
  /** The torch provider's bundle folder (it reads the weights itself), Python and compute type. */
  torch?: { bundleDir?: string; python?: string; dtype?: TorchDtype; onLog?: (line: string) => void };
}

export interface OpenedSession {
  session: ForwardSession;
  provider: ProviderName;
  report: ProviderReport;
}

/**
 * Models below this size never make `auto` start Python: probing PyTorch and starting it take 1–5 s (measured
 * here: 2–5 s for the default model's engine start with Debian's torch), more than such a model's whole load.
 */
export const TORCH_AUTO_MIN_PARAMETERS = 1e8;

/**
 * Why `auto` does not try the torch provider, or null when it should: only for models large enough that starting
 * Python is a small part of their load, and only when that Python's PyTorch sees a CUDA device (probeTorch, one
 * short Python start, made only then).
 */
async function torchForAuto(settings: SessionSettings): Promise<{ skip: string } | { skip: null; python: string }> {
  const shape = settings.autoShape;
  if (!shape || shape.parameters < TORCH_AUTO_MIN_PARAMETERS || gpuWork(shape) < GPU_WORK_THRESHOLD) {
    return { skip: `used by auto only for models of ${formatParameters(TORCH_AUTO_MIN_PARAMETERS)} parameters or more (starting Python and PyTorch takes seconds)` };
  }
  if (!settings.torch?.bundleDir) return { skip: 'no bundle folder to read the weights from' };
  const probe = await findTorchPython(settings.torch.python);
  if (!probe.ok) return { skip: `${probe.problem} (seer doctor says how to install it)` };
  if (!probe.cuda) return { skip: `PyTorch ${probe.torchVersion} in ${probe.python} sees no CUDA device` };
  return { skip: null, python: probe.python };
}

/** Opens `model` (bytes) on the requested provider(s); `file` is only used in messages. */
export async function openWithProvider(model: Uint8Array, file: string, choice: ProviderChoice, settings: SessionSettings): Promise<OpenedSession> {
  const torchAuto = choice === 'auto' && !failedEarlier.has('torch') ? await torchForAuto(settings) : null;
  if (torchAuto && torchAuto.skip === null) settings = { ...settings, torch: { ...settings.torch, python: torchAuto.python } };
  const unavailable = (p: ProviderName) => (p === 'torch' && choice === 'auto' ? torchAuto?.skip ?? null : unavailableReason(p));
  const pick = choice === 'auto' && settings.autoShape
    ? chooseProvider(AUTO_ORDER.filter((p) => !unavailable(p) && !failedEarlier.has(p)), settings.autoShape) : null;
  const order = choice === 'auto' ? AUTO_ORDER : [choice];
  const attempts: ProviderAttempt[] = [];
  for (const provider of order) {
    const skip = unavailable(provider) ?? (choice === 'auto' && failedEarlier.has(provider) ? `${failedEarlier.get(provider)} (earlier in this process)` : null)
      ?? (pick?.provider === 'cpu' && provider !== 'cpu' ? 'expected to be slower than CPU for this model at this size' : null);
    if (skip) {
      attempts.push({ provider, ok: false, reason: skip });
      continue;
    }
    try {
      const session = await createSession(model, provider, settings);
      attempts.push({ provider, ok: true });
      const torch = session instanceof TorchSession ? { torch: session.runtime } : {};
      return { session, provider, report: { used: provider, requested: choice, attempts, ...(pick?.provider === provider ? { reason: pick.reason } : {}), ...torch } };
    } catch (err) {
      // CPU always starts when onnxruntime-node is installed, so a CPU failure means the model is bad.
      if (provider === 'cpu' || MODEL_ERROR.test(String(err))) throw invalidModel(file, err);
      attempts.push({ provider, ok: false, reason: firstLine(err) });
      failedEarlier.set(provider, firstLine(err));
    }
  }
  const why = attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ');
  throw new SeerError('PROVIDER_UNAVAILABLE', `The ${choice === 'auto' ? 'execution providers' : `${choice} execution provider`} could not start for ${file} (${why}).`, {
    file,
    fix: choice === 'auto'
      ? 'Check that onnxruntime-node is installed (`npm ci`).'
      : choice === 'torch'
        ? { cli: `${TORCH_FIX.cli} Or use --provider auto.`, editor: `${TORCH_FIX.editor} Or set seer.executionProvider to "auto".` }
        : { cli: 'Use --provider auto or --provider cpu.', editor: 'Set seer.executionProvider to "auto" or "cpu".' },
  });
}

const MODEL_ERROR = /protobuf parsing failed|model data pointer is null|INVALID_GRAPH|INVALID_PROTOBUF|NOT_IMPLEMENTED|opset/i;

export function invalidModel(file: string, err: unknown): SeerError {
  return new SeerError('MODEL_INVALID', `${file} is not a usable ONNX model: ${firstLine(err)}`, {
    file,
    fix: 'The file is truncated, damaged or not ONNX: rebuild the bundle with `npm run build:model` or restore model.onnx.',
    cause: err,
  });
}

export async function createSession(model: Uint8Array, provider: ProviderName, settings: SessionSettings): Promise<ForwardSession> {
  if (provider === 'torch') {
    if (!settings.torch?.bundleDir) throw new Error('the torch provider needs the bundle folder'); // a bug: ModelSession.open passes it
    // No Python named and several on this machine: the one with PyTorch (and CUDA), as auto chooses (findTorchPython).
    const python = settings.torch.python || (pythonCandidates().length > 1 ? (await findTorchPython()).python : undefined);
    return TorchSession.open({ ...settings.torch, python, bundleDir: settings.torch.bundleDir });
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    ...(settings.intraOpThreads ? { intraOpNumThreads: settings.intraOpThreads } : {}),
    ...(settings.externalDataFolder ? { extra: { session: { model_external_initializers_file_folder_path: settings.externalDataFolder } } } : {}),
  };
  const creating = ForwardWorker.open(model, options);
  const session = provider === 'webgpu' ? await withTimeout(creating, WEBGPU_TIMEOUT_MS, 'WebGPU adapter discovery') : await creating;
  return session;
}

/** Why a provider cannot be used without trying it, or null when it is worth a try. */
export function unavailableReason(provider: ProviderName): string | null {
  if (provider === 'cuda') {
    if (process.platform !== 'linux' && process.platform !== 'win32') return `CUDA is not supported on ${process.platform}`;
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    const dir = ortBinaryDir();
    if (!existsSync(path.join(dir, lib))) return `${lib} is not in ${dir}: this onnxruntime-node install has no CUDA provider (it is downloaded by onnxruntime-node's install script with network access; run seer doctor for the fix)`;
  }
  if (provider === 'webgpu' && process.platform === 'linux' && findSharedLibrary('libvulkan.so.1') === null) {
    return 'libvulkan.so.1 was not found: WebGPU on Linux runs on Vulkan (install a GPU driver with Vulkan support, e.g. mesa-vulkan-drivers; `seer doctor` lists what is missing)';
  }
  return null;
}

/** The standard library folders of the dynamic loader (after LD_LIBRARY_PATH), as absolute paths. */
export function libraryDirs(arch: string = process.arch): string[] {
  const triplet = arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  return [`/usr/lib/${triplet}`, `/lib/${triplet}`, '/usr/lib64', '/usr/lib', '/lib64', '/lib'];
}

/**
 * Where the dynamic loader would find `name` (e.g. libvulkan.so.1), or null: LD_LIBRARY_PATH, then the
 * standard folders, looked up under `root` (the doctor's tests pass a fake root; '/' is the system).
 */
export function findSharedLibrary(name: string, root = '/', ldLibraryPath = process.env.LD_LIBRARY_PATH ?? '', arch: string = process.arch): string | null {
  const dirs = [...ldLibraryPath.split(':').filter(Boolean), ...libraryDirs(arch)];
  for (const dir of dirs) {
    const file = path.join(root, dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** onnxruntime-node's native binaries (its install script writes the CUDA provider here too). */
export function ortBinaryDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

function withTimeout<T extends { release(): Promise<void> }>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${what} did not finish within ${ms / 1000} s`));
      p.then((late) => late.release(), () => undefined); // a session that arrives late is not leaked
    }, ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // ORT prefixes messages with a C++ source location and failed check; keep the human part.
  const line = (text.split('\n').find((l) => l.trim()) ?? text).trim();
  const check = line.indexOf(' was false. ');
  return check >= 0 ? line.slice(check + ' was false. '.length) : line.replace(/^\S+\.(cc|cpp|h):\d+ /, '');
}
