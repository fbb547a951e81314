// The CUDA libraries folder (--cuda-libs / seer.cudaLibraryPath / SEER_CUDA_LIBS) checked with fake files:
// the version read from each distribution's layout, clear failures for missing files, a wrong version and
// unresolved CUDA libraries, and the links into onnxruntime-node's folder. The last test builds stand-in
// libraries with gcc and loads them through a copy of onnxruntime-node to show where ORT really looks.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CUDA_PROVIDER_FILES, cudaFolderChecks, cudaLibsEnv, linkCudaProviders, providerVersion, runLdd, setUpCudaLibs, startedWithCudaLibs, takeCudaLibsFlag,
} from '../../engine/src/runtime/cudaSetup';
import type { DoctorCheck } from '../../engine/src/runtime/doctor';
import { SeerError } from '../../engine/src/errors';
import { BUNDLE_DIR, ROOT, runSeer } from './helpers';

let root: string;
const at = (...p: string[]) => path.join(root, ...p);

function put(rel: string, text = ''): string {
  mkdirSync(path.dirname(at(rel)), { recursive: true });
  writeFileSync(at(rel), text);
  return at(rel);
}

/** Both provider libraries (empty stand-ins) in `rel`. */
function providers(rel: string): string {
  for (const f of CUDA_PROVIDER_FILES) put(path.join(rel, f));
  return at(rel);
}

/** A fake onnxruntime-node install of `version`: its native folder (package.json four levels up). */
function fakeOrt(version: string): string {
  put('ortpkg/package.json', JSON.stringify({ name: 'onnxruntime-node', version }));
  const bin = at('ortpkg', 'bin', 'napi-v6', 'linux', 'x64');
  mkdirSync(bin, { recursive: true });
  return bin;
}

const LDD_OK = '\tlibcublas.so.12 => /usr/local/cuda/lib64/libcublas.so.12 (0x1)\n\tlibcudnn.so.9 => /usr/lib/x86_64-linux-gnu/libcudnn.so.9 (0x2)\n';
const LDD_NO_CUDNN = '\tlibcublas.so.12 => /usr/local/cuda/lib64/libcublas.so.12 (0x1)\n\tlibcudnn.so.9 => not found\n';
const check = (checks: DoctorCheck[], what: string) => checks.find((c) => c.what.includes(what));

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'seer-cuda-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('providerVersion', () => {
  it("reads ORT's release archive: libonnxruntime.so.X.Y.Z beside the providers, else VERSION_NUMBER one level up", () => {
    const lib = providers('onnxruntime-linux-x64-gpu-1.30.0/lib');
    put('onnxruntime-linux-x64-gpu-1.30.0/VERSION_NUMBER', '1.29.9\n');
    put('onnxruntime-linux-x64-gpu-1.30.0/lib/libonnxruntime.so.1.30.0');
    expect(providerVersion(lib)).toEqual({ version: '1.30.0', source: path.join(lib, 'libonnxruntime.so.1.30.0') });
    rmSync(path.join(lib, 'libonnxruntime.so.1.30.0'));
    expect(providerVersion(lib)?.version).toBe('1.29.9');
  });

  it('reads the NuGet package (the .nuspec three levels above runtimes/linux-x64/native)', () => {
    const native = providers('nuget/runtimes/linux-x64/native');
    put('nuget/Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec', '<package><metadata><id>Microsoft.ML.OnnxRuntime.Gpu.Linux</id><version>1.30.0</version></metadata></package>');
    expect(providerVersion(native)).toEqual({ version: '1.30.0', source: at('nuget', 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec') });
  });

  it("reads the onnxruntime-gpu wheel's dist-info, and knows nothing of a bare folder", () => {
    const capi = providers('site-packages/onnxruntime/capi');
    expect(providerVersion(capi)).toBeNull();
    mkdirSync(at('site-packages', 'onnxruntime_gpu-1.28.1.dist-info'));
    expect(providerVersion(capi)?.version).toBe('1.28.1');
  });
});

describe('cudaFolderChecks', () => {
  it('names each missing library, and the exact archive and package to take them from', async () => {
    put('bare/libonnxruntime_providers_shared.so');
    const checks = await cudaFolderChecks(at('bare'), '1.30.0', () => Promise.reject(new Error('ldd must not run without the provider')));
    expect(check(checks, 'libonnxruntime_providers_cuda.so')).toMatchObject({ ok: false });
    expect(check(checks, 'libonnxruntime_providers_cuda.so')?.fix).toContain('onnxruntime-linux-x64-gpu-1.30.0.tgz');
    expect(check(checks, 'libonnxruntime_providers_shared.so')?.ok).toBe(true);
    expect(check(checks, 'provider version')?.fix).toContain(path.join(at('bare'), 'VERSION_NUMBER'));
  });

  it('refuses providers of another ORT version, saying both versions', async () => {
    const dir = providers('old');
    put('old/VERSION_NUMBER', '1.22.0');
    const v = check(await cudaFolderChecks(dir, '1.30.0', async () => LDD_OK), 'provider version');
    expect(v?.ok).toBe(false);
    expect(v?.detail).toMatch(/onnxruntime 1\.22\.0 .*onnxruntime-node is 1\.30\.0/);
  });

  it('runs ldd on the folder\'s provider and reports the CUDA/cuDNN it needs and what does not resolve', async () => {
    const dir = providers('good');
    put('good/VERSION_NUMBER', '1.30.0');
    const seen: string[] = [];
    const checks = await cudaFolderChecks(dir, '1.30.0', async (f) => (seen.push(f), LDD_NO_CUDNN));
    expect(seen).toEqual([path.join(dir, 'libonnxruntime_providers_cuda.so')]);
    expect(check(checks, 'provider version')?.ok).toBe(true);
    expect(check(checks, 'CUDA version')?.detail).toBe('CUDA 12, cuDNN 9');
    expect(check(checks, 'libcudnn.so.9')).toMatchObject({ ok: false, detail: 'not found by the dynamic loader' });
  });

  it('says so when the path is not a folder', async () => {
    const checks = await cudaFolderChecks(at('nowhere'), '1.30.0', async () => LDD_OK);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: false, detail: 'is not a folder' });
  });
});

