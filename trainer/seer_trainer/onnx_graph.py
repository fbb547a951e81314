"""The bundle's "explain head" graph (docs/bundle-format.md, format 2), written directly with onnx.helper for
every family hf_families.DecoderConfig describes, the way onnxruntime-genai's model builder does.

Why not torch.onnx.export: it traces a model that already holds every weight, serialises through one in-memory
protobuf (2 GB limit, a second copy of the weights), cannot store fp16 weights with fp32 outputs, and its
shapes follow the example input (issue 9: the exporter fixed the batch at 1). Here the graph's nodes depend
only on the config; the weights are streamed from the checkpoint one tensor at a time, converted and written
(to model.onnx.data when external, or straight into model.onnx as raw_data), then dropped.

Layout: attention runs on [batch, kv_heads, group, seq, head_dim], so the K/V heads of grouped-query attention
broadcast over their query heads in MatMul instead of being copied. Outputs are only what an explanation
reads: per-layer states at one position per row, per-layer means, the last real token's logits, and every
token's states at the layers asked for (accumulated one layer at a time, never L x B x T x H at once).

KV cache (kv_cache=True; imported models): the same graph also takes each block's past keys and values
(past_key_i / past_value_i [B, kv_heads, P, head_dim], after RoPE) and returns them with the new tokens' appended
(present_key_i / present_value_i [B, kv_heads, P + T, head_dim]); attention_mask then covers the P + T tokens.
One graph, not a second file, so that attention has one implementation: P = 0 (empty past) is exactly the
explain graph, and the engine feeds empty pasts to explains. Concat-based, not ORT's fused
com.microsoft.GroupQueryAttention: that matched this attention on onnxruntime-node's CPU (2e-7, right padding,
a past, soft-cap), but its CUDA kernel exists for float16/bfloat16 only, and this graph computes in float32, so
on CUDA every layer's attention would fall back to the CPU.

fp16: onnxruntime-node 1.30's CPU provider has no float16 kernel for MatMul, Gemm, Add, Mul, Softmax,
ReduceMean, Sigmoid, Tanh, Sqrt, ...: only data movement (Gather, Transpose, Concat) runs in float16; for the
rest it silently wraps every node in Casts, rounding each activation to fp16 (measured by profiling single-op
graphs). So fp16 here means fp16 STORAGE: weights are stored float16 (half the file and download) and cast
to float32 in the graph, where all arithmetic happens; outputs are float32. Norm weights and biases stay
float32 (tiny; Gemma's 1 + w is folded in at build time)."""
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .errors import SeerInputError
from .hf_families import DecoderConfig, decoder_config_to_json
from .hf_model import MASKED, inverse_frequencies

OPSET = 17
IR_VERSION = 8  # what onnx 1.12 writes for opset 17; onnxruntime 1.30 reads up to 11
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
INPUTS = ["input_ids", "attention_mask", "positions", "token_layers", "steering"]
OUTPUTS = ["states", "mean_states", "last_logits", "token_states"]
# The KV-cache inputs and outputs, one pair per block i (after INPUTS and OUTPUTS); see the header.
KV_INPUTS = ("past_key_{i}", "past_value_{i}")
KV_OUTPUTS = ("present_key_{i}", "present_value_{i}")
WEIGHTS_DTYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}
_TORCH_DTYPES = {TensorProto.FLOAT: torch.float32, TensorProto.FLOAT16: torch.float16}
# Large tensors start on a 64 KiB boundary of model.onnx.data (Windows' mapping granularity; a multiple of
# Linux's page), so onnxruntime can memory-map them instead of copying.
ALIGN, ALIGN_OVER = 1 << 16, 1 << 20
_CHUNK = 1 << 20
PROGRESS_OVER = 1 << 28  # log each tenth of the weights written for models over 256 MB
# metadata_props key holding the DecoderConfig (JSON): torch_forward.py rebuilds the PyTorch decoder from it.
DECODER_METADATA = "seer.decoder"


@dataclass
class GraphFiles:
    model_sha256: str  # sha256 of model.onnx
    external: Optional[dict]  # {"file": "model.onnx.data", "bytes": int, "sha256": str} or None
    kv_cache: Optional[dict] = None  # {"numKvHeads": int, "headDim": int} when the graph has the KV inputs


