// Vectors in bundle JSON files as {"encoding", "data"}: little-endian floats, base64. A bank's prototypes (float32,
// bank format 2: exact, and a quarter of the bytes of 17-digit decimals: a bank for an 8B model 7.2 MB, not 28.9)
// and a concept map's example vectors (float16: half that again) are stored so.
import { getFloat16, setFloat16 } from '@petamoriken/float16';

/** Bytes per value of each encoding. */
export const PACKED_ENCODINGS = { 'float32-le-base64': 4, 'float16-le-base64': 2 } as const;
export type PackedEncoding = keyof typeof PACKED_ENCODINGS;

export interface PackedFloats {
  encoding: PackedEncoding;
  data: string;
}

/** `rows`, one after another, in `encoding` (float16 rounds each value to the nearest float16). */
export function packFloats(rows: ArrayLike<number>[], encoding: PackedEncoding): PackedFloats {
  const width = PACKED_ENCODINGS[encoding];
  const count = rows.reduce((n, r) => n + r.length, 0);
  const view = new DataView(new ArrayBuffer(count * width));
  let k = 0;
  for (const row of rows) {
    for (let j = 0; j < row.length; j++, k++) {
      if (width === 2) setFloat16(view, k * 2, row[j], true);
      else view.setFloat32(k * 4, row[j], true);
    }
  }
  return { encoding, data: Buffer.from(view.buffer).toString('base64') };
}

/** The values of `bytes` (already checked to be a whole number of values) as float32. */
export function unpackFloats(bytes: Uint8Array, encoding: PackedEncoding): Float32Array {
  const width = PACKED_ENCODINGS[encoding];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / width);
  for (let k = 0; k < out.length; k++) out[k] = width === 2 ? getFloat16(view, k * 2, true) : view.getFloat32(k * 4, true);
  return out;
}
