// A single-MatMul ONNX model encoded in code (protobuf written by hand), so that the matrix-multiply
// throughput benchmark (bench/measure.ts) needs neither Python nor a model file on disk.

type Bytes = Uint8Array;

function concat(parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function varint(n: number): Bytes {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const int = (field: number, n: number) => concat([key(field, 0), varint(n)]);
const bytes = (field: number, ...payload: Bytes[]) => {
  const body = concat(payload);
  return concat([key(field, 2), varint(body.length), body]);
};
const str = (field: number, s: string) => bytes(field, new TextEncoder().encode(s));

/** ValueInfoProto of a float tensor. Dimension: a number is a fixed size, a string a symbolic (dynamic) one. */
function tensorValueInfo(name: string, dims: Array<number | string>): Bytes {
  const shape = dims.map((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = concat([int(1, 1 /* FLOAT */), bytes(2, ...shape)]);
  return concat([str(1, name), bytes(2, bytes(1, tensorType))]);
}

/** ONNX bytes of C = A·B with A [m, k], B [k, n] (dims may be symbolic), opset 13. */
export function matmulModelBytes(m: number | string = 'm', k: number | string = 'k', n: number | string = 'n'): Uint8Array {
  const node = concat([str(1, 'A'), str(1, 'B'), str(2, 'C'), str(3, 'matmul'), str(4, 'MatMul')]);
  const inputs = concat([bytes(11, tensorValueInfo('A', [m, k])), bytes(11, tensorValueInfo('B', [k, n]))]);
  const graph = concat([bytes(1, node), str(2, 'matmul'), inputs, bytes(12, tensorValueInfo('C', [m, n]))]);
  return concat([int(1, 8 /* IR version */), str(2, 'seer'), bytes(7, graph), bytes(8, str(1, ''), int(2, 13))]);
}
