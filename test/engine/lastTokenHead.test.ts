// The JS last-token head (final RMSNorm + tied LM head from the ONNX initializers) against ORT's own logits
// output and the PyTorch golden logits; and its refusal when the weights are not there.
import { promises as fs } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../../engine/src/bundle/index';
import { LastTokenHead } from '../../engine/src/runtime/lastTokenHead';
import { matmulModelBytes } from '../../engine/src/runtime/matmulModel';
import { ModelSession } from '../../engine/src/runtime/modelSession';
import { BUNDLE_DIR, readGolden } from './helpers';

describe('LastTokenHead', () => {
  it('reproduces ORT\'s logits output and the PyTorch golden logits at the last position', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    const bytes = await fs.readFile(bundle.modelFile);
    const head = await LastTokenHead.fromOnnx(bytes, bundle.manifest);
    expect(head).not.toBeNull();
    const { numLayers, hiddenSize, vocabSize } = bundle.manifest.architecture;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const golden = readGolden();
    for (let g = 0; g < golden.inputs.length; g++) {
      const ids = golden.inputs[g].input_ids;
      const T = ids.length;
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids, () => 1n), [1, T]),
      });
      const mine = await head!.logits(out.hidden_states.data as Float32Array, [(numLayers * T + T - 1) * hiddenSize]);
      const orts = (out.logits.data as Float32Array).subarray((T - 1) * vocabSize, T * vocabSize);
      let maxOrt = 0;
      let maxGolden = 0;
      for (let v = 0; v < vocabSize; v++) {
        maxOrt = Math.max(maxOrt, Math.abs(mine[v] - orts[v]));
        maxGolden = Math.max(maxGolden, Math.abs(mine[v] - golden.last_logits[g][v]));
      }
      expect(maxOrt).toBeLessThan(1e-4);
      expect(maxGolden).toBeLessThan(1e-3);
    }
    await session.release();
    await head!.release();
  });

  it('is used by the model session for the default bundle', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    const model = await ModelSession.open(bundle.manifest, bundle.modelFile, 'cpu', {});
    expect(model.head).not.toBeNull();
    await model.release();
  });

  it('is not built from a model without the expected weights (ORT\'s logits are used instead)', async () => {
    const bundle = await loadBundle(BUNDLE_DIR);
    expect(await LastTokenHead.fromOnnx(matmulModelBytes(), bundle.manifest)).toBeNull();
  });
});
