// Encoded prompts as a few flat arrays, to cross threads: structured clone of the objects themselves (a token object
// and a span array per token) took as long on the receiving thread as the encoding did on the sending one (measured:
// 9 ms to deserialize 32 prompts of 128 tokens, 10 ms to encode them). A token's text is not sent: the receiver's
// tokenizer reads it from the id (BundleTokenizer.tokenText, the same function encodePrompt uses).
import type { Truncation } from '../../../common/protocol';
import type { EncodedPrompt, Span } from '../bundle/tokenizer';

export interface PackedPrompts {
  templatedTexts: string[];
  truncations: Array<Truncation | null>;
  /** Prompt p's tokens are [starts[p], starts[p + 1]) of ids, fromPrompt and (two numbers each) spans. */
  starts: Int32Array;
  ids: Int32Array;
  fromPrompt: Uint8Array;
  spans: Int32Array;
}

export function packPrompts(prompts: EncodedPrompt[]): PackedPrompts {
  const total = prompts.reduce((n, p) => n + p.ids.length, 0);
  const packed: PackedPrompts = {
    templatedTexts: prompts.map((p) => p.templatedText),
    truncations: prompts.map((p) => p.truncation),
    starts: new Int32Array(prompts.length + 1),
    ids: new Int32Array(total),
    fromPrompt: new Uint8Array(total),
    spans: new Int32Array(2 * total),
  };
  let at = 0;
  prompts.forEach((p, k) => {
    packed.starts[k] = at;
    for (let t = 0; t < p.ids.length; t++, at++) {
      packed.ids[at] = p.ids[t];
      packed.fromPrompt[at] = p.tokens[t].fromPrompt ? 1 : 0;
      packed.spans[2 * at] = p.spans[t][0];
      packed.spans[2 * at + 1] = p.spans[t][1];
    }
  });
  packed.starts[prompts.length] = at;
  return packed;
}

export function unpackPrompts(packed: PackedPrompts, tokenText: (id: number) => string): EncodedPrompt[] {
  return packed.templatedTexts.map((templatedText, k) => {
    const from = packed.starts[k];
    const n = packed.starts[k + 1] - from;
    const ids = new Array<number>(n);
    const tokens = new Array<EncodedPrompt['tokens'][number]>(n);
    const spans = new Array<Span>(n);
    for (let t = 0; t < n; t++) {
      const id = packed.ids[from + t];
      ids[t] = id;
      tokens[t] = { id, text: tokenText(id), fromPrompt: packed.fromPrompt[from + t] === 1 };
      spans[t] = [packed.spans[2 * (from + t)], packed.spans[2 * (from + t) + 1]];
    }
    return { templatedText, ids, tokens, spans, truncation: packed.truncations[k] };
  });
}

/** The buffers to transfer rather than copy. */
export function packedBuffers(packed: PackedPrompts): ArrayBuffer[] {
  return [packed.starts.buffer, packed.ids.buffer, packed.fromPrompt.buffer, packed.spans.buffer] as ArrayBuffer[];
}
