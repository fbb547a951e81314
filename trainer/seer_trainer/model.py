"""Our decoder-only transformer ("seer-llama"): RMSNorm pre-norm blocks, rotary positions, causal
self-attention with key padding, SwiGLU MLP, tied LM head. It is also the reference the TypeScript
engine is checked against (through golden.json)."""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary_tables(head_dim: int, max_len: int, theta: float):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    ang = torch.outer(torch.arange(max_len, dtype=torch.float32), inv)
    ang = torch.cat([ang, ang], dim=-1)  # rotate-half layout (as in Llama)
    return ang.cos(), ang.sin()


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.h, self.d = c.num_heads, c.hidden_size // c.num_heads
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.o_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, bias):
        B, T, _ = x.shape
        q, k, v = (p(x).view(B, T, self.h, self.d).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) * (self.d ** -0.5) + bias
        out = att.softmax(-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.h * self.d))


class SwiGLU(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.attn_norm = RMSNorm(c.hidden_size, c.norm_eps)
        self.attn = Attention(c)
        self.mlp_norm = RMSNorm(c.hidden_size, c.norm_eps)
        self.mlp = SwiGLU(c)

    def forward(self, x, cos, sin, bias):
        x = x + self.attn(self.attn_norm(x), cos, sin, bias)
        return x + self.mlp(self.mlp_norm(x))


@dataclass
class ModelOutput:
    """Shaped like a Hugging Face CausalLMOutput so the SEER losses run on either model."""
    logits: Optional[torch.Tensor]  # None when the forward stopped early (upto_layer)
    hidden_states: Tuple[torch.Tensor, ...]  # numLayers+1 tensors [B, T, H] (upto_layer+1 when it stopped early)


class SeerLlama(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.num_layers)])
        self.norm = RMSNorm(c.hidden_size, c.norm_eps)
        self.lm_head = None if c.tied_embeddings else nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        cos, sin = rotary_tables(c.hidden_size // c.num_heads, c.max_context, c.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, input_ids, attention_mask: Optional[torch.Tensor] = None, upto_layer: Optional[int] = None) -> ModelOutput:
        """upto_layer N: run blocks 1..N only and no head (logits None). A loss that reads states at or below
        layer N gets the same values and gradients (the skipped blocks and head never reach it) for less work:
        the SEER stage's contrastive batch skips the layers above the target and the 8192-way head."""
        B, T = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        cos = self.rope_cos[:T].unsqueeze(0).unsqueeze(0)
        sin = self.rope_sin[:T].unsqueeze(0).unsqueeze(0)
        causal = torch.ones(T, T, dtype=torch.bool, device=input_ids.device).tril()
        allowed = causal.view(1, 1, T, T) & attention_mask.bool().view(B, 1, 1, T)
        # A large negative (not -inf) keeps fully masked rows finite in ONNX and torch alike.
        bias = (~allowed).to(torch.float32) * -1e9
        x = self.embed_tokens(input_ids)
        hidden = [x]
        for block in self.layers[:upto_layer]:
            x = block(x, cos, sin, bias)
            hidden.append(x)
        if upto_layer is not None:
            return ModelOutput(logits=None, hidden_states=tuple(hidden))
        normed = self.norm(x)
        logits = normed @ self.embed_tokens.weight.t() if self.lm_head is None else self.lm_head(normed)
        return ModelOutput(logits=logits, hidden_states=tuple(hidden))


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Right padding: the last real token of row b is at sum(mask[b]) - 1."""
    return attention_mask.long().sum(-1) - 1


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str = "last") -> torch.Tensor:
    """[B, T, H] -> [B, H]: last real token (the paper) or mean over real tokens."""
    if how == "last":
        return hidden[torch.arange(hidden.shape[0]), last_token_index(attention_mask)]
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)
