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
    for d in ("a", "a-base"):  # no golden.json: the tests compute the PyTorch reference from model.onnx (golden.py)
        names = sorted(p.relative_to(tmp_path / d).as_posix() for p in (tmp_path / d).rglob("*") if p.is_file())
        assert names == ["REPORT.md", "banks/default.json", "model.onnx", "model.pt", "seer.json", "tokenizer.json"]
        assert json.loads((tmp_path / d / "seer.json").read_text())["files"] == {"model": "model.onnx", "tokenizer": "tokenizer.json", "weights": "model.pt"}
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
    # the dialogue ability the general-text perplexity does not see: the responses to the held-out test prompts
    assert "| perplexity, responses to the held-out test prompts |" in report
    assert m["training"]["heldOutResponsePerplexity"] > 1
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


def test_a_fresh_checkpoint_folder_takes_the_pretrain_stage_from_the_baseline_twin(tmp_path):
    """--pretrained-from: a new checkout (no trainer/.ckpt) or a CPU-only machine takes the LM stage from the
    committed baseline twin instead of pretraining, and builds the very default that the pretraining build did."""
    import shutil
    import torch
    from seer_trainer.errors import SeerInputError
    config = json.loads(TINY_CONFIG.read_text())
    build_default(TINY_CONFIG, tmp_path / "a", tmp_path / "a-base", tmp_path / "ck1", log=lambda *_: None)
    fp = json.loads((tmp_path / "a-base/seer.json").read_text())["training"]["fingerprints"]["pretrain"]
    trained = torch.load(tmp_path / f"ck1/pretrain-{fp}.pt")
    logs = []
    build_default(TINY_CONFIG, tmp_path / "b", tmp_path / "b-base", tmp_path / "ck2", log=logs.append,
                  pretrained_from=str(tmp_path / "a-base"))
    assert any("[pretrain] the finished stage comes from" in l for l in logs)
    assert not any(l.startswith("[pretrain] step") for l in logs)
    seeded = torch.load(tmp_path / f"ck2/pretrain-{fp}.pt")
    assert seeded["step"] == trained["step"] == config["pretrain"]["steps"]
    assert seeded["history"] == trained["history"][-3:]  # what the bundle records, and all REPORT.md reads
    assert seeded["model"].keys() == trained["model"].keys()
    assert all(torch.equal(seeded["model"][k], trained["model"][k]) for k in trained["model"])
    assert sha(tmp_path / "b/model.onnx") == sha(tmp_path / "a/model.onnx")
    assert sha(tmp_path / "b-base/model.onnx") == sha(tmp_path / "a-base/model.onnx")
    # float16 stage results: a float32 twin is not one (weights_dtype is outside the fingerprint, so this check says it)
    half = tmp_path / "half.json"
    half.write_text(json.dumps({**config, "weights_dtype": "float16"}))
    with pytest.raises(SeerInputError, match="not rounded to torch.float16"):
        build_default(half, tmp_path / "h", tmp_path / "h-base", tmp_path / "ck3", pretrained_from=str(tmp_path / "a-base"))
    with pytest.raises(SeerInputError, match="nowhere/seer.json not found: --pretrained-from must be a baseline bundle"):
        build_default(half, tmp_path / "h", tmp_path / "h-base", tmp_path / "ck3", pretrained_from=str(tmp_path / "nowhere"))
    # a twin of other pretrain settings: refused when named; under auto, pretrained from scratch, saying why
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**config, "pretrain": {**config["pretrain"], "lr": 2 * config["pretrain"]["lr"]}}))
    with pytest.raises(SeerInputError, match="other settings or data"):
        build_default(other, tmp_path / "c", tmp_path / "c-base", tmp_path / "ck4", pretrained_from=str(tmp_path / "a-base"))
    shutil.copytree(tmp_path / "a-base", tmp_path / "c-base")
    logs.clear()
    build_default(other, tmp_path / "c", tmp_path / "c-base", tmp_path / "ck4", log=logs.append, pretrained_from="auto")
    assert any(l.startswith(f"[pretrain] not reusing {tmp_path / 'c-base'}: it was pretrained with other settings or data") for l in logs)
    assert any(l.startswith("[pretrain] step") for l in logs)
    assert sha(tmp_path / "c-base/model.onnx") != sha(tmp_path / "a-base/model.onnx")


def test_a_mean_pooled_build_is_trained_calibrated_and_read_at_the_mean(tmp_path):
    """seer.pooling "mean": the bundle says so (seer.json representation, the bank's pooling), and its bank's
    prototypes are those of the mean-pooled states of the calibration rows, not of their last tokens."""
    import torch
    from seer_trainer.calibrate import bank_prototypes, prototypes, representations
    from seer_trainer.calibrate_cli import load_bundle_model
    config = json.loads(TINY_CONFIG.read_text())
    path = tmp_path / "mean.json"
    path.write_text(json.dumps({**config, "seer": {**config["seer"], "pooling": "mean"}}))
    build_default(path, tmp_path / "m", tmp_path / "m-base", tmp_path / "ck", log=lambda *_: None)
    for d in ("m", "m-base"):
        m = json.loads((tmp_path / d / "seer.json").read_text())
        bank = json.loads((tmp_path / d / "banks/default.json").read_text())
        assert m["representation"] == bank["pooling"] == "mean"
    rows = [json.loads(line) for line in (tmp_path / "ck/calibration-rows.jsonl").read_text().splitlines()]
    bank = json.loads((tmp_path / "m/banks/default.json").read_text())
    _, model, tok = load_bundle_model(tmp_path / "m")
    labels = torch.tensor([bank["concepts"].index(r["concept"]) for r in rows])
    p = config["prompt"]
    for how, same in (("mean", True), ("last", False)):
        reps, _ = representations(model, tok, [r["prompt"] for r in rows], p["template"], True, p["max_tokens"], how)
        protos = prototypes(reps[1], labels, len(bank["concepts"]))
        assert torch.allclose(protos, bank_prototypes(bank, 1).double(), atol=1e-4) == same


