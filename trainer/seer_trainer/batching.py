"""Turning text into model batches: the prompt template, right padding, packed LM windows."""
import random

import torch


def apply_template(template: str, prompt: str) -> str:
    return template.replace("{prompt}", prompt)


def encode_prompt(tok, prompt: str, template: str, add_bos: bool, max_tokens: int):
    """Templated ids; a prompt too long for max_tokens is cut at its end (returns truncated=True),
    keeping the template's suffix so the last token is still the one the representation reads."""
    def ids_for(text):
        return ([tok.bos_id] if add_bos else []) + tok.encode(apply_template(template, text))

    ids = ids_for(prompt)
    if len(ids) <= max_tokens:
        return ids, False
    lo, hi = 0, len(prompt)  # longest prefix (in characters) that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(ids_for(prompt[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    ids = ids_for(prompt[:lo])
    if len(ids) > max_tokens:
        raise ValueError(f"max_tokens={max_tokens} is too small for the prompt template alone")
    return ids, True


def pad_batch(seqs, pad_id: int):
    """Right padding; attention_mask 1 for real tokens."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids, mask


def token_stream(tok, texts, seed: int) -> torch.Tensor:
    """All texts, shuffled, as one stream of bos + text + eos."""
    order = list(texts)
    random.Random(seed).shuffle(order)
    out = []
    for t in order:
        out.append(tok.bos_id)
        out.extend(tok.encode(t))
        out.append(tok.eos_id)
    return torch.tensor(out, dtype=torch.long)


def stream_windows(stream: torch.Tensor, batch: int, seq_len: int, rng: random.Random):
    starts = [rng.randrange(0, len(stream) - seq_len) for _ in range(batch)]
    ids = torch.stack([stream[s:s + seq_len] for s in starts])
    return ids, torch.ones_like(ids)
