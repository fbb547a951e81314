"""The torch provider's Python side (torch_forward.py): a bundle's model.onnx weights loaded into hf_model.HFDecoder
and served over the framed stdin/stdout protocol, against the independent PyTorch reference (load_hf_decoder on the
Hugging Face checkpoint the graph was written from) for every family of hf_fixtures, and against the committed
default bundle's PyTorch reference (golden.py: the trainer's SeerLlama with the same weights)."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the provider is PyTorch")
onnx = pytest.importorskip("onnx", reason="the weights are read from model.onnx")

import hf_fixtures  # noqa: E402
from seer_trainer import onnx_graph  # noqa: E402
from seer_trainer.cli import main  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.golden import unpack_float32  # noqa: E402
from seer_trainer.hf_families import load_decoder_config  # noqa: E402
from seer_trainer.hf_model import load_hf_decoder  # noqa: E402
from seer_trainer.onnx_graph import DATA_FILE, DECODER_METADATA, write_explain_graph  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint  # noqa: E402
from seer_trainer.torch_explain import explain_outputs  # noqa: E402
from seer_trainer.torch_forward import load_bundle, read_message, serve, write_message  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TRAINER = REPO / "trainer"
DEFAULT = REPO / "models/default"
CPU = torch.device("cpu")
OUTPUTS = list(onnx_graph.OUTPUTS)  # the explain graph's outputs, which the provider reproduces


def _quiet(*_):
    pass


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """case -> the tiny Hugging Face checkpoint folder, built once per module."""
    root, built = tmp_path_factory.mktemp("hf"), {}

    def get(case: str) -> Path:
        if case not in built:
            built[case] = hf_fixtures.build(root / case, case).folder
        return built[case]
    return get


def _bundle(src: Path, folder: Path, **options) -> Path:
    """A minimal bundle: the explain graph written from `src` plus the seer.json fields load_bundle reads."""
    folder.mkdir(parents=True)
    config = load_decoder_config(src)
    with Checkpoint(src) as ckpt:
        files = write_explain_graph(config, ckpt, folder, log=_quiet, **options)
    assert files.model_sha256 == _sha256(folder / "model.onnx")
    manifest = {"files": {"model": "model.onnx"}, "modelSha256": files.model_sha256,
                "architecture": {"type": f"hf-{config.family}"}}
    if files.external:
        manifest["onnx"] = {"externalData": files.external}
    _write_manifest(folder, manifest)
    return folder


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "seer.json").read_text())


def _write_manifest(folder: Path, manifest: dict):
    (folder / "seer.json").write_text(json.dumps(manifest, indent=1))


def _rewrite_graph(folder: Path, edit):
    """Applies `edit` to model.onnx's proto (external weights left where they are) and updates modelSha256."""
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    edit(model)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    manifest = _manifest(folder)
    manifest["modelSha256"] = _sha256(folder / "model.onnx")
    _write_manifest(folder, manifest)


# ---------------- feeds and the reference ----------------

def _padded_batch(vocab: int, lengths, seed: int = 1):
    """Right-padded ids and mask [len(lengths), max(lengths)]."""
    ids = torch.randint(0, vocab, (len(lengths), max(lengths)), generator=torch.Generator().manual_seed(seed))
    mask = (torch.arange(max(lengths)) < torch.tensor(lengths).view(-1, 1)).long()
    return ids * mask, mask


def _feeds(c, lengths, positions, token_layers, steering=None, seed: int = 1):
    ids, mask = _padded_batch(c.vocab_size, lengths, seed)
    return {"input_ids": ids, "attention_mask": mask, "positions": torch.tensor(positions, dtype=torch.int64),
            "token_layers": torch.tensor(token_layers, dtype=torch.int64),
            "steering": torch.zeros(c.num_layers + 1, c.hidden_size) if steering is None else steering}


@torch.no_grad()
def _reference(decoder, feeds, steering=None):
    ids, mask = feeds["input_ids"], feeds["attention_mask"]
    out = decoder(ids, mask, steering=steering)
    hidden = torch.stack(out.hidden_states, 0).float()  # [L+1, B, T, H]
    rows = torch.arange(ids.shape[0])
    real = mask.float()[None, :, :, None]
    return {"states": hidden[:, rows, feeds["positions"]],
            "mean_states": (hidden * real).sum(2) / real.sum(2),
            "last_logits": out.last_logits.float(),
            "token_states": hidden[feeds["token_layers"]]}


def _max_rel(got, want):
    assert got.dtype == torch.float32 and got.shape == want.shape, (got.dtype, got.shape, want.shape)
    return float((got - want).abs().max() / want.abs().max()) if want.numel() else 0.0


def _real_tokens(out: dict, mask) -> dict:
    """`out` with token_states zeroed at padding: right-padded rows run plain causal attention (hf_model
    right_padded), under which a padding token's state differs from the masked reference's and means nothing."""
    if "token_states" not in out:
        return out
    return {**out, "token_states": out["token_states"] * mask[None, :, :, None]}


def _assert_close(got: dict, want: dict, tolerance: float, mask):
    assert sorted(got) == sorted(want)
    got, want = _real_tokens(got, mask), _real_tokens(want, mask)
    errors = {name: _max_rel(got[name], want[name]) for name in want}
    assert max(errors.values()) < tolerance, errors


