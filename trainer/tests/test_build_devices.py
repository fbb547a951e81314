"""build-default's device choice, float16 weights and the split run behind scripts/gpu-build-model.sh (train
with --stop-after training, export later from the same checkpoint folder), on the tiny config."""
import json

import pytest
import torch

from conftest import REPO
from seer_trainer.build import build_default, resolve_device
from seer_trainer.cli import main
from seer_trainer.config import ModelConfig
from seer_trainer.errors import SeerInputError
from seer_trainer.golden import golden_of_bundle, unpack_float32
from seer_trainer.general_text import WORDNET_DIR, read_wordnet, write_wordnet_subset
from seer_trainer.model import SeerLlama

needs_wordnet = pytest.mark.skipif(not (WORDNET_DIR / "data.noun").exists(), reason="wordnet-base not installed")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(SeerInputError, match="no CUDA GPU"):
        resolve_device("cuda")
    code = main(["build-default", "--config", str(REPO / "trainer/configs/tiny.json"), "--device", "cuda",
                 "--out", str(tmp_path / "a"), "--baseline-out", str(tmp_path / "b"), "--ckpt-dir", str(tmp_path / "ck")])
    assert code == 2 and "--device cpu" in capsys.readouterr().err and not (tmp_path / "a").exists()


@needs_wordnet
def test_wordnet_subset_reads_the_same_text(tmp_path):
    write_wordnet_subset(tmp_path / "wn")
    assert read_wordnet(400, tmp_path / "wn") == read_wordnet(400)
    assert sum(f.stat().st_size for f in (tmp_path / "wn").iterdir()) < 0.7 * sum(
        (WORDNET_DIR / f.name).stat().st_size for f in (tmp_path / "wn").iterdir())


@needs_wordnet
def test_float16_build_trained_then_exported_from_its_checkpoints(tmp_path):
    config = json.loads((REPO / "trainer/configs/tiny.json").read_text())
    config.update(weights_dtype="float16", device="cpu")
    cfg_path = tmp_path / "fp16.json"
    cfg_path.write_text(json.dumps(config))
    ck, out, base = tmp_path / "ck", tmp_path / "default", tmp_path / "baseline"
    logs = []
    assert build_default(cfg_path, out, base, ck, log=logs.append, stop_after="training") is None
    assert not out.exists() and any("stopped after training" in l for l in logs)
    finished = {p.name.split("-")[0]: torch.load(p, map_location="cpu") for p in ck.glob("*.pt")}
    assert set(finished) == {"data", "pretrain", "seer"}
    for stage in ("pretrain", "seer"):  # a finished stage keeps its float16 weights and no optimizer state
        assert "opt" not in finished[stage] and finished[stage]["history"][-1]["device"] == "cpu"
        assert {t.dtype for t in finished[stage]["model"].values()} == {torch.float16}

    logs.clear()
    build_default(cfg_path, out, base, ck, log=logs.append)
    # the export resumed both finished stages (nothing retrained) and read the cached data stage
    assert any("resumed at step 10" in l for l in logs) and any("resumed at step 6" in l for l in logs)
    assert any(l.startswith("[build] data: tokenizer and token streams from") for l in logs)
    manifest = json.loads((out / "seer.json").read_text())
    assert manifest["onnx"]["weightsDtype"] == "float16"
    weights = torch.load(out / "model.pt", map_location="cpu")
    assert {t.dtype for t in weights.values()} == {torch.float16}
    # the baseline twin is the finished pretraining stage, bit for bit
    base_weights = torch.load(base / "model.pt", map_location="cpu")
    assert base_weights.keys() == finished["pretrain"]["model"].keys()
    assert all(torch.equal(base_weights[k], v) for k, v in finished["pretrain"]["model"].items())
    # model.onnx holds exactly the stored (rounded) weights: its PyTorch reference is what model.pt computes
    model = SeerLlama(ModelConfig(**config["model"]))
    model.load_state_dict(weights)
    golden = golden_of_bundle(out)
    ids = torch.tensor([golden["inputs"][0]["input_ids"]])
    with torch.no_grad():
        logits = model(ids, torch.ones_like(ids)).logits[0, -1]
    assert torch.allclose(logits, unpack_float32(golden["last_logits"][0]), atol=1e-5)
    assert "pretrain on cpu in" in (out / "REPORT.md").read_text()
