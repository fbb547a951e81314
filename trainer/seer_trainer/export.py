"""Writing a SEER bundle (docs/bundle-format.md): model.onnx (format 2's explain-head graph), tokenizer.json,
seer.json. Every bundle's graph comes from onnx_graph.write_explain_graph: our seer-llama IS a
Llama, so the default and baseline models go through it as Hugging Face Llama tensors (seer_llama_as_hf)."""
import io
from pathlib import Path
from typing import Dict, Tuple

import torch

from .hf_families import DecoderConfig, RopeConfig
from .io_utils import write_bytes_atomic, write_json_atomic
from .onnx_graph import GraphFiles, StateDictTensors, onnx_manifest_entry, write_explain_graph

# SeerLlama's module -> its Hugging Face Llama name inside `model.layers.{i}.`
_BLOCK_NAMES = {"attn_norm": "input_layernorm", "mlp_norm": "post_attention_layernorm",
                **{f"attn.{p}": f"self_attn.{p}" for p in ("q_proj", "k_proj", "v_proj", "o_proj")},
                **{f"mlp.{p}": f"mlp.{p}" for p in ("gate_proj", "up_proj", "down_proj")}}


def seer_llama_config(c) -> DecoderConfig:
    """The Llama DecoderConfig a SeerLlama of ModelConfig `c` is (the torch provider also derives it from an old
    bundle's seer.json architecture, whose graph predates onnx_graph.DECODER_METADATA)."""
    return DecoderConfig(
        family="llama", architecture="LlamaForCausalLM", vocab_size=c.vocab_size, hidden_size=c.hidden_size,
        num_layers=c.num_layers, num_heads=c.num_heads, num_kv_heads=c.num_heads, head_dim=c.hidden_size // c.num_heads,
        intermediate_size=c.intermediate_size, norm_eps=c.norm_eps, rope=RopeConfig(c.rope_theta),
        max_position_embeddings=c.max_context, tie_word_embeddings=c.tied_embeddings)


def hf_names(c) -> Dict[str, str]:
    """A SeerLlama of ModelConfig `c`: its state dict's names -> the Hugging Face Llama names its graph uses."""
    return {"embed_tokens.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
            **({} if c.tied_embeddings else {"lm_head.weight": "lm_head.weight"}),
            **{f"layers.{i}.{ours}.weight": f"model.layers.{i}.{theirs}.weight"
               for i in range(c.num_layers) for ours, theirs in _BLOCK_NAMES.items()}}


def seer_llama_as_hf(model) -> Tuple[DecoderConfig, Dict[str, torch.Tensor]]:
    """SeerLlama -> (the Llama DecoderConfig it is, its state dict under Hugging Face names). Same RMSNorm,
    rotate-half RoPE (default, theta), head_dim ** -0.5 scale, SwiGLU, tied or untied head: checked
    numerically against HFDecoder by trainer/tests/test_export.py."""
    c = model.config
    config = seer_llama_config(c)
    names = hf_names(c)
    state = model.state_dict()
    if set(state) != set(names):  # e.g. an unmerged LoRA adapter: the graph must not silently lack it
        raise ValueError(f"seer_llama_as_hf: not a plain SeerLlama state dict (unexpected or missing: "
                         f"{sorted(set(state) ^ set(names))[:3]})")
    tensors = {names[name]: tensor.detach() for name, tensor in state.items()}
    return config, tensors


def write_seer_llama_graph(model, folder, log=print, weights_dtype="float32") -> GraphFiles:
    """folder/model.onnx for a SeerLlama; weights_dtype "float16" halves it (build rounds the weights first)."""
    config, tensors = seer_llama_as_hf(model)
    return write_explain_graph(config, StateDictTensors(tensors), Path(folder), weights_dtype=weights_dtype, log=log)


def manifest(name, description, model_cfg, target_layers, template, add_bos, logit_scale, concepts, safe,
             graph: GraphFiles, training, weights_dtype="float32", representation="last") -> dict:
    """seer.json (format 2) for a bundle whose model.onnx write_explain_graph wrote (`graph`); representation: the
    pooling the model was trained and calibrated at."""
    return {
        "format": "seer-bundle",
        "formatVersion": 2,
        "name": name,
        "description": description,
        "architecture": {
            "type": "seer-llama", "numLayers": model_cfg.num_layers, "hiddenSize": model_cfg.hidden_size,
            "numHeads": model_cfg.num_heads, "intermediateSize": model_cfg.intermediate_size,
            "vocabSize": model_cfg.vocab_size, "maxContext": model_cfg.max_context, "ropeTheta": model_cfg.rope_theta,
            "normEps": model_cfg.norm_eps, "tiedEmbeddings": model_cfg.tied_embeddings,
        },
        "files": {"model": "model.onnx", "tokenizer": "tokenizer.json",
                  "weights": "model.pt"},  # PyTorch twin of model.onnx (users' own PyTorch work; the trainer reads the graph)
        "onnx": onnx_manifest_entry(graph, weights_dtype),
        "targetLayers": list(target_layers),
        "representation": representation,
        "promptTemplate": template,
        "addBos": add_bos,
        "specialTokens": {"bos": "<|bos|>", "eos": "<|eos|>", "pad": "<|pad|>"},
        "logitScale": logit_scale,
        "concepts": list(concepts),
        "safeConcepts": list(safe),
        "banks": {"default": "banks/default.json"},
        "defaultBank": "default",
        "modelSha256": graph.model_sha256,
        "training": training,
    }


def save_weights(model, path) -> None:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    write_bytes_atomic(path, buf.getvalue())


def write_manifest(folder, data) -> None:
    write_json_atomic(Path(folder) / "seer.json", data, indent=2)
