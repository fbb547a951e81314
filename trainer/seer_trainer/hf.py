"""`hf-train`: SEER-train a Hugging Face checkpoint on the user's labelled data, without transformers, and
write the result as a bundle through the same path as `import` (hf_import.import_checkpoint).

The model is hf_model.HFDecoder with its weights frozen and LoRA adapters (lora.py) on the projections of
the blocks that compute the target layer's state (blocks 0..t-1 for hidden state t; t = round(0.78 L) by
default, as `import` marks it). The frozen model is the same module with the adapters switched off, so
the retain (l2 of every layer's states) and KL (token probabilities) terms on general text need no second
copy of the weights. Prompts are the model's own chat template, tokenized by the engine itself
(engine_tokenizer.py). Export: the adapters merged into the weights, written as a Hugging Face checkpoint
(Hugging Face tensor names, safetensors) in a temporary folder, imported, then moved into place whole."""
import os
import shutil
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

from .batching import pad_batch, stream_windows, token_stream
from .calibrate import held_out_mask
from .checkpoint import StageCheckpoint, fingerprint
from .config import HFConfig, config_dict, load_hf_config
from .datasets import load_labelled
from .engine_tokenizer import encode
from .errors import SeerInputError
from .export import write_manifest
from .general_text import read_wordnet
from .hf_families import load_decoder_config
from .hf_import import _check_output, _tokenizer_files, import_checkpoint, prompt_format, target_layer
from .hf_model import HFDecoder
from .io_utils import sha256_file
from .lora import adapters_disabled, apply_lora, lora_state, merged_tensors
from .losses import CONTRASTIVE_LOSSES, kl_to_frozen, retain_l2, same_different_cosine
from .safetensors_io import Checkpoint, write_safetensors
from .train import learning_rate, reseed

CHECKPOINT_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class PromptRows:
    """The user's rows as model input: token ids and the read-out position of each, grouped by concept."""

    def __init__(self, encoded, labels, pad_id: int):
        self.ids = [e.ids for e in encoded]
        self.positions = [e.position for e in encoded]
        self.labels = list(labels)
        self.pad_id = pad_id
        self.by_concept = {}
        for i, y in enumerate(self.labels):
            self.by_concept.setdefault(y, []).append(i)

    def batch(self, rows, device):
        ids, mask = pad_batch([self.ids[i] for i in rows], self.pad_id)
        return ids.to(device), mask.to(device), torch.tensor([self.positions[i] for i in rows], device=device)

    def sample_pairs(self, n_pairs, rng, device):
        """(view1, view2) = two different rows of one concept, one pair per concept drawn, so every
        in-batch negative is another concept (as train.PairSampler). Returns (ids, mask, positions), n."""
        pairable = [c for c, rows in self.by_concept.items() if len(rows) >= 2]
        chosen = rng.sample(pairable, min(n_pairs, len(pairable)))
        pairs = [rng.sample(self.by_concept[c], 2) for c in chosen]
        return self.batch([a for a, _ in pairs] + [b for _, b in pairs], device), len(chosen)


def seer_objective(model, pair_batch, general_batch, s, target_layers, contrastive):
    """(total, contrastive, retain, kl): the contrastive loss on the read-out states of (view1, view2) at the
    target layers; l2 retain of every layer's states and KL(frozen || trained) of the token distributions
    on general text, the frozen model being the same one with its adapters off."""
    (ids, mask, positions), n = pair_batch
    hs = model(ids, mask).hidden_states
    rows = torch.arange(ids.shape[0], device=ids.device)
    read = [hs[l][rows, positions].float() for l in target_layers]
    contrast = torch.stack([contrastive(z[:n], z[n:], s.logit_scale) for z in read]).mean()
    gids, gmask = general_batch
    out = model(gids, gmask)
    with torch.no_grad(), adapters_disabled(model):
        ref = model(gids, gmask)
        ref_logits = model.logits(ref.hidden_states[-1]).float()
    retain = retain_l2([h.float() for h in out.hidden_states], [h.float() for h in ref.hidden_states], gmask)
    kl = kl_to_frozen(model.logits(out.hidden_states[-1]).float(), ref_logits, gmask)
    total = s.contrastive_weight * contrast + s.retain_weight * retain + s.kl_weight * kl
    return total, contrast, retain, kl


