"""Calibration: per-layer concept prototypes and the bank statistics of docs/bundle-format.md
("Bank statistics"), computed exactly as the engine computes them (engine/src/calibration/bankBuilder.ts);
test/calibration/crossLanguage.test.ts checks that both give the same numbers on the same representations."""
import json
import sys

import torch
import torch.nn.functional as F

from .batching import encode_prompt, pad_batch
from .model import pool
from .packed_floats import pack_floats, unpack_floats

HELD_OUT_MAX = 64  # held-out rows per concept chosen by the seeded split (the engine keeps only these in memory)
DEFAULT_HELD_OUT_FRACTION = 0.2
DEFAULT_SEED = 1
# A prompt whose best cosine is below this percentile of the held-out rows' is far from every concept (low confidence).
FAR_PERCENTILE = 5


@torch.no_grad()
def representations(model, tok, texts, template, add_bos, max_tokens, pooling="last", batch_size=64):
    """Returns ([L+1, N, H] float tensor, number of texts truncated to max_tokens)."""
    encoded = [encode_prompt(tok, t, template, add_bos, max_tokens) for t in texts]
    truncated = sum(1 for _, cut in encoded if cut)
    chunks = []
    for i in range(0, len(encoded), batch_size):
        ids, mask = pad_batch([e[0] for e in encoded[i:i + batch_size]], tok.pad_id)
        hs = model(ids, mask).hidden_states
        chunks.append(torch.stack([pool(h, mask, pooling) for h in hs], 0))
    return torch.cat(chunks, 1), truncated


# --- the engine's seeded randomness (engine/src/calibration/seededSampling.ts), bit for bit ---------------

_M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & _M32


def mulberry32(seed):
    """The engine's PRNG: floats in [0, 1), the same sequence as seededSampling.ts for the same seed."""
    state = [seed & _M32]

    def draw():
        state[0] = (state[0] + 0x6D2B79F5) & _M32
        t = state[0]
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296

    return draw


def seed_for(seed, key):
    """FNV-1a over the UTF-16 code units of key, mixed with seed (JavaScript's charCodeAt)."""
    h = 0x811C9DC5 ^ (seed & _M32)
    units = key.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = _imul(h ^ (units[i] | units[i + 1] << 8), 0x01000193)
    return h


def held_out_mask(labels, concepts, fraction=DEFAULT_HELD_OUT_FRACTION, seed=DEFAULT_SEED):
    """The seeded held-out split: per concept c with n rows, k = min(64, floor(n * fraction), n - 1) rows,
    chosen by Knuth's selection sampling over that concept's rows in dataset order."""
    labels = [int(y) for y in labels]
    counts = [labels.count(c) for c in range(len(concepts))]
    state = []
    for c, name in enumerate(concepts):
        n = counts[c]
        k = max(0, min(HELD_OUT_MAX, int(n * fraction), n - 1))
        state.append({"k": k, "n": n, "seen": 0, "selected": 0, "random": mulberry32(seed_for(seed, name))})
    mask = []
    for y in labels:
        s = state[y]
        remaining = s["n"] - s["seen"]
        take = remaining > 0 and s["random"]() * remaining < s["k"] - s["selected"]
        s["seen"] += 1
        s["selected"] += int(take)
        mask.append(take)
    return torch.tensor(mask, dtype=torch.bool)


# --- the statistics ---------------------------------------------------------------------------------------

