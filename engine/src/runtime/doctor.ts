// `seer doctor`: per execution provider, which system pieces are present, which are missing and the exact
// fix, then whether the provider really starts. The checks read a filesystem root and an `ldd` runner (a
// `SystemView`) so tests can fake both; the CUDA provider's own checks (its folder, version, ldd) live in
// cudaSetup.ts. The start probes run `seer info` in a child process so that Dawn's and ORT's native warnings
// land in the report instead of on the user's terminal. The torch provider's checks are its Python's own
// report (`python -m seer_trainer serve-forward --probe`, torchSession.ts), also behind the SystemView.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ProviderName } from '../../../common/protocol';
import { CUDA_LIBS_ENV, CUDA_PROVIDER_FILES, CUDA_PROVIDER_INSTALL, cudaFolderChecks, cudaLibsEnv, linkedLibraryChecks, ortNodeVersion, runLdd } from './cudaSetup';
import { findSharedLibrary, ortBinaryDir, unavailableReason } from './providers';
import { findTorchPython, type TorchProbe } from './torchSession';

export interface DoctorCheck {
  /** What is needed, e.g. "Vulkan loader (libvulkan.so.1)". */
  what: string;
  ok: boolean;
  /** Where it was found, or why it is missing. */
  detail: string;
  /** How to get it (only when missing). */
  fix?: string;
}

export interface ProviderStart {
  ok: boolean;
  /** Not tried because a required piece is missing (`reason` says which). */
  skipped?: boolean;
  reason?: string;
  /** Native output (Dawn, ORT) captured while starting: kept here, not printed on the terminal. */
  nativeLog?: string[];
}

export interface ProviderDiagnosis {
  provider: ProviderName;
  checks: DoctorCheck[];
  start?: ProviderStart;
}

export interface DoctorReport {
  platform: string;
  onnxruntimeNode: string;
  providers: ProviderDiagnosis[];
}

/** The system as the checks see it: '/' and the real `ldd` in production, a temporary folder in tests. */
export interface SystemView {
  root: string;
  platform: NodeJS.Platform;
  arch: string;
  ldLibraryPath: string;
  /** onnxruntime-node's native folder (a real path, not under `root`). */
  ortBinaryDir: string;
  /** The output of `ldd file`; rejects when ldd cannot run. */
  ldd(file: string): Promise<string>;
  /** The CUDA libraries folder the engine is told to use (--cuda-libs, seer.cudaLibraryPath, SEER_CUDA_LIBS), if any. */
  cudaLibs?: string;
  /** What the torch provider's Python can run on (probeTorch in production); never rejects. */
  torch(): Promise<TorchProbe>;
}

/** `python`: the Python whose PyTorch the torch checks probe (default: the one the torch provider would find, findTorchPython). */
export function systemView(opts: { python?: string } = {}): SystemView {
  const cudaLibs = process.env[CUDA_LIBS_ENV] || undefined;
  const python = opts.python?.trim() || undefined;
  return {
    root: '/',
    platform: process.platform,
    arch: process.arch,
    ldLibraryPath: process.env.LD_LIBRARY_PATH ?? '',
    ortBinaryDir: ortBinaryDir(),
    // With a CUDA libraries folder, ldd sees the LD_LIBRARY_PATH the engine runs with.
    ldd: (file) => runLdd(file, cudaLibs ? cudaLibsEnv(cudaLibs) : process.env),
    ...(cudaLibs ? { cudaLibs } : {}),
    torch: () => findTorchPython(python),
  };
}

const apt = (...packages: string[]): string => `sudo apt-get install ${packages.join(' ')}`;

function library(view: SystemView, name: string, what: string, fix: string): DoctorCheck {
  const found = findSharedLibrary(name, view.root, view.ldLibraryPath, view.arch);
  return found
    ? { what, ok: true, detail: found }
    : { what, ok: false, detail: `${name} was not found on the library path`, fix };
}

// ─────────────────────────────── CPU ───────────────────────────────

