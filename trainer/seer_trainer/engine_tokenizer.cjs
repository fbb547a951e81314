// Tokenizes for the trainer with the engine's own code (engine/src/bundle/tokenizer.ts and representation.ts,
// compiled in memory with esbuild), so hf-train reads exactly the tokens and the read-out position that
// `seer explain` reads: the same template, BOS rule, special tokens, truncation and request-end token.
// stdin: {"tokenizer": path, "manifest": {...}, "prompts": [text], "raw": [text], "maxPromptTokens": n,
// "pooling": "last" | "request-end"}; stdout: {"prompts": [{"ids", "position", "hasSuffix", "truncated"}],
// "raw": [[ids]], "special": {"bos", "eos", "pad"} (ids)}. Needs a checkout with node_modules (npm ci).
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const esbuild = require('esbuild');

const engineSrc = path.resolve(__dirname, '..', '..', 'engine', 'src');
const built = esbuild.buildSync({
  stdin: {
    contents: "export { BundleTokenizer } from './bundle/tokenizer'; export { readOutPosition } from './representation';",
    resolveDir: engineSrc, loader: 'ts', sourcefile: 'engine_tokenizer_entry.ts',
  },
  bundle: true, write: false, platform: 'node', format: 'cjs', external: ['@huggingface/tokenizers'], logLevel: 'silent',
});
const filename = path.join(engineSrc, 'engine_tokenizer_entry.js');
const engineModule = new Module(filename, module);
engineModule.filename = filename;
engineModule.paths = Module._nodeModulePaths(engineSrc);
engineModule._compile(built.outputFiles[0].text, filename);
const { BundleTokenizer, readOutPosition } = engineModule.exports;

const request = JSON.parse(fs.readFileSync(0, 'utf8'));
try {
  const tok = new BundleTokenizer(JSON.parse(fs.readFileSync(request.tokenizer, 'utf8')), request.manifest, request.tokenizer);
  const prompts = request.prompts.map((text) => {
    const enc = tok.encodePrompt(text, request.maxPromptTokens, 'right');
    const lastPrompt = enc.tokens.map((t) => t.fromPrompt).lastIndexOf(true);
    return {
      ids: enc.ids,
      position: readOutPosition(enc.tokens, request.pooling),
      hasSuffix: lastPrompt + 1 < enc.ids.length,
      truncated: enc.truncation !== null,
    };
  });
  const raw = request.raw.map((text) => tok.encodeRaw(text));
  process.stdout.write(JSON.stringify({ prompts, raw, special: { bos: tok.bosId, eos: tok.eosId, pad: tok.padId } }));
} catch (err) {
  const fix = err.fix === undefined ? '' : ` ${typeof err.fix === 'string' ? err.fix : err.fix.cli}`;
  process.stderr.write(`${err.message}${fix}\n`);
  process.exit(3);
}
