// Runs a format-2 explain graph (docs/bundle-format.md) with onnxruntime-node on the CPU, as the engine does, so
// pytest can compare it with the PyTorch reference. The model is loaded by path, so model.onnx.data beside it
// is found. Usage: node explain_forward.cjs model.onnx feeds.json
// feeds.json: a list of {input_ids [B][T], attention_mask [B][T], positions [B], token_layers [k], steering [L+1][H]},
// and for a KV-cache graph optionally past: {past_key_i: {dims, data}, …} (attention_mask then [B][P+T]; an input
// not given is empty, P = 0); prints a list with, per feed, {name: {type, dims, data}} for every output.
const ort = require('onnxruntime-node');
const fs = require('fs');

const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

(async () => {
  const feeds = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const session = await ort.InferenceSession.create(process.argv[2], { executionProviders: ['cpu'] });
  const results = [];
  for (const f of feeds) {
    const dims = [f.input_ids.length, f.input_ids[0].length];
    const out = await session.run({
      input_ids: int64(f.input_ids.flat(), dims),
      attention_mask: int64(f.attention_mask.flat(), [dims[0], f.attention_mask[0].length]),
      positions: int64(f.positions, [f.positions.length]),
      token_layers: int64(f.token_layers, [f.token_layers.length]),
      steering: new ort.Tensor('float32', Float32Array.from(f.steering.flat()), [f.steering.length, f.steering[0].length]),
      ...Object.fromEntries(session.inputMetadata.filter((m) => m.name.startsWith('past_')).map((m) => {
        const p = f.past?.[m.name] ?? { dims: [dims[0], m.shape[1], 0, m.shape[3]], data: [] };
        return [m.name, new ort.Tensor('float32', Float32Array.from(p.data), p.dims)];
      })),
    });
    const plain = {};
    for (const name of session.outputNames) plain[name] = { type: out[name].type, dims: out[name].dims, data: Array.from(out[name].data) };
    results.push(plain);
  }
  process.stdout.write(JSON.stringify(results));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
