"""The torch provider's CUDA graphs (torch_graphs.Graphs), on the CPU: a stand-in capture with CudaCapture's
contract (replay writes the static outputs from the static inputs; a host synchronisation inside the captured
forward raises, as it would during a CUDA capture) checks the plumbing: bucket padding, the copy in and out, the
capture ahead for batch 1, the fall-back to the eager forward, the LRU bound."""
import io
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest

torch = pytest.importorskip("torch", reason="the provider is PyTorch")
pytest.importorskip("onnx", reason="the weights are read from model.onnx")

import seer_trainer.torch_forward as tf  # noqa: E402
import seer_trainer.torch_graphs as tg  # noqa: E402
from seer_trainer.torch_explain import OUTPUTS, explain_outputs, is_right_padded  # noqa: E402
from seer_trainer.torch_forward import load_bundle  # noqa: E402
from seer_trainer.torch_graphs import Graphs, bucket, buckets_upto, graphs_for  # noqa: E402
from test_torch_forward import CPU, _bundle, _feeds, _frames, _left_padded, _max_rel, _request, _steering  # noqa: E402

ALL = list(OUTPUTS)  # the graph's outputs and the reductions


@contextmanager
def no_host_sync():
    """What would wait for a GPU, refused: inside a CUDA capture it fails (or silently bakes in a value)."""
    def refuse(*_, **__):
        raise AssertionError("a host synchronisation inside the captured forward")
    with ExitStack() as stack:
        for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "__index__"):
            stack.enter_context(mock.patch.object(torch.Tensor, name, refuse))
        yield


class StandIn:
    """CudaCapture's contract on the CPU: (replay, static outputs, eager outputs). `fail` raises at capture;
    `garble` makes replays write wrong numbers."""

    def __init__(self, fail: bool = False, garble: bool = False):
        self.fail, self.garble, self.captures, self.replays = fail, garble, 0, 0

    def __call__(self, forward):
        self.captures += 1
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        eager = forward()
        with no_host_sync():
            outputs = forward()

        def replay():
            self.replays += 1
            with no_host_sync():
                fresh = forward()
            for name, t in fresh.items():
                outputs[name].copy_(t + 1 if self.garble and t.is_floating_point() else t)
        return replay, outputs, eager


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import hf_fixtures
    root = tmp_path_factory.mktemp("graphs")
    return load_bundle(_bundle(hf_fixtures.build(root / "hf", "llama3.1-sharded-untied").folder, root / "bundle"), CPU, torch.float32)


def _explain_feeds(c, lengths, steering=None, seed=1):
    """A request as a default explain sends it: read-out at each row's last token, its cosines with 3 prototypes at
    every layer and with 6 map examples at the last, the token layers' cosines with 3 prototypes, the top 5 next tokens."""
    feeds = _feeds(c, lengths, [n - 1 for n in lengths], [c.num_layers, 1], steering, seed)
    g = torch.Generator().manual_seed(seed)
    feeds.update(token_prototypes=torch.randn(2, 3, c.hidden_size, generator=g), top_k=torch.tensor([5]),
                 readout_prototypes=torch.randn(c.num_layers + 1, 3, c.hidden_size, generator=g),
                 map_vectors=torch.randn(6, c.hidden_size, generator=g), map_layer=torch.tensor([c.num_layers]))
    return feeds


def _assert_same(got, want):
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape and got[name].dtype == want[name].dtype, name
        if want[name].is_floating_point():
            assert _max_rel(got[name], want[name]) < 1e-5, name
        else:
            assert torch.equal(got[name], want[name]), name


