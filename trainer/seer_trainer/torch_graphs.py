"""CUDA graphs for the torch provider's small requests: at batch 1 the eager forward is bound by kernel launches
(an H200, a 1B model: ~680 per call, the GPU busy 3 ms of 22), and a replayed graph is one launch. A request's
length is padded on the right to a bucket (16, 24, 32, 48, 64, …) so that shapes repeat; the first batch-1 request
of a kind captures every bucket up to PRECAPTURE_TOKENS, other shapes are captured as they come. Each graph is
checked against the eager forward once; any failure is logged and that shape runs eagerly. SEER_TORCH_GRAPHS=0 in
the environment turns graphs off (every forward eager): for debugging, and for bench/gpu_torch_profile.py's A/B."""
import os
import time
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional

import torch

from .hf_model import HFDecoder
from .torch_explain import Request, device_outputs, host_inputs

# Up to this many padded tokens (batch × bucket) a request replays a graph. At batch 1 the eager forward is bound
# by kernel launches (an H200, a 1B model: ~680 launches, the GPU busy 3 ms of 22); at 512 × 32 the GPU is busy
# throughout and a graph would only hold more memory (each keeps its outputs, the pool its largest activations).
GRAPH_TOKENS = 4096
# The first batch-1 request of a kind (the engine's warm-up explain at load sends what a default explain sends)
# captures every bucket up to this length, so that a user's first explain at any such length replays a graph.
PRECAPTURE_TOKENS = 512
MAX_GRAPHS = 48  # least recently used ones are dropped beyond this: memory stays bounded
MIN_BUCKET = 16


def bucket(T: int) -> int:
    """The length a request of T tokens is padded to for a graph: 16, 24, 32, 48, 64, 96, 128, … (2^n and 1.5 × 2^n),
    so that a few shapes cover every length and, beyond 16 tokens, none is padded to 1.5 × its length or more."""
    b = MIN_BUCKET
    while b < T:
        b = b * 3 // 2 if b & (b - 1) == 0 else b * 4 // 3
    return b


def buckets_upto(T: int) -> List[int]:
    lengths = [MIN_BUCKET]
    while lengths[-1] < T:
        lengths.append(bucket(lengths[-1] + 1))
    return lengths


