"""Reads Hugging Face safetensors checkpoints one tensor at a time, without the `safetensors` package.

Format: 8-byte little-endian header length N, N bytes of JSON
`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__"?: {str: str}}`, then the data
section; offsets are relative to its start. Every header (of every shard) is validated before any
tensor byte is read, as strictly as the reference implementation: known dtype, non-negative shape,
offsets contiguous, inside the file and matching prod(shape) * itemsize. The file is memory-mapped
(copy-on-write, so torch.frombuffer gets a writable buffer and the file is never changed); `read`
copies one tensor out of the mapping, so at most one tensor is materialised per call and the mapped
pages are the kernel's to drop. Only safetensors is read: pickled `.bin` checkpoints can run code."""
import json
import math
import mmap
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from .errors import SeerInputError

# The 100 MB cap is the reference implementation's; real headers are a few hundred KB.
MAX_HEADER_BYTES = 100 * 1024 * 1024
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"

# safetensors dtype -> (torch dtype, bytes per element)
DTYPES: Dict[str, Tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2), "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}

DAMAGED = "the file is damaged or not a safetensors file: download it again"


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: Tuple[int, ...]
    begin: int  # byte offsets inside the data section
    end: int


def _fail(path, what: str):
    raise SeerInputError(f"{path}: {what}; {DAMAGED}")


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key {sorted(k for k in keys if keys.count(k) > 1)[0]!r}")
    return dict(pairs)