def test_buckets_repeat_shapes_and_pad_by_less_than_half():
    assert buckets_upto(512) == [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    assert [bucket(T) for T in (1, 16, 17, 24, 25, 100, 512, 513)] == [16, 16, 24, 24, 32, 128, 512, 768]
    sizes = set(buckets_upto(8192))
    for T in range(1, 8193):
        assert bucket(T) in sizes and bucket(T) >= T and (T <= 16 or bucket(T) < 1.5 * T), T


@pytest.mark.parametrize("steered", [False, True])
def test_graph_outputs_equal_the_eager_forward_s_at_any_length_and_batch(model, steered):
    c, log = model.config, []
    capture = StandIn()
    graphs = Graphs(capture, log.append)
    steering = _steering(c, 1) if steered else None
    kept = []
    for lengths in ([5], [16], [17], [40], [17, 9], [40, 40], [3, 12]):
        feeds = _explain_feeds(c, lengths, steering, seed=len(kept) + 1)
        want = explain_outputs(model, feeds, ALL)
        got = explain_outputs(model, feeds, ALL, graphs)
        assert got["token_states"].shape[2] == max(lengths)  # cut back from the bucket
        _assert_same(got, want)
        _assert_same(explain_outputs(model, feeds, ALL), want)  # the request's own tensors were not written
        kept.append((got, want))
        # Each fetch on its own: another plan, another graph, the same numbers.
        if lengths == [17, 9]:
            for name in ALL:
                _assert_same(explain_outputs(model, feeds, [name], graphs), {name: want[name]})
    for got, want in kept:  # each answer is the caller's: later replays did not overwrite it
        _assert_same(got, want)
    # The first batch-1 request captured every bucket up to 512 ahead; batch 2 captured its buckets as they came.
    assert log == ["serve-forward: captured 11 CUDA graphs for batch 1 at 16..512 tokens in " + log[0].split(" in ")[-1]]
    assert capture.captures == 11 + 3 + len(ALL) and capture.replays == capture.captures + 7 + len(ALL)


def test_the_first_batch_1_explain_of_a_kind_captures_ahead_and_later_lengths_replay(model):
    c, log = model.config, []
    capture = StandIn()
    graphs = Graphs(capture, log.append)
    for T in (6, 200, 511, 512):
        explain_outputs(model, _explain_feeds(c, [T]), ALL, graphs)
    assert capture.captures == 11 and len(log) == 1
    explain_outputs(model, _explain_feeds(c, [513]), ALL, graphs)  # 768: captured when first met
    explain_outputs(model, _explain_feeds(c, [6], _steering(c)), ALL, graphs)  # steered: another kind, captured ahead too
    assert capture.captures == 11 + 1 + 11 and len(log) == 2


def test_a_capture_that_fails_or_a_replay_that_disagrees_is_logged_and_answered_eagerly(model):
    c = model.config
    for stand_in, why in ((StandIn(fail=True), "RuntimeError: operation not permitted when stream is capturing"),
                          (StandIn(garble=True), "RuntimeError: the replay's states, mean_states, last_logits")):
        log = []
        graphs = Graphs(stand_in, log.append)
        feeds = _explain_feeds(c, [20, 7])
        want = explain_outputs(model, feeds, ALL)
        _assert_same(explain_outputs(model, feeds, ALL, graphs), want)
        _assert_same(explain_outputs(model, feeds, ALL, graphs), want)  # the shape stays eager: no second try
        assert stand_in.captures == 1 and len(log) == 1
        assert log[0].startswith("serve-forward: no CUDA graph for batch 2 x 24 tokens, that shape runs eagerly: " + why), log
        # Batch 1: capturing ahead stops at the first failure.
        log.clear()
        one = _explain_feeds(c, [9])
        _assert_same(explain_outputs(model, one, ALL, graphs), explain_outputs(model, one, ALL))
        assert stand_in.captures == 1 + 2 and log[0].startswith("serve-forward: no CUDA graph for batch 1 x 512 tokens")
        assert log[1].startswith("serve-forward: captured 0 CUDA graphs") and "batch 1 x 16 tokens" in log[2]


def test_the_number_of_graphs_is_bounded_least_recently_used_first(model):
    c = model.config
    capture = StandIn()
    graphs = Graphs(capture, lambda _: None, max_graphs=3)
    for T in (10, 20, 30, 10, 40, 50):  # buckets 16, 24, 32, 16 (a replay), 48, 64
        explain_outputs(model, _explain_feeds(c, [T, T]), ALL, graphs)
    assert capture.captures == 5 and [key[-1] for key in graphs.graphs] == [16, 48, 64]
    feeds = _explain_feeds(c, [20, 20])  # 24 was dropped: captured again
    _assert_same(explain_outputs(model, feeds, ALL, graphs), explain_outputs(model, feeds, ALL))
    assert capture.captures == 6 and len(graphs.graphs) == 3


def test_left_padding_or_a_large_batch_runs_eagerly(model, monkeypatch):
    c = model.config
    capture = StandIn()
    graphs = Graphs(capture, lambda _: None)
    left = _left_padded(_explain_feeds(c, [11, 4]))
    assert not is_right_padded(left["attention_mask"]) and is_right_padded(_explain_feeds(c, [11, 4])["attention_mask"])
    _assert_same(explain_outputs(model, left, ALL, graphs), explain_outputs(model, left, ALL))
    monkeypatch.setattr(tg, "GRAPH_TOKENS", 64)
    big = _explain_feeds(c, [40, 40])  # 2 x 48 padded tokens
    _assert_same(explain_outputs(model, big, ALL, graphs), explain_outputs(model, big, ALL))
    assert capture.captures == 0


def test_graphs_are_off_on_a_cpu_and_with_seer_torch_graphs_0(monkeypatch):
    assert graphs_for(CPU, print) is None
    monkeypatch.setenv("SEER_TORCH_GRAPHS", "0")
    assert graphs_for(torch.device("cuda"), print) is None


def test_serve_answers_through_the_graphs(tmp_path, monkeypatch):
    """serve hands its Graphs to every request: the same frames as the eager forward's."""
    import hf_fixtures
    folder = _bundle(hf_fixtures.build(tmp_path / "hf", "qwen2.5-bias").folder, tmp_path / "bundle")
    model = load_bundle(folder, CPU, torch.float32)
    capture = StandIn()
    monkeypatch.setattr(tf, "graphs_for", lambda device, log: Graphs(capture, log))
    a, b = _explain_feeds(model.config, [7]), _explain_feeds(model.config, [30, 12], seed=2)
    requests = io.BytesIO()
    _request(requests, 1, a, ALL)
    _request(requests, 2, b, ALL)
    requests.seek(0)
    out, log = io.BytesIO(), []
    assert tf.serve(str(folder), "cpu", "float32", requests, out, log=log.append) == 0
    frames = _frames(out.getvalue())
    assert [h["type"] for h, _ in frames] == ["ready", "result", "result"] and capture.captures == 11 + 1
    assert any(line.startswith("serve-forward: captured 11 CUDA graphs") for line in log)
    for (_, got), feeds in zip(frames[1:], (a, b)):
        _assert_same(got, explain_outputs(model, feeds, ALL))
