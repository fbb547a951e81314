// Next-token logits for the last position only: final RMSNorm (in JS) then the tied LM head as one ORT MatMul
// over the batch's last tokens. Fetching the model's own `logits` output instead materialises
// batch × seq × vocab floats, which on CPU costs about as much as the rest of the forward pass. The weights are
// read from the ONNX initializers by the trainer's parameter names (docs/bundle-format.md: final RMSNorm, tied
// LM head), and ModelSession only uses the head after it has reproduced ORT's logits on a probe input.
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../bundle/manifest';
import { matmulModelBytes } from './matmulModel';
import { allFields, fields } from './onnxProto';

export const EMBEDDING = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm.weight';

export class LastTokenHead {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly normWeight: Float32Array,
    private readonly hidden: number,
    private readonly eps: number,
  ) {}

  /** The head of a tied-embedding model, or null when its weights are not found with the expected shapes. */
  static async fromOnnx(model: Uint8Array, manifest: Manifest): Promise<LastTokenHead | null> {
    const { vocabSize, hiddenSize, normEps, tiedEmbeddings } = manifest.architecture;
    if (!tiedEmbeddings) return null;
    const found = readFloatInitializers(model, new Set([EMBEDDING, FINAL_NORM]));
    const emb = found.get(EMBEDDING);
    const norm = found.get(FINAL_NORM);
    if (!emb || !norm || emb.length !== vocabSize * hiddenSize || norm.length !== hiddenSize) return null;
    const transposed = new Float32Array(hiddenSize * vocabSize); // MatMul wants [hidden, vocab]
    for (let v = 0; v < vocabSize; v++) for (let i = 0; i < hiddenSize; i++) transposed[i * vocabSize + v] = emb[v * hiddenSize + i];
    // One thread: the product is small, and a second thread pool would compete with the model's.
    const session = await ort.InferenceSession.create(matmulModelBytes('rows', hiddenSize, vocabSize, transposed), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new LastTokenHead(session, norm, hiddenSize, normEps);
  }

  /** Logits [offsets.length, vocab] for the hidden vectors at `offsets` of `hidden` (the last layer's residual stream). */
  async logits(hidden: Float32Array, offsets: number[]): Promise<Float32Array> {
    const H = this.hidden;
    const normed = new Float32Array(offsets.length * H);
    offsets.forEach((offset, r) => {
      let sq = 0;
      for (let i = 0; i < H; i++) sq += hidden[offset + i] * hidden[offset + i];
      const scale = 1 / Math.sqrt(sq / H + this.eps);
      for (let i = 0; i < H; i++) normed[r * H + i] = hidden[offset + i] * scale * this.normWeight[i];
    });
    const out = await this.session.run({ A: new ort.Tensor('float32', normed, [offsets.length, H]) });
    return out.C.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Float32 initializers with the given names, read straight from the ONNX protobuf:
 * ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto {data_type 2, float_data 4, name 8, raw_data 9}.
 */
export function readFloatInitializers(bytes: Uint8Array, names: Set<string>): Map<string, Float32Array> {
  const found = new Map<string, Float32Array>();
  for (const graph of fields(bytes, 0, bytes.length, 7)) {
    for (const init of fields(bytes, graph.start, graph.end, 5)) {
      let name = '';
      let type = 0;
      let data: { start: number; end: number } | null = null;
      for (const f of allFields(bytes, init.start, init.end)) {
        if (f.field === 8 && f.wire === 2) name = Buffer.from(bytes.subarray(f.start, f.end)).toString('utf8');
        else if (f.field === 2 && f.wire === 0) type = f.value;
        else if ((f.field === 9 || f.field === 4) && f.wire === 2) data = f;
      }
      if (names.has(name) && type === 1 /* FLOAT */ && data && (data.end - data.start) % 4 === 0) {
        // A fresh (4-byte aligned) copy; protobuf stores floats little-endian, as do the CPUs Node runs on.
        const copy = new Uint8Array(data.end - data.start);
        copy.set(bytes.subarray(data.start, data.end));
        found.set(name, new Float32Array(copy.buffer));
      }
    }
  }
  return found;
}
