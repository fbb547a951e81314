"""Calibration: per-layer concept prototypes and the paper's statistics for a labelled dataset."""
import random

import torch
import torch.nn.functional as F

from .batching import encode_prompt, pad_batch
from .model import pool

MAX_PAIRWISE_ROWS = 2000  # pairwise stats (N^2 cosines per layer) use at most this many rows


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


def prototypes(reps: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """[N, H] -> [k, H]: unit-norm mean of unit-norm representations per concept."""
    z = F.normalize(reps, dim=-1)
    return F.normalize(torch.stack([z[labels == c].mean(0) for c in range(k)]), dim=-1)


def _subsample(n, cap, seed=0):
    if n <= cap:
        return torch.arange(n)
    return torch.tensor(sorted(random.Random(seed).sample(range(n), cap)))


def layer_stats(reps, labels, k, protos, test_reps=None, test_labels=None) -> dict:
    idx = _subsample(len(labels), MAX_PAIRWISE_ROWS)
    z = F.normalize(reps[idx], dim=-1)
    y = labels[idx]
    sim = z @ z.t()
    same = y.view(-1, 1) == y.view(1, -1)
    off = ~torch.eye(len(y), dtype=torch.bool)
    same_cos = sim[same & off].mean().item()
    diff_cos = sim[~same].mean().item()
    # Silhouette with cosine distance: a = mean distance to the rest of its concept (self adds 0),
    # b = mean distance to the nearest other concept.
    dist = (1 - sim).clamp(min=0)
    dist.fill_diagonal_(0)
    per_class = torch.stack([(dist * (y == c).view(1, -1)).sum(1) for c in range(k)], 1)
    sizes = torch.stack([(y == c).sum() for c in range(k)]).to(dist.dtype)
    own = y
    a = per_class[torch.arange(len(y)), own] / (sizes[own] - 1).clamp(min=1)
    mean_other = per_class / sizes.clamp(min=1)
    mean_other[torch.arange(len(y)), own] = float("inf")
    b = mean_other.min(1).values
    sil = ((b - a) / torch.maximum(a, b).clamp(min=1e-12)).mean().item()
    stats = {
        "sameConceptCos": same_cos, "differentConceptCos": diff_cos, "gap": same_cos - diff_cos,
        "silhouette": sil,
        "prototypeSimilarity": (protos @ protos.t()).tolist(),
        "counts": [int((labels == c).sum()) for c in range(k)],
    }
    if test_reps is not None and len(test_labels):
        pred = (F.normalize(test_reps, dim=-1) @ protos.t()).argmax(1)
        stats["heldOutAccuracy"] = (pred == test_labels).float().mean().item()
    return stats


def build_bank(name, concepts, safe, reps, labels, test_reps, test_labels, model_sha, source, pooling="last") -> dict:
    """reps: [L+1, N, H]. Returns the bank JSON (docs/bundle-format.md)."""
    k = len(concepts)
    layers = []
    for l in range(reps.shape[0]):
        protos = prototypes(reps[l], labels, k)
        stats = layer_stats(reps[l], labels, k, protos,
                            None if test_reps is None else test_reps[l], test_labels)
        layers.append({"layer": l, "prototypes": [[float(f"{x:.7g}") for x in p] for p in protos.tolist()],
                       "stats": _round(stats)})
    return {
        "format": "seer-concept-bank", "formatVersion": 1, "name": name, "modelSha256": model_sha,
        "numLayers": reps.shape[0] - 1, "hiddenSize": reps.shape[2], "pooling": pooling,
        "concepts": list(concepts), "safeConcepts": list(safe), "source": source, "layers": layers,
    }


def _round(obj):
    if isinstance(obj, float):
        return float(f"{obj:.6g}")
    if isinstance(obj, list):
        return [_round(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj
