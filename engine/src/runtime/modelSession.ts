// The ONNX model as the engine uses it: opened on a provider, its inputs/outputs checked against the
// manifest, run on right-padded batches. A provider that fails mid-run is replaced by CPU once.
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderReport } from '../../../common/protocol';
import { modelLimit, readBundleFile } from '../bundle/bundleFile';
import type { Manifest } from '../bundle/manifest';
import { SeerError } from '../errors';
import { LastTokenHead } from './lastTokenHead';
import { externalDataTensors } from './onnxProto';
import { createSession, firstLine, invalidModel, openWithProvider, type SessionSettings } from './providers';

/** One forward pass over a right-padded batch. */
export interface ForwardOutput {
  batch: number;
  seq: number;
  /** [numLayers+1, batch, seq, hidden], row-major. */
  hidden: Float32Array;
  /** Logits at each row's last real token: [batch, vocab]. Absent when not requested. */
  lastLogits?: Float32Array;
}

type Session = Pick<ort.InferenceSession, 'run' | 'release' | 'inputMetadata' | 'outputMetadata' | 'inputNames' | 'outputNames'>;

interface SessionParts {
  session: Session;
  report: ProviderReport;
  manifest: Manifest;
  /** Reads the model again, to reopen it on CPU after a GPU failure. */
  modelBytes: () => Promise<Uint8Array>;
  settings: SessionSettings;
  /** Computes last-position logits in JS so ORT need not produce batch × seq × vocab logits; null: use ORT's. */
  head: LastTokenHead | null;
}

export class ModelSession {
  private session: Session;
  readonly report: ProviderReport;
  private readonly manifest: Manifest;
  private readonly modelBytes: () => Promise<Uint8Array>;
  private readonly settings: SessionSettings;
  readonly head: LastTokenHead | null;

  private constructor(parts: SessionParts) {
    this.session = parts.session;
    this.report = parts.report;
    this.manifest = parts.manifest;
    this.modelBytes = parts.modelBytes;
    this.settings = parts.settings;
    this.head = parts.head;
  }

  static async open(manifest: Manifest, modelFile: string, choice: ProviderChoice, settings: SessionSettings): Promise<ModelSession> {
    const bytes = await readModel(modelFile, manifest);
    const opened = await openWithProvider(bytes, modelFile, choice, settings);
    checkSignature(opened.session, manifest, modelFile);
    const model = new ModelSession({ session: opened.session, report: opened.report, manifest, modelBytes: () => readModel(modelFile, manifest), settings, head: null });
    return (await model.verifiedHead(bytes)) ?? model;
  }

  /** For tests: wraps an existing session (e.g. one that fails) with a report and a way to reopen on CPU. */
  static wrap(session: Session, report: ProviderReport, manifest: Manifest, modelBytes: () => Promise<Uint8Array>): ModelSession {
    return new ModelSession({ session, report, manifest, modelBytes, settings: {}, head: null });
  }

  /** This session with the JS head, if the head reproduces ORT's logits on a probe input (else null). */
  private async verifiedHead(bytes: Uint8Array): Promise<ModelSession | null> {
    let head: LastTokenHead | null = null;
    try {
      head = await LastTokenHead.fromOnnx(bytes, this.manifest);
    } catch {
      return null; // an initializer layout we do not read: ORT's logits it is
    }
    if (!head) return null;
    const probe = [[1, 2, 3, 4, 5].map((i) => i % this.manifest.architecture.vocabSize)];
    const reference = await this.forward(probe, 0, true);
    const { numLayers, hiddenSize, vocabSize } = this.manifest.architecture;
    const mine = await head.logits(reference.hidden, [(numLayers * reference.seq + probe[0].length - 1) * hiddenSize]); // batch of 1
    let maxDiff = 0;
    for (let v = 0; v < vocabSize; v++) maxDiff = Math.max(maxDiff, Math.abs(mine[v] - reference.lastLogits![v]));
    if (maxDiff <= 1e-3) return new ModelSession({ session: this.session, report: this.report, manifest: this.manifest, modelBytes: this.modelBytes, settings: this.settings, head });
    await head.release();
    return null;
  }

