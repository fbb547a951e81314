"""`hf-train`: SEER training of a Hugging Face checkpoint on the user's data, without transformers, on a tiny
random Llama 3.1 (hf_fixtures) with the Llama-3-style tokenizer of test_hf_import, a few CPU steps."""
import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx", reason="the bundle's graph is written with the onnx package")
pytest.importorskip("jinja2", reason="chat templates are rendered with jinja2 (Debian: python3-jinja2)")

import hf_fixtures  # noqa: E402
from test_hf_import import HAVE_ENGINE, LLAMA3_RENDERED, VOCAB, _seer, write_llama3_tokenizer  # noqa: E402
from seer_trainer.calibrate import held_out_mask  # noqa: E402
from seer_trainer.cli import main  # noqa: E402
from seer_trainer.datasets import load_labelled  # noqa: E402
from seer_trainer.engine_tokenizer import encode  # noqa: E402
from seer_trainer.hf_import import import_checkpoint  # noqa: E402
from seer_trainer.hf_model import load_hf_decoder  # noqa: E402
from seer_trainer.lora import LoRALinear, adapters_disabled, apply_lora, merged_tensors  # noqa: E402
from seer_trainer.losses import same_different_cosine  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint, write_safetensors  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HAVE_NODE = shutil.which("node") is not None and (REPO / "node_modules" / "esbuild").exists() \
    and (REPO / "node_modules" / "@huggingface" / "tokenizers").exists()
needs_node = pytest.mark.skipif(not HAVE_NODE, reason="hf-train tokenizes with the engine: needs node and node_modules (npm ci)")
needs_engine = pytest.mark.skipif(not HAVE_ENGINE, reason="needs node, node_modules and dist/ (npm ci && npm run build)")

WORDS = {"cooking": ["the cake", "a pie", "hot tea", "the bread", "sweet rice", "eat the egg"],
         "people": ["a user", "the assistant", "her sister", "the teacher", "his father", "our team"],
         "snakes": ["sss ass", "the asp", "a python", "as she hisses", "the cobra", "a viper"]}
# A few steps at a high learning rate, so that a change shows within seconds on a 2-layer model.
CONFIG = {"checkpoint_every": 4, "prompt": {"max_tokens": 64},
          "seer": {"steps": 40, "pairs_per_batch": 3, "lr": 0.005, "warmup": 2, "general_batch_size": 2, "general_seq_len": 16,
                   "log_every": 10, "lora_dropout": 0.0}}


def _checkpoint(tmp_path, case="llama3.1-sharded-untied"):
    fx = hf_fixtures.build(tmp_path / "hf-llama", case, vocab_size=VOCAB)
    write_llama3_tokenizer(fx.folder)
    return fx.folder


def _inputs(tmp_path, rows=None):
    data = tmp_path / "data.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["prompt", "detail", "concept"])
        for concept, words in WORDS.items():
            for i, word in enumerate(words * 2):
                w.writerow([f"{word} {'is' if i % 2 else 'was'} here {i}", "ok" if i % 3 else "", concept])
    general = tmp_path / "general.txt"
    general.write_text("\n".join(f"the user said {i} things about the weather and the assistant answered" for i in range(60)))
    config = tmp_path / "hf-test.json"
    config.write_text(json.dumps(CONFIG))
    return data, general, config


def _train(tmp_path, src, out, *extra):
    data, general, config = _inputs(tmp_path)
    return main(["hf-train", "--hf-model", str(src), "--data", str(data), "--text", "prompt", "--text", "detail",
                 "--label", "concept", "--general", str(general), "--config", str(config), "--out", str(out),
                 "--ckpt-dir", str(tmp_path / "ckpt"), *extra])


# ---------------- training end to end ----------------

