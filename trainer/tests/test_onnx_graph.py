"""The explain-head graph (onnx_graph.py, docs/bundle-format.md format 2) run through onnxruntime-node, as the
engine runs it, against the independent PyTorch reference hf_model.HFDecoder, for every family of hf_fixtures."""
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the reference decoder is PyTorch")
onnx = pytest.importorskip("onnx", reason="the graph is written with onnx.helper")

import hf_fixtures  # noqa: E402
from seer_trainer import onnx_graph  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.hf_families import load_decoder_config  # noqa: E402
from seer_trainer.hf_model import load_hf_decoder  # noqa: E402
from seer_trainer.onnx_graph import DATA_FILE, StateDictTensors, onnx_manifest_entry, write_explain_graph  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("explain_forward.cjs")
needs_ort = pytest.mark.skipif(not ((REPO / "node_modules" / "onnxruntime-node").exists() and shutil.which("node")),
                               reason="needs node and node_modules/onnxruntime-node (npm ci)")


def _quiet(*_):
    pass


def _graph(src: Path, out: Path, **options) -> onnx_graph.GraphFiles:
    out.mkdir(parents=True)
    with Checkpoint(src) as ckpt:
        return write_explain_graph(load_decoder_config(src), ckpt, out, log=_quiet, **options)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------- feeds, the runner and the reference ----------------

def _padded_batch(vocab: int, lengths, seed: int = 1):
    """Right-padded ids and mask [len(lengths), max(lengths)]."""
    ids = torch.randint(0, vocab, (len(lengths), max(lengths)), generator=torch.Generator().manual_seed(seed))
    mask = (torch.arange(max(lengths)) < torch.tensor(lengths).view(-1, 1)).long()
    return ids * mask, mask


def _feed(ids, mask, positions, token_layers, steering):
    return {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "positions": list(positions),
            "token_layers": list(token_layers), "steering": steering.tolist()}