def kv_names(names, num_layers: int) -> List[str]:
    """KV_INPUTS or KV_OUTPUTS spelled out for every block, in graph order."""
    return [name.format(i=i) for i in range(num_layers) for name in names]


class StateDictTensors:
    """A state dict {hf_name: tensor} (e.g. a trained HFDecoder's) with safetensors_io.Checkpoint's interface."""

    def __init__(self, state: Dict[str, torch.Tensor]):
        self.state = state
        self.folder = "the state dict"

    def names(self):
        return list(self.state)

    def __contains__(self, name):
        return name in self.state

    def shape(self, name):
        return tuple(self.state[name].shape)

    def read(self, name, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        t = self.state[name].detach().cpu()
        return t.to(dtype) if dtype is not None else t


def onnx_manifest_entry(files: GraphFiles, weights_dtype: str) -> dict:
    """seer.json's "onnx" object."""
    entry = {"inputs": list(INPUTS), "outputs": list(OUTPUTS), "opset": OPSET, "weightsDtype": weights_dtype}
    if files.external:
        entry["externalData"] = dict(files.external)
    if files.kv_cache:
        entry["kvCache"] = dict(files.kv_cache)
    return entry


# ---------------- weights: planned while the graph is built, streamed afterwards ----------------

@dataclass
class _Weight:
    name: str  # the initializer's name: the Hugging Face name with the "model." prefix
    stored: str  # the name in `tensors` (without "model." for a prefix-less checkpoint)
    shape: tuple  # as the checkpoint holds it
    kind: str  # "linear" (stored transposed, [in, out]), "matrix" (as is: embedding, LM head), "norm", "bias"
    plus_one: bool = False

    @property
    def onnx_shape(self):
        return tuple(reversed(self.shape)) if self.kind == "linear" else self.shape


class _Graph:
    """Nodes, with generated value names, and the weights they use."""

    def __init__(self, c: DecoderConfig, tensors, storage: int, kv_cache: bool = False):
        self.c, self.tensors, self.storage, self.kv_cache = c, tensors, storage, kv_cache
        self.nodes: List[onnx.NodeProto] = []
        self.weights: Dict[str, _Weight] = {}
        self._as_float: Dict[str, str] = {}
        self._constants: Dict[tuple, str] = {}
        self._count = 0
        has_prefix = "model.embed_tokens.weight" in tensors or "embed_tokens.weight" not in tensors
        self._stored = (lambda n: n) if has_prefix else (lambda n: n[len("model."):] if n.startswith("model.") else n)

    def op(self, op_type: str, *inputs: str, out: Optional[str] = None, **attrs) -> str:
        self._count += 1
        out = out or f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=f"{op_type}_{self._count}", **attrs))
        return out

    def const(self, value, dtype=np.float32) -> str:
        """A small constant (a Constant node, so that every initializer is a weight), one node per value."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.op("Constant", value=numpy_helper.from_array(array, "value"))
        return self._constants[key]

    def ints(self, *values) -> str:
        return self.const(list(values), np.int64)

    def index(self, value: int) -> str:
        """An int64 scalar (Range, CumSum's axis and Gather want 0-d tensors)."""
        return self.const(value, np.int64)

    def weight(self, name: str, kind: str, shape: tuple, plus_one: bool = False, raw: bool = False) -> str:
        """Registers checkpoint tensor `name` (checked against `shape`); returns its float32 value in the graph
        (the initializer itself when `raw`, whatever its storage dtype)."""
        if name not in self.weights:
            stored = self._stored(name)
            where = getattr(self.tensors, "folder", "the weights")
            if stored not in self.tensors:
                raise SeerInputError(f"{where}: the checkpoint has no tensor {stored!r}, which a {self.c.architecture} with "
                                     "this config.json needs; is config.json from the same model as the weights?")
            if tuple(self.tensors.shape(stored)) != tuple(shape):
                raise SeerInputError(f"{where}: tensor {stored!r} has shape {list(self.tensors.shape(stored))}, but "
                                     f"config.json implies {list(shape)}; is config.json from the same model as the weights?")
            self.weights[name] = _Weight(name, stored, tuple(shape), kind, plus_one)
        if raw or self.dtype_of(self.weights[name]) == TensorProto.FLOAT:
            return name
        if name not in self._as_float:
            self._as_float[name] = self.op("Cast", name, out=f"{name}.float32", to=TensorProto.FLOAT)
        return self._as_float[name]

    def dtype_of(self, w: _Weight) -> int:
        return TensorProto.FLOAT if w.kind in ("norm", "bias") else self.storage

    def nbytes_of(self, w: _Weight) -> int:
        return int(np.prod(w.shape)) * (4 if self.dtype_of(w) == TensorProto.FLOAT else 2)


# ---------------- the computation ----------------

def _rms_norm(g: _Graph, x: str, name: str, dim: int) -> str:
    """x / sqrt(mean(x^2) + eps) * w, as hf_model.RMSNorm (Gemma's 1 + w folded into the stored weight)."""
    c = g.c
    w = g.weight(name, "norm", (dim,), plus_one=c.norm_plus_one)
    mean_square = g.op("ReduceMean", g.op("Mul", x, x), axes=[-1], keepdims=1)
    inv_rms = g.op("Reciprocal", g.op("Sqrt", g.op("Add", mean_square, g.const(c.norm_eps))))
    return g.op("Mul", g.op("Mul", x, inv_rms), w)


def _linear(g: _Graph, x: str, name: str, n_in: int, n_out: int, bias: bool) -> str:
    y = g.op("MatMul", x, g.weight(f"{name}.weight", "linear", (n_out, n_in)))
    return g.op("Add", y, g.weight(f"{name}.bias", "bias", (n_out,))) if bias else y


def _rope(g: _Graph, x: str, cos: str, sin: str) -> str:
    """x * cos + rotate_half(x) * sin on [..., head_dim], rotate_half(a, b) = (-b, a)."""
    half = g.c.head_dim // 2
    first = g.op("Slice", x, g.ints(0), g.ints(half), g.ints(-1))
    second = g.op("Slice", x, g.ints(half), g.ints(2 * half), g.ints(-1))
    rotated = g.op("Concat", g.op("Neg", second), first, axis=-1)
    return g.op("Add", g.op("Mul", x, cos), g.op("Mul", rotated, sin))


def _soft_cap(g: _Graph, x: str, cap: float) -> str:
    return g.op("Mul", g.op("Tanh", g.op("Div", x, g.const(cap))), g.const(cap))


def _attention(g: _Graph, x: str, layer: int, cos: str, sin: str, bias: str) -> str:
    c, prefix = g.c, f"model.layers.{layer}.self_attn."
    kv, group, d = c.num_kv_heads, c.num_heads // c.num_kv_heads, c.head_dim
    q = _linear(g, x, prefix + "q_proj", c.hidden_size, c.num_heads * d, c.qkv_bias)
    k = _linear(g, x, prefix + "k_proj", c.hidden_size, kv * d, c.qkv_bias)
    v = _linear(g, x, prefix + "v_proj", c.hidden_size, kv * d, c.qkv_bias)
    q = g.op("Reshape", q, g.ints(0, 0, kv, group, d))  # [B, T, kv, group, D]
    k = g.op("Reshape", k, g.ints(0, 0, kv, 1, d))
    v = g.op("Reshape", v, g.ints(0, 0, kv, 1, d))
    if c.qk_norm:
        q, k = _rms_norm(g, q, prefix + "q_norm.weight", d), _rms_norm(g, k, prefix + "k_norm.weight", d)
    q, k = _rope(g, q, cos, sin), _rope(g, k, cos, sin)
    q = g.op("Transpose", q, perm=[0, 2, 3, 1, 4])  # [B, kv, group, T, D]
    k = g.op("Transpose", k, perm=[0, 2, 3, 1, 4])  # [B, kv, 1, T, D]
    v = g.op("Transpose", v, perm=[0, 2, 3, 1, 4])
    if g.kv_cache:  # the past's keys and values first: [B, kv, 1, S, D], S = P + T
        past_key, past_value = (name.format(i=layer) for name in KV_INPUTS)
        k = g.op("Concat", g.op("Unsqueeze", past_key, g.ints(2)), k, axis=3)
        v = g.op("Concat", g.op("Unsqueeze", past_value, g.ints(2)), v, axis=3)
        for value, name in zip((k, v), KV_OUTPUTS):
            g.op("Squeeze", value, g.ints(2), out=name.format(i=layer))
    k_t = g.op("Transpose", k, perm=[0, 1, 2, 4, 3])  # [B, kv, 1, D, S]
    scores = g.op("Mul", g.op("MatMul", q, k_t), g.const(c.query_scale))
    if c.attn_softcap:
        scores = _soft_cap(g, scores, c.attn_softcap)
    weights = g.op("Softmax", g.op("Add", scores, bias), axis=-1)
    out = g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 3, 1, 2, 4])  # [B, T, kv, group, D]
    out = g.op("Reshape", out, g.ints(0, 0, c.num_heads * d))
    return _linear(g, out, prefix + "o_proj", c.num_heads * d, c.hidden_size, c.o_bias)


