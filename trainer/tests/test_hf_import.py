"""`python -m seer_trainer import`: tiny random checkpoints of every family (hf_fixtures) with a Llama-3-style
tokenizer -> format-2 SEER bundles (fp32, fp16, external data), their explain graphs run through onnxruntime-node
(the engine's runtime) against hf_model.py and through the engine's own CLI (info, calibrate, explain); the
disk and memory estimates and their refusals."""
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the import exports with PyTorch")
pytest.importorskip("onnx", reason="the explain graph is written with onnx.helper")
pytest.importorskip("jinja2", reason="chat templates are rendered with jinja2 (Debian: python3-jinja2)")

import hf_fixtures  # noqa: E402
from seer_trainer.cli import main  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.hf_import import DISK_MARGIN, estimate, import_checkpoint, prompt_format, render_chat_template  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint  # noqa: E402
from test_onnx_graph import _assert_close, _feed, _reference, _run  # noqa: E402
from seer_trainer.hf_model import load_hf_decoder  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HAVE_ENGINE = (REPO / "dist" / "cli.js").exists() and (REPO / "node_modules" / "onnxruntime-node").exists() and shutil.which("node")
needs_engine = pytest.mark.skipif(not HAVE_ENGINE, reason="needs node, node_modules and dist/ (npm ci && npm run build)")

# ---------------- a Llama-3-style tokenizer, small enough for the tiny models ----------------

# Meta-Llama-3-8B-Instruct's chat_template, verbatim.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
                r"\s+(?!\S)|\s+")
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "e r", "Ġ a", "o n", "Ċ Ċ", "u s", "Ġ s", "e s", "a s", "s s", "a ss",
          "ass is", "assis t", "assist an", "assistan t", "u se", "us er"]
VOCAB = 288  # 256 bytes + 20 merges + 5 special tokens, rounded up as real checkpoints pad their embeddings


def _byte_chars():
    """GPT-2's bytes_to_unicode: the printable character standing for each byte, in byte order."""
    printable = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    extra, out = 0, []
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def write_llama3_tokenizer(folder, chat_template=LLAMA3_CHAT_TEMPLATE):
    vocab = {c: i for i, c in enumerate(_byte_chars())}
    for merge in MERGES:
        vocab["".join(merge.split(" "))] = len(vocab)
    specials = {s: len(vocab) + i for i, s in enumerate(SPECIALS)}
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for s, i in specials.items()]
    bos = specials["<|begin_of_text|>"]
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos], "tokens": ["<|begin_of_text|>"]}}}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": True, "vocab": vocab, "merges": MERGES},
    }
    config = {"added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
              "bos_token": "<|begin_of_text|>", "clean_up_tokenization_spaces": True, "eos_token": "<|eot_id|>",
              "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 1000000000000000019884624838656,
              "tokenizer_class": "PreTrainedTokenizerFast"}
    if chat_template is not None:
        config["chat_template"] = chat_template
    Path(folder, "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=2))
    Path(folder, "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return specials


def checkpoint(tmp_path, case="llama3.1-sharded-untied", **tokenizer_options):
    fx = hf_fixtures.build(tmp_path / f"hf-{case}", case, vocab_size=VOCAB)
    write_llama3_tokenizer(fx.folder, **tokenizer_options)
    return fx.folder


def _quiet(*_):
    pass


# ---------------- the prompt format ----------------

LLAMA3_RENDERED = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"


def test_llama3_chat_template_renders_to_the_prompt_template_without_a_second_bos():
    template, add_bos = render_chat_template(LLAMA3_CHAT_TEMPLATE, "<|begin_of_text|>", "<|eot_id|>")
    assert template == LLAMA3_RENDERED
    assert add_bos is False  # the template starts with the bos token: the engine must not add another


def test_a_template_without_bos_keeps_add_bos_and_a_template_that_drops_the_message_is_refused():
    chatml = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    assert render_chat_template(chatml, "<s>", "<|im_end|>") == ("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n", True)
    with pytest.raises(SeerInputError, match="verbatim exactly once"):
        render_chat_template("{{ messages[0]['content'] | upper }}", "<s>", "</s>")
    with pytest.raises(SeerInputError, match="does not render.*only user"):
        render_chat_template("{{ raise_exception('only user') }}", "<s>", "</s>")


def test_a_model_without_bos_or_pad_token_never_adds_bos_and_pads_with_eos():
    # Qwen2.5-Instruct's tokenizer_config.json: bos_token null, no pad in this variant, a ChatML template.
    chatml = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    tokenizer = {"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": 1, "content": "<|im_start|>"}, {"id": 2, "content": "<|im_end|>"}]}
    template, add_bos, special = prompt_format({"bos_token": None, "eos_token": "<|im_end|>", "chat_template": chatml}, tokenizer, _quiet)
    assert (template, add_bos) == ("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n", False)
    assert special == {"bos": "<|im_end|>", "eos": "<|im_end|>", "pad": "<|im_end|>"}
    with pytest.raises(SeerInputError, match="eos_token '<\\|eot\\|>' is not in tokenizer.json"):
        prompt_format({"eos_token": "<|eot|>"}, tokenizer, _quiet)


