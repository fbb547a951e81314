// Every bound the engine puts on a request or an input, in one place: the JSON-RPC param checks
// (serverParams.ts), the CLI and the engine all read them here. Each keeps one untrusted value from
// turning into unbounded memory or time. To raise one, change it here (and say why in the commit).
import * as os from 'node:os';
import { SeerError } from './errors';

export const LIMITS = {
  /** Prompts per explainBatch request: its reply holds every result (~100 KB each) at once. The extension sends a few. */
  batchTexts: 256,
  /**
   * Characters of a prompt kept per token the model can read: a prompt is cut to maxTokens × this (keeping the
   * side that truncation keeps) before it is tokenized, so a 50 MB prompt costs no more than a long one. Generous:
   * a byte-level BPE token covers a few characters, so the cut only removes text that truncation would drop anyway
   * (unless the vocabulary holds tokens longer than this). The result's truncation records the cut.
   */
  promptCharsPerToken: 64,
  /** maxTokens a request may ask for (the engine also caps it at the model's context). */
  maxTokens: 1 << 20,
  /** Layer indices in a request (tokenLayers, layerRange, layer): above any model's depth. Duplicates in tokenLayers are dropped. */
  layerIndex: 4096,
  /** Next-token predictions per result. */
  topNextTokens: 1000,
  /** Rows per forward pass for calibrate/evaluate (padded tokens per pass are bounded separately, batching.ts). */
  batchSize: 1024,
  /** Concepts per bank: a bank stores a concepts × concepts prototype similarity per layer, and every explain result carries it. */
  conceptsPerBank: 256,
  /** Calibration examples in a bank's 2-D concept map (each keeps one hiddenSize vector: bundle/conceptMapFile.ts). */
  conceptMapPoints: 400,
  /** Columns, safe concepts and other lists in a request. */
  listEntries: 1024,
  /** Characters of a path, a name or a column in a request. */
  nameChars: 4096,
  /** Seeds are 32-bit. */
  seed: 2 ** 32 - 1,
  /** Bytes of a `.seer-session.json`: it is read whole on every change (merge-on-write), so it stays small. */
  sessionFileBytes: 64 * 2 ** 20,
  /** Entries in one session; past it the user exports and starts another session. */
  sessionEntries: 20_000,
  /** Characters of a prompt a session entry keeps (the rest is cut; the entry says how long the prompt was). */
  sessionPromptChars: 20_000,
  /** Characters of a session's name. */
  sessionNameChars: 200,
  /** Tokens of one generation whose text and concept a session entry keeps (the rest is counted, not kept). */
  sessionGenerationSteps: 4096,
} as const;

/** Intra-op threads: more than the machine's cores only slows the forward pass (and 1e9 fails inside onnxruntime). */
export function maxIntraOpThreads(): number {
  return os.availableParallelism();
}

/** The INVALID_ARGUMENT error for a value over one of these limits. */
export function overLimit(what: string, got: number, max: number, fix: string): SeerError {
  return new SeerError('INVALID_ARGUMENT', `${what} is ${got}; the limit is ${max}.`, { fix });
}