def _activation(g: _Graph, x: str) -> str:
    kind = g.c.activation
    if kind == "silu":
        return g.op("Mul", x, g.op("Sigmoid", x))
    if kind == "gelu_tanh":  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Mul", g.op("Add", x, g.op("Mul", cube, g.const(0.044715))), g.const(np.sqrt(2 / np.pi)))
        return g.op("Mul", g.op("Mul", x, g.const(0.5)), g.op("Add", g.op("Tanh", inner), g.const(1.0)))
    if kind == "gelu":  # 0.5 x (1 + erf(x / sqrt(2)))
        erf = g.op("Erf", g.op("Div", x, g.const(np.sqrt(2.0))))
        return g.op("Mul", g.op("Mul", x, g.const(0.5)), g.op("Add", erf, g.const(1.0)))
    raise ValueError(f"activation {kind!r}")


def _mlp(g: _Graph, x: str, prefix: str) -> str:
    c = g.c
    gate = _linear(g, x, prefix + "gate_proj", c.hidden_size, c.intermediate_size, c.mlp_bias)
    up = _linear(g, x, prefix + "up_proj", c.hidden_size, c.intermediate_size, c.mlp_bias)
    return _linear(g, g.op("Mul", _activation(g, gate), up), prefix + "down_proj", c.intermediate_size, c.hidden_size, c.mlp_bias)


