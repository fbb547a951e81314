"""Tiny random Hugging Face checkpoints of each supported family, in the layout transformers saves
(config.json with the keys it writes for that family, model.safetensors or shards + index).

The safetensors writer here is deliberately separate from seer_trainer.safetensors_io (NumPy + struct,
no torch), so reading what it wrote tests the reader against an independent implementation of the
format. `build` returns the weights as stored (after fp16/bf16 rounding), in float64, for the reference."""
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import numpy as np

HIDDEN, LAYERS, VOCAB, INTERMEDIATE = 64, 2, 96, 128


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounding to nearest even."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def encode(x: np.ndarray, dtype: str):
    """(raw little-endian bytes, the float64 values they hold)."""
    if dtype == "F32":
        a = x.astype("<f4")
        return a.tobytes(), a.astype(np.float64)
    if dtype == "F16":
        a = x.astype("<f2")
        return a.tobytes(), a.astype(np.float64)
    if dtype == "BF16":
        bits = _bf16_bits(x).astype("<u2")
        return bits.tobytes(), (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    raise ValueError(dtype)


def safetensors_bytes(header: dict, data: bytes, pad_to: int = 8) -> bytes:
    """A file from a header object and a data section, the header padded with spaces as the reference writer does."""
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % pad_to)
    return struct.pack("<Q", len(text)) + text + data


