// The torch provider: the bundle's forward pass on the user's PyTorch, in a Python child process
// (`python -m seer_trainer serve-forward`, trainer/seer_trainer/torch_forward.py), behind the same ForwardSession
// as onnxruntime's providers. Why: onnxruntime-node's GPU paths are WebGPU (float32 shaders, measured 4.8–43×
// slower than PyTorch bf16 on an H200: bench/RESULTS-gpu.md) and a CUDA provider that needs an online install;
// ML researchers' GPUs already run PyTorch. The Python side loads the weights from the bundle's own model.onnx
// (checked against seer.json), so both paths run the same numbers.
// Wire format (both directions; torch_forward.py's header has the details): uint32 LE header length, JSON header,
// then the header's tensors' bytes back to back. One request in flight at a time.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import type { TorchDtype, TorchRuntime } from '../../../common/protocol';
import { DeviceOutOfMemory } from '../batching';
import { defaultPython, defaultTrainerDir, forEachLine, pythonCandidates, trainerEnv } from '../importer';
import type { ForwardSession } from './providers';

export interface TorchOptions {
  /** The bundle folder (seer.json, model.onnx): the Python side reads and checks the weights itself. */
  bundleDir: string;
  python?: string;
  dtype?: TorchDtype;
  /** auto (the first CUDA device, else cpu), cpu, cuda, cuda:N. */
  device?: string;
  /** The folder whose seer_trainer serves the forwards (default: env SEER_TORCH_FORWARD_DIR, else the project's trainer/). */
  trainerDir?: string;
  /** Each line the Python process writes to stderr (its log; library warnings). */
  onLog?: (line: string) => void;
}

/** Loading an 8B model from disk onto a GPU takes a while; a process silent for longer than this is stuck. */
const LOAD_TIMEOUT_MS = 10 * 60_000;
const PROBE_TIMEOUT_MS = 60_000;
const EXIT_GRACE_MS = 5_000;
const STDERR_KEPT = 20;

interface WireTensor {
  name: string;
  dtype: 'int64' | 'float32';
  dims: number[];
  bytes: number;
}

export interface Frame {
  header: { type: string; id?: number | null; message?: string; kind?: string; tensors?: WireTensor[]; [key: string]: unknown };
  tensors: Record<string, ort.Tensor>;
}

/**
 * Splits the child's stdout into frames. A frame's tensor bytes are copied once, from the pipe's chunks straight
 * into each tensor's own typed array (a view into a chunk could be misaligned, and would pin the chunk's memory).
 */
export class FrameReader {
  /** The start of the next frame's header, while it is incomplete. */
  private head: Buffer = Buffer.alloc(0);
  private body: FrameBody | null = null;

  constructor(private readonly take: (frame: Frame) => void) {}

  push(chunk: Buffer): void {
    let rest = chunk;
    for (;;) {
      if (!this.body) {
        if (rest.length > 0) this.head = this.head.length > 0 ? Buffer.concat([this.head, rest]) : rest;
        if (this.head.length < 4) return;
        const length = this.head.readUInt32LE(0);
        if (this.head.length < 4 + length) return;
        this.body = new FrameBody(JSON.parse(this.head.subarray(4, 4 + length).toString('utf8')) as Frame['header']);
        rest = this.head.subarray(4 + length);
        this.head = Buffer.alloc(0);
      }
      rest = this.body.fill(rest);
      if (!this.body.complete) return;
      const frame = { header: this.body.header, tensors: this.body.tensors };
      this.body = null;
      this.take(frame);
    }
  }
}

/** A frame whose header has arrived, its tensors filled as their bytes come. */
class FrameBody {
  readonly tensors: Record<string, ort.Tensor> = {};
  /** Each tensor's bytes, in wire order. */
  private readonly bytes: Uint8Array[];
  private current = 0;
  private filled = 0;