def _entry(path, name, spec) -> TensorEntry:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        _fail(path, f"tensor {name!r} must have exactly the keys dtype, shape, data_offsets")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise SeerInputError(f"{path}: tensor {name!r} has dtype {dtype!r}; SEER reads {', '.join(DTYPES)}. "
                             "Convert the checkpoint (e.g. dequantise it) first")

    def is_count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(shape, list) or not all(is_count(d) for d in shape):
        _fail(path, f"tensor {name!r} has shape {shape!r} (needs a list of non-negative integers)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(is_count(o) for o in offsets) or offsets[0] > offsets[1]:
        _fail(path, f"tensor {name!r} has data_offsets {offsets!r} (needs [begin, end] with 0 <= begin <= end)")
    expected = math.prod(shape) * DTYPES[dtype][1]
    if offsets[1] - offsets[0] != expected:
        _fail(path, f"tensor {name!r} ({dtype} {shape}) needs {expected} bytes but its offsets span {offsets[1] - offsets[0]}")
    return TensorEntry(dtype, tuple(shape), offsets[0], offsets[1])


def read_header(path) -> Tuple[Dict[str, TensorEntry], Dict[str, str], int]:
    """Validates a safetensors header; returns (entries, metadata, data section start). Reads only the header."""
    path = Path(path)
    if sys.byteorder != "little":
        raise SeerInputError("safetensors data is little-endian; this machine is big-endian")
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            _fail(path, f"it has {size} bytes, fewer than the 8-byte header length")
        (n,) = struct.unpack("<Q", prefix)
        if n > MAX_HEADER_BYTES:
            _fail(path, f"its header claims {n} bytes (the limit is {MAX_HEADER_BYTES})")
        if 8 + n > size:
            _fail(path, f"its header claims {n} bytes but the file has only {size - 8} after the length (truncated?)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        _fail(path, f"its header is not valid JSON ({type(e).__name__}: {str(e)[:200]})")
    if not isinstance(header, dict):
        _fail(path, "its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        _fail(path, "its __metadata__ is not an object of strings")
    entries = {name: _entry(path, name, spec) for name, spec in header.items()}
    data_size = size - 8 - n
    cursor, previous = 0, None
    # The reference implementation requires the tensors to tile the data section exactly.
    for name, e in sorted(entries.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if e.begin < cursor:
            _fail(path, f"tensor {name!r} bytes [{e.begin}, {e.end}) overlap tensor {previous!r}")
        if e.begin > cursor:
            _fail(path, f"bytes [{cursor}, {e.begin}) before tensor {name!r} belong to no tensor")
        if e.end > data_size:
            _fail(path, f"tensor {name!r} ends at byte {e.end} but the data section has {data_size} bytes (truncated?)")
        cursor, previous = e.end, name
    if cursor != data_size:
        _fail(path, f"the tensors cover {cursor} bytes but the data section has {data_size}")
    return entries, metadata, 8 + n


class SafetensorsFile:
    """One validated .safetensors file; `read(name)` returns a fresh tensor (a copy, never a view of the file)."""

    def __init__(self, path):
        self.path = Path(path)
        self.entries, self.metadata, self._data_start = read_header(self.path)
        self._file = None
        self._map = None

    def _mapping(self):
        if self._map is None:
            self._file = open(self.path, "rb")
            if self.path.stat().st_size > 0:
                self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY)
        return self._map

    def read(self, name: str, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        if name not in self.entries:
            raise SeerInputError(f"{self.path}: has no tensor {name!r}")
        e = self.entries[name]
        source_dtype, itemsize = DTYPES[e.dtype]
        target = dtype or source_dtype
        count = (e.end - e.begin) // itemsize
        if count == 0:
            return torch.empty(e.shape, dtype=target)
        start = self._data_start + e.begin
        view = torch.frombuffer(self._mapping(), dtype=source_dtype, count=count, offset=start)
        out = view.reshape(e.shape).to(target, copy=True)
        del view  # releases the buffer export so the mapping can close
        self._release(start, e.end - e.begin)
        return out

    def _release(self, start: int, length: int):
        """Drops the tensor's mapped pages now (they are clean, the kernel refaults them on demand), so the
        process does not also hold the file's pages while the model fills up: RSS ~ weights, not weights + file."""
        if hasattr(mmap, "MADV_DONTNEED"):
            aligned = start - start % mmap.PAGESIZE
            self._map.madvise(mmap.MADV_DONTNEED, aligned, start + length - aligned)

    def close(self):
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Checkpoint:
    """The safetensors weights of a Hugging Face checkpoint folder: `model.safetensors`, or the shards
    that `model.safetensors.index.json` names. Every shard's header is validated on open; tensors are
    read one at a time. `reads` counts tensors read (tests use it to check loading is lazy)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.reads = 0
        single, index = self.folder / SINGLE_NAME, self.folder / INDEX_NAME
        if single.is_file():  # transformers looks for the single file first, too
            self._shards = {SINGLE_NAME: SafetensorsFile(single)}
            self._where = {name: SINGLE_NAME for name in self._shards[SINGLE_NAME].entries}
        elif index.is_file():
            self._where = _weight_map(index)
            self._shards = {}
            for shard in sorted(set(self._where.values())):
                p = self.folder / shard
                if not p.is_file():
                    held = sum(1 for s in self._where.values() if s == shard)
                    raise SeerInputError(f"{p}: missing shard ({held} tensors listed in {INDEX_NAME} live there); "
                                         "download the whole checkpoint folder again")
                self._shards[shard] = SafetensorsFile(p)
            for name, shard in self._where.items():
                if name not in self._shards[shard].entries:
                    raise SeerInputError(f"{INDEX_NAME} places tensor {name!r} in {shard}, which does not hold it; "
                                         "the index and the shards come from different downloads")
        else:
            pickled = sorted(p.name for p in self.folder.glob("*.bin")) if self.folder.is_dir() else []
            hint = (f" It has {', '.join(pickled)}: pickled weights can run code, so SEER does not read them; "
                    "convert them to safetensors where you trust them (transformers: save_pretrained(..., "
                    "safe_serialization=True))." if pickled else "")
            raise SeerInputError(f"{self.folder}: no {SINGLE_NAME} or {INDEX_NAME}.{hint}")

    def names(self):
        return list(self._where)

    def __contains__(self, name):
        return name in self._where

    def shape(self, name) -> Tuple[int, ...]:
        return self._shards[self._where[name]].entries[name].shape

    def nbytes(self) -> int:
        """Bytes of tensor data as stored (for estimating memory and disk before an import starts)."""
        return sum(e.end - e.begin for name, shard in self._where.items() for e in (self._shards[shard].entries[name],))

    def read(self, name: str, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        if name not in self._where:
            raise SeerInputError(f"{self.folder}: the checkpoint has no tensor {name!r}")
        self.reads += 1
        return self._shards[self._where[name]].read(name, dtype)

    def close(self):
        for shard in self._shards.values():
            shard.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _weight_map(index: Path) -> Dict[str, str]:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SeerInputError(f"{index}: not valid JSON ({e}); download it again")
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise SeerInputError(f"{index}: needs a non-empty \"weight_map\" object of tensor name -> shard file")
    for name, shard in weight_map.items():
        # A shard is a plain file name beside the index: no paths out of the folder.
        plain_name = isinstance(shard, str) and Path(shard).name == shard and "\\" not in shard and not shard.startswith(".")
        if not plain_name or not shard.endswith(".safetensors"):
            raise SeerInputError(f"{index}: tensor {name!r} maps to {shard!r}; shards must be .safetensors files "
                                 "in the same folder")
    return weight_map


TORCH_TO_SAFETENSORS = {torch_dtype: name for name, (torch_dtype, _) in DTYPES.items()}


def write_safetensors(path, tensors, metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes (name, tensor) pairs as one .safetensors file, streaming: `tensors` is iterated twice (a
    callable returning a fresh iterator), first for the header's shapes and dtypes (.shape/.dtype only,
    so it may be cheap views), then for the bytes, one tensor in memory at a time. The header is padded
    with spaces to 8 bytes, as the reference writer does. Not atomic: write into a temporary folder."""
    header, offset = {}, 0
    for name, t in tensors():
        if t.dtype not in TORCH_TO_SAFETENSORS:
            raise SeerInputError(f"{path}: tensor {name!r} has dtype {t.dtype}, which safetensors cannot store")
        size = t.numel() * t.element_size()
        header[name] = {"dtype": TORCH_TO_SAFETENSORS[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    if metadata:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, t in tensors():
            f.write(t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
