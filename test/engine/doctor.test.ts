// `seer doctor`: the provider checks over a fake filesystem root, a fake `ldd` and a fake PyTorch probe (no GPU
// needed), how a probe's output is read, and one real run of the built CLI on this machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CUDA_PROVIDER_INSTALL, parseLdd } from '../../engine/src/runtime/cudaSetup';
import {
  cpuChecks, cudaChecks, type DoctorCheck, type DoctorReport, probeOutcome, type ProviderProbe, renderDoctor, runDoctor, type SystemView, torchChecks, webgpuChecks,
} from '../../engine/src/runtime/doctor';
import type { TorchProbe } from '../../engine/src/runtime/torchSession';
import { BUNDLE_DIR, runSeer } from './helpers';

const LIB = 'usr/lib/x86_64-linux-gnu';
let root: string;

function put(rel: string, text = ''): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}

const NO_TORCH: TorchProbe = {
  ok: false, python: '/usr/bin/python3', problem: '/usr/bin/python3 cannot import torch (No module named \'torch\')', fix: { cli: 'pip install torch, or --python PATH', editor: 'set seer.pythonPath' },
};

function view(
  ldd: (file: string) => Promise<string> = () => Promise.reject(new Error('ldd must not run')),
  torch: TorchProbe = NO_TORCH,
): SystemView & { lddCalls: string[] } {
  const lddCalls: string[] = [];
  return {
    root, platform: 'linux', arch: 'x64', ldLibraryPath: '', ortBinaryDir: path.join(root, 'ort'), lddCalls, ldd: (f) => (lddCalls.push(f), ldd(f)), torch: async () => torch,
  };
}

const check = (checks: DoctorCheck[], what: string): DoctorCheck => {
  const found = checks.find((c) => c.what.includes(what));
  if (!found) throw new Error(`no check about ${what} in ${checks.map((c) => c.what).join(' | ')}`);
  return found;
};

const icd = (library: string) => JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.3.0' } });

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'seer-doctor-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('WebGPU checks', () => {
  it('finds the loader and libglvnd pieces that exist, and names the package of each missing one', () => {
    put(`${LIB}/libvulkan.so.1`);
    put(`${LIB}/libGLdispatch.so.0`);
    put(`${LIB}/libEGL.so.1`);
    const checks = webgpuChecks(view());
    expect(check(checks, 'libvulkan.so.1')).toMatchObject({ ok: true, detail: path.join(root, LIB, 'libvulkan.so.1') });
    expect(check(checks, 'libGLdispatch.so.0').ok).toBe(true);
    expect(check(checks, 'libEGL.so.1').ok).toBe(true);
    expect(check(checks, 'libGLX.so.0')).toMatchObject({ ok: false, fix: 'sudo apt-get install libglx0' });
  });

  it('reads each ICD file and checks that the library it names resolves', () => {
    put(`${LIB}/libvulkan_lvp.so`);
    put('usr/share/vulkan/icd.d/nvidia_icd.json', icd('libGLX_nvidia.so.0')); // bare name, not installed
    put('etc/vulkan/icd.d/lvp_icd.x86_64.json', icd(`/${LIB}/libvulkan_lvp.so`)); // absolute, present
    put('etc/vulkan/icd.d/broken.json', '{ not json');
    put('proc/driver/nvidia/version', 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:50 UTC 2024\n');
    const checks = webgpuChecks(view());
    const nvidia = check(checks, 'nvidia_icd.json');
    expect(nvidia.ok).toBe(false);
    expect(nvidia.detail).toContain('libGLX_nvidia.so.0');
    expect(nvidia.fix).toContain('libnvidia-gl-550'); // the driver's major version, from /proc
    expect(check(checks, 'lvp_icd.x86_64.json')).toMatchObject({ ok: true });
    expect(check(checks, 'broken.json')).toMatchObject({ ok: false, fix: 'sudo apt-get install mesa-vulkan-drivers' });
  });

  it('says that no driver is installed when there is no ICD file at all', () => {
    const checks = webgpuChecks(view());
    expect(checks.every((c) => !c.ok)).toBe(true);
    const driver = check(checks, 'ICD file');
    expect(driver.fix).toContain('mesa-vulkan-drivers');
    expect(driver.fix).toContain('libnvidia-gl-<driver major>');
    expect(check(checks, 'libvulkan.so.1').fix).toBe('sudo apt-get install libvulkan1');
  });
});

