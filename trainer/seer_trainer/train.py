"""Stage 1 (LM pretraining) and stage 2 (SEER fine-tuning) with checkpoint/resume."""
import copy
import math
import random
import time

import torch

from .batching import encode_prompt, pad_batch, stream_windows
from .checkpoint import StageCheckpoint
from .config import PretrainConfig, SeerConfig
from .lora import apply_lora, merge_lora
from .losses import info_nce, kl_to_frozen, lm_loss, retain_l2, same_different_cosine
from .model import pool


def learning_rate(step, total, base, warmup):
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def reseed(seed, step):
    """Per-step seeding: a resumed run draws what an uninterrupted one draws."""
    torch.manual_seed(seed * 100003 + step)
    return random.Random(seed * 7919 + step)


def _resume(model, opt, ckpt: StageCheckpoint, stage: str, log):
    """(step, history) to continue from: the stage's checkpoint if there is one, else (0, []). A finished
    stage's checkpoint has no optimizer state (see _finish)."""
    state = ckpt.load()
    if not state:
        return 0, []
    model.load_state_dict(state["model"])  # copies into the model's device and dtype
    if "opt" in state:
        opt.load_state_dict(state["opt"])
    log(f"[{stage}] resumed at step {state['step']} from {ckpt.path}")
    return state["step"], state["history"]


def round_weights_(model, dtype: torch.dtype):
    """Rounds the model's float weights to dtype's precision, in place (they stay float32); returns the model."""
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(dtype))
    return model


