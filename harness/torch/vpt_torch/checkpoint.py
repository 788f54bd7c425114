"""The base checkpoint folder (harness/language/model/model.ts): model.safetensors (the GPT's parameters by name)
and config.json whose key `gpt` holds the shape. Loaded as float32 leaf tensors on the device.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Dict

import torch

from . import safetensors_io
from .gpt import parameter_shapes
from .inputs import GptConfig, InputError, parse_gpt


def read_config(folder: Path) -> GptConfig:
    path = folder / "config.json"
    try:
        conf = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file (model.dir should be a checkpoint folder)") from e
    if "gpt" not in conf:
        raise InputError(f"{path}: missing key 'gpt'")
    return parse_gpt(conf["gpt"], f"{path}: gpt.")


def load_params(folder: Path, cfg: GptConfig, device: torch.device) -> Dict[str, torch.Tensor]:
    """The learner's parameters, checked against `cfg` (the inputs' model.gpt must equal the folder's config)."""
    own = read_config(folder)
    if own != cfg:
        raise InputError(f"inputs.json: model.gpt {json.dumps(asdict(cfg))} differs from {folder / 'config.json'} gpt {json.dumps(asdict(own))}")
    path = folder / "model.safetensors"
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        arrays = safetensors_io.read(path).arrays
    except (ValueError, KeyError) as e:
        raise InputError(f"{path}: {e}") from e
    params: Dict[str, torch.Tensor] = {}
    for name, shape in parameter_shapes(cfg).items():
        if name not in arrays:
            raise InputError(f"{path}: checkpoint lacks parameter '{name}'")
        a = arrays[name]
        if tuple(a.shape) != shape:
            raise InputError(f"{path}: parameter '{name}' has shape {list(a.shape)}, config expects {list(shape)}")
        params[name] = torch.from_numpy(a.astype("float32", copy=True)).to(device).requires_grad_(True)
    return params
