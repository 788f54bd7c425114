"""LoRA adapters for the built-in decoder (hf_model.py reads them from the parameter dictionary): for each target
module of each layer, A [r, in] drawn as peft draws it (kaiming-uniform with a = √5: U(−1/√in, 1/√in)) and B [out, r]
zero, so training starts from the base model exactly; the module's output gains (α/r)·B·A·dropout(x).
Names: '<module path>.lora_A.weight', '<module path>.lora_B.weight' (peft's, without its adapter name).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch

from .errors import InputError
from .hf_config import HfConfig, module_path


@dataclass(frozen=True)
class LoraSpec:
    r: int
    alpha: float
    dropout: float
    targets: Tuple[str, ...]

    @property
    def scale(self) -> float:
        return self.alpha / self.r


def check_targets(cfg: HfConfig, spec: LoraSpec, where: str) -> None:
    """Every target is a linear module the model's layers have (else one line naming the key and those modules)."""
    have = cfg.module_names()
    for t in spec.targets:
        if t not in have:
            raise InputError(f"{where}: LoRA target '{t}' is not a module of {cfg.architecture}'s layers (it has {', '.join(have)})")


def adapter_names(cfg: HfConfig, spec: LoraSpec, layers: Sequence[int]) -> List[str]:
    """The adapters of `layers`, per layer in the model's module order, A before B."""
    out: List[str] = []
    for i in layers:
        for m in cfg.module_names():
            if m in spec.targets:
                out += [module_path(i, m) + ".lora_A.weight", module_path(i, m) + ".lora_B.weight"]
    return out


def init_adapters(cfg: HfConfig, spec: LoraSpec, seed: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """Float32 leaf tensors (trainable), the same on every process for one seed."""
    g = torch.Generator().manual_seed(seed)
    out: Dict[str, torch.Tensor] = {}
    for i in range(cfg.num_layers):
        for m in cfg.module_names():
            if m not in spec.targets:
                continue
            n_out, n_in = cfg.module_shape(m)
            bound = 1.0 / math.sqrt(n_in)
            a = (torch.rand(spec.r, n_in, generator=g) * 2 - 1) * bound
            out[module_path(i, m) + ".lora_A.weight"] = a.to(device).requires_grad_(True)
            out[module_path(i, m) + ".lora_B.weight"] = torch.zeros(n_out, spec.r, device=device, requires_grad=True)
    return out
