// A bundle's files are untrusted input (users open bundles they did not make). Each one is read only when
// its real path (symlinks resolved) is inside the bundle's real folder, it is a regular file (not a FIFO,
// device, socket or folder) and it is no larger than its limit — type and size checked on the opened file,
// before a byte is read — so a link to /dev/zero or /etc/passwd, a FIFO or a sparse 100 GB file is refused
// at once instead of filling memory or quoting another file.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LIMITS } from '../limits';
import { SeerError } from '../errors';
import { formatBytes, openRegularFile, readRegularFile, RegularFileError } from '../regularFile';
import type { Architecture, OnnxEntry } from './manifest';

const MiB = 2 ** 20;

/** The largest file of each kind, and why: the reason is part of the error. */
export interface FileLimit {
  bytes: number;
  why: string;
}

/** seer.json: a manifest is a few KB (its free-form `training` summary included). */
export const MANIFEST_LIMIT: FileLimit = { bytes: 4 * MiB, why: 'a seer.json is at most 4 MB' };

/** tokenizer.json: the largest Hugging Face tokenizers (256k-token vocabularies) are about 35 MB. */
export const TOKENIZER_LIMIT: FileLimit = { bytes: 64 * MiB, why: 'a tokenizer.json is at most 64 MB' };

/** An ONNX model file is a protobuf, which cannot exceed 2 GB (bigger weights go to the external data file). */
const PROTOBUF_MAX = 2 ** 31 - 1;

/** The longest number as JSON text with its separator ("-1.2345678901234567e-100,"). */
const CHARS_PER_NUMBER = 26;

/**
 * model.onnx: twice the float32 size of the weights the architecture implies (embeddings and an untied LM head,
 * attention, MLP and norms per layer) plus 64 MB for constants, and never over the protobuf limit. A model
 * really larger than this has a seer.json that understates its architecture.
 */
export function modelLimit(a: Architecture): FileLimit {
  const bytes = Math.min(weightsLimit(a), PROTOBUF_MAX);
  return { bytes, why: `seer.json's architecture (${describe(a)}) implies a model.onnx of at most ${formatBytes(bytes)}` };
}

/** The external data file holds the weights: the same bound as the model, without the protobuf limit. */
export function externalDataLimit(a: Architecture): FileLimit {
  const bytes = weightsLimit(a);
  return { bytes, why: `seer.json's architecture (${describe(a)}) implies weights of at most ${formatBytes(bytes)}` };
}

function weightsLimit(a: Architecture): number {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I, numLayers: L } = a;
  const weights = 4 * (2 * V * H + L * (4 * H * H + 3 * H * I + 2 * H) + H);
  return 2 * weights + 64 * MiB;
}

const describe = (a: Architecture) => `${a.numLayers} layers × ${a.hiddenSize} hidden, vocabulary ${a.vocabSize}`;

/**
 * The external data file seer.json names (onnx.externalData), checked before onnxruntime may read it: beside
 * the model (a plain name, manifest.ts), its real path inside the bundle, a regular file of exactly the
 * promised size, and the promised sha256 — hashed as a stream, so a big model costs one read of its weights
 * at load (docs/bundle-format.md) but never their size in memory. Returns its real path.
 */
export async function checkExternalDataFile(bundleRoot: string, modelFile: string, entry: NonNullable<OnnxEntry['externalData']>, a: Architecture): Promise<string> {
  const file = await realPathInside(bundleRoot, path.join(path.dirname(modelFile), entry.file));
  const limit = externalDataLimit(a);
  const { handle, size } = await openRegularFile(file, limit.bytes).catch((err: unknown) => refused(file, limit, err));
  const wrong = (problem: string): never => {
    throw new SeerError('MODEL_INVALID', `${file} (the model's external data) ${problem}: it is damaged, truncated or from another build.`, {
      file,
      fix: 'Restore the file from the bundle as it was written, or rebuild the bundle (`npm run build:model`, or rerun `seer import`).',
    });
  };
  try {
    if (size !== entry.bytes) wrong(`is ${size} bytes, but seer.json's onnx.externalData.bytes says ${entry.bytes}`);
    const hash = createHash('sha256');
    const block = Buffer.allocUnsafe(8 * MiB);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await handle.read(block, 0, Math.min(block.length, size - at), at);
      if (bytesRead === 0) wrong(`shrank to ${at} bytes while it was read`);
      hash.update(block.subarray(0, bytesRead));
      at += bytesRead;
    }
    const sha = hash.digest('hex');
    if (sha !== entry.sha256) wrong(`does not match seer.json's onnx.externalData.sha256 (file ${sha.slice(0, 12)}…, manifest ${entry.sha256.slice(0, 12)}…)`);
  } finally {
    await handle.close();
  }
  return file;
}

/**
 * A bank: (layers + 1) × (prototypes + similarity matrix + counts) numbers for at most LIMITS.conceptsPerBank
 * concepts, plus 1 MB for the rest; never over 512 MB (the longest string V8 can hold).
 */
export function bankLimit(a: Architecture): FileLimit {
  const K = LIMITS.conceptsPerBank;
  const numbers = (a.numLayers + 1) * (K * a.hiddenSize + K * K + K);
  const bytes = Math.min(numbers * CHARS_PER_NUMBER + MiB, 512 * MiB);
  return { bytes, why: `a bank of at most ${K} concepts for ${a.numLayers} layers × ${a.hiddenSize} hidden is at most ${formatBytes(bytes)}` };
}

/**
 * The real path of `file`, refused (BUNDLE_INVALID) when it is outside the real folder `root` — a link out of
 * the bundle. A missing file is returned as is: reading it says it is missing.
 */
export async function realPathInside(root: string, file: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return file;
  }
  if (!real.startsWith(root + path.sep)) {
    throw new SeerError('BUNDLE_INVALID', `${file} leads outside the bundle folder (to ${real}); a bundle's files must be inside it.`, {
      file,
      fix: 'Copy the file into the bundle folder instead of linking to it, or use a bundle you trust.',
    });
  }
  return real;
}

/** The whole of a bundle file, after the type and size checks (on the opened file). */
export async function readBundleFile(file: string, limit: FileLimit): Promise<Buffer> {
  return readRegularFile(file, limit.bytes).catch((err: unknown) => refused(file, limit, err));
}

/** The checks of readBundleFile without reading: that the file exists, is regular and within its limit. */
export async function checkBundleFile(file: string, limit: FileLimit): Promise<void> {
  const { handle } = await openRegularFile(file, limit.bytes).catch((err: unknown) => refused(file, limit, err));
  await handle.close();
}

/** A refusal of the shared regular-file reader as the bundle error it is. */
function refused(file: string, limit: FileLimit, err: unknown): never {
  if (!(err instanceof RegularFileError)) throw err;
  const base = path.basename(file);
  switch (err.kind) {
    case 'too-large':
      throw new SeerError('BUNDLE_INVALID', `${file} ${err.message}, too large: ${limit.why}. It was not read.`, {
        file,
        fix: 'The file is damaged or not part of a SEER bundle: restore it, or rebuild the bundle with `npm run build:model`.',
      });
    case 'not-a-file':
      throw new SeerError('BUNDLE_INVALID', `${file} ${err.message}; it was not read.`, {
        file,
        fix: 'Put the real file in the bundle folder, or rebuild the bundle with `npm run build:model`.',
      });
    default:
      throw new SeerError('BUNDLE_INVALID', `${err.kind === 'missing' ? `Missing ${base}: ` : ''}${file} ${err.message}.`, {
        file,
        fix: 'Restore the file or rebuild the bundle with `npm run build:model`.',
        cause: err,
      });
  }
}
