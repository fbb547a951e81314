// Format-2 bundles built by the trainer itself, for engine tests that must not depend on the committed models:
// the trainer's tiny random Llama-3.1 checkpoint (trainer/tests: hf_fixtures + the Llama-3 tokenizer and chat
// template of test_hf_import.py) imported by seer_trainer.hf_import (its graph: onnx_graph.py), and the
// trainer's independent PyTorch decoder (hf_model.HFDecoder) as the reference for what the graph computes; and
// the committed bundle's own PyTorch reference (golden.py: SeerLlama with the weights of its model.onnx).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type PackedEncoding, unpackFloats } from '../../engine/src/bundle/packedFloats';
import { BUNDLE_DIR, readManifest, ROOT } from './helpers';

const PYTHON = '/usr/bin/python3';
const ENV = { ...process.env, PYTHONPATH: ['trainer/tests', 'trainer'].map((p) => path.join(ROOT, p)).join(path.delimiter) };

/** Why the trainer cannot build bundles here (undefined: it can). */
export function trainerMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx, jinja2, pytest; import seer_trainer.onnx_graph'], { encoding: 'utf8', env: ENV });
  return r.status === 0 ? undefined : `${PYTHON} lacks torch, onnx, jinja2 or pytest, or the trainer has no onnx_graph.py (${r.stderr.trim().split('\n').pop()})`;
}

function python(code: string, args: string[], input?: string): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', env: ENV, input, maxBuffer: 256 * 2 ** 20, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${PYTHON} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

/** The fixture checkpoint folder, written under `dir`. */
export function buildCheckpoint(dir: string): string {
  return python('import sys; from pathlib import Path; import test_hf_import as t; print(t.checkpoint(Path(sys.argv[1])))', [dir]);
}

export interface BundleRequest {
  out: string;
  /** Every weight in model.onnx.data, as a big model's. */
  external?: boolean;
  dtype?: 'fp32' | 'fp16';
  /** false: a graph without the KV-cache inputs (generation re-runs the prefix); the import's default is true. */
  kvCache?: boolean;
}

/** Imports `checkpoint` into each requested bundle folder (one Python process: torch loads once). */
export function importBundles(checkpoint: string, bundles: BundleRequest[]): void {
  const code = `
import json, sys
from seer_trainer.hf_import import import_checkpoint
for b in json.loads(sys.argv[2]):
    import_checkpoint(sys.argv[1], b["out"], log=lambda *_: None, dtype=b.get("dtype", "fp32"), external_data_over=0 if b.get("external") else 1 << 40, kv_cache=b.get("kvCache", True))`;
  python(code, [checkpoint, JSON.stringify(bundles)]);
}

export interface Reference {
  /** [L+1][T][H] per row: embeddings, then after each block, before the final norm. */
  hiddenStates: number[][][][];
  /** [V] per row, at its last token. */
  lastLogits: number[][];
}

/** The PyTorch reference (hf_model.HFDecoder, float32) for each row of token ids, one row at a time. */
export function reference(checkpoint: string, rows: number[][]): Reference {
  const code = `
import json, sys, torch
from seer_trainer.hf_model import load_hf_decoder
model = load_hf_decoder(sys.argv[1])
out = {"hiddenStates": [], "lastLogits": []}
with torch.no_grad():
    for ids in json.load(sys.stdin):
        o = model(torch.tensor([ids]))
        out["hiddenStates"].append([h[0].tolist() for h in o.hidden_states])
        out["lastLogits"].append(o.last_logits[0].tolist())
print(json.dumps(out))`;
  return JSON.parse(python(code, [checkpoint], JSON.stringify(rows)));
}

/** The PyTorch reference of a seer-llama bundle (trainer/seer_trainer/golden.py), its tensors unpacked. */
export interface Golden {
  inputs: Array<{ text: string; templated: string; input_ids: number[]; attention_mask: number[] }>;
  /** Per input: [L+1][T][H]. */
  hidden_states: number[][][][];
  /** Per input: [V], at the last token. */
  last_logits: number[][];
  tokenization: Array<{ text: string; ids: number[] }>;
}

/** A packed tensor ({shape, encoding, data}: golden.pack_float32) as nested arrays of its shape. */
function unpackTensor(packed: { shape: number[]; encoding: PackedEncoding; data: string }): any {
  const values = unpackFloats(Buffer.from(packed.data, 'base64'), packed.encoding);
  if (values.length !== packed.shape.reduce((a, b) => a * b, 1)) throw new Error(`the reference's tensor of shape [${packed.shape}] holds ${values.length} values`);
  const nest = (offset: number, dims: number[]): any => {
    if (dims.length === 1) return Array.from(values.subarray(offset, offset + dims[0]));
    const stride = dims.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[0] }, (_, i) => nest(offset + i * stride, dims.slice(1)));
  };
  return nest(0, packed.shape);
}

/**
 * The bundle under test's PyTorch reference, computed by the trainer once per test run (a few seconds: torch
 * loads, four prompts run) and kept in the run's temporary folder by the model's sha256. Call only when
 * trainerMissing() is undefined; a failure to compute it then is an error, not a skip.
 */
export function readGolden(bundleDir = BUNDLE_DIR): Golden {
  const file = path.join(os.tmpdir(), `seer-golden-${readManifest(bundleDir).modelSha256}.json`);
  if (!existsSync(file)) {
    const json = python('import json, sys; from pathlib import Path; from seer_trainer.golden import golden_of_bundle; print(json.dumps(golden_of_bundle(Path(sys.argv[1]))))', [bundleDir]);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, json);
    renameSync(tmp, file); // atomic: test files in other processes may compute it at the same time
  }
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  return { ...raw, hidden_states: raw.hidden_states.map(unpackTensor), last_logits: raw.last_logits.map(unpackTensor) };
}
