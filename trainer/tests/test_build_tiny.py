"""The whole build-default pipeline on the tiny config: both bundles (format 2), REPORT.md, determinism."""
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
    for d, golden in (("a", ["golden.json"]), ("a-base", [])):  # the baseline twin has no golden.json
        names = sorted(p.relative_to(tmp_path / d).as_posix() for p in (tmp_path / d).rglob("*") if p.is_file())
        assert names == ["REPORT.md", "banks/default.json", *golden, "model.onnx", "model.pt", "seer.json", "tokenizer.json"]
        assert ("golden" in json.loads((tmp_path / d / "seer.json").read_text())["files"]) == bool(golden)
    m = json.loads((tmp_path / "a/seer.json").read_text())
    assert m["targetLayers"] == [1] and m["training"]["stage"] == "pretrain + SEER"
    assert m["description"].endswith(f"generated concept corpus ({len(json.loads((tmp_path / 'a/banks/default.json').read_text())['concepts'])} concepts).")
    # format 2: the explain graph, described by the manifest, named by the bank
    assert m["formatVersion"] == 2 and m["onnx"]["outputs"] == ["states", "mean_states", "last_logits", "token_states"]
    assert m["modelSha256"] == sha(tmp_path / "a/model.onnx") == json.loads((tmp_path / "a/banks/default.json").read_text())["modelSha256"]
    config = json.loads(TINY_CONFIG.read_text())
    assert m["promptTemplate"] == config["prompt"]["template"] != "User: {prompt}\nAssistant:"
    assert any(l.startswith("[seer] step 6/6") for l in logs)
    # the logged same/different cosine is measured on held-out prompts
    assert "same" in m["training"]["seer"][-1]["layer1"]
    report = (tmp_path / "a/REPORT.md").read_text()
    assert "| gap (layer 1) |" in report and "perplexity" in report
    # the read-out scale is fitted on held-out prompts (the SEER loss keeps its own) and written up with its ECE
    scale = m["training"]["logitScale"]
    assert scale["training"] == 10.0 and m["logitScale"] == scale["fitted"] and 1 <= scale["fitted"] <= 100
    assert scale["heldOutNll"]["fitted"] <= scale["heldOutNll"]["training"]
    assert "## Calibration of the headline probability (layer 1)" in report and f"10 → **{scale['fitted']:g}**" in report
    bank = json.loads((tmp_path / "a/banks/default.json").read_text())
    assert -1 <= bank["layers"][1]["stats"]["heldOutMaxCosineP05"] <= 1
    # the rows the banks were calibrated on, for the engine's concept maps (scripts/build-model.sh: seer concept-map)
    rows = [json.loads(line) for line in (tmp_path / "ck1/calibration-rows.jsonl").read_text().splitlines()]
    assert len(rows) == bank["source"]["rowsUsed"] and {r["concept"] for r in rows} == set(bank["concepts"])
    # from scratch again (fresh checkpoint dir): byte-identical model
    build_default(TINY_CONFIG, tmp_path / "b", tmp_path / "b-base", tmp_path / "ck2", log=lambda *_: None)
    assert sha(tmp_path / "a/model.onnx") == sha(tmp_path / "b/model.onnx")
    assert sha(tmp_path / "a-base/model.onnx") == sha(tmp_path / "b-base/model.onnx")
    # and rerunning into an existing checkpoint dir resumes instead of retraining
    logs.clear()
    build_default(TINY_CONFIG, tmp_path / "a", tmp_path / "a-base", tmp_path / "ck1", log=logs.append)
    assert any("resumed at step 10" in l for l in logs) and any("resumed at step 6" in l for l in logs)
    # a SEER corpus other than the LM stage's (config pretrain_corpus): the pretrained checkpoint is reused
    pinned = tmp_path / "pinned.json"
    pinned.write_text(json.dumps({**config, "pretrain_corpus": 1}))
    logs.clear()
    build_default(pinned, tmp_path / "c", tmp_path / "c-base", tmp_path / "ck1", log=logs.append, corpus=3)
    assert any("[pretrain] resumed at step 10" in l for l in logs) and not any("[seer] resumed" in l for l in logs)
    assert sha(tmp_path / "c-base/model.onnx") == sha(tmp_path / "a-base/model.onnx") != sha(tmp_path / "c/model.onnx")
    assert "concept corpus v3 (the LM stage read corpus v1's dialogues)" in (tmp_path / "c/REPORT.md").read_text()
