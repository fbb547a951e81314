"""The --hf-model path without transformers: its adapter, tokenizer shim and loss step run on our own
model class dressed up as a Hugging Face model (the real path was not run here)."""
import copy
import importlib.util
from types import SimpleNamespace

import onnx
import pytest
import torch

from conftest import TINY
from seer_trainer.cli import main
from seer_trainer.config import SeerConfig
from seer_trainer.export import export_onnx
from seer_trainer.hf import HFAdapter, TokenizerShim
from seer_trainer.lora import apply_lora
from seer_trainer.train import seer_losses


class FakeHFModel(torch.nn.Module):
    """Answers like transformers' CausalLM: keyword inputs, output_hidden_states, .logits/.hidden_states."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input_ids, attention_mask=None, output_hidden_states=False, use_cache=True):
        assert output_hidden_states and not use_cache
        out = self.inner(input_ids, attention_mask)
        return SimpleNamespace(logits=out.logits, hidden_states=out.hidden_states)


def test_adapter_matches_our_interface(tiny_model):
    ids = torch.randint(0, TINY.vocab_size, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    ours, theirs = tiny_model(ids, mask), HFAdapter(FakeHFModel(tiny_model))(ids, mask)
    assert torch.equal(ours.logits, theirs.logits)
    assert all(torch.equal(a, b) for a, b in zip(ours.hidden_states, theirs.hidden_states))


def test_tokenizer_shim_falls_back_to_eos(tok):
    fake = SimpleNamespace(bos_token_id=None, eos_token_id=7, pad_token_id=None,
                           encode=lambda text, add_special_tokens: tok.encode(text) if not add_special_tokens else None)
    shim = TokenizerShim(fake)
    assert (shim.bos_id, shim.pad_id) == (7, 7) and shim.encode("hello") == tok.encode("hello")


def test_seer_step_through_adapter(tiny_model):
    frozen = HFAdapter(FakeHFModel(copy.deepcopy(tiny_model)))
    params = apply_lora(tiny_model, 2, 4, 0.0)
    adapter = HFAdapter(FakeHFModel(tiny_model))
    ids = torch.randint(3, TINY.vocab_size, (4, 5))
    mask = torch.ones_like(ids)
    gen = torch.randint(3, TINY.vocab_size, (2, 8))
    total, contrast, retain, kl = seer_losses(adapter, frozen, ((ids, mask), 2), (gen, torch.ones_like(gen)),
                                              SeerConfig(), [1])
    assert retain.item() == 0.0 and contrast.item() > 0
    total.backward()
    assert all(p.grad is not None for p in params[:2])


def test_adapter_exports(tiny_model, tmp_path):
    export_onnx(HFAdapter(FakeHFModel(tiny_model)), tmp_path / "m.onnx")
    m = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(m)
    assert [o.name for o in m.graph.output] == ["logits", "hidden_states"]


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed here")
def test_missing_transformers_is_a_clean_error(tmp_path, capsys):
    code = main(["hf-train", "--hf-model", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install transformers peft accelerate" in err and "Traceback" not in err
