"""The safetensors reader against files written by an independent writer (hf_fixtures), and against
hostile headers: each is refused with a clear SeerInputError before any tensor byte is mapped."""
import json
import os
import struct
import tracemalloc

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hf_fixtures  # noqa: E402
from hf_fixtures import safetensors_bytes, write_safetensors  # noqa: E402
from seer_trainer import safetensors_io  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint, SafetensorsFile  # noqa: E402


@pytest.mark.parametrize("dtype", ["F32", "F16", "BF16"])
def test_reads_what_an_independent_writer_wrote(tmp_path, dtype):
    rng = np.random.default_rng(1)
    tensors = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32), "b": rng.standard_normal(7).astype(np.float32),
               "empty": np.zeros((0, 4), np.float32)}
    stored = write_safetensors(tmp_path / "x.safetensors", tensors, dtype, metadata={"format": "pt"})
    with SafetensorsFile(tmp_path / "x.safetensors") as f:
        assert f.metadata == {"format": "pt"}
        assert f.entries["a.weight"].shape == (3, 5)
        for name in tensors:
            native = f.read(name)
            assert native.dtype == safetensors_io.DTYPES[dtype][0] and tuple(native.shape) == tensors[name].shape
            as_f32 = f.read(name, torch.float32)
            np.testing.assert_array_equal(as_f32.numpy().astype(np.float64), stored[name])
        if dtype != "F32":  # rounding happened, so the comparison above was not vacuous
            assert not np.array_equal(stored["a.weight"], tensors["a.weight"].astype(np.float64))


def test_integer_tensors_and_unaligned_offsets(tmp_path):
    ids = np.array([[1, -2], [3, 2**40]], dtype="<i8")
    data = b"\x07" + ids.tobytes()  # a 1-byte tensor first, so the int64 one starts at an odd offset
    header = {"flag": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
              "ids": {"dtype": "I64", "shape": [2, 2], "data_offsets": [1, 33]}}
    (tmp_path / "i.safetensors").write_bytes(safetensors_bytes(header, data, pad_to=1))
    with SafetensorsFile(tmp_path / "i.safetensors") as f:
        assert f.read("flag").tolist() == [7]
        assert f.read("ids").tolist() == ids.tolist()


def test_returned_tensors_are_copies_that_outlive_the_file(tmp_path):
    write_safetensors(tmp_path / "x.safetensors", {"w": np.arange(6, dtype=np.float32)})
    f = SafetensorsFile(tmp_path / "x.safetensors")
    t = f.read("w")
    t += 1  # writable, and writing must not reach the file
    f.close()  # would raise BufferError if a view of the mapping were still alive
    with SafetensorsFile(tmp_path / "x.safetensors") as again:
        assert again.read("w").tolist() == list(range(6))
    assert t.tolist() == [float(v + 1) for v in range(6)]


def test_reading_one_tensor_does_not_load_the_file(tmp_path):
    big = np.zeros((1024, 1024, 4), np.float32)  # 16 MB
    write_safetensors(tmp_path / "x.safetensors", {"big": big, "small": np.ones(16, np.float32)})
    tracemalloc.start()
    try:
        with SafetensorsFile(tmp_path / "x.safetensors") as f:
            small = f.read("small")
            f.read("big")  # lands in torch's allocator, not in Python bytes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert small.tolist() == [1.0] * 16
    assert peak < 1024 * 1024, f"reading allocated {peak} bytes of Python objects; the file is 16 MB"


def _rss_bytes():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not hasattr(safetensors_io.mmap, "MADV_DONTNEED") or not os.path.exists("/proc/self/status"),
                    reason="needs Linux (madvise, /proc)")
