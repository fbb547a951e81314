"""Byte-level BPE: our trainer and encoder, written out as a standard Hugging Face tokenizer.json.

The pre-tokenizer is the GPT-2 pattern that Hugging Face's ByteLevel pre-tokenizer uses (use_regex),
and merges are applied lowest rank first, leftmost first, exactly like tokenizers / tokenizers.js,
so ids agree with @huggingface/tokenizers (checked in tests and stored in golden.json)."""
import collections
import json
from functools import lru_cache
from pathlib import Path

import regex

from .io_utils import write_json_atomic

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Python's \s also matches U+001C..U+001F and JavaScript's also U+FEFF; spell out the JS set so
# both sides split identically.
JS_SPACE = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
PATTERN = regex.compile(GPT2_PATTERN.replace(r"[^\s", "[^" + JS_SPACE).replace(r"\s", "[" + JS_SPACE + "]"))
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>"]


def bytes_to_unicode() -> dict:
    """GPT-2's reversible byte -> printable character table (used by ByteLevel in tokenizers)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pretokenize(text: str) -> list:
    return ["".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8")) for piece in PATTERN.findall(text)]


def train_bpe(texts, vocab_size: int) -> tuple:
    """Learn merges on word counts; returns (vocab dict token->id, merges list of (a, b))."""
    words = collections.Counter()
    for t in texts:
        words.update(pretokenize(t))
    base = sorted(BYTE_TO_CHAR.values(), key=lambda c: CHAR_TO_BYTE[c])
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + base)}
    seqs = [list(w) for w in words]
    freqs = list(words.values())
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> word indices containing it
    for i, s in enumerate(seqs):
        for p in zip(s, s[1:]):
            pair_counts[p] += freqs[i]
            where[p].add(i)
    merges = []
    while len(vocab) < vocab_size and pair_counts:
        # Highest count; ties broken by the pair itself so training is deterministic.
        best, count = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))
        if count < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        vocab[merged] = len(vocab)
        for i in sorted(where.pop(best, ())):
            s, f = seqs[i], freqs[i]
            for p in zip(s, s[1:]):
                pair_counts[p] -= f
                if pair_counts[p] <= 0:
                    del pair_counts[p]
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == best[0] and s[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[i] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += f
                where[p].add(i)
        pair_counts.pop(best, None)
    return vocab, merges


class ByteLevelBPE:
    def __init__(self, vocab: dict, merges: list):
        self.vocab = vocab
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.merges = [tuple(m) for m in merges]
        self.special = {t: vocab[t] for t in SPECIAL_TOKENS}
        self.special_re = regex.compile("|".join(regex.escape(t) for t in SPECIAL_TOKENS))
        self._bpe = lru_cache(maxsize=65536)(self._bpe_uncached)

    @property
    def bos_id(self):
        return self.special["<|bos|>"]

    @property
    def eos_id(self):
        return self.special["<|eos|>"]

    @property
    def pad_id(self):
        return self.special["<|pad|>"]

    def _bpe_uncached(self, word: str) -> tuple:
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.ranks.get(p, None), i) for i, p in enumerate(zip(parts, parts[1:]))]
            ranked = [(r, i) for r, i in ranked if r is not None]
            if not ranked:
                break
            _, i = min(ranked)  # lowest rank, then leftmost
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return tuple(self.vocab[p] for p in parts)

    def encode(self, text: str) -> list:
        """Like tokenizers' encode(text, add_special_tokens=False): special tokens in the text stay special."""
        ids, pos = [], 0
        for m in self.special_re.finditer(text):
            ids += self._encode_plain(text[pos:m.start()])
            ids.append(self.special[m.group()])
            pos = m.end()
        return ids + self._encode_plain(text[pos:])

    def _encode_plain(self, text: str) -> list:
        out = []
        for w in pretokenize(text):
            out.extend(self._bpe(w))
        return out

    def decode(self, ids) -> str:
        data = bytearray()
        for i in ids:
            tok = self.id_to_token[int(i)]
            if tok in self.special:
                continue
            data.extend(CHAR_TO_BYTE[c] for c in tok)
        return data.decode("utf-8", errors="replace")

    def to_hf_json(self) -> dict:
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.special[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True}
                for t in SPECIAL_TOKENS
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    def save(self, path) -> None:
        write_json_atomic(path, self.to_hf_json())

    @classmethod
    def load(cls, path) -> "ByteLevelBPE":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in data["model"]["merges"]]
        vocab = dict(data["model"]["vocab"])
        for t in data.get("added_tokens", []):
            vocab.setdefault(t["content"], t["id"])
        return cls(vocab, merges)