def _run(model: Path, feeds):
    path = model.parent.parent / "feeds.json"
    path.write_text(json.dumps(feeds))
    run = subprocess.run(["node", str(RUNNER), str(model), str(path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert all(o["type"] == "float32" for r in results for o in r.values())  # whatever the weights' dtype
    return [{name: torch.tensor(o["data"], dtype=torch.float32).view(*o["dims"]) for name, o in r.items()} for r in results]


@torch.no_grad()
def _reference(decoder, feed, steering=None):
    ids, mask = torch.tensor(feed["input_ids"]), torch.tensor(feed["attention_mask"])
    out = decoder(ids, mask, steering=steering)
    hidden = torch.stack(out.hidden_states, 0)  # [L+1, B, T, H]
    rows = torch.arange(ids.shape[0])
    real = mask.float()[None, :, :, None]
    return {"states": hidden[:, rows, torch.tensor(feed["positions"])],
            "mean_states": (hidden * real).sum(2) / real.sum(2),
            "last_logits": out.last_logits,
            "token_states": hidden[torch.tensor(feed["token_layers"], dtype=torch.long)]}


def _max_rel(got, want):
    assert got.shape == want.shape
    return float((got - want).abs().max() / want.abs().max()) if want.numel() else 0.0


def _assert_close(got: dict, want: dict, tolerance: float):
    errors = {name: _max_rel(got[name], want[name]) for name in onnx_graph.OUTPUTS}
    assert max(errors.values()) < tolerance, errors


# ---------------- every family, fp32 ----------------

@needs_ort
@pytest.mark.parametrize("case", list(hf_fixtures.CASES))
def test_the_graph_matches_the_reference_with_padding_a_longer_prompt_and_steering(tmp_path, case):
    src = hf_fixtures.build(tmp_path / "hf", case).folder
    _graph(src, tmp_path / "graph")
    decoder = load_hf_decoder(src)
    c = decoder.config
    zeros = torch.zeros(c.num_layers + 1, c.hidden_size)
    # Batch 3, right-padded, longer than the fixtures' 4-token sliding windows; row 1 is read mid-prompt.
    ids, mask = _padded_batch(c.vocab_size, [19, 11, 3])
    padded = _feed(ids, mask, [18, 5, 2], [2, 0], zeros)
    long_ids, long_mask = _padded_batch(c.vocab_size, [31], seed=2)
    longer = _feed(long_ids, long_mask, [30], [], zeros)  # a longer sequence in the same session, and k = 0
    steering = zeros.clone()
    steering[1] = torch.randn(c.hidden_size, generator=torch.Generator().manual_seed(3))
    steered = {**padded, "steering": steering.tolist()}
    got = _run(tmp_path / "graph" / "model.onnx", [padded, longer, steered])

    _assert_close(got[0], _reference(decoder, padded), 1e-4)
    assert got[1]["token_states"].shape == (0, 1, 31, c.hidden_size)
    _assert_close(got[1], _reference(decoder, longer), 1e-4)
    # Steering row 1 changes layer 1 on exactly as adding it to HFDecoder's residual stream; layer 0 is untouched.
    _assert_close(got[2], _reference(decoder, padded, steering), 1e-4)
    assert torch.equal(got[2]["states"][0], got[0]["states"][0])
    assert torch.equal(got[2]["mean_states"][0], got[0]["mean_states"][0])
    assert torch.equal(got[2]["token_states"][1], got[0]["token_states"][1])  # token_layers [2, 0]: the second is layer 0
    assert _max_rel(got[2]["states"][1:], got[0]["states"][1:]) > 1e-2


# ---------------- the files ----------------

def _initializers(model: Path):
    return onnx.load(str(model), load_external_data=False).graph.initializer


@needs_ort
def test_forced_external_data_is_one_aligned_file_and_runs_bit_identically(tmp_path, monkeypatch):
    src = hf_fixtures.build(tmp_path / "hf", "llama3.1-sharded-untied").folder
    inline = _graph(src, tmp_path / "inline")
    monkeypatch.setattr(onnx_graph, "ALIGN_OVER", 0)  # align every tensor, so the padding arithmetic is exercised
    external = _graph(src, tmp_path / "external", external_data_over=0)

    folder = tmp_path / "external"
    assert sorted(p.name for p in folder.iterdir()) == ["model.onnx", DATA_FILE]
    assert external.model_sha256 == _sha256(folder / "model.onnx")
    data = folder / DATA_FILE
    assert external.external == {"file": DATA_FILE, "bytes": data.stat().st_size, "sha256": _sha256(data)}
    entry = onnx_manifest_entry(external, "float32")
    assert entry["externalData"] == external.external and entry["opset"] == 17 and entry["weightsDtype"] == "float32"
    assert entry["inputs"] == ["input_ids", "attention_mask", "positions", "token_layers", "steering"]
    assert entry["outputs"] == ["states", "mean_states", "last_logits", "token_states"]
    assert "externalData" not in onnx_manifest_entry(inline, "float32") and inline.external is None
    assert sorted(p.name for p in (tmp_path / "inline").iterdir()) == ["model.onnx"]

    tensors = _initializers(folder / "model.onnx")
    assert len(tensors) == len(Checkpoint(src).names())  # untied: every checkpoint tensor once
    for t in tensors:
        where = {e.key: e.value for e in t.external_data}
        assert t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data and where["location"] == DATA_FILE
        assert int(where["offset"]) % onnx_graph.ALIGN == 0
    assert (folder / "model.onnx").stat().st_size < 64_000  # the graph alone: no weight bytes in the proto

    c = load_decoder_config(src)
    ids, mask = _padded_batch(c.vocab_size, [9, 4])
    feed = _feed(ids, mask, [8, 3], [1], torch.zeros(c.num_layers + 1, c.hidden_size))
    a, b = _run(tmp_path / "inline" / "model.onnx", [feed])[0], _run(folder / "model.onnx", [feed])[0]
    assert all(torch.equal(a[name], b[name]) for name in onnx_graph.OUTPUTS)


def test_the_streamed_model_is_valid_onnx_and_the_tied_head_reuses_the_embedding(tmp_path):
    src = hf_fixtures.build(tmp_path / "hf", "gemma2").folder
    _graph(src, tmp_path / "graph")
    model = onnx.load(str(tmp_path / "graph" / "model.onnx"))
    onnx.checker.check_model(model)  # the hand-written protobuf fields parse and check
    c = load_decoder_config(src)
    matrices = [t.name for t in model.graph.initializer if list(t.dims) == [c.vocab_size, c.hidden_size]]
    assert matrices == ["model.embed_tokens.weight"]
    gemm = [n for n in model.graph.node if n.op_type == "Gemm"]
    assert len(gemm) == 1 and gemm[0].input[1] == "model.embed_tokens.weight"
    stored = {name: t for name, t in ((t.name, t) for t in model.graph.initializer)}
    norm = onnx.numpy_helper.to_array(stored["model.layers.0.input_layernorm.weight"])
    with Checkpoint(src) as ckpt:  # Gemma's (1 + w), folded in at build time in float32
        assert torch.equal(torch.from_numpy(norm.copy()), ckpt.read("model.layers.0.input_layernorm.weight", torch.float32) + 1.0)
    assert [i.name for i in model.graph.input] == onnx_graph.INPUTS and [o.name for o in model.graph.output] == onnx_graph.OUTPUTS
    batch = model.graph.input[0].type.tensor_type.shape.dim
    assert (batch[0].dim_param, batch[1].dim_param) == ("batch", "seq")


# ---------------- fp16 ----------------

@needs_ort
@pytest.mark.parametrize("case", ["llama3.1-sharded-untied", "qwen2.5-bias", "gemma2"])
def test_fp16_weights_give_float32_outputs_within_2e_2_of_the_fp32_reference(tmp_path, case):
    src = hf_fixtures.build(tmp_path / "hf", case).folder
    files = _graph(src, tmp_path / "graph", weights_dtype="float16")
    assert onnx_manifest_entry(files, "float16")["weightsDtype"] == "float16"
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    for t in _initializers(tmp_path / "graph" / "model.onnx"):
        small = t.name.endswith("norm.weight") or t.name.endswith(".bias")
        assert t.data_type == (f32 if small else f16), t.name
    decoder = load_hf_decoder(src)
    c = decoder.config
    ids, mask = _padded_batch(c.vocab_size, [17, 6, 2])
    feed = _feed(ids, mask, [16, 5, 1], [0, 1, 2], torch.zeros(c.num_layers + 1, c.hidden_size))
    _assert_close(_run(tmp_path / "graph" / "model.onnx", [feed])[0], _reference(decoder, feed), 2e-2)


# ---------------- the state dict adapter and bad input ----------------

def test_a_state_dict_with_or_without_the_model_prefix_writes_the_same_graph(tmp_path):
    src = hf_fixtures.build(tmp_path / "hf", "qwen3-qknorm").folder
    from_checkpoint = _graph(src, tmp_path / "a")
    state = load_hf_decoder(src).state_dict()
    c = load_decoder_config(src)
    assert write_explain_graph(c, StateDictTensors(state), tmp_path, log=_quiet) == from_checkpoint
    bare = {name[len("model."):] if name.startswith("model.") else name: t for name, t in state.items()}
    (tmp_path / "c").mkdir()
    assert write_explain_graph(c, StateDictTensors(bare), tmp_path / "c", log=_quiet) == from_checkpoint


def test_bad_weights_are_clear_errors_before_any_file_is_written(tmp_path):
    src = hf_fixtures.build(tmp_path / "hf", "llama3.2-bf16-tied").folder
    c = load_decoder_config(src)
    state = load_hf_decoder(src).state_dict()
    out = tmp_path / "out"
    out.mkdir()
    missing = {k: v for k, v in state.items() if k != "model.layers.1.mlp.up_proj.weight"}
    with pytest.raises(SeerInputError, match="no tensor 'model.layers.1.mlp.up_proj.weight'.*same model"):
        write_explain_graph(c, StateDictTensors(missing), out, log=_quiet)
    wrong = {**state, "model.layers.0.self_attn.k_proj.weight": torch.zeros(3, c.hidden_size)}
    with pytest.raises(SeerInputError, match=r"'model.layers.0.self_attn.k_proj.weight' has shape \[3, 64\]"):
        write_explain_graph(c, StateDictTensors(wrong), out, log=_quiet)
    with pytest.raises(SeerInputError, match="bfloat16.*float32 or float16"):
        write_explain_graph(c, StateDictTensors(state), out, weights_dtype="bfloat16", log=_quiet)
    assert list(out.iterdir()) == []
    huge = {**state, "model.layers.0.mlp.down_proj.weight": state["model.layers.0.mlp.down_proj.weight"] * 1e6}
    with pytest.raises(SeerInputError, match="down_proj.*beyond float16's range.*--dtype fp32"):
        write_explain_graph(c, StateDictTensors(huge), out, weights_dtype="float16", log=_quiet)
