// One host worker thread (worker.ts) seen from the engine's thread: requests answered by id, and every request
// still waiting rejected with HostWorkerLost the moment the thread dies, so that nothing waits on it for ever.
import { Worker } from 'node:worker_threads';
import { type Answers, fromWire, type KeepBank, type Reply, type Request } from './messages';

/** The thread exited or threw outside a request: the engine does the work itself instead. */
export class HostWorkerLost extends Error {}

type Op = Request['op'];
type Args<O extends Op> = Omit<Extract<Request, { op: O }>, 'id' | 'op'>;

export class HostWorker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private lost: HostWorkerLost | null = null;
  /** The banks it keeps (KeepBank keys), oldest first: the pool's record of what it sent. */
  readonly banks: number[] = [];

  constructor(readonly thread: Worker) {
    // Referenced only while it has work: an idle pool never keeps the process alive (a CLI run that ends without
    // dispose() still exits), a busy one does (the engine is waiting for its answer).
    thread.unref();
    thread.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) thread.unref();
      if (reply.ok) p.resolve(reply.value);
      else p.reject(fromWire(reply.error));
    });
    thread.on('error', (err) => this.fail(`a host worker thread failed: ${err.message}`));
    thread.on('exit', (code) => this.fail(`a host worker thread exited (code ${code})`));
  }

  get alive(): boolean {
    return this.lost === null;
  }

  /** Sends a request (the `transfer` buffers move to the thread) and waits for its answer. */
  call<O extends Op>(op: O, args: Args<O>, transfer: ArrayBuffer[] = []): Promise<Answers[O]> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.thread.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.thread.postMessage({ id, op, ...args }, transfer);
    });
  }

  /** A message that is not answered (the thread handles its messages in order, so later requests see it). */
  send(message: KeepBank): void {
    if (!this.lost) this.thread.postMessage(message);
  }

  async terminate(): Promise<void> {
    await this.thread.terminate();
  }

  private fail(message: string): void {
    if (this.lost) return;
    this.lost = new HostWorkerLost(message);
    for (const p of this.pending.values()) p.reject(this.lost);
    this.pending.clear();
    this.thread.unref();
  }
}
