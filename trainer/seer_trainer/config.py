"""Every setting of a build in one place (nanoGPT style): the model's shape, how a prompt becomes model
input, the data sizes and each training stage's hyper-parameters. A config file is JSON with these
fields as keys (sections as nested objects); a key it leaves out takes the default written here."""
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .concepts import CORPUS_VERSIONS
from .errors import SeerInputError
from .general_text import GENERAL_SOURCES


@dataclass
class ModelConfig:
    vocab_size: int = 2048
    hidden_size: int = 128
    num_layers: int = 6
    num_heads: int = 4
    intermediate_size: int = 352  # SwiGLU width
    max_context: int = 512
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tied_embeddings: bool = True


@dataclass
class PromptConfig:
    """Written into the bundle's seer.json (promptTemplate, addBos): the engine reads prompts the same way."""
    template: str = "User: {prompt}\nAssistant:"
    add_bos: bool = True
    max_tokens: int = 128  # longer training / calibration prompts are cut, keeping the template's suffix


@dataclass
class PretrainConfig:
    steps: int = 3000
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 3e-3  # peak; linear warm-up, then cosine decay to 0
    warmup: int = 100
    weight_decay: float = 0.01
    adam_betas: tuple = (0.9, 0.95)
    grad_clip: float = 1.0
    log_every: int = 100


@dataclass
class SeerConfig:
    steps: int = 400
    pairs_per_batch: int = 10  # same-concept pairs per batch (in-batch negatives: the other concepts' rows)
    pairs_per_concept: int = 1  # >1: several pairs of each chosen concept, masked out of each other's negatives
    lr: float = 2e-3
    warmup: int = 50
    weight_decay: float = 0.0
    adam_betas: tuple = (0.9, 0.999)
    grad_clip: float = 1.0
    # Objective: contrastive_weight * InfoNCE + retain_weight * retain + kl_weight * KL.
    contrastive_weight: float = 1.0
    # The retain loss is a mean over the hidden dimension, so its scale does not grow with model width.
    # 128 = the default model's hidden size: the committed models/default was trained with the squared
    # distance summed over its 128 dimensions and weight 1.0, which is this very objective.
    retain_weight: float = 128.0
    kl_weight: float = 1.0
    logit_scale: float = 10.0  # InfoNCE temperature; also the bundle's logitScale
    # The representation the InfoNCE term trains and the bundle is read at (its seer.json "representation"):
    # "last" real token (the paper), or "mean" over the prompt's real tokens (template included, as the engine does).
    pooling: str = "last"
    # Retain and KL run on general text, in windows of:
    general_batch_size: int = 8
    general_seq_len: int = 64
    # The share of those windows cut from the LM stage's templated dialogues (prompt + response) instead:
    # holds the model to its frozen self where it answers, not only on glosses (0: general text only).
    retain_dialogue_share: float = 0.0
    # False: the l2 retain term skips those dialogue windows, so only KL holds them (the InfoNCE term moves exactly
    # the prompt states that l2 would pin; KL lets them move where the next-token distributions do not change).
    retain_dialogue_l2: bool = True
    # build-default: the SEER stage's own seed (None: the config's `seed`). Another value trains the same stage again
    # on the same rows from the same LM stage, so what the seed alone moves can be measured.
    seed: Optional[int] = None
    lora: bool = True  # False: full fine-tuning
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.05
    log_every: int = 50


