// The engine keeps the library's byte-level form of each word (engine/src/bundle/tokenizer.ts
// rememberByteLevelWords), behind a Split pre-tokenizer (Llama 3, Qwen) and in a ByteLevel pre-tokenizer that cuts
// the text itself (GPT-2's layout, this project's bundles; with and without the prefix space): the tokens must be the
// library's own, on first sight of a word and on every later one, for long words (not kept) and past the memory's
// bound alike.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BundleTokenizer } from '../../engine/src/bundle/tokenizer';
import type { Manifest } from '../../engine/src/bundle/manifest';
import { BUNDLE_DIR, readManifest } from './helpers';

const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const byteLevel = (addPrefixSpace: boolean, useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex });
/** The default bundle's byte-level BPE behind each layout's pre-tokenizers. */
const LAYOUTS: [string, object][] = [
  ["Llama 3's Split, then ByteLevel per word", { type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
    byteLevel(false, false),
  ] }],
  ['ByteLevel cutting the text (this project)', byteLevel(false, true)],
  ['ByteLevel cutting the text, with the prefix space (GPT-2)', byteLevel(true, true)],
];
const withPreTokenizer = (preTokenizer: object) => ({ ...JSON.parse(readFileSync(path.join(BUNDLE_DIR, 'tokenizer.json'), 'utf8')), pre_tokenizer: preTokenizer });

/** The engine's ByteLevel pre-tokenizer, whether alone or in a Sequence. */
function engineByteLevel(engine: BundleTokenizer): object {
  const pre = (engine as unknown as { tokenizer: Tokenizer }).tokenizer.pre_tokenizer as unknown as { tokenizers?: object[] };
  return pre.tokenizers ? pre.tokenizers[pre.tokenizers.length - 1] : pre;
}

function texts(n: number, seed: number): string[] {
  const parts = ['the', ' cat', "'s", '  ', '\n\n', '\t', 'é', '日本語', '😀', '👍🏽', '...', '123456', '!?', 'Straße', '=====', 'x'.repeat(70), ' '];
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(next() * 40) }, () => parts[Math.floor(next() * parts.length)]).join(''));
}

describe.each(LAYOUTS)('byte-level words kept per word: %s', (_, preTokenizer) => {
  const json = withPreTokenizer(preTokenizer);
  it('tokenizes as the library does, on first and later sight of each word', () => {
    const manifest = readManifest() as unknown as Manifest;
    const engine = new BundleTokenizer(json, manifest, 'tokenizer.json');
    const library = new Tokenizer(json, {});
    // The memory is in place: the engine's ByteLevel pre-tokenizer has its own pre_tokenize_text.
    expect(Object.hasOwn(engineByteLevel(engine), 'pre_tokenize_text')).toBe(true);
    const words = texts(300, 1);
    for (const pass of [1, 2]) {
      for (const text of words) expect(engine.encodeRaw(text), `pass ${pass}: ${JSON.stringify(text)}`).toEqual(library.encode(text, { add_special_tokens: false }).ids);
    }
  });

  it('past its bound of words, starts over and stays right', () => {
    const manifest = readManifest() as unknown as Manifest;
    const engine = new BundleTokenizer(json, manifest, 'tokenizer.json');
    const library = new Tokenizer(json, {});
    const many = Array.from({ length: 60_000 }, (_, i) => `w${i.toString(36)}`).join(' ');
    expect(engine.encodeRaw(many)).toEqual(library.encode(many, { add_special_tokens: false }).ids);
    for (const text of texts(50, 2)) expect(engine.encodeRaw(text)).toEqual(library.encode(text, { add_special_tokens: false }).ids);
  });
});