  /** Runs `rows` (token ids, unpadded) as one right-padded batch. */
  async forward(rows: number[][], padId: number, wantLogits: boolean): Promise<ForwardOutput> {
    const batch = rows.length;
    const seq = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    const pad = BigInt(padId); // masked out: never reaches a real position
    rows.forEach((r, b) => {
      for (let t = 0; t < seq; t++) {
        ids[b * seq + t] = t < r.length ? BigInt(r[t]) : pad;
        mask[b * seq + t] = t < r.length ? 1n : 0n;
      }
    });
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [batch, seq]),
      attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
    };
    const fetchLogits = wantLogits && !this.head;
    const out = await this.run(feeds, fetchLogits ? ['logits', 'hidden_states'] : ['hidden_states']);
    const hidden = out.hidden_states.data as Float32Array;
    const result: ForwardOutput = { batch, seq, hidden };
    if (wantLogits) {
      const { vocabSize: vocab, hiddenSize, numLayers } = this.manifest.architecture;
      if (this.head) {
        result.lastLogits = await this.head.logits(hidden, rows.map((r, b) => ((numLayers * batch + b) * seq + r.length - 1) * hiddenSize));
      } else {
        const logits = out.logits.data as Float32Array;
        result.lastLogits = new Float32Array(batch * vocab);
        rows.forEach((r, b) => result.lastLogits!.set(logits.subarray((b * seq + r.length - 1) * vocab, (b * seq + r.length) * vocab), b * vocab));
      }
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.head?.release();
  }

  private async run(feeds: ort.InferenceSession.FeedsType, fetches: string[]): Promise<ort.InferenceSession.ReturnType> {
    try {
      return await this.session.run(feeds, fetches);
    } catch (err) {
      if (this.report.used === 'cpu') {
        throw new SeerError('FORWARD_FAILED', `The forward pass failed on CPU: ${firstLine(err)}`, { fix: 'Check the model file and the input; report the input if it persists.', cause: err });
      }
      // A GPU provider failed mid-run: reopen on CPU once, say so, and stay there.
      const failed = this.report.used;
      const cpu = await createSession(await this.modelBytes(), 'cpu', this.settings);
      await this.session.release().catch(() => undefined);
      this.session = cpu;
      this.report.used = 'cpu';
      this.report.fellBackToCpu = `${failed} failed during a forward pass (${firstLine(err)}); the run was redone on CPU, which is used from now on.`;
      return await this.session.run(feeds, fetches);
    }
  }
}

/**
 * The model's bytes, checked before onnxruntime sees them: a regular file within the size the architecture
 * implies (bundle/bundleFile.ts), the manifest's sha256, and no external data. ORT is given bytes, not a path,
 * so it would resolve an external-data location against the process's working folder; our exports never
 * write external data (trainer/seer_trainer/export.py exports to memory, one file), so a model that asks
 * for it is refused.
 */
async function readModel(file: string, manifest: Manifest): Promise<Uint8Array> {
  const bytes = await readBundleFile(file, modelLimit(manifest.architecture));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.modelSha256) {
    throw new SeerError('MODEL_CHANGED', `${file} does not match seer.json's modelSha256 (file ${sha.slice(0, 12)}…, manifest ${manifest.modelSha256.slice(0, 12)}…): it is damaged, truncated or from another build.`, {
      file,
      fix: 'Restore the model file, or rebuild the whole bundle with `npm run build:model` so that model, manifest and banks agree.',
    });
  }
  let external: string[];
  try {
    external = externalDataTensors(bytes);
  } catch (err) {
    throw invalidModel(file, err);
  }
  if (external.length > 0) {
    const names = external.slice(0, 3).map((n) => JSON.stringify(n.length > 60 ? `${n.slice(0, 60)}…` : n)).join(', ');
    throw new SeerError('MODEL_INVALID', `${file} keeps ${external.length} tensor(s) in external data files (${names}${external.length > 3 ? ', …' : ''}); a SEER bundle's model must be one self-contained file, and no file outside it is read.`, {
      file,
      fix: 'Export the model as a single .onnx file (e.g. onnx.save_model(model, path, save_as_external_data=False)), or rebuild the bundle with `npm run build:model`.',
    });
  }
  return bytes;
}

/** Input/output names, element types, ranks and the fixed sizes the manifest promises. */
function checkSignature(session: Session, manifest: Manifest, file: string): void {
  const { numLayers, hiddenSize, vocabSize } = manifest.architecture;
  const expect: Array<[ort.InferenceSession.ValueMetadata[] | readonly ort.InferenceSession.ValueMetadata[], string, string, Array<number | null>]> = [
    [session.inputMetadata, 'input_ids', 'int64', [null, null]],
    [session.inputMetadata, 'attention_mask', 'int64', [null, null]],
    [session.outputMetadata, 'logits', 'float32', [null, null, vocabSize]],
    [session.outputMetadata, 'hidden_states', 'float32', [numLayers + 1, null, null, hiddenSize]],
  ];
  const fail = (problem: string): never => {
    throw new SeerError('MODEL_MISMATCH', `${file}: ${problem}.`, { file, fix: 'The model and seer.json disagree: rebuild the bundle with `npm run build:model`.' });
  };
  for (const [list, name, type, dims] of expect) {
    const meta = list.find((m) => m.name === name);
    if (!meta) fail(`has no ${list === session.inputMetadata ? 'input' : 'output'} "${name}" (it has ${list.map((m) => m.name).join(', ')})`);
    if (!meta!.isTensor) fail(`"${name}" is not a tensor`);
    const tensor = meta as ort.InferenceSession.TensorValueMetadata;
    if (tensor.type !== type) fail(`"${name}" is ${tensor.type}, expected ${type}`);
    if (tensor.shape.length !== dims.length) fail(`"${name}" has rank ${tensor.shape.length}, expected ${dims.length}`);
    dims.forEach((d, i) => {
      const got = tensor.shape[i];
      if (d !== null && typeof got === 'number' && got !== d) fail(`"${name}" dimension ${i} is ${got}, but seer.json implies ${d}`);
    });
  }
}