class CudaCapture:
    """torch.cuda.graph's recipe: warm-up runs on a side stream (lazy initialisation, cuBLAS workspaces), then the
    capture. Every graph allocates from one memory pool: safe because each replay's outputs are copied to the host
    before any other graph replays (Graphs.run), so a graph overwrites another's memory only between their uses."""
    WARM_UPS = 2

    def __init__(self):
        self.pool = torch.cuda.graph_pool_handle()

    def __call__(self, forward: Callable[[], Dict[str, torch.Tensor]]):
        """(replay, the graph's static outputs, the outputs of an eager run on the same inputs)."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.WARM_UPS):
                eager = forward()
        stream = torch.cuda.current_stream()
        stream.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, pool=self.pool):
                outputs = forward()
        finally:
            torch.cuda.set_stream(stream)  # a capture that fails can leave its own stream the current one
        return graph.replay, outputs, eager


class _Graph(NamedTuple):
    inputs: Dict[str, torch.Tensor]  # static: each request's inputs are copied in
    outputs: Dict[str, torch.Tensor]  # static: each replay writes them
    replay: Callable[[], None]


def _agree(got: torch.Tensor, want: torch.Tensor) -> bool:
    """A replay's output against the eager forward's: within 1% of its largest magnitude (the same kernels run; this
    catches a graph that read stale or wrong memory, not rounding), NaN where the eager one has NaN (a row without
    real tokens). Integer outputs (top_ids) are judged by their float companions: near-equal logits may swap."""
    if not want.is_floating_point() or want.numel() == 0:
        return True
    nan = want.isnan()
    if not torch.equal(got.isnan(), nan):
        return False
    got, want = got.masked_fill(nan, 0), want.masked_fill(nan, 0)
    return bool((got - want).abs().max() <= 0.01 * want.abs().max())


class Graphs:
    """Captured forwards for small right-padded requests, one per (batch, bucket, plan, steered or not, the cosine
    vectors' shapes), least recently used dropped beyond max_graphs. `capture(forward)` returns (replay, static outputs, eager
    outputs): CudaCapture on a GPU, a stand-in in the tests. Any failure to capture, or a replay that disagrees with
    the eager forward, is logged once and that shape runs eagerly: no request fails because a capture did."""

    def __init__(self, capture: Callable, log: Callable[[str], None], max_graphs: int = MAX_GRAPHS):
        self.capture, self.log, self.max_graphs = capture, log, max_graphs
        self.graphs: "OrderedDict[tuple, Optional[_Graph]]" = OrderedDict()  # None: that shape runs eagerly
        self.kinds = set()  # batch-1 kinds whose buckets were captured ahead

    def run(self, model: HFDecoder, r: Request) -> Optional[Dict[str, torch.Tensor]]:
        """`r`'s outputs through a graph (r is right-padded), on the device, padded to the bucket's length (the
        graph's own tensors: copy them before the next replay, as explain_outputs' to_host does), or None where
        it runs eagerly."""
        B, T = r.ids.shape
        length = bucket(T)
        if B * length > GRAPH_TOKENS:
            return None
        kind = (B, r.plan, r.steering is not None, tuple((name, tuple(v.shape)) for name, v in sorted(r.vectors.items())))
        if B == 1 and kind not in self.kinds:
            self.kinds.add(kind)
            self._capture_ahead(model, r, kind)
        graph = self._graph(model, r, kind, length)
        if graph is None:
            return None
        for name, t in host_inputs(r, length).items():
            graph.inputs[name].copy_(t)
        graph.replay()
        return graph.outputs

    def _capture_ahead(self, model: HFDecoder, r: Request, kind: tuple) -> None:
        started, lengths = time.perf_counter(), buckets_upto(PRECAPTURE_TOKENS)[::-1]  # the largest first: the others reuse its memory
        captured = 0
        for length in lengths:
            if self._graph(model, r, kind, length) is None:
                break
            captured += 1
        self.log(f"serve-forward: captured {captured} CUDA graphs for batch 1 at {lengths[-1]}..{lengths[0]} tokens "
                 f"in {(time.perf_counter() - started) * 1000:.0f} ms")

    def _graph(self, model: HFDecoder, r: Request, kind: tuple, length: int) -> Optional[_Graph]:
        key = (*kind, length)
        if key not in self.graphs:
            self.graphs[key] = self._captured(model, r, length)
            while len(self.graphs) > self.max_graphs:
                self.graphs.popitem(last=False)
        self.graphs.move_to_end(key)
        return self.graphs[key]

    def _captured(self, model: HFDecoder, r: Request, length: int) -> Optional[_Graph]:
        """A graph of the forward at `length` tokens, captured on r's inputs fitted to that length and checked
        against the eager forward on them; None (logged) where that fails."""
        device = next(model.parameters()).device
        inputs = {name: torch.empty_like(t, device=device).copy_(t) for name, t in host_inputs(r, length).items()}
        try:
            replay, outputs, eager = self.capture(lambda: device_outputs(model, inputs, r.plan, right_padded=True))
            replay()
            wrong = [name for name in outputs if not _agree(outputs[name], eager[name])]
            if wrong:
                raise RuntimeError(f"the replay's {', '.join(wrong)} differ from the eager forward's")
        except Exception as e:  # noqa: BLE001 - whatever it was, the eager forward answers
            self.log(f"serve-forward: no CUDA graph for batch {r.ids.shape[0]} x {length} tokens, that shape runs eagerly: "
                     f"{type(e).__name__}: {e}")
            return None
        return _Graph(inputs, outputs, replay)


def graphs_for(device: torch.device, log: Callable[[str], None]) -> Optional[Graphs]:
    """CUDA graphs on a CUDA device unless SEER_TORCH_GRAPHS=0; None (every forward eager) otherwise."""
    if device.type != "cuda" or os.environ.get("SEER_TORCH_GRAPHS", "1") == "0":
        return None
    return Graphs(CudaCapture(), log)
