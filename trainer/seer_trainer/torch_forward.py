"""The torch execution provider's Python side: `python -m seer_trainer serve-forward --bundle DIR` loads a bundle's
model.onnx weights into hf_model.HFDecoder on the user's PyTorch (CUDA when it has one) and answers the engine's
forward requests (engine/src/runtime/torchSession.ts) with exactly the explain graph's outputs
(docs/bundle-format.md): states at one position per row, per-layer means, the last real token's logits, every
token's states at the layers asked for, `steering` added at each layer. And, so that little crosses the pipe, the
reductions the engine would otherwise compute from those (torch_explain.reduced_outputs: token × prototype cosines, each
layer's read-out × prototype cosines, the read-out's cosines with the concept map's examples, the top next tokens with
the log-sum-exp).

Why: onnxruntime-node's GPU paths are WebGPU (float32 shaders) and a CUDA provider that needs an online install
(issue 10); a safety researcher's GPU stack is PyTorch. The weights come from the bundle's own model.onnx (one
artefact, checked against seer.json's modelSha256), so ORT and torch run the same numbers.

Wire format, both directions: a little-endian uint32 header length, the header (UTF-8 JSON), then the payload:
the header's tensors' bytes back to back, in order. Header: {"type", "id"?, "tensors"?: [{"name", "dtype"
("int64" | "float32"), "dims", "bytes"}], ...}. Requests: {"type": "run", "id", "tensors": input_ids,
attention_mask, positions, token_layers, steering (absent: all zeros; and, for the reductions, token_prototypes [k, C, H],
readout_prototypes [L+1, C, H], map_vectors [M, H] float32, map_layer [1] and top_k [1] int64), "fetches": [output
names], "kept"?: {input name: the engine's number for that tensor}, which it then sends only once (KeptPrototypes)}. Replies: "ready" (once, after loading), "result" (id, tensors,
forwardMs: the time PyTorch took, inputs to host copies of the outputs; phasesMs: its check, launch and wait parts,
explain_outputs), "error" (id or null, message, kind: "oom" | "input" | "internal"). stdout
carries only frames (anything a library prints goes to stderr); EOF on stdin ends the process.

The forward itself is torch_explain.py; on CUDA small requests replay CUDA graphs (torch_graphs.py;
SEER_TORCH_GRAPHS=0 turns them off)."""
import hashlib
import json
import os
import struct
import sys
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import SeerInputError
from .hf_families import DecoderConfig, decoder_config_from_json
from .hf_model import Attention, HFDecoder
from .torch_explain import COSINE_VECTORS, OUTPUTS, explain_outputs
from .torch_graphs import graphs_for

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_WIRE = {"int64": np.int64, "float32": np.float32}
MAX_HEADER = 1 << 20
LOAD_BLOCK_BYTES = 64 << 20  # host memory for loading external weights: one block of rows at a time


# ---------------- the model, from the bundle ----------------

def read_manifest(bundle: Path) -> dict:
    """A bundle's seer.json; unreadable or not JSON: a SeerInputError naming it."""
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
    manifest = read_manifest(bundle)
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


def one_host_thread() -> None:
    """On a GPU the host's tensor work is tiny (checks on token ids, padding, copies to pinned memory), and PyTorch's
    pool of one thread per core made it slow: measured on an H100 host (16 cores), the host checks of one request
    took 8-30 ms, torch.profiler showing ~1 ms per small fill_ or any() (a parallel region's start-up, on cores the
    engine's Node process and others also use). One thread does it in microseconds."""
    torch.set_num_threads(1)


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


def anon_rss_mib() -> Optional[float]:
    """This process's resident memory now, less the files it maps (Linux /proc/self/status RssAnon: its own data).
    Most of a CUDA PyTorch process's peak RSS is the pages of its CUDA libraries it has touched, which the system
    can drop and reload; this is the part it cannot. None where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory() -> dict:
    """The memory fields of ready and result headers (absent where unknown)."""
    return {name: v for name, v in (("peakRssMiB", peak_rss_mib()), ("anonRssMiB", anon_rss_mib())) if v is not None}


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


class KeptPrototypes:
    """The vectors the cosine outputs are taken with (torch_explain.COSINE_VECTORS: the bank's prototypes for the
    token view and the read-out, the concept map's examples), sent once and kept on the device: a request names each
    by its key in `kept` ({input name: key}) and carries the tensor only the first time (at every layer of a 1B
    model the prototypes are 1.4 MB, of an 8B 5.4 MB: each explain would otherwise write, read and copy them to the
    GPU again). The engine numbers each tensor it sends to this process; the last KEEP are kept, the least recently
    used dropped first (as the engine's own list, which is never longer: torchSession.ts KEPT_VECTORS)."""
    KEEP = 24

    def __init__(self, device: torch.device):
        self.device, self.kept = device, OrderedDict()

    def fill(self, header: dict, feeds: Dict[str, torch.Tensor]) -> None:
        for name, key in (header.get("kept") or {}).items():
            if name not in COSINE_VECTORS.values():
                raise SeerInputError(f"{name} is not an input kept on the device ({', '.join(COSINE_VECTORS.values())} are)")
            if name in feeds:
                self.kept[key] = feeds[name].to(self.device, torch.float32)
                while len(self.kept) > self.KEEP:
                    self.kept.popitem(last=False)
            elif key in self.kept:
                self.kept.move_to_end(key)
            else:
                raise SeerInputError(f"{name} {key} was never sent to this process (it keeps the last {self.KEEP})")
            feeds[name] = self.kept[key]


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
            one_host_thread()
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
                        "loadMs": round((time.perf_counter() - started) * 1000, 1), **memory()})
    log(f"serve-forward: {bundle} on {describe(device)} in {dtype}")
    graphs = graphs_for(device, log)
    prototypes = KeptPrototypes(device)
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
            prototypes.fill(header, feeds)
            phases = {}
            result = explain_outputs(model, feeds, fetches, graphs, phases)  # ends with the copy to the host: the GPU is done
            forward_ms = round((time.perf_counter() - t0) * 1000, 3)
            write_message(out, {"type": "result", "id": header["id"], **memory(), "forwardMs": forward_ms,
                                "phasesMs": {name: round(ms, 3) for name, ms in phases.items()}}, result)
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
