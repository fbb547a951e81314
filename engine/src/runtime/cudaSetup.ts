// The CUDA execution provider's libraries. onnxruntime-node's npm package leaves them out (too big for npm);
// its own installer (script/install.js, run by `npm rebuild` with ONNXRUNTIME_NODE_INSTALL=cuda12) downloads
// them from NuGet where there is network. Offline, a user points seer at a folder that holds them (--cuda-libs,
// seer.cudaLibraryPath, SEER_CUDA_LIBS). ORT opens them ONLY by absolute path from the folder of its own
// libonnxruntime.so.1 (Env::GetRuntimePath(); with LD_DEBUG=libs a session asking for cuda fails on
// ".../bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so: cannot open shared object file"), so
// LD_LIBRARY_PATH cannot send it elsewhere: they are symlinked into that folder. The CUDA, cuBLAS and cuDNN
// libraries they link ARE looked up on LD_LIBRARY_PATH, which the dynamic loader reads once at process start,
// so the process that runs the engine is started with the folder on it (cudaLibsEnv).
// No onnxruntime-node import here: the extension host uses cudaLibsEnv without loading the native addon.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { SeerError } from '../errors';
import type { DoctorCheck } from './doctor';

export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;
/** onnxruntime-node's own installer, for machines with network (it fetches the provider of its own version). */
export const CUDA_PROVIDER_INSTALL = 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';
export const CUDA_LIBS_ENV = 'SEER_CUDA_LIBS';

export type Ldd = (file: string) => Promise<string>;

/** The real `ldd`, with `env` (LD_LIBRARY_PATH decides what resolves); rejects when it cannot run. */
export function runLdd(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    // execFile, no shell: the path is never interpreted.
    execFile('ldd', [file], { timeout: 10_000, env }, (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)));
  });
}

