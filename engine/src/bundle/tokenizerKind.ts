// Which of the two BPE tokenizer kinds a tokenizer.json is, and how its token strings spell the input's bytes.
// - byte-level (Llama 3, Qwen): a ByteLevel pre-tokenizer; each character of a token stands for one byte.
// - SentencePiece converted by transformers (Llama 1/2, Mistral, Gemma): "▁" stands for a space, `<0xNN>` tokens
//   for bytes the vocabulary has no piece for (byte_fallback), and a dummy "▁" may be put before the text (a
//   Prepend normalizer or a Metaspace pre-tokenizer) that stands for no byte of the input.
// The tokenizing itself is @huggingface/tokenizers'; this only recognises the layouts it runs as the Rust
// tokenizers do (a Metaspace that splits on "▁" it does not reproduce) and reads token strings back as bytes.
export type TokenizerKind = 'byte-level' | 'sentencepiece';

export const SPACE_SYMBOL = '\u2581'; // ▁
const BYTE_TOKEN = /^<0x([0-9A-F]{2})>$/;

/** The kind of a parsed tokenizer.json, or why the engine cannot run it (a sentence fragment). */
export function tokenizerKind(json: unknown): { kind: TokenizerKind } | { problem: string } {
  const t = (json ?? {}) as Record<string, unknown>;
  if (JSON.stringify(t.pre_tokenizer ?? null).includes('"ByteLevel"')) return { kind: 'byte-level' };
  const model = (t.model ?? {}) as Record<string, unknown>;
  if (model.type !== 'BPE') return { problem: `its model is ${JSON.stringify(model.type ?? 'missing')}, not BPE` };
  if (model.byte_fallback !== true) return { problem: 'it is BPE without a ByteLevel pre-tokenizer and without byte_fallback' };
  const vocab = (model.vocab ?? {}) as Record<string, unknown>;
  const missing = Array.from({ length: 256 }, (_, b) => byteToken(b)).filter((tok) => !Object.hasOwn(vocab, tok));
  if (missing.length > 0) return { problem: `byte_fallback is on but ${missing.length} byte tokens are missing (e.g. ${missing[0]})` };
  const viaNormalizer = spacesByNormalizer(t.normalizer);
  if (typeof viaNormalizer === 'string') return { problem: viaNormalizer };
  const viaMetaspace = spacesByMetaspace(t.pre_tokenizer);
  if (typeof viaMetaspace === 'string') return { problem: viaMetaspace };
  if (viaNormalizer === viaMetaspace) {
    return { problem: viaNormalizer ? 'both its normalizer and its Metaspace pre-tokenizer write "▁"' : 'neither a normalizer nor a Metaspace pre-tokenizer writes spaces as "▁"' };
  }
  return { kind: 'sentencepiece' };
}

/** What a supported tokenizer looks like, for error messages. */
export const SUPPORTED_TOKENIZERS =
  'byte-level BPE (a ByteLevel pre-tokenizer: Llama 3, Qwen) or SentencePiece BPE as transformers converts it ' +
  '(byte_fallback with the 256 <0xNN> tokens, "▁" for spaces: Llama 1/2, Mistral, Gemma)';

/**
 * Where a token string comes from: the model's vocabulary, or an added token split out of the text before the model
 * ran, matched in the raw text (`added`: its content as written) or in the normalized text (`added-normalized`).
 */
export type TokenOrigin = 'model' | 'added' | 'added-normalized';

/** The bytes of the input a token stands for ("▁" a space and `<0xNN>` its byte in SentencePiece). */
export function tokenBytes(kind: TokenizerKind, token: string, origin: TokenOrigin, byteOfChar: Map<string, number>): Uint8Array {
  if (kind === 'sentencepiece') {
    const b = BYTE_TOKEN.exec(token);
    if (b) return Uint8Array.of(parseInt(b[1], 16));
    return Buffer.from(origin === 'added' ? token : token.replaceAll(SPACE_SYMBOL, ' '), 'utf8');
  }
  if (origin === 'model') {
    const bytes: number[] = [];
    for (const ch of token) {
      const b = byteOfChar.get(ch);
      if (b === undefined) return Buffer.from(token, 'utf8'); // not a byte-level token: read as written
      bytes.push(b);
    }
    return Uint8Array.from(bytes);
  }
  return Buffer.from(token, 'utf8');
}

/** Whether a SentencePiece token string is one of the 256 byte tokens (never an added token's text). */
export function isByteToken(kind: TokenizerKind, token: string): boolean {
  return kind === 'sentencepiece' && BYTE_TOKEN.test(token);
}

/** Inverse of GPT-2's bytes_to_unicode: the printable character standing for each byte (byte-level BPE). */
export function unicodeToByte(): Map<string, number> {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
}

const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

type Step = Record<string, unknown> | null | undefined;

const isSpaceToSymbol = (s: Step) =>
  s?.type === 'Replace' && JSON.stringify(s.pattern) === JSON.stringify({ String: ' ' }) && s.content === SPACE_SYMBOL;
const isPrependSymbol = (s: Step) => s?.type === 'Prepend' && s.prepend === SPACE_SYMBOL;

/** Whether the normalizer writes spaces as "▁" (Replace, after an optional Prepend("▁")), or why it is not one the engine runs. */
function spacesByNormalizer(normalizer: unknown): boolean | string {
  if (normalizer === null || normalizer === undefined) return false;
  const n = normalizer as Record<string, unknown>;
  const steps = (n.type === 'Sequence' ? n.normalizers : [n]) as Step[];
  const known = Array.isArray(steps) && steps.every((s) => isSpaceToSymbol(s) || isPrependSymbol(s));
  if (!known || steps.filter(isSpaceToSymbol).length !== 1 || steps.filter(isPrependSymbol).length > 1) {
    const kinds = Array.isArray(steps) ? steps.map((s) => s?.type ?? s) : steps;
    return `its normalizer (${JSON.stringify(kinds)}) is not the converter's Replace(" ", "▁") with an optional Prepend("▁")`;
  }
  return true;
}

/** Whether the pre-tokenizer is a Metaspace writing spaces as "▁" (null: none), or why it is not one the engine runs. */
function spacesByMetaspace(pre: unknown): boolean | string {
  if (pre === null || pre === undefined) return false;
  const p = pre as Record<string, unknown>;
  if (p.type !== 'Metaspace' || p.replacement !== SPACE_SYMBOL) return `its pre-tokenizer ${JSON.stringify(p.type ?? pre)} is not a Metaspace with "▁"`;
  // split (the Rust default when absent) cuts the text before every "▁", which @huggingface/tokenizers does not do.
  if (p.split !== false) return 'its Metaspace pre-tokenizer splits the text at every "▁" (split is not false), which this engine does not reproduce';
  if (!['always', 'first', 'never'].includes(p.prepend_scheme as string)) return `its Metaspace pre-tokenizer has prepend_scheme ${JSON.stringify(p.prepend_scheme)}, not "always", "first" or "never"`;
  return true;
}