@torch.no_grad()
def layer_cosines(model, rows: PromptRows, which, device, batch_size=16):
    """Per layer 0..L: mean same- and different-concept cosine of the read-out states of rows `which`."""
    states = []
    for i in range(0, len(which), batch_size):
        ids, mask, positions = rows.batch(which[i:i + batch_size], device)
        hs = model(ids, mask).hidden_states
        states.append(torch.stack([h[torch.arange(len(ids), device=device), positions].float().cpu() for h in hs]))
    z = torch.cat(states, 1)
    labels = torch.tensor([rows.labels[i] for i in which])
    return [same_different_cosine(z[l], labels) for l in range(z.shape[0])]


def _general_texts(a, cfg: HFConfig):
    if not a.general:
        return read_wordnet(cfg.general_max_lines), "WordNet glosses (wordnet-base)"
    path = Path(a.general)
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        raise SeerInputError(f"{path}: file not found; --general takes a text file, one text per line")
    except UnicodeDecodeError as e:
        raise SeerInputError(f"{path}: not UTF-8 (byte offset {e.start}); re-save it as UTF-8")
    lines = [line for line in lines if line]
    if not lines:
        raise SeerInputError(f"{path}: no text; --general takes a text file, one text per line")
    return lines, path.name


def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SeerInputError("--device cuda: this PyTorch sees no CUDA GPU (torch.cuda.is_available() is false); use --device cpu")
    return torch.device(name)


