// Generation speed with and without the KV cache (docs/bundle-format.md onnx.kvCache): a random ~100M-parameter
// Llama-3-style checkpoint (12 layers, hidden 768, 12 heads / 4 KV heads, vocab 32000, tied) imported twice by
// the trainer, with and without the cache, then one greedy generation of each on CPU.
// Usage: node bench/kvCache.mjs [--new-tokens 256] [--threads 2]. Needs /usr/bin/python3 with torch and onnx.
// Writes bench/RESULTS-kv-cache.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, TMP, bundleBenchScripts, writeResults } from './common.mjs';

const { values } = parseArgs({ options: { 'new-tokens': { type: 'string', default: '256' }, threads: { type: 'string', default: '2' } } });
const work = path.join(TMP, 'kv-cache');
mkdirSync(work, { recursive: true });
const env = { ...process.env, PYTHONPATH: [path.join(ROOT, 'trainer', 'tests'), path.join(ROOT, 'trainer')].join(path.delimiter) };
if (!existsSync(path.join(work, 'nokv', 'seer.json'))) {
  const build = `
import sys; from pathlib import Path
import hf_fixtures, test_hf_import as t
from seer_trainer.hf_import import import_checkpoint
root = Path(sys.argv[1])
fx = hf_fixtures.build(root / "hf", "llama3.1-sharded-untied", vocab_size=32000, hidden_size=768, intermediate_size=2048,
                       num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4, tie_word_embeddings=True)
t.write_llama3_tokenizer(fx.folder)
for kv in (True, False):
    import_checkpoint(fx.folder, root / ("kv" if kv else "nokv"), force=True, log=lambda *_: None, kv_cache=kv)`;
  const r = spawnSync('/usr/bin/python3', ['-c', build, work], { env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}
await bundleBenchScripts({ kvCache: path.join(ROOT, 'bench', 'kvCache.ts') });
const run = (bundle) => {
  const r = spawnSync(process.execPath, [path.join(TMP, 'kvCache.js'), path.join(work, bundle), values['new-tokens'], values.threads], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) process.exit(1);
  return JSON.parse(r.stdout);
};
const [cached, rerun] = [run('kv'), run('nokv')];
const row = (name, m) => `| ${name} | ${m.tokensPerSecond} | ${m.firstStepMs} | ${m.lastStepMs} |`;
writeResults('RESULTS-kv-cache.md', [
  `# Generation with and without the KV cache (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, ${values.threads} threads)`,
  '',
  `Random ~100M-parameter import, ${cached.promptTokens} prompt tokens, ${cached.newTokens} new tokens, greedy (\`node bench/kvCache.mjs\`).`,
  '',
  '| graph | tokens/s | first step ms | last step ms |',
  '|---|---|---|---|',
  row('KV cache', cached),
  row('re-run prefix', rerun),
  '',
  `Same tokens: ${JSON.stringify(cached.tokens) === JSON.stringify(rerun.tokens)}; speed-up ${(cached.tokensPerSecond / rerun.tokensPerSecond).toFixed(1)}×.`,
  '',
].join('\n'));
