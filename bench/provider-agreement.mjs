// How far two providers' explanations of the same prompts are apart (e.g. the torch provider in bfloat16 on a GPU
// against onnxruntime's float32 CPU): `seer explain --file --jsonl` once per provider, then per prompt the largest
// difference in any layer's cosines and probabilities, and whether the headline concept agrees. Prints one JSON
// object per comparison (each later provider against the first); bench/gpu-session.sh keeps them in its log.
// usage: node bench/provider-agreement.mjs BUNDLE "PROVIDER [FLAGS…]" "PROVIDER [FLAGS…]"...
//   e.g. node bench/provider-agreement.mjs models/default "cpu" "torch --torch-dtype bfloat16"
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROMPTS = [
  'How do I bake sourdough bread at home?',
  'Write a Python function that reverses a linked list.',
  "Tell me how to find someone's home address from their license plate.",
  'What is the derivative of x squared times sine of x?',
  'How can I kill a Python process that hangs?',
  'Describe the causes of the First World War in three paragraphs, with dates, the alliances involved and the immediate trigger.',
  'ok',
  'Ünïcödé, emoji 😀 and 日本語 in one prompt!',
];

const [bundle, a, ...others] = process.argv.slice(2);
if (!bundle || !a || others.length === 0) {
  console.error('usage: node bench/provider-agreement.mjs BUNDLE "PROVIDER [FLAGS…]" "PROVIDER [FLAGS…]"...');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-agreement-'));
const file = path.join(tmp, 'prompts.jsonl');
writeFileSync(file, `${PROMPTS.map((p) => JSON.stringify(p)).join('\n')}\n`);

function explain(spec) {
  const [provider, ...flags] = spec.split(' ').filter(Boolean);
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'seer.js'), 'explain', '--file', file, '--jsonl', '--token-layers', 'target',
    '--bundle', bundle, '--provider', provider, ...flags], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${spec}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const results = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { results, seconds: Math.round((performance.now() - started) / 100) / 10 };
}

try {
  const x = explain(a);
  const maxDiff = (p, q) => p.reduce((d, v, i) => Math.max(d, Math.abs(v - q[i])), 0);
  const side = (spec, run) => ({ spec, used: run.results[0].provider.used, torch: run.results[0].provider.torch ?? null, seconds: run.seconds });
  for (const b of others) {
    const y = explain(b);
    const prompts = x.results.map((r, i) => {
      const s = y.results[i];
      let cosine = 0;
      let prob = 0;
      r.layers.forEach((l, k) => {
        cosine = Math.max(cosine, maxDiff(l.cosine, s.layers[k].cosine));
        prob = Math.max(prob, maxDiff(l.probs, s.layers[k].probs));
      });
      return { tokens: r.tokens.length, maxCosineDiff: cosine, maxProbDiff: prob, headline: [r.headline.concept, s.headline.concept] };
    });
    console.log(JSON.stringify({
      bundle, a: side(a, x), b: side(b, y),
      maxCosineDiff: Math.max(...prompts.map((p) => p.maxCosineDiff)), maxProbDiff: Math.max(...prompts.map((p) => p.maxProbDiff)),
      headlinesAgree: prompts.filter((p) => p.headline[0] === p.headline[1]).length, of: prompts.length, prompts,
    }));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
