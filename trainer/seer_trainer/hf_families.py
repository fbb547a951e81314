"""Hugging Face `config.json` -> one normalised `DecoderConfig`, with one table entry per architecture
family (as TransformerLens's loading_from_pretrained.py does). The decoder in hf_model.py is written
once against DecoderConfig; what differs between families lives here and nowhere else.

transformers saves a config.json without the keys equal to its config class's defaults, so each family
carries those defaults (copied from transformers' configuration_<family>.py)."""
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from .errors import SeerInputError

ROPE_TYPES = ("default", "linear", "llama3")


@dataclass(frozen=True)
class RopeConfig:
    theta: float
    kind: str = "default"  # one of ROPE_TYPES
    factor: float = 1.0
    low_freq_factor: float = 1.0  # llama3 only
    high_freq_factor: float = 4.0  # llama3 only
    original_max_position: int = 8192  # llama3 only


# Norm roles -> the Hugging Face module name inside `model.layers.{i}.`. Llama's
# "post_attention_layernorm" is the norm BEFORE the MLP; Gemma 2's is applied to the attention output.
PRE_NORM_NAMES = {"attn_norm": "input_layernorm", "mlp_norm": "post_attention_layernorm"}
SANDWICH_NORM_NAMES = {"attn_norm": "input_layernorm", "post_attn_norm": "post_attention_layernorm",
                       "mlp_norm": "pre_feedforward_layernorm", "post_mlp_norm": "post_feedforward_layernorm"}


@dataclass(frozen=True)
class DecoderConfig:
    family: str  # model_type: llama, mistral, qwen2, qwen3, gemma2
    architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int  # grouped-query attention: each K/V head serves num_heads / num_kv_heads query heads
    head_dim: int
    intermediate_size: int
    norm_eps: float
    rope: RopeConfig
    max_position_embeddings: int
    tie_word_embeddings: bool
    activation: str = "silu"  # gated MLP: silu (SwiGLU), gelu_tanh or gelu (GeGLU)
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False  # Qwen3: RMSNorm over head_dim on q and k, before RoPE
    norm_plus_one: bool = False  # Gemma: RMSNorm scales by (1 + w)
    embed_scale: float = 1.0  # Gemma: embeddings x sqrt(hidden)
    attn_scale: float = 0.0  # multiplies q.k; 0 means head_dim ** -0.5
    attn_softcap: Optional[float] = None  # scores -> tanh(scores / c) * c
    final_softcap: Optional[float] = None  # logits -> tanh(logits / c) * c
    sliding_window: Optional[int] = None
    sliding_layers: Tuple[bool, ...] = ()  # per layer: True where the window applies
    norm_names: Dict[str, str] = field(default_factory=lambda: dict(PRE_NORM_NAMES))

    @property
    def query_scale(self) -> float:
        return self.attn_scale or self.head_dim ** -0.5


@dataclass(frozen=True)
class Family:
    model_type: str
    architecture: str
    defaults: Dict[str, object]
    specialise: Callable[[dict], dict]  # raw config (defaults applied) -> DecoderConfig fields beyond the common ones


def _llama(c):
    return dict(qkv_bias=bool(c["attention_bias"]), o_bias=bool(c["attention_bias"]), mlp_bias=bool(c.get("mlp_bias", False)))


def _mistral(c):
    window = c.get("sliding_window")
    return dict(sliding_window=window, sliding_layers=(window is not None,) * c["num_hidden_layers"])


def _qwen_window(c):
    # Qwen2/3: the window applies (when enabled) to layers from max_window_layers on.
    window = c["sliding_window"] if c.get("use_sliding_window") else None
    start = c.get("max_window_layers", c["num_hidden_layers"])
    return dict(sliding_window=window, sliding_layers=tuple(window is not None and i >= start for i in range(c["num_hidden_layers"])))


def _qwen2(c):
    return dict(qkv_bias=True, **_qwen_window(c))


def _qwen3(c):
    return dict(qkv_bias=bool(c["attention_bias"]), o_bias=bool(c["attention_bias"]), qk_norm=True, **_qwen_window(c))


def _gemma2(c):
    # Gemma 2 alternates: even layers (0, 2, ...) use the sliding window, odd layers see everything.
    return dict(qkv_bias=bool(c["attention_bias"]), o_bias=bool(c["attention_bias"]), norm_plus_one=True,
                embed_scale=math.sqrt(c["hidden_size"]), attn_scale=float(c["query_pre_attn_scalar"]) ** -0.5,
                attn_softcap=c.get("attn_logit_softcapping"), final_softcap=c.get("final_logit_softcapping"),
                sliding_window=c["sliding_window"], sliding_layers=tuple(i % 2 == 0 for i in range(c["num_hidden_layers"])),
                norm_names=dict(SANDWICH_NORM_NAMES))