@dataclass
class BuildConfig:
    """`build-default`: the project's own model, trained from scratch on generated data."""
    seed: int = 1234
    threads: int = 1
    # "auto": cuda when torch sees a GPU, else cpu. Not part of the checkpoints' fingerprints: a build resumes
    # on another device (the numbers then differ from an uninterrupted run at float precision).
    device: str = "auto"
    # What each finished stage's weights are rounded to and the bundles store: "float16" halves model.onnx
    # and model.pt; the models are evaluated with the rounded weights, so every reported number is theirs.
    weights_dtype: str = "float32"
    # CUDA only: float32 matmuls on TF32 tensor cores (still deterministic; ~10-bit mantissa products). Measured
    # on an H200 the large config is bound by per-op overhead, so TF32 buys a bigger batch in the same time.
    tf32: bool = False
    # The concept corpus's version (concepts.py): 1 = the ten concepts (the committed default model), 2 = twelve
    # and more contrast prompts, 3 = the ten concepts with more contrast prompts and coverage of the prompt kinds
    # the default model misread, but no new concepts.
    # Not in the fingerprints as such: the data fingerprint covers the generated corpus itself.
    corpus: int = 1
    # The concept corpus whose dialogues the LM stage reads (None: `corpus`). The LM stage stands in for a
    # pretrained LLM, which never saw the SEER corpus: pinning it lets the SEER corpus change without a new
    # pretraining run (hours on a CPU), as SEER on a real LLM does.
    pretrain_corpus: int | None = None
    target_layers: list = field(default_factory=lambda: [4])
    checkpoint_every: int = 250
    general_max_lines: int = 60000  # wordnet glosses read for LM / retain text
    # The general text's sources (general_text.GENERAL_SOURCES), in order.
    general_sources: list = field(default_factory=lambda: ["wordnet"])
    tokenizer_train_chars: int = 2_000_000
    max_lm_dialogues: int = 16000  # concept dialogues in the LM corpus: general text stays the bulk of it
    calibration_per_concept: int = 120  # held-in training prompts per concept for the default bank
    probe_per_concept: int = 8  # held-out test prompts per concept for the logged same/different cosine
    model: ModelConfig = field(default_factory=ModelConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    seer: SeerConfig = field(default_factory=SeerConfig)


@dataclass
class HFConfig:
    """`hf-train`: the SEER stage on a Hugging Face checkpoint. Its shape comes from the model's config.json and
    its prompt format from its chat template: of `prompt`, only max_tokens (prompt tokens kept per row) is read."""
    seed: int = 1234
    target_layers: Optional[list] = None  # None: round(0.78 * depth), the layer `import` marks (25 of 32)
    lora_targets: list = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    checkpoint_every: int = 100
    general_max_lines: int = 20000  # WordNet lines read when there is no --general file
    prompt: PromptConfig = field(default_factory=lambda: PromptConfig(max_tokens=256))
    # The paper's defaults (LoRA r 16 / alpha 16, lr 1e-4); retain 1.0: the l2 term is a mean over hidden units.
    seer: SeerConfig = field(default_factory=lambda: SeerConfig(
        steps=1000, lr=1e-4, weight_decay=0.01, retain_weight=1.0, general_batch_size=4, general_seq_len=128,
        lora_rank=16, lora_alpha=16.0, log_every=20))


DEVICES = ("auto", "cpu", "cuda")
POOLINGS = ("last", "mean")  # engine/src/bundle/manifest.ts POOLINGS, less request-end (a Hugging Face import's)
WEIGHTS_DTYPES = ("float32", "float16")


def fill_dataclass(cls, data: dict, where: str):
    """cls built from a JSON object; nested dataclass fields from nested objects. Unknown keys are errors."""
    if not isinstance(data, dict):
        raise SeerInputError(f"{where}: expected a JSON object, got {json.dumps(data)}.")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SeerInputError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(known)}.")
    kwargs = {}
    for name, value in data.items():
        section = known[name].type
        if dataclasses.is_dataclass(section):
            # A section's missing keys take that section's defaults in cls (e.g. HFConfig's prompt).
            value = dataclasses.asdict(getattr(cls(), name)) | value if isinstance(value, dict) else value
            kwargs[name] = fill_dataclass(section, value, f"{where}.{name}")
        else:
            kwargs[name] = tuple(value) if section is tuple and isinstance(value, list) else value
    return cls(**kwargs)


