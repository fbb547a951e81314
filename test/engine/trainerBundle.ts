// Format-2 bundles built by the trainer itself, for engine tests that must not depend on the committed models:
// the trainer's tiny random Llama-3.1 checkpoint (trainer/tests: hf_fixtures + the Llama-3 tokenizer and chat
// template of test_hf_import.py) imported by seer_trainer.hf_import (its graph: onnx_graph.py), and the
// trainer's independent PyTorch decoder (hf_model.HFDecoder) as the reference for what the graph computes.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers';

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
