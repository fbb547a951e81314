"""A build's finished pretrain stage, taken from the baseline twin an earlier build wrote.

The twin is exactly that stage's result: its weights are the stage's weights rounded to weights_dtype, which is
what the stage's last checkpoint holds and what the SEER stage starts from (train._finish). So a machine without
the GPU the LM stage trained on, or a fresh checkout without trainer/.ckpt, rebuilds the SEER stage from the
committed models/baseline instead of pretraining for hours on a CPU, and gets the same default."""
import json
from pathlib import Path

import torch

from .bundle_model import seer_llama_weights
from .checkpoint import StageCheckpoint
from .config import config_dict
from .errors import SeerInputError
from .export import hf_names
from .tokenizer import ByteLevelBPE
from .torch_forward import read_manifest

# Settings a pretrain fingerprint does not cover (build_default): a bundle built with other values of these
# holds the same stage.
NOT_PRETRAIN_SETTINGS = ("device", "weights_dtype", "corpus", "pretrain_corpus", "seer", "target_layers")


def _manifest(bundle: Path) -> dict:
    if not (bundle / "seer.json").is_file():
        raise SeerInputError(f"{bundle}/seer.json not found: --pretrained-from must be a baseline bundle the build wrote "
                             "(e.g. models/baseline), or `none` to pretrain from scratch")
    return read_manifest(bundle)


def why_not_this_stage(bundle: Path, cfg, fp_pretrain: str, vocab: dict, merges: list) -> str:
    """'' when `bundle` holds this build's pretrain stage, else why not (for the log or the error)."""
    training = _manifest(bundle).get("training", {})
    if training.get("stage") != "pretrain only":
        return f"it is not a baseline twin (training stage {training.get('stage')!r}, not 'pretrain only')"
    recorded = training.get("fingerprints", {}).get("pretrain")
    if recorded is not None and recorded != fp_pretrain:
        return f"it was pretrained with other settings or data (pretrain fingerprint {recorded}, this build's {fp_pretrain})"
    if recorded is None:  # written before builds recorded their fingerprints: compare the settings the fingerprint covers
        ours, theirs = json.loads(json.dumps(config_dict(cfg))), training.get("config", {})  # as seer.json holds it (lists)
        differ = sorted(k for k in set(ours) | set(theirs) if k not in NOT_PRETRAIN_SETTINGS and ours.get(k) != theirs.get(k))
        if differ:
            return f"it was pretrained with other settings ({', '.join(differ)} differ)"
    tok = ByteLevelBPE.load(bundle / "tokenizer.json")
    if tok.vocab != vocab or tok.merges != [tuple(m) for m in merges]:
        return "its tokenizer is not the one this build trains from its data (the data changed)"
    return ""


def pretrain_state_from_bundle(bundle: Path, cfg, weights_dtype: torch.dtype) -> dict:
    """The pretrain stage's last checkpoint (train._finish's layout: step, weights in weights_dtype, the history the
    bundle recorded) rebuilt from the bundle's model.onnx. Refuses weights that are not exactly weights_dtype
    values: such a graph is not a stage result of this config."""
    training = _manifest(bundle)["training"]
    try:
        weights = seer_llama_weights(bundle, cfg.model)
    except SeerInputError as err:
        raise SeerInputError(f"{err}; use --pretrained-from none to pretrain from scratch") from None
    state = {}
    for name, t in weights.items():
        if not torch.equal(t, t.to(weights_dtype).float()):
            raise SeerInputError(f"{bundle}/model.onnx: weight {hf_names(cfg.model)[name]} is not rounded to {weights_dtype} as "
                                 "this config's stage results are; use --pretrained-from none to pretrain from scratch")
        state[name] = t.to(weights_dtype).clone()
    return {"step": cfg.pretrain.steps, "model": state, "history": training.get("pretrain", [])}


def seed_pretrain_stage(ckpt: StageCheckpoint, pretrained_from, baseline_dir: Path, cfg, fp_pretrain, data, wdtype, log):
    """build_default's pretrained_from: writes the finished pretrain checkpoint from a baseline bundle when ckpt lacks one."""
    if pretrained_from == "none" or ckpt.path.exists():
        return
    auto = pretrained_from == "auto"
    bundle = baseline_dir if auto else Path(pretrained_from)
    if auto and not (bundle / "seer.json").exists():
        return
    why = why_not_this_stage(bundle, cfg, fp_pretrain, data["vocab"], data["merges"])
    if why and auto:
        log(f"[pretrain] not reusing {bundle}: {why}; pretraining from scratch")
        return
    if why:
        raise SeerInputError(f"--pretrained-from {bundle}: {why}. Pass the baseline bundle this config built, or "
                             "--pretrained-from none to pretrain from scratch.")
    ckpt.save(pretrain_state_from_bundle(bundle, cfg, wdtype))
    log(f"[pretrain] the finished stage comes from {bundle} (its weights are this stage's result): wrote {ckpt.path}")
