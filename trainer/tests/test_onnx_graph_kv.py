"""The explain graph's KV-cache form (onnx_graph.py, kv_cache=True; docs/bundle-format.md): fed a sequence in
steps, each step only its new tokens and the previous step's present keys/values, it gives what the plain graph
gives on the whole prefix, with steering on, for families with grouped-query heads, a sliding window and soft caps."""
import pytest

torch = pytest.importorskip("torch", reason="the fixtures are PyTorch checkpoints")
onnx = pytest.importorskip("onnx", reason="the graph is written with onnx.helper")

import hf_fixtures  # noqa: E402
from seer_trainer import onnx_graph  # noqa: E402
from seer_trainer.hf_families import load_decoder_config  # noqa: E402
from seer_trainer.onnx_graph import KV_INPUTS, KV_OUTPUTS, kv_names, onnx_manifest_entry  # noqa: E402
from test_onnx_graph import _graph, _max_rel, _run, needs_ort  # noqa: E402

# Step sizes: a prompt, single tokens (generation), then a chunk of several new tokens after a past; 15 tokens in
# all, past the fixtures' 4-token sliding windows.
STEPS = [7, 1, 1, 1, 3, 1, 1]


def _wire(t: torch.Tensor) -> dict:
    return {"dims": list(t.shape), "data": t.flatten().tolist()}


def _step_feed(ids, start, end, layers, steering, past):
    feed = {"input_ids": [ids[start:end]], "attention_mask": [[1] * end], "positions": [end - start - 1],
            "token_layers": list(range(layers)), "steering": steering.tolist()}
    if past:
        feed["past"] = past
    return feed


@needs_ort
@pytest.mark.parametrize("case", ["llama3.1-sharded-untied", "gemma2", "qwen3-qknorm"])
def test_the_steered_kv_graph_fed_step_by_step_matches_the_full_graph_on_each_prefix(tmp_path, case):
    src = hf_fixtures.build(tmp_path / "hf", case).folder
    c = load_decoder_config(src)
    plain = _graph(src, tmp_path / "plain")
    cached = _graph(src, tmp_path / "kv", kv_cache=True)
    assert plain.kv_cache is None and cached.kv_cache == {"numKvHeads": c.num_kv_heads, "headDim": c.head_dim}
    assert onnx_manifest_entry(cached, "float32")["kvCache"] == cached.kv_cache
    assert "kvCache" not in onnx_manifest_entry(plain, "float32")
    model = onnx.load(str(tmp_path / "kv" / "model.onnx"))
    assert [i.name for i in model.graph.input] == onnx_graph.INPUTS + kv_names(KV_INPUTS, c.num_layers)
    assert [o.name for o in model.graph.output] == onnx_graph.OUTPUTS + kv_names(KV_OUTPUTS, c.num_layers)

    layers = c.num_layers + 1
    steering = torch.zeros(layers, c.hidden_size)  # at a middle layer, as the engine steers at the target layer
    steering[c.num_layers // 2 + 1] = torch.randn(c.hidden_size, generator=torch.Generator().manual_seed(5))
    ids = torch.randint(0, c.vocab_size, (sum(STEPS),), generator=torch.Generator().manual_seed(4)).tolist()
    ends = torch.cumsum(torch.tensor(STEPS), 0).tolist()
    # The plain graph on every prefix, every layer's token states asked for (the means are taken from them).
    full = _run(tmp_path / "plain" / "model.onnx",
                [{"input_ids": [ids[:end]], "attention_mask": [[1] * end], "positions": [end - 1],
                  "token_layers": list(range(layers)), "steering": steering.tolist()} for end in ends])

    past, start = {}, 0
    for step, end in enumerate(ends):
        got = _run(tmp_path / "kv" / "model.onnx", [_step_feed(ids, start, end, layers, steering, past)])[0]
        want = full[step]
        new_tokens = want["token_states"][:, :, start:end]
        expected = {"states": want["states"], "last_logits": want["last_logits"], "token_states": new_tokens,
                    "mean_states": new_tokens.mean(2)}  # the mean over the new tokens (docs/bundle-format.md)
        errors = {name: _max_rel(got[name], expected[name]) for name in expected}
        assert max(errors.values()) < 1e-5, (step, errors)
        for name in kv_names(KV_OUTPUTS, c.num_layers):
            assert tuple(got[name].shape) == (1, c.num_kv_heads, end, c.head_dim)
            if past:  # the past comes back unchanged in front of the new tokens' keys and values
                before = past[name.replace("present", "past")]
                assert torch.equal(got[name][:, :, :start].flatten(), torch.tensor(before["data"]))
        past = {name.replace("present", "past"): _wire(got[name]) for name in kv_names(KV_OUTPUTS, c.num_layers)}
        start = end
    # The steering mattered: unsteered, the last logits differ.
    unsteered = _run(tmp_path / "plain" / "model.onnx", [_step_feed(ids, 0, ends[-1], layers, steering * 0, {})])[0]
    assert _max_rel(unsteered["last_logits"], full[-1]["last_logits"]) > 1e-3