def _block(g: _Graph, x: str, i: int, cos: str, sin: str, bias: str) -> str:
    c, prefix = g.c, f"model.layers.{i}."

    def norm(role, value):
        name = c.norm_names.get(role)
        return _rms_norm(g, value, f"{prefix}{name}.weight", c.hidden_size) if name else value

    x = g.op("Add", x, norm("post_attn_norm", _attention(g, norm("attn_norm", x), i, cos, sin, bias)))
    return g.op("Add", x, norm("post_mlp_norm", _mlp(g, norm("mlp_norm", x), prefix + "mlp.")))


def _spans(g: _Graph, input_ids: str, mask: str):
    """P (the cached tokens before the new ones) and S = P + T (attention_mask's length), int64 scalars; P is 0
    without a KV cache, where the mask is as long as input_ids."""
    total = g.op("Gather", g.op("Shape", mask), g.index(1), axis=0)
    return g.op("Sub", total, g.op("Gather", g.op("Shape", input_ids), g.index(1), axis=0)), total


def _new_tokens(g: _Graph, x: str, past: str) -> str:
    """x [B, S, ...] from position P on: the new tokens' part."""
    return g.op("Slice", x, g.op("Unsqueeze", past, g.ints(0)), g.ints(np.iinfo(np.int64).max), g.ints(1))


def _rotary_tables(g: _Graph, mask: str, past: str):
    """cos, sin [B, T, 1, 1, head_dim] at the new tokens' positions cumsum(mask) - 1 (clamped at 0), as HFDecoder."""
    inv_freq = inverse_frequencies(g.c.head_dim, g.c.rope).numpy()
    positions = g.op("Relu", g.op("Cast", g.op("Sub", g.op("CumSum", mask, g.index(1)), g.ints(1)), to=TensorProto.FLOAT))
    positions = _new_tokens(g, positions, past)
    angles = g.op("Mul", g.op("Unsqueeze", positions, g.ints(2)), g.const(inv_freq))  # [B, T, D / 2]
    angles = g.op("Unsqueeze", g.op("Concat", angles, angles, axis=-1), g.ints(2, 3))
    return g.op("Cos", angles), g.op("Sin", angles)


