"""The torch execution provider's Python side: `python -m seer_trainer serve-forward --bundle DIR` loads a bundle's
model.onnx weights into hf_model.HFDecoder on the user's PyTorch (CUDA when it has one) and answers the engine's
forward requests (engine/src/runtime/torchSession.ts) with exactly the explain graph's outputs
(docs/bundle-format.md): states at one position per row, per-layer means, the last real token's logits, every
token's states at the layers asked for, `steering` added at each layer. And, so that little crosses the pipe, the
reductions the engine would otherwise compute from those (`reduced_outputs`: token × prototype cosines, the top
next tokens with the log-sum-exp).

Why: onnxruntime-node's GPU paths are WebGPU (float32 shaders) and a CUDA provider that needs an online install
(issue 10); a safety researcher's GPU stack is PyTorch. The weights come from the bundle's own model.onnx (one
artefact, checked against seer.json's modelSha256), so ORT and torch run the same numbers.

Wire format, both directions: a little-endian uint32 header length, the header (UTF-8 JSON), then the payload:
the header's tensors' bytes back to back, in order. Header: {"type", "id"?, "tensors"?: [{"name", "dtype"
("int64" | "float32"), "dims", "bytes"}], ...}. Requests: {"type": "run", "id", "tensors": input_ids,
attention_mask, positions, token_layers, steering (and, for the reductions, token_prototypes [k, C, H] float32,
top_k [1] int64), "fetches": [output names]}. Replies: "ready" (once, after
loading), "result" (id, tensors, forwardMs: the time PyTorch took, inputs to host copies of the outputs), "error" (id or null, message, kind: "oom" | "input" | "internal"). stdout
carries only frames (anything a library prints goes to stderr); EOF on stdin ends the process.

On CUDA a small request (batch × padded length up to GRAPH_TOKENS) replays a captured CUDA graph: at batch 1 the
eager forward is bound by kernel launches. Its length is padded on the right to a bucket (16, 24, 32, 48, 64, …) so
that shapes repeat; the first batch-1 request captures every bucket up to PRECAPTURE_TOKENS, later kinds capture
as they come. SEER_TORCH_GRAPHS=0 in the environment turns graphs off (every forward eager): for debugging, and
for bench/gpu_torch_profile.py's A/B."""
import hashlib
import json
import os
import struct
import sys
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import SeerInputError
from .hf_families import DecoderConfig, decoder_config_from_json
from .hf_model import Attention, HFDecoder, check_token_ids

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
OUTPUTS = ("states", "mean_states", "last_logits", "token_states", "token_cosines", "top_ids", "top_logits", "log_sum_exp")
_WIRE = {"int64": np.int64, "float32": np.float32}
MAX_HEADER = 1 << 20
LOAD_BLOCK_BYTES = 64 << 20  # host memory for loading external weights: one block of rows at a time


# ---------------- the model, from the bundle ----------------

def _manifest(bundle: Path) -> dict:
    path = bundle / "seer.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise SeerInputError(f"{path}: cannot be read as JSON ({e})")


def _inside(bundle: Path, name: str, what: str) -> Path:
    path = (bundle / name).resolve()
    if bundle.resolve() not in path.parents:
        raise SeerInputError(f"{bundle / 'seer.json'}: {what} {name!r} is outside the bundle")
    return path


def decoder_config(model: "onnx.ModelProto", manifest: dict, where: str) -> DecoderConfig:
    """The decoder the graph was written for: its metadata (onnx_graph.DECODER_METADATA), or, for a built-in
    seer-llama bundle written before that metadata existed, the Llama config its architecture implies."""
    from .onnx_graph import DECODER_METADATA
    props = {p.key: p.value for p in model.metadata_props}
    if DECODER_METADATA in props:
        return decoder_config_from_json(props[DECODER_METADATA], where)
    a = manifest.get("architecture", {})
    if a.get("type") != "seer-llama":
        raise SeerInputError(f"{where}: the graph does not say which decoder it holds (no {DECODER_METADATA} metadata: "
                             "written by an older version); re-import the model (`seer import --force`) to run it with --provider torch")
    from .config import ModelConfig
    from .export import seer_llama_config
    return seer_llama_config(ModelConfig(
        vocab_size=a["vocabSize"], hidden_size=a["hiddenSize"], num_layers=a["numLayers"], num_heads=a["numHeads"],
        intermediate_size=a["intermediateSize"], max_context=a["maxContext"], rope_theta=a["ropeTheta"],
        norm_eps=a["normEps"], tied_embeddings=a.get("tiedEmbeddings", True)))


