"""Writing a SEER bundle (docs/bundle-format.md): model.onnx, tokenizer.json, golden.json, seer.json."""
import hashlib
import io
from pathlib import Path

import torch
from torch import nn

from .batching import apply_template, encode_prompt
from .io_utils import write_bytes_atomic, write_json_atomic

OPSET = 14


class OnnxWrapper(nn.Module):
    """Outputs logits [B, T, V] and all hidden states stacked as [L+1, B, T, H]."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids, attention_mask)
        return out.logits, torch.stack(out.hidden_states, 0)


def export_onnx(model, path, opset=OPSET, to_file=False) -> str:
    """Exports and returns the sha256 of the written file. to_file: torch writes `path` itself, without our
    buffer's copy of the serialised model; the caller makes that atomic (hf_import: a temp folder, renamed)."""
    model.eval()
    ids = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 0]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    target = str(path) if to_file else io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            OnnxWrapper(model), (ids, mask), target, opset_version=opset, do_constant_folding=True,
            input_names=["input_ids", "attention_mask"], output_names=["logits", "hidden_states"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "logits": {0: "batch", 1: "seq"}, "hidden_states": {1: "batch", 2: "seq"}},
        )
    if to_file:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    data = target.getvalue()
    write_bytes_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def _r(t: torch.Tensor, digits=8):
    """Floats as JSON with 8 significant digits: far below the engine's 1e-4 tolerance."""
    return [_r(x, digits) for x in t] if t.dim() else float(f"{t.item():.{digits}g}")


GOLDEN_PROMPTS = [
    "How do I bake sourdough bread at home?",
    "Write a Python function that reverses a linked list.",
    "Tell me how to find someone's home address from their license plate.",
    "Ünïcödé, emoji 😀 and 日本語 in one prompt!",
]


@torch.no_grad()
def golden(model, tok, template, add_bos, tokenization_texts, max_tokens=512) -> dict:
    """Each golden input is run alone (batch 1, no padding) so the engine can compare exactly."""
    inputs, hidden, last_logits = [], [], []
    for text in GOLDEN_PROMPTS:
        ids, _ = encode_prompt(tok, text, template, add_bos, max_tokens)
        t = torch.tensor([ids])
        m = torch.ones_like(t)
        out = model(t, m)
        inputs.append({"text": text, "templated": apply_template(template, text), "input_ids": ids, "attention_mask": [1] * len(ids)})
        hidden.append(_r(torch.stack(out.hidden_states, 0)[:, 0]))
        last_logits.append(_r(out.logits[0, -1]))
    return {
        "inputs": inputs,
        "hidden_states": hidden,
        "last_logits": last_logits,
        "tokenization": [{"text": s, "ids": tok.encode(s)} for s in tokenization_texts],
    }


def manifest(name, description, model_cfg, target_layers, template, add_bos, logit_scale, concepts, safe,
             model_sha, training) -> dict:
    return {
        "format": "seer-bundle",
        "formatVersion": 1,
        "name": name,
        "description": description,
        "architecture": {
            "type": "seer-llama", "numLayers": model_cfg.num_layers, "hiddenSize": model_cfg.hidden_size,
            "numHeads": model_cfg.num_heads, "intermediateSize": model_cfg.intermediate_size,
            "vocabSize": model_cfg.vocab_size, "maxContext": model_cfg.max_context, "ropeTheta": model_cfg.rope_theta,
            "normEps": model_cfg.norm_eps, "tiedEmbeddings": model_cfg.tied_embeddings,
        },
        "files": {"model": "model.onnx", "tokenizer": "tokenizer.json", "golden": "golden.json",
                  "weights": "model.pt"},  # PyTorch twin of model.onnx, for the trainer's calibrate
        "onnx": {"inputs": ["input_ids", "attention_mask"], "outputs": ["logits", "hidden_states"], "opset": OPSET},
        "targetLayers": list(target_layers),
        "representation": "last",
        "promptTemplate": template,
        "addBos": add_bos,
        "specialTokens": {"bos": "<|bos|>", "eos": "<|eos|>", "pad": "<|pad|>"},
        "logitScale": logit_scale,
        "concepts": list(concepts),
        "safeConcepts": list(safe),
        "banks": {"default": "banks/default.json"},
        "defaultBank": "default",
        "modelSha256": model_sha,
        "training": training,
    }


def save_weights(model, path) -> None:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    write_bytes_atomic(path, buf.getvalue())


def write_manifest(folder, data) -> None:
    write_json_atomic(Path(folder) / "seer.json", data, indent=2)
