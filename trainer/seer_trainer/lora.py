"""LoRA adapters on the attention and MLP projections: y = W x + (alpha/r) * B(A(dropout(x))).
B starts at zero so the adapted model equals the frozen one at step 0, and with the adapters switched off
(`adapters_disabled`) it IS the frozen model: the base weights are never touched, so hf-train needs no
second copy of the model for the retain and KL terms."""
import math
from contextlib import contextmanager
from typing import Callable, Iterator, Tuple

import torch
from torch import nn

TARGET_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.enabled = True
        device = base.weight.device
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        if not self.enabled:
            return self.base(x)
        return self.base(x) + (self.dropout(x) @ self.lora_A.t().to(x.dtype) @ self.lora_B.t().to(x.dtype)) * self.scale

    def merged_weight(self) -> torch.Tensor:
        """W + scale * B A, computed in float32 (a bf16 base would round the small update away), in W's dtype."""
        w = self.base.weight
        return (w.float() + self.scale * self.lora_B.float() @ self.lora_A.float()).to(w.dtype)

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.merged_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


def apply_lora(model: nn.Module, rank: int, alpha: float, dropout: float,
               include: Callable[[str], bool] = lambda qualified_name: True, targets=TARGET_NAMES) -> list:
    """Freeze the model, wrap the target linears whose qualified name `include` accepts (e.g. only layers
    0..t), in place; returns the trainable LoRA parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for parent_name, parent in list(model.named_modules()):
        for name, child in list(parent.named_children()):
            qualified = f"{parent_name}.{name}" if parent_name else name
            if name in targets and isinstance(child, nn.Linear) and include(qualified):
                wrapped = LoRALinear(child, rank, alpha, dropout)
                setattr(parent, name, wrapped)
                params += [wrapped.lora_A, wrapped.lora_B]
    return params


@contextmanager
def adapters_disabled(model: nn.Module):
    """The frozen model: every LoRALinear returns base(x) alone, bit for bit, inside the block."""
    adapters = [m for m in model.modules() if isinstance(m, LoRALinear)]
    for m in adapters:
        m.enabled = False
    try:
        yield model
    finally:
        for m in adapters:
            m.enabled = True


def lora_state(model: nn.Module) -> dict:
    """The adapters' weights only (what a training checkpoint needs to resume)."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if ".lora_A" in k or ".lora_B" in k}


def merged_tensors(model: nn.Module) -> Iterator[Tuple[str, torch.Tensor]]:
    """(name, tensor) of the model with every adapter folded in, under the names the model had before
    apply_lora (for hf_model.HFDecoder: the Hugging Face tensor names). One merged tensor at a time, so
    writing them out needs no second copy of the model."""
    for name, tensor in model.state_dict(keep_vars=True).items():
        if ".lora_A" in name or ".lora_B" in name:
            continue
        module_name, _, leaf = name.rpartition(".")
        if module_name.endswith(".base"):
            owner = model.get_submodule(module_name[:-len(".base")])
            if leaf == "weight":
                yield module_name[:-len(".base")] + ".weight", owner.merged_weight().detach()
                continue
            name = module_name[:-len(".base")] + "." + leaf
        yield name, tensor.detach()


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight (plain nn.Linear again), in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    return model