def _steering(c, row: int = 1, seed: int = 3):
    s = torch.zeros(c.num_layers + 1, c.hidden_size)
    s[row] = torch.randn(c.hidden_size, generator=torch.Generator().manual_seed(seed))
    return s


# ---------------- every family, fp32 ----------------

@pytest.mark.parametrize("case", list(hf_fixtures.CASES))
def test_every_family_matches_the_reference_with_padding_a_mid_prompt_position_and_steering(tmp_path, hf, case):
    src = hf(case)
    model = load_bundle(_bundle(src, tmp_path / "bundle"), CPU, torch.float32)
    decoder = load_hf_decoder(src)
    c = decoder.config
    # The decoder is the one the graph's metadata describes; Gemma's 1 + w is in the stored weights instead.
    assert model.config == replace(c, norm_plus_one=False) and (case == "gemma2") == c.norm_plus_one
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in model.parameters())
    if case == "gemma2":
        assert torch.equal(model.model.norm.weight, decoder.model.norm.weight + 1.0)

    # Batch 3, right-padded, longer than the fixtures' 4-token sliding windows; row 1 is read mid-prompt.
    feeds = _feeds(c, [19, 11, 3], [18, 5, 2], [2, 0])
    plain = explain_outputs(model, feeds, OUTPUTS)
    assert plain["token_states"].shape == (2, 3, 19, c.hidden_size) and plain["last_logits"].shape == (3, c.vocab_size)
    _assert_close(plain, _reference(decoder, feeds), 1e-5, feeds["attention_mask"])

    steering = _steering(c)
    steered = explain_outputs(model, {**feeds, "steering": steering}, OUTPUTS)
    _assert_close(steered, _reference(decoder, feeds, steering), 1e-5, feeds["attention_mask"])
    # Row 1 changes layer 1 on; layer 0 (token_layers' second entry) is untouched.
    assert torch.equal(steered["states"][0], plain["states"][0])
    assert torch.equal(steered["token_states"][1], plain["token_states"][1])
    assert _max_rel(steered["states"][1:], plain["states"][1:]) > 1e-2
    assert _max_rel(steered["last_logits"], plain["last_logits"]) > 1e-3

    # Only what is fetched comes back, and k = 0 token layers is an empty [0, B, T, H].
    few = explain_outputs(model, {**feeds, "token_layers": torch.zeros(0, dtype=torch.int64)}, ["last_logits", "token_states"])
    assert sorted(few) == ["last_logits", "token_states"] and few["token_states"].shape == (0, 3, 19, c.hidden_size)
    assert torch.equal(few["last_logits"], plain["last_logits"])


# ---------------- external data, fp16, bf16 ----------------

def test_forced_external_data_loads_bit_identically_to_the_embedded_graph(tmp_path, hf, monkeypatch):
    src = hf("llama3.1-sharded-untied")
    inline = load_bundle(_bundle(src, tmp_path / "inline"), CPU, torch.float32)
    monkeypatch.setattr(onnx_graph, "ALIGN_OVER", 0)  # every tensor aligned: offsets with padding between them
    folder = _bundle(src, tmp_path / "external", external_data_over=0)
    assert sorted(p.name for p in folder.iterdir()) == ["model.onnx", DATA_FILE, "seer.json"]
    assert _manifest(folder)["onnx"]["externalData"]["file"] == DATA_FILE
    external = load_bundle(folder, CPU, torch.float32)

    a, b = dict(inline.named_parameters()), dict(external.named_parameters())
    assert sorted(a) == sorted(b) and all(torch.equal(a[n], b[n]) for n in a)
    c = inline.config
    feeds = _feeds(c, [9, 4], [8, 3], [1], _steering(c, 2))
    x, y = explain_outputs(inline, feeds, OUTPUTS), explain_outputs(external, feeds, OUTPUTS)
    assert all(torch.equal(x[n], y[n]) for n in OUTPUTS)
    # External weights are read in blocks of rows (host memory: one block, not a 1 GB embedding); blocks of a few
    # rows, the last one partial, give the same weights.
    import seer_trainer.torch_forward as tf
    monkeypatch.setattr(tf, "LOAD_BLOCK_BYTES", 3 * 4 * c.hidden_size + 5)
    blocked = dict(load_bundle(folder, CPU, torch.float32).named_parameters())
    assert sorted(blocked) == sorted(a) and all(torch.equal(a[n], blocked[n]) for n in a)


def _rounded_reference(src: Path):
    """load_hf_decoder with the weights the fp16 graph stores: everything but norms and biases rounded to float16."""
    decoder = load_hf_decoder(src)
    with torch.no_grad():
        for name, p in decoder.named_parameters():
            if not (name.endswith("norm.weight") or name.endswith(".bias")):
                p.copy_(p.half().float())
    return decoder


