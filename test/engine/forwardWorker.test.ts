// The forward in a worker thread: the same outputs as a session on this thread, this thread left free while it
// runs (the reason it exists: onnxruntime-node's run() holds the thread it runs on), ORT's errors passed on.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForwardWorker } from '../../engine/src/runtime/forwardWorker';
import { matmulModelBytes } from '../../engine/src/runtime/matmulModel';

const N = 1280; // one N³ MatMul on one thread: a forward of ~0.1-0.5 s on the project's machines
const OPTIONS = { intraOpNumThreads: 1, logSeverityLevel: 4 as const }; // the bad-feed test's native error stays off the terminal

function square(seed: number): ort.Tensor {
  const data = new Float32Array(N * N);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919 + seed) % 1000) / 1000 - 0.5;
  return new ort.Tensor('float32', data, [N, N]);
}

/** Runs `forward` while a 5 ms interval ticks; returns the ticks seen and the forward's time. */
async function ticksDuring(forward: () => Promise<unknown>): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  await forward();
  const ms = performance.now() - t0;
  clearInterval(timer);
  return { ticks, ms };
}

let worker: ForwardWorker;
let local: ort.InferenceSession;
const feeds = { A: square(1), B: square(2) };

beforeAll(async () => {
  worker = await ForwardWorker.open(matmulModelBytes(), OPTIONS);
  local = await ort.InferenceSession.create(matmulModelBytes(), OPTIONS);
});
afterAll(async () => {
  await worker?.release();
  await local?.release();
});

describe('ForwardWorker', () => {
  it('gives the same outputs as a session on this thread', async () => {
    expect(worker.inputNames).toEqual(['A', 'B']);
    expect(worker.outputNames).toEqual(['C']);
    const [mine, theirs] = [await local.run(feeds), await worker.run(feeds, ['C'])];
    expect(theirs.C.dims).toEqual([N, N]);
    expect(theirs.C.type).toBe('float32');
    const bytes = (t: ort.Tensor) => Buffer.from((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, (t.data as Float32Array).byteLength);
    expect(bytes(theirs.C).equals(bytes(mine.C))).toBe(true);
    expect(bytes(theirs.C).equals(bytes(new ort.Tensor('float32', new Float32Array(N * N), [N, N])))).toBe(false); // not all zeros
  });

  it('leaves this thread free during a forward, which a session on this thread does not', async () => {
    const blocked = await ticksDuring(() => local.run(feeds));
    const free = await ticksDuring(() => worker.run(feeds));
    // On this thread the interval cannot fire until run() returns; in the worker it fires throughout.
    expect(blocked.ticks).toBeLessThanOrEqual(1);
    expect(free.ticks).toBeGreaterThanOrEqual(Math.min(5, Math.floor(free.ms / 20)));
    expect(free.ticks).toBeGreaterThan(blocked.ticks);
  }, 60_000);

  it("passes on onnxruntime's error for a bad feed, and keeps working", async () => {
    await expect(worker.run({ A: feeds.A, B: new ort.Tensor('float32', new Float32Array(6), [2, 3]) })).rejects.toThrow(/dimension|shape|MatMul/i);
    expect((await worker.run(feeds)).C.dims).toEqual([N, N]);
  });

  it('rejects an invalid model at open and once released', async () => {
    await expect(ForwardWorker.open(new Uint8Array([1, 2, 3]), OPTIONS)).rejects.toThrow(/protobuf|model/i);
    const w = await ForwardWorker.open(matmulModelBytes());
    await w.release();
    await expect(w.run(feeds)).rejects.toThrow(/exited/);
  });
});
