"""One PyTorch decoder for every family in hf_families.py (Llama, Mistral, Qwen2/3, Gemma 2),
parameterised by DecoderConfig and loaded from safetensors without transformers.

Module paths ARE the Hugging Face tensor names (`model.layers.3.self_attn.q_proj.weight`), so loading
is one loop over our parameters. The model is built on the meta device (no memory, no random init) and
each parameter is replaced by the tensor read from the checkpoint, one at a time: the weights exist
once, in the model. Padding: right padding is what the SEER pipeline uses; positions come from the
mask (cumsum), so left-padded rows get the same positions as unpadded ones."""
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from .errors import SeerInputError
from .hf_families import DecoderConfig, RopeConfig, load_decoder_config
from .safetensors_io import Checkpoint

MASKED = -1e9  # finite, so a fully masked (padding) row stays finite, as in model.py


class RMSNorm(nn.Module):
    """x / rms(x) * w, in float32; Gemma scales by (1 + w)."""

    def __init__(self, dim: int, eps: float, plus_one: bool, device=None):
        super().__init__()
        self.eps, self.plus_one = eps, plus_one
        self.weight = nn.Parameter(torch.empty(dim, device=device), requires_grad=False)

    def forward(self, x):
        x32 = x.float()
        y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        w = self.weight.float() + 1.0 if self.plus_one else self.weight.float()
        return (y * w).to(x.dtype)


def inverse_frequencies(head_dim: int, rope: RopeConfig) -> torch.Tensor:
    """RoPE frequencies in float32 (as transformers computes them), with linear or llama3 scaling."""
    inv = 1.0 / (rope.theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if rope.kind == "linear":
        return inv / rope.factor
    if rope.kind == "llama3":
        # Long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
        low_wavelen = rope.original_max_position / rope.low_freq_factor
        high_wavelen = rope.original_max_position / rope.high_freq_factor
        wavelen = 2 * torch.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / rope.factor, inv)
        smooth = (rope.original_max_position / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor)
        smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        return torch.where(medium, smoothed, scaled)
    return inv


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


def _linear(n_in, n_out, bias, device):
    layer = nn.Linear(n_in, n_out, bias=bias, device=device)
    layer.weight.requires_grad_(False)
    if bias:
        layer.bias.requires_grad_(False)
    return layer


def _repeat_kv(x, group: int):
    """[B, kv, T, D] -> [B, kv * group, T, D], each K/V head repeated for its query heads. expand + reshape
    rather than repeat_interleave, whose ONNX export (torch 1.13) fixes the batch size to the example's."""
    if group == 1:
        return x
    B, kv, T, D = x.shape
    return x.unsqueeze(2).expand(B, kv, group, T, D).reshape(B, kv * group, T, D)


class Attention(nn.Module):
    # Inference only (the torch provider, torch_forward.py): PyTorch >= 2.1's fused scaled_dot_product_attention
    # instead of the explicit float32 score matrix. Off by default, so that training and the reference for the
    # ONNX graph's tests keep the one explicit form.
    use_sdpa = False

    def __init__(self, c: DecoderConfig, device=None):
        super().__init__()
        self.c = c
        q_dim, kv_dim = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
        self.q_proj = _linear(c.hidden_size, q_dim, c.qkv_bias, device)
        self.k_proj = _linear(c.hidden_size, kv_dim, c.qkv_bias, device)
        self.v_proj = _linear(c.hidden_size, kv_dim, c.qkv_bias, device)
        self.o_proj = _linear(q_dim, c.hidden_size, c.o_bias, device)
        if c.qk_norm:
            self.q_norm = RMSNorm(c.head_dim, c.norm_eps, c.norm_plus_one, device)
            self.k_norm = RMSNorm(c.head_dim, c.norm_eps, c.norm_plus_one, device)

    def forward(self, x, cos, sin, bias):
        c, (B, T, _) = self.c, x.shape
        q = self.q_proj(x).view(B, T, c.num_heads, c.head_dim)
        k = self.k_proj(x).view(B, T, c.num_kv_heads, c.head_dim)
        v = self.v_proj(x).view(B, T, c.num_kv_heads, c.head_dim).transpose(1, 2)
        if c.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = _repeat_kv(k, c.num_heads // c.num_kv_heads), _repeat_kv(v, c.num_heads // c.num_kv_heads)
        if self.use_sdpa and not c.attn_softcap:
            # The bias arrives in q's dtype (HFDecoder.forward converts it once per forward, not once per layer).
            # None: no padding and no window, plain causal attention, which lets PyTorch pick its flash kernel.
            # RoPE ran in float32 (cos and sin are), so q and k are float32 here; the fused kernels take one dtype.
            q, k = q.to(v.dtype), k.to(v.dtype)
            if bias is None:
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=c.query_scale)
            else:
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=c.query_scale)
            return self.o_proj(out.transpose(1, 2).reshape(B, T, c.num_heads * c.head_dim))
        scores = (q @ k.transpose(-1, -2)).float() * c.query_scale
        if c.attn_softcap:
            scores = torch.tanh(scores / c.attn_softcap) * c.attn_softcap
        weights = (scores + bias).softmax(-1).to(v.dtype)
        return self.o_proj((weights @ v).transpose(1, 2).reshape(B, T, c.num_heads * c.head_dim))


