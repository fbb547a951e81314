"""LoRA adapters on the attention and MLP projections: y = W x + (alpha/r) * B(A(dropout(x))).
B starts at zero so the adapted model equals the frozen one at step 0."""
import math

import torch
from torch import nn

TARGET_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.base(x) + (self.dropout(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scale

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.scale * self.lora_B @ self.lora_A)
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def apply_lora(model: nn.Module, rank: int, alpha: float, dropout: float) -> list:
    """Freeze the model, wrap target linears in place; returns the trainable LoRA parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if name in TARGET_NAMES and isinstance(child, nn.Linear):
                wrapped = LoRALinear(child, rank, alpha, dropout)
                setattr(parent, name, wrapped)
                params += [wrapped.lora_A, wrapped.lora_B]
    return params


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight (plain nn.Linear again), in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    return model
