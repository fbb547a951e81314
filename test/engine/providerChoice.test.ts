// What `--provider auto` picks: the measured shapes of issue 10 land on the faster side of the threshold, and
// the bundled default model's real manifest gives its real size.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseProvider, formatParameters, GPU_WORK_THRESHOLD, parameterCount } from '../../engine/src/runtime/providerChoice';

const defaultArchitecture = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'models', 'default', 'seer.json'), 'utf8')).architecture;
const DEFAULT = parameterCount(defaultArchitecture);
/** The 1.47M model the issue-10 measurements were taken on (trainer/configs/small.json, the default until 2026-11-27). */
const SMALL = parameterCount({ type: 'seer-llama', numLayers: 6, hiddenSize: 128, intermediateSize: 352, vocabSize: 2048, tiedEmbeddings: true });
const LLAMA_1B = parameterCount({ type: 'llama', numLayers: 16, hiddenSize: 2048, intermediateSize: 8192, vocabSize: 128256, tiedEmbeddings: true });

describe('parameterCount', () => {
  it('counts the default bundle at its 8.43M parameters, the small model at 1.47M and a Llama-3.2-1B shape at about 1.2-1.4B', () => {
    expect(DEFAULT).toBe(8192 * 256 + 8 * (4 * 256 * 256 + 3 * 256 * 688)); // tied embeddings; norms not counted
    expect(formatParameters(DEFAULT)).toBe('8.4M');
    expect(SMALL).toBeGreaterThan(1.3e6);
    expect(SMALL).toBeLessThan(1.7e6);
    // No key/value-head count in the manifest: attention is counted as 4·H², so GQA models come out a little high.
    expect(LLAMA_1B).toBeGreaterThan(1.2e9);
    expect(LLAMA_1B).toBeLessThan(1.4e9);
    expect(formatParameters(SMALL)).toBe('1.5M');
  });

  it('counts an untied LM head and a two-matrix MLP', () => {
    const base = { type: 'llama', numLayers: 2, hiddenSize: 8, intermediateSize: 16, vocabSize: 100 };
    expect(parameterCount({ ...base, tiedEmbeddings: false }) - parameterCount({ ...base, tiedEmbeddings: true })).toBe(800);
    expect(parameterCount({ ...base, tiedEmbeddings: true }) - parameterCount({ ...base, type: 'gpt2', tiedEmbeddings: true })).toBe(2 * 8 * 16); // one H×I matrix per block
  });
});

describe('chooseProvider', () => {
  const all = ['cuda', 'webgpu', 'cpu'] as const;
  const webgpuAndCpu = ['webgpu', 'cpu'] as const;

  it('keeps the 1.5M model at 128 tokens × batch 1 on CPU (measured: CPU 4.3 ms, WebGPU 5.7 ms) and says why', () => {
    const pick = chooseProvider(webgpuAndCpu, { parameters: SMALL, tokens: 128, batch: 1 });
    expect(pick.provider).toBe('cpu');
    expect(pick.reason).toMatch(/^cpu: the 1\.5M-parameter model at 128 tokens × batch 1 runs faster on CPU than on webgpu/);
  });

  it('moves the 1.5M model at batch 32 (measured: CPU 52 ms, WebGPU 22 ms) and large models to the GPU', () => {
    expect(chooseProvider(webgpuAndCpu, { parameters: SMALL, tokens: 128, batch: 32 }).provider).toBe('webgpu');
    const big = chooseProvider(webgpuAndCpu, { parameters: 208e6, tokens: 128, batch: 1 });
    expect(big.provider).toBe('webgpu');
    expect(big.reason).toMatch(/^webgpu: the 210M-parameter model/);
    expect(chooseProvider(all, { parameters: LLAMA_1B, tokens: 16, batch: 1 }).provider).toBe('cuda');
  });

  it('switches exactly at the threshold', () => {
    expect(chooseProvider(all, { parameters: GPU_WORK_THRESHOLD - 1, tokens: 1, batch: 1 }).provider).toBe('cpu');
    expect(chooseProvider(all, { parameters: GPU_WORK_THRESHOLD, tokens: 1, batch: 1 }).provider).toBe('cuda');
  });

  it('prefers the torch provider (PyTorch on CUDA, bfloat16) to WebGPU, and onnxruntime\'s own CUDA to both', () => {
    expect(chooseProvider(['torch', 'webgpu', 'cpu'], { parameters: LLAMA_1B, tokens: 128, batch: 1 }).provider).toBe('torch');
    expect(chooseProvider(['cuda', 'torch', 'webgpu', 'cpu'], { parameters: LLAMA_1B, tokens: 128, batch: 1 }).provider).toBe('cuda');
    expect(chooseProvider(['torch', 'cpu'], { parameters: DEFAULT, tokens: 16, batch: 1 }).provider).toBe('cpu');
  });

  it('uses CPU when no GPU provider can start, and a GPU when CPU is not offered', () => {
    expect(chooseProvider(['cpu'], { parameters: LLAMA_1B, tokens: 512, batch: 32 })).toEqual({ provider: 'cpu', reason: 'cpu: no GPU provider can start here' });
    expect(chooseProvider(['webgpu'], { parameters: DEFAULT, tokens: 1, batch: 1 }).provider).toBe('webgpu');
  });
});