def test_a_base_model_gets_the_plain_format_with_the_tokenizers_bos_and_says_so(tmp_path):
    src = checkpoint(tmp_path, chat_template=None)
    lines = []
    m = import_checkpoint(src, tmp_path / "bundle", log=lines.append)
    assert (m["promptTemplate"], m["addBos"]) == ("{prompt}", True)  # tokenizer.json's post-processor adds <|begin_of_text|>
    assert any("no chat_template" in line and "plain format" in line for line in lines)


# ---------------- the bundle ----------------

def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _bundle_size(folder):
    return sum(p.stat().st_size for p in Path(folder).iterdir())


# (case, --dtype, external data forced): every family in fp32; fp16 and external data on two of them
IMPORTS = [(case, "fp32", False) for case in hf_fixtures.CASES] + [
    ("llama3.1-sharded-untied", "fp16", False), ("llama3.1-sharded-untied", "fp16", True),
    ("llama3.2-bf16-tied", "fp32", True)]


@needs_engine
@pytest.mark.parametrize("case,dtype,external", IMPORTS, ids=lambda v: str(v) if not isinstance(v, bool) else ("external" if v else "inline"))
def test_imported_graph_matches_hf_model_at_batch_3_and_a_long_padded_prompt(tmp_path, case, dtype, external):
    src, out = checkpoint(tmp_path, case), tmp_path / "bundle"
    m = import_checkpoint(src, out, log=_quiet, dtype=dtype, external_data_over=0 if external else 1 << 30)
    a = m["architecture"]
    assert (a["numLayers"], a["hiddenSize"], a["vocabSize"], m["targetLayers"]) == (2, 64, VOCAB, [2])  # round(0.78 * 2)
    weights_dtype = {"fp32": "float32", "fp16": "float16"}[dtype]
    assert (m["formatVersion"], m["representation"], m["onnx"]["weightsDtype"]) == (2, "last", weights_dtype)
    assert m["modelSha256"] == _sha256(out / "model.onnx")
    files = ["model.onnx", "seer.json", "tokenizer.json"] + (["model.onnx.data"] if external else [])
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    if external:
        assert m["onnx"]["externalData"] == {"file": "model.onnx.data", "bytes": (out / "model.onnx.data").stat().st_size,
                                             "sha256": _sha256(out / "model.onnx.data")}
    else:
        assert "externalData" not in m["onnx"]
    # The estimate made before writing bounds what was written (weights at the chosen dtype + the margin).
    with Checkpoint(src) as ckpt:
        e = estimate(ckpt, src, weights_dtype, 0 if external else 1 << 30)
    assert e.external == external and e.disk - DISK_MARGIN <= _bundle_size(out) <= e.disk
    # Batch 3 and 200 tokens, right padding; row 1 read mid-prompt (the request-end case), every token at layer 1.
    decoder = load_hf_decoder(src)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (3, 200), generator=gen)
    mask = (torch.arange(200) < torch.tensor([200, 150, 7]).view(-1, 1)).long()
    feed = _feed(ids * mask, mask, [199, 60, 6], [1], torch.zeros(3, 64))
    got = _run(out / "model.onnx", [feed])[0]
    assert got["states"].shape == (3, 3, 64) and got["last_logits"].shape == (3, VOCAB)
    _assert_close(got, _reference(decoder, feed), 1e-4 if dtype == "fp32" else 2e-2)


