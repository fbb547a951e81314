"""`import --via transformers` (hf_transformers_export.py) against a stand-in `transformers` package: transformers
is not installed here or in CI, so FAKE_TRANSFORMERS below provides AutoModelForCausalLM shaped like transformers'
Llama (model.embed_tokens / layers / norm, lm_head, get_decoder, config) around hf_model.HFDecoder's modules. The
exported graph runs in onnxruntime-node and is compared with HFDecoder itself, which knows nothing of the wrapper.
The real transformers path is to be checked on the GPU machine (transformers 5.17)."""
import json
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="the export is torch.onnx.export")
onnx = pytest.importorskip("onnx", reason="the bundle graph is ONNX")

import hf_fixtures  # noqa: E402
from test_hf_import import checkpoint  # noqa: E402  (a fixture checkpoint with a Llama-3 tokenizer)
from test_onnx_graph import _assert_close, _feed, _max_rel, _padded_batch, _reference, _run, _sha256, needs_ort  # noqa: E402
from seer_trainer import cli, hf_import  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.hf_model import load_hf_decoder  # noqa: E402
from seer_trainer.hf_transformers_export import ExplainHead, export_explain_graph, load_causal_lm  # noqa: E402
from seer_trainer.onnx_graph import DATA_FILE  # noqa: E402

FAKE_TRANSFORMERS = textwrap.dedent('''
    """A stand-in for transformers' AutoModelForCausalLM on a Llama checkpoint, built on hf_model.HFDecoder."""
    import json
    from pathlib import Path
    from types import SimpleNamespace

    from torch import nn

    from seer_trainer.hf_model import load_hf_decoder

    __version__ = "0.0-stand-in"
    loaded = []  # (folder, torch_dtype, other options) per from_pretrained call


    class LlamaModel(nn.Module):
        def __init__(self, decoder):
            super().__init__()
            self.embed_tokens, self.layers, self.norm = decoder.model.embed_tokens, decoder.model.layers, decoder.model.norm
            self._reference = [decoder]  # a list: not a second registration of the same modules

        def forward(self, input_ids=None, attention_mask=None, use_cache=None, output_hidden_states=False):
            # HFDecoder calls these very embed_tokens and layers, so hooks on them see and change its stream.
            hidden = self._reference[0](input_ids, attention_mask).hidden_states
            normed = self.norm(hidden[-1])
            # transformers' last hidden state is AFTER the final norm.
            return SimpleNamespace(last_hidden_state=normed, hidden_states=hidden[:-1] + (normed,) if output_hidden_states else None)


    class LlamaForCausalLM(nn.Module):
        def __init__(self, decoder, config):
            super().__init__()
            self.config = config
            self.model = LlamaModel(decoder)
            self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
            self.lm_head.weight = decoder.model.embed_tokens.weight if decoder.lm_head is None else decoder.lm_head.weight

        def get_decoder(self):
            return self.model

        def get_input_embeddings(self):
            return self.model.embed_tokens

        def get_output_embeddings(self):
            return self.lm_head

        def forward(self, input_ids=None, attention_mask=None, output_hidden_states=False, use_cache=None):
            out = self.model(input_ids, attention_mask, output_hidden_states=output_hidden_states)
            return SimpleNamespace(logits=self.lm_head(out.last_hidden_state), hidden_states=out.hidden_states)


    class AutoModelForCausalLM:
        @staticmethod
        def from_pretrained(folder, torch_dtype=None, **options):
            loaded.append((folder, torch_dtype, options))
            config = json.loads((Path(folder) / "config.json").read_text())
            config.setdefault("tie_word_embeddings", True)
            return LlamaForCausalLM(load_hf_decoder(folder, torch_dtype), SimpleNamespace(**config))
''')


@pytest.fixture
def fake_transformers(tmp_path, monkeypatch):
    package = tmp_path / "site" / "transformers"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_TRANSFORMERS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "transformers", raising=False)
    yield
    sys.modules.pop("transformers", None)


def _quiet(*_):
    pass


@needs_ort
def test_the_exported_graph_matches_the_reference_at_batch_3_a_longer_prompt_and_with_steering(tmp_path, fake_transformers):
    src = hf_fixtures.build(tmp_path / "hf", "llama3.1-sharded-untied").folder
    model = load_causal_lm(src, _quiet)
    assert sys.modules["transformers"].loaded == [(str(src), torch.float32, {"attn_implementation": "eager"})]
    (tmp_path / "graph").mkdir()
    export_explain_graph(model, tmp_path / "graph", log=_quiet)
    decoder = load_hf_decoder(src)  # a second, independent load: the reference
    c = decoder.config
    zeros = torch.zeros(c.num_layers + 1, c.hidden_size)
    ids, mask = _padded_batch(c.vocab_size, [19, 11, 3])  # batch 3 (the export's example is batch 2 x 7 tokens)
    padded = _feed(ids, mask, [18, 5, 2], [2, 0], zeros)
    long_ids, long_mask = _padded_batch(c.vocab_size, [31], seed=2)
    longer = _feed(long_ids, long_mask, [30], [], zeros)  # batch 1, longer, k = 0
    steering = zeros.clone()
    steering[1] = torch.randn(c.hidden_size, generator=torch.Generator().manual_seed(3))
    steered = {**padded, "steering": steering.tolist()}
    got = _run(tmp_path / "graph" / "model.onnx", [padded, longer, steered])

    assert got[0]["states"].shape == (c.num_layers + 1, 3, c.hidden_size)
    _assert_close(got[0], _reference(decoder, padded), 1e-4)
    assert got[1]["token_states"].shape == (0, 1, 31, c.hidden_size)
    _assert_close(got[1], _reference(decoder, longer), 1e-4)
    _assert_close(got[2], _reference(decoder, padded, steering), 1e-4)
    assert torch.equal(got[2]["states"][0], got[0]["states"][0])  # steering row 1 leaves layer 0 alone
    assert _max_rel(got[2]["states"][1:], got[0]["states"][1:]) > 1e-2  # and changes every layer from 1 on