_COMMON = dict(num_key_value_heads=None, head_dim=None, hidden_act="silu", rope_theta=10000.0, rope_scaling=None,
               rms_norm_eps=1e-6, tie_word_embeddings=False, attention_bias=False)
FAMILIES = {f.architecture: f for f in (
    Family("llama", "LlamaForCausalLM", dict(_COMMON, max_position_embeddings=2048, mlp_bias=False), _llama),
    Family("mistral", "MistralForCausalLM", dict(_COMMON, num_key_value_heads=8, max_position_embeddings=4096 * 32,
                                                 sliding_window=4096), _mistral),
    Family("qwen2", "Qwen2ForCausalLM", dict(_COMMON, max_position_embeddings=32768, use_sliding_window=False,
                                             sliding_window=4096, max_window_layers=28), _qwen2),
    Family("qwen3", "Qwen3ForCausalLM", dict(_COMMON, head_dim=128, max_position_embeddings=32768, use_sliding_window=False,
                                             sliding_window=4096, max_window_layers=28), _qwen3),
    Family("gemma2", "Gemma2ForCausalLM", dict(_COMMON, head_dim=256, hidden_act="gelu_pytorch_tanh",
                                               hidden_activation="gelu_pytorch_tanh", max_position_embeddings=8192,
                                               tie_word_embeddings=True, query_pre_attn_scalar=256, sliding_window=4096,
                                               final_logit_softcapping=30.0, attn_logit_softcapping=50.0), _gemma2),
)}

ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh", "gelu": "gelu"}
REQUIRED = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
OPTIONAL_COUNTS = ("num_key_value_heads", "head_dim", "sliding_window", "max_window_layers")
MAX_LAYERS, MAX_SIZE = 4096, 2 ** 31 - 1


def supported() -> str:
    return ", ".join(f"{a} ({f.model_type})" for a, f in FAMILIES.items())


def _family(raw: dict, where: str) -> Family:
    archs = raw.get("architectures") or []
    arch = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None
    by_type = {f.model_type: f for f in FAMILIES.values()}
    # model_type as a fallback: early Llama conversions say "LLaMAForCausalLM".
    model_type = raw.get("model_type") if isinstance(raw.get("model_type"), str) else None
    family = FAMILIES.get(arch) or by_type.get(model_type)
    if family is None:
        name = arch or model_type or "an unnamed architecture"
        raise SeerInputError(f"{where}: {name} is not supported without transformers. Supported: {supported()}. "
                             "Other architectures need the transformers path (`--via transformers`, with transformers installed)")
    return family


