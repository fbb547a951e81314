"""General English text for LM pretraining and the retain loss: WordNet glosses and example
sentences from Debian's wordnet-base (read at build time, never committed)."""
import hashlib
from pathlib import Path

from .errors import SeerInputError

WORDNET_DIR = Path("/usr/share/wordnet")
DATA_FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]


def read_wordnet(max_lines: int, wordnet_dir=WORDNET_DIR) -> list:
    """One line of text per synset: 'lemma: gloss; "example"' (the gloss after '| ')."""
    wordnet_dir = Path(wordnet_dir)
    if not (wordnet_dir / "data.noun").exists():
        raise SeerInputError(
            f"{wordnet_dir}/data.noun not found: WordNet provides the general text. "
            "Install it with: sudo apt-get install -y wordnet-base")
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