/** onnxruntime-node's version, from the package.json above its native folder (bin/napi-v6/<os>/<arch>). */
export function ortNodeVersion(binaryDir: string): string {
  try {
    const pkg = path.resolve(binaryDir, '..', '..', '..', '..', 'package.json');
    return String((JSON.parse(readFileSync(pkg, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

// ─────────────────────────────── what the provider links (ldd) ───────────────────────────────

/** A CUDA library that ORT's CUDA provider links, as `ldd` reports it. */
export interface LinkedLibrary {
  name: string;
  base: string;
  major: number;
  /** Where it resolved, or null for "not found". */
  resolved: string | null;
}

const CUDA_LIBS = /^(libcudart|libcublasLt|libcublas|libcufft|libcurand|libcudnn)\.so\.(\d+)$/;

/** The CUDA and cuDNN libraries in `ldd` output: "\tlibcudart.so.12 => /usr/…/libcudart.so.12 (0x…)" or "=> not found". */
export function parseLdd(output: string): LinkedLibrary[] {
  const libs: LinkedLibrary[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(not found|\S+)/.exec(line);
    const lib = m && CUDA_LIBS.exec(m[1]);
    if (!m || !lib) continue;
    libs.push({ name: m[1], base: lib[1], major: Number(lib[2]), resolved: m[2] === 'not found' ? null : m[2] });
  }
  return libs;
}

const apt = (pkg: string): string => `sudo apt-get install ${pkg}`;

/** Debian/Ubuntu package of a CUDA library (Ubuntu's archive names; NVIDIA's repository in parentheses). */
function cudaPackage(lib: LinkedLibrary, cudaMajor: number | null): string {
  if (lib.base === 'libcudnn') return `libcudnn${lib.major}-cuda-${cudaMajor ?? 12} (from NVIDIA's CUDA repository)`;
  const nvidia = { libcudart: 'cuda-cudart', libcublas: 'libcublas', libcublasLt: 'libcublas', libcufft: 'libcufft', libcurand: 'libcurand' }[lib.base];
  return `${lib.base.toLowerCase()}${lib.major} (or ${nvidia}-${cudaMajor ?? lib.major}-<minor> from NVIDIA's CUDA repository)`;
}

/** From `ldd provider`: the CUDA and cuDNN majors it needs, then whether each CUDA library resolves. */
export async function linkedLibraryChecks(provider: string, ldd: Ldd, replaceFix = 'Reinstall the CUDA provider (see above).'): Promise<DoctorCheck[]> {
  let linked: LinkedLibrary[];
  try {
    linked = parseLdd(await ldd(provider));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = 'CUDA libraries the provider needs';
    if (e.code === 'ENOENT') return [{ what, ok: false, detail: `ldd cannot run: ${e.message}`, fix: apt('libc-bin') }];
    // ldd ran and refused the file ("not a dynamic executable"): a damaged file or one for another system.
    const said = e.message.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? e.message;
    return [{ what, ok: false, detail: `ldd cannot read ${provider} (${said}): it is not a Linux shared library for this machine`, fix: replaceFix }];
  }
  const cudaMajor = linked.find((l) => l.base === 'libcudart' || l.base === 'libcublas')?.major ?? null;
  const cudnnMajor = linked.find((l) => l.base === 'libcudnn')?.major ?? null;
  const checks: DoctorCheck[] = [{
    what: 'CUDA version the provider needs',
    ok: true,
    detail: `CUDA ${cudaMajor ?? 'unknown (ldd named no libcudart/libcublas)'}, cuDNN ${cudnnMajor ?? 'unknown (ldd named no libcudnn)'}`,
  }];
  for (const l of linked) {
    checks.push(l.resolved ? { what: l.name, ok: true, detail: l.resolved }
      : { what: l.name, ok: false, detail: 'not found by the dynamic loader', fix: `${apt(cudaPackage(l, cudaMajor))}; if it is installed elsewhere (e.g. /usr/local/cuda/lib64, or pip's nvidia/*/lib), put that folder in the CUDA libraries folder's place on LD_LIBRARY_PATH or copy the library into the folder` });
  }
  return checks;
}

// ─────────────────────────────── the version of a folder's provider ───────────────────────────────

export interface ProviderVersion {
  version: string;
  /** The file it was read from. */
  source: string;
}

const VERSION = /^\d+\.\d+\.\d+$/;

/**
 * The ORT version of the provider libraries in `dir`. The .so files carry none that can be relied on (they
 * export one entry point under a fixed symbol version), so it comes from the distribution they ship in:
 * ORT's release archive (libonnxruntime.so.X.Y.Z beside them in lib/, VERSION_NUMBER one level up), the NuGet
 * package the npm installer uses (runtimes/linux-x64/native/, the .nuspec three levels up), the onnxruntime-gpu
 * wheel (onnxruntime/capi/, its onnxruntime_gpu-X.Y.Z.dist-info two levels up), or a VERSION_NUMBER the user
 * wrote beside them.
 */
export function providerVersion(dir: string): ProviderVersion | null {
  const list = (d: string): string[] => {
    try {
      return readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  const core = list(dir).map((f) => /^libonnxruntime\.so\.(\d+\.\d+\.\d+)$/.exec(f)).find(Boolean);
  if (core) return { version: core[1], source: path.join(dir, core[0]) };
  for (const file of [path.join(dir, 'VERSION_NUMBER'), path.join(dir, '..', 'VERSION_NUMBER')]) {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    if (VERSION.test(text)) return { version: text, source: path.resolve(file) };
  }
  const nugetRoot = path.resolve(dir, '..', '..', '..');
  for (const f of list(nugetRoot).filter((n) => /^microsoft\.ml\.onnxruntime.*\.nuspec$/i.test(n))) {
    const version = /<version>\s*([^<\s]+)\s*<\/version>/.exec(readFileSync(path.join(nugetRoot, f), 'utf8'))?.[1];
    if (version) return { version, source: path.join(nugetRoot, f) };
  }
  const sitePackages = path.resolve(dir, '..', '..');
  const wheel = list(sitePackages).map((f) => /^onnxruntime_gpu-(\d+\.\d+\.\d+)\.dist-info$/.exec(f)).find(Boolean);
  if (wheel) return { version: wheel[1], source: path.join(sitePackages, wheel[0]) };
  return null;
}

// ─────────────────────────────── checking a folder and using it ───────────────────────────────

/** Whether `dir` holds both provider libraries of onnxruntime-node's version, and what they need resolves. */
export async function cudaFolderChecks(dir: string, ortVersion: string, ldd: Ldd): Promise<DoctorCheck[]> {
  const what = `CUDA libraries folder ${dir}`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return [{ what, ok: false, detail: 'is not a folder', fix: `Point ${CUDA_LIBS_ENV} / --cuda-libs / seer.cudaLibraryPath at the folder that holds ${CUDA_PROVIDER_FILES.join(' and ')}.` }];
  }
  const getThem = `Take ${CUDA_PROVIDER_FILES.join(' and ')} from onnxruntime ${ortVersion}'s GPU release (onnxruntime-linux-x64-gpu-${ortVersion}.tgz, lib/) or the Microsoft.ML.OnnxRuntime.Gpu.Linux ${ortVersion} NuGet package (runtimes/linux-x64/native/); where there is network, \`${CUDA_PROVIDER_INSTALL}\` installs them instead.`;
  const checks: DoctorCheck[] = CUDA_PROVIDER_FILES.map((file) => {
    const full = path.join(dir, file);
    return existsSync(full) && statSync(full).isFile()
      ? { what: file, ok: true, detail: full }
      : { what: file, ok: false, detail: `${full} is missing`, fix: getThem };
  });
  const found = providerVersion(dir);
  if (!found) {
    checks.push({
      what: 'provider version', ok: false,
      detail: `cannot tell which onnxruntime version the libraries in ${dir} belong to (no libonnxruntime.so.X.Y.Z, VERSION_NUMBER, NuGet .nuspec or onnxruntime_gpu dist-info beside them)`,
      fix: `Use the folder as unpacked from onnxruntime's release or NuGet package, or, if you know they are onnxruntime ${ortVersion}'s, write "${ortVersion}" into ${path.join(dir, 'VERSION_NUMBER')}.`,
    });
  } else {
    checks.push(found.version === ortVersion
      ? { what: 'provider version', ok: true, detail: `${found.version} (from ${found.source}), the same as onnxruntime-node` }
      : { what: 'provider version', ok: false, detail: `the libraries are onnxruntime ${found.version} (from ${found.source}); onnxruntime-node is ${ortVersion}, and ORT loads only a provider of its own version`, fix: getThem });
  }
  const provider = path.join(dir, CUDA_PROVIDER_FILES[0]);
  if (existsSync(provider)) checks.push(...await linkedLibraryChecks(provider, ldd, getThem));
  return checks;
}

/** The environment that runs the engine with `dir` on LD_LIBRARY_PATH (first) and named in SEER_CUDA_LIBS. */
export function cudaLibsEnv(dir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const full = path.resolve(dir);
  const rest = (env.LD_LIBRARY_PATH ?? '').split(':').filter((p) => p && path.resolve(p) !== full);
  return { ...env, [CUDA_LIBS_ENV]: full, LD_LIBRARY_PATH: [full, ...rest].join(':') };
}

/** Whether this process started with `dir` on LD_LIBRARY_PATH (the loader reads it only at start). */
export function startedWithCudaLibs(dir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.LD_LIBRARY_PATH ?? '').split(':').some((p) => p && path.resolve(p) === path.resolve(dir));
}

/**
 * Symlinks the folder's provider libraries into onnxruntime-node's native folder, where ORT looks for them.
 * A regular file already there (put by onnxruntime-node's installer) is kept; an older link is replaced
 * atomically (new link, then rename). Returns what it did, one line per file.
 */
export function linkCudaProviders(dir: string, ortBinaryDir: string): string[] {
  return CUDA_PROVIDER_FILES.map((file) => {
    const target = path.resolve(dir, file);
    const at = path.join(ortBinaryDir, file);
    let existing: ReturnType<typeof lstatSync> | null = null;
    try {
      existing = lstatSync(at);
    } catch {
      // not there yet
    }
    if (existing && !existing.isSymbolicLink()) return `${at} is installed (by onnxruntime-node's installer): kept`;
    if (existing && readlinkSync(at) === target) return `${at} → ${target}`;
    const temp = `${at}.seer-${process.pid}`;
    try {
      symlinkSync(target, temp);
      renameSync(temp, at);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // nothing was created
      }
      throw new SeerError('PROVIDER_UNAVAILABLE', `Cannot link ${file} into onnxruntime-node's folder ${ortBinaryDir}: ${(err as Error).message}.`, {
        fix: `onnxruntime loads the CUDA provider only from that folder: make it writable, or copy ${CUDA_PROVIDER_FILES.join(' and ')} from ${dir} into it yourself.`,
      });
    }
    return `${at} → ${target}`;
  });
}

/** Checks `dir` and links its providers where ORT looks; a failed check is a SeerError naming each problem and its fix. */
export async function setUpCudaLibs(dir: string, ortBinaryDir: string, ldd: Ldd = (f) => runLdd(f, cudaLibsEnv(dir))): Promise<string[]> {
  const checks = await cudaFolderChecks(path.resolve(dir), ortNodeVersion(ortBinaryDir), ldd);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new SeerError('PROVIDER_UNAVAILABLE', `The CUDA libraries folder ${dir} cannot be used: ${failed.map((c) => `${c.what}: ${c.detail}`).join('; ')}.`, {
      fix: [...new Set(failed.map((c) => c.fix).filter(Boolean))].join(' '),
    });
  }
  return linkCudaProviders(dir, ortBinaryDir);
}

// ─────────────────────────────── the CLI's --cuda-libs ───────────────────────────────

/** Takes `--cuda-libs DIR` / `--cuda-libs=DIR` (any subcommand) out of `argv`. */
export function takeCudaLibsFlag(argv: string[]): { argv: string[]; dir?: string } {
  const rest: string[] = [];
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--cuda-libs' || a.startsWith('--cuda-libs=')) {
      dir = a === '--cuda-libs' ? argv[++i] : a.slice('--cuda-libs='.length);
      if (!dir) throw new SeerError('INVALID_ARGUMENT', '--cuda-libs needs a folder.', { fix: `Use --cuda-libs DIR, DIR holding ${CUDA_PROVIDER_FILES.join(' and ')}.` });
    } else {
      rest.push(a);
    }
  }
  return dir === undefined ? { argv: rest } : { argv: rest, dir: path.resolve(dir) };
}

/** Runs this CLI again with `dir` on LD_LIBRARY_PATH (the dynamic loader reads it only at start); its exit code. */
export function rerunWithCudaLibs(dir: string, args: string[]): number {
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...args], { stdio: 'inherit', env: cudaLibsEnv(dir) });
  if (r.error) throw new SeerError('INTERNAL', `Cannot restart seer with the CUDA libraries on LD_LIBRARY_PATH: ${r.error.message}.`);
  return r.status ?? 1;
}