  constructor(readonly header: Frame['header']) {
    this.bytes = (header.tensors ?? []).map((t) => {
      const data = t.dtype === 'float32' ? new Float32Array(t.bytes / 4) : new BigInt64Array(t.bytes / 8);
      this.tensors[t.name] = new ort.Tensor(t.dtype, data, t.dims);
      return new Uint8Array(data.buffer);
    });
    this.skipFull();
  }

  get complete(): boolean {
    return this.current === this.bytes.length;
  }

  /** Copies what it can of `chunk` into the tensors; returns the rest (the next frame's start). */
  fill(chunk: Buffer): Buffer {
    let at = 0;
    while (!this.complete && at < chunk.length) {
      const target = this.bytes[this.current];
      const n = Math.min(target.length - this.filled, chunk.length - at);
      target.set(chunk.subarray(at, at + n), this.filled);
      at += n;
      this.filled += n;
      this.skipFull();
    }
    return chunk.subarray(at);
  }

  private skipFull(): void {
    while (!this.complete && this.filled === this.bytes[this.current].length) {
      this.current++;
      this.filled = 0;
    }
  }
}

export function pack(header: object, tensors: Array<[string, ort.Tensor]>): Buffer {
  const specs: WireTensor[] = [];
  const parts: Buffer[] = [];
  for (const [name, t] of tensors) {
    if (t.type !== 'int64' && t.type !== 'float32') throw new Error(`the torch provider takes int64 and float32 inputs, not ${t.type} (${name})`); // a bug
    const data = t.data as BigInt64Array | Float32Array;
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    specs.push({ name, dtype: t.type, dims: [...t.dims], bytes: data.byteLength });
  }
  const text = Buffer.from(JSON.stringify({ ...header, tensors: specs }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length, 0);
  return Buffer.concat([length, text, ...parts]);
}

/**
 * Whether a steering tensor steers nothing: then it is not sent (the Python side reads no steering as zeros). Every
 * unsteered forward has one, [layers + 1, hidden]: 139 KB per request for a 1B model, 540 KB for an 8B, against
 * microseconds to scan it.
 */
function isAllZeros(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** The explain graph's inputs the Python side reads (docs/bundle-format.md); a KV cache's past is not sent. */
const SENT_INPUTS = ['input_ids', 'attention_mask', 'positions', 'token_layers', 'steering'];
/**
 * The reductions' vectors (ModelSession's cosine inputs), sent once and kept on the Python side by key; and how many
 * the engine counts on it still keeping (it keeps 24: torch_forward.py KeptPrototypes.KEEP), e.g. four banks'.
 */
const KEPT_INPUTS = ['token_prototypes', 'readout_prototypes', 'map_vectors'];
const KEPT_VECTORS = 12;

export class TorchSession implements ForwardSession {
  readonly inputNames = SENT_INPUTS;
  readonly outputNames = ['states', 'mean_states', 'last_logits', 'token_states'];
  readonly inputMetadata: ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: ort.InferenceSession.ValueMetadata[];
  /** Sequences rerun their whole prefix each step: the Python side keeps no KV cache. */
  readonly noCarry = true;
  /** Cosines and the top next tokens are computed in PyTorch: only they cross the pipe, not [layers, batch, (seq,) hidden] states and [batch, vocab] logits. */
  readonly reduces = true;
  private nextId = 0;
  private nextKey = 0;
  /**
   * The vectors this process has been sent (KEPT_INPUTS), most recently used last, by their number on the wire: each
   * tensor crosses the pipe once (torch_forward.py KeptPrototypes keeps more than these, so every one listed here is
   * still there).
   */
  private readonly sentVectors = new Map<ort.Tensor, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private pending: { id: number; resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private exitError: Error | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly runtime: TorchRuntime,
    shape: { numLayers: number; hiddenSize: number; vocabSize: number },
    private readonly stderrTail: string[],
  ) {
    const tensor = (name: string, type: ort.Tensor.Type, shape: Array<number | string>) => ({ name, isTensor: true, type, shape }) as ort.InferenceSession.ValueMetadata;
    const { numLayers: L, hiddenSize: H, vocabSize: V } = shape;
    this.inputMetadata = [
      tensor('input_ids', 'int64', ['batch', 'seq']), tensor('attention_mask', 'int64', ['batch', 'seq']), tensor('positions', 'int64', ['batch']),
      tensor('token_layers', 'int64', ['k']), tensor('steering', 'float32', [L + 1, H]),
    ];
    this.outputMetadata = [
      tensor('states', 'float32', [L + 1, 'batch', H]), tensor('mean_states', 'float32', [L + 1, 'batch', H]),
      tensor('last_logits', 'float32', ['batch', V]), tensor('token_states', 'float32', ['k', 'batch', 'seq', H]),
    ];
  }

  /** Starts the Python process and waits until it has loaded the model (or says why it cannot). */
  static async open(options: TorchOptions): Promise<TorchSession> {
    const python = options.python || defaultPython();
    // SEER_TORCH_FORWARD_DIR: a stand-in's folder (bench/standin-forward: `npm run bench:host` times the engine without a model).
    const trainerDir = options.trainerDir ?? process.env.SEER_TORCH_FORWARD_DIR ?? defaultTrainerDir();
    const args = ['-u', '-m', 'seer_trainer', 'serve-forward', '--bundle', options.bundleDir, '--dtype', options.dtype ?? 'auto', '--device', options.device ?? 'auto'];
    const child = spawn(python, args, { env: trainerEnv(trainerDir), stdio: ['pipe', 'pipe', 'pipe'] });
    const tail: string[] = [];
    forEachLine(child.stderr, (line) => {
      if (!line.trim()) return;
      options.onLog?.(line);
      tail.push(line);
      if (tail.length > STDERR_KEPT) tail.shift();
    });
    let session: TorchSession | null = null;
    const ready = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Python process did not load the model within ${LOAD_TIMEOUT_MS / 60_000} min`)), LOAD_TIMEOUT_MS);
      const reader = new FrameReader((frame) => {
        if (session) return session.receive(frame);
        clearTimeout(timer);
        resolve(frame);
      });
      child.stdout.on('data', (chunk: Buffer) => reader.push(chunk));
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(err.code === 'ENOENT' ? `Python "${python}" was not found` : `Python "${python}" could not start: ${err.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const why = exitDescription(python, code, signal, tail);
        if (session) session.exited(why);
        else reject(new Error(why));
      });
    });
    let first: Frame;
    try {
      first = await ready;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    if (first.header.type !== 'ready') {
      child.stdin.end();
      throw new Error(first.header.message ?? `the Python process answered ${first.header.type} instead of ready`);
    }
    const h = first.header as Frame['header'] & { torchVersion: string; device: string; dtype: TorchRuntime['dtype']; numLayers: number; hiddenSize: number; vocabSize: number };
    session = new TorchSession(child, { python, torchVersion: h.torchVersion, device: h.device, dtype: h.dtype, peakRssMiB: h.peakRssMiB as number | undefined, anonRssMiB: h.anonRssMiB as number | undefined }, h, tail);
    child.stdin.on('error', () => undefined); // a dead child: reported by 'close'
    return session;
  }

  run(feeds: Record<string, ort.Tensor>, fetches: readonly string[], carry?: unknown): Promise<Record<string, ort.Tensor>> {
    if (carry) return Promise.reject(new Error('the torch provider keeps no KV cache (noCarry)')); // a bug: ModelSession checks noCarry
    const next = this.queue.then(() => this.request(feeds, fetches));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private request(feeds: Record<string, ort.Tensor>, fetches: readonly string[]): Promise<Record<string, ort.Tensor>> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    const sent = SENT_INPUTS.map((name): [string, ort.Tensor] => {
      if (!feeds[name]) throw new Error(`the torch provider needs input ${name}`); // a bug
      return [name, feeds[name]];
    }).filter(([name, t]) => name !== 'steering' || !isAllZeros(t.data as Float32Array));
    const header: Record<string, unknown> = { type: 'run', id, fetches };
    // The reductions' inputs (ForwardSession.reduces), when given: top_k and map_layer, and each vector tensor once.
    for (const name of ['top_k', 'map_layer']) if (feeds[name]) sent.push([name, feeds[name]]);
    const kept: Record<string, number> = {};
    for (const name of KEPT_INPUTS) {
      if (!feeds[name]) continue;
      const { key, known } = this.vectorsKey(feeds[name]);
      kept[name] = key;
      if (!known) sent.push([name, feeds[name]]);
    }
    if (Object.keys(kept).length > 0) header.kept = kept;
    let started = 0;
    return new Promise<Frame>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      started = performance.now();
      this.child.stdin.write(pack(header, sent));
    }).then((frame) => {
      const roundTripMs = performance.now() - started;
      if (typeof frame.header.peakRssMiB === 'number') this.runtime.peakRssMiB = frame.header.peakRssMiB;
      if (typeof frame.header.anonRssMiB === 'number') this.runtime.anonRssMiB = Math.max(this.runtime.anonRssMiB ?? 0, frame.header.anonRssMiB);
      if (typeof frame.header.forwardMs === 'number') {
        this.runtime.forwards = (this.runtime.forwards ?? 0) + 1;
        this.runtime.forwardMs = (this.runtime.forwardMs ?? 0) + frame.header.forwardMs;
        this.addPhases(frame.header.phasesMs, roundTripMs - frame.header.forwardMs);
      }
      if (frame.header.type === 'error') {
        this.sentVectors.clear(); // it may have failed before keeping them: send them again
        const message = `PyTorch (${this.runtime.device}): ${frame.header.message}`;
        throw frame.header.kind === 'oom' ? new DeviceOutOfMemory(message) : new Error(message);
      }
      return frame.tensors;
    });
  }

  /** The wire key of a vector tensor (a new one for a tensor not sent yet), and whether the Python side already has it. */
  private vectorsKey(vectors: ort.Tensor): { key: number; known: boolean } {
    const known = this.sentVectors.get(vectors);
    const key = known ?? this.nextKey++;
    this.sentVectors.delete(vectors); // most recently used last
    this.sentVectors.set(vectors, key);
    if (this.sentVectors.size > KEPT_VECTORS) this.sentVectors.delete(this.sentVectors.keys().next().value!);
    return { key, known: known !== undefined };
  }

  /** Adds a forward's parts (torch_forward.py's phasesMs, and the pipe: round trip less PyTorch's time) to the runtime's sums. */
  private addPhases(phases: unknown, wireMs: number): void {
    const sums = (this.runtime.phasesMs ??= { check: 0, launch: 0, wait: 0, wire: 0 });
    const p = (phases ?? {}) as Partial<Record<'check' | 'launch' | 'wait', number>>;
    for (const name of ['check', 'launch', 'wait'] as const) if (typeof p[name] === 'number') sums[name] += p[name];
    sums.wire += wireMs;
  }

  private receive(frame: Frame): void {
    const p = this.pending;
    if (!p || frame.header.id !== p.id) return; // nothing asked: ignore
    this.pending = null;
    p.resolve(frame);
  }

  private exited(why: string): void {
    this.exitError = new Error(why);
    this.pending?.reject(this.exitError);
    this.pending = null;
  }

  /** Ends the Python process: EOF on its stdin, SIGKILL if it has not gone within a few seconds. */
  async release(): Promise<void> {
    if (this.exitError) return;
    const gone = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }

  /** The Python process's id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the Python process wrote to stderr. */
  get log(): readonly string[] {
    return this.stderrTail;
  }
}