def _attention_biases(g: _Graph, mask: str, past: str, total: str):
    """0 where a new token's query may attend (causal, real key, inside the window), MASKED elsewhere:
    [B, 1, 1, T, S]; the queries sit at sequence indices P..S-1, the keys at 0..S-1."""
    c = g.c
    query = g.op("Unsqueeze", g.op("Range", past, total, g.index(1)), g.ints(1))  # [T, 1]
    key = g.op("Unsqueeze", g.op("Range", g.index(0), total, g.index(1)), g.ints(0))  # [1, S]
    real_key = g.op("Unsqueeze", g.op("Cast", mask, to=TensorProto.BOOL), g.ints(1, 2, 3))  # [B, 1, 1, 1, S]
    allowed = g.op("And", g.op("LessOrEqual", key, query), real_key)
    zero, masked = g.const(0.0), g.const(MASKED)
    full = g.op("Where", allowed, zero, masked)
    window = None
    if c.sliding_window is not None and any(c.sliding_layers):
        near = g.op("Less", g.op("Sub", query, key), g.ints(c.sliding_window))
        window = g.op("Where", g.op("And", allowed, near), zero, masked)
    return full, window


def _build(g: _Graph):
    c = g.c
    layers = c.num_layers + 1
    input_ids, mask, positions, token_layers, steering = INPUTS
    past, total = _spans(g, input_ids, mask)
    cos, sin = _rotary_tables(g, mask, past)
    full_bias, window_bias = _attention_biases(g, mask, past, total)
    new_mask = _new_tokens(g, mask, past)  # [B, T]: the read-outs, means and last token are the new tokens'
    read_at = g.op("Unsqueeze", positions, g.ints(1))  # [B, 1] for GatherND
    last_at = g.op("Unsqueeze", g.op("Sub", g.op("ReduceSum", new_mask, g.ints(1), keepdims=0), g.ints(1)), g.ints(1))
    mask_f = g.op("Cast", new_mask, to=TensorProto.FLOAT)
    real_count = g.op("Max", g.op("ReduceSum", mask_f, g.ints(1), keepdims=1), g.const(1.0))  # [B, 1]
    mask_row = g.op("Unsqueeze", mask_f, g.ints(1))  # [B, 1, T]

    embed = g.weight("model.embed_tokens.weight", "matrix", (c.vocab_size, c.hidden_size), raw=True)
    x = g.op("Gather", embed, input_ids, axis=0)
    if g.storage != TensorProto.FLOAT:
        x = g.op("Cast", x, to=TensorProto.FLOAT)
    if c.embed_scale != 1.0:
        x = g.op("Mul", x, g.const(c.embed_scale))  # rounded to float32, as HFDecoder does
    states, means, token_states = [], [], None
    for i in range(layers):
        if i:
            windowed = window_bias is not None and c.sliding_layers[i - 1]
            x = _block(g, x, i - 1, cos, sin, window_bias if windowed else full_bias)
        x = g.op("Add", x, g.op("Gather", steering, g.index(i), axis=0, out=f"steering_{i}"), out=f"residual_{i}")
        states.append(g.op("Unsqueeze", g.op("GatherND", x, read_at, batch_dims=1), g.ints(0)))
        mean = g.op("Div", g.op("Squeeze", g.op("MatMul", mask_row, x), g.ints(1)), real_count)
        means.append(g.op("Unsqueeze", mean, g.ints(0)))
        chosen = g.op("Cast", g.op("Equal", token_layers, g.index(i)), to=TensorProto.FLOAT)  # [k]: 1 where layer i is asked for
        term = g.op("Mul", g.op("Reshape", chosen, g.ints(-1, 1, 1, 1)), x)  # [k, B, T, H]
        token_states = term if token_states is None else g.op("Add", token_states, term)
    g.op("Concat", *states, axis=0, out="states")
    g.op("Concat", *means, axis=0, out="mean_states")
    g.op("Identity", token_states, out="token_states")

    last = _rms_norm(g, g.op("GatherND", x, last_at, batch_dims=1), "model.norm.weight", c.hidden_size)
    head = "model.embed_tokens.weight" if c.tie_word_embeddings else "lm_head.weight"
    logits = g.op("Gemm", last, g.weight(head, "matrix", (c.vocab_size, c.hidden_size)), transB=1)
    if c.final_softcap:
        logits = _soft_cap(g, logits, c.final_softcap)
    g.op("Identity", logits, out="last_logits")