def _finish(model, ckpt: StageCheckpoint, step: int, history, weights_dtype: torch.dtype, seconds: float):
    """A stage's last checkpoint: its weights rounded to weights_dtype (in the model too, so a run that resumes
    from this file and one that did not continue from the same numbers) and no optimizer state: it is the
    stage's result, a third of the size, small enough to bring back from a GPU machine. The last history
    entry records the device it ran on and this run's seconds in the stage."""
    round_weights_(model, weights_dtype)
    if history:
        history[-1].update(device=next(model.parameters()).device.type, seconds=round(seconds, 1))
    state = {k: (v.to(weights_dtype) if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    ckpt.save({"step": step, "model": state, "history": history})


def _on(device, tensors):
    """Batches are drawn on the CPU (the same draws on every device) and then moved to the model's device."""
    return tuple(t.to(device) for t in tensors)


def pretrain(model, stream, cfg: PretrainConfig, seed: int, ckpt: StageCheckpoint, every: int, log=print,
             weights_dtype=torch.float32):
    """Trains `model` on its device; weights_dtype: what the finished stage's weights are rounded to (_finish)."""
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.adam_betas)
    start, history = _resume(model, opt, ckpt, "pretrain", log)
    model.train()
    t0 = time.time()
    for step in range(start, cfg.steps):
        rng = reseed(seed, step)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, cfg.steps, cfg.lr, cfg.warmup)
        ids, mask = _on(device, stream_windows(stream, cfg.batch_size, cfg.seq_len, rng))
        loss = lm_loss(model(ids, mask).logits, ids, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            history.append({"step": step + 1, "lm_loss": round(loss.item(), 4)})
            log(f"[pretrain] step {step + 1}/{cfg.steps} lm_loss {loss.item():.3f} ({time.time() - t0:.0f}s)")
        if (step + 1) % every == 0 and step + 1 < cfg.steps:
            ckpt.save({"step": step + 1, "model": model.state_dict(), "opt": opt.state_dict(), "history": history})
    if start < cfg.steps:
        _finish(model, ckpt, cfg.steps, history, weights_dtype, time.time() - t0)
    model.eval()
    return history


class PairSampler:
    """(view1, view2) = two different training prompts of one concept. A batch holds per_concept pairs of
    each chosen concept (distinct prompts); info_nce masks same-concept rows out of the negatives, so every
    negative is a different concept (per_concept=1: one pair per concept, the paper's setting)."""

    def __init__(self, tok, examples, concepts, template, add_bos, max_tokens):
        self.by_concept = {c: [] for c in concepts}
        for ex in examples:
            self.by_concept[ex.concept].append(encode_prompt(tok, ex.prompt, template, add_bos, max_tokens)[0])
        self.concepts = list(concepts)
        self.pad_id = tok.pad_id

    @classmethod
    def from_encoded(cls, by_concept: dict, pad_id: int):
        """A sampler over prompts already encoded ({concept: [ids]}, concepts in that order): what build's data
        cache holds, so training needs no tokenizer."""
        sampler = cls.__new__(cls)
        sampler.by_concept, sampler.concepts, sampler.pad_id = by_concept, list(by_concept), pad_id
        return sampler

    def sample(self, n_pairs, rng, per_concept=1):
        """((ids, mask) of the 2n views, n, the pairs' concept indices): n_pairs pairs, per_concept per concept."""
        chosen = rng.sample(self.concepts, min(-(-n_pairs // per_concept), len(self.concepts)))
        v1, v2, labels = [], [], []
        for c in chosen:
            drawn = rng.sample(self.by_concept[c], 2 * per_concept)
            v1 += drawn[0::2]
            v2 += drawn[1::2]
            labels += [self.concepts.index(c)] * per_concept
        return pad_batch(v1 + v2, self.pad_id), len(v1), torch.tensor(labels)


def dialogue_windows(cfg: SeerConfig) -> int:
    """How many of a step's general_batch_size retain/KL windows are cut from the dialogue stream."""
    return round(cfg.retain_dialogue_share * cfg.general_batch_size)


def seer_losses(model, frozen_forward, pair_batch, general_batch, cfg: SeerConfig, target_layers):
    """One SEER step's objective: InfoNCE on pooled states (cfg.pooling) of (view1, view2) at the target layers,
    l2 retain and KL against the frozen model on general text. Returns (total, contrastive, retain, kl)."""
    (ids, mask), n, labels = pair_batch
    hs = model(ids, mask, upto_layer=max(target_layers)).hidden_states
    pooled = [pool(hs[l], mask, cfg.pooling) for l in target_layers]
    contrast = torch.stack([info_nce(p[:n], p[n:], cfg.logit_scale, labels) for p in pooled]).mean()
    gids, gmask = general_batch
    out = model(gids, gmask)
    with torch.no_grad():
        ref = frozen_forward(gids, gmask)
    # The dialogue windows come last in the batch (seer_finetune); without retain_dialogue_l2 only KL sees them.
    r = len(gids) - (0 if cfg.retain_dialogue_l2 else dialogue_windows(cfg))
    retain = retain_l2([h[:r] for h in out.hidden_states], [h[:r] for h in ref.hidden_states], gmask[:r])
    kl = kl_to_frozen(out.logits, ref.logits, gmask)
    total = cfg.contrastive_weight * contrast + cfg.retain_weight * retain + cfg.kl_weight * kl
    return total, contrast, retain, kl


def seer_finetune(model, pairs: PairSampler, general_stream, cfg: SeerConfig, target_layers, seed,
                  ckpt: StageCheckpoint, every: int, probe=None, log=print, weights_dtype=torch.float32,
                  dialogue_stream=None):
    """Returns (merged model, history), trained on the model's device. probe = (ids, mask, labels) of held-out
    prompts (never trained on) for the logged same/different-concept cosine. dialogue_stream: the token stream
    that cfg.retain_dialogue_share of the retain/KL windows are cut from (required when that share is > 0)."""
    n_dialogue = dialogue_windows(cfg)
    if n_dialogue and dialogue_stream is None:
        raise ValueError("seer.retain_dialogue_share > 0 needs a dialogue stream")
    device = next(model.parameters()).device
    if probe is not None:
        probe = _on(device, probe)
    frozen = copy.deepcopy(model).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    if cfg.lora:
        # The adapters' initialisation draws from the global RNG: seed it here, or a build that resumed a finished
        # pretrain stage (a fresh process, a baseline twin: pretrained.py) draws other adapters than one that
        # pretrained in this process. Steps reseed themselves (reseed(seed + 1, step)); this seed is none of theirs.
        torch.manual_seed(seed * 100003 - 1)
        params = apply_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout)
    else:
        params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.adam_betas)
    start, history = _resume(model, opt, ckpt, "seer", log)
    t0 = time.time()
    for step in range(start, cfg.steps):
        rng = reseed(seed + 1, step)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, cfg.steps, cfg.lr, cfg.warmup)
        model.train()
        (ids, mask), n, labels = pairs.sample(cfg.pairs_per_batch, rng, cfg.pairs_per_concept)
        pair_batch = (_on(device, (ids, mask)), n, labels.to(device))
        general = stream_windows(general_stream, cfg.general_batch_size - n_dialogue, cfg.general_seq_len, rng)
        if n_dialogue:  # drawn after the general windows: a share of 0 draws exactly what it did before this setting
            dialogue = stream_windows(dialogue_stream, n_dialogue, cfg.general_seq_len, rng)
            general = tuple(torch.cat(parts) for parts in zip(general, dialogue))
        general = _on(device, general)
        loss, contrast, retain, kl = seer_losses(model, frozen, pair_batch, general, cfg, target_layers)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            entry = {"step": step + 1, "loss": round(loss.item(), 4), "contrastive": round(contrast.item(), 4),
                     "retain": round(retain.item(), 5), "kl": round(kl.item(), 5)}
            if probe is not None:
                model.eval()
                with torch.no_grad():
                    phs = model(probe[0], probe[1], upto_layer=max(target_layers)).hidden_states
                for l in target_layers:
                    s, d = same_different_cosine(pool(phs[l], probe[1], cfg.pooling), probe[2])
                    entry[f"layer{l}"] = {"same": round(s, 4), "different": round(d, 4)}
            history.append(entry)
            log(f"[seer] step {step + 1}/{cfg.steps} {entry} ({time.time() - t0:.0f}s)")
        if (step + 1) % every == 0 and step + 1 < cfg.steps:
            ckpt.save({"step": step + 1, "model": model.state_dict(), "opt": opt.state_dict(), "history": history})
    if start < cfg.steps:
        _finish(model, ckpt, cfg.steps, history, weights_dtype, time.time() - t0)
    if cfg.lora:
        merge_lora(model)
    model.eval()
    return model, history