def read_config(path, cls, example: str):
    """A config file as cls; a missing file or bad JSON is a SeerInputError naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeerInputError(f"{path}: config file not found; pass --config {example} or another file.")
    except json.JSONDecodeError as e:
        raise SeerInputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg}); fix the file.")
    return fill_dataclass(cls, data, str(path))


def load_config(path) -> BuildConfig:
    cfg = read_config(path, BuildConfig, "trainer/configs/default.json")
    m = cfg.model
    if m.hidden_size % m.num_heads or (m.hidden_size // m.num_heads) % 2:
        raise SeerInputError(f"{path}: model.hidden_size must be a multiple of 2*num_heads (rotary halves).")
    bad = [l for l in cfg.target_layers if not 1 <= l <= m.num_layers]
    if bad:
        raise SeerInputError(f"{path}: target_layers {bad} out of range 1..{m.num_layers}.")
    if cfg.seer.pooling not in POOLINGS:
        raise SeerInputError(f"{path}: seer.pooling must be one of {list(POOLINGS)}, not {cfg.seer.pooling!r}.")
    s = cfg.seer
    if not 0.0 <= s.retain_dialogue_share < 1.0 or round(s.retain_dialogue_share * s.general_batch_size) >= s.general_batch_size:
        raise SeerInputError(f"{path}: seer.retain_dialogue_share must be at least 0 and leave at least one of the "
                             f"{s.general_batch_size} general windows (seer.general_batch_size), not {s.retain_dialogue_share!r}.")
    if cfg.device not in DEVICES:
        raise SeerInputError(f"{path}: device {cfg.device!r} is not one of {list(DEVICES)}.")
    if cfg.weights_dtype not in WEIGHTS_DTYPES:
        raise SeerInputError(f"{path}: weights_dtype {cfg.weights_dtype!r} is not one of {list(WEIGHTS_DTYPES)}.")
    if cfg.corpus not in CORPUS_VERSIONS:
        raise SeerInputError(f"{path}: corpus {cfg.corpus!r} is not one of {list(CORPUS_VERSIONS)} (trainer/seer_trainer/concepts.py).")
    if not cfg.general_sources or any(s not in GENERAL_SOURCES for s in cfg.general_sources):
        raise SeerInputError(f"{path}: general_sources {cfg.general_sources!r}: each must be one of {list(GENERAL_SOURCES)}, at least one.")
    if cfg.pretrain_corpus is not None and cfg.pretrain_corpus not in CORPUS_VERSIONS:
        raise SeerInputError(f"{path}: pretrain_corpus {cfg.pretrain_corpus!r} is not one of {list(CORPUS_VERSIONS)} "
                             "or null (trainer/seer_trainer/concepts.py).")
    return cfg


def load_hf_config(path) -> HFConfig:
    cfg = read_config(path, HFConfig, "trainer/configs/hf.json")
    # hf-train has the user's rows and general text, no dialogues of its own to hold the model on
    used = [k for k in ("retain_dialogue_share", "retain_dialogue_l2") if getattr(cfg.seer, k) != getattr(SeerConfig(), k)]
    if used:
        raise SeerInputError(f"{path}: {', '.join(f'seer.{k}' for k in used)}: build-default settings (its LM stage's "
                             "dialogues); hf-train has none, remove them.")
    if cfg.seer.seed is not None:
        raise SeerInputError(f"{path}: seer.seed is a build-default setting (its SEER stage's seed beside its LM stage's); "
                             "hf-train has one stage: set the top-level seed instead.")
    return cfg


# Settings added after models were built, with the value that is the computation from before they existed:
# left out of the recorded config at that value, so those models' fingerprints and seer.json stay as they were.
ADDED_SETTINGS_OFF = {"general_sources": ["wordnet"], "seer": {"retain_dialogue_share": 0.0, "retain_dialogue_l2": True, "seed": None}}


def config_dict(cfg) -> dict:
    """The config as fingerprinted and recorded in seer.json."""
    return _without_off(dataclasses.asdict(cfg), ADDED_SETTINGS_OFF)


def _without_off(d: dict, off: dict) -> dict:
    """d less the settings at their `off` value; a nested dict in `off` applies to that section."""
    return {k: _without_off(v, off[k]) if isinstance(off.get(k), dict) else v
            for k, v in d.items() if isinstance(off.get(k), dict) or k not in off or v != off[k]}
