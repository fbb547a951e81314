// SentencePiece-converted tokenizers (Llama 2, Mistral, Gemma) in the engine: ids derived by hand from the
// fixtures' merges (trainer/tests/sp_tokenizers.py; the same strings gave the same tokens and spans under the Rust
// `tokenizers` 0.23), the prompt inside the chat template tokenized as one string, one bos, token texts the panel
// reads as text, and tokenizers the engine cannot run refused with a clear error.
import { spawnSync } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../engine/src/bundle';
import type { Manifest } from '../../engine/src/bundle/manifest';
import { BundleTokenizer } from '../../engine/src/bundle/tokenizer';
import { Engine } from '../../engine/src/engine';
import { SeerError } from '../../engine/src/errors';
import { ROOT } from './helpers';

const PYTHON = '/usr/bin/python3';
type Fixture = 'llama2' | 'mistral' | 'gemma';
interface PromptFormat { promptTemplate: string; addBos: boolean; specialTokens: { bos: string; eos: string; pad: string } }

/** The text a run of token texts spells: `<xx>` byte tokens joined into UTF-8 characters. */
function spelled(tokens: { text: string }[]): string {
  const bytes: number[] = [];
  for (const { text } of tokens) {
    const byte = /^<([0-9a-f]{2})>$/.exec(text);
    if (byte) bytes.push(parseInt(byte[1], 16));
    else bytes.push(...Buffer.from(text, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

let tmp: string;
const json: Record<string, any> = {};
const formats: Record<string, PromptFormat> = {};

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-sp-'));
  const r = spawnSync(PYTHON, [path.join(ROOT, 'trainer', 'tests', 'sp_tokenizers.py'), tmp], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`writing the tokenizer fixtures failed:\n${r.stderr}`);
  for (const name of ['llama2', 'mistral', 'gemma']) {
    json[name] = JSON.parse(readFileSync(path.join(tmp, name, 'tokenizer.json'), 'utf8'));
    formats[name] = JSON.parse(readFileSync(path.join(tmp, name, 'prompt_format.json'), 'utf8'));
  }
});
afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/**
 * What the tokenizer reads of seer.json: the fixture's prompt format (what `seer import` writes for it) and the
 * model's vocabulary and context. A whole bundle, imported by the trainer, is loaded at the end of this file.
 */
function manifestFor(name: Fixture, edit: Partial<PromptFormat> = {}): Manifest {
  const architecture = { vocabSize: Object.keys(json[name].model.vocab).length, maxContext: 4096 };
  return { ...formats[name], ...edit, architecture } as unknown as Manifest;
}

function tokenizer(name: Fixture, edit: Partial<PromptFormat> = {}): BundleTokenizer {
  return new BundleTokenizer(json[name], manifestFor(name, edit), `${name}/tokenizer.json`);
}

/** Ids of token strings, from the fixture's vocabulary: what the hand derivation says the tokenizer must produce. */
function ids(name: Fixture, ...tokens: string[]): number[] {
  const vocab: Record<string, number> = json[name].model.vocab;
  return tokens.map((t) => {
    if (!Object.hasOwn(vocab, t)) throw new Error(`"${t}" is not in the ${name} vocabulary`);
    return vocab[t];
  });
}

const B = (hex: string) => `<0x${hex}>`;

describe('SentencePiece BPE ids', () => {
  it('merges words, puts the dummy "▁" first (Llama 2, Mistral) or not (Gemma)', () => {
    for (const name of ['llama2', 'mistral'] as const) {
      expect(tokenizer(name).encodeRaw('Hello world')).toEqual(ids(name, '▁Hello', '▁world'));
      expect(tokenizer(name).encodeRaw('the café')).toEqual(ids(name, '▁the', '▁', 'ca', 'f', B('C3'), B('A9')));
    }
    expect(tokenizer('gemma').encodeRaw('Hello world')).toEqual(ids('gemma', 'Hello', '▁world'));
    expect(tokenizer('gemma').encodeRaw(' Hello')).toEqual(ids('gemma', '▁Hello'));
    expect(tokenizer('gemma').encodeRaw('the café')).toEqual(ids('gemma', 't', 'he', '▁', 'ca', 'f', B('C3'), B('A9')));
  });

  it('spells what has no piece with byte tokens: é, an emoji, and "\\n" in Llama (a piece in Gemma)', () => {
    expect(tokenizer('llama2').encodeRaw('café 🙂!')).toEqual(ids('llama2', '▁', 'ca', 'f', B('C3'), B('A9'), '▁', B('F0'), B('9F'), B('99'), B('82'), '!'));
    expect(tokenizer('llama2').encodeRaw('a\nb')).toEqual(ids('llama2', '▁', 'a', B('0A'), 'b'));
    expect(tokenizer('gemma').encodeRaw('a\nb')).toEqual(ids('gemma', 'a', '\n', 'b'));
  });

  it('leading spaces: the Prepend normalizer always adds "▁", Metaspace "first" only before text that has none', () => {
    // "  two  spaces ": Llama 2 reads "▁▁▁two▁▁spaces▁" ("▁ t" merges before "▁ ▁"); Mistral "▁▁two▁▁spaces▁".
    expect(tokenizer('llama2').encodeRaw('  two  spaces ')).toEqual(ids('llama2', '▁▁', '▁t', 'w', 'o', '▁▁', 's', 'p', 'a', 'c', 'e', 's', '▁'));
    expect(tokenizer('mistral').encodeRaw('  two  spaces ')).toEqual(ids('mistral', '▁', '▁t', 'w', 'o', '▁▁', 's', 'p', 'a', 'c', 'e', 's', '▁'));
  });

  it('decodes back to the text ("▁" a space, byte tokens joined, the dummy prefix stripped)', () => {
    for (const name of ['llama2', 'mistral', 'gemma'] as const) {
      const t = tokenizer(name);
      for (const text of ['Hello world', 'the café', 'café 🙂!', 'a\nb']) expect(t.decode(t.encodeRaw(text))).toBe(text);
    }
  });
});

describe('the prompt inside the chat template', () => {
  it('Llama 2: tokenized as one string (the template\'s space is the prompt\'s "▁"), one bos, prompt tokens marked', () => {
    const t = tokenizer('llama2');
    const enc = t.encodePrompt('Hello world', 1000, 'right');
    expect(enc.templatedText).toBe('<s>[INST] Hello world [/INST]');
    expect(enc.ids).toEqual(ids('llama2', '<s>', '▁[', 'INST', ']', '▁Hello', '▁world', '▁[', '/', 'INST', ']'));
    expect(enc.ids).toEqual(t.encodeRaw(enc.templatedText));
    // Encoded piece by piece, the prompt would get a dummy "▁" of its own: not what the model reads.
    const piecewise = ['<s>[INST] ', 'Hello world', ' [/INST]'].flatMap((s) => t.encodeRaw(s));
    expect(piecewise).not.toEqual(enc.ids);
    expect(enc.tokens.map((x) => x.fromPrompt)).toEqual([false, false, false, false, true, true, false, false, false, false]);
    expect(enc.tokens.map((x) => x.text)).toEqual(['<s>', ' [', 'INST', ']', ' Hello', ' world', ' [', '/', 'INST', ']']);
    // Spans: "▁[" first in its section is the dummy "▁" (no character) and "["; "▁Hello" is " Hello".
    expect(enc.spans).toEqual([[0, 3], [3, 4], [4, 8], [8, 9], [9, 15], [15, 21], [21, 23], [23, 24], [24, 28], [28, 29]]);
    expect(enc.spans.map(([s, e]) => enc.templatedText.slice(s, e))).toEqual(['<s>', '[', 'INST', ']', ' Hello', ' world', ' [', '/', 'INST', ']']);
  });

  it('a manifest asking for bos with a template that has one still gives one bos; a plain template gets one', () => {
    const twice = tokenizer('llama2', { addBos: true }).encodePrompt('Hello', 1000, 'right');
    expect(twice.ids.filter((id) => id === ids('llama2', '<s>')[0])).toHaveLength(1);
    const plain = tokenizer('llama2', { promptTemplate: '{prompt}', addBos: true }).encodePrompt('Hello', 1000, 'right');
    expect(plain.ids).toEqual(ids('llama2', '<s>', '▁Hello'));
    expect(plain.tokens.map((x) => x.fromPrompt)).toEqual([false, true]);
    expect(plain.spans).toEqual([[0, 0], [0, 5]]);
  });

  it('a prompt that starts with a space: the template\'s own space is a template token', () => {
    const enc = tokenizer('llama2').encodePrompt(' Hello', 1000, 'right');
    expect(enc.ids).toEqual(ids('llama2', '<s>', '▁[', 'INST', ']', '▁', '▁Hello', '▁[', '/', 'INST', ']'));
    expect(enc.tokens.map((x) => x.fromPrompt)).toEqual([false, false, false, false, false, true, false, false, false, false]);
  });

  it('Mistral (Metaspace, "first"): no "▁" after <s>, the rest as Llama 2', () => {
    const enc = tokenizer('mistral').encodePrompt('Hello world', 1000, 'right');
    expect(enc.ids).toEqual(ids('mistral', '<s>', '[', 'INST', ']', '▁Hello', '▁world', '▁[', '/', 'INST', ']'));
    expect(enc.tokens.filter((x) => x.fromPrompt).map((x) => x.text)).toEqual([' Hello', ' world']);
  });

  it('Gemma: turn markers are template tokens; a token straddling template and prompt counts as the prompt\'s', () => {
    const t = tokenizer('gemma');
    const enc = t.encodePrompt('Hello world', 1000, 'right');
    expect(enc.templatedText).toBe('<bos><start_of_turn>user\nHello world<end_of_turn>\n<start_of_turn>model\n');
    expect(enc.ids).toEqual(ids('gemma', '<bos>', '<start_of_turn>', 'user', '\n', 'Hello', '▁world', '<end_of_turn>', '\n', '<start_of_turn>', 'model', '\n'));
    expect(enc.tokens.filter((x) => x.fromPrompt).map((x) => x.text)).toEqual(['Hello', ' world']);
    const straddle = t.encodePrompt('\nHello', 1000, 'right'); // the template's "\n" and the prompt's merge into "\n\n"
    expect(straddle.ids.slice(0, 5)).toEqual(ids('gemma', '<bos>', '<start_of_turn>', 'user', '\n\n', 'Hello'));
    expect(straddle.tokens.slice(0, 5).map((x) => x.fromPrompt)).toEqual([false, false, false, true, true]);
    expect(straddle.spans[3]).toEqual([24, 26]);
  });

  it('byte tokens: text the panel joins into "é" and "🙂", spans covering the whole character', () => {
    const enc = tokenizer('llama2').encodePrompt('café 🙂', 1000, 'right');
    const prompt = enc.tokens.filter((x) => x.fromPrompt);
    expect(prompt.map((x) => x.id)).toEqual(ids('llama2', 'ca', 'f', B('C3'), B('A9'), '▁', B('F0'), B('9F'), B('99'), B('82')));
    expect(prompt.map((x) => x.text)).toEqual(['ca', 'f', '<c3>', '<a9>', ' ', '<f0>', '<9f>', '<99>', '<82>']);
    expect(spelled(prompt)).toBe('café 🙂'); // the panel joins byte tokens the same way (test/webview/tokenText.test.ts)
    const at = (tok: string) => enc.spans[enc.ids.indexOf(ids('llama2', tok)[0])];
    expect(enc.templatedText.slice(...at(B('C3')))).toBe('é');
    expect(enc.templatedText.slice(...at(B('F0')))).toBe('🙂');
    // "▁" before "ca" is the template's space ("[INST] "), not the prompt's.
    expect(enc.tokens[4]).toEqual({ id: ids('llama2', '▁')[0], text: ' ', fromPrompt: false });
    expect(tokenizer('llama2').tokenText(ids('llama2', B('0A'))[0])).toBe('\n');
  });

  it('truncation drops prompt tokens only, from the side asked', () => {
    const t = tokenizer('llama2');
    const right = t.encodePrompt('Hello world the world', 2, 'right');
    expect(right.ids).toEqual(ids('llama2', '<s>', '▁[', 'INST', ']', '▁Hello', '▁world', '▁[', '/', 'INST', ']'));
    expect(right.truncation).toEqual({ side: 'right', originalTokens: 4, keptTokens: 2 });
    const left = t.encodePrompt('Hello world the world', 2, 'left');
    expect(left.tokens.filter((x) => x.fromPrompt).map((x) => x.text)).toEqual([' the', ' world']);
    expect(left.spans).toHaveLength(left.ids.length);
  });
});

describe('byte-level BPE (the default bundle\'s tokenizer) through the same spans', () => {
  const seer = JSON.parse(readFileSync(path.join(ROOT, 'models', 'default', 'seer.json'), 'utf8'));
  const tokenizerJson = JSON.parse(readFileSync(path.join(ROOT, 'models', 'default', 'tokenizer.json'), 'utf8'));
  const manifest = { promptTemplate: seer.promptTemplate, addBos: seer.addBos, specialTokens: seer.specialTokens, architecture: seer.architecture } as unknown as Manifest;

  it('spans tile the templated text, multi-byte characters whole, and mark the prompt', () => {
    const t = new BundleTokenizer(tokenizerJson, manifest, 'tokenizer.json');
    expect(t.kind).toBe('byte-level');
    const prompt = 'Ünïcödé, emoji 😀 and 日本語!';
    const enc = t.encodePrompt(prompt, 1000, 'right');
    const [bos, ...rest] = enc.spans;
    expect(bos).toEqual([0, 0]);
    // Consecutive spans meet or overlap only where a character's bytes are split between tokens.
    expect(rest[0][0]).toBe(0);
    expect(rest[rest.length - 1][1]).toBe(enc.templatedText.length);
    rest.slice(1).forEach(([s], i) => expect(s).toBeLessThanOrEqual(rest[i][1]));
    const start = enc.templatedText.indexOf(prompt);
    enc.tokens.forEach((tok, i) => expect(tok.fromPrompt).toBe(enc.spans[i][0] < start + prompt.length && enc.spans[i][1] > start));
    expect(spelled(enc.tokens.filter((x) => x.fromPrompt))).toBe(prompt);
  });

  it('a normalizer that changes the text is a clear error, not wrong prompt tokens', () => {
    const lowercased = { ...tokenizerJson, normalizer: { type: 'Lowercase' } };
    const t = new BundleTokenizer(lowercased, manifest, 'tokenizer.json');
    expect(() => t.encodePrompt('Hello', 1000, 'right')).toThrow(/tokens do not spell the text/);
  });
});

describe('tokenizers the engine cannot run', () => {
  const refused = (tok: unknown): SeerError => {
    try {
      new BundleTokenizer(tok, manifestFor('llama2'), 'tokenizer.json');
    } catch (e) {
      expect(e).toBeInstanceOf(SeerError);
      return e as SeerError;
    }
    throw new Error('accepted');
  };
  const edited = (edit: (t: any) => void) => {
    const t = structuredClone(json.llama2);
    edit(t);
    return t;
  };

  it.each([
    ['a Unigram model (T5)', (t: any) => void (t.model = { type: 'Unigram', unk_id: 0, vocab: Object.keys(t.model.vocab).map((p, i) => [p, -i]) }), /its model is "Unigram", not BPE/],
    ['a WordPiece model (BERT)', (t: any) => void (t.model = { type: 'WordPiece', unk_token: '<unk>', vocab: t.model.vocab }), /its model is "WordPiece", not BPE/],
    ['BPE without byte fallback', (t: any) => void (t.model.byte_fallback = false), /without byte_fallback/],
    ['a missing byte token', (t: any) => void delete t.model.vocab['<0x0A>'], /1 byte tokens are missing \(e\.g\. <0x0A>\)/],
    ['a Metaspace that splits at "▁"', (t: any) => void Object.assign(t, { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true } }), /splits the text at every "▁"/],
    ['an NFKC normalizer', (t: any) => void t.normalizer.normalizers.push({ type: 'NFKC' }), /normalizer \(\["Prepend","Replace","NFKC"\]\)/],
  ])('%s', (_, edit, problem) => {
    const e = refused(edited(edit));
    expect(e.code).toBe('TOKENIZER_INVALID');
    expect(e.message).toMatch(problem);
    expect(e.message).toContain('Llama 1/2, Mistral, Gemma');
    expect(e.message).toContain('Llama 3, Qwen');
  });
});

/** Why the trainer cannot import a checkpoint here (undefined: it can). */
function missingTrainer(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx, jinja2'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} lacks torch, onnx or jinja2 (apt install python3-torch python3-onnx python3-jinja2)`;
}
const noTrainer = missingTrainer();
if (noTrainer) console.warn(`skipping the imported SentencePiece bundle: ${noTrainer}`);

/** "Hello café" inside each fixture's chat template: [token text, fromPrompt], derived by hand from the merges. */
const HELLO_CAFE: Record<'llama2' | 'gemma', Array<[string, boolean]>> = {
  llama2: [
    ['<s>', false], [' [', false], ['INST', false], [']', false],
    [' Hello', true], [' ', true], ['ca', true], ['f', true], ['<c3>', true], ['<a9>', true],
    [' [', false], ['/', false], ['INST', false], [']', false],
  ],
  gemma: [
    ['<bos>', false], ['<start_of_turn>', false], ['user', false], ['\n', false],
    ['Hello', true], [' ', true], ['ca', true], ['f', true], ['<c3>', true], ['<a9>', true],
    ['<end_of_turn>', false], ['\n', false], ['<start_of_turn>', false], ['model', false], ['\n', false],
  ],
};

describe.skipIf(noTrainer)('bundles imported from Llama-2 and Gemma-2 checkpoints with their SentencePiece tokenizers', () => {
  const engines: Engine[] = [];
  beforeAll(() => {
    // `seer import`'s Python side on tiny random checkpoints (hf_fixtures) with the tokenizer fixtures.
    const script = [
      'import sys; from pathlib import Path',
      'import hf_fixtures, sp_tokenizers; from seer_trainer.hf_import import import_checkpoint',
      "for name, case in (('llama2', 'llama2-f16-mha'), ('gemma', 'gemma2')):",
      "    tok, _ = sp_tokenizers.TOKENIZERS[name]()",
      "    fx = hf_fixtures.build(Path(sys.argv[1]) / f'hf-{name}', case, vocab_size=len(tok['model']['vocab']))",
      '    sp_tokenizers.write(fx.folder, name)',
      "    import_checkpoint(fx.folder, Path(sys.argv[1]) / f'bundle-{name}', log=lambda *a: None)",
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, tmp], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: ['trainer/tests', 'trainer'].map((p) => path.join(ROOT, p)).join(path.delimiter) },
    });
    if (r.status !== 0) throw new Error(`importing the fixture checkpoints failed:\n${r.stderr}`);
  }, 180_000);
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  it.each(['llama2', 'gemma'] as const)('%s: loads, and reads the prompt inside the chat template as the tokenizer does, the prompt\'s tokens marked', async (name) => {
    const bundleDir = path.join(tmp, `bundle-${name}`);
    const bundle = await loadBundle(bundleDir);
    expect(bundle.tokenizer.kind).toBe('sentencepiece');
    expect(bundle.manifest).toMatchObject(formats[name]);
    const enc = bundle.tokenizer.encodePrompt('Hello café', 1000, 'right');
    expect(enc.tokens.map((t) => [t.text, t.fromPrompt])).toEqual(HELLO_CAFE[name]);
    const engine = await Engine.load({ bundleDir, provider: 'cpu', intraOpThreads: 1 });
    engines.push(engine);
    const [rep] = await engine.represent(['Hello café'], { pooling: 'last' });
    expect(rep.ids).toEqual(enc.ids);
    expect(rep.layers).toHaveLength(bundle.manifest.architecture.numLayers + 1);
  });
});
