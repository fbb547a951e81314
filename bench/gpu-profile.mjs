// Where a bundle's forward spends its time on each provider, and whether the GPU computes what the CPU does: the
// explain graph run with onnxruntime-node's profiler on (per-node durations summed by operator type) and the
// outputs of each run compared with the last run's on the same feed (the reference, e.g. float32 on the CPU). For
// the GPU machine (bench/gpu-session.sh); no GPU needed to run it with cpu runs only.
// usage: node bench/gpu-profile.mjs BUNDLE@PROVIDER… [--tokens 128,512] [--runs 3] [--out FILE]
//   e.g. node bench/gpu-profile.mjs big-fp32@webgpu big-fp16@webgpu big-fp32@cpu (every bundle of the same model)
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { tokens: { type: 'string', default: '128,512' }, runs: { type: 'string', default: '3' }, out: { type: 'string' } },
});
const runs = positionals.map((p) => ({ name: p, bundle: p.slice(0, p.lastIndexOf('@')), provider: p.slice(p.lastIndexOf('@') + 1) }));
if (!runs.length || runs.some((r) => !r.bundle || !r.provider)) {
  console.error('usage: node bench/gpu-profile.mjs BUNDLE@PROVIDER… [--tokens 128,512] [--runs 3] [--out FILE]');
  process.exit(2);
}
const manifestOf = (bundle) => JSON.parse(readFileSync(path.join(bundle, 'seer.json'), 'utf8'));
const { numLayers, hiddenSize, vocabSize } = manifestOf(runs[0].bundle).architecture;
const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

/** One prompt of `tokens` random ids, every output asked for at the last token, an empty KV past if the graph takes one. */
function feed(session, tokens) {
  let seed = 7;
  const ids = Array.from({ length: tokens }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % vocabSize);
  const feeds = {
    input_ids: int64(ids, [1, tokens]), attention_mask: int64(ids.map(() => 1), [1, tokens]), positions: int64([tokens - 1], [1]),
    token_layers: int64([numLayers], [1]), steering: new ort.Tensor('float32', new Float32Array((numLayers + 1) * hiddenSize), [numLayers + 1, hiddenSize]),
  };
  for (const m of session.inputMetadata.filter((i) => i.name.startsWith('past_'))) {
    feeds[m.name] = new ort.Tensor('float32', new Float32Array(0), [1, m.shape[1], 0, m.shape[3]]);
  }
  return feeds;
}

const maxAbs = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const maxOf = (a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

const result = { runs: {}, agreement: {} };
const outputs = {};
for (const { name, bundle, provider } of runs) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seer-profile-'));
  try {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(path.join(bundle, 'model.onnx'), {
      executionProviders: [provider], enableProfiling: true, profileFilePrefix: path.join(dir, 'profile'), logSeverityLevel: 3,
    });
    const entry = { weightsDtype: manifestOf(bundle).onnx.weightsDtype, loadMs: Math.round(performance.now() - t0), shapes: {} };
    for (const tokens of values.tokens.split(',').map(Number)) {
      const f = feed(session, tokens);
      const first = performance.now();
      const out = await session.run(f);
      const firstMs = performance.now() - first;
      const times = [];
      for (let i = 0; i < Number(values.runs); i++) {
        const s = performance.now();
        await session.run(f);
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      entry.shapes[tokens] = { firstMs: Math.round(firstMs * 10) / 10, medianMs: Math.round(times[times.length >> 1] * 10) / 10 };
      outputs[`${name}:${tokens}`] = { states: out.states.data, last_logits: out.last_logits.data };
    }
    session.endProfiling(); // writes profile_<date>.json into `dir` (onnxruntime-node returns nothing)
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = file ? JSON.parse(readFileSync(path.join(dir, file), 'utf8')) : [];
    const byOp = {};
    let total = 0;
    for (const e of events.filter((x) => x.cat === 'Node' && x.name.endsWith('_kernel_time'))) {
      const op = e.args?.op_name ?? 'unknown';
      byOp[op] = (byOp[op] ?? 0) + e.dur;
      total += e.dur;
    }
    entry.kernelTimeByOp = Object.entries(byOp).sort((a, b) => b[1] - a[1]).slice(0, 15)
      .map(([op, us]) => ({ op, ms: Math.round(us / 100) / 10, share: Math.round((us / total) * 1000) / 1000 }));
    entry.kernelTimeTotalMs = Math.round(total / 100) / 10;
    entry.note = 'kernel times are what ORT\'s profiler records per node over every run above (first runs included); for the GPU providers they may be dispatch times, not GPU time';
    await session.release();
    result.runs[name] = entry;
  } catch (err) {
    result.runs[name] = { error: String(err?.message ?? err).split('\n')[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const reference = runs[runs.length - 1].name;
for (const { name } of runs.slice(0, -1)) {
  for (const tokens of values.tokens.split(',')) {
    const x = outputs[`${name}:${tokens}`], y = outputs[`${reference}:${tokens}`];
    if (x && y) {
      result.agreement[`${name} vs ${reference} at ${tokens} tokens`] = Object.fromEntries(['states', 'last_logits'].map((k) => [k, { maxAbsDiff: maxAbs(x[k], y[k]), maxAbs: maxOf(y[k]) }]));
    }
  }
}
const text = `${JSON.stringify(result, null, 2)}\n`;
if (values.out) {
  writeFileSync(`${values.out}.tmp`, text);
  renameSync(`${values.out}.tmp`, values.out);
}
console.log(text);
