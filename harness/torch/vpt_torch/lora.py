"""LoRA adapters for the built-in decoder (hf_model.py reads them from the parameter dictionary): for each target
module of each layer, A [r, in] drawn as peft draws it (kaiming-uniform with a = √5: U(−1/√in, 1/√in)) and B [out, r]
zero, so training starts from the base model exactly; the module's output gains (α/r)·B·A·dropout(x).
Names: '<module path>.lora_A', '<module path>.lora_B' (the tfjs engine's, harness/language/model/decoder.ts); per layer
in the order the targets are given, A before B. The harness may hand the initial values (`lora.<name>` arrays), so
both engines start from the same A; else A is drawn from the model's seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
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


def adapter_shapes(cfg: HfConfig, spec: LoraSpec, layers: Optional[Sequence[int]] = None) -> Dict[str, Tuple[int, int]]:
    """The adapters of `layers` (default all) with their shapes: per layer in the targets' order, A [r, in] then B [out, r]."""
    out: Dict[str, Tuple[int, int]] = {}
    for i in range(cfg.num_layers) if layers is None else layers:
        for m in spec.targets:
            n_out, n_in = cfg.module_shape(m)
            out[module_path(i, m) + ".lora_A"] = (spec.r, n_in)
            out[module_path(i, m) + ".lora_B"] = (n_out, spec.r)
    return out


def adapter_names(cfg: HfConfig, spec: LoraSpec, layers: Sequence[int]) -> List[str]:
    return list(adapter_shapes(cfg, spec, layers))


def init_adapters(cfg: HfConfig, spec: LoraSpec, seed: int, device: torch.device, given: Optional[Mapping[str, np.ndarray]] = None) -> Dict[str, torch.Tensor]:
    """Float32 leaf tensors (trainable): the harness's values when `given` (checked by check_given), else A drawn from
    `seed` (the same on every process) and B zero."""
    g = torch.Generator().manual_seed(seed)
    out: Dict[str, torch.Tensor] = {}
    for name, shape in adapter_shapes(cfg, spec).items():
        if given:
            t = torch.from_numpy(np.array(given[name], dtype=np.float32).reshape(shape))
        elif name.endswith(".lora_A"):
            t = (torch.rand(*shape, generator=g) * 2 - 1) / math.sqrt(shape[1])
        else:
            t = torch.zeros(*shape)
        out[name] = t.to(device).requires_grad_(True)
    return out


def check_given(cfg: HfConfig, spec: LoraSpec, given: Mapping[str, np.ndarray]) -> None:
    """The harness's initial adapters (`lora.<name>` arrays): exactly the adapters, each with its shape."""
    want = adapter_shapes(cfg, spec)
    for name, a in given.items():
        if name not in want:
            raise InputError(f"inputs.safetensors: 'lora.{name}' is not an adapter of this model's LoRA (targets {', '.join(spec.targets)})")
        if tuple(a.shape) != want[name]:
            raise InputError(f"inputs.safetensors: 'lora.{name}' has shape {list(a.shape)}, the adapter is {list(want[name])}")
    missing = [n for n in want if n not in given]
    if missing:
        raise InputError(f"inputs.safetensors: 'lora.{missing[0]}' is missing (the initial adapters come all or none)")
