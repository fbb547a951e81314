// A host worker thread (bundled as dist/host-worker.js, esbuild.mjs): tokenizes prompts and builds explanations for
// the engine's thread (pool.ts) with the engine's own functions, from its own copy of the bundle's tokenizer.
import { parentPort } from 'node:worker_threads';
import { BundleTokenizer, type ConceptBank, type EncodedPrompt, type LoadedBundle } from '../bundle/index';
import { readBundleFile, TOKENIZER_LIMIT } from '../bundle/bundleFile';
import { parseJson } from '../bundle/jsonCheck';
import type { ConceptMapAbsent } from '../../../common/protocol';
import type { ConceptMap } from '../calibration/conceptMap';
import { explainRow } from '../explainRow';
import { type Answers, type KeepBank, type Request, type TokenizedRun, toWire } from './messages';
import { packedBuffers, packPrompts } from './packedPrompts';

const port = parentPort!;
let bundle: LoadedBundle | null = null;
const banks = new Map<number, { bank: ConceptBank; map: ConceptMap | ConceptMapAbsent }>();

port.on('message', (message: Request | KeepBank) => {
  if (message.op === 'bank') {
    for (const key of message.drop) banks.delete(key);
    banks.set(message.key, { bank: message.bank, map: message.map });
    return;
  }
  answer(message).then(
    (value) => port.postMessage({ id: message.id, ok: true, value }, message.op === 'tokenize' ? packedBuffers((value as TokenizedRun).prompts) : []),
    (err: unknown) => port.postMessage({ id: message.id, ok: false, error: toWire(err) }),
  );
});

async function answer(request: Request): Promise<Answers[Request['op']]> {
  switch (request.op) {
    case 'open': {
      const { source } = request;
      // Read as loadBundle reads it (bundle/index.ts), from the real path it read.
      const json = parseJson((await readBundleFile(source.tokenizerFile, TOKENIZER_LIMIT)).toString('utf8'), source.tokenizerFile, 'TOKENIZER_INVALID');
      const tokenizer = new BundleTokenizer(json, source.manifest, source.tokenizerFile);
      bundle = { dir: source.dir, manifest: source.manifest, manifestFile: source.manifestFile, modelFile: source.modelFile, tokenizer, banks: new Map(), userBanks: new Set() };
      for (let i = 1; i < request.rounds; i++) tokenizer.encodePrompt(request.probe, Number.POSITIVE_INFINITY, 'right');
      return tokenizer.encodePrompt(request.probe, Number.POSITIVE_INFINITY, 'right').ids;
    }
    case 'tokenize': {
      const { tokenizer } = opened();
      const encoded: EncodedPrompt[] = [];
      const ms: number[] = [];
      for (const text of request.texts) {
        const started = performance.now();
        try {
          encoded.push(tokenizer.encodePrompt(text, request.maxPrompt, request.side));
        } catch (err) {
          return { prompts: packPrompts(encoded), ms, error: toWire(err) }; // the engine reports the first failure
        }
        ms.push(performance.now() - started);
      }
      return { prompts: packPrompts(encoded), ms };
    }
    case 'build': {
      const loaded = opened();
      const kept = banks.get(request.bank);
      if (!kept) throw new Error(`host worker: bank ${request.bank} was not sent`); // a bug in pool.ts
      const opts = { ...request.opts, bank: kept.bank };
      return request.rows.map(({ text, templatedText, truncation, tokenizeMs }, row) => explainRow(loaded, opts, kept.map, {
        text,
        encoded: { templatedText, ids: [], tokens: [], spans: [], truncation }, // no token view (BuildRow)
        out: request.out,
        row: request.firstRow + row,
        provider: request.provider,
        timingsMs: { tokenize: tokenizeMs, forward: request.forwardMs },
      }));
    }
  }
}

function opened(): LoadedBundle {
  if (!bundle) throw new Error('host worker: not opened'); // a bug in pool.ts
  return bundle;
}
