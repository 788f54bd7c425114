"""A pretrained backbone folder in a Hugging Face layout (inputs.json `model.kind: "hf-dinov2"`): its config.json's
model_type picks the family (dinov2.py: dinov2, dinov2_with_registers; dinov3.py: dinov3_vit), and these functions
hand each question to that family's module, so the cell's parser and learner need not know which one it is.

Which implementation runs the backbone (`implementation`, as inputs.json `model.implementation` says for language):
'transformers' runs transformers' own model class through hf_transformers_vision.py, 'built-in' the functional
dinov2.py / dinov3.py, 'auto' transformers when it imports (≥ 4.48, with the family's class), else the built-in.
`paths` gives the hello line's `paths.models` (and `paths.transformers`, its version) for the same choice."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import torch

from ..errors import InputError
from . import dinov2, dinov3, hf_transformers_vision
from .vit import HeadConfig, Vit

HfConfig = Union[dinov2.Dinov2Config, dinov3.Dinov3Config]
MODEL_TYPES = ("dinov2", "dinov2_with_registers", dinov3.MODEL_TYPE)
IMPLEMENTATIONS = ("auto", "built-in", "transformers")


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


def which_implementation(c: HfConfig, requested: str = "auto") -> str:
    """'transformers' or 'built-in' for a request of `model.implementation`; 'transformers' where it cannot run is
    one line."""
    if requested not in IMPLEMENTATIONS:
        raise InputError(f"inputs.json: 'model.implementation' should be one of {', '.join(IMPLEMENTATIONS)}, got {json.dumps(requested)}")
    if requested == "built-in":
        return "built-in"
    can = hf_transformers_vision.usable(c)
    if requested == "transformers" and not can:
        raise InputError(f"inputs.json: 'model.implementation' is transformers, and transformers ≥ 4.48 with "
                         f"{hf_transformers_vision.class_name(c)} does not import here")
    return "transformers" if can else "built-in"


def paths(c: HfConfig, requested: str = "auto") -> Dict[str, str]:
    """The hello line's paths for the backbone: `models` (and `transformers`, its version, when it runs)."""
    if which_implementation(c, requested) == "transformers":
        return {"models": "transformers", "transformers": hf_transformers_vision.version()}
    return {"models": "built-in"}


def backbone_vit(c: HfConfig, crop: int, head: HeadConfig, device: torch.device, implementation: str = "built-in",
                 folder: Optional[Path] = None) -> Vit:
    """The family's ViT (vit.Vit's interface) for crops of `crop` pixels: transformers' model class driven over the
    parameter dictionary (`folder`'s config.json instantiates it) or the built-in functional one, as
    which_implementation(c, implementation) says."""
    if which_implementation(c, implementation) == "transformers":
        return hf_transformers_vision.transformers_vit(c, crop, head, device, folder)
    if isinstance(c, dinov3.Dinov3Config):
        return dinov3.Dinov3Vit(c, crop, head, device)
    return dinov2.Dinov2Vit(c, crop, head, device)