def write_safetensors(path, tensors: Dict[str, np.ndarray], dtype: str = "F32", metadata=None) -> Dict[str, np.ndarray]:
    header, chunks, stored, offset = {}, [], {}, 0
    for name, x in tensors.items():
        raw, stored[name] = encode(x, dtype)
        header[name] = {"dtype": dtype, "shape": list(x.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    Path(path).write_bytes(safetensors_bytes(header, b"".join(chunks)))
    return stored


def _config(model_type, arch, dtype_name, **keys):
    base = {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
            "hidden_size": HIDDEN, "initializer_range": 0.02, "intermediate_size": INTERMEDIATE,
            "model_type": model_type, "num_hidden_layers": LAYERS, "rms_norm_eps": 1e-05,
            "torch_dtype": dtype_name, "transformers_version": "4.46.0", "use_cache": True, "vocab_size": VOCAB}
    return {**base, **keys}


LLAMA3_ROPE = {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
               # 8192 in Llama 3.1; tiny here so that sequences of a few tokens feel the scaling
               "original_max_position_embeddings": 64, "rope_type": "llama3"}

# name -> (config.json, storage dtype, shards)
CASES = {
    "llama3.1-sharded-untied": (_config(
        "llama", "LlamaForCausalLM", "float32", attention_bias=False, hidden_act="silu", max_position_embeddings=131072,
        mlp_bias=False, num_attention_heads=4, num_key_value_heads=2, pretraining_tp=1, rope_scaling=LLAMA3_ROPE,
        rope_theta=500000.0, tie_word_embeddings=False), "F32", 2),
    "llama3.2-bf16-tied": (_config(
        "llama", "LlamaForCausalLM", "bfloat16", attention_bias=False, head_dim=16, hidden_act="silu",
        max_position_embeddings=131072, mlp_bias=False, num_attention_heads=4, num_key_value_heads=1, pretraining_tp=1,
        rope_scaling={**LLAMA3_ROPE, "factor": 32.0}, rope_theta=500000.0, tie_word_embeddings=True), "BF16", 1),
    "llama2-f16-mha": (_config(
        "llama", "LlamaForCausalLM", "float16", hidden_act="silu", max_position_embeddings=4096, num_attention_heads=4,
        pretraining_tp=1, rope_scaling=None, rope_theta=10000.0, tie_word_embeddings=False), "F16", 1),
    "mistral-window": (_config(
        "mistral", "MistralForCausalLM", "float32", hidden_act="silu", max_position_embeddings=32768,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0, sliding_window=4,
        tie_word_embeddings=False), "F32", 1),
    "qwen2.5-bias": (_config(
        "qwen2", "Qwen2ForCausalLM", "float32", hidden_act="silu", max_position_embeddings=32768, max_window_layers=21,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0, sliding_window=32768,
        tie_word_embeddings=True, use_sliding_window=False), "F32", 1),
    "qwen3-qknorm": (_config(
        "qwen3", "Qwen3ForCausalLM", "float32", attention_bias=False, head_dim=24, hidden_act="silu",
        max_position_embeddings=40960, max_window_layers=28, num_attention_heads=4, num_key_value_heads=2,
        rope_scaling=None, rope_theta=1000000.0, sliding_window=None, tie_word_embeddings=True,
        use_sliding_window=False), "F32", 1),
    "gemma2": (_config(
        "gemma2", "Gemma2ForCausalLM", "float32", attention_bias=False, attn_logit_softcapping=2.0,
        cache_implementation="hybrid", final_logit_softcapping=1.5, head_dim=16, hidden_act="gelu_pytorch_tanh",
        hidden_activation="gelu_pytorch_tanh", max_position_embeddings=8192, num_attention_heads=4,
        num_key_value_heads=2, query_pre_attn_scalar=24, rope_theta=10000.0, sliding_window=4,
        tie_word_embeddings=True), "F32", 1),
}


def tensor_shapes(cfg: dict) -> Dict[str, tuple]:
    """Hugging Face tensor names and shapes for a config.json of one of the CASES families."""
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv, hd = cfg.get("num_key_value_heads") or heads, cfg.get("head_dim") or h // heads
    kind, inter = cfg["model_type"], cfg["intermediate_size"]
    norms = (["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"]
             if kind == "gemma2" else ["input_layernorm", "post_attention_layernorm"])
    shapes = {"model.embed_tokens.weight": (cfg["vocab_size"], h)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + n + ".weight": (h,) for n in norms})
        shapes.update({p + "self_attn.q_proj.weight": (heads * hd, h), p + "self_attn.k_proj.weight": (kv * hd, h),
                       p + "self_attn.v_proj.weight": (kv * hd, h), p + "self_attn.o_proj.weight": (h, heads * hd)})
        if kind == "qwen2":
            shapes.update({p + "self_attn.q_proj.bias": (heads * hd,), p + "self_attn.k_proj.bias": (kv * hd,),
                           p + "self_attn.v_proj.bias": (kv * hd,)})
        if kind == "qwen3":
            shapes.update({p + "self_attn.q_norm.weight": (hd,), p + "self_attn.k_norm.weight": (hd,)})
        shapes.update({p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
                       p + "mlp.down_proj.weight": (h, inter)})
    shapes["model.norm.weight"] = (h,)
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (cfg["vocab_size"], h)
    return shapes


def random_weights(cfg: dict, seed: int) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in tensor_shapes(cfg).items():
        if name.endswith("norm.weight"):  # Gemma norms scale by (1 + w): centre them on 0, others on 1
            centre = 0.0 if cfg["model_type"] == "gemma2" else 1.0
            out[name] = (centre + 0.2 * rng.standard_normal(shape)).astype(np.float32)
        else:
            out[name] = (rng.standard_normal(shape) * (0.5 if "embed" in name else 0.15)).astype(np.float32)
    return out


@dataclass
class Fixture:
    folder: Path
    config: dict
    weights: Dict[str, np.ndarray]  # as stored, float64


def build(folder, case: str, seed: int = 0, **overrides) -> Fixture:
    """overrides: config.json keys to change (e.g. vocab_size, to fit a tokenizer fixture)."""
    cfg, dtype, shards = CASES[case]
    cfg = {**cfg, **overrides}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    weights = random_weights(cfg, seed)
    names = list(weights)
    if shards == 1:
        stored = write_safetensors(folder / "model.safetensors", weights, dtype, metadata={"format": "pt"})
    else:
        stored, weight_map = {}, {}
        for k in range(shards):
            part = names[k * len(names) // shards:(k + 1) * len(names) // shards]
            file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            stored.update(write_safetensors(folder / file, {n: weights[n] for n in part}, dtype, metadata={"format": "pt"}))
            weight_map.update({n: file for n in part})
        total = sum(v.size for v in stored.values()) * {"F32": 4, "F16": 2, "BF16": 2}[dtype]
        (folder / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")
    return Fixture(folder, cfg, stored)


def strip_decoder_metadata(bundle: Path, architecture: str = None) -> None:
    """Rewrites a bundle in place as one written before the graph carried its decoder description
    (onnx_graph.DECODER_METADATA): the graph without it, seer.json's and the banks' modelSha256 updated so that only
    the missing metadata tells. architecture: a new architecture.type for seer.json (e.g. an hf-* one)."""
    import hashlib
    import onnx
    bundle = Path(bundle)
    graph = onnx.load(str(bundle / "model.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, str(bundle / "model.onnx"))
    sha = hashlib.sha256((bundle / "model.onnx").read_bytes()).hexdigest()
    manifest = json.loads((bundle / "seer.json").read_text())
    manifest["modelSha256"] = sha
    if architecture:
        manifest["architecture"]["type"] = architecture
    (bundle / "seer.json").write_text(json.dumps(manifest))
    for f in manifest.get("banks", {}).values():
        bank = json.loads((bundle / f).read_text())
        bank["modelSha256"] = sha
        (bundle / f).write_text(json.dumps(bank))