def _process_group(device_name: str):
    """(rank, world size, device). Under `torchrun` or `accelerate launch` (WORLD_SIZE > 1) each process trains on
    its own device with its own pairs and general windows; the adapters start identical (same seed) and their
    gradients are averaged after every backward, so every rank holds the same adapters and resumes from the same
    checkpoint. Rank 0 logs, checkpoints, measures and exports."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, _device(device_name)
    import torch.distributed as dist
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = _device(device_name)
    if device.type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def _average_gradients(params, world: int):
    import torch.distributed as dist
    for p in params:
        dist.all_reduce(p.grad)
        p.grad /= world


def _read_data(a):
    flags = {**{c: "--text" for c in a.text}, a.label: "--label"}
    rows, skipped = load_labelled(a.data, a.text, a.label, flags=flags)
    counts = {}
    for r in rows:
        counts[r.concept] = counts.get(r.concept, 0) + 1
    singles = [c for c, n in counts.items() if n < 2]
    if singles:  # a concept with one row makes no pair (and, as in calibrate, cannot be measured)
        skipped["concept with a single example"] = len(singles)
        rows = [r for r in rows if counts[r.concept] >= 2]
    concepts = list(dict.fromkeys(r.concept for r in rows))
    if len(concepts) < 2:
        raise SeerInputError(f"{a.data}: SEER training contrasts concepts, so it needs at least two concepts with two rows "
                             f"or more each in column {a.label!r}; found {len(concepts)}")
    return rows, concepts, skipped


def _move_into_place(bundle: Path, out: Path):
    """out <- bundle; an old bundle (--force) is removed only once the new one is in place."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".replaced"))
        out.rename(old / out.name)
    try:
        bundle.rename(out)
    except BaseException:
        if old is not None:
            (old / out.name).rename(out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@dataclass
class TrainingData:
    concepts: list
    rows: PromptRows  # every usable row
    train: PromptRows  # the rows trained on
    held_rows: list  # indices into rows: the engine's seeded held-out split, measured and never trained on
    general_stream: torch.Tensor  # the general text as one token stream (bos text eos ...)
    summary: dict  # what the manifest records about the data


def prepare_data(a, cfg: HFConfig, src: Path, config, prompt: dict, log) -> TrainingData:
    """The user's rows and the general text, read, split and tokenized by the engine."""
    rows, concepts, skipped = _read_data(a)
    labels = [concepts.index(r.concept) for r in rows]
    held = held_out_mask(labels, concepts).tolist()
    general, general_name = _general_texts(a, cfg)
    log(f"tokenizing {len(rows)} rows and {len(general)} general texts with the engine's tokenizer …")
    manifest = {**prompt, "architecture": {"vocabSize": config.vocab_size, "maxContext": config.max_position_embeddings}}
    encoded, general_ids, special = encode(src / "tokenizer.json", manifest, [r.text for r in rows], general, cfg.prompt.max_tokens, a.position)
    if a.position == "request-end" and not all(e.has_suffix for e in encoded):
        raise SeerInputError("--position request-end reads the template token right after the prompt, but this model's prompt "
                             f"format {prompt['promptTemplate']!r} has none (a base model without a chat template): use --position last")
    bos_id, eos_id, pad_id = special["bos"], special["eos"], special["pad"]
    train_rows = [i for i, h in enumerate(held) if not h]
    trainset = PromptRows([encoded[i] for i in train_rows], [labels[i] for i in train_rows], pad_id)
    if sum(1 for v in trainset.by_concept.values() if len(v) >= 2) < 2:
        raise SeerInputError(f"{a.data}: after holding out rows for measurement, fewer than two concepts have two training "
                             "rows; add rows (five or more per concept)")
    # batching.token_stream over the ids the engine computed (bos is eos for a model without one, e.g. Qwen)
    stream = token_stream(SimpleNamespace(bos_id=bos_id, eos_id=eos_id, encode=dict(zip(general, general_ids)).__getitem__),
                          general, cfg.seed + 1)
    if len(stream) <= cfg.seer.general_seq_len:
        raise SeerInputError(f"the general text has {len(stream)} tokens, fewer than one window of seer.general_seq_len "
                             f"{cfg.seer.general_seq_len}; give --general more text")
    held_rows = [i for i, h in enumerate(held) if h]
    summary = {"data": Path(a.data).name, "textColumns": list(a.text), "labelColumn": a.label, "concepts": concepts,
               "rows": {"train": len(train_rows), "heldOut": len(held_rows), "skipped": skipped,
                        "truncated": sum(1 for e in encoded if e.truncated)}, "general": general_name}
    return TrainingData(concepts, PromptRows(encoded, labels, pad_id), trainset, held_rows, stream, summary)


def load_adapted_model(src: Path, config, cfg: HFConfig, lora_layers: int, device: torch.device):
    """HFDecoder with frozen weights (bf16 on CUDA, float32 on CPU) and LoRA adapters on blocks 0..lora_layers-1."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with Checkpoint(src) as weights:
        model = HFDecoder(config, device="meta").load_weights(weights, dtype)
    model.to(device)
    model.gradient_checkpointing = device.type == "cuda"
    s = cfg.seer
    torch.manual_seed(cfg.seed)  # the adapters' initialisation: a rerun trains the same model
    params = apply_lora(model, s.lora_rank, s.lora_alpha, s.lora_dropout, targets=tuple(cfg.lora_targets),
                        include=lambda name: name.startswith("model.layers.") and int(name.split(".")[2]) < lora_layers)
    return model, params


def train(model, params, data: TrainingData, cfg: HFConfig, targets, loss_name: str, ckpt: StageCheckpoint, device, log,
          rank=0, world=1):
    """The SEER steps from the last checkpoint on; returns the logged history."""
    s = cfg.seer
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, betas=s.adam_betas)
    contrastive = CONTRASTIVE_LOSSES[loss_name]
    start, history = 0, []
    state = ckpt.load()
    if state:
        model.load_state_dict(state["lora"], strict=False)
        opt.load_state_dict(state["opt"])
        start, history = state["step"], state["history"]
        log(f"[hf-seer] resumed at step {start} from {ckpt.path}")
    t0 = time.time()
    for step in range(start, s.steps):
        rng = reseed(cfg.seed + rank, step)
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, s.steps, s.lr, s.warmup)
        model.train()
        pairs = data.train.sample_pairs(s.pairs_per_batch, rng, device)
        general = tuple(t.to(device) for t in stream_windows(data.general_stream, s.general_batch_size, s.general_seq_len, rng))
        with _autocast(device):
            loss, contrast, retain, kl = seer_objective(model, pairs, general, s, targets, contrastive)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if world > 1:
            _average_gradients(params, world)
        torch.nn.utils.clip_grad_norm_(params, s.grad_clip)
        opt.step()
        if (step + 1) % s.log_every == 0 or step + 1 == s.steps:
            entry = {"step": step + 1, "loss": round(loss.item(), 4), "contrastive": round(contrast.item(), 4),
                     "retain": round(retain.item(), 5), "kl": round(kl.item(), 5)}
            history.append(entry)
            log(f"[hf-seer] step {step + 1}/{s.steps} loss {entry['loss']} {loss_name} {entry['contrastive']} "
                f"retain {entry['retain']} kl {entry['kl']} ({time.time() - t0:.0f}s)")
        if rank == 0 and ((step + 1) % cfg.checkpoint_every == 0 or step + 1 == s.steps):
            ckpt.save({"step": step + 1, "lora": lora_state(model), "opt": opt.state_dict(), "history": history})
    model.eval()
    return history


def before_and_after(model, data: TrainingData, targets, position: str, device, log):
    """Per layer, same/different-concept cosine of the held-out rows with the adapters off (the original) and on."""
    measured = data.held_rows if len(data.held_rows) >= 2 else [i for i in range(len(data.rows.ids)) if i not in data.held_rows]
    rows_kind = "held-out" if measured is data.held_rows else "training (too few held-out rows: add rows)"
    with _autocast(device):
        with adapters_disabled(model):
            before = layer_cosines(model, data.rows, measured, device)
        after = layer_cosines(model, data.rows, measured, device)
    cosines = [{"layer": l, "before": _pair(b), "after": _pair(c)} for l, (b, c) in enumerate(zip(before, after))]
    log(f"same / different-concept cosine at the {position} token, {len(measured)} {rows_kind} rows, before -> after:")
    for c in cosines:
        b, f = c["before"], c["after"]
        log(f"  layer {c['layer']:>3}: same {b['same']:.3f} -> {f['same']:.3f}   different {b['different']:.3f} -> "
            f"{f['different']:.3f}   gap {b['gap']:.3f} -> {f['gap']:.3f}{' (target)' if c['layer'] in targets else ''}")
    return cosines, rows_kind


def _autocast(device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def run_hf(a, log=print):
    a.text = a.text or ["prompt"]
    cfg: HFConfig = load_hf_config(a.config)
    s = cfg.seer
    if not s.lora:
        raise SeerInputError(f"{a.config}: seer.lora is false, but hf-train trains LoRA adapters only; set it to true")
    if a.steps is not None:
        if a.steps < 1:
            raise SeerInputError(f"--steps {a.steps}: give a number of training steps of 1 or more")
        s.steps = a.steps
    src, out = Path(a.hf_model), Path(a.out)
    if not src.is_dir():
        raise SeerInputError(f"{src}: not a folder; --hf-model takes a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    _check_output(src, out, a.force)  # before training, not after it
    rank, world, device = _process_group(a.device)
    if rank:
        log = _quiet
    config = load_decoder_config(src)
    tokenizer_json, tokenizer_config = _tokenizer_files(src)
    template, add_bos, special = prompt_format(tokenizer_config, tokenizer_json, log)
    targets = list(cfg.target_layers or [target_layer(config.num_layers)])
    if not all(isinstance(t, int) and 1 <= t <= config.num_layers for t in targets):
        raise SeerInputError(f"{a.config}: target_layers {targets} must be layers 1..{config.num_layers} of this model")
    data = prepare_data(a, cfg, src, config, {"promptTemplate": template, "addBos": add_bos, "specialTokens": special}, log)

    lora_layers = max(targets)
    model, params = load_adapted_model(src, config, cfg, lora_layers, device)
    ckpt = StageCheckpoint(a.ckpt_dir, "hf-seer", fingerprint({
        "model": config.__dict__, "weights": _weights_identity(src), "config": config_dict(cfg), "data": sha256_file(Path(a.data)),
        "text": a.text, "label": a.label, "general": fingerprint(data.general_stream.tolist()), "loss": a.loss,
        "position": a.position}))
    log(f"[hf-seer] {config.architecture}, {config.num_layers} layers: {a.loss} at layer(s) {targets} ({a.position} token), "
        f"LoRA r {s.lora_rank} alpha {s.lora_alpha:g} on blocks 0..{lora_layers - 1}, {data.summary['rows']['train']} training / "
        f"{data.summary['rows']['heldOut']} held-out rows of {len(data.concepts)} concepts, {s.steps} steps on {device.type}"
        + (f" x {world} processes" if world > 1 else ""))
    history = train(model, params, data, cfg, targets, a.loss, ckpt, device, log, rank, world)
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
        if rank:
            return None
    cosines, rows_kind = before_and_after(model, data, targets, a.position, device, log)
    summary = {
        "method": "SEER (hf-train)", "source": src.resolve().name, **data.summary, "loss": a.loss, "position": a.position,
        "targetLayers": targets, "lora": {"rank": s.lora_rank, "alpha": s.lora_alpha, "dropout": s.lora_dropout,
                                          "blocks": [0, lora_layers - 1], "modules": list(cfg.lora_targets)},
        "steps": s.steps, "lr": s.lr, "logitScale": s.logit_scale, "seed": cfg.seed, "device": device.type, "processes": world,
        "trainingDtype": "bfloat16" if device.type == "cuda" else "float32", "history": history,
        "cosineRows": rows_kind, "layerCosine": cosines,
    }
    return export_bundle(model, src, out, summary, a.dtype, log)


def _quiet(*_):
    pass


def _weights_identity(src: Path):
    """Tensor names and shapes, and each weight file's size and modification time (hashing gigabytes would be slow)."""
    with Checkpoint(src) as ckpt:
        tensors = sorted((n, list(ckpt.shape(n))) for n in ckpt.names())
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in src.glob("*.safetensors"))
    return {"tensors": tensors, "files": files}