def _number(value, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SeerInputError(f"{where}: {key} must be a positive number, not {value!r}")
    return float(value)


def _rope(raw: dict, where: str) -> RopeConfig:
    # transformers 5 writes rope_parameters {rope_type, rope_theta, ...}; earlier versions rope_theta + rope_scaling.
    params = raw.get("rope_parameters")
    scaling = params if isinstance(params, dict) else raw.get("rope_scaling")
    theta = _number(params["rope_theta"] if isinstance(params, dict) and "rope_theta" in params else raw["rope_theta"],
                    "rope_theta", where)
    if not scaling:
        return RopeConfig(theta)
    if not isinstance(scaling, dict):
        raise SeerInputError(f"{where}: rope_scaling must be an object, not {scaling!r}")
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if not isinstance(kind, str) or kind not in ROPE_TYPES:
        raise SeerInputError(f"{where}: rope type {kind!r} is not supported without transformers (supported: "
                             f"{', '.join(ROPE_TYPES)}); use `--via transformers`")
    try:
        if kind == "default":
            return RopeConfig(theta)
        def number(key):
            return _number(scaling[key], f"rope {kind} {key}", where)

        if kind == "linear":
            return RopeConfig(theta, kind, factor=number("factor"))
        low, high = number("low_freq_factor"), number("high_freq_factor")
        if high <= low:
            raise SeerInputError(f"{where}: rope llama3 high_freq_factor ({high}) must exceed low_freq_factor ({low})")
        return RopeConfig(theta, kind, factor=number("factor"), low_freq_factor=low, high_freq_factor=high,
                          original_max_position=int(number("original_max_position_embeddings")))
    except KeyError as e:
        raise SeerInputError(f"{where}: rope scaling {kind!r} needs a numeric {e}") from None


def decoder_config(raw: dict, where: str = "config.json") -> DecoderConfig:
    """Normalises a parsed config.json; `where` names the file in error messages."""
    if not isinstance(raw, dict):
        raise SeerInputError(f"{where}: expected a JSON object")
    family = _family(raw, where)
    if raw.get("quantization_config"):
        method = raw["quantization_config"].get("quant_method", "?") if isinstance(raw["quantization_config"], dict) else "?"
        raise SeerInputError(f"{where}: quantised checkpoints ({method}) are not supported; use the unquantised weights")
    c = {**family.defaults, **{k: v for k, v in raw.items() if v is not None or k == "sliding_window"}}
    missing = [k for k in REQUIRED if k not in c]
    if missing:
        raise SeerInputError(f"{where}: missing {', '.join(missing)} (needed for {family.architecture})")
    for k in REQUIRED + ("max_position_embeddings",) + tuple(k for k in OPTIONAL_COUNTS if c.get(k) is not None):
        # bounded so a hostile config cannot make us build absurd tables (real models: <= 128 layers)
        limit = MAX_LAYERS if k in ("num_hidden_layers", "max_window_layers") else MAX_SIZE
        low = 0 if k == "max_window_layers" else 1
        if not isinstance(c[k], int) or isinstance(c[k], bool) or not low <= c[k] <= limit:
            raise SeerInputError(f"{where}: {k} must be an integer from {low} to {limit}, not {c[k]!r}")
    if not isinstance(c.get("use_sliding_window", False), bool):
        raise SeerInputError(f"{where}: use_sliding_window must be true or false, not {c['use_sliding_window']!r}")
    heads = c["num_attention_heads"]
    kv_heads = c["num_key_value_heads"] or heads
    head_dim = c["head_dim"] or c["hidden_size"] // heads
    if not isinstance(kv_heads, int) or kv_heads <= 0 or heads % kv_heads:
        raise SeerInputError(f"{where}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kv_heads})")
    if not isinstance(head_dim, int) or head_dim <= 0 or head_dim % 2:
        raise SeerInputError(f"{where}: head_dim must be a positive even integer (rotary pairs), not {head_dim!r}")
    act_name = c.get("hidden_activation") if family.model_type == "gemma2" else c["hidden_act"]
    if not isinstance(act_name, str) or act_name not in ACTIVATIONS:
        raise SeerInputError(f"{where}: activation {act_name!r} is not supported (supported: {', '.join(ACTIVATIONS)})")
    for key in ("rms_norm_eps", "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping"):
        if c.get(key) is not None:
            _number(c[key], key, where)
    extra = family.specialise(c)
    if isinstance(c.get("layer_types"), list):  # newer transformers spell the per-layer attention out
        if len(c["layer_types"]) != c["num_hidden_layers"]:
            raise SeerInputError(f"{where}: layer_types has {len(c['layer_types'])} entries for {c['num_hidden_layers']} layers")
        extra["sliding_layers"] = tuple(t == "sliding_attention" for t in c["layer_types"])
    return DecoderConfig(
        family=family.model_type, architecture=family.architecture, vocab_size=c["vocab_size"],
        hidden_size=c["hidden_size"], num_layers=c["num_hidden_layers"], num_heads=heads, num_kv_heads=kv_heads,
        head_dim=head_dim, intermediate_size=c["intermediate_size"], norm_eps=float(c["rms_norm_eps"]),
        rope=_rope(c, where), max_position_embeddings=c["max_position_embeddings"],
        tie_word_embeddings=bool(c["tie_word_embeddings"]), activation=ACTIVATIONS[act_name], **extra)


def load_decoder_config(folder) -> DecoderConfig:
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise SeerInputError(f"{path}: not found; a Hugging Face checkpoint folder has config.json beside its weights")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SeerInputError(f"{path}: not valid JSON ({e})")
    return decoder_config(raw, str(path))


def decoder_config_to_json(c: DecoderConfig) -> str:
    """The DecoderConfig as JSON: stored in the explain graph's metadata (onnx_graph.DECODER_METADATA), so that a
    bundle's model.onnx alone says which decoder its weights belong to (the torch provider rebuilds it from them)."""
    return json.dumps(asdict(c), sort_keys=True)


def decoder_config_from_json(text: str, where: str) -> DecoderConfig:
    """Inverse of decoder_config_to_json; unknown or missing keys are refused (a graph from another version)."""
    try:
        raw = json.loads(text)
        known = {f.name for f in fields(DecoderConfig)}
        if not isinstance(raw, dict) or set(raw) - known:
            raise ValueError(f"unknown keys {sorted(set(raw) - known) if isinstance(raw, dict) else raw!r}")
        raw["rope"] = RopeConfig(**raw["rope"])
        raw["sliding_layers"] = tuple(raw.get("sliding_layers", ()))
        return DecoderConfig(**raw)
    except (ValueError, TypeError, KeyError) as e:
        raise SeerInputError(f"{where}: the decoder description in the graph's metadata is not one this version reads ({e}); "
                             "rebuild or re-import the bundle with this version")
