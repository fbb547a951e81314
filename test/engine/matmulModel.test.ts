// The hand-encoded single-MatMul ONNX model (used by the benchmark's matrix-multiply limit) must be a real
// model that ORT loads and computes correctly, with fixed and symbolic dimensions.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { matmulModelBytes } from '../../engine/src/runtime/matmulModel';
import { rng } from './random';

describe('matmulModelBytes', () => {
  it.each([
    ['symbolic', matmulModelBytes(), 3, 5, 4],
    ['fixed', matmulModelBytes(2, 300, 7), 2, 300, 7],
  ])('%s dimensions: ORT computes A·B', async (_name, bytes, m, k, n) => {
    const rand = rng(3);
    const a = Float32Array.from({ length: m * k }, () => rand() - 0.5);
    const b = Float32Array.from({ length: k * n }, () => rand() - 0.5);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const out = await session.run({ A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [k, n]) });
    await session.release();
    expect(out.C.dims).toEqual([m, n]);
    const c = out.C.data as Float32Array;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let x = 0; x < k; x++) s += a[i * k + x] * b[x * n + j];
        expect(c[i * n + j]).toBeCloseTo(s, 4);
      }
    }
  });
});