@needs_node
@pytest.mark.parametrize("loss,position", [("info-nce", "last"), ("nt-xent", "request-end")])
def test_training_separates_concepts_and_writes_an_importable_bundle(tmp_path, loss, position):
    src, out = _checkpoint(tmp_path), tmp_path / "bundle"
    assert _train(tmp_path, src, out, "--loss", loss, "--position", position) == 0
    m = json.loads((out / "seer.json").read_text())
    summary = m["training"]["seer"]
    assert (m["targetLayers"], m["representation"], m["promptTemplate"]) == ([2], position, LLAMA3_RENDERED)
    assert (summary["loss"], summary["position"], summary["concepts"]) == (loss, position, list(WORDS))
    assert summary["rows"]["heldOut"] > 0 and summary["rows"]["train"] + summary["rows"]["heldOut"] == 36
    assert summary["lora"] == {"rank": 16, "alpha": 16.0, "dropout": 0.0, "blocks": [0, 1],
                               "modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    # Held-out rows, never trained on: at the target layer same-concept states move together, and apart
    # from the other concepts' (the gap grows); layer 0 (the embeddings) has no adapter and cannot move.
    layers = {c["layer"]: c for c in summary["layerCosine"]}
    assert sorted(layers) == [0, 1, 2]
    target = layers[2]
    assert target["after"]["same"] > target["before"]["same"]
    assert target["after"]["gap"] > target["before"]["gap"] + 0.02
    assert layers[0]["before"] == layers[0]["after"]
    contrastive = [h["contrastive"] for h in summary["history"]]
    assert contrastive[-1] < contrastive[0]
    # The same bundle format as `import` writes for the original (so `seer eval --compare-bundle` compares them).
    original = import_checkpoint(src, tmp_path / "original", log=lambda *_: None)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "original").iterdir())
    assert sorted(m) == sorted(original) and m["architecture"] == original["architecture"] and m["banks"] == {}
    assert {k: v for k, v in m["onnx"].items() if k != "externalData"} == {k: v for k, v in original["onnx"].items() if k != "externalData"}
    assert m["modelSha256"] != original["modelSha256"]  # the trained weights, not the original's
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


@needs_node
@pytest.mark.parametrize("case", ["gemma2", "qwen3-qknorm", "llama3.2-bf16-tied"])
def test_other_families_train_and_export_under_their_own_tensor_names(tmp_path, case):
    # Gemma 2's sandwich norms and soft-caps, Qwen3's q/k norms, tied heads and bf16 storage: the merged
    # checkpoint must hold exactly the tensors the import expects.
    src, out = _checkpoint(tmp_path, case), tmp_path / "bundle"
    assert _train(tmp_path, src, out, "--steps", "4") == 0
    m = json.loads((out / "seer.json").read_text())
    assert m["architecture"]["type"] == f"hf-{hf_fixtures.CASES[case][0]['model_type']}"
    target = m["training"]["seer"]["layerCosine"][2]
    assert target["after"] != target["before"]  # the adapters trained


@needs_node
def test_an_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch):
    src = _checkpoint(tmp_path)
    assert _train(tmp_path, src, tmp_path / "whole", "--ckpt-dir", str(tmp_path / "ckpt-whole")) == 0
    whole = json.loads((tmp_path / "whole" / "seer.json").read_text())["training"]["seer"]

    import seer_trainer.hf as hf
    real, calls = hf.seer_objective, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 7:  # step 7 of 40: checkpoints were written after steps 4
            raise KeyboardInterrupt
        return real(*args)
    monkeypatch.setattr(hf, "seer_objective", interrupted)
    assert _train(tmp_path, src, tmp_path / "resumed") == 130
    assert not (tmp_path / "resumed").exists()
    monkeypatch.setattr(hf, "seer_objective", real)
    assert _train(tmp_path, src, tmp_path / "resumed") == 0
    resumed = json.loads((tmp_path / "resumed" / "seer.json").read_text())["training"]["seer"]
    assert resumed["history"] == whole["history"] and resumed["layerCosine"] == whole["layerCosine"]


