"""`import` with SentencePiece-converted tokenizers (Llama 1/2, Mistral, Gemma; fixtures in sp_tokenizers.py): the
tokenizer files are accepted, the chat templates render to the prompt format transformers would produce (one BOS),
and tokenizers the engine cannot run (Unigram, WordPiece, BPE without byte fallback, ...) are refused by name."""
import copy
import json
import re

import pytest

pytest.importorskip("torch", reason="seer_trainer.hf_import exports with PyTorch")
pytest.importorskip("jinja2", reason="chat templates are rendered with jinja2 (Debian: python3-jinja2)")

import hf_fixtures  # noqa: E402
import sp_tokenizers  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.hf_import import _tokenizer_files, import_checkpoint, prompt_format  # noqa: E402


def _quiet(*_):
    pass


@pytest.mark.parametrize("name", list(sp_tokenizers.TOKENIZERS))
def test_sentencepiece_tokenizers_are_accepted_and_render_their_chat_template_with_one_bos(tmp_path, name):
    folder = sp_tokenizers.write(tmp_path, name)
    tokenizer_json, tokenizer_config = _tokenizer_files(folder)
    assert tokenizer_json == json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    template, add_bos, special = prompt_format(tokenizer_config, tokenizer_json, _quiet)
    assert (template, add_bos, special) == sp_tokenizers.PROMPT_FORMATS[name]
    # The template starts with the BOS the tokenizer's post-processor would add, so the engine adds none.
    assert template.startswith(special["bos"]) and template.count(special["bos"]) == 1 and not add_bos


def test_a_llama2_base_model_without_chat_template_gets_the_plain_format_and_the_bos_its_tokenizer_adds(tmp_path):
    folder = sp_tokenizers.write(tmp_path, "llama2")
    tokenizer_json, tokenizer_config = _tokenizer_files(folder)
    del tokenizer_config["chat_template"]
    lines = []
    assert prompt_format(tokenizer_config, tokenizer_json, lines.append)[:2] == ("{prompt}", True)
    assert "no chat_template" in lines[0]


def _edit(tokenizer, how):
    t = copy.deepcopy(tokenizer)
    model = t["model"]
    if how == "unigram":  # T5 / ALBERT: a Unigram model with scores
        t["model"] = {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                      "vocab": [[piece, -float(i)] for piece, i in model["vocab"].items()]}
    elif how == "wordpiece":  # BERT
        t.update(normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                             "strip_accents": None, "lowercase": True},
                 pre_tokenizer={"type": "BertPreTokenizer"},
                 model={"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                        "max_input_chars_per_word": 100, "vocab": model["vocab"]})
    elif how == "no-byte-fallback":
        model["byte_fallback"] = False
    elif how == "missing-byte":
        del model["vocab"]["<0x0A>"]
    elif how == "metaspace-split":  # what the Rust default (split absent = true) does: cut the text at every "▁"
        t.update(normalizer=None, pre_tokenizer={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"})
    elif how == "nfkc":
        t["normalizer"]["normalizers"].append({"type": "NFKC"})
    elif how == "both-spaces":
        t["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False}
    return t


@pytest.mark.parametrize("how, problem", [
    ("unigram", "its model is 'Unigram', not BPE"),
    ("wordpiece", "its model is 'WordPiece', not BPE"),
    ("no-byte-fallback", "without byte_fallback"),
    ("missing-byte", r"1 byte tokens are missing \(e.g. <0x0A>\)"),
    ("metaspace-split", "pre-tokenizer .*\"prepend_scheme\": \"first\"} is not a Metaspace with .* split false"),
    ("nfkc", r'its normalizer \(\["Prepend", "Replace", "NFKC"\]\) is not the converter\'s Replace'),
    ("both-spaces", "by both or neither"),
])
def test_tokenizers_the_engine_cannot_run_are_refused_naming_what_is_supported(tmp_path, how, problem):
    folder = sp_tokenizers.write(tmp_path, "llama2")
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    (folder / "tokenizer.json").write_text(json.dumps(_edit(tokenizer, how)), encoding="utf-8")
    with pytest.raises(SeerInputError) as e:
        _tokenizer_files(folder)
    message = str(e.value)
    assert "tokenizer.json: not a byte-level BPE tokenizer" in message
    assert re.search(problem, message), message
    for supported in ("Llama 3", "Qwen", "Llama 1/2, Mistral, Gemma", "Unigram and WordPiece"):
        assert supported in message


@pytest.mark.parametrize("name, case", [("llama2", "llama2-f16-mha"), ("gemma", "gemma2")])
def test_import_writes_the_sentencepiece_tokenizer_and_its_prompt_format_into_the_bundle(tmp_path, name, case):
    tokenizer, _ = sp_tokenizers.TOKENIZERS[name]()
    fx = hf_fixtures.build(tmp_path / "hf", case, vocab_size=len(tokenizer["model"]["vocab"]))
    sp_tokenizers.write(fx.folder, name)
    m = import_checkpoint(fx.folder, tmp_path / "bundle", log=_quiet)
    template, add_bos, special = sp_tokenizers.PROMPT_FORMATS[name]
    assert (m["promptTemplate"], m["addBos"], m["specialTokens"]) == (template, add_bos, special)
    assert (tmp_path / "bundle" / "tokenizer.json").read_bytes() == (fx.folder / "tokenizer.json").read_bytes()