describe('setUpCudaLibs', () => {
  it('links a good folder into onnxruntime-node\'s folder, again without change, and keeps installed files', async () => {
    const bin = fakeOrt('1.30.0');
    const dir = providers('good');
    put('good/VERSION_NUMBER', '1.30.0');
    const lines = await setUpCudaLibs(dir, bin, async () => LDD_OK);
    for (const f of CUDA_PROVIDER_FILES) {
      expect(lstatSync(path.join(bin, f)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(path.join(bin, f))).toBe(path.join(dir, f));
    }
    expect(lines).toHaveLength(2);
    expect(await setUpCudaLibs(dir, bin, async () => LDD_OK)).toEqual(lines);
    // A folder given later replaces our links; a file installed by onnxruntime-node's installer is kept.
    const other = providers('other');
    put('other/VERSION_NUMBER', '1.30.0');
    rmSync(path.join(bin, CUDA_PROVIDER_FILES[1]));
    writeFileSync(path.join(bin, CUDA_PROVIDER_FILES[1]), 'installed');
    const again = linkCudaProviders(other, bin);
    expect(readlinkSync(path.join(bin, CUDA_PROVIDER_FILES[0]))).toBe(path.join(other, CUDA_PROVIDER_FILES[0]));
    expect(lstatSync(path.join(bin, CUDA_PROVIDER_FILES[1])).isFile()).toBe(true);
    expect(again[1]).toContain('kept');
  });

  it('refuses a folder of the wrong version with every problem and fix, and links nothing', async () => {
    const bin = fakeOrt('1.30.0');
    const dir = providers('old');
    put('old/VERSION_NUMBER', '1.22.0');
    const err = await setUpCudaLibs(dir, bin, async () => LDD_NO_CUDNN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeerError);
    expect((err as SeerError).message).toMatch(/onnxruntime 1\.22\.0.*libcudnn\.so\.9: not found/);
    expect(String((err as SeerError).fix)).toContain('libcudnn9-cuda-12');
    expect(CUDA_PROVIDER_FILES.some((f) => existsSync(path.join(bin, f)))).toBe(false);
  });
});

describe('cudaLibsEnv', () => {
  it('puts the folder first on LD_LIBRARY_PATH once and names it in SEER_CUDA_LIBS', () => {
    const env = cudaLibsEnv('/opt/ort-cuda/', { LD_LIBRARY_PATH: '/usr/local/cuda/lib64:/opt/ort-cuda', HOME: '/h' });
    expect(env).toEqual({ HOME: '/h', SEER_CUDA_LIBS: '/opt/ort-cuda', LD_LIBRARY_PATH: '/opt/ort-cuda:/usr/local/cuda/lib64' });
    expect(startedWithCudaLibs('/opt/ort-cuda', env)).toBe(true);
    expect(startedWithCudaLibs('/opt/ort-cuda', { LD_LIBRARY_PATH: '/usr/lib' })).toBe(false);
    expect(cudaLibsEnv('/x', {}).LD_LIBRARY_PATH).toBe('/x');
  });
});

describe('--cuda-libs on the command line', () => {
  it('is taken out of any command\'s arguments, in both spellings, and needs a folder', () => {
    expect(takeCudaLibsFlag(['hi', '--cuda-libs', '/opt/c', '--json'])).toEqual({ argv: ['hi', '--json'], dir: '/opt/c' });
    expect(takeCudaLibsFlag(['--cuda-libs=rel', 'hi'])).toEqual({ argv: ['hi'], dir: path.resolve('rel') });
    expect(takeCudaLibsFlag(['--', '--cuda-libs', 'x'])).toEqual({ argv: ['--', '--cuda-libs', 'x'] });
    expect(() => takeCudaLibsFlag(['hi', '--cuda-libs'])).toThrow(/needs a folder/);
  });

  it('refuses a folder of the wrong version before anything runs: error and fix, no stack trace, nothing linked', () => {
    const dir = providers('old');
    put('old/VERSION_NUMBER', '1.22.0');
    const r = runSeer(['info', '--bundle', BUNDLE_DIR, '--cuda-libs', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: The CUDA libraries folder .*old cannot be used: .*onnxruntime 1\.22\.0 .*onnxruntime-node is 1\.30\.0/m);
    expect(r.stderr).toMatch(/^fix: Take libonnxruntime_providers_cuda\.so and libonnxruntime_providers_shared\.so from onnxruntime 1\.30\.0/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const ortDir = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
    for (const f of CUDA_PROVIDER_FILES) expect(existsSync(path.join(ortDir, f)), f).toBe(false);
  });
});

describe('the engine server with seer.cudaLibraryPath', () => {
  it('refuses --provider cuda with the folder\'s problem, and loads auto on another provider, saying why in the log', async () => {
    const { spawn } = await import('node:child_process');
    const { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } = await import('vscode-jsonrpc/node');
    const { EngineRequests } = await import('../../common/engineProtocol');
    const dir = providers('old');
    put('old/VERSION_NUMBER', '1.22.0');
    // As the extension starts it (extension/src/engineFeature.ts): the folder in SEER_CUDA_LIBS and on LD_LIBRARY_PATH.
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'engine-server.js')], { env: cudaLibsEnv(dir), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    rpc.listen();
    try {
      const err = await rpc.sendRequest(EngineRequests.load, { bundleDir: BUNDLE_DIR, provider: 'cuda' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ResponseError);
      expect((err as InstanceType<typeof ResponseError>).message).toMatch(/CUDA libraries folder .*old cannot be used: .*1\.22\.0/);
      const loaded = await rpc.sendRequest(EngineRequests.load, { bundleDir: BUNDLE_DIR, provider: 'auto' });
      expect(loaded.provider.used).not.toBe('cuda');
      expect(stderr).toContain('CUDA libraries not used: The CUDA libraries folder');
    } finally {
      rpc.dispose();
      child.kill();
    }
  }, 60_000);
});

const gcc = spawnSync('gcc', ['--version']).status === 0;

describe('with real libraries (gcc-built stand-ins)', () => {
  function compile(out: string, source: string, ...flags: string[]): void {
    const src = `${out}.c`;
    writeFileSync(src, source);
    const r = spawnSync('gcc', ['-shared', '-fPIC', '-o', out, src, ...flags], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  }

  it.skipIf(!gcc)('ORT loads the linked providers from its own folder and finds their CUDA libraries through the LD_LIBRARY_PATH the engine starts with', async () => {
    // Stand-ins: a libcudart.so.12, a provider that needs it, and a provider bridge with the one symbol ORT calls first.
    const cuda = at('libs');
    mkdirSync(cuda);
    compile(path.join(cuda, 'libcudart.so.12'), 'int cudart_stub(void) { return 12; }', '-Wl,-soname,libcudart.so.12');
    compile(path.join(cuda, CUDA_PROVIDER_FILES[0]), 'int provider_stub(void) { return 1; }', '-Wl,--no-as-needed', `-L${cuda}`, '-l:libcudart.so.12');
    compile(path.join(cuda, CUDA_PROVIDER_FILES[1]), 'void Provider_SetHost(void *host) { (void)host; }');
    writeFileSync(path.join(cuda, 'VERSION_NUMBER'), '1.30.0');
    // A private copy of onnxruntime-node, so the real install is never touched.
    const modules = at('node_modules');
    cpSync(path.join(ROOT, 'node_modules', 'onnxruntime-node'), path.join(modules, 'onnxruntime-node'), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules', 'onnxruntime-common'), path.join(modules, 'onnxruntime-common'));
    const bin = path.join(modules, 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');

    // The real ldd, with and without the folder on LD_LIBRARY_PATH.
    const without = await cudaFolderChecks(cuda, '1.30.0', (f) => runLdd(f, { PATH: process.env.PATH }));
    expect(check(without, 'libcudart.so.12')).toMatchObject({ ok: false });
    await setUpCudaLibs(cuda, bin); // default ldd: with cudaLibsEnv(cuda)

    const script = `require(${JSON.stringify(path.join(modules, 'onnxruntime-node'))}).InferenceSession.create(${JSON.stringify(path.join(ROOT, 'models', 'default', 'model.onnx'))}, { executionProviders: ['cuda'], logSeverityLevel: 4 }).then(() => console.log('started'), (e) => console.log(String(e)))`;
    const run = (env: NodeJS.ProcessEnv) => {
      const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 });
      return `${r.stdout}\n${r.stderr}`;
    };
    // Without the folder on LD_LIBRARY_PATH the provider's CUDA library is missing; with it, ORT gets as far as
    // asking the stand-in provider for its entry point, from the linked file in its own folder.
    const plain = run({ PATH: process.env.PATH });
    expect(plain).toContain(`${path.join(bin, CUDA_PROVIDER_FILES[0])} with error: libcudart.so.12: cannot open shared object file`);
    const withLibs = run(cudaLibsEnv(cuda, { PATH: process.env.PATH }));
    expect(withLibs).toContain(`${path.join(bin, CUDA_PROVIDER_FILES[0])}: undefined symbol: GetProvider`);
  }, 60_000);
});