def prototypes(reps: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """[N, H] -> [k, H]: unit-norm mean of unit-norm representations per concept (zero for an empty concept)."""
    return F.normalize(_sums(F.normalize(reps.double(), dim=-1), labels, k), dim=-1)


def _sums(z, labels, k):
    return torch.zeros(k, z.shape[-1], dtype=z.dtype).index_add_(0, labels, z)


def nearest_rank(values, percent):
    """The percentile by nearest rank: the ceil(n * percent / 100)-th smallest value (the smallest when that is 0)."""
    ranked = sorted(values)
    return ranked[max(0, -(-len(ranked) * percent // 100) - 1)]


def _mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def layer_stats(reps, labels, k, held_reps=None, held_labels=None) -> dict:
    """One layer's bank statistics. reps [N, H], labels [N]: the rows the bank is made of; held_reps [M, H],
    held_labels [M]: the held-out rows, which only measure it (silhouette, held-out accuracy)."""
    z = F.normalize(reps.double(), dim=-1)
    sums = _sums(z, labels, k)
    counts = [int((labels == c).sum()) for c in range(k)]
    protos = F.normalize(sums, dim=-1)
    gram = sums @ sums.t()
    same = [(float(gram[c, c]) - n) / (n * (n - 1)) for c, n in enumerate(counts) if n >= 2]
    different = [float(gram[c, d]) / (counts[c] * counts[d])
                 for c in range(k) for d in range(c + 1, k) if counts[c] and counts[d]]
    stats = {"sameConceptCos": _mean(same), "differentConceptCos": _mean(different)}
    stats["gap"] = stats["sameConceptCos"] - stats["differentConceptCos"]
    if held_reps is not None and len(held_labels):
        h = F.normalize(held_reps.double(), dim=-1)
        scores = []
        for x, y in zip(h, held_labels.tolist()):
            mean_dist = [1 - float(sums[d] @ x) / counts[d] if counts[d] else None for d in range(k)]
            others = [m for d, m in enumerate(mean_dist) if d != y and m is not None]
            if mean_dist[y] is None or not others:
                continue
            a, b = mean_dist[y], min(others)
            denom = max(a, b)
            scores.append((b - a) / denom if denom > 0 else 0.0)
        stats["silhouette"] = _mean(scores)
        cos = h @ protos.t()
        stats["heldOutAccuracy"] = (cos.argmax(1) == held_labels).double().mean().item()
        stats["heldOutMaxCosineP05"] = nearest_rank(cos.max(1).values.tolist(), FAR_PERCENTILE)
    stats["prototypeSimilarity"] = (protos @ protos.t()).tolist()
    stats["counts"] = counts
    return {"prototypes": protos, "stats": stats}


BANK_FORMAT_VERSION = 2  # prototypes packed (packed_floats); format 1 held them as arrays of decimals


def bank_prototypes(bank: dict, layer: int) -> torch.Tensor:
    """[concepts, hidden] float32 prototypes of a bank's layer, format 2 (packed) or 1 (arrays)."""
    protos = bank["layers"][layer]["prototypes"]
    if isinstance(protos, dict):
        return torch.from_numpy(unpack_floats(protos).reshape(len(bank["concepts"]), bank["hiddenSize"]))
    return torch.tensor(protos, dtype=torch.float32)


def build_bank(name, concepts, safe, reps, labels, test_reps, test_labels, model_sha, source, pooling="last") -> dict:
    """reps: [L+1, N, H] of the bank's rows, test_reps: [L+1, M, H] of the held-out rows (or None), which only
    measure the bank (docs/bundle-format.md "Bank statistics"). safe=None: safety unknown."""
    k = len(concepts)
    layers = []
    for l in range(reps.shape[0]):
        s = layer_stats(reps[l], labels, k, None if test_reps is None else test_reps[l], test_labels)
        # Rounded to 7 significant digits, as format 1's decimals were: the committed banks (converted from format 1)
        # are what a rebuild writes.
        rounded = [[float(f"{x:.7g}") for x in p] for p in s["prototypes"].tolist()]
        layers.append({"layer": l, "prototypes": pack_floats(rounded), "stats": _round(s["stats"])})
    return {
        "format": "seer-concept-bank", "formatVersion": BANK_FORMAT_VERSION, "name": name, "modelSha256": model_sha,
        "numLayers": reps.shape[0] - 1, "hiddenSize": reps.shape[2], "pooling": pooling,
        "concepts": list(concepts), "safeConcepts": None if safe is None else list(safe), "source": source,
        "layers": layers,
    }


def stats_from_json(path):
    """Test entry (test/calibration/crossLanguage.test.ts): {"concepts", "labels": [N], "reps": [N][L][H],
    "heldOutFraction", "seed"} -> per-layer stats with the seeded split, unrounded."""
    d = json.loads(open(path, encoding="utf-8").read())
    labels = torch.tensor(d["labels"])
    reps = torch.tensor(d["reps"], dtype=torch.float64).permute(1, 0, 2)
    held = held_out_mask(d["labels"], d["concepts"], d["heldOutFraction"], d["seed"])
    return [layer_stats(reps[l][~held], labels[~held], len(d["concepts"]), reps[l][held], labels[held])["stats"]
            for l in range(reps.shape[0])]


def _round(obj):
    if isinstance(obj, float):
        return float(f"{obj:.6g}")
    if isinstance(obj, list):
        return [_round(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj


if __name__ == "__main__":
    json.dump(stats_from_json(sys.argv[1]), sys.stdout)
