// `npm run bench -- --gpu` on a machine without a GPU: it stops with the reason, and its --cpu-only --torch path
// (the same code, the CPU provider and the torch provider on CPU PyTorch, no PyTorch CUDA column) measures the default bundle and a random checkpoint imported through
// `seer import`, writing both result files. Small shapes keep it short; the GPU run uses the issue's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_DIR, ROOT } from '../engine/helpers';
import { trainerMissing } from '../engine/trainerBundle';

const hasGpu = spawnSync('nvidia-smi', ['-L']).status === 0;
const noTrainer = trainerMissing();
const dir = mkdtempSync(path.join(os.tmpdir(), 'seer-gpu-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), '--gpu', ...args], {
    encoding: 'utf8', timeout: 280_000, env: { ...process.env, SEER_PYTHON: process.env.SEER_PYTHON ?? '/usr/bin/python3' },
  });
}

describe('the GPU benchmark', () => {
  it.skipIf(hasGpu)('stops with the reason on a machine without a GPU', () => {
    const r = bench(['--quick', '--default-bundle', BUNDLE_DIR, '--out', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: no GPU: `nvidia-smi` found none on this machine\..*--cpu-only/m);
  });

  it.skipIf(Boolean(noTrainer))('measures the CPU and torch-provider rows of the default bundle and an imported checkpoint with --cpu-only --torch', () => {
    const out = path.join(dir, 'out');
    const r = bench(['--cpu-only', '--torch', '--quick', '--models', 'default,tiny', '--tokens', '16,48', '--batches', '1,4',
      '--default-bundle', BUNDLE_DIR, '--out', out, '--work', path.join(dir, 'work')]);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(path.join(out, 'results-gpu.json'), 'utf8'));
    expect(json.cpuOnly).toBe(true);
    expect(json.machine.cpu).toMatch(/× \d+$/);
    expect(json.models.map((m: { name: string }) => m.name)).toEqual(['default', 'tiny (random weights, fp32)']);
    const [def, tiny] = json.models;
    // gpu_checkpoint.py's exact count for its tiny shape: embeddings 8192×64 (the default tokenizer's vocabulary) + 2 blocks + final norm.
    expect(tiny).toMatchObject({ parameters: 8192 * 64 + 2 * (2 * 64 + 64 * 64 * 2 + 32 * 64 * 2 + 3 * 64 * 160) + 64, parametersExact: true, dtype: 'float32' });
    expect(tiny.importSeconds).toBeGreaterThan(0);
    for (const m of [def, tiny]) {
      expect(m.providers).toHaveLength(2);
      expect(m.providers[0]).toMatchObject({ requested: 'torch', used: 'torch', torch: { device: 'cpu', dtype: 'float32' } });
      expect(m.providers[0].torch.peakRssMiB).toBeGreaterThan(50); // the Python process, torch loaded
      expect(m.providers[0].torch.anonRssMiB).toBeLessThanOrEqual(m.providers[0].torch.peakRssMiB);
      expect(m.providers[1]).toMatchObject({ requested: 'cpu', used: 'cpu' });
      expect(m.providers[1].torch).toBeUndefined();
      for (const p of m.providers) expect(p.firstExplainMs).toBeGreaterThan(0);
      const shapes = ['16x1', '16x4', '48x1', '48x4'];
      expect(m.rows.map((row: { provider: string; tokens: number; batch: number }) => `${row.provider} ${row.tokens}x${row.batch}`))
        .toEqual([...shapes.map((x) => `torch ${x}`), ...shapes.map((x) => `cpu ${x}`)]);
      for (const row of m.rows) {
        expect(row.computeDtype).toBe('float32');
        // The torch provider's rows say how much of each explain was PyTorch's forward: part of it, not more.
        if (row.provider === 'torch') {
          expect(row.pytorchMs.p50).toBeGreaterThan(0);
          expect(row.pytorchMs.p50).toBeLessThanOrEqual(row.engineMs.p95);
          // …and where that went (medians of each part: their sum need not be the median of the whole).
          expect(Object.keys(row.pytorchPartsMs).sort()).toEqual(['check', 'launch', 'wait', 'wire']);
          expect(row.pytorchPartsMs.launch).toBeGreaterThan(0); // the forward on the CPU: launching is running it
        } else expect(row.pytorchMs).toBeUndefined();
        expect(row.engineMs.p95).toBeGreaterThanOrEqual(row.engineMs.p50);
        expect(row.engineMs.p50).toBeGreaterThan(0);
        expect(row.torchCudaMs).toBeNull(); // no PyTorch CUDA here: not measured, not invented
      }
    }
    const md = readFileSync(path.join(out, 'RESULTS-gpu.md'), 'utf8');
    expect(md).toContain('--cpu-only: CPU and the torch provider on CPU PyTorch');
    expect(md).toMatch(/^- torch: load [\d.]+ ms .* MiB in the PyTorch process \(cpu, float32, torch /m);
    // The torch row says where PyTorch's part went: check / launch / wait; + the pipe.
    expect(md).toMatch(/^\| torch \| 48 × 4 \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \/ [\d.]+; \+ [\d.]+ \| — \| — \| — \|$/m);
    expect(md).toMatch(/^\| cpu \| 48 × 4 \| [\d.]+ \/ [\d.]+ \| — \| — \| — \| — \| — \|$/m);
  }, 300_000);
});
