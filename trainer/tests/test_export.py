"""The default/baseline bundles' export: SeerLlama as a Hugging Face Llama (seer_llama_as_hf), its format-2
explain graph run by onnxruntime-node against SeerLlama itself, the manifest, the PyTorch reference (golden.py)."""
import hashlib
import json

import onnx
import pytest
import torch

from conftest import TINY
from seer_trainer.config import ModelConfig
from seer_trainer.export import manifest, seer_llama_as_hf, write_seer_llama_graph
from seer_trainer.golden import GOLDEN_PROMPTS, golden, unpack_float32
from seer_trainer.hf_model import HFDecoder
from seer_trainer.lora import apply_lora
from seer_trainer.model import SeerLlama
from seer_trainer.onnx_graph import INPUTS, OUTPUTS, StateDictTensors
from test_onnx_graph import _feed, _run, needs_ort


def _quiet(*_):
    pass


def _padded(vocab, lengths, seed=1):
    ids = torch.randint(0, vocab, (len(lengths), max(lengths)), generator=torch.Generator().manual_seed(seed))
    mask = (torch.arange(max(lengths)) < torch.tensor(lengths).view(-1, 1)).long()
    return ids * mask, mask


@pytest.mark.parametrize("tied", [True, False])
def test_seer_llama_is_a_llama_hf_decoder_reproduces_it(tied):
    # Non-default theta and eps, so a mapping that dropped them would show.
    cfg = ModelConfig(vocab_size=400, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_context=128,
                      rope_theta=500.0, norm_eps=1e-3, tied_embeddings=tied)
    torch.manual_seed(0)
    model = SeerLlama(cfg).eval()
    for p in model.parameters():  # away from the init's ones/zeros-ish values: norms and the head matter
        p.data += 0.05 * torch.randn_like(p)
    config, tensors = seer_llama_as_hf(model)
    assert config.family == "llama" and config.tie_word_embeddings == tied and config.head_dim == 8
    assert ("lm_head.weight" in tensors) == (not tied) and "model.layers.1.post_attention_layernorm.weight" in tensors
    decoder = HFDecoder(config, device="meta").load_weights(StateDictTensors(tensors)).eval()
    assert decoder.unused_tensors == []  # every tensor has a place
    ids, mask = _padded(cfg.vocab_size, [40, 23, 1])
    with torch.no_grad():
        want, got = model(ids, mask), decoder(ids, mask)
    for b, n in enumerate([40, 23, 1]):  # real tokens: padding is never read
        for w, g in zip(want.hidden_states, got.hidden_states):
            assert (w[b, :n] - g[b, :n]).abs().max() < 1e-5
        assert (want.logits[b, n - 1] - got.last_logits[b]).abs().max() < 1e-5


def test_an_unmerged_lora_adapter_is_refused_not_dropped(tiny_model):
    apply_lora(tiny_model, 2, 4, 0.0)
    with pytest.raises(ValueError, match=r"not a plain SeerLlama state dict.*layers\.0\.attn\.k_proj\.base\.weight"):
        seer_llama_as_hf(tiny_model)


@needs_ort
def test_the_graph_reproduces_seer_llama_and_the_manifest_describes_it(tiny_model, tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    graph = write_seer_llama_graph(tiny_model, folder, log=_quiet)
    assert graph.external is None and sorted(p.name for p in folder.iterdir()) == ["model.onnx"]
    assert graph.model_sha256 == hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    m = onnx.load(str(folder / "model.onnx"))
    onnx.checker.check_model(m)
    assert [i.name for i in m.graph.input] == INPUTS and [o.name for o in m.graph.output] == OUTPUTS

    data = manifest("t", "tiny", TINY, [1], "User: {prompt}\nAssistant:", True, 10, ["a", "b"], ["b"], graph, {})
    assert data["formatVersion"] == 2 and data["modelSha256"] == graph.model_sha256 and data["representation"] == "last"
    assert data["onnx"] == {"inputs": INPUTS, "outputs": OUTPUTS, "opset": m.opset_import[0].version, "weightsDtype": "float32"}
    assert data["files"]["weights"] == "model.pt"  # the trainer's calibrate reads the PyTorch twin

    # Batch 3, right padding, 100 tokens (the tiny context is 128); row 1 read mid-prompt.
    lengths, positions = [100, 37, 2], [99, 20, 1]
    ids, mask = _padded(TINY.vocab_size, lengths)
    feed = _feed(ids, mask, positions, [2, 0], torch.zeros(TINY.num_layers + 1, TINY.hidden_size))
    got = _run(folder / "model.onnx", [feed])[0]
    with torch.no_grad():
        out = tiny_model(ids, mask)
    hidden = torch.stack(out.hidden_states)  # [L+1, B, T, H]
    rows = torch.arange(3)
    assert (got["states"] - hidden[:, rows, torch.tensor(positions)]).abs().max() < 1e-5
    assert (got["last_logits"] - out.logits[rows, torch.tensor(lengths) - 1]).abs().max() < 1e-5
    real = mask.float()[None, :, :, None]
    assert (got["mean_states"] - (hidden * real).sum(2) / real.sum(2)).abs().max() < 1e-5
    for b, n in enumerate(lengths):
        assert (got["token_states"][:, b, :n] - hidden[[2, 0]][:, b, :n]).abs().max() < 1e-5


def test_golden_reproduces_with_torch(tiny_model, tok, tmp_path):
    g = json.loads(json.dumps(golden(tiny_model, tok, "User: {prompt}\nAssistant:", True, ["héllo 😀"])))
    assert [i["text"] for i in g["inputs"]] == GOLDEN_PROMPTS
    for inp, hs, last in zip(g["inputs"], g["hidden_states"], g["last_logits"]):
        assert inp["input_ids"][0] == tok.bos_id and inp["input_ids"][1:] == tok.encode(inp["templated"])
        out = tiny_model(torch.tensor([inp["input_ids"]]))
        ref = torch.stack(out.hidden_states)[:, 0]
        hs, last = unpack_float32(hs), unpack_float32(last)
        assert hs.shape == ref.shape == (TINY.num_layers + 1, len(inp["input_ids"]), TINY.hidden_size)
        assert torch.equal(hs, ref.float())  # float32 bytes: exact
        assert torch.equal(last, out.logits[0, -1].float())
    assert g["tokenization"] == [{"text": "héllo 😀", "ids": tok.encode("héllo 😀")}]