describe('CUDA checks', () => {
  const LDD = [
    '\tlinux-vdso.so.1 (0x00007ffc5f5e8000)',
    '\tlibcublasLt.so.12 => /usr/local/cuda/lib64/libcublasLt.so.12 (0x00007f0c1c000000)',
    '\tlibcublas.so.12 => /usr/local/cuda/lib64/libcublas.so.12 (0x00007f0c15000000)',
    '\tlibcudnn.so.9 => not found',
    '\tlibcudart.so.12 => not found',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0c14c00000)',
  ].join('\n');

  it('parses ldd output into the CUDA libraries, their versions and whether they resolve', () => {
    expect(parseLdd(LDD)).toEqual([
      { name: 'libcublasLt.so.12', base: 'libcublasLt', major: 12, resolved: '/usr/local/cuda/lib64/libcublasLt.so.12' },
      { name: 'libcublas.so.12', base: 'libcublas', major: 12, resolved: '/usr/local/cuda/lib64/libcublas.so.12' },
      { name: 'libcudnn.so.9', base: 'libcudnn', major: 9, resolved: null },
      { name: 'libcudart.so.12', base: 'libcudart', major: 12, resolved: null },
    ]);
  });

  it('without the ORT CUDA provider, says how to fetch it and does not run ldd', async () => {
    const v = view();
    const checks = await cudaChecks(v);
    expect(checks).toHaveLength(1);
    expect(checks[0].ok).toBe(false);
    expect(checks[0].detail).toContain(path.join(root, 'ort', 'libonnxruntime_providers_cuda.so'));
    expect(checks[0].fix).toContain(CUDA_PROVIDER_INSTALL);
    expect(v.lddCalls).toEqual([]);
  });

  it('with the provider, reports the CUDA and cuDNN versions it needs and the package for each missing library', async () => {
    put('ort/libonnxruntime_providers_cuda.so');
    put(`${LIB}/libcuda.so.1`);
    const v = view(async () => LDD);
    const checks = await cudaChecks(v);
    expect(v.lddCalls).toEqual([path.join(root, 'ort', 'libonnxruntime_providers_cuda.so')]);
    expect(check(checks, 'CUDA version').detail).toBe('CUDA 12, cuDNN 9');
    expect(check(checks, 'libcuda.so.1').ok).toBe(true);
    expect(check(checks, 'libonnxruntime_providers_shared.so')).toMatchObject({ ok: false });
    expect(check(checks, 'libcublas.so.12').ok).toBe(true);
    const cudart = check(checks, 'libcudart.so.12');
    expect(cudart).toMatchObject({ ok: false, detail: 'not found by the dynamic loader' });
    expect(cudart.fix).toContain('sudo apt-get install libcudart12');
    expect(check(checks, 'libcudnn.so.9').fix).toContain('libcudnn9-cuda-12');
  });

  it('reports an ldd that cannot run instead of failing', async () => {
    put('ort/libonnxruntime_providers_cuda.so');
    const checks = await cudaChecks(view(() => Promise.reject(Object.assign(new Error('spawn ldd ENOENT'), { code: 'ENOENT' }))));
    const needed = check(checks, 'CUDA libraries');
    expect(needed.ok).toBe(false);
    expect(needed.detail).toContain('spawn ldd ENOENT');
  });
});

describe('CUDA checks with a CUDA libraries folder', () => {
  it('checks the folder the engine will use (files, version, ldd there) instead of onnxruntime-node\'s own', async () => {
    put('ort/libonnxruntime_providers_cuda.so'); // an installed provider is not what runs when a folder is set
    put('package.json', JSON.stringify({ version: '1.30.0' })); // onnxruntime-node's, four levels above ort/…
    for (const f of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) put(`cuda/${f}`);
    put('cuda/VERSION_NUMBER', '1.30.0');
    const v = { ...view(async () => '\tlibcudart.so.12 => not found\n'), ortBinaryDir: path.join(root, 'a', 'b', 'c', 'ort'), cudaLibs: path.join(root, 'cuda') };
    const checks = await cudaChecks(v);
    expect(v.lddCalls).toEqual([path.join(root, 'cuda', 'libonnxruntime_providers_cuda.so')]);
    expect(check(checks, 'provider version')).toMatchObject({ ok: true });
    expect(check(checks, 'libcudart.so.12')).toMatchObject({ ok: false });
    expect(check(checks, 'libcuda.so.1')).toMatchObject({ ok: false }); // the driver is still needed
  });
});

describe('CPU checks', () => {
  it('requires the onnxruntime-node binding and library', () => {
    put('ort/onnxruntime_binding.node');
    const checks = cpuChecks(view());
    expect(check(checks, 'onnxruntime_binding.node').ok).toBe(true);
    expect(check(checks, 'libonnxruntime.so.1')).toMatchObject({ ok: false });
    expect(check(checks, 'libonnxruntime.so.1').fix).toContain('npm ci');
  });
});