describe('openWithProvider with auto', () => {
  it('keeps a forward too small for a GPU on CPU on any machine, says why, and gives a reason for each provider not used', async () => {
    const { openWithProvider } = await import('../../engine/src/runtime/providers');
    const { matmulModelBytes } = await import('../../engine/src/runtime/matmulModel');
    const opened = await openWithProvider(matmulModelBytes(), 'matmul.onnx', 'auto', { autoShape: { parameters: DEFAULT, tokens: 16, batch: 1 } });
    try {
      expect(opened.report.used).toBe('cpu');
      expect(opened.report.reason).toMatch(/^cpu: /);
      for (const a of opened.report.attempts.filter((x) => x.provider !== 'cpu')) expect(a.reason, a.provider).toMatch(/\w{3,}/);
      expect(opened.report.attempts.map((a) => a.provider)).toEqual(['cuda', 'torch', 'webgpu', 'cpu']);
      // A small model does not pay for starting Python to ask PyTorch about CUDA.
      expect(opened.report.attempts[1].reason).toBe('used by auto only for models of 100M parameters or more (starting Python and PyTorch takes seconds)');
    } finally {
      await opened.session.release();
    }
    // An explicit choice is not second-guessed, so it carries no reason.
    const explicit = await openWithProvider(matmulModelBytes(), 'matmul.onnx', 'cpu', { autoShape: { parameters: DEFAULT, tokens: 16, batch: 1 } });
    expect(explicit.report.reason).toBeUndefined();
    await explicit.session.release();
  });
});