def test_the_pre_norm_state_is_recorded_and_the_hooks_leave_the_model_unchanged(tmp_path, fake_transformers):
    src = hf_fixtures.build(tmp_path / "hf", "qwen3-qknorm").folder
    model = load_causal_lm(src, _quiet)
    head = ExplainHead(model)
    c = load_hf_decoder(src).config
    ids, mask = _padded_batch(c.vocab_size, [6, 4])
    with torch.no_grad():
        states, _, logits, _ = head(ids, mask, torch.tensor([5, 3]), torch.tensor([], dtype=torch.long),
                                    torch.zeros(c.num_layers + 1, c.hidden_size))
        plain = model(ids, mask, output_hidden_states=True)  # after the wrapper ran: zero steering, hooks idle
    # transformers' last entry is after the final norm; the head's layer L is before it.
    assert _max_rel(states[-1], plain.hidden_states[-1][torch.arange(2), torch.tensor([5, 3])]) > 1e-2
    assert torch.allclose(states[:-1], torch.stack(plain.hidden_states[:-1])[:, torch.arange(2), torch.tensor([5, 3])])
    assert torch.allclose(logits, plain.logits[torch.arange(2), torch.tensor([5, 3])], atol=1e-5)


@needs_ort
def test_import_via_transformers_writes_the_same_bundle_format_with_one_external_data_file(tmp_path, fake_transformers):
    src = checkpoint(tmp_path, "llama3.2-bf16-tied")
    out = tmp_path / "bundle"
    data = hf_import.import_checkpoint(src, out, log=_quiet, via="transformers", external_data_over=0)
    graph = hf_import.import_checkpoint(src, tmp_path / "native", log=_quiet)  # the default path, for the format
    assert sorted(p.name for p in out.iterdir()) == sorted(["model.onnx", DATA_FILE, "seer.json", "tokenizer.json"])
    assert data["modelSha256"] == _sha256(out / "model.onnx")
    assert data["onnx"]["externalData"] == {"file": DATA_FILE, "bytes": (out / DATA_FILE).stat().st_size,
                                            "sha256": _sha256(out / DATA_FILE)}
    # The same format, less the KV cache: transformers' export has none, so generation re-runs the prefix.
    assert "kvCache" not in data["onnx"] and "kvCache" in graph["onnx"]
    assert {k: v for k, v in data["onnx"].items() if k != "externalData"} == {k: v for k, v in graph["onnx"].items() if k != "kvCache"}
    assert data["architecture"] == graph["architecture"] and data["targetLayers"] == graph["targetLayers"]
    assert json.loads((out / "seer.json").read_text()) == data
    external = [t for t in onnx.load(str(out / "model.onnx"), load_external_data=False).graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external and {e.value for t in external for e in t.external_data if e.key == "location"} == {DATA_FILE}
    # The external-data graph computes what the native one does.
    decoder = load_hf_decoder(src)
    ids, mask = _padded_batch(decoder.config.vocab_size, [9, 4])
    feed = _feed(ids, mask, [8, 3], [1], torch.zeros(decoder.config.num_layers + 1, decoder.config.hidden_size))
    _assert_close(_run(out / "model.onnx", [feed])[0], _run(tmp_path / "native" / "model.onnx", [feed])[0], 1e-4)


def test_without_transformers_the_error_names_the_install(tmp_path, monkeypatch, capsys):
    src = checkpoint(tmp_path, "llama3.2-bf16-tied")
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError
    with pytest.raises(SeerInputError, match="pip install transformers"):
        hf_import.import_checkpoint(src, tmp_path / "bundle", log=_quiet, via="transformers")
    assert cli.main(["import", str(src), "--out", str(tmp_path / "bundle"), "--via", "transformers"]) == 2
    assert "pip install transformers" in capsys.readouterr().err
    assert not (tmp_path / "bundle").exists() and [p.name for p in tmp_path.iterdir()] == [src.name]  # nothing written


def test_the_unsupported_architecture_error_suggests_via_transformers(tmp_path):
    src = checkpoint(tmp_path, "llama3.2-bf16-tied")
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "architectures": ["FalconForCausalLM"], "model_type": "falcon"}))
    with pytest.raises(SeerInputError, match="--via transformers"):
        hf_import.import_checkpoint(src, tmp_path / "bundle", log=_quiet)
    with pytest.raises(SeerInputError, match="float32 weights only"):
        hf_import.import_checkpoint(src, tmp_path / "bundle", log=_quiet, via="transformers", dtype="fp16")