export function cpuChecks(view: SystemView): DoctorCheck[] {
  const fix = 'Reinstall onnxruntime-node: `npm ci` (or `npm rebuild onnxruntime-node`) in the seer package.';
  return ['onnxruntime_binding.node', view.platform === 'linux' ? 'libonnxruntime.so.1' : null]
    .filter((f): f is string => f !== null)
    .map((file) => {
      const full = path.join(view.ortBinaryDir, file);
      return existsSync(full)
        ? { what: `onnxruntime-node ${file}`, ok: true, detail: full }
        : { what: `onnxruntime-node ${file}`, ok: false, detail: `${full} is missing`, fix };
    });
}

// ─────────────────────────────── WebGPU ───────────────────────────────

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** WebGPU on Linux is Dawn on Vulkan: the Vulkan loader, libglvnd (NVIDIA's driver needs it) and a driver (ICD). */
export function webgpuChecks(view: SystemView): DoctorCheck[] {
  if (view.platform !== 'linux') {
    return [{ what: 'graphics API', ok: true, detail: `WebGPU uses the system's own graphics API on ${view.platform} (Direct3D 12 or Metal)` }];
  }
  return [
    library(view, 'libvulkan.so.1', 'Vulkan loader (libvulkan.so.1)', apt('libvulkan1')),
    library(view, 'libGLdispatch.so.0', 'libglvnd dispatch (libGLdispatch.so.0)', apt('libglvnd0')),
    library(view, 'libGLX.so.0', 'libglvnd GLX (libGLX.so.0)', apt('libglx0')),
    library(view, 'libEGL.so.1', 'libglvnd EGL (libEGL.so.1)', apt('libegl1')),
    ...icdChecks(view),
  ];
}

function icdChecks(view: SystemView): DoctorCheck[] {
  const files = ICD_DIRS.flatMap((dir) => {
    try {
      return readdirSync(path.join(view.root, dir)).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
  if (files.length === 0) {
    return [{
      what: 'Vulkan driver (ICD file)',
      ok: false,
      detail: `no *.json driver file in ${ICD_DIRS.join(', ')}`,
      fix: `NVIDIA: ${nvidiaVulkanFix(view)}. AMD, Intel or software rendering: ${apt('mesa-vulkan-drivers')}.`,
    }];
  }
  return files.map((file) => icdCheck(view, file));
}

function icdCheck(view: SystemView, file: string): DoctorCheck {
  const what = `Vulkan driver ${file}`;
  const fix = /nvidia/i.test(file) ? nvidiaVulkanFix(view) : apt('mesa-vulkan-drivers');
  let lib: unknown;
  try {
    lib = (JSON.parse(readFileSync(path.join(view.root, file), 'utf8')) as { ICD?: { library_path?: unknown } }).ICD?.library_path;
  } catch (err) {
    return { what, ok: false, detail: `cannot be read as JSON (${(err as Error).message})`, fix };
  }
  if (typeof lib !== 'string' || !lib) return { what, ok: false, detail: 'names no ICD.library_path', fix };
  // The loader takes a bare name from the library path, a relative path from the JSON's folder.
  const found = !lib.includes('/') ? findSharedLibrary(lib, view.root, view.ldLibraryPath, view.arch)
    : [path.join(view.root, path.isAbsolute(lib) ? lib : path.join(path.dirname(file), lib))].find((p) => existsSync(p)) ?? null;
  return found ? { what, ok: true, detail: `${lib} → ${found}` } : { what, ok: false, detail: `names ${lib}, which was not found`, fix };
}

/** The NVIDIA driver's major version from /proc/driver/nvidia/version, so the package name can be exact. */
function nvidiaDriverMajor(view: SystemView): string | null {
  try {
    return /Kernel Module\s+(?:for \S+\s+)?(\d+)\./.exec(readFileSync(path.join(view.root, 'proc/driver/nvidia/version'), 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

function nvidiaVulkanFix(view: SystemView): string {
  const major = nvidiaDriverMajor(view);
  return `install the Vulkan part of the NVIDIA driver, the same version as the kernel module (Ubuntu: ${apt(`libnvidia-gl-${major ?? '<driver major>'}`)}${major ? '' : ', e.g. libnvidia-gl-550'}); in a container, NVIDIA_DRIVER_CAPABILITIES must include "graphics"`;
}

// ─────────────────────────────── CUDA ───────────────────────────────

export async function cudaChecks(view: SystemView): Promise<DoctorCheck[]> {
  if (view.platform !== 'linux' && view.platform !== 'win32') {
    return [{ what: 'CUDA', ok: false, detail: `onnxruntime-node has no CUDA provider on ${view.platform}`, fix: 'Use --provider webgpu or cpu.' }];
  }
  const driver = () => library(view, 'libcuda.so.1', 'NVIDIA driver (libcuda.so.1)', `install the NVIDIA driver (Ubuntu: \`sudo ubuntu-drivers install\`, or ${apt('nvidia-driver-<major>')}); in a container, run with the NVIDIA container toolkit (--gpus all)`);
  if (view.cudaLibs && view.platform === 'linux') {
    // A folder given by --cuda-libs / seer.cudaLibraryPath / SEER_CUDA_LIBS: check it as the engine will use it.
    return [...await cudaFolderChecks(view.cudaLibs, ortNodeVersion(view.ortBinaryDir), view.ldd), driver()];
  }
  const lib = view.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : CUDA_PROVIDER_FILES[0];
  const provider = path.join(view.ortBinaryDir, lib);
  const getIt = `Where there is network: \`${CUDA_PROVIDER_INSTALL}\` (onnxruntime-node's script/install downloads the CUDA 12 provider of the same ORT version from NuGet into ${view.ortBinaryDir}). Offline: point --cuda-libs DIR (or seer.cudaLibraryPath, or ${CUDA_LIBS_ENV}) at a folder holding ${CUDA_PROVIDER_FILES.join(' and ')} of onnxruntime ${ortNodeVersion(view.ortBinaryDir)}.`;
  if (!existsSync(provider)) {
    return [{ what: `ORT CUDA provider (${lib})`, ok: false, detail: `not installed: ${provider} is missing (an offline or default npm install skips it)`, fix: getIt }];
  }
  const checks: DoctorCheck[] = [{ what: `ORT CUDA provider (${lib})`, ok: true, detail: provider }];
  if (view.platform === 'win32') return checks; // no ldd: ORT names the missing DLL when the probe starts it
  const shared = path.join(view.ortBinaryDir, CUDA_PROVIDER_FILES[1]);
  checks.push(existsSync(shared) ? { what: `ORT provider bridge (${CUDA_PROVIDER_FILES[1]})`, ok: true, detail: shared }
    : { what: `ORT provider bridge (${CUDA_PROVIDER_FILES[1]})`, ok: false, detail: `${shared} is missing`, fix: getIt });
  checks.push(driver());
  checks.push(...await linkedLibraryChecks(provider, view.ldd));
  return checks;
}

// ─────────────────────────────── torch ───────────────────────────────

const TORCH_CUDA_FIX = 'to run on an NVIDIA GPU, that Python needs a CUDA build of PyTorch (https://pytorch.org/get-started/locally/) and the machine the NVIDIA driver; torch.cuda.is_available() must then print True';

/** The torch provider: its Python, PyTorch's version and the CUDA devices PyTorch sees; `probe` is what the checks were read from. */
export async function torchDiagnosis(view: SystemView): Promise<{ checks: DoctorCheck[]; probe: TorchProbe }> {
  const probe = await view.torch();
  const what = `PyTorch in ${probe.python}`;
  if (!probe.ok) return { probe, checks: [{ what, ok: false, detail: probe.problem, fix: probe.fix.cli }] };
  const devices = probe.cuda ? probe.devices : [];
  return {
    probe,
    checks: [
      { what, ok: true, detail: `torch ${probe.torchVersion}` },
      devices.length > 0
        ? { what: 'CUDA devices PyTorch sees', ok: true, detail: `${devices.map((d, i) => `cuda:${i} (${d})`).join(', ')}: --provider torch runs on cuda:0` }
        : { what: 'CUDA devices PyTorch sees', ok: false, detail: 'none: --provider torch would run on the CPU, which is slow for large models', fix: TORCH_CUDA_FIX },
    ],
  };
}

export async function torchChecks(view: SystemView): Promise<DoctorCheck[]> {
  return (await torchDiagnosis(view)).checks;
}

// ─────────────────────────────── starting each provider ───────────────────────────────

/** Runs `seer info --json --provider P` elsewhere (a child process) and returns what it printed. */
export type ProviderProbe = (provider: ProviderName) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/** `python`: the Python of the torch provider's start (`--python`; default: the engine's own default). */
export function childProbe(cliScript: string, bundleDir: string, opts: { python?: string } = {}): ProviderProbe {
  return (provider) => new Promise((resolve) => {
    // torch starts a Python process, imports PyTorch and loads the model there: it gets more time.
    const seconds = provider === 'torch' ? 120 : 60;
    const torchArgs = provider === 'torch' && opts.python ? ['--python', opts.python] : [];
    execFile(process.execPath, [cliScript, 'info', '--json', '--provider', provider, ...torchArgs, '--bundle', bundleDir], { timeout: seconds * 1000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr: err && err.killed ? `${stderr}\nerror: timed out after ${seconds} s` : stderr }));
  });
}

/** Reads a probe's outcome: our `error:` line is the reason; every other stderr line is native output. */
export function probeOutcome(result: { code: number | null; stdout: string; stderr: string }): ProviderStart {
  const lines = result.stderr.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const nativeLog = lines.filter((l) => !/^(error|fix): /.test(l));
  const error = lines.find((l) => l.startsWith('error: '))?.slice('error: '.length);
  const log = nativeLog.length ? { nativeLog } : {};
  if (result.code === 0) return { ok: true, ...log };
  return { ok: false, reason: error ?? `exited with code ${result.code ?? 'unknown'}`, ...log };
}

export async function startProvider(provider: ProviderName, probe: ProviderProbe): Promise<ProviderStart> {
  const skip = unavailableReason(provider);
  if (skip) return { ok: false, skipped: true, reason: skip };
  return probeOutcome(await probe(provider));
}

export async function runDoctor(view: SystemView, probe: ProviderProbe | null): Promise<DoctorReport> {
  const torch = await torchDiagnosis(view);
  const checks: Record<ProviderName, DoctorCheck[]> = { cpu: cpuChecks(view), webgpu: webgpuChecks(view), cuda: await cudaChecks(view), torch: torch.checks };
  const providers: ProviderDiagnosis[] = [];
  // One at a time: each probe loads the model, and a GPU probe may take seconds (shader compilation).
  for (const provider of ['cpu', 'webgpu', 'cuda', 'torch'] as const) {
    // torch is not started without a Python that can import PyTorch (its probe's problem is the reason).
    const start = !probe ? null : provider === 'torch' && !torch.probe.ok ? { ok: false, skipped: true, reason: torch.probe.problem }
      : await startProvider(provider, probe);
    providers.push({ provider, checks: checks[provider], ...(start ? { start } : {}) });
  }
  return { platform: `${view.platform}-${view.arch}`, onnxruntimeNode: ortNodeVersion(view.ortBinaryDir), providers };
}

export function renderDoctor(report: DoctorReport): string {
  const out = [`onnxruntime-node ${report.onnxruntimeNode} on ${report.platform}`];
  for (const p of report.providers) {
    const s = p.start;
    const verdict = !s ? (p.checks.every((c) => c.ok) ? 'ready' : 'missing pieces') : s.ok ? 'ok' : s.skipped ? 'not available' : 'failed';
    out.push('', `${p.provider}: ${verdict}`);
    for (const c of p.checks) {
      out.push(`  ${c.ok ? '✓' : '✗'} ${c.what}: ${c.detail}`);
      if (c.fix) out.push(`      fix: ${c.fix}`);
    }
    if (s) out.push(`  start: ${s.ok ? 'ok' : s.skipped ? 'not tried (a required piece is missing, see above)' : `failed: ${s.reason}`}`);
    if (s?.nativeLog) out.push(`  native output (${s.nativeLog.length} lines, in --json)`);
  }
  return out.join('\n');
}