def _graph_proto(c: DecoderConfig, g: _Graph) -> onnx.GraphProto:
    """Nodes, inputs and outputs; the initializers are added while the weights are written."""
    f32, i64, layers = TensorProto.FLOAT, TensorProto.INT64, c.num_layers + 1
    inputs = [helper.make_tensor_value_info("input_ids", i64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", i64, ["batch", "total" if g.kv_cache else "seq"]),
              helper.make_tensor_value_info("positions", i64, ["batch"]),
              helper.make_tensor_value_info("token_layers", i64, ["k"]),
              helper.make_tensor_value_info("steering", f32, [layers, c.hidden_size])]
    outputs = [helper.make_tensor_value_info("states", f32, [layers, "batch", c.hidden_size]),
               helper.make_tensor_value_info("mean_states", f32, [layers, "batch", c.hidden_size]),
               helper.make_tensor_value_info("last_logits", f32, ["batch", c.vocab_size]),
               helper.make_tensor_value_info("token_states", f32, ["k", "batch", "seq", c.hidden_size])]
    if g.kv_cache:
        kv = [c.num_kv_heads, c.head_dim]
        inputs += [helper.make_tensor_value_info(n, f32, ["batch", kv[0], "past", kv[1]]) for n in kv_names(KV_INPUTS, c.num_layers)]
        outputs += [helper.make_tensor_value_info(n, f32, ["batch", kv[0], "total", kv[1]]) for n in kv_names(KV_OUTPUTS, c.num_layers)]
    return helper.make_graph(g.nodes, f"seer-explain-{c.family}", inputs, outputs)


# ---------------- streaming the weights ----------------

def _converted(g: _Graph, w: _Weight) -> np.ndarray:
    """One checkpoint tensor as the initializer stores it (a fresh array; the caller drops it after writing)."""
    dtype = g.dtype_of(w)
    t = g.tensors.read(w.stored, _TORCH_DTYPES[dtype])
    if w.plus_one:
        t = t + 1.0  # float32, exactly as HFDecoder's RMSNorm computes 1 + w
    if w.kind == "linear":
        t = t.t().contiguous()
    if dtype == TensorProto.FLOAT16 and bool(torch.isinf(t).any()):
        raise SeerInputError(f"tensor {w.stored!r} has values beyond float16's range (±65504); import with --dtype fp32")
    return t.numpy()


class _HashingWriter:
    def __init__(self, path: Path):
        self.file, self.digest, self.bytes = open(path, "wb"), hashlib.sha256(), 0

    def write(self, data):
        view = memoryview(data).cast("B")
        for start in range(0, len(view), _CHUNK):  # bounded chunks: hashing never copies a whole tensor
            self.file.write(view[start:start + _CHUNK])
            self.digest.update(view[start:start + _CHUNK])
        self.bytes += len(view)

    def close(self) -> str:
        self.file.close()
        return self.digest.hexdigest()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, length: int) -> bytes:
    """A length-delimited protobuf field's key and length."""
    return _varint(number << 3 | 2) + _varint(length)


# Field numbers of onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data.
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9


class _Progress:
    def __init__(self, total: int, log):
        self.total, self.done, self.shown, self.log = max(total, 1), 0, 0, log

    def add(self, n: int):
        self.done += n
        tenth = self.done * 10 // self.total
        if tenth > self.shown and self.total >= PROGRESS_OVER:
            self.shown = tenth
            self.log(f"  weights {tenth * 10}% ({self.done / 1e9:.2f} GB)")