def _seer(*args, home):
    env = {**os.environ, "XDG_DATA_HOME": str(home)}  # user banks go to the test's folder, never ~
    return subprocess.run(["node", str(REPO / "bin" / "seer.js"), *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


@needs_engine
@pytest.mark.parametrize("case,dtype", [("llama3.1-sharded-untied", "fp16"), ("gemma2", "fp32")])
def test_the_engine_loads_an_imported_bundle_asks_for_a_bank_then_explains(tmp_path, case, dtype):
    src, out = checkpoint(tmp_path, case), tmp_path / "bundle"
    assert main(["import", str(src), "--out", str(out), "--dtype", dtype]) == 0
    info = _seer("info", "--bundle", str(out), home=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "hf-" in info.stdout and "2 layers" in info.stdout

    before = _seer("explain", "--bundle", str(out), "hello", home=tmp_path)
    assert before.returncode != 0 and "seer calibrate" in before.stdout + before.stderr

    rows = [{"prompt": f"{word} number {i} " * 3, "concept": concept}
            for i in range(12) for word, concept in (("the cake", "cooking"), ("a user", "people"), ("sss ass", "snakes"))]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cal = _seer("calibrate", str(data), "--label", "concept", "--bundle", str(out), "--bank-name", "default", "--batch", "8",
                home=tmp_path)
    assert cal.returncode == 0, cal.stderr

    long_prompt = ("the user asks the assistant " * 60).strip()  # the Llama 3 template trims the message
    run = _seer("explain", "--bundle", str(out), long_prompt, "--json", home=tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["templatedText"] == LLAMA3_RENDERED.replace("{prompt}", long_prompt)
    template_tokens = [t["text"] for t in result["tokens"] if not t["fromPrompt"]]
    assert template_tokens == ["<|begin_of_text|>", "<|start_header_id|>", "user", "<|end_header_id|>", "\n\n",
                               "<|eot_id|>", "<|start_header_id|>", "assistant", "<|end_header_id|>", "\n\n"]
    assert len(result["tokens"]) > 200 and result["bank"] == "default" and len(result["layers"]) == 3


# ---------------- bad input ----------------

def test_an_existing_output_is_refused_unless_forced_and_replaced_whole(tmp_path):
    src, out = checkpoint(tmp_path), tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SeerInputError, match="already exists.*--force"):
        import_checkpoint(src, out, log=_quiet)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(SeerInputError, match="not a SEER bundle"):  # --force deletes: only a bundle or an empty folder
        import_checkpoint(src, out, force=True, log=_quiet)
    with pytest.raises(SeerInputError, match="holds the checkpoint"):
        import_checkpoint(src, src.parent, force=True, log=_quiet)
    assert (out / "keep.txt").read_text() == "mine" and (src / "config.json").exists()
    (out / "keep.txt").unlink()
    import_checkpoint(src, out, force=True, log=_quiet)
    first = (out / "seer.json").read_text()
    import_checkpoint(src, out, force=True, log=_quiet)  # a bundle is replaced whole
    assert (out / "seer.json").read_text() == first and sorted(p.name for p in out.iterdir()) == ["model.onnx", "seer.json", "tokenizer.json"]


def test_an_interrupted_import_leaves_nothing_behind(tmp_path, monkeypatch):
    src, out = checkpoint(tmp_path), tmp_path / "out" / "bundle"
    import seer_trainer.hf_import as hf_import

    def interrupted(*_, **__):
        raise KeyboardInterrupt
    monkeypatch.setattr(hf_import, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_checkpoint(src, out, log=_quiet)
    assert list((tmp_path / "out").iterdir()) == []  # neither the bundle nor the temp folder


def test_bad_checkpoints_are_clear_errors_and_write_nothing(tmp_path, capsys):
    src = checkpoint(tmp_path)
    cases = []
    slow = tmp_path / "slow"
    shutil.copytree(src, slow)
    (slow / "tokenizer.json").unlink()
    (slow / "tokenizer.model").write_bytes(b"\0")
    cases.append((slow, "no tokenizer.json.*slow tokenizer.*save_pretrained"))
    spm = tmp_path / "sentencepiece"
    shutil.copytree(src, spm)
    tok = json.loads((spm / "tokenizer.json").read_text())
    (spm / "tokenizer.json").write_text(json.dumps({**tok, "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"}}))
    cases.append((spm, "not a byte-level BPE tokenizer"))
    shard = tmp_path / "shard"
    shutil.copytree(src, shard)
    (shard / "model-00002-of-00002.safetensors").unlink()
    cases.append((shard, "missing shard"))
    other = tmp_path / "other"
    shutil.copytree(src, other)
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**cfg, "architectures": ["MambaForCausalLM"], "model_type": "mamba"}))
    cases.append((other, "MambaForCausalLM.*--via transformers"))
    for folder, message in cases:
        out = tmp_path / f"out-{folder.name}"
        assert main(["import", str(folder), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
        assert re.search(message, err, re.S), err
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_too_little_disk_or_memory_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    import seer_trainer.hf_import as hf_import
    src, out = checkpoint(tmp_path), tmp_path / "out" / "bundle"  # --out's parent does not exist yet
    seen = []
    real_usage = shutil.disk_usage

    def little_disk(path):
        seen.append(Path(path))
        return real_usage(path)._replace(free=3_000_000)
    monkeypatch.setattr(shutil, "disk_usage", little_disk)
    with pytest.raises(SeerInputError, match=r"3\.0 MB free, but the bundle needs about 6\d\.\d MB .*--dtype fp16"):
        import_checkpoint(src, out, log=_quiet)
    assert seen == [tmp_path]  # the nearest existing folder on --out's way
    with pytest.raises(SeerInputError, match=r"needs about 6\d\.\d MB") as refused:
        import_checkpoint(src, out, log=_quiet, dtype="fp16")
    assert "--dtype fp16" not in str(refused.value)
    monkeypatch.setattr(shutil, "disk_usage", real_usage)

    monkeypatch.setattr(hf_import, "available_memory", lambda: 100 << 20)
    with pytest.raises(SeerInputError, match=r"needs about 5\d\d\.\d MB of memory \(its largest tensor, model\.embed_tokens\.weight "
                                             r"\[288, 64\].*but 104\.9 MB is available"):
        import_checkpoint(src, out, log=_quiet)
    assert list(tmp_path.iterdir()) == [src]  # nothing written, not even --out's parent

    monkeypatch.setattr(hf_import, "available_memory", lambda: 1 << 40)
    lines = []
    import_checkpoint(src, out, log=lines.append, dtype="fp16")
    assert any(line.startswith("estimate: 0.11 million weights at float16") and "one model.onnx" in line for line in lines)
