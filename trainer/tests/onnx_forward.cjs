// Runs a bundle's model.onnx with onnxruntime-node (what the engine runs) so pytest can compare its outputs
// with the PyTorch model. Usage: node onnx_forward.cjs model.onnx batch.json  (batch: {input_ids, attention_mask},
// each [B][T]); prints {logits: {dims, data}, hidden_states: {dims, data}}.
const ort = require('onnxruntime-node');
const fs = require('fs');

(async () => {
  const { input_ids: ids, attention_mask: mask } = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const dims = [ids.length, ids[0].length];
  const tensor = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), dims);
  const session = await ort.InferenceSession.create(fs.readFileSync(process.argv[2]), { executionProviders: ['cpu'] });
  const out = await session.run({ input_ids: tensor(ids), attention_mask: tensor(mask) });
  const plain = (t) => ({ dims: t.dims, data: Array.from(t.data) });
  process.stdout.write(JSON.stringify({ logits: plain(out.logits), hidden_states: plain(out.hidden_states) }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