@needs_node
def test_two_processes_under_torchrun_train_one_model(tmp_path):
    src, out = _checkpoint(tmp_path), tmp_path / "bundle"
    data, general, config = _inputs(tmp_path)
    # --redirects 1 --tee 1: Debian's torchrun (torch 1.13) fails on Python 3.12 with its default of 0 (an IntFlag change)
    command = ["/usr/bin/python3", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "--redirects", "1", "--tee", "1", "--log_dir", str(tmp_path / "logs"),
               "-m", "seer_trainer", "hf-train", "--hf-model", str(src), "--data", str(data), "--text", "prompt",
               "--label", "concept", "--general", str(general), "--config", str(config), "--out", str(out),
               "--ckpt-dir", str(tmp_path / "ckpt"), "--steps", "16"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "trainer"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("step 16/16") == 1  # rank 0 alone logs
    summary = json.loads((out / "seer.json").read_text())["training"]["seer"]
    assert summary["processes"] == 2
    target = summary["layerCosine"][2]
    assert target["after"]["gap"] > target["before"]["gap"]
    assert len(list((tmp_path / "ckpt").iterdir())) == 1  # rank 0 alone checkpoints (every rank resumes from it)


# ---------------- the model: adapters, merging, checkpointing ----------------

def _adapted(src, seed=0):
    model = load_hf_decoder(src)
    torch.manual_seed(seed)
    apply_lora(model, 4, 8, 0.0, include=lambda name: int(name.split(".")[2]) < 1)
    for m in model.modules():
        if isinstance(m, LoRALinear):
            torch.nn.init.normal_(m.lora_B, std=0.1)  # as after training
    return model


def _batch():
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(0, VOCAB, (2, 9), generator=gen)
    return ids, torch.tensor([[1] * 9, [1] * 6 + [0] * 3])


def test_adapters_only_below_the_target_and_switched_off_is_the_original_exactly(tmp_path):
    src = _checkpoint(tmp_path)
    model, original = _adapted(src), load_hf_decoder(src)
    wrapped = sorted(n for n, m in model.named_modules() if isinstance(m, LoRALinear))
    assert len(wrapped) == 7 and all(n.startswith("model.layers.0.") for n in wrapped)
    assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
    ids, mask = _batch()
    ref = original(ids, mask)
    with adapters_disabled(model):
        off = model(ids, mask)
    on = model(ids, mask)
    assert all(torch.equal(a, b) for a, b in zip(off.hidden_states, ref.hidden_states))
    assert torch.equal(off.last_logits, ref.last_logits)
    assert not torch.allclose(on.hidden_states[1], ref.hidden_states[1])  # the adapters do act
    assert torch.equal(on.hidden_states[0], ref.hidden_states[0])


def test_merged_checkpoint_written_as_safetensors_is_the_adapted_model(tmp_path):
    src = _checkpoint(tmp_path)
    model = _adapted(src)
    merged = tmp_path / "merged"
    merged.mkdir()
    write_safetensors(merged / "model.safetensors", lambda: merged_tensors(model), {"format": "pt"})
    shutil.copyfile(src / "config.json", merged / "config.json")
    with Checkpoint(merged) as ckpt, Checkpoint(src) as original:
        assert sorted(ckpt.names()) == sorted(original.names())  # Hugging Face names, no lora_ or .base
    ids, mask = _batch()
    with torch.no_grad():
        want, got = model(ids, mask), load_hf_decoder(merged)(ids, mask)
    for a, b in zip(want.hidden_states, got.hidden_states):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_the_writer_writes_the_bytes_of_the_independent_fixture_writer(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32), "b": rng.standard_normal(7).astype(np.float32)}
    hf_fixtures.write_safetensors(tmp_path / "fixture.safetensors", tensors, "F32", metadata={"format": "pt"})
    write_safetensors(tmp_path / "ours.safetensors", lambda: ((n, torch.from_numpy(x)) for n, x in tensors.items()), {"format": "pt"})
    assert (tmp_path / "ours.safetensors").read_bytes() == (tmp_path / "fixture.safetensors").read_bytes()
    half = {"h": torch.randn(4, 2).to(torch.bfloat16)}
    write_safetensors(tmp_path / "bf16.safetensors", lambda: iter(half.items()))
    from seer_trainer.safetensors_io import SafetensorsFile
    with SafetensorsFile(tmp_path / "bf16.safetensors") as f:
        assert torch.equal(f.read("h"), half["h"])


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path):
    src = _checkpoint(tmp_path)
    ids, mask = _batch()
    grads, calls, real = [], [], torch.utils.checkpoint.checkpoint

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    for checkpointing in (False, True):
        model = _adapted(src)
        model.gradient_checkpointing = checkpointing
        with mock.patch("torch.utils.checkpoint.checkpoint", counted):
            model(ids, mask).hidden_states[-1].pow(2).mean().backward()
        grads.append([p.grad.clone() for n, p in model.named_parameters() if "lora_" in n])
    assert len(calls) == 2  # one per block, with checkpointing only
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-7) for a, b in zip(*grads))


# ---------------- tokenization: the engine's ----------------