describe('openWithProvider with auto and a large model: the torch provider', () => {
  const large = { parameters: LLAMA_1B, tokens: 128, batch: 1 };
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-auto-torch-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A stand-in "Python": the probe answers as given; serving fails with `message` on stderr. */
  function fakePython(probe: object, message: string): string {
    const file = path.join(tmp, `python-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, `#!/bin/sh\ncase "$*" in *--probe*) echo '${JSON.stringify(probe)}'; exit 0;; esac\necho '${message}' >&2\nexit 1\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it('never starts Python for the default model, even where its forward is large enough for a GPU', async () => {
    const { openWithProvider } = await import('../../engine/src/runtime/providers');
    const { matmulModelBytes } = await import('../../engine/src/runtime/matmulModel');
    const python = fakePython({ torch: '2.5.1', cuda: true, devices: ['Fake GPU'] }, 'not reached');
    const marker = path.join(tmp, 'probed');
    writeFileSync(python, `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
    const shape = { parameters: DEFAULT, tokens: 128, batch: 32 };
    expect(shape.parameters * shape.tokens * shape.batch).toBeGreaterThan(GPU_WORK_THRESHOLD);
    const opened = await openWithProvider(matmulModelBytes(), 'matmul.onnx', 'auto', { autoShape: shape, torch: { bundleDir: tmp, python } });
    await opened.session.release();
    expect(opened.report.attempts.find((a) => a.provider === 'torch')!.reason).toMatch(/^used by auto only for models of 100M parameters or more/);
    expect(existsSync(marker)).toBe(false);
  });

  it('asks PyTorch only for a large model; without a CUDA device it is skipped with the reason', async () => {
    const { openWithProvider } = await import('../../engine/src/runtime/providers');
    const { matmulModelBytes } = await import('../../engine/src/runtime/matmulModel');
    const python = fakePython({ torch: '2.5.1', cuda: false, devices: [] }, 'not reached');
    const opened = await openWithProvider(matmulModelBytes(), 'matmul.onnx', 'auto', { autoShape: large, torch: { bundleDir: tmp, python } });
    try {
      expect(opened.report.attempts.find((a) => a.provider === 'torch')).toEqual({ provider: 'torch', ok: false, reason: `PyTorch 2.5.1 in ${python} sees no CUDA device` });
    } finally {
      await opened.session.release();
    }
  });

  it('tries it after CUDA and before WebGPU when PyTorch sees a GPU; a failed start is recorded and the next one used', async () => {
    const { openWithProvider } = await import('../../engine/src/runtime/providers');
    const { matmulModelBytes } = await import('../../engine/src/runtime/matmulModel');
    const python = fakePython({ torch: '2.5.1', cuda: true, devices: ['Fake GPU'] }, 'RuntimeError: CUDA driver version is insufficient');
    const opened = await openWithProvider(matmulModelBytes(), 'matmul.onnx', 'auto', { autoShape: large, torch: { bundleDir: tmp, python } });
    try {
      const names = opened.report.attempts.map((a) => a.provider);
      expect(names.slice(0, 2)).toEqual(['cuda', 'torch']);
      const torch = opened.report.attempts[1];
      expect(torch.ok).toBe(false);
      expect(torch.reason).toMatch(/exited with code 1: RuntimeError: CUDA driver version is insufficient/);
      expect(opened.report.attempts.at(-1)!.ok).toBe(true);
    } finally {
      await opened.session.release();
    }
  });

  it('with no Python named, the first candidate whose PyTorch sees CUDA; else the first with PyTorch; else every problem', async () => {
    const { findTorchPython } = await import('../../engine/src/runtime/torchSession');
    const broken = path.join(tmp, 'no-such-python');
    const cpuOnly = fakePython({ torch: '2.5.1', cuda: false, devices: [] }, 'not reached');
    const gpu = fakePython({ torch: '2.11.0', cuda: true, devices: ['Fake GPU'] }, 'not reached');
    // As on the GPU machine measured: Debian's python3 first (no PyTorch there), the one on PATH with CUDA.
    expect(await findTorchPython(undefined, undefined, [broken, cpuOnly, gpu])).toMatchObject({ ok: true, python: gpu, cuda: true });
    expect(await findTorchPython(undefined, undefined, [broken, cpuOnly])).toMatchObject({ ok: true, python: cpuOnly, cuda: false });
    const none = await findTorchPython(undefined, undefined, [broken, path.join(tmp, 'another-missing')]);
    expect(none.ok).toBe(false);
    expect(!none.ok && none.problem).toMatch(/no-such-python" was not found; also tried .*another-missing/);
    // A named Python is the only one asked.
    expect(await findTorchPython(cpuOnly, undefined, [gpu])).toMatchObject({ python: cpuOnly, cuda: false });
  });

  it('pythonCandidates: $SEER_PYTHON alone; else Debian\'s and the one first on PATH, once each', async () => {
    const { pythonCandidates } = await import('../../engine/src/importer');
    expect(pythonCandidates({ SEER_PYTHON: '/opt/py/bin/python3', PATH: '/usr/bin' })).toEqual(['/opt/py/bin/python3']);
    const venv = path.join(tmp, 'venv-bin');
    mkdirSync(venv, { recursive: true });
    writeFileSync(path.join(venv, 'python3'), '#!/bin/sh\n');
    const debian = existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : [];
    expect(pythonCandidates({ PATH: `${venv}${path.delimiter}/usr/bin` })).toEqual([...debian, path.join(venv, 'python3')]);
    expect(pythonCandidates({ PATH: '/usr/bin' })).toEqual(debian.length ? debian : ['python3']); // the same file once
  });
});
