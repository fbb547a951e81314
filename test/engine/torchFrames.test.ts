// The torch provider's wire frames as the engine reads them (engine/src/runtime/torchSession.ts FrameReader):
// however the pipe cuts the bytes into chunks, each frame comes out whole, its tensors' values as sent.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type Frame, FrameReader, pack } from '../../engine/src/runtime/torchSession';

const states = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => i / 7 - 1.5);
const ids = BigInt64Array.from([3n, -1n, 9007199254740993n]);
const frames: Buffer[] = [
  pack({ type: 'ready', numLayers: 1 }, []),
  pack({ type: 'result', id: 0 }, [['states', new ort.Tensor('float32', states, [2, 3, 5])], ['empty', new ort.Tensor('float32', new Float32Array(0), [0, 3])], ['top_ids', new ort.Tensor('int64', ids, [3])]]),
  pack({ type: 'result', id: 1 }, [['log_sum_exp', new ort.Tensor('float32', Float32Array.from([0.5]), [1])]]),
];
const wire = Buffer.concat(frames);

function read(chunkSizes: (at: number) => number): Frame[] {
  const got: Frame[] = [];
  const reader = new FrameReader((f) => got.push(f));
  for (let at = 0; at < wire.length;) {
    const n = Math.max(1, chunkSizes(at));
    reader.push(wire.subarray(at, at + n));
    at += n;
  }
  return got;
}

describe('FrameReader', () => {
  it.each([
    ['one chunk', () => wire.length],
    ['byte by byte', () => 1],
    ['chunks of 3', () => 3],
    ['chunks of 7', () => 7],
    ['uneven chunks', (at: number) => (at * 7919) % 23],
  ])('%s: every frame whole, its tensors as sent', (_what, sizes) => {
    const got = read(sizes);
    expect(got.map((f) => [f.header.type, f.header.id])).toEqual([['ready', undefined], ['result', 0], ['result', 1]]);
    expect(Object.keys(got[0].tensors)).toEqual([]);
    const { states: s, empty, top_ids: top } = got[1].tensors;
    expect(s.type).toBe('float32');
    expect(s.dims).toEqual([2, 3, 5]);
    expect(Array.from(s.data as Float32Array)).toEqual(Array.from(states));
    expect(empty.dims).toEqual([0, 3]);
    expect((empty.data as Float32Array).length).toBe(0);
    expect(top.type).toBe('int64');
    expect(Array.from(top.data as BigInt64Array)).toEqual(Array.from(ids));
    expect(Array.from(got[2].tensors.log_sum_exp.data as Float32Array)).toEqual([0.5]);
  });

  it('gives each tensor its own memory, not a view of the chunk', () => {
    const chunk = Buffer.from(wire);
    let got: Frame | undefined;
    const reader = new FrameReader((f) => (got ??= f.header.type === 'result' ? f : undefined));
    reader.push(chunk);
    chunk.fill(0);
    expect(Array.from(got!.tensors.states.data as Float32Array)).toEqual(Array.from(states));
  });
});