def _write_external(g: _Graph, model: onnx.ModelProto, folder: Path, progress: _Progress) -> GraphFiles:
    data = _HashingWriter(folder / DATA_FILE)
    try:
        for w in g.weights.values():
            array = _converted(g, w)
            if array.nbytes >= ALIGN_OVER and data.bytes % ALIGN:
                data.write(bytes(ALIGN - data.bytes % ALIGN))
            offset = data.bytes
            data.write(array)
            progress.add(array.nbytes)
            tensor = TensorProto(name=w.name, data_type=g.dtype_of(w), dims=list(w.onnx_shape),
                                 data_location=TensorProto.EXTERNAL)
            for key, value in (("location", DATA_FILE), ("offset", str(offset)), ("length", str(array.nbytes))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            model.graph.initializer.append(tensor)
            del array
    finally:
        data_sha = data.close()
    body = model.SerializeToString()
    (folder / MODEL_FILE).write_bytes(body)
    return GraphFiles(hashlib.sha256(body).hexdigest(), {"file": DATA_FILE, "bytes": data.bytes, "sha256": data_sha})


def _write_embedded(g: _Graph, model: onnx.ModelProto, folder: Path, progress: _Progress) -> GraphFiles:
    """model.onnx with every weight as raw_data, written field by field so that only one tensor is in memory:
    protobuf readers merge fields in any order, so the graph (nodes, inputs, outputs) comes first and each
    initializer is appended as its own GraphProto.initializer field, its raw bytes written straight from
    the converted tensor. The lengths are known from the shapes before any tensor is read."""
    graph = model.graph.SerializeToString()
    model.ClearField("graph")
    head = model.SerializeToString()
    pieces = []  # (weight, serialised TensorProto without raw_data, raw bytes, TensorProto length)
    for w in g.weights.values():
        meta = TensorProto(name=w.name, data_type=g.dtype_of(w), dims=list(w.onnx_shape)).SerializeToString()
        raw = g.nbytes_of(w)
        pieces.append((w, meta, raw, len(meta) + len(_field(_TENSOR_RAW_DATA, raw)) + raw))
    graph_length = len(graph) + sum(len(_field(_GRAPH_INITIALIZER, n)) + n for *_, n in pieces)
    out = _HashingWriter(folder / MODEL_FILE)
    try:
        out.write(head + _field(_MODEL_GRAPH, graph_length) + graph)
        for w, meta, raw, length in pieces:
            array = _converted(g, w)
            assert array.nbytes == raw, (w.name, array.nbytes, raw)
            out.write(_field(_GRAPH_INITIALIZER, length) + meta + _field(_TENSOR_RAW_DATA, raw))
            out.write(array)
            progress.add(raw)
            del array
    finally:
        sha = out.close()
    return GraphFiles(sha, None)


def write_explain_graph(config: DecoderConfig, tensors, folder: Path, weights_dtype: str = "float32",
                        external_data_over: int = 1 << 30, log=print, kv_cache: bool = False) -> GraphFiles:
    """Writes model.onnx (and model.onnx.data when the weights exceed `external_data_over` bytes) into the
    fresh folder `folder`. `tensors`: safetensors_io.Checkpoint or StateDictTensors, Hugging Face names.
    kv_cache: the graph also takes and returns each block's keys and values (see the header)."""
    if weights_dtype not in WEIGHTS_DTYPES:
        raise SeerInputError(f"weights dtype {weights_dtype!r} is not supported; choose {' or '.join(WEIGHTS_DTYPES)}")
    g = _Graph(config, tensors, WEIGHTS_DTYPES[weights_dtype], kv_cache)
    _build(g)  # checks every tensor's presence and shape before a byte is written
    model = helper.make_model(_graph_proto(config, g), opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="seer-trainer", ir_version=IR_VERSION)
    helper.set_model_props(model, {DECODER_METADATA: decoder_config_to_json(config)})
    total = sum(g.nbytes_of(w) for w in g.weights.values())
    external = total > external_data_over
    log(f"writing the explain graph: {len(g.weights)} tensors, {total / 1e9:.2f} GB of {weights_dtype} weights "
        f"{'to ' + DATA_FILE if external else 'inside ' + MODEL_FILE}")
    folder = Path(folder)
    progress = _Progress(total, log)
    files = (_write_external if external else _write_embedded)(g, model, folder, progress)
    if kv_cache:
        files.kv_cache = {"numKvHeads": config.num_kv_heads, "headDim": config.head_dim}
    return files
