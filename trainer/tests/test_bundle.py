"""The committed bundles (models/default, models/baseline) against docs/bundle-format.md (format 2) and each other:
the explain graph run by onnxruntime-node reproduces the PyTorch reference (golden.py: SeerLlama with the graph's
weights), whose weights are exactly the build's model.pt where one was written."""
import hashlib
import json

import onnx
import pytest
import torch

from conftest import REPO
from seer_trainer.bundle_model import model_config, seer_llama_weights
from seer_trainer.calibrate import bank_prototypes
from seer_trainer.golden import unpack_float32
from seer_trainer.onnx_graph import INPUTS, OUTPUTS
from seer_trainer.tokenization_cases import tokenization_cases
from seer_trainer.tokenizer import ByteLevelBPE
from test_onnx_graph import _run, needs_ort
from test_tokenizer import hf_encode

BUNDLES = [REPO / "models/default", REPO / "models/baseline"]


def load(bundle, name):
    return json.loads((bundle / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.name)
def test_manifest_bank_and_onnx_agree(bundle):
    m = load(bundle, "seer.json")
    assert m["format"] == "seer-bundle" and m["formatVersion"] == 2
    a = m["architecture"]
    assert m["modelSha256"] == hashlib.sha256((bundle / "model.onnx").read_bytes()).hexdigest()
    assert m["promptTemplate"] == "User: {prompt}\nAssistant:" and m["addBos"]
    # read at the pooling it was trained at (the default config's seer.pooling), and so is its bank calibrated
    pooling = json.loads((REPO / "trainer/configs/default.json").read_text())["seer"].get("pooling", "last")
    assert m["representation"] == pooling == load(bundle, m["banks"][m["defaultBank"]])["pooling"]
    assert len(m["concepts"]) == 10 and set(m["safeConcepts"]) == {"cooking", "programming", "science", "travel"}
    assert all(1 <= l <= a["numLayers"] for l in m["targetLayers"])
    bank = load(bundle, m["banks"][m["defaultBank"]])
    assert bank["modelSha256"] == m["modelSha256"] and bank["concepts"] == m["concepts"]
    assert len(bank["layers"]) == a["numLayers"] + 1
    assert bank["formatVersion"] == 2  # prototypes packed
    for l in range(len(bank["layers"])):
        protos = bank_prototypes(bank, l)
        assert protos.shape == (len(m["concepts"]), a["hiddenSize"])
        assert torch.allclose(protos.norm(dim=1), torch.ones(len(m["concepts"])), atol=1e-5)
    g = onnx.load(str(bundle / "model.onnx"))
    assert [i.name for i in g.graph.input] == m["onnx"]["inputs"] == INPUTS
    assert [o.name for o in g.graph.output] == m["onnx"]["outputs"] == OUTPUTS
    assert g.opset_import[0].version == m["onnx"]["opset"]
    # small enough for one file: float16 weights inside model.onnx (the build rounds them), no external data
    assert m["onnx"]["weightsDtype"] == "float16" and "externalData" not in m["onnx"]
    assert (bundle / "model.onnx").stat().st_size < 50e6 and not (bundle / "model.onnx.data").exists()


GOLDEN = REPO / "models/default"  # the baseline twin's graph is written by the same code


@pytest.mark.skipif(not (GOLDEN / "model.pt").exists(), reason="model.pt (the PyTorch twin) is not committed: "
                    "`npm run build:model` writes it")
def test_the_graph_holds_exactly_the_weights_of_model_pt():
    m = load(GOLDEN, "seer.json")
    pt = torch.load(GOLDEN / "model.pt", map_location="cpu", weights_only=True)
    onnx_weights = seer_llama_weights(GOLDEN, model_config(m))
    assert pt.keys() == onnx_weights.keys()
    assert all(torch.equal(pt[k].float(), v) for k, v in onnx_weights.items())


@needs_ort
def test_the_explain_graph_reproduces_golden(tmp_path, default_golden):
    m, gold = load(GOLDEN, "seer.json"), default_golden
    model = tmp_path / "bundle" / "model.onnx"  # _run writes its feeds beside the model's folder: not in the tree
    model.parent.mkdir()
    model.symlink_to(GOLDEN / "model.onnx")
    layers = list(range(m["architecture"]["numLayers"] + 1))
    feeds = [{"input_ids": [inp["input_ids"]], "attention_mask": [inp["attention_mask"]], "positions": [len(inp["input_ids"]) - 1],
              "token_layers": layers, "steering": [[0.0] * m["architecture"]["hiddenSize"] for _ in layers]}
             for inp in gold["inputs"]]
    for out, hs, last in zip(_run(model, feeds), gold["hidden_states"], gold["last_logits"]):
        hs = unpack_float32(hs)  # [L+1, T, H]
        assert (out["token_states"][:, 0] - hs).abs().max() < 1e-4  # the engine's tolerance
        assert (out["states"][:, 0] - hs[:, -1]).abs().max() < 1e-4
        assert (out["last_logits"][0] - unpack_float32(last)).abs().max() < 1e-4


def test_the_tokenization_cases_match_python_and_huggingface():
    cases = tokenization_cases()
    assert len(cases) >= 200 and any("😀" in c for c in cases)
    tok = ByteLevelBPE.load(BUNDLES[0] / "tokenizer.json")
    assert [tok.encode(c) for c in cases] == hf_encode(BUNDLES[0] / "tokenizer.json", cases)


def test_seer_beats_its_baseline_twin_at_the_target_layer():
    m = load(BUNDLES[0], "seer.json")
    seer, base = load(BUNDLES[0], "banks/default.json"), load(BUNDLES[1], "banks/default.json")
    for l in m["targetLayers"]:
        s, b = seer["layers"][l]["stats"], base["layers"][l]["stats"]
        assert s["gap"] > b["gap"] + 0.05
        assert s["heldOutAccuracy"] > b["heldOutAccuracy"]
