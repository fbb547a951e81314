// Reading a prompt's per-layer representation out of the [numLayers+1, batch, seq, hidden] hidden states:
// the last real token (the paper) or the mean over real tokens. Right padding: row b's real tokens are 0..len-1.
import type { Pooling } from '../../common/protocol';
import type { ForwardOutput } from './runtime/modelSession';

/** Offset of hidden[layer][b][t][0] in the flat buffer. */
export function hiddenOffset(out: ForwardOutput, hiddenSize: number, layer: number, b: number, t: number): number {
  return ((layer * out.batch + b) * out.seq + t) * hiddenSize;
}

export interface PoolAt {
  hiddenSize: number;
  layer: number;
  /** The batch row. */
  row: number;
  /** The row's real (unpadded) token count. */
  tokens: number;
  pooling: Pooling;
}

/** Pooled representation of one row at one layer, as a new Float32Array (not normalised). */
export function pool(out: ForwardOutput, { hiddenSize, layer, row: b, tokens: len, pooling }: PoolAt): Float32Array {
  if (pooling === 'last') {
    const o = hiddenOffset(out, hiddenSize, layer, b, len - 1);
    return out.hidden.slice(o, o + hiddenSize);
  }
  const acc = new Float64Array(hiddenSize);
  for (let t = 0; t < len; t++) {
    const o = hiddenOffset(out, hiddenSize, layer, b, t);
    for (let i = 0; i < hiddenSize; i++) acc[i] += out.hidden[o + i];
  }
  const mean = new Float32Array(hiddenSize);
  for (let i = 0; i < hiddenSize; i++) mean[i] = acc[i] / len;
  return mean;
}