ACTIVATION_FNS = {"silu": F.silu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "gelu": F.gelu}


class GatedMLP(nn.Module):
    """down(act(gate(x)) * up(x)): SwiGLU with silu, GeGLU with gelu."""

    def __init__(self, c: DecoderConfig, device=None):
        super().__init__()
        self.act = ACTIVATION_FNS[c.activation]
        self.gate_proj = _linear(c.hidden_size, c.intermediate_size, c.mlp_bias, device)
        self.up_proj = _linear(c.hidden_size, c.intermediate_size, c.mlp_bias, device)
        self.down_proj = _linear(c.intermediate_size, c.hidden_size, c.mlp_bias, device)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm residual block; with Gemma 2's sandwich norms the branch output is normed too."""

    def __init__(self, c: DecoderConfig, device=None):
        super().__init__()
        self.roles = c.norm_names
        for hf_name in c.norm_names.values():
            self.add_module(hf_name, RMSNorm(c.hidden_size, c.norm_eps, c.norm_plus_one, device))
        self.self_attn = Attention(c, device)
        self.mlp = GatedMLP(c, device)

    def _norm(self, role, x):
        name = self.roles.get(role)
        return getattr(self, name)(x) if name else x

    def forward(self, x, cos, sin, bias):
        x = x + self._norm("post_attn_norm", self.self_attn(self._norm("attn_norm", x), cos, sin, bias))
        return x + self._norm("post_mlp_norm", self.mlp(self._norm("mlp_norm", x)))


class _Body(nn.Module):
    def __init__(self, c: DecoderConfig, device=None):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size, device=device)
        self.embed_tokens.weight.requires_grad_(False)
        self.layers = nn.ModuleList([Block(c, device) for _ in range(c.num_layers)])
        self.norm = RMSNorm(c.hidden_size, c.norm_eps, c.norm_plus_one, device)


def check_token_ids(input_ids: torch.Tensor, vocab_size: int) -> None:
    if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab_size):
        raise SeerInputError(f"token ids must lie in [0, {vocab_size}); got {int(input_ids.min())}..{int(input_ids.max())}: "
                             "is the tokenizer from the same model?")


@dataclass
class DecoderOutput:
    hidden_states: Tuple[torch.Tensor, ...]  # num_layers + 1 tensors [B, T, H]: embeddings, then after each block, BEFORE the final norm
    last_logits: torch.Tensor  # [B, V] at each row's last real token (after the final norm and soft-cap)
    last_index: torch.Tensor  # [B] that token's index


