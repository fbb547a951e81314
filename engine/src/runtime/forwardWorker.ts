// An onnxruntime session in a worker thread. onnxruntime-node 1.30's session.run() is synchronous native code
// behind a setImmediate: it holds the JS thread for the whole forward (measured: a 10 ms setInterval did not
// tick once during 0.63-1.27 s forwards of a 2560³ MatMul; see docs/architecture.md). Run in a Worker, the
// forward leaves the engine's thread free for progress notifications and cancel requests.
// Same run(feeds, fetches) shape as ort.InferenceSession; tensors cross the thread boundary as typed arrays.
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** The worker thread's stack (see open()). */
const WORKER_STACK_MB = 64;

type Feeds = Record<string, ort.Tensor>;
type Results = Record<string, ort.Tensor>;

/** A tensor as it crosses threads (structured clone copies its data). */
interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string };

// The worker's side, as CommonJS source (no separate bundle entry): onnxruntime-node is required by the
// absolute path the parent resolved, so the worker finds the same native addon wherever it runs from.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
let session = null;
const wire = (t) => ({ type: t.type, data: t.data, dims: t.dims });
parentPort.on('message', async ({ id, op, args }) => {
  try {
    let value = null;
    if (op === 'open') {
      session = await ort.InferenceSession.create(args.model, args.options);
      const meta = (list) => list.map((m) => ({ ...m, ...(m.shape ? { shape: [...m.shape] } : {}) }));
      value = { inputNames: session.inputNames, outputNames: session.outputNames,
                inputMetadata: meta(session.inputMetadata), outputMetadata: meta(session.outputMetadata) };
    } else if (op === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(args.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds, args.fetches);
      value = {};
      for (const [name, t] of Object.entries(out)) value[name] = wire(t);
    } else if (op === 'release') {
      await session?.release();
      session = null;
    }
    parentPort.postMessage({ id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});
`;

export class ForwardWorker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private dead: Error | null = null;
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[] = [];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.message));
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`the forward worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the forward worker exited (code ${code})`)));
  }

  /** Opens `model` (ONNX bytes, copied to the worker, or a file path) with `options` in a new worker thread. */
  static async open(model: Uint8Array | string, options: ort.InferenceSession.SessionOptions = {}): Promise<ForwardWorker> {
    // onnxruntime recurses deeply in native code on long inputs: a worker's default 4 MB stack overflowed (segfault)
    // on a 512-token explain of the 1.5M default model, where the main thread's 8 MB did not.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: require.resolve('onnxruntime-node') }, resourceLimits: { stackSizeMb: WORKER_STACK_MB } });
    const fw = new ForwardWorker(worker);
    try {
      const names = await fw.call('open', { model, options }) as Pick<ForwardWorker, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;
      fw.inputNames = names.inputNames;
      fw.outputNames = names.outputNames;
      fw.inputMetadata = names.inputMetadata;
      fw.outputMetadata = names.outputMetadata;
      return fw;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    const wired: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) wired[name] = { type: t.type, data: t.data, dims: t.dims };
    const out = await this.call('run', { feeds: wired, fetches }) as Record<string, WireTensor>;
    const results: Results = {};
    for (const [name, t] of Object.entries(out)) results[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    return results;
  }

  /** Releases the session and ends the thread. */
  async release(): Promise<void> {
    if (!this.dead) await this.call('release', {}).catch(() => undefined);
    await this.worker.terminate();
  }

  private call(op: string, args: unknown): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }
}
