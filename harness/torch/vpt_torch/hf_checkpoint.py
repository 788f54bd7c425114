"""A Hugging Face checkpoint's weights (model.safetensors, or the shards model.safetensors.index.json lists) as
tensors by name, in the dtype each is to live in; or weights drawn from the config (init 'random', for benchmarks at
a model's shape): N(0, initializer_range²) for the embedding and every linear weight, biases 0, norms 1, as
transformers initialises these families.

Stored dtypes BF16, F16, F32; read by the safetensors library when it imports, else by the engine's reader over a
memory map (BF16 kept as bfloat16: no float32 copy of a whole checkpoint on the host).
"""
from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Tuple

import numpy as np
import torch

from . import safetensors_io
from .errors import InputError
from .hf_config import HfConfig, parameter_shapes

STORED = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


def _header(path: Path) -> Tuple[Dict[str, dict], int]:
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise InputError(f"{path}: not a safetensors file (too short)")
        n = int.from_bytes(head, "little")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: not a safetensors file ({e})") from e
    return {k: v for k, v in header.items() if k != "__metadata__"}, 8 + n


def _read_builtin(path: Path, wanted: Iterable[str]) -> Dict[str, torch.Tensor]:
    header, base = _header(path)
    size = path.stat().st_size
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out: Dict[str, torch.Tensor] = {}
    for name in wanted:
        e = header[name]
        start, end = (int(x) for x in e["data_offsets"])
        if base + end > size:
            raise InputError(f"{path}: tensor '{name}' runs past the end of the file (truncated?)")
        shape = tuple(int(s) for s in e["shape"])
        raw = np.asarray(mm[base + start: base + end])
        dtype = e["dtype"]
        if dtype == "BF16":
            t = torch.from_numpy(raw.view(np.dtype("<i2")).copy()).view(torch.bfloat16)  # (torch has no uint16)
        elif dtype == "F16":
            t = torch.from_numpy(raw.view(np.dtype("<f2")).copy())
        else:
            t = torch.from_numpy(raw.view(np.dtype("<f4")).copy())
        out[name] = t.reshape(shape)
    return out


def _read_library(path: Path, wanted: Iterable[str]) -> Dict[str, torch.Tensor]:
    safe_open = importlib.import_module("safetensors").safe_open
    out: Dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        for name in wanted:
            out[name] = f.get_tensor(name)
    return out


def index_weights(cfg: HfConfig, files: List[Path]) -> Dict[str, Path]:
    """Which file holds each parameter, from the headers alone (no tensor read): every parameter present with the
    shape the config implies, stored as BF16, F16 or F32, and nothing the architecture does not use."""
    shapes = parameter_shapes(cfg)
    where: Dict[str, Path] = {}
    for path in files:
        header, _ = _header(path)
        for name, e in header.items():
            if name.endswith(IGNORED_SUFFIXES) or (cfg.tied and name == "lm_head.weight"):
                continue
            if name not in shapes:
                raise InputError(f"{path}: tensor '{name}' is not a parameter of {cfg.architecture} as config.json describes it")
            dtype = str(e.get("dtype"))
            if dtype not in STORED:
                raise InputError(f"{path}: tensor '{name}' is stored as {dtype}; vpt_torch loads BF16, F16 and F32 weights")
            shape = tuple(int(x) for x in e.get("shape", []))
            if shape != shapes[name]:
                raise InputError(f"{path}: tensor '{name}' has shape {list(shape)}, config.json implies {list(shapes[name])}")
            where[name] = path
    missing = [n for n in shapes if n not in where]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"{files[0].parent}: the checkpoint lacks parameter '{missing[0]}'{more}")
    return where


def load_weights(cfg: HfConfig, files: List[Path], place: Callable[[str, torch.Tensor], torch.Tensor], use_library: bool = False) -> Dict[str, torch.Tensor]:
    """The checkpoint's tensors by name (checked by index_weights), each through place(name, tensor) (to its device
    and dtype) as it is read, in transformers' parameter order."""
    shapes = parameter_shapes(cfg)
    where = index_weights(cfg, files)
    out: Dict[str, torch.Tensor] = {}
    read = _read_library if use_library else _read_builtin
    for path in files:
        names = [n for n in shapes if where[n] == path]
        for name, t in read(path, names).items():
            out[name] = place(name, t)
    return {n: out[n] for n in shapes}


def random_weights(cfg: HfConfig, seed: int, place: Callable[[str, torch.Tensor], torch.Tensor], device: torch.device) -> Dict[str, torch.Tensor]:
    """Weights drawn from the config (the same on every process for one seed), each through place(name, tensor)."""
    g = torch.Generator(device=device).manual_seed(seed)
    out: Dict[str, torch.Tensor] = {}
    for name, shape in parameter_shapes(cfg).items():
        if name.endswith("norm.weight"):
            t = torch.ones(shape, device=device)
        elif name.endswith(".bias"):
            t = torch.zeros(shape, device=device)
        else:
            t = torch.empty(shape, device=device).normal_(0.0, cfg.initializer_range, generator=g)
        out[name] = place(name, t)
    return out


def library_available() -> bool:
    return safetensors_io.library_available() and importlib.util.find_spec("safetensors.torch") is not None