function exitDescription(python: string, code: number | null, signal: NodeJS.Signals | null, tail: string[]): string {
  const how = signal === 'SIGKILL' ? 'was killed (SIGKILL: most likely out of memory)' : signal ? `ended by ${signal}` : `exited with code ${code}`;
  const last = tail.filter((l) => !/^\s*(File |Traceback|\^)/.test(l)).slice(-1)[0];
  return `the PyTorch process (${python}) ${how}${last ? `: ${last.trim()}` : ''}`;
}

export type TorchProbe =
  | { ok: true; python: string; torchVersion: string; cuda: boolean; devices: string[] }
  | { ok: false; python: string; problem: string; fix: { cli: string; editor: string } };

export const TORCH_FIX = {
  cli: 'Install PyTorch for that Python (pip install torch; Debian: sudo apt install python3-torch python3-onnx), or name a Python that has torch and onnx with --python PATH or SEER_PYTHON.',
  editor: 'Install PyTorch for that Python (pip install torch; Debian: sudo apt install python3-torch python3-onnx), or set seer.pythonPath to a Python that has torch and onnx.',
};

const foundPythons = new Map<string, TorchProbe>();

/**
 * The Python the torch provider runs on: `named` (--python, seer.pythonPath) when given; else the first of
 * pythonCandidates() whose PyTorch sees a CUDA device, else the first that has PyTorch, else the first's problem.
 * (On a GPU machine seen here, /usr/bin/python3 had no numpy and the python3 on PATH had PyTorch with CUDA.)
 */
