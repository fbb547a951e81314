// The bundle's tokenizer: @huggingface/tokenizers over tokenizer.json, plus the prompt template and bos.
// Two kinds of BPE run (tokenizerKind.ts): byte-level (Llama 3, Qwen) and SentencePiece converted by transformers
// (Llama 1/2, Mistral, Gemma). Prompt tokens are told from template tokens by each token's span in the templated
// text, found by reading the tokens back as the bytes they stand for and walking them along the text's bytes.
import { TextDecoder } from 'node:util';
import { ByteLevelPreTokenizer, type PreTokenizer, SequencePreTokenizer, Tokenizer } from '@huggingface/tokenizers';
import type { TokenInfo, Truncation, TruncationSide } from '../../../common/protocol';
import { SeerError } from '../errors';
import { type Manifest, PROMPT_PLACEHOLDER } from './manifest';
import { isByteToken, SUPPORTED_TOKENIZERS, tokenBytes, tokenizerKind, type TokenizerKind, type TokenOrigin, unicodeToByte } from './tokenizerKind';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** [start, end) in UTF-16 code units of the text encoded; a token holding part of a character spans that whole character. */
export type Span = [number, number];

export interface EncodedPrompt {
  templatedText: string;
  ids: number[];
  tokens: TokenInfo[];
  /** Each token's span in templatedText (bos added by the engine, and a dummy "▁" the tokenizer inserts, span nothing). */
  spans: Span[];
  truncation: Truncation | null;
}

