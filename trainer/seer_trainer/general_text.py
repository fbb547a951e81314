"""General English text for LM pretraining and the retain loss: WordNet glosses and example
sentences from Debian's wordnet-base (read at build time, never committed)."""
import hashlib
import os
from pathlib import Path

from .errors import SeerInputError

# SEER_WORDNET_DIR: another folder holding the data.* files (a machine without Debian's wordnet-base, e.g. the
# GPU machine scripts/gpu-build-model.sh runs on).
WORDNET_DIR = Path(os.environ.get("SEER_WORDNET_DIR") or "/usr/share/wordnet")
DATA_FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]


def read_wordnet(max_lines: int, wordnet_dir=WORDNET_DIR) -> list:
    """One line of text per synset: 'lemma: gloss; "example"' (the gloss after '| ')."""
    wordnet_dir = Path(wordnet_dir)
    if not (wordnet_dir / "data.noun").exists():
        raise SeerInputError(
            f"{wordnet_dir}/data.noun not found: WordNet provides the general text. "
            "Install it with: sudo apt-get install -y wordnet-base (or point SEER_WORDNET_DIR at a copy of its data.* files)")
    per_file = max(1, max_lines // len(DATA_FILES))
    lines = []
    for name in DATA_FILES:
        taken = 0
        with open(wordnet_dir / name, encoding="utf-8", errors="replace") as f:
            for raw in f:
                if raw.startswith("  ") or "| " not in raw:
                    continue  # licence header
                head, gloss = raw.rstrip("\n").split("| ", 1)
                lemma = head.split()[4].replace("_", " ")
                lines.append(f"{lemma}: {gloss.strip()}")
                taken += 1
                if taken >= per_file:
                    break
    return lines


def split_heldout(lines: list, heldout_fraction: float = 0.02):
    """Deterministic split by content hash, independent of order and of max_lines."""
    train, held = [], []
    for line in lines:
        h = int(hashlib.sha1(line.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held if h < heldout_fraction else train).append(line)
    return train, held


def write_wordnet_subset(dest_dir, wordnet_dir=WORDNET_DIR) -> None:
    """dest_dir/data.*: each synset line cut to the fields read_wordnet reads (offset, file number, type, word
    count, first lemma, gloss), so read_wordnet(dest_dir) returns what it returns for wordnet_dir in a third of
    the bytes: what scripts/gpu-build-model.sh carries to a machine without wordnet-base."""
    wordnet_dir, dest_dir = Path(wordnet_dir), Path(dest_dir)
    read_wordnet(1, wordnet_dir)  # the clear error when it is missing
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        with open(wordnet_dir / name, encoding="utf-8", errors="replace") as f:
            kept = [" ".join(raw.split("| ", 1)[0].split()[:5]) + " | " + raw.split("| ", 1)[1]
                    for raw in f if not raw.startswith("  ") and "| " in raw]
        (dest_dir / name).write_text("".join(kept), encoding="utf-8")
