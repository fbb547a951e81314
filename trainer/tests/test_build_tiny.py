"""The whole build-default pipeline on the tiny config: both bundles, REPORT.md, determinism."""
import hashlib
import json

import pytest

from conftest import REPO
from seer_trainer.build import build_default
from seer_trainer.general_text import WORDNET_DIR

pytestmark = pytest.mark.skipif(not (WORDNET_DIR / "data.noun").exists(), reason="wordnet-base not installed")
TINY_CONFIG = REPO / "trainer/configs/tiny.json"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_build_is_complete_and_deterministic(tmp_path):
    logs = []
    build_default(TINY_CONFIG, tmp_path / "a", tmp_path / "a-base", tmp_path / "ck1", log=logs.append)
    for d in ("a", "a-base"):
        names = sorted(p.relative_to(tmp_path / d).as_posix() for p in (tmp_path / d).rglob("*") if p.is_file())
        assert names == ["REPORT.md", "banks/default.json", "golden.json", "model.onnx", "model.pt", "seer.json", "tokenizer.json"]
    m = json.loads((tmp_path / "a/seer.json").read_text())
    assert m["targetLayers"] == [1] and m["training"]["stage"] == "pretrain + SEER"
    config = json.loads(TINY_CONFIG.read_text())
    assert m["promptTemplate"] == config["prompt"]["template"] != "User: {prompt}\nAssistant:"
    assert any(l.startswith("[seer] step 6/6") for l in logs)
    # the logged same/different cosine is measured on held-out prompts
    assert "same" in m["training"]["seer"][-1]["layer1"]
    report = (tmp_path / "a/REPORT.md").read_text()
    assert "| gap (layer 1) |" in report and "perplexity" in report
    # from scratch again (fresh checkpoint dir): byte-identical model
    build_default(TINY_CONFIG, tmp_path / "b", tmp_path / "b-base", tmp_path / "ck2", log=lambda *_: None)
    assert sha(tmp_path / "a/model.onnx") == sha(tmp_path / "b/model.onnx")
    assert sha(tmp_path / "a-base/model.onnx") == sha(tmp_path / "b-base/model.onnx")
    # and rerunning into an existing checkpoint dir resumes instead of retraining
    logs.clear()
    build_default(TINY_CONFIG, tmp_path / "a", tmp_path / "a-base", tmp_path / "ck1", log=logs.append)
    assert any("resumed at step 10" in l for l in logs) and any("resumed at step 6" in l for l in logs)
