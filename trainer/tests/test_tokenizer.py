import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, TINY
from seer_trainer.tokenization_cases import EDGE_CASES
from seer_trainer.tokenizer import SPECIAL_TOKENS, ByteLevelBPE, train_bpe

HF_HELPER = REPO / "trainer/tests/hf_tokenize.cjs"


def hf_encode(tokenizer_path, texts):
    """Ids from @huggingface/tokenizers (the engine's tokenizer), or skip when Node/node_modules are absent."""
    if not shutil.which("node") or not (REPO / "node_modules/@huggingface/tokenizers").exists():
        pytest.skip("node or node_modules/@huggingface/tokenizers not available")
    with tempfile.TemporaryDirectory() as d:
        cases = Path(d) / "cases.json"
        cases.write_text(json.dumps([{"text": t} for t in texts]), encoding="utf-8")
        out = subprocess.run(["node", str(HF_HELPER), str(tokenizer_path), str(cases)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_round_trip(tok):
    for s in EDGE_CASES:
        if any(t in s for t in SPECIAL_TOKENS):
            continue  # special tokens decode to nothing by design
        assert tok.decode(tok.encode(s)) == s


def test_special_tokens_stay_whole(tok):
    ids = tok.encode("a<|eos|>b")
    assert tok.eos_id in ids and len(ids) == 3


def test_training_is_deterministic(corpus):
    assert train_bpe(corpus, 350) == train_bpe(list(corpus), 350)


def test_hf_json_structure(tok, tmp_path):
    tok.save(tmp_path / "tokenizer.json")
    j = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert j["model"]["type"] == "BPE" and j["pre_tokenizer"]["type"] == "ByteLevel" and j["decoder"]["type"] == "ByteLevel"
    assert [t["content"] for t in j["added_tokens"]] == SPECIAL_TOKENS
    assert len(j["model"]["vocab"]) == TINY.vocab_size
    assert sorted(j["model"]["vocab"].values()) == list(range(TINY.vocab_size))
    assert all(len(m.split(" ")) == 2 for m in j["model"]["merges"])
    again = ByteLevelBPE.load(tmp_path / "tokenizer.json")
    assert again.encode("Hello there, café 😀") == tok.encode("Hello there, café 😀")


def test_ids_match_huggingface_tokenizers(tok, corpus, tmp_path):
    path = tmp_path / "tokenizer.json"
    tok.save(path)
    texts = EDGE_CASES + corpus[:100] + ["\x1cfile separator", "bom\ufeffinside", "ｆｕｌｌｗｉｄｔｈ", "x" * 300]
    assert hf_encode(path, texts) == [tok.encode(t) for t in texts]
