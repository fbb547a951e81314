"""A random-weight Hugging Face checkpoint shaped like a real Llama, for the GPU benchmark (bench/gpu.mjs):
config.json, model.safetensors (streamed tensor by tensor, so a 5 GB checkpoint never sits in memory twice),
and the default bundle's tokenizer with a tokenizer_config.json naming its special tokens (a base model: no
chat template). Only the shapes matter for timing: weights ~ N(0, 0.02), norms 1. numpy only (no torch, no
transformers), so it runs wherever the benchmark does.

usage: gpu_checkpoint.py OUT_DIR --shape llama-3.2-1b|llama-3.1-8b|llama-3.2-1b-thin|tiny [--dtype F32|BF16] [--tokenizer-bundle DIR]
"""
import argparse
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

ROPE_LLAMA3 = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
SHAPES = {
    # For the benchmark's own test on a machine without a GPU (bench/gpu.mjs --cpu-only --tiny).
    "tiny": dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=16, vocab_size=8192, tie_word_embeddings=True, rope_scaling=ROPE_LLAMA3),
    # Llama-3.2-1B's hidden size and depth with one attention head, a tiny MLP and the tokenizer's vocabulary: the
    # engine's host-side work per prompt (states of 2,048 per layer) at a forward a 2-core CPU runs in seconds.
    "llama-3.2-1b-thin": dict(hidden_size=2048, intermediate_size=64, num_hidden_layers=16, num_attention_heads=1,
                              num_key_value_heads=1, head_dim=64, vocab_size=8192, tie_word_embeddings=True,
                              rope_scaling=ROPE_LLAMA3),
    # meta-llama/Llama-3.2-1B's config.json (1.24B parameters, tied embeddings).
    "llama-3.2-1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                         num_key_value_heads=8, head_dim=64, vocab_size=128256, tie_word_embeddings=True,
                         rope_scaling=ROPE_LLAMA3),
    # meta-llama/Llama-3.1-8B's (8.03B parameters, untied).
    "llama-3.1-8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=8, head_dim=128, vocab_size=128256, tie_word_embeddings=False,
                         rope_scaling={**ROPE_LLAMA3, "factor": 8.0}),
}
BYTES = {"F32": 4, "BF16": 2}


def config(shape: str, dtype: str, bos_id: int, eos_id: int) -> dict:
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0, "max_position_embeddings": 131072, "attention_bias": False, "mlp_bias": False,
            "bos_token_id": bos_id, "eos_token_id": eos_id, "use_cache": True,
            "torch_dtype": "float32" if dtype == "F32" else "bfloat16", **SHAPES[shape]}


def tensor_shapes(cfg: dict) -> dict:
    h, i, kv = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_key_value_heads"] * cfg["head_dim"]
    q = cfg["num_attention_heads"] * cfg["head_dim"]
    shapes = {"model.embed_tokens.weight": (cfg["vocab_size"], h)}
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes.update({p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                       p + "self_attn.q_proj.weight": (q, h), p + "self_attn.k_proj.weight": (kv, h),
                       p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, q),
                       p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h), p + "mlp.down_proj.weight": (h, i)})
    shapes["model.norm.weight"] = (h,)
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (cfg["vocab_size"], h)
    return shapes


def encode(x: np.ndarray, dtype: str) -> bytes:
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    bits = x.astype("<f4").view("<u4")
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2").tobytes()  # round to nearest even


def write_safetensors(path: Path, shapes: dict, dtype: str, seed: int = 0) -> int:
    """Header first (offsets are known from the shapes), then each tensor generated and written in turn."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape)) * BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for name, shape in shapes.items():
            if name.endswith("norm.weight"):
                f.write(encode(np.ones(shape, dtype=np.float32), dtype))
                continue
            # In blocks of rows: bounded memory for the 0.5-2 GB embedding matrices.
            step = max(1, (64 << 20) // (4 * int(np.prod(shape[1:]))))
            for r in range(0, shape[0], step):
                block = rng.standard_normal((min(step, shape[0] - r),) + tuple(shape[1:]), dtype=np.float32)
                f.write(encode(block * np.float32(0.02), dtype))
    os.replace(tmp, path)
    return sum(int(np.prod(s)) for s in shapes.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--dtype", choices=sorted(BYTES), default="F32")
    ap.add_argument("--tokenizer-bundle", default=str(Path(__file__).resolve().parents[1] / "models" / "default"),
                    help="a SEER bundle whose tokenizer.json and special tokens the checkpoint uses")
    a = ap.parse_args(argv)
    out, bundle = Path(a.out), Path(a.tokenizer_bundle)
    manifest = json.loads((bundle / "seer.json").read_text())
    tokenizer = json.loads((bundle / "tokenizer.json").read_text())
    ids = {**tokenizer["model"]["vocab"], **{t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])}}
    special = manifest["specialTokens"]
    out.mkdir(parents=True, exist_ok=True)
    cfg = config(a.shape, a.dtype, ids[special["bos"]], ids[special["eos"]])
    if max(ids.values()) >= cfg["vocab_size"]:
        sys.exit(f"error: the tokenizer of {bundle} has ids beyond the model's vocabulary ({cfg['vocab_size']})")
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    (out / "tokenizer.json").write_text(json.dumps(tokenizer))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": special["bos"], "eos_token": special["eos"], "pad_token": special["pad"],
        "add_bos_token": bool(manifest.get("addBos", True)), "tokenizer_class": "PreTrainedTokenizerFast"}, indent=2))
    parameters = write_safetensors(out / "model.safetensors", tensor_shapes(cfg), a.dtype)
    print(json.dumps({"checkpoint": str(out), "shape": a.shape, "dtype": a.dtype, "parameters": parameters,
                      "tokenizerVocab": len(ids)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