@needs_node
def test_prompts_are_the_chat_template_tokenized_by_the_engine_with_the_request_end_token(tmp_path):
    src = _checkpoint(tmp_path)
    manifest = {"promptTemplate": LLAMA3_RENDERED, "addBos": False,
                "specialTokens": {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "pad": "<|eot_id|>"},
                "architecture": {"vocabSize": VOCAB, "maxContext": 1000}}
    texts = ["the user asks", "sss ass hisses at the assistant"]
    for pooling in ("last", "request-end"):
        prompts, raw, special = encode(src / "tokenizer.json", manifest, texts, ["hello there"], 64, pooling)
        cases = tmp_path / "cases.json"
        cases.write_text(json.dumps([{"text": LLAMA3_RENDERED.replace("{prompt}", t)} for t in texts] + [{"text": "hello there"}]))
        run = subprocess.run(["node", str(Path(__file__).with_name("hf_tokenize.cjs")), str(src / "tokenizer.json"), str(cases)],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        expected = json.loads(run.stdout)
        assert [p.ids for p in prompts] + raw == expected
        eot = json.loads((src / "tokenizer.json").read_text())["added_tokens"][4]
        assert eot["content"] == "<|eot_id|>" and special == {"bos": eot["id"] - 4, "eos": eot["id"], "pad": eot["id"]}
        for p in prompts:
            want = p.ids.index(eot["id"]) if pooling == "request-end" else len(p.ids) - 1
            assert p.position == want and not p.truncated
    long_prompts, _, _ = encode(src / "tokenizer.json", manifest, ["the " * 100], [], 8, "last")
    assert long_prompts[0].truncated and long_prompts[0].ids[-1] == expected[0][-1]  # the template's end is kept


# ---------------- the bundle in the engine ----------------

@needs_engine
def test_the_engine_reads_the_trained_models_representations_from_the_bundle(tmp_path):
    src, out = _checkpoint(tmp_path), tmp_path / "bundle"
    assert _train(tmp_path, src, out, "--steps", "20", "--position", "request-end") == 0
    info = _seer("info", "--bundle", str(out), home=tmp_path)
    assert info.returncode == 0, info.stdout + info.stderr
    assert "hf-llama" in info.stdout
    # The held-out rows through the engine (its template, tokens, read-out token and the exported merged
    # weights) give the per-layer cosines the trainer reported for the trained PyTorch model.
    summary = json.loads((out / "seer.json").read_text())["training"]["seer"]
    rows, _ = load_labelled(tmp_path / "data.csv", ["prompt", "detail"], "concept")
    labels = [summary["concepts"].index(r.concept) for r in rows]
    held = held_out_mask(labels, summary["concepts"]).tolist()
    prompts = tmp_path / "held.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": r.text}) + "\n" for r, h in zip(rows, held) if h))
    run = _seer("represent", "--bundle", str(out), "--file", str(prompts), "--json", home=tmp_path)
    assert run.returncode == 0, run.stderr
    reps = [json.loads(line) for line in run.stdout.splitlines()]
    states = torch.tensor([r["layers"] for r in reps]).transpose(0, 1)  # [L+1, N, H]
    held_labels = torch.tensor([y for y, h in zip(labels, held) if h])
    target = summary["layerCosine"][2]
    assert abs(target["after"]["same"] - target["before"]["same"]) > 0.02  # so the check tells trained from original
    for c in summary["layerCosine"]:
        same, different = same_different_cosine(states[c["layer"]], held_labels)
        assert abs(same - c["after"]["same"]) < 1e-3 and abs(different - c["after"]["different"]) < 1e-3, c


# ---------------- bad input ----------------

@pytest.mark.parametrize("case,message", [
    ("no-label", r"has no column 'concept'.*pass --label NAME"),
    ("no-text", r"has no column 'words'.*pass --text NAME"),
    ("one-concept", r"only one concept"),
    ("empty", r"no usable rows \(an empty file"),
    ("missing", r"file not found"),
    ("request-end-plain", r"request-end.*plain|request-end.*--position last"),
    ("no-gpu", r"--device cuda: this PyTorch sees no CUDA GPU.*--device cpu"),
    ("no-steps", r"--steps 0: give a number of training steps of 1 or more"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, capsys, case, message):
    if case == "request-end-plain" and not HAVE_NODE:
        pytest.skip("needs node")
    if case == "no-gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    src = _checkpoint(tmp_path)
    data, general, config = _inputs(tmp_path)
    args = ["--text", "prompt"]
    if case == "no-label":
        data.write_text("prompt,topic\nthe cake,cooking\na user,people\n")
    elif case == "no-text":
        args = ["--text", "words"]
    elif case == "one-concept":
        data.write_text("prompt,concept\n" + "".join(f"the cake {i},cooking\n" for i in range(10)))
    elif case == "empty":
        data.write_text("")
    elif case == "missing":
        data = tmp_path / "nope.csv"
    elif case == "request-end-plain":
        write_llama3_tokenizer(src, chat_template=None)
        args += ["--position", "request-end"]
    elif case == "no-gpu":
        args += ["--device", "cuda"]
    elif case == "no-steps":
        args += ["--steps", "0"]
    out = tmp_path / "bundle"
    code = main(["hf-train", "--hf-model", str(src), "--data", str(data), *args, "--label", "concept", "--general", str(general),
                 "--config", str(config), "--out", str(out), "--ckpt-dir", str(tmp_path / "ckpt")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err, err
    assert re.search(message, err, re.S), err
    assert not out.exists() and not (tmp_path / "ckpt").exists()


def test_an_existing_output_is_refused_before_training(tmp_path, capsys):
    src, out = _checkpoint(tmp_path), tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    data, general, config = _inputs(tmp_path)
    code = main(["hf-train", "--hf-model", str(src), "--data", str(data), "--label", "concept", "--out", str(out), "--config", str(config)])
    assert code == 2 and "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