@pytest.mark.parametrize("case", ["llama3.1-sharded-untied", "qwen2.5-bias", "qwen3-qknorm", "gemma2"])
def test_fp16_weights_give_float32_outputs_within_2e_2_of_the_fp32_reference(tmp_path, hf, case):
    src = hf(case)
    model = load_bundle(_bundle(src, tmp_path / "bundle", weights_dtype="float16"), CPU, torch.float32)
    decoder = load_hf_decoder(src)
    c = decoder.config
    feeds = _feeds(c, [17, 6, 2], [16, 5, 1], [0, 1, 2], _steering(c, 0))
    got = explain_outputs(model, feeds, OUTPUTS)
    _assert_close(got, _reference(decoder, feeds, feeds["steering"]), 2e-2, feeds["attention_mask"])
    # And exactly the fp16-stored weights, widened: the reference with the same rounding agrees to float32 noise.
    _assert_close(got, _reference(_rounded_reference(src), feeds, feeds["steering"]), 1e-5, feeds["attention_mask"])


@pytest.mark.parametrize("case", ["qwen3-qknorm", "gemma2"])
def test_bfloat16_compute_keeps_norms_float32_and_returns_float32_outputs(tmp_path, hf, case):
    src = hf(case)
    model = load_bundle(_bundle(src, tmp_path / "bundle"), CPU, torch.bfloat16)
    for name, p in model.named_parameters():
        assert p.dtype == (torch.float32 if name.endswith("norm.weight") else torch.bfloat16), name
    decoder = load_hf_decoder(src)
    feeds = _feeds(decoder.config, [12, 5], [11, 2], [2])
    got = explain_outputs(model, feeds, OUTPUTS)
    assert all(t.dtype == torch.float32 for t in got.values())
    _assert_close(got, _reference(decoder, feeds), 0.1, feeds["attention_mask"])


# ---------------- the built-in bundle: its metadata, or without it the config from seer.json ----------------

def _without_decoder_metadata(bundle: Path, out: Path) -> Path:
    """A copy of the bundle whose graph lacks the decoder metadata (as seer-llama bundles written before it)."""
    shutil.copytree(bundle, out, ignore=shutil.ignore_patterns("model.pt"))
    hf_fixtures.strip_decoder_metadata(out)
    return out


@pytest.mark.parametrize("metadata", [True, False])
def test_the_default_seer_llama_bundle_reproduces_golden_with_or_without_metadata(metadata, tmp_path, default_golden):
    bundle = DEFAULT if metadata else _without_decoder_metadata(DEFAULT, tmp_path / "old")
    m = _manifest(bundle)
    assert m["architecture"]["type"] == "seer-llama"
    assert (DECODER_METADATA in {p.key for p in onnx.load(str(bundle / "model.onnx")).metadata_props}) == metadata
    model = load_bundle(bundle, CPU, torch.float32)
    a = m["architecture"]
    c = model.config
    assert (c.family, c.num_layers, c.hidden_size, c.num_heads, c.num_kv_heads, c.vocab_size, c.tie_word_embeddings) == \
        ("llama", a["numLayers"], a["hiddenSize"], a["numHeads"], a["numHeads"], a["vocabSize"], True)
    gold = default_golden  # SeerLlama's forward with the graph's weights: the trainer's other PyTorch implementation
    layers = torch.arange(c.num_layers + 1)
    for inp, hs, last in zip(gold["inputs"], gold["hidden_states"], gold["last_logits"]):
        ids = torch.tensor([inp["input_ids"]])
        out = explain_outputs(model, {"input_ids": ids, "attention_mask": torch.tensor([inp["attention_mask"]]),
                                      "positions": torch.tensor([ids.shape[1] - 1]), "token_layers": layers,
                                      "steering": torch.zeros(c.num_layers + 1, c.hidden_size)}, OUTPUTS)
        hs = unpack_float32(hs)  # [L+1, T, H]
        assert (out["token_states"][:, 0] - hs).abs().max() < 1e-4  # the engine's tolerance
        assert (out["states"][:, 0] - hs[:, -1]).abs().max() < 1e-4
        assert (out["mean_states"][:, 0] - hs.mean(1)).abs().max() < 1e-4
        assert (out["last_logits"][0] - unpack_float32(last)).abs().max() < 1e-4


# ---------------- refusals ----------------

@pytest.fixture
def small(tmp_path, hf):
    return _bundle(hf("qwen2.5-bias"), tmp_path / "bundle")


@pytest.fixture
def external(tmp_path, hf):
    return _bundle(hf("qwen2.5-bias"), tmp_path / "external", external_data_over=0)


def _refused(folder: Path, *fragments: str):
    with pytest.raises(SeerInputError) as e:
        load_bundle(folder, CPU, torch.float32)
    message = str(e.value)
    assert all(f in message for f in fragments), message
    return message


def test_an_hf_bundle_whose_graph_has_no_decoder_metadata_asks_for_a_re_import(small):
    load_bundle(small, CPU, torch.float32)  # as written: loads
    _rewrite_graph(small, lambda model: model.ClearField("metadata_props"))
    _refused(small, "model.onnx", DECODER_METADATA, "re-import", "seer import --force", "--provider torch")


def test_decoder_metadata_this_version_cannot_read_is_refused(small):
    def garble(model):
        props = {p.key: p.value for p in model.metadata_props}
        raw = json.loads(props[DECODER_METADATA])
        raw["a_future_field"] = 1
        model.ClearField("metadata_props")
        onnx.helper.set_model_props(model, {DECODER_METADATA: json.dumps(raw)})
    _rewrite_graph(small, garble)
    _refused(small, "not one this version reads", "a_future_field", "rebuild or re-import")