export class BundleTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly kind: TokenizerKind;
  private readonly byteOf: Map<string, number>;
  /** Added tokens (split out of the text before the model's BPE) by content: matched in the raw or the normalized text. */
  private readonly added = new Map<string, TokenOrigin>();
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly textCache = new Map<number, string>();
  private readonly bytesCache = new Map<string, Uint8Array>();

  constructor(tokenizerJson: unknown, private readonly manifest: Manifest, private readonly file: string) {
    const fix = 'Rebuild the bundle (`npm run build:model` or `seer import`) or replace tokenizer.json with the one the model was trained with.';
    const kind = tokenizerKind(tokenizerJson);
    if ('problem' in kind) {
      throw new SeerError('TOKENIZER_INVALID', `${file}: this tokenizer cannot be run: ${kind.problem}. The engine runs ${SUPPORTED_TOKENIZERS}.`, { file, fix });
    }
    this.kind = kind.kind;
    const { bos, eos, pad } = manifest.specialTokens;
    try {
      this.tokenizer = new Tokenizer(tokenizerJson as object, { bos_token: bos, eos_token: eos, pad_token: pad });
    } catch (err) {
      throw new SeerError('TOKENIZER_INVALID', `${file}: the tokenizer could not be built: ${(err as Error).message}`, { file, fix, cause: err });
    }
    rememberByteLevelWords(this.tokenizer.pre_tokenizer);
    const hasNormalizer = (tokenizerJson as { normalizer?: unknown }).normalizer != null;
    for (const t of this.tokenizer.get_added_tokens_decoder().values()) {
      // A byte token listed as added is still a byte when the model's byte fallback writes it.
      if (!isByteToken(this.kind, t.content)) this.added.set(t.content, t.normalized && hasNormalizer ? 'added-normalized' : 'added');
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

  /** Token ids of raw text, no template and no special tokens (what the PyTorch reference's tokenization holds). */
  encodeRaw(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids of `text` (no special tokens added) and each token's span in it. */
  encodeWithSpans(text: string): { ids: number[]; spans: Span[] } {
    const enc = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: enc.ids, spans: this.spans(text, enc.tokens) };
  }

  /**
   * Text of one token alone, readable: its bytes as UTF-8 ("▁" a space, a byte token its byte), or (for a token
   * that holds only part of a multi-byte character) those bytes in hex, e.g. "<e6 97>", which the panel joins
   * with the bytes of the tokens that follow (webview/src/tokenText.ts).
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
    const bytes = this.bytesOf(token);
    try {
      return UTF8.decode(bytes);
    } catch {
      return `<${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}>`;
    }
  }

  /** The bytes a token string stands for, cached (token strings are the vocabulary's, a bounded set). */
  private bytesOf(token: string): Uint8Array {
    let bytes = this.bytesCache.get(token);
    if (bytes === undefined) {
      bytes = tokenBytes(this.kind, token, this.added.get(token) ?? 'model', this.byteOf);
      this.bytesCache.set(token, bytes);
    }
    return bytes;
  }

  /**
   * Applies the template (and bos), tokenizes the templated text as one string (as transformers'
   * apply_chat_template(tokenize=True) does, so a SentencePiece "▁" before the prompt is the model's own), and
   * keeps at most `maxPromptTokens` prompt tokens (fewer if the template and bos leave less room in
   * `maxTotalTokens`), dropping from `side`. A token is the prompt's when its span overlaps the prompt's text.
   * Template tokens are always kept: they are what the model was trained to read, and the representation is
   * read at the last one.
   */
  encodePrompt(text: string, maxPromptTokens: number, side: TruncationSide, maxTotalTokens = this.manifest.architecture.maxContext): EncodedPrompt {
    const templatedText = this.prefix + text + this.suffix;
    const encoded = this.encodeWithSpans(templatedText);
    const [start, end] = [this.prefix.length, this.prefix.length + text.length];
    const fromPrompt = encoded.spans.map(([s, e]) => s < end && e > start);
    // Never a second bos: a template that starts with it (as chat templates do) already has one.
    const addBos = this.manifest.addBos && encoded.ids[0] !== this.bosId;
    const promptCount = fromPrompt.reduce((n, p) => (p ? n + 1 : n), 0);
    const templateCount = encoded.ids.length - promptCount + (addBos ? 1 : 0);
    const keep = Math.min(maxPromptTokens, maxTotalTokens - templateCount);
    if (keep < 1) {
      throw new SeerError('CONTEXT_TOO_SMALL', `The prompt template and bos take ${templateCount} of the model's ${maxTotalTokens} tokens, leaving no room for the prompt.`, {
        file: this.file,
        fix: 'Use a shorter promptTemplate in seer.json or a model with a longer context.',
      });
    }
    const truncation: Truncation | null = promptCount > keep ? { side, originalTokens: promptCount, keptTokens: keep } : null;
    // The prompt tokens kept are the first `keep` (side right) or the last `keep` (side left), counted in order.
    const firstKept = side === 'left' ? promptCount - keep : 0;
    const ids: number[] = [];
    const tokens: TokenInfo[] = [];
    const spans: Span[] = [];
    const add = (id: number, prompt: boolean, span: Span) => {
      ids.push(id);
      tokens.push({ id, text: this.tokenText(id), fromPrompt: prompt });
      spans.push(span);
    };
    if (addBos) add(this.bosId, false, [0, 0]);
    let k = 0; // prompt tokens seen
    encoded.ids.forEach((id, i) => {
      const kept = !fromPrompt[i] || (k >= firstKept && k < firstKept + keep);
      if (fromPrompt[i]) k++;
      if (kept) add(id, fromPrompt[i], encoded.spans[i]);
    });
    return { templatedText, ids, tokens, spans, truncation };
  }

  /**
   * Each token's span in `text`: the tokens' bytes walked along the text's UTF-8 bytes. Between added tokens
   * the tokens may hold one byte more than the text: the dummy "▁" (SentencePiece) or "Ġ" (ByteLevel with
   * add_prefix_space) the tokenizer puts first, which spans nothing. Anything else that does not match means
   * the tokenizer changed the text, and spans could not be trusted.
   */
  private spans(text: string, tokens: string[]): Span[] {
    const src = Buffer.from(text, 'utf8');
    const pieces = tokens.map((t) => this.bytesOf(t));
    const byteSpans: Span[] = [];
    let pos = 0;
    for (let i = 0; i < tokens.length;) {
      let j = i;
      while (j < tokens.length && !this.added.has(tokens[j])) j++;
      if (j > i) {
        // A run of model tokens: the text up to the next added token (or the end) is theirs.
        const next = j < tokens.length ? src.indexOf(pieces[j], pos) : src.length;
        let extra = -(next - pos);
        for (let k = i; k < j; k++) extra += pieces[k].length;
        if (next < 0 || extra < 0 || extra > 1 || (extra === 1 && pieces[i][0] !== 0x20)) this.misaligned(text);
        for (let k = i; k < j; k++) {
          const piece = extra === 1 ? pieces[k].subarray(1) : pieces[k];
          extra = 0;
          if (!bytesAt(src, pos, piece)) this.misaligned(text);
          byteSpans.push([pos, pos + piece.length]);
          pos += piece.length;
        }
      }
      if (j < tokens.length) {
        if (!bytesAt(src, pos, pieces[j])) this.misaligned(text);
        byteSpans.push([pos, pos + pieces[j].length]);
        pos += pieces[j].length;
      }
      i = j + 1;
    }
    if (pos !== src.length) this.misaligned(text);
    return toCharSpans(text, byteSpans);
  }

  private misaligned(text: string): never {
    throw new SeerError('TOKENIZER_INVALID', `${this.file}: the tokens do not spell the text they were made from (${JSON.stringify(text.slice(0, 60))}…); the tokenizer changes the text (a normalizer), so prompt tokens cannot be told from the template's.`, {
      file: this.file,
      fix: `Use ${SUPPORTED_TOKENIZERS}, with no normalizer beyond writing spaces as "▁".`,
    });
  }
}

/** Words whose byte-level form is kept, and for how many words at most (then the memory starts over). */
const WORD_MEMORY = { maxChars: 64, maxWords: 50_000 };

/**
 * Keeps the library's ByteLevel pre-tokenizer's answer per word. It maps a word's bytes to characters element by
 * element, the biggest part of the library's encode on long prompts, and prompts repeat their words. Given one word
 * at a time (behind a Split, use_regex false: Llama 3, Qwen) the answer is remembered as it is; given the whole text
 * (use_regex true: GPT-2's layout, this project's own bundles) the text is first cut as the library cuts it (the
 * prefix space, then its pattern) and each piece is remembered. An answer depends on the word alone, and each call
 * returns a new array, so the library may change what it gets.
 */
function rememberByteLevelWords(preTokenizer: PreTokenizer | null): void {
  if (preTokenizer instanceof SequencePreTokenizer) preTokenizer.tokenizers.forEach(rememberByteLevelWords);
  if (!(preTokenizer instanceof ByteLevelPreTokenizer)) return;
  const oneWord = new ByteLevelPreTokenizer({ type: 'ByteLevel', use_regex: false, add_prefix_space: false, trim_offsets: false });
  const words = new Map<string, string>();
  const byteLevelWord = (word: string): string => {
    let piece = words.get(word);
    if (piece === undefined) {
      piece = oneWord.pre_tokenize_text(word)[0] ?? '';
      if (word.length > WORD_MEMORY.maxChars) return piece;
      if (words.size >= WORD_MEMORY.maxWords) words.clear();
      words.set(word, piece);
    }
    return piece;
  };
  const { add_prefix_space: addPrefixSpace, use_regex: useRegex, pattern } = preTokenizer;
  preTokenizer.pre_tokenize_text = (text: string) => {
    if (addPrefixSpace && !text.startsWith(' ')) text = ` ${text}`;
    return (useRegex ? text.match(pattern) ?? [] : [text]).map(byteLevelWord);
  };
}

/** Whether `piece` is in `src` at `pos`. */
function bytesAt(src: Uint8Array, pos: number, piece: Uint8Array): boolean {
  if (pos + piece.length > src.length) return false;
  for (let k = 0; k < piece.length; k++) if (src[pos + k] !== piece[k]) return false;
  return true;
}

/** Byte spans of a string's UTF-8 as UTF-16 spans, widened to whole characters. */
function toCharSpans(text: string, byteSpans: Span[]): Span[] {
  const bytes = Buffer.byteLength(text);
  const charStart = new Int32Array(bytes + 1);
  const charEnd = new Int32Array(bytes);
  let b = 0;
  for (let c = 0; c < text.length;) {
    const cp = text.codePointAt(c)!;
    const units = cp > 0xffff ? 2 : 1;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < len; k++) [charStart[b + k], charEnd[b + k]] = [c, c + units];
    b += len;
    c += units;
  }
  charStart[bytes] = text.length;
  return byteSpans.map(([s, e]) => [charStart[s], e > s ? charEnd[e - 1] : charStart[s]]);
}
