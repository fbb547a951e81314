"""Build configuration: model shape plus the hyper-parameters of each stage, read from a JSON file."""
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SeerInputError


@dataclass
class ModelConfig:
    vocab_size: int = 2048
    hidden_size: int = 128
    num_layers: int = 6
    num_heads: int = 4
    intermediate_size: int = 352
    max_context: int = 512
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tied_embeddings: bool = True


@dataclass
class PretrainConfig:
    steps: int = 3000
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    concept_fraction: float = 0.3  # share of batch rows drawn from concept dialogues (train split)


@dataclass
class SeerConfig:
    steps: int = 400
    pairs_per_batch: int = 10  # at most one pair per concept per batch (in-batch negatives)
    lr: float = 2e-3
    contrastive_weight: float = 1.0
    retain_weight: float = 1.0
    kl_weight: float = 1.0
    logit_scale: float = 10.0
    general_batch_size: int = 8
    general_seq_len: int = 64
    lora: bool = True  # False: full fine-tuning
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.05
    log_every: int = 50


@dataclass
class BuildConfig:
    seed: int = 1234
    threads: int = 1
    target_layers: list = field(default_factory=lambda: [4])
    checkpoint_every: int = 250
    general_max_lines: int = 60000  # wordnet glosses read for LM / retain text
    tokenizer_train_chars: int = 2_000_000
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    seer: SeerConfig = field(default_factory=SeerConfig)


def fill_dataclass(cls, data: dict, where: str):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SeerInputError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(known)}.")
    kwargs = {}
    for name, value in data.items():
        sub = {"model": ModelConfig, "pretrain": PretrainConfig, "seer": SeerConfig}.get(name)
        kwargs[name] = fill_dataclass(sub, value, f"{where}.{name}") if (cls is BuildConfig and sub) else value
    return cls(**kwargs)


def load_config(path) -> BuildConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeerInputError(f"{path}: config file not found; pass --config trainer/configs/default.json or another file.")
    except json.JSONDecodeError as e:
        raise SeerInputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg}); fix the file.")
    cfg = fill_dataclass(BuildConfig, data, str(path))
    m = cfg.model
    if m.hidden_size % m.num_heads or (m.hidden_size // m.num_heads) % 2:
        raise SeerInputError(f"{path}: model.hidden_size must be a multiple of 2*num_heads (rotary halves).")
    bad = [l for l in cfg.target_layers if not 1 <= l <= m.num_layers]
    if bad:
        raise SeerInputError(f"{path}: target_layers {bad} out of range 1..{m.num_layers}.")
    return cfg


def config_dict(cfg: BuildConfig) -> dict:
    return dataclasses.asdict(cfg)