def _pair(same_different):
    same, different = same_different
    return {"same": round(same, 5), "different": round(different, 5), "gap": round(same - different, 5)}


def export_bundle(model, src: Path, out: Path, summary: dict, dtype="fp32", log=print) -> dict:
    """Merged weights -> a Hugging Face checkpoint folder -> import_checkpoint -> seer.json with the training
    summary -> `out`, all inside a temporary folder beside `out` (an interruption leaves nothing)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".training"))
    try:
        merged = staging / f"{src.resolve().name}-seer"  # import names the bundle after this folder
        merged.mkdir()
        write_safetensors(merged / "model.safetensors", lambda: ((n, t.cpu()) for n, t in merged_tensors(model)), {"format": "pt"})
        for name in CHECKPOINT_FILES:
            if (src / name).is_file():
                shutil.copyfile(src / name, merged / name)
        bundle = staging / "bundle"
        m = import_checkpoint(merged, bundle, log=lambda line: None if line.startswith("wrote ") else log(line), dtype=dtype)
        m["description"] = f"{summary['source']} SEER-trained on {summary['data']} ({summary['loss']}, {summary['steps']} steps)"
        m["targetLayers"] = summary["targetLayers"]
        m["representation"] = summary["position"]
        m["training"] = {**m.get("training", {}), "importedFrom": summary["source"], "seer": summary}
        write_manifest(bundle, m)
        _move_into_place(bundle, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"[hf-seer] wrote {out} (no concept bank yet): calibrate one with `seer calibrate DATA --label {summary['labelColumn']} "
        f"--bundle {out} --bank-name default`; to compare with the original: `seer import {src} --out ORIGINAL`, then "
        f"`seer eval DATA --label {summary['labelColumn']} --bundle {out} --compare-bundle ORIGINAL`")
    return m