describe('torch checks', () => {
  const withTorch = (cuda: boolean, devices: string[]): TorchProbe => ({ ok: true, python: '/opt/venv/bin/python', torchVersion: '2.5.1+cu124', cuda, devices });

  it('names the Python, its PyTorch and each CUDA device it sees', async () => {
    const checks = await torchChecks(view(undefined, withTorch(true, ['NVIDIA H200', 'NVIDIA H100 80GB HBM3'])));
    expect(checks).toEqual([
      { what: 'PyTorch in /opt/venv/bin/python', ok: true, detail: 'torch 2.5.1+cu124' },
      { what: 'CUDA devices PyTorch sees', ok: true, detail: 'cuda:0 (NVIDIA H200), cuda:1 (NVIDIA H100 80GB HBM3): --provider torch runs on cuda:0' },
    ]);
  });

  it('with a CPU-only PyTorch, says it would run on the CPU, slow for large models, and how to get a GPU', async () => {
    for (const probe of [withTorch(false, []), withTorch(true, [])]) {
      const checks = await torchChecks(view(undefined, probe));
      expect(check(checks, 'PyTorch in /opt/venv/bin/python')).toMatchObject({ ok: true, detail: 'torch 2.5.1+cu124' });
      const devices = check(checks, 'CUDA devices');
      expect(devices.ok).toBe(false);
      expect(devices.detail).toBe('none: --provider torch would run on the CPU, which is slow for large models');
      expect(devices.fix).toContain('CUDA build of PyTorch');
    }
  });

  it('with a failing probe, shows its problem and its fix for the terminal', async () => {
    const checks = await torchChecks(view());
    expect(checks).toEqual([{ what: 'PyTorch in /usr/bin/python3', ok: false, detail: NO_TORCH.problem, fix: NO_TORCH.fix.cli }]);
  });

  it('comes after cuda in the report, and is started only when its Python has PyTorch', async () => {
    const started: string[] = [];
    const probe: ProviderProbe = async (provider) => (started.push(provider), { code: 0, stdout: '{}', stderr: '' });
    const missing = await runDoctor(view(), probe);
    expect(missing.providers.map((p) => p.provider)).toEqual(['cpu', 'webgpu', 'cuda', 'torch']);
    expect(missing.providers[3].start).toEqual({ ok: false, skipped: true, reason: NO_TORCH.problem });
    expect(started).not.toContain('torch');
    const text = renderDoctor(missing);
    expect(text).toContain(`torch: not available\n  ✗ PyTorch in /usr/bin/python3: ${NO_TORCH.problem}\n      fix: ${NO_TORCH.fix.cli}`);

    started.length = 0;
    const present = await runDoctor(view(undefined, withTorch(true, ['NVIDIA H200'])), probe);
    expect(started.at(-1)).toBe('torch');
    expect(present.providers[3]).toMatchObject({ provider: 'torch', start: { ok: true } });
    expect(renderDoctor(present)).toMatch(/^torch: ok\n {2}✓ PyTorch in \/opt\/venv\/bin\/python: torch 2\.5\.1\+cu124\n {2}✓ CUDA devices PyTorch sees: cuda:0 \(NVIDIA H200\)/m);
  });
});

describe('provider start probe', () => {
  it('keeps native warnings in the report and takes the reason from the error line', () => {
    const stderr = [
      'Warning: loader_scanned_icd_add: Could not get "vkCreateInstance" via "vk_icdGetInstanceProcAddr"',
      '2026-11-27 08:00:00.000 [W:onnxruntime:, session_state.cc:1280] Some nodes were not assigned to the preferred execution providers',
      'error: The webgpu execution provider could not start for m.onnx (webgpu: Failed to get a WebGPU adapter).',
      'fix: Use --provider auto or --provider cpu.',
    ].join('\n');
    const start = probeOutcome({ code: 1, stdout: '', stderr });
    expect(start.ok).toBe(false);
    expect(start.reason).toContain('Failed to get a WebGPU adapter');
    expect(start.nativeLog).toEqual(stderr.split('\n').slice(0, 2));
    expect(probeOutcome({ code: 0, stdout: '{}', stderr: '' })).toEqual({ ok: true });
    expect(probeOutcome({ code: null, stdout: '', stderr: '' })).toMatchObject({ ok: false, reason: 'exited with code unknown' });
  });
});

describe('seer doctor on this machine', () => {
  it('starts cpu, gives a reason for every provider that did not start, and prints nothing native', () => {
    const r = runSeer(['doctor', '--json', '--bundle', BUNDLE_DIR], { timeoutMs: 180_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.providers.map((p) => p.provider)).toEqual(['cpu', 'webgpu', 'cuda', 'torch']);
    const cpu = report.providers[0];
    expect(cpu.start).toMatchObject({ ok: true });
    expect(cpu.checks.every((c) => c.ok)).toBe(true);
    for (const p of report.providers.filter((x) => !x.start?.ok)) {
      expect(p.start?.reason, p.provider).toMatch(/\w{3,}/);
      // Not tried means a check failed, and each failed check says how to fix it.
      if (p.start?.skipped) expect(p.checks.some((c) => !c.ok && c.fix), p.provider).toBe(true);
    }
  }, 200_000);

  it('prints a readable report with the fix under each missing piece', () => {
    const r = runSeer(['doctor', '--bundle', BUNDLE_DIR], { timeoutMs: 180_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^cpu: ok$/m);
    expect(r.stdout).toMatch(/^webgpu: (ok|not available|failed)$/m);
    // Every ✗ line is followed by its fix.
    const lines = r.stdout.split('\n');
    lines.forEach((l, i) => {
      if (l.trimStart().startsWith('✗')) expect(lines[i + 1], l).toMatch(/^\s+fix: \S/);
    });
  }, 200_000);
});