class _Initializers:
    """The graph's initializers as arrays: inside model.onnx (raw_data) or in the one external data file seer.json
    declares (refusing any other location, as the engine does: issue 14)."""

    def __init__(self, model, data_file: Optional[Path], data_name: Optional[str], where: str):
        self.by_name = {t.name: t for t in model.graph.initializer}
        self.data_file, self.data_name, self.where = data_file, data_name, where
        self.size = data_file.stat().st_size if data_file else 0

    def dims(self, name: str) -> Tuple[int, ...]:
        return tuple(int(d) for d in self.by_name[name].dims)

    def to_tensor(self, name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Tensor `name` on `device` in `dtype`. External data is read in blocks of rows straight into the device
        tensor, so the host holds one block, not the whole tensor (a Llama-3-sized embedding is 1 GB in float32)."""
        from onnx import TensorProto, numpy_helper
        t = self.by_name[name]
        if t.data_location != TensorProto.EXTERNAL:
            return torch.from_numpy(numpy_helper.to_array(t).copy()).to(device=device, dtype=dtype)
        offset, length, source = self._external(name)
        dims = self.dims(name)
        rows = dims[0] if dims else 1  # a scalar is one row of one value
        dest = torch.empty(dims, dtype=dtype, device=device)
        if length == 0:
            return dest
        flat = dest.view(rows, -1)
        row_bytes = length // rows
        rows_per_block = max(1, LOAD_BLOCK_BYTES // row_bytes)
        buf = bytearray(min(length, rows_per_block * row_bytes))
        with open(self.data_file, "rb") as f:
            f.seek(offset)
            for r0 in range(0, rows, rows_per_block):
                n = min(rows_per_block, rows - r0)
                view = memoryview(buf)[:n * row_bytes]
                if f.readinto(view) != len(view):
                    raise SeerInputError(f"{self.data_file}: shorter than seer.json says; re-import the bundle")
                flat[r0:r0 + n].copy_(torch.from_numpy(np.frombuffer(view, dtype=source).reshape(n, -1)))
        return dest

    def _external(self, name: str) -> Tuple[int, int, type]:
        """(offset, length, numpy dtype) of external tensor `name`, checked against the declared file."""
        from onnx import TensorProto
        t = self.by_name[name]
        entry = {e.key: e.value for e in t.external_data}
        dtype = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}.get(t.data_type)
        offset, length = int(entry.get("offset", "0")), int(entry.get("length", "-1"))
        if self.data_file is None or entry.get("location") != self.data_name or dtype is None \
                or length != int(np.prod(t.dims)) * np.dtype(dtype).itemsize or offset < 0 or offset + length > self.size:
            raise SeerInputError(f"{self.where}: tensor {name!r} is not a float tensor within {self.data_name or 'the declared external data'}; "
                                 "rebuild or re-import the bundle")
        return offset, length, dtype


def _linear_weights(model: nn.Module) -> set:
    """Parameter names the graph stores transposed ([in, out], for MatMul): nn.Linear weights except the LM head."""
    return {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Linear) and name != "lm_head"}


def load_bundle(bundle, device: torch.device, dtype: torch.dtype) -> HFDecoder:
    """The bundle's model.onnx as an HFDecoder on `device`, computing in `dtype`; checked against seer.json."""
    import onnx
    bundle = Path(bundle)
    manifest = _manifest(bundle)
    model_file = _inside(bundle, manifest.get("files", {}).get("model", "model.onnx"), "files.model")
    body = model_file.read_bytes()
    if hashlib.sha256(body).hexdigest() != manifest.get("modelSha256"):
        raise SeerInputError(f"{model_file} does not match seer.json's modelSha256: rebuild or re-import the bundle")
    graph = onnx.load_from_string(body)
    del body
    declared = manifest.get("onnx", {}).get("externalData")
    data_file = _inside(bundle, declared["file"], "onnx.externalData.file") if declared else None
    if data_file is not None and data_file.stat().st_size != declared.get("bytes"):
        raise SeerInputError(f"{data_file}: {data_file.stat().st_size} bytes, seer.json says {declared.get('bytes')}; re-import the bundle")
    config = decoder_config(graph, manifest, str(model_file))
    # The graph stores Gemma's norm weights with 1 + w folded in: run them as plain weights.
    config = replace(config, norm_plus_one=False)
    weights = _Initializers(graph, data_file, declared["file"] if declared else None, str(model_file))
    model = HFDecoder(config, device="meta")
    transposed = _linear_weights(model)
    for name, param in list(model.named_parameters()):
        if name not in weights.by_name:
            raise SeerInputError(f"{model_file}: the graph has no weight {name!r}, which its decoder needs; rebuild or re-import the bundle")
        dims = weights.dims(name)
        shape = dims[::-1] if name in transposed else dims
        if shape != tuple(param.shape):
            raise SeerInputError(f"{model_file}: weight {name!r} has shape {list(shape)}, its decoder needs {list(param.shape)}")
        # Norm weights stay float32, as HFDecoder's RMSNorm computes in float32 anyway.
        target = torch.float32 if param.dim() == 1 and ("norm" in name) else dtype
        t = weights.to_tensor(name, device, target)
        if name in transposed:
            t = t.t().contiguous()  # on the device: the host never holds the transposed copy
        module_name, _, leaf = name.rpartition(".")
        model.get_submodule(module_name)._parameters[leaf] = nn.Parameter(t, requires_grad=False)
    del graph, weights
    model.inv_freq = model.inv_freq.to(device)
    for m in model.modules():
        if isinstance(m, Attention):
            m.use_sdpa = device.type == "cuda" and _has_sdpa()
    return model.eval()


def prefer_fused_attention_kernels() -> None:
    """Fused attention by the flash or memory-efficient kernels, not cuDNN's: cuDNN builds an execution plan for
    each new sequence length, and every prompt a user explains is a new length (bench/gpu_torch_profile.py
    measures the first call at a new length with and without it)."""
    enable = getattr(torch.backends.cuda, "enable_cudnn_sdp", None)
    if enable is not None:
        enable(False)


def _has_sdpa() -> bool:
    """scaled_dot_product_attention with a `scale` argument (PyTorch 2.1+)."""
    import inspect
    f = getattr(F, "scaled_dot_product_attention", None)
    if f is None:
        return False
    try:
        return "scale" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return tuple(int(x) for x in torch.__version__.split(".")[:2]) >= (2, 1)


# ---------------- one forward, as the graph computes it ----------------

REDUCED = ("token_cosines", "top_ids", "top_logits", "log_sum_exp")
PER_TOKEN = ("token_states", "token_cosines")  # [k, B, T, ...]: cut back to the request's T after a graph's padding


class Plan(NamedTuple):
    """What a request asks for besides its tensors: the outputs (in OUTPUTS order), the token layers, top_k."""
    fetches: Tuple[str, ...]
    layers: Tuple[int, ...]
    top_k: Optional[int]


class Request(NamedTuple):
    """A request's inputs, checked, on the host: ids and mask [B, T], read-out positions [B], steering [L+1, H] (None:
    all zeros, the unsteered model), token_prototypes [k, C, H] (None unless token_cosines is fetched)."""
    ids: torch.Tensor
    mask: torch.Tensor
    positions: torch.Tensor
    steering: Optional[torch.Tensor]
    protos: Optional[torch.Tensor]
    plan: Plan
    right_padded: bool  # every mask row 1…1 0…0, as the engine pads: attention needs no padding mask


def is_right_padded(mask: torch.Tensor) -> bool:
    return bool(((mask == 0) | (mask == 1)).all()) and bool((mask[:, 1:] <= mask[:, :-1]).all())


def checked_request(c: DecoderConfig, feeds: Dict[str, torch.Tensor], fetches: List[str]) -> Request:
    """Every check on the host tensors the request brought, before anything reaches the device: a check there
    would wait for the GPU (measured on an H200: at batch 1 the forward is bound by kernel launches)."""
    ids, mask, positions, token_layers = feeds["input_ids"], feeds["attention_mask"], feeds["positions"], feeds["token_layers"]
    B, T = ids.shape
    if mask.shape != ids.shape:
        raise SeerInputError(f"attention_mask {list(mask.shape)} does not match input_ids {list(ids.shape)} (a KV-cache past is not supported here)")
    check_token_ids(ids, c.vocab_size)
    if positions.shape != (B,) or bool(((positions < 0) | (positions >= T)).any()):
        raise SeerInputError(f"positions {positions.tolist()} do not fit a batch of {B} rows of {T} tokens")
    if token_layers.numel() and bool(((token_layers < 0) | (token_layers > c.num_layers)).any()):
        raise SeerInputError(f"token_layers {token_layers.tolist()} must lie in 0..{c.num_layers}")
    steering = feeds["steering"]
    if tuple(steering.shape) != (c.num_layers + 1, c.hidden_size):
        raise SeerInputError(f"steering is {list(steering.shape)}, expected {[c.num_layers + 1, c.hidden_size]}")
    plan = Plan(tuple(n for n in OUTPUTS if n in fetches), tuple(token_layers.tolist()), None)
    protos = feeds.get("token_prototypes") if "token_cosines" in fetches else None
    if "token_cosines" in fetches and (protos is None or protos.dim() != 3 or protos.shape[0] != len(plan.layers) or protos.shape[2] != c.hidden_size):
        raise SeerInputError(f"token_cosines needs token_prototypes [{len(plan.layers)}, C, {c.hidden_size}]"
                             f"{'' if protos is None else f', got {list(protos.shape)}'}")
    if any(name in fetches for name in REDUCED[1:]):
        if "top_k" not in feeds or feeds["top_k"].numel() != 1 or int(feeds["top_k"][0]) < 1:
            raise SeerInputError("top_ids, top_logits and log_sum_exp need top_k: one positive integer")
        plan = plan._replace(top_k=min(int(feeds["top_k"][0]), c.vocab_size))
    return Request(ids, mask, positions, steering if bool(steering.any()) else None,  # all zeros: skip the adds
                   None if protos is None else protos.float(), plan, is_right_padded(mask))


def explain_outputs(model: HFDecoder, feeds: Dict[str, torch.Tensor], fetches: List[str],
                    graphs: Optional["Graphs"] = None) -> Dict[str, torch.Tensor]:
    """The graph's outputs (float32, on the CPU) for `feeds` (on the CPU): only those in `fetches`. With `graphs`
    (graphs_for: on CUDA), a small right-padded request replays a captured CUDA graph rather than launching ~700
    kernels one by one."""
    request = checked_request(model.config, feeds, fetches)
    with torch.inference_mode():
        if graphs is not None and request.right_padded:
            out = graphs.run(model, request)
            if out is not None:
                return out
        T = request.ids.shape[1]
        device = next(model.parameters()).device
        inputs = {name: t.to(device) for name, t in host_inputs(request, T).items()}
        return to_host(device_outputs(model, inputs, request.plan, request.right_padded), T)


def host_inputs(r: Request, T: int) -> Dict[str, torch.Tensor]:
    """device_outputs' inputs, on the host, fitted to T tokens: padded on the right (mask 0, token 0: a valid id) or
    cut (read-out positions clamped into it); right-padded rows stay right-padded either way."""
    B, n = r.ids.shape

    def fit(t: torch.Tensor) -> torch.Tensor:
        return t[:, :T] if n >= T else torch.cat([t, t.new_zeros((B, T - n))], 1)
    inputs = {"input_ids": fit(r.ids), "attention_mask": fit(r.mask), "positions": r.positions.clamp(max=T - 1)}
    if r.steering is not None:
        inputs["steering"] = r.steering
    if r.protos is not None:
        inputs["token_prototypes"] = r.protos
    return inputs


def device_outputs(model: HFDecoder, inputs: Dict[str, torch.Tensor], plan: Plan, right_padded: bool) -> Dict[str, torch.Tensor]:
    """The outputs `plan` asks for, on the device of `inputs` (host_inputs' names). Nothing here waits for the
    device (no .item(), bool(tensor), .tolist(), .cpu()): this is what a CUDA graph captures."""
    ids, mask, positions = inputs["input_ids"], inputs["attention_mask"], inputs["positions"]
    fetches, layers, (B, T) = plan.fetches, plan.layers, ids.shape
    # Only what is fetched is made: at batch 1 every kernel launch counts.
    rows = torch.arange(B, device=ids.device) if "states" in fetches else None
    m = mask.unsqueeze(-1).float() if "mean_states" in fetches else None
    at_positions, means, whole = [], [], {}
    full = set(layers) if "token_states" in fetches or "token_cosines" in fetches else set()

    def read_state(i: int, h: torch.Tensor) -> None:
        # Each layer's state is read as it is made and then dropped: the GPU holds one layer's [B, T, H] at a
        # time (and the token layers'), not all L + 1.
        if "states" in fetches:
            at_positions.append(h[rows, positions])
        if "mean_states" in fetches:
            means.append((h.float() * m).sum(1) / m.sum(1))
        if i in full:
            whole[i] = h

    out = model(ids, mask, steering=inputs.get("steering"), ids_checked=True, read_state=read_state, right_padded=right_padded)
    result = {}
    if "states" in fetches:
        result["states"] = torch.stack(at_positions).float()
    if "mean_states" in fetches:
        result["mean_states"] = torch.stack(means)
    if "last_logits" in fetches:
        result["last_logits"] = out.last_logits.float()
    if "token_states" in fetches:
        H = model.config.hidden_size
        result["token_states"] = torch.stack([whole[i].float() for i in layers]) if layers else ids.new_zeros((0, B, T, H), dtype=torch.float32)
    result.update(reduced_outputs(whole, out.last_logits, inputs.get("token_prototypes"), plan, mask))
    return result


def reduced_outputs(states: Dict[int, torch.Tensor], last_logits: torch.Tensor, protos: Optional[torch.Tensor], plan: Plan,
                    mask: torch.Tensor) -> Dict[str, torch.Tensor]:
    """What the engine's runtime/reductions.ts computes from token_states and last_logits, computed here where they
    are (so only these cross the pipe), from `states` (layer -> [B, T, H], at least the token layers) and
    `last_logits` [B, V]: token_cosines [k, B, T, C], each real token's cosine with token layer j's prototypes
    (`protos` [k, C, H]; 0 at padding and for a zero vector, clamped to [-1, 1]); top_ids and top_logits [B, top_k]
    (most probable first) and log_sum_exp [B] over the vocabulary."""
    result = {}
    if "token_cosines" in plan.fetches:
        real = mask.unsqueeze(-1).bool()
        layers = []
        for j, i in enumerate(plan.layers):
            h = states[i].float()  # [B, T, H]
            norms = h.norm(dim=-1, keepdim=True) * protos[j].norm(dim=-1)  # [B, T, C]
            dots = h @ protos[j].t()
            cos = torch.where(norms == 0, torch.zeros_like(dots), dots / norms).clamp(-1.0, 1.0)
            layers.append(cos * real)
        B, T = mask.shape
        result["token_cosines"] = torch.stack(layers) if layers else protos.new_zeros((0, B, T, protos.shape[1]))
    if plan.top_k is not None:
        logits = last_logits.float()
        values, ids = logits.topk(plan.top_k, dim=-1)
        top = {"top_ids": ids.long(), "top_logits": values, "log_sum_exp": torch.logsumexp(logits, dim=-1)}
        result.update((name, t) for name, t in top.items() if name in plan.fetches)
    return result


def to_host(outputs: Dict[str, torch.Tensor], T: int) -> Dict[str, torch.Tensor]:
    """Fresh host copies of `outputs` (a graph's are overwritten by its next replay), per-token ones cut to T. From
    a GPU: into pinned memory, every copy queued, then one synchronisation rather than one per output."""
    cut = {name: t[:, :, :T] if name in PER_TOKEN else t for name, t in outputs.items()}
    device = next(iter(cut.values())).device if cut else torch.device("cpu")
    pinned = device.type == "cuda"
    host = {name: torch.empty(t.shape, dtype=t.dtype, pin_memory=pinned) for name, t in cut.items()}
    for name, t in cut.items():
        host[name].copy_(t, non_blocking=pinned)
    if pinned:
        torch.cuda.current_stream(device).synchronize()
    return host


# ---------------- CUDA graphs: one launch instead of one per kernel ----------------

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
    """Captured forwards for small right-padded requests, one per (batch, bucket, plan, steered or not, prototypes'
    shape), least recently used dropped beyond max_graphs. `capture(forward)` returns (replay, static outputs, eager
    outputs): CudaCapture on a GPU, a stand-in in the tests. Any failure to capture, or a replay that disagrees with
    the eager forward, is logged once and that shape runs eagerly: no request fails because a capture did."""

    def __init__(self, capture: Callable, log: Callable[[str], None], max_graphs: int = MAX_GRAPHS):
        self.capture, self.log, self.max_graphs = capture, log, max_graphs
        self.graphs: "OrderedDict[tuple, Optional[_Graph]]" = OrderedDict()  # None: that shape runs eagerly
        self.kinds = set()  # batch-1 kinds whose buckets were captured ahead

    def run(self, model: HFDecoder, r: Request) -> Optional[Dict[str, torch.Tensor]]:
        """`r`'s outputs through a graph (r is right-padded), or None where it runs eagerly."""
        B, T = r.ids.shape
        length = bucket(T)
        if B * length > GRAPH_TOKENS:
            return None
        kind = (B, r.plan, r.steering is not None, None if r.protos is None else tuple(r.protos.shape))
        if B == 1 and kind not in self.kinds:
            self.kinds.add(kind)
            self._capture_ahead(model, r, kind)
        graph = self._graph(model, r, kind, length)
        if graph is None:
            return None
        for name, t in host_inputs(r, length).items():
            graph.inputs[name].copy_(t)
        graph.replay()
        return to_host(graph.outputs, T)

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


# ---------------- the wire ----------------

def _read_exact(stream: BinaryIO, n: int) -> Optional[bytes]:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> Optional[Tuple[dict, Dict[str, torch.Tensor]]]:
    """The next (header, tensors) or None at EOF."""
    head = _read_exact(stream, 4)
    if head is None:
        return None
    (length,) = struct.unpack("<I", head)
    if length > MAX_HEADER:
        raise ValueError(f"a header of {length} bytes")
    header = json.loads(_read_exact(stream, length) or b"null")
    tensors = {}
    for t in header.get("tensors", []):
        raw = _read_exact(stream, t["bytes"]) if t["bytes"] else b""
        if raw is None:
            return None
        array = np.frombuffer(bytearray(raw), dtype=_WIRE[t["dtype"]]).reshape(t["dims"])
        tensors[t["name"]] = torch.from_numpy(array)
    return header, tensors


def peak_rss_mib() -> Optional[float]:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB), or None where unknown."""
    try:
        import resource
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except (ImportError, OSError):
        return None


def write_message(stream: BinaryIO, header: dict, tensors: Optional[Dict[str, torch.Tensor]] = None) -> None:
    arrays = [(name, t.contiguous().numpy()) for name, t in (tensors or {}).items()]
    header = dict(header, tensors=[{"name": n, "dtype": "float32" if a.dtype == np.float32 else "int64",
                                    "dims": list(a.shape), "bytes": a.nbytes} for n, a in arrays])
    text = json.dumps(header).encode()
    stream.write(struct.pack("<I", len(text)) + text)
    for _, a in arrays:
        if a.nbytes:  # an empty tensor (token_states with k = 0) has no bytes; memoryview refuses to cast its shape
            stream.write(memoryview(a).cast("B"))
    stream.flush()


# ---------------- the process ----------------

def choose_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SeerInputError(f"--device {name}: this PyTorch ({torch.__version__}) sees no CUDA device; use --device auto or cpu")
    return device


def choose_dtype(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def describe(device: torch.device) -> str:
    return f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)


def probe() -> dict:
    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "cuda": cuda,
            "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []}


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, getattr(torch.cuda, "OutOfMemoryError", ())) or "out of memory" in str(err).lower()


def serve(bundle: str, device_name: str, dtype_name: str, inp: BinaryIO, out: BinaryIO, log=None) -> int:
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    try:
        device = choose_device(device_name)
        dtype = choose_dtype(dtype_name, device)
        if device.type == "cuda":
            if device.index is not None:
                torch.cuda.set_device(device)  # the graphs' streams and memory pool are the current device's
            prefer_fused_attention_kernels()
        model = load_bundle(bundle, device, DTYPES[dtype])
    except (SeerInputError, OSError, KeyError) as e:  # a missing file or manifest field: the bundle, not us
        write_message(out, {"type": "error", "id": None, "kind": "input", "message": str(e) if isinstance(e, SeerInputError) else f"{bundle}: {type(e).__name__}: {e}"})
        return 2
    except Exception as e:  # noqa: BLE001 - a CUDA OOM or driver error at load: the engine says so and uses CPU
        write_message(out, {"type": "error", "id": None, "kind": "oom" if _is_oom(e) else "internal", "message": f"{type(e).__name__}: {e}"})
        return 1
    c = model.config
    write_message(out, {"type": "ready", "torchVersion": torch.__version__, "device": describe(device), "dtype": dtype,
                        "numLayers": c.num_layers, "hiddenSize": c.hidden_size, "vocabSize": c.vocab_size,
                        "loadMs": round((time.perf_counter() - started) * 1000, 1), "peakRssMiB": peak_rss_mib()})
    log(f"serve-forward: {bundle} on {describe(device)} in {dtype}")
    graphs = graphs_for(device, log)
    while True:
        message = read_message(inp)
        if message is None:
            return 0
        header, feeds = message
        if header.get("type") != "run":
            write_message(out, {"type": "error", "id": header.get("id"), "kind": "input", "message": f"unknown request {header.get('type')!r}"})
            continue
        try:
            fetches = [f for f in header.get("fetches", []) if f in OUTPUTS]
            t0 = time.perf_counter()
            result = explain_outputs(model, feeds, fetches, graphs)  # ends with the copy to the host: the GPU is done
            forward_ms = round((time.perf_counter() - t0) * 1000, 3)
            write_message(out, {"type": "result", "id": header["id"], "peakRssMiB": peak_rss_mib(), "forwardMs": forward_ms}, result)
        except (SeerInputError, KeyError) as e:  # KeyError: a request without one of the graph's inputs
            message = str(e) if isinstance(e, SeerInputError) else f"the request has no input {e}"
            write_message(out, {"type": "error", "id": header.get("id"), "kind": "input", "message": message})
        except Exception as e:  # noqa: BLE001 - reported to the engine, which falls back to CPU for this request
            if device.type == "cuda":
                torch.cuda.empty_cache()
            write_message(out, {"type": "error", "id": header.get("id"), "kind": "oom" if _is_oom(e) else "internal",
                                "message": f"{type(e).__name__}: {e}"})


def run_serve(a) -> None:
    if a.probe:
        print(json.dumps(probe()), flush=True)
        return
    if not a.bundle:
        raise SeerInputError("serve-forward needs --bundle DIR (or --probe)")
    # Frames go to the real stdout; anything else printed (by us or a library) goes to stderr.
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    code = serve(a.bundle, a.device, a.dtype, sys.stdin.buffer, frames)
    frames.close()
    if code:
        raise SystemExit(code)
