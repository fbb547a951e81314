// An onnxruntime session in a worker thread. onnxruntime-node 1.30's session.run() is synchronous native code
// behind a setImmediate: it holds the JS thread for the whole forward (measured: a 10 ms setInterval did not
// tick once during 0.63-1.27 s forwards of a 2560³ MatMul; see docs/architecture.md). Run in a Worker, the
// forward leaves the engine's thread free for progress notifications and cancel requests.
// Same run(feeds, fetches) shape as ort.InferenceSession; tensors cross the thread boundary as typed arrays.
// A generation's KV cache stays in the worker (Carry): it grows with every step, and copying it to the engine's
// thread and back each step would cost more than the step's own new token.
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

/**
 * Outputs a run keeps in the worker, renamed as the inputs they feed, for the next run of the same sequence: a
 * generation's present_key_i becomes its next step's past_key_i (docs/bundle-format.md). Kept per sequence id,
 * replaced by each run, until forget(id).
 */
export interface Carry {
  id: number;
  /** Also feed what the previous run of this sequence kept. */
  resume: boolean;
  /** Output name -> the input it feeds next time. */
  keep: Record<string, string>;
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
const kept = new Map(); // sequence id -> { input name: tensor } (Carry)
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
      const carry = args.carry;
      if (carry?.resume) {
        if (!kept.has(carry.id)) throw new Error('sequence ' + carry.id + ' has no kept tensors to resume from');
        Object.assign(feeds, kept.get(carry.id));
      }
      const fetches = args.fetches ?? session.outputNames;
      const out = await session.run(feeds, carry ? [...fetches, ...Object.keys(carry.keep)] : fetches);
      if (carry) kept.set(carry.id, Object.fromEntries(Object.entries(carry.keep).map(([output, input]) => [input, out[output]])));
      value = {};
      for (const name of fetches) value[name] = wire(out[name]);
    } else if (op === 'forget') {
      kept.delete(args.id);
    } else if (op === 'release') {
      await session?.release();
      session = null;
      kept.clear();
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

  /** Runs the session; with `carry`, keeps outputs in the worker for the sequence's next run (Carry). */
  async run(feeds: Feeds, fetches?: readonly string[], carry?: Carry): Promise<Results> {
    const wired: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(feeds)) wired[name] = { type: t.type, data: t.data, dims: t.dims };
    const out = await this.call('run', { feeds: wired, fetches, carry }) as Record<string, WireTensor>;
    const results: Results = {};
    for (const [name, t] of Object.entries(out)) results[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    return results;
  }

  /** Drops the tensors kept for sequence `id`. */
  async forget(id: number): Promise<void> {
    if (!this.dead) await this.call('forget', { id });
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