def test_a_model_onnx_that_does_not_match_model_sha256_is_refused(small):
    manifest = _manifest(small)
    manifest["modelSha256"] = "0" * 64
    _write_manifest(small, manifest)
    _refused(small, "does not match seer.json's modelSha256")


def test_files_outside_the_bundle_are_refused(small, external):
    (small.parent / "x.onnx").write_bytes((small / "model.onnx").read_bytes())
    manifest = _manifest(small)
    manifest["files"]["model"] = "../x.onnx"
    _write_manifest(small, manifest)
    _refused(small, "files.model", "'../x.onnx'", "outside the bundle")

    (external.parent / "w.data").write_bytes((external / DATA_FILE).read_bytes())
    manifest = _manifest(external)
    manifest["onnx"]["externalData"]["file"] = "../w.data"
    _write_manifest(external, manifest)
    _refused(external, "onnx.externalData.file", "outside the bundle")


def test_an_external_data_entry_naming_another_file_is_refused(external):
    load_bundle(external, CPU, torch.float32)  # as written: loads
    other = external / "other.bin"
    other.write_bytes((external / DATA_FILE).read_bytes())  # present, and as good as the declared file: still refused

    def relocate(model):
        t = next(t for t in model.graph.initializer if t.name == "model.layers.1.mlp.up_proj.weight")
        next(e for e in t.external_data if e.key == "location").value = other.name
    _rewrite_graph(external, relocate)
    _refused(external, "'model.layers.1.mlp.up_proj.weight'", DATA_FILE, "rebuild or re-import")


