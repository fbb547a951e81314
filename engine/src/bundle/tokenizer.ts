// The bundle's tokenizer: @huggingface/tokenizers over tokenizer.json, plus the prompt template and bos.
// Prompt tokens are told apart from template tokens by byte spans: the tokenizer is byte-level BPE, so
// every character of a token string stands for exactly one byte of the UTF-8 input.
import { TextDecoder } from 'node:util';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenInfo, Truncation, TruncationSide } from '../../../common/protocol';
import { SeerError } from '../errors';
import { type Manifest, PROMPT_PLACEHOLDER } from './manifest';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface EncodedPrompt {
  templatedText: string;
  ids: number[];
  tokens: TokenInfo[];
  truncation: Truncation | null;
}

export class BundleTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly byteOf: Map<string, number>;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly textCache = new Map<number, string>();

  constructor(tokenizerJson: unknown, private readonly manifest: Manifest, private readonly file: string) {
    const fix = 'Rebuild the bundle (`npm run build:model`) or replace tokenizer.json with the one the model was trained with.';
    if (!usesByteLevel(tokenizerJson)) {
      throw new SeerError('TOKENIZER_INVALID', `${file}: the tokenizer is not byte-level BPE (no ByteLevel pre-tokenizer), which bundle format 1 requires.`, { file, fix });
    }
    const { bos, eos, pad } = manifest.specialTokens;
    try {
      this.tokenizer = new Tokenizer(tokenizerJson as object, { bos_token: bos, eos_token: eos, pad_token: pad });
    } catch (err) {
      throw new SeerError('TOKENIZER_INVALID', `${file}: the tokenizer could not be built: ${(err as Error).message}`, { file, fix, cause: err });
    }
    const special = (name: string, token: string): number => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new SeerError('TOKENIZER_INVALID', `${file}: special token ${name} "${token}" named in seer.json is not in the vocabulary.`, { file, fix });
      if (id >= manifest.architecture.vocabSize) throw new SeerError('TOKENIZER_INVALID', `${file}: token id ${id} is outside the model's vocabulary of ${manifest.architecture.vocabSize}.`, { file, fix });
      return id;
    };
    this.bosId = special('bos', bos);
    this.eosId = special('eos', eos);
    this.padId = special('pad', pad);
    this.byteOf = unicodeToByte();
    [this.prefix, this.suffix] = manifest.promptTemplate.split(PROMPT_PLACEHOLDER);
  }

  /** Token ids of raw text, no template and no special tokens (what golden.json's tokenization holds). */
  encodeRaw(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Text of one token alone, readable: its bytes as UTF-8, or (for a token that holds only part of a
   * multi-byte character) those bytes in hex, e.g. "<e6 97>", instead of replacement characters.
   */
  tokenText(id: number): string {
    let text = this.textCache.get(id);
    if (text === undefined) {
      text = this.readableToken(id);
      this.textCache.set(id, text);
    }
    return text;
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  private readableToken(id: number): string {
    const token = this.tokenizer.id_to_token(id);
    if (token === undefined) return `<unknown id ${id}>`;
    const bytes: number[] = [];
    for (const ch of token) {
      const b = this.byteOf.get(ch);
      if (b === undefined) return token; // an added/special token, written literally
      bytes.push(b);
    }
    try {
      return UTF8.decode(Uint8Array.from(bytes));
    } catch {
      return `<${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}>`;
    }
  }

  /**
   * Applies the template (and bos), tokenizes, and keeps at most `maxPromptTokens` prompt tokens (fewer if
   * the template and bos leave less room in `maxTotalTokens`), dropping from `side`. Template tokens are
   * always kept: they are what the model was trained to read, and the representation is read at the last one.
   */
  encodePrompt(text: string, maxPromptTokens: number, side: TruncationSide, maxTotalTokens = this.manifest.architecture.maxContext): EncodedPrompt {
    const templatedText = this.prefix + text + this.suffix;
    const enc = this.tokenizer.encode(templatedText, { add_special_tokens: false });
    let ids = enc.ids;
    let mask = this.promptMask(enc.tokens, Buffer.byteLength(this.prefix), Buffer.byteLength(text), Buffer.byteLength(templatedText));
    const promptIdx = mask.flatMap((p, i) => (p ? [i] : []));
    const templateCount = ids.length - promptIdx.length + (this.manifest.addBos ? 1 : 0);
    const keep = Math.min(maxPromptTokens, maxTotalTokens - templateCount);
    if (keep < 1) {
      throw new SeerError('CONTEXT_TOO_SMALL', `The prompt template and bos take ${templateCount} of the model's ${maxTotalTokens} tokens, leaving no room for the prompt.`, {
        file: this.file,
        fix: 'Use a shorter promptTemplate in seer.json or a model with a longer context.',
      });
    }
    let truncation: Truncation | null = null;
    if (promptIdx.length > keep) {
      const drop = new Set(side === 'left' ? promptIdx.slice(0, promptIdx.length - keep) : promptIdx.slice(keep));
      truncation = { side, originalTokens: promptIdx.length, keptTokens: keep };
      ids = ids.filter((_, i) => !drop.has(i));
      mask = mask.filter((_, i) => !drop.has(i));
    }
    if (this.manifest.addBos) {
      ids = [this.bosId, ...ids];
      mask = [false, ...mask];
    }
    const tokens = ids.map((id, i) => ({ id, text: this.tokenText(id), fromPrompt: mask[i] }));
    return { templatedText, ids, tokens, truncation };
  }

  /** For each token, whether its byte span overlaps the prompt's bytes [start, start + length). */
  private promptMask(tokens: string[], start: number, length: number, totalBytes: number): boolean[] {
    let pos = 0;
    const mask = tokens.map((t) => {
      const bytes = this.tokenByteLength(t);
      const overlaps = pos < start + length && pos + bytes > start;
      pos += bytes;
      return overlaps;
    });
    if (pos !== totalBytes) {
      throw new SeerError('TOKENIZER_INVALID', `${this.file}: token byte lengths (${pos}) do not add up to the text's ${totalBytes} bytes; the tokenizer normalises text, which bundle format 1 does not allow.`, {
        file: this.file,
        fix: 'Use a byte-level BPE tokenizer without a normalizer (rebuild the bundle with `npm run build:model`).',
      });
    }
    return mask;
  }

  private tokenByteLength(token: string): number {
    let n = 0;
    for (const ch of token) {
      if (this.byteOf.has(ch)) n += 1;
      else return Buffer.byteLength(token); // an added/special token, written literally
    }
    return n;
  }
}

function usesByteLevel(json: unknown): boolean {
  const text = JSON.stringify((json as { pre_tokenizer?: unknown })?.pre_tokenizer ?? null);
  return text.includes('"ByteLevel"');
}

/** Inverse of GPT-2's bytes_to_unicode: the printable character standing for each byte. */
function unicodeToByte(): Map<string, number> {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return map;
}