export async function findTorchPython(named?: string, trainerDir?: string, candidates: string[] = pythonCandidates()): Promise<TorchProbe> {
  if (named) return probeTorch(named, trainerDir);
  // Found once per process (each probe imports PyTorch: seconds); a failure is asked again next time (it may be fixed).
  const key = JSON.stringify([candidates, trainerDir]);
  const known = foundPythons.get(key);
  if (known) return known;
  const probes: TorchProbe[] = [];
  for (const python of candidates) {
    const probe = await probeTorch(python, trainerDir);
    if (probe.ok && probe.cuda) {
      foundPythons.set(key, probe);
      return probe;
    }
    probes.push(probe);
  }
  const usable = probes.find((p) => p.ok);
  if (usable) {
    foundPythons.set(key, usable);
    return usable;
  }
  const [first, ...others] = probes;
  if (first.ok || others.length === 0) return first;
  return { ...first, problem: `${first.problem}; also tried ${others.map((p) => `${p.python} (${p.ok ? '' : p.problem})`).join(', ')}` };
}

/** Starts `python -m seer_trainer serve-forward --probe` (≤ 60 s) and reports what PyTorch can run on; never throws. */
export async function probeTorch(python?: string, trainerDir: string = defaultTrainerDir()): Promise<TorchProbe> {
  const py = python || defaultPython();
  return new Promise<TorchProbe>((resolve) => {
    const child = spawn(py, ['-m', 'seer_trainer', 'serve-forward', '--probe'], { env: trainerEnv(trainerDir), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const fail = (problem: string) => resolve({ ok: false, python: py, problem, fix: TORCH_FIX });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code === 'ENOENT' ? `Python "${py}" was not found` : `Python "${py}" could not start: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const last = stderr.trim().split('\n').filter((l) => l.trim()).pop();
        return fail(signal === 'SIGKILL' ? `${py} did not answer within ${PROBE_TIMEOUT_MS / 1000} s` : `${py} cannot run the torch provider${last ? `: ${last.trim()}` : ` (exit code ${code})`}`);
      }
      try {
        const p = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { torch: string; cuda: boolean; devices: string[] };
        resolve({ ok: true, python: py, torchVersion: p.torch, cuda: p.cuda, devices: p.devices });
      } catch {
        fail(`${py} answered the probe with something other than JSON`);
      }
    });
  });
}
