"""The PyTorch reference the engine is checked against (test/engine/golden.test.ts, represent.test.ts and the
trainer's graph tests): GOLDEN_PROMPTS run alone through SeerLlama, every layer's hidden states and the last
logits, and the trainer tokenizer's ids of a set of strings. Computed when the tests run, from the bundle's own
model.onnx weights (golden_of_bundle), not committed: 1.5 MB for the default model, and more for a bigger one.
The JSON layout is docs/bundle-format.md's "The PyTorch reference"."""
from pathlib import Path

import torch

from .batching import apply_template, encode_prompt
from .bundle_model import load_seer_llama
from .packed_floats import pack_floats, unpack_floats
from .tokenization_cases import tokenization_cases


def pack_float32(t: torch.Tensor) -> dict:
    """A tensor as the reference stores it: {"shape", "encoding", "data"} (packed_floats: float32, base64). Exact:
    the engine compares float32 with float32."""
    return {"shape": list(t.shape), **pack_floats(t.detach().to(torch.float32).cpu().numpy())}


def unpack_float32(packed: dict) -> torch.Tensor:
    return torch.from_numpy(unpack_floats(packed).reshape(packed["shape"]))


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
        hidden.append(pack_float32(torch.stack(out.hidden_states, 0)[:, 0]))
        last_logits.append(pack_float32(out.logits[0, -1]))
    return {
        "inputs": inputs,
        "hidden_states": hidden,
        "last_logits": last_logits,
        "tokenization": [{"text": s, "ids": tok.encode(s)} for s in tokenization_texts],
    }


def golden_of_bundle(bundle: Path) -> dict:
    """golden() for a seer-llama bundle: SeerLlama with the weights of its model.onnx (bundle_model), its prompt
    template, and tokenization_cases()."""
    manifest, model, tok = load_seer_llama(bundle)
    return golden(model, tok, manifest["promptTemplate"], manifest["addBos"], tokenization_cases(),
                  manifest["architecture"]["maxContext"])