def test_read_pages_are_released_after_the_copy(tmp_path):
    size = 64 * 1024 * 1024
    write_safetensors(tmp_path / "x.safetensors", {"big": np.ones(size // 4, np.float32)})
    with SafetensorsFile(tmp_path / "x.safetensors") as f:
        before = _rss_bytes()
        big = f.read("big")
        grown = _rss_bytes() - before
    assert float(big[-1]) == 1.0
    # the copy (64 MB) stays; the 64 MB of mapped file pages it came from must not
    assert grown < 1.4 * size, f"RSS grew {grown / 2**20:.0f} MB reading a {size / 2**20:.0f} MB tensor"


# ---- hostile files: (header or raw bytes, the words the error must contain) ----

def _file(header, data=b""):
    return safetensors_bytes(header, data)


F32x2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
DUPLICATE = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
HOSTILE = {
    "offset past EOF": (_file({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "truncated"),
    "overlapping": (_file({"a": F32x2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "overlap"),
    "wrong byte count": (_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8), "needs 12 bytes"),
    "negative shape": (_file({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8), "non-negative"),
    "shape not integers": (_file({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, b"\0" * 8), "non-negative"),
    "unknown dtype": (_file({"w": {"dtype": "F8_E4M3", "shape": [8], "data_offsets": [0, 8]}}, b"\0" * 8), "'F8_E4M3'"),
    "huge header length": (struct.pack("<Q", 2**62) + b"{}", "limit"),
    "header past EOF": (struct.pack("<Q", 4096) + b'{"w":', "truncated"),
    "too short": (b"\x01\x02", "fewer than the 8-byte"),
    "not JSON": (struct.pack("<Q", 8) + b"not json", "not valid JSON"),
    "not an object": (_file([1, 2]), "not a JSON object"),
    "deeply nested": (struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    "duplicate names": (struct.pack("<Q", len(DUPLICATE)) + DUPLICATE + b"\0" * 8, "duplicate"),
    "gap": (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "belong to no tensor"),
    "trailing bytes": (_file({"a": F32x2}, b"\0" * 16), "data section has 16"),
    "extra key": (_file({"a": {**F32x2, "extra": 1}}, b"\0" * 8), "exactly the keys"),
    "metadata not strings": (_file({"a": F32x2, "__metadata__": {"n": 1}}, b"\0" * 8), "__metadata__"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_headers_are_refused_before_any_tensor_is_read(tmp_path, monkeypatch, case):
    raw, words = HOSTILE[case]
    (tmp_path / "model.safetensors").write_bytes(raw)

    def no_mapping(*a, **k):
        raise AssertionError("tensor data was mapped before the header was validated")

    monkeypatch.setattr(safetensors_io.mmap, "mmap", no_mapping)
    with pytest.raises(SeerInputError) as err:
        Checkpoint(tmp_path)
    assert words in str(err.value)
    assert "model.safetensors" in str(err.value)


def test_truncated_real_file(tmp_path):
    write_safetensors(tmp_path / "model.safetensors", {"w": np.ones((8, 8), np.float32)})
    raw = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(raw[:-10])
    with pytest.raises(SeerInputError, match="truncated"):
        Checkpoint(tmp_path)


def _sharded(tmp_path):
    return hf_fixtures.build(tmp_path, "llama3.1-sharded-untied")


def test_sharded_checkpoint_reads_across_shards(tmp_path):
    fx = _sharded(tmp_path)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) == 2
    with Checkpoint(tmp_path) as ckpt:
        assert sorted(ckpt.names()) == sorted(fx.weights)
        for name in ("model.embed_tokens.weight", "lm_head.weight"):  # one from each shard
            np.testing.assert_array_equal(ckpt.read(name).numpy(), fx.weights[name])
        assert ckpt.reads == 2


def test_missing_shard_is_named(tmp_path, monkeypatch):
    _sharded(tmp_path)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    monkeypatch.setattr(safetensors_io.mmap, "mmap", lambda *a, **k: pytest.fail("mapped a shard"))
    with pytest.raises(SeerInputError, match=r"model-00002-of-00002\.safetensors: missing shard \(\d+ tensors"):
        Checkpoint(tmp_path)


@pytest.mark.parametrize("shard, words", [("../outside.safetensors", "same folder"), ("model.bin", "same folder"),
                                          ("model-00001-of-00002.safetensors", "does not hold it")])
def test_index_pointing_elsewhere_is_refused(tmp_path, shard, words):
    _sharded(tmp_path)
    index_path = tmp_path / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["lm_head.weight"] = shard
    index_path.write_text(json.dumps(index))
    with pytest.raises(SeerInputError, match=words):
        Checkpoint(tmp_path)


def test_pickled_weights_are_not_read(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(SeerInputError, match="pytorch_model.bin: pickled weights can run code"):
        Checkpoint(tmp_path)


def test_randomly_corrupted_headers_give_only_clear_errors(tmp_path):
    hf_fixtures.build(tmp_path, "qwen2.5-bias")
    raw = (tmp_path / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    rng = np.random.default_rng(0)
    junk = [None, -1, 0, 2.5, "F32", "x", [], {}, [1], [2, 2], [0, 10 ** 20], [-1, 3], True, 10 ** 30]
    refused = 0
    for _ in range(300):
        h = json.loads(json.dumps(header))
        name = rng.choice([k for k in h if k != "__metadata__"])
        h[name][rng.choice(["dtype", "shape", "data_offsets"])] = junk[rng.integers(len(junk))]
        body = json.dumps(h).encode()
        (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(body)) + body + data)
        try:
            Checkpoint(tmp_path).close()
        except SeerInputError:
            refused += 1
    assert refused > 250  # almost every corruption breaks the file; none may escape as another exception