def test_an_external_data_file_of_another_size_than_declared_is_refused(external):
    data = external / DATA_FILE
    data.write_bytes(data.read_bytes() + b"\0" * 8)
    size = data.stat().st_size
    _refused(external, DATA_FILE, f"{size} bytes, seer.json says {size - 8}", "re-import")
    # Truncated, with seer.json updated to match: the last tensors no longer fit, and that is refused too.
    data.write_bytes(data.read_bytes()[:size // 2])
    manifest = _manifest(external)
    manifest["onnx"]["externalData"]["bytes"] = size // 2
    _write_manifest(external, manifest)
    _refused(external, "is not a float tensor within", DATA_FILE)


# ---------------- the wire ----------------

def _request(stream, id_, feeds, fetches):
    write_message(stream, {"type": "run", "id": id_, "fetches": fetches}, feeds)


def _frames(data: bytes):
    stream, frames = io.BytesIO(data), []
    while True:
        message = read_message(stream)
        if message is None:
            assert stream.read() == b""  # every byte belongs to a whole frame
            return frames
        frames.append(message)


def test_the_wire_protocol_end_to_end(tmp_path, hf):
    folder = _bundle(hf("llama3.1-sharded-untied"), tmp_path / "bundle")
    model = load_bundle(folder, CPU, torch.float32)
    c = model.config
    a = _feeds(c, [7, 4, 2], [6, 1, 1], [1])
    b = _feeds(c, [5, 3], [4, 2], [], _steering(c), seed=2)  # k = 0 token layers, all four outputs
    requests = io.BytesIO()
    _request(requests, 1, a, ["states", "last_logits", "not_an_output"])
    _request(requests, 2, {**a, "positions": torch.tensor([6, 7, 0])}, OUTPUTS)  # 7 >= seq
    write_message(requests, {"type": "ping", "id": 3})
    _request(requests, 4, b, OUTPUTS)
    _request(requests, 5, {**a, "token_layers": torch.tensor([c.num_layers + 1])}, ["token_states"])
    _request(requests, 6, a, ["mean_states", "token_states"])
    requests.seek(0)
    out = io.BytesIO()
    assert serve(str(folder), "cpu", "float32", requests, out, log=_quiet) == 0  # EOF: done

    frames = _frames(out.getvalue())
    assert [h["type"] for h, _ in frames] == ["ready", "result", "error", "error", "result", "error", "result"]
    ready = frames[0][0]
    assert (ready["numLayers"], ready["hiddenSize"], ready["vocabSize"], ready["device"], ready["dtype"]) == \
        (c.num_layers, c.hidden_size, c.vocab_size, "cpu", "float32")
    assert ready["torchVersion"] == torch.__version__ and ready["tensors"] == [] and frames[0][1] == {}
    assert 0 < ready["anonRssMiB"] <= ready["peakRssMiB"] and all(0 < h["anonRssMiB"] for h, _ in frames if h["type"] == "result")

    def result(k, id_, feeds, fetches):
        header, tensors = frames[k]
        assert header["id"] == id_ and [t["name"] for t in header["tensors"]] == [n for n in OUTPUTS if n in fetches]
        assert all(t["dtype"] == "float32" for t in header["tensors"])
        want = explain_outputs(model, feeds, fetches)
        assert sorted(tensors) == sorted(want) and all(torch.equal(tensors[n], want[n]) for n in want), id_
        return tensors

    result(1, 1, a, ["states", "last_logits"])
    assert frames[2][0]["id"] == 2 and frames[2][0]["kind"] == "input" and "positions [6, 7, 0]" in frames[2][0]["message"]
    assert frames[3][0]["id"] == 3 and "unknown request 'ping'" in frames[3][0]["message"]
    got = result(4, 4, b, OUTPUTS)
    assert got["token_states"].shape == (0, 2, 5, c.hidden_size)
    _assert_close(got, _reference(load_hf_decoder(hf("llama3.1-sharded-untied")), b, b["steering"]), 1e-5, b["attention_mask"])
    assert frames[5][0]["id"] == 5 and frames[5][0]["kind"] == "input" and f"0..{c.num_layers}" in frames[5][0]["message"]
    result(6, 6, a, ["mean_states", "token_states"])
    # No steering input: the unsteered model, as all zeros give.
    unsteered = {n: t for n, t in a.items() if n != "steering"}
    assert all(torch.equal(x, y) for x, y in zip(explain_outputs(model, unsteered, OUTPUTS).values(),
                                                   explain_outputs(model, {**a, "steering": torch.zeros_like(b["steering"])}, OUTPUTS).values()))


def test_a_load_failure_is_one_error_frame_and_exit_code_2(small):
    manifest = _manifest(small)
    manifest["modelSha256"] = "f" * 64
    _write_manifest(small, manifest)
    requests = io.BytesIO()
    _request(requests, 1, {"input_ids": torch.zeros(1, 3, dtype=torch.int64)}, ["states"])  # never read
    requests.seek(0)
    out = io.BytesIO()
    assert serve(str(small), "cpu", "float32", requests, out, log=_quiet) == 2
    frames = _frames(out.getvalue())
    assert len(frames) == 1
    header, tensors = frames[0]
    assert (header["type"], header["id"], header["kind"]) == ("error", None, "input") and tensors == {}
    assert "modelSha256" in header["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_asking_for_cuda_without_it_is_an_input_error(small):
    out = io.BytesIO()
    assert serve(str(small), "cuda", "auto", io.BytesIO(), out, log=_quiet) == 2
    (header, _), = _frames(out.getvalue())
    assert header["type"] == "error" and header["kind"] == "input" and "sees no CUDA device" in header["message"]


# ---------------- the command line ----------------

# The CLI with a "library" that writes to file descriptor 1 and to sys.stdout while the model loads.
NOISY = """import os, sys
import seer_trainer.torch_forward as tf
real = tf.load_bundle
def noisy(*args):
    os.write(1, b"a library writing to fd 1\\n")
    print("a library printing")
    return real(*args)
tf.load_bundle = noisy
from seer_trainer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(*args, stdin: bytes = b"", noisy: bool = False):
    env = {**os.environ, "PYTHONPATH": str(TRAINER)}
    python = [sys.executable, "-c", NOISY] if noisy else [sys.executable, "-m", "seer_trainer"]
    return subprocess.run([*python, "serve-forward", *args], cwd=TRAINER, env=env, input=stdin, capture_output=True, timeout=120)


def test_the_cli_probe_and_a_missing_bundle(capsys):
    probe = _cli("--probe")
    assert probe.returncode == 0, probe.stderr
    info = json.loads(probe.stdout)
    assert info["torch"] == torch.__version__ and info["cuda"] == torch.cuda.is_available()
    assert isinstance(info["devices"], list) and len(info["devices"]) == (torch.cuda.device_count() if info["cuda"] else 0)

    assert main(["serve-forward"]) == 2  # what `python -m seer_trainer` exits with
    out, err = capsys.readouterr()
    assert out == "" and err == "error: serve-forward needs --bundle DIR (or --probe)\n"


def test_the_cli_serves_frames_only_on_stdout(small):
    model = load_bundle(small, CPU, torch.float32)
    c = model.config
    feeds = _feeds(c, [6, 2], [5, 1], [0, 2])
    requests = io.BytesIO()
    _request(requests, 7, feeds, OUTPUTS)
    run = _cli("--bundle", str(small), "--device", "cpu", stdin=requests.getvalue(), noisy=True)
    assert run.returncode == 0, run.stderr
    frames = _frames(run.stdout)  # nothing but frames: the log and any library output went to stderr
    assert [h["type"] for h, _ in frames] == ["ready", "result"] and frames[0][0]["dtype"] == "float32"
    assert b"serve-forward:" in run.stderr
    assert b"a library writing to fd 1" in run.stderr and b"a library printing" in run.stderr
    want = explain_outputs(model, feeds, OUTPUTS)
    assert frames[1][0]["id"] == 7 and all(torch.equal(frames[1][1][n], want[n]) for n in OUTPUTS)


# ---------------- the reductions (what the engine's runtime/reductions.ts computes from the full outputs) ----------------

def test_the_reductions_equal_cosines_and_top_k_computed_from_the_full_outputs(small):
    """token_cosines: each real token's cosine with each prototype of its token layer, 0 at padding (and for a zero
    prototype); readout_cosines: each layer's read-out state with that layer's prototypes; map_cosines: the read-out
    at map_layer with the map's examples; top_ids/top_logits/log_sum_exp from last_logits. All computed from the
    same forward's full outputs."""
    from seer_trainer.torch_explain import COSINE_VECTORS, TOP
    model = load_bundle(small, CPU, torch.float32)
    c = model.config
    g = torch.Generator().manual_seed(5)
    feeds = _feeds(c, [9, 4, 1], [8, 3, 0], [c.num_layers, 0])
    protos = torch.randn(2, 3, c.hidden_size, generator=g)
    protos[1, 2] = 0  # a zero prototype: cosine 0, not NaN
    readout = torch.randn(c.num_layers + 1, 3, c.hidden_size, generator=g)
    examples = torch.randn(7, c.hidden_size, generator=g)
    feeds.update(token_prototypes=protos, readout_prototypes=readout, map_vectors=examples, map_layer=torch.tensor([1]),
                 top_k=torch.tensor([4]))
    out = explain_outputs(model, feeds, ["states", "token_states", "last_logits", *COSINE_VECTORS, *TOP])
    states, mask = out["token_states"], feeds["attention_mask"]
    cosine = torch.nn.functional.cosine_similarity
    want = cosine(states.unsqueeze(3), protos[:, None, None, :, :], dim=-1) * mask[None, :, :, None]
    assert out["token_cosines"].shape == (2, 3, 9, 3)
    assert torch.allclose(out["token_cosines"], want, atol=1e-5)
    assert torch.equal(out["token_cosines"][1, :, :, 2], torch.zeros(3, 9))
    assert torch.equal(out["token_cosines"][:, 1, 4:], torch.zeros(2, 5, 3))  # row 1's padding
    read = out["states"]  # [L+1, B, H]
    assert out["readout_cosines"].shape == (c.num_layers + 1, 3, 3)
    assert torch.allclose(out["readout_cosines"], cosine(read.unsqueeze(2), readout[:, None], dim=-1), atol=1e-5)
    assert out["map_cosines"].shape == (3, 7)
    assert torch.allclose(out["map_cosines"], cosine(read[1].unsqueeze(1), examples[None], dim=-1), atol=1e-5)
    order = out["last_logits"].argsort(dim=-1, descending=True)[:, :4]
    assert out["top_ids"].dtype == torch.int64 and torch.equal(out["top_ids"], order)
    assert torch.equal(out["top_logits"], out["last_logits"].gather(1, order))
    assert torch.allclose(out["log_sum_exp"], torch.logsumexp(out["last_logits"], dim=-1))
    # Fetched alone, a reduction is the same (the read-out states are made for it, not returned).
    alone = explain_outputs(model, feeds, ["readout_cosines", "map_cosines"])
    assert set(alone) == {"readout_cosines", "map_cosines"}
    assert torch.equal(alone["readout_cosines"], out["readout_cosines"]) and torch.equal(alone["map_cosines"], out["map_cosines"])
    # Without their inputs: clear errors.
    del feeds["top_k"]
    with pytest.raises(SeerInputError, match="top_k"):
        explain_outputs(model, feeds, ["top_ids"])
    feeds["token_prototypes"] = protos[:1]
    with pytest.raises(SeerInputError, match=r"token_prototypes \[2, N, "):
        explain_outputs(model, feeds, ["token_cosines"])
    feeds["readout_prototypes"] = readout[1:]
    with pytest.raises(SeerInputError, match=rf"readout_prototypes \[{c.num_layers + 1}, N, {c.hidden_size}\], got"):
        explain_outputs(model, feeds, ["readout_cosines"])
    feeds["map_layer"] = torch.tensor([c.num_layers + 1])
    with pytest.raises(SeerInputError, match="map_layer"):
        explain_outputs(model, feeds, ["map_cosines"])


def test_cosine_vectors_are_sent_once_and_kept_by_key_and_each_result_says_where_its_time_went(small):
    """A request names each of its cosine vectors by its key in `kept` and carries them only the first time; a key
    never sent (or dropped: the last KeptPrototypes.KEEP are kept) is an input error, and the process goes on serving."""
    from seer_trainer.torch_forward import KeptPrototypes
    model = load_bundle(small, CPU, torch.float32)
    c = model.config
    g = torch.Generator().manual_seed(9)
    feeds = {**_feeds(c, [6, 3], [5, 2], [c.num_layers]), "map_layer": torch.tensor([c.num_layers])}
    protos = [torch.randn(1, 3, c.hidden_size, generator=g) for _ in range(KeptPrototypes.KEEP + 1)]
    examples = torch.randn(5, c.hidden_size, generator=g)
    fetches = ["states", "token_cosines", "map_cosines"]

    def run(stream, id_, key, sent, map_sent=False):
        write_message(stream, {"type": "run", "id": id_, "fetches": fetches, "kept": {"token_prototypes": key, "map_vectors": 1000}},
                      {**feeds, **({"token_prototypes": protos[sent]} if sent is not None else {}),
                       **({"map_vectors": examples} if map_sent else {})})
    requests = io.BytesIO()
    run(requests, 1, 10, 0, map_sent=True)  # both sent: keys 10 and 1000
    run(requests, 2, 10, None)  # named only
    run(requests, 3, 11, None)  # never sent
    for k in range(1, KeptPrototypes.KEEP):  # KEEP - 1 more lists (and the map, used by each): key 10 is dropped
        run(requests, 3 + k, 20 + k, k)
    run(requests, 99, 10, None)
    run(requests, 100, 20 + KeptPrototypes.KEEP - 1, None)
    write_message(requests, {"type": "run", "id": 101, "fetches": fetches, "kept": {"steering": 5}}, feeds)
    requests.seek(0)
    out = io.BytesIO()
    assert serve(str(small), "cpu", "float32", requests, out, log=_quiet) == 0
    frames = {h.get("id"): (h, t) for h, t in _frames(out.getvalue())}
    for id_, which in ((1, 0), (2, 0), (100, KeptPrototypes.KEEP - 1)):
        header, got = frames[id_]
        assert header["type"] == "result", header
        want = explain_outputs(model, {**feeds, "token_prototypes": protos[which], "map_vectors": examples}, fetches)
        assert torch.equal(got["token_cosines"], want["token_cosines"]) and torch.equal(got["map_cosines"], want["map_cosines"]), id_
        assert set(header["phasesMs"]) == {"check", "launch", "wait"} and all(v >= 0 for v in header["phasesMs"].values())
        assert sum(header["phasesMs"].values()) <= header["forwardMs"] + 0.01
    for id_, key in ((3, 11), (99, 10)):
        assert frames[id_][0]["kind"] == "input" and f"token_prototypes {key} was never sent" in frames[id_][0]["message"]
    assert frames[101][0]["kind"] == "input" and "steering is not an input kept on the device" in frames[101][0]["message"]


def test_read_state_sees_every_layer_as_made_and_nothing_is_kept(small):
    """HFDecoder.forward(read_state=…), what explain_outputs uses so that a GPU holds one layer's states at a time:
    the callback gets layers 0..L in order, each equal to what hidden_states would hold; hidden_states stays empty."""
    model = load_bundle(small, CPU, torch.float32)
    feeds = _feeds(model.config, [7, 3], [6, 2], [1], _steering(model.config, 2))
    ids, mask, steer = feeds["input_ids"], feeds["attention_mask"], feeds["steering"]
    seen = []
    with torch.inference_mode():
        kept = model(ids, mask, steering=steer)
        streamed = model(ids, mask, steering=steer, read_state=lambda i, h: seen.append((i, h)))
    assert [i for i, _ in seen] == list(range(model.config.num_layers + 1))
    assert all(torch.equal(h, kept.hidden_states[i]) for i, h in seen)
    assert streamed.hidden_states == () and torch.equal(streamed.last_logits, kept.last_logits)


def _left_padded(feeds: dict) -> dict:
    """The same rows padded on the left: the real tokens moved to the end, read-out positions with them."""
    ids, mask = feeds["input_ids"], feeds["attention_mask"]
    shift = ids.shape[1] - mask.sum(1)
    idx = (torch.arange(ids.shape[1]) - shift.view(-1, 1)) % ids.shape[1]
    return {**feeds, "input_ids": ids.gather(1, idx), "attention_mask": mask.gather(1, idx), "positions": feeds["positions"] + shift}


def _use_sdpa(model, on: bool):
    from seer_trainer.hf_model import Attention
    for m in model.modules():
        if isinstance(m, Attention):
            m.use_sdpa = on


@pytest.fixture
def sdpa_calls(monkeypatch):
    """Torch 1.13 here has no F.scaled_dot_product_attention: a stand-in with its signature and semantics
    (softmax(q·kᵀ·scale + mask)·v), recording (q's shape, the mask's shape or None, is_causal, scale) per call."""
    import torch.nn.functional as F
    calls = []

    def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
        # PyTorch's fused kernels refuse mixed dtypes: q, k, v and a float mask all in the compute dtype.
        assert q.dtype == k.dtype == v.dtype and (attn_mask is None or attn_mask.dtype == q.dtype), (q.dtype, k.dtype, v.dtype)
        calls.append((tuple(q.shape), None if attn_mask is None else tuple(attn_mask.shape), is_causal, scale))
        T = q.shape[-2]
        if is_causal:  # PyTorch's meaning: a lower-triangular mask, and no attn_mask beside it
            assert attn_mask is None
            attn_mask = torch.full((T, T), float("-inf")).triu(1)
        return ((q @ k.transpose(-1, -2)).float() * scale + attn_mask.float()).softmax(-1).to(v.dtype) @ v

    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa, raising=False)
    return calls


def _assert_same(got: dict, want: dict, mask=None):
    """Equal to float32 rounding; token_states compared at real tokens where `mask` is given."""
    if mask is not None:
        got, want = _real_tokens(got, mask), _real_tokens(want, mask)
    assert sorted(got) == sorted(want)
    for name in want:
        assert torch.allclose(got[name], want[name], rtol=1e-5, atol=1e-6), name


def test_the_fused_attention_path_gives_the_explicit_path_s_outputs(small, sdpa_calls):
    """On CUDA with PyTorch >= 2.1 load_bundle switches attention to F.scaled_dot_product_attention (hf_model
    Attention.use_sdpa); a stand-in checks the wiring here: the mask as passed (clamped to the dtype), the scale, the
    head layout. Right-padded rows (what the engine sends) pass no mask: PyTorch is told the attention is causal."""
    model = load_bundle(small, CPU, torch.float32)
    c = model.config
    right = _feeds(c, [7, 3], [6, 2], [1])
    left = _left_padded(right)
    explicit = {name: explain_outputs(model, f, OUTPUTS) for name, f in (("right", right), ("left", left))}
    _use_sdpa(model, True)
    fused = explain_outputs(model, right, OUTPUTS)
    assert len(sdpa_calls) == c.num_layers and sdpa_calls[0] == ((2, c.num_heads, 7, c.head_dim), None, True, c.query_scale)
    _assert_same(fused, explicit["right"])  # padding tokens included: both paths run plain causal attention
    # Left padding is not right padding: the padding mask, as before.
    sdpa_calls.clear()
    fused = explain_outputs(model, left, OUTPUTS)
    assert len(sdpa_calls) == c.num_layers and sdpa_calls[0] == ((2, c.num_heads, 7, c.head_dim), (2, 1, 7, 7), False, c.query_scale)
    _assert_same(fused, explicit["left"])
    # bfloat16, what CUDA runs: one dtype reaches the kernel (RoPE's float32 q and k rounded), padded either side.
    model = load_bundle(small, CPU, torch.bfloat16)
    _use_sdpa(model, True)
    sdpa_calls.clear()
    for f in (right, left):
        out = explain_outputs(model, f, ["states", "last_logits"])
        assert all(bool(torch.isfinite(t).all()) for t in out.values())
    assert len(sdpa_calls) == 2 * c.num_layers


@pytest.mark.parametrize("case", ["mistral-window", "gemma2", "qwen2.5-bias"])
@pytest.mark.parametrize("sdpa", [False, True])
def test_right_padded_rows_run_plain_causal_attention_and_real_tokens_match_the_masked_forward(tmp_path, hf, sdpa_calls, case, sdpa):
    """hf_model.HFDecoder.forward(right_padded=True), which explain_outputs passes for right-padded rows: real
    tokens' outputs are the padding-masked forward's, with sliding windows (4 tokens here) and without, on the
    explicit and the fused path (Gemma 2's soft-capped attention stays explicit); left-padded rows give the same
    real tokens through the masked path."""
    model = load_bundle(_bundle(hf(case), tmp_path / "bundle"), CPU, torch.float32)
    _use_sdpa(model, sdpa)
    c = model.config
    feeds = _feeds(c, [13, 6, 1], [12, 2, 0], [0, c.num_layers])
    ids, mask = feeds["input_ids"], feeds["attention_mask"]
    with torch.inference_mode():
        masked = model(ids, mask)
        sdpa_calls.clear()
        causal = model(ids, mask, right_padded=True)
    real = mask.bool()
    for a, b in zip(masked.hidden_states, causal.hidden_states):
        assert _max_rel(b[real], a[real]) < 1e-5
    assert _max_rel(causal.last_logits, masked.last_logits) < 1e-5
    if sdpa and not c.attn_softcap:
        assert all(call[1] == (None if call[2] else (1, 1, 13, 13)) for call in sdpa_calls)  # never a [B, ...] padding mask
        assert any(call[2] for call in sdpa_calls) == (case != "mistral-window")  # every Mistral layer is windowed
    # Through explain_outputs, right- and left-padded: the same real tokens.
    right, left = explain_outputs(model, feeds, OUTPUTS), explain_outputs(model, _left_padded(feeds), OUTPUTS)
    shift = (ids.shape[1] - mask.sum(1)).tolist()
    for b, n in enumerate(mask.sum(1).tolist()):
        assert _max_rel(right["token_states"][:, b, :n], left["token_states"][:, b, shift[b]:]) < 1e-5
    for name in ("states", "mean_states", "last_logits"):
        assert _max_rel(right[name], left[name]) < 1e-5, name


def test_out_of_memory_in_a_forward_is_an_oom_error_frame_and_the_next_request_is_served(small, monkeypatch):
    """A CUDA out-of-memory (what torch raises: RuntimeError "CUDA out of memory…", or torch.cuda.OutOfMemoryError)
    is reported with kind "oom", which the engine answers by running the batch as smaller ones on the same device
    (engine/src/batching.ts); the process goes on serving."""
    import seer_trainer.torch_forward as tf
    model = load_bundle(small, CPU, torch.float32)
    feeds = _feeds(model.config, [6, 3], [5, 2], [])
    real = tf.explain_outputs

    def nearly_full(model, feeds, fetches, graphs=None, phases=None):
        if feeds["input_ids"].shape[0] > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)")
        return real(model, feeds, fetches, graphs, phases)

    monkeypatch.setattr(tf, "explain_outputs", nearly_full)
    requests = io.BytesIO()
    _request(requests, 1, feeds, ["states"])
    one = {**feeds, "input_ids": feeds["input_ids"][:1], "attention_mask": feeds["attention_mask"][:1], "positions": feeds["positions"][:1]}
    _request(requests, 2, one, ["states"])
    requests.seek(0)
    out = io.BytesIO()
    assert serve(str(small), "cpu", "float32", requests, out, log=_quiet) == 0
    frames = _frames(out.getvalue())
    assert [h["type"] for h, _ in frames] == ["ready", "error", "result"]
    assert frames[1][0]["id"] == 1 and frames[1][0]["kind"] == "oom" and "CUDA out of memory" in frames[1][0]["message"]
    assert torch.equal(frames[2][1]["states"], real(model, one, ["states"])["states"])
