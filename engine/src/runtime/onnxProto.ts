// Just enough of the ONNX protobuf to read it without onnxruntime: the walk that finds tensors stored outside
// the model file ("external data") and where they say their bytes are, so that the engine can check them
// before onnxruntime follows them. Field numbers are those of onnx/onnx.proto.

export interface Field {
  field: number;
  wire: number;
  /** Varint value (wire type 0). */
  value: number;
  /** Payload range (wire type 2). */
  start: number;
  end: number;
}

export function* allFields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  const varint = (): number => {
    let result = 0;
    let mult = 1;
    for (;;) {
      if (pos >= end) throw new Error('truncated protobuf');
      const b = bytes[pos++];
      result += (b & 0x7f) * mult;
      if (b < 0x80) return result;
      mult *= 128;
    }
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) yield { field, wire, value: varint(), start: pos, end: pos };
    else if (wire === 2) {
      const len = varint();
      if (pos + len > end) throw new Error('truncated protobuf');
      yield { field, wire, value: 0, start: pos, end: pos + len };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** Subgraphs (If/Loop/Scan bodies) nest; a real model nests a few levels, a crafted one could nest until the stack overflows. */
const MAX_NESTING = 64;

type Message = 'model' | 'graph' | 'node' | 'attribute' | 'function' | 'trainingInfo' | 'sparseTensor' | 'tensor';

/** Where tensors can hide: for each message, its message-typed fields that can (transitively) hold a TensorProto. */
const CHILDREN: Record<Exclude<Message, 'tensor'>, Record<number, Message>> = {
  model: { 7: 'graph', 20: 'trainingInfo', 25: 'function' },
  trainingInfo: { 1: 'graph', 2: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparseTensor' },
  function: { 7: 'node', 11: 'attribute' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparseTensor', 23: 'sparseTensor' },
  sparseTensor: { 1: 'tensor', 2: 'tensor' },
};

/** One tensor whose data lives outside the model bytes, as its TensorProto says. */
export interface ExternalDataEntry {
  tensor: string;
  /** The external_data "location" (a path relative to the model's folder); '' when absent. */
  location: string;
  /** The "offset" and "length" values as written (decimal strings in a valid model); undefined when absent. */
  offset?: string;
  length?: string;
}

/**
 * The tensors whose data lives outside the model bytes (TensorProto.data_location = EXTERNAL, or
 * external_data entries), anywhere in the model: initializers, sparse initializers, Constant attributes,
 * subgraphs, functions, training info. Throws on bytes that are not a well-formed protobuf.
 */
export function externalDataEntries(bytes: Uint8Array): ExternalDataEntry[] {
  const found: ExternalDataEntry[] = [];
  const text = (f: Field) => Buffer.from(bytes.subarray(f.start, f.end)).toString('utf8');
  const visit = (kind: Message, start: number, end: number, depth: number): void => {
    if (depth > MAX_NESTING) throw new Error(`subgraphs nested more than ${MAX_NESTING} deep`);
    if (kind === 'tensor') {
      let name = '';
      let external = false;
      const entry: Record<string, string> = {};
      for (const f of allFields(bytes, start, end)) {
        if (f.field === 8 && f.wire === 2) name = text(f);
        else if (f.field === 13 && f.wire === 2) {
          external = true;
          // StringStringEntryProto {key 1, value 2}
          let key = '';
          let value = '';
          for (const kv of allFields(bytes, f.start, f.end)) {
            if (kv.field === 1 && kv.wire === 2) key = text(kv);
            else if (kv.field === 2 && kv.wire === 2) value = text(kv);
          }
          if (key === 'location' || key === 'offset' || key === 'length') entry[key] = value;
        } else if (f.field === 14 && f.wire === 0 && f.value === 1) external = true;
      }
      if (external) found.push({ tensor: name || '(unnamed)', location: entry.location ?? '', offset: entry.offset, length: entry.length });
      return;
    }
    const children = CHILDREN[kind];
    for (const f of allFields(bytes, start, end)) {
      const child = f.wire === 2 ? children[f.field] : undefined;
      if (child) visit(child, f.start, f.end, depth + 1);
    }
  };
  visit('model', 0, bytes.length, 0);
  return found;
}