def test_dialogue_retain_windows_change_the_seer_stage_only(tmp_path):
    """seer.retain_dialogue_share: the SEER stage trains anew (its fingerprint changes), the data and pretrain stages
    are reused, and seer.json and REPORT.md record the setting; at its default it is recorded nowhere."""
    import re
    config = json.loads(TINY_CONFIG.read_text())
    plain, dialogue = tmp_path / "plain.json", tmp_path / "dialogue.json"
    plain.write_text(json.dumps(config))
    dialogue.write_text(json.dumps({**config, "seer": {**config["seer"], "retain_dialogue_share": 0.5, "retain_dialogue_l2": False}}))
    logs = {}
    for name, path, stop in (("plain", plain, "data"), ("dialogue", dialogue, None)):
        logs[name] = []
        build_default(path, tmp_path / name, tmp_path / f"{name}-base", tmp_path / "ck", log=logs[name].append, stop_after=stop)
    fps = {k: re.search(r"fingerprints: data (\w+), pretrain (\w+), seer (\w+)", "\n".join(v)).groups() for k, v in logs.items()}
    assert fps["plain"][:2] == fps["dialogue"][:2] and fps["plain"][2] != fps["dialogue"][2]
    assert any(l.startswith("[build] data: tokenizer and token streams from") for l in logs["dialogue"])
    seer = json.loads((tmp_path / "dialogue/seer.json").read_text())["training"]["config"]["seer"]
    assert (seer["retain_dialogue_share"], seer["retain_dialogue_l2"]) == (0.5, False)
    assert "in 50% of the windows, dialogues, KL only" in (tmp_path / "dialogue/REPORT.md").read_text()
    from seer_trainer.config import config_dict, load_config
    assert not {"retain_dialogue_share", "retain_dialogue_l2"} & set(config_dict(load_config(plain))["seer"])


def test_seer_seed_trains_the_seer_stage_again_from_the_same_lm_stage(tmp_path):
    """seer.seed: the data and pretrain stages are reused (their fingerprints do not change), the SEER stage trains
    anew to other weights, and the baseline twin is byte-identical."""
    import re
    config = json.loads(TINY_CONFIG.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**config, "seer": {**config["seer"], "seed": config["seed"] + 1}}))
    logs = {}
    for name, path in (("plain", TINY_CONFIG), ("other", other)):
        logs[name] = []
        build_default(path, tmp_path / name, tmp_path / f"{name}-base", tmp_path / "ck", log=logs[name].append)
    fps = {k: re.search(r"fingerprints: data (\w+), pretrain (\w+), seer (\w+)", "\n".join(v)).groups() for k, v in logs.items()}
    assert fps["plain"][:2] == fps["other"][:2] and fps["plain"][2] != fps["other"][2]
    assert any(l.startswith(f"[pretrain] resumed at step {config['pretrain']['steps']} from") for l in logs["other"])
    digest = lambda d: hashlib.sha256((tmp_path / d / "model.onnx").read_bytes()).hexdigest()
    assert digest("plain-base") == digest("other-base") and digest("plain") != digest("other")
    assert json.loads((tmp_path / "other/seer.json").read_text())["training"]["config"]["seer"]["seed"] == config["seed"] + 1


def test_response_perplexity_scores_the_response_tokens_only(tmp_path):
    """report.response_perplexity: exp(mean NLL) of each response's tokens after its templated prompt, batched and
    padded, equals the same computed one example at a time from the model's own logits."""
    import math
    import torch
    from seer_trainer import concepts as concept_data
    from seer_trainer.batching import encode_prompt
    from seer_trainer.calibrate_cli import load_bundle_model
    from seer_trainer.report import response_perplexity
    build_default(TINY_CONFIG, tmp_path / "a", tmp_path / "a-base", tmp_path / "ck", log=lambda *_: None)
    manifest, model, tok = load_bundle_model(tmp_path / "a")
    examples = concept_data.generate(1234, version=1)[1][:5]
    total, count = 0.0, 0
    with torch.no_grad():
        for e in examples:
            prompt = encode_prompt(tok, e.prompt, manifest["promptTemplate"], True, 96)[0]
            ids = (prompt + tok.encode(f" {e.response}"))[:model.config.max_context]
            logp = torch.log_softmax(model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long)).logits[0].float(), -1)
            for t in range(len(prompt), len(ids)):
                total -= logp[t - 1, ids[t]].item()
                count += 1
    got = response_perplexity(model, tok, examples, manifest["promptTemplate"], True, 96, batch_size=2)
    assert math.isclose(got, math.exp(total / count), rel_tol=1e-5)