class HFDecoder(nn.Module):
    def __init__(self, c: DecoderConfig, device=None):
        super().__init__()
        self.config = c
        self.model = _Body(c, device)
        self.lm_head = None if c.tie_word_embeddings else _linear(c.hidden_size, c.vocab_size, False, device)
        self.register_buffer("inv_freq", inverse_frequencies(c.head_dim, c.rope), persistent=False)
        self.unused_tensors: List[str] = []
        self.gradient_checkpointing = False  # hf-train on CUDA: recompute each block in backward instead of storing it

    def load_weights(self, ckpt: Checkpoint, dtype: torch.dtype = torch.float32) -> "HFDecoder":
        """Replaces every (meta) parameter by its checkpoint tensor, read one at a time."""
        prefix = "" if "model.embed_tokens.weight" in ckpt or "embed_tokens.weight" not in ckpt else "model."
        wanted = set()
        for name, param in list(self.named_parameters()):
            stored = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if stored not in ckpt:
                raise SeerInputError(f"{ckpt.folder}: the checkpoint has no tensor {stored!r}, which a {self.config.architecture} "
                                     f"with this config.json needs; is config.json from the same model as the weights?")
            if tuple(ckpt.shape(stored)) != tuple(param.shape):
                raise SeerInputError(f"{ckpt.folder}: tensor {stored!r} has shape {list(ckpt.shape(stored))}, but config.json "
                                     f"implies {list(param.shape)}; is config.json from the same model as the weights?")
            wanted.add(stored)
            module_name, _, leaf = name.rpartition(".")
            self.get_submodule(module_name)._parameters[leaf] = nn.Parameter(ckpt.read(stored, dtype), requires_grad=False)
        # A tied checkpoint may store lm_head.weight too; transformers ignores it, and so do we.
        self.unused_tensors = sorted(n for n in ckpt.names() if n not in wanted)
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                steering: Optional[torch.Tensor] = None, ids_checked: bool = False,
                read_state: Optional[Callable[[int, torch.Tensor], None]] = None, right_padded: bool = False) -> DecoderOutput:
        """steering: optional [L+1, H]; row i is added to the residual stream at layer i (0 = embeddings) before
        it is recorded and passed on, as the bundle graph's `steering` input (docs/bundle-format.md).
        ids_checked: the caller checked the ids' range (check_token_ids) where they were, e.g. on the host before
        the copy to a GPU, which spares two device synchronisations here.
        read_state: called with (layer, state) as each layer's residual state [B, T, H] is made, instead of keeping
        them all (hidden_states is then empty): the caller keeps what it reads, and memory holds one layer's state,
        not L + 1 of them (33 × 512 × 32 × 4096 bf16 = 4.4 GB for an 8B model's explain batch).
        right_padded: the caller checked (on the host) that every mask row is 1…1 0…0. Real tokens then never see
        padding under causal attention, so attention is plain causal, built from T alone: no padding mask, no look
        at the mask's values (no device synchronisation), and on the fused path no bias at all. Real tokens' outputs
        are the masked forward's; padding tokens' states differ (they attend to earlier padding) and mean nothing."""
        c, (B, T) = self.config, input_ids.shape
        if not ids_checked:
            check_token_ids(input_ids, c.vocab_size)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if right_padded:  # a real token's position is its index: [1, T], broadcast over the rows
            positions = torch.arange(T, device=input_ids.device).view(1, T)
        else:
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        angles = positions.unsqueeze(-1).float() * self.inv_freq  # [B or 1, T, head_dim / 2]
        angles = torch.cat([angles, angles], dim=-1).unsqueeze(1)  # rotate-half layout, [B or 1, 1, T, head_dim]
        cos, sin = angles.cos(), angles.sin()
        full_bias, window_bias = self._attention_biases(attention_mask, T, right_padded)
        x = self.model.embed_tokens(input_ids)
        if c.embed_scale != 1.0:
            x = x * torch.tensor(c.embed_scale, dtype=x.dtype)  # rounded to the weight dtype, as transformers does
        if steering is not None:
            x = x + steering[0].to(x.dtype)
        hidden = []
        keep = read_state or (lambda i, state: hidden.append(state))
        keep(0, x)
        for i, block in enumerate(self.model.layers):
            bias = window_bias if window_bias is not None and c.sliding_layers[i] else full_bias
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = torch.utils.checkpoint.checkpoint(block, x, cos, sin, bias, use_reentrant=False)
            else:
                x = block(x, cos, sin, bias)
            if steering is not None:
                x = x + steering[i + 1].to(x.dtype)
            keep(i + 1, x)
        last = (attention_mask.long() * torch.arange(T, device=input_ids.device)).argmax(-1)
        return DecoderOutput(hidden_states=tuple(hidden), last_logits=self.logits(x[torch.arange(B, device=x.device), last]), last_index=last)

    def _attention_biases(self, attention_mask: torch.Tensor, T: int, right_padded: bool) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        """(full, window): additive attention masks [B or 1, 1, T, T]; window is None without sliding layers. On the
        fused path they come in the compute dtype, clamped (-1e9 is -inf in float16), and full is None for
        right-padded rows: PyTorch is told the attention is causal (is_causal), its flash kernel's case."""
        c, device = self.config, attention_mask.device
        query, key = torch.arange(T, device=device).view(T, 1), torch.arange(T, device=device).view(1, T)
        allowed = (key <= query).view(1, 1, T, T)
        if not right_padded:
            allowed = allowed & attention_mask.bool().view(-1, 1, 1, T)
        windowed = c.sliding_window is not None and any(c.sliding_layers)
        window = allowed & (query - key < c.sliding_window).view(1, 1, T, T) if windowed else None
        fused = bool(self.model.layers) and self.model.layers[0].self_attn.use_sdpa and not c.attn_softcap
        dtype = self.model.embed_tokens.weight.dtype if fused else torch.float32

        def bias(allowed: torch.Tensor) -> torch.Tensor:
            b = (~allowed).float() * MASKED
            return b if dtype == torch.float32 else b.clamp(min=torch.finfo(dtype).min).to(dtype)
        full = None if fused and right_padded else bias(allowed)
        return full, None if window is None else bias(window)

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """Final norm, LM head and soft-cap on residual states [..., H] -> [..., V] (the ONNX export applies it to every token)."""
        head = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        logits = self.model.norm(states) @ head.t()
        if self.config.final_softcap:
            logits = torch.tanh(logits / self.config.final_softcap) * self.config.final_softcap
        return logits


def load_hf_decoder(folder, dtype: torch.dtype = torch.float32) -> HFDecoder:
    """A Hugging Face checkpoint folder (config.json + safetensors) -> HFDecoder in eval mode, no transformers needed."""
    config = load_decoder_config(folder)
    with Checkpoint(folder) as ckpt:
        return HFDecoder(config, device="meta").load_weights(ckpt, dtype).eval()
