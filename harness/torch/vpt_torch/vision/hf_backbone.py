"""A pretrained backbone folder in a Hugging Face layout (inputs.json `model.kind: "hf-dinov2"`): its config.json's
model_type picks the family (dinov2.py: dinov2, dinov2_with_registers; dinov3.py: dinov3_vit), and these functions
hand each question to that family's module, so the cell's parser and learner need not know which one it is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Union

import numpy as np
import torch

from ..errors import InputError
from . import dinov2, dinov3
from .vit import HeadConfig, Vit

HfConfig = Union[dinov2.Dinov2Config, dinov3.Dinov3Config]
MODEL_TYPES = ("dinov2", "dinov2_with_registers", dinov3.MODEL_TYPE)


def read_config(folder: Path) -> HfConfig:
    """The folder's config, or one line naming config.json and the key at fault."""
    f = folder / "config.json"
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{f}: no such file (a backbone folder holds config.json and model.safetensors)") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{f}: not JSON ({e.msg})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{f}: not a JSON object")
    mt = raw.get("model_type")
    if mt == dinov3.MODEL_TYPE:
        return dinov3.parse_config(raw, f)
    if mt in MODEL_TYPES:
        return dinov2.read_config(folder)
    raise InputError(f"{f}: model_type {json.dumps(mt)} is not one of {', '.join(repr(t) for t in MODEL_TYPES)}")


def parameter_shapes(c: HfConfig) -> Dict[str, List[int]]:
    return dinov3.parameter_shapes(c) if isinstance(c, dinov3.Dinov3Config) else dinov2.parameter_shapes(c)


def subset_names(c: HfConfig, n_blocks: int) -> List[str]:
    """S: the last n layers' parameters and the final norm, in checkpoint order."""
    return dinov3.subset_names(c, n_blocks) if isinstance(c, dinov3.Dinov3Config) else dinov2.subset_names(c, n_blocks)


def load_weights(folder: Path, c: HfConfig) -> Dict[str, np.ndarray]:
    return dinov3.load_weights(folder, c) if isinstance(c, dinov3.Dinov3Config) else dinov2.load_weights(folder, c)


def backbone_vit(c: HfConfig, crop: int, head: HeadConfig, device: torch.device) -> Vit:
    """The family's functional ViT (vit.Vit's interface) for crops of `crop` pixels."""
    if isinstance(c, dinov3.Dinov3Config):
        return dinov3.Dinov3Vit(c, crop, head, device)
    return dinov2.Dinov2Vit(c, crop, head, device)
