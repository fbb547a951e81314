// A few host worker threads that tokenize prompts and build explanations in parallel (engine.ts uses them for large
// batches: hostWork/threads.ts). Work is split into contiguous runs, one per thread; each thread is sent a bank
// (and its concept map) once, and keeps the last few it was sent.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ConceptMapAbsent, ExplainResult, ProviderReport, TruncationSide } from '../../../common/protocol';
import type { ConceptBank, EncodedPrompt } from '../bundle/index';
import type { ConceptMap } from '../calibration/conceptMap';
import type { ResolvedOptions } from '../explain';
import type { ForwardOutput } from '../runtime/modelSession';
import { HostWorker } from './hostWorker';
import type { BuildRow, BundleSource, WireError } from './messages';
import { unpackPrompts } from './packedPrompts';
import { SharedOutputs } from './sharedOutputs';

/** A prompt's encoding and how long it took, or why it could not be encoded. */
export type Encoded = { encoded: EncodedPrompt; ms: number } | { error: WireError };

/** The worker's bundle: dist/host-worker.js beside the engine's own (esbuild.mjs); see setHostWorkerFile. */
let workerFile = path.join(__dirname, 'host-worker.js');

/** For code run from source (tests, benchmark scripts): where its own build of worker.ts is. */
export function setHostWorkerFile(file: string): void {
  workerFile = file;
}

/**
 * Banks a thread keeps, with their maps (a recalibrated bank is a new one; the oldest is dropped): the one in use and
 * the one before, for a request still running on it. A large model's bank and map are tens of MB per thread.
 */
const KEPT_BANKS = 2;

export class HostPool {
  private readonly bankKeys = new WeakMap<ConceptBank, number>();
  private readonly outputs = new SharedOutputs();
  private nextBank = 0;

  private constructor(private readonly workers: HostWorker[]) {}

  /**
   * Starts `size` threads, each loading the bundle's tokenizer, and checks each encodes `probe.text` as `probe.ids`
   * (the engine's own tokenizer's answer: a tokenizer file changed since the bundle was loaded is refused). Each
   * encodes it `probe.rounds` times, to warm up.
   */
  static async open(size: number, source: BundleSource, probe: { text: string; ids: number[]; rounds: number }): Promise<HostPool> {
    if (!existsSync(workerFile)) throw new Error(`${workerFile} is missing (build it with \`npm run build\`)`);
    const workers: HostWorker[] = [];
    const pool = new HostPool(workers);
    try {
      for (let i = 0; i < size; i++) workers.push(new HostWorker(new Worker(workerFile)));
      const answers = await Promise.all(pool.workers.map((w) => w.call('open', { source, probe: probe.text, rounds: probe.rounds })));
      if (!answers.every((ids) => sameIds(ids, probe.ids))) throw new Error(`${source.tokenizerFile} no longer encodes as it did when the bundle was loaded`);
      return pool;
    } catch (err) {
      await pool.dispose();
      throw err;
    }
  }

  /** The threads (tests end one to see the engine carry on without it). */
  get threads(): readonly Worker[] {
    return this.workers.map((w) => w.thread);
  }

  /**
   * Each text's encoding (already cut: engine.ts cutPrompt), in order; after a failure, the rest of its thread's run
   * is left undefined. `tokenText` is the engine's tokenizer's (the tokens' texts are not sent).
   */
  async tokenize(texts: string[], maxPrompt: number, side: TruncationSide, tokenText: (id: number) => string): Promise<Array<Encoded | undefined>> {
    const runs = splitRuns(texts.map((t) => t.length + 1), this.workers.length);
    const answers = await Promise.all(runs.map(([from, to], k) => this.workers[k].call('tokenize', { texts: texts.slice(from, to), maxPrompt, side })));
    const out = new Array<Encoded | undefined>(texts.length);
    runs.forEach(([from], k) => {
      const { prompts, ms, error } = answers[k];
      const encoded = unpackPrompts(prompts, tokenText);
      encoded.forEach((e, j) => { out[from + j] = { encoded: e, ms: ms[j] }; });
      if (error) out[from + encoded.length] = { error };
    });
    return out;
  }

  /** The explanations of the forward's rows (`rows[r]` is row r of `out`), in order, without their token view (BuildRow). */
  async build(opts: ResolvedOptions, map: ConceptMap | ConceptMapAbsent, out: ForwardOutput, rows: BuildRow[], provider: ProviderReport, forwardMs: number): Promise<ExplainResult[]> {
    const { bank, ...rest } = opts;
    const shared = this.outputs.share(out);
    const calls = splitRuns(rows.map(() => 1), this.workers.length).map(([from, to], k) => {
      const worker = this.workers[k];
      return worker.call('build', { bank: this.sendBank(worker, bank, map), opts: rest, out: shared.out, firstRow: from, rows: rows.slice(from, to), provider, forwardMs });
    });
    // Reused once every thread has answered (or is lost), not at the first failure: the others may still read it.
    void Promise.allSettled(calls).then(shared.release);
    return (await Promise.all(calls)).flat();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The bank's key, sent to `worker` first if it does not have it. */
  private sendBank(worker: HostWorker, bank: ConceptBank, map: ConceptMap | ConceptMapAbsent): number {
    let key = this.bankKeys.get(bank);
    if (key === undefined) {
      key = this.nextBank++;
      this.bankKeys.set(bank, key);
    }
    if (!worker.banks.includes(key)) {
      const drop = worker.banks.length >= KEPT_BANKS ? worker.banks.splice(0, 1) : [];
      worker.send({ op: 'bank', key, bank, map, drop });
      worker.banks.push(key);
    }
    return key;
  }
}

/**
 * [from, to) runs of indices, at most `parts`, none empty, each about the same total weight (a text's length, a
 * row): contiguous, so that a thread's answers come back in order.
 */
export function splitRuns(weights: number[], parts: number): Array<[number, number]> {
  const total = weights.reduce((a, b) => a + b, 0);
  const runs: Array<[number, number]> = [];
  let from = 0;
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    // A run ends at its share of the total (the last one takes the rest).
    if (runs.length < parts - 1 && i + 1 < weights.length && sum >= (total * (runs.length + 1)) / parts) {
      runs.push([from, i + 1]);
      from = i + 1;
    }
  }
  if (from < weights.length) runs.push([from, weights.length]);
  return runs;
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
