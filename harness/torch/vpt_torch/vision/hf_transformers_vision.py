"""Pretrained backbones through transformers' own model classes (Dinov2Model, Dinov2WithRegistersModel,
DINOv3ViTModel), when transformers ≥ 4.48 imports and has the family's class: the model is instantiated from the
folder's config.json (AutoConfig.for_model + AutoModel.from_config, as hf_transformers.py does for language), and its
embeddings module, each layer and the final LayerNorm are called one by one through functional_call with the tensors
of the parameter dictionary, under the checkpoint's own names. So the vision learner's student and teacher, the
designer's value (S replaced by perturbed copies, or differentiated twice) and the features run on transformers'
arithmetic with vit.Vit's interface, exactly as they do on the built-in dinov2.py / dinov3.py.

How transformers' modules are called (the modeling files of 4.48 to 4.57, and 5.17 as run on a GPU machine,
docs/gpu-torch.md). Where they sit varies (5.17 holds DINOv3's blocks under `model.layer`, its checkpoints name them
`layer.N`), so `locate` finds the embeddings, the list of blocks, the final norm and the RoPE module by kind.
- embeddings(pixel_values [B, C, H, W]) -> tokens [B, T, D] ([CLS, registers, patches]); Dinov2's resizes its
  position table to the crop's grid itself (bicubic; antialiased in the registers model).
- Dinov2 layer(hidden_states) -> a tensor (a 1-tuple before 4.54); DINOv3 layer(hidden_states,
  attention_mask=None, position_embeddings=(cos, sin)), the RoPE tables from the model's own `rope_embeddings`
  (computed in float32 from a tensor of the crop's shape, then cast), once per grid and dtype.
- layernorm (Dinov2) / norm (DINOv3): a LayerNorm over the last axis.
The model stays in eval mode (no dropout, drop path or DINOv3's RoPE coordinate augmentations, as in the built-in).
Attention: transformers' SDPA on CUDA, its written-out ('eager') attention elsewhere, as the built-in chooses.
The model's own copies of the dictionary's parameters are released (replaced by empty tensors) once it is built, so
it holds no second copy of the weights and any tensor not supplied by the dictionary fails loudly.

Not run on this engine's CI (no transformers there): tests/test_transformers_vision.py checks this plumbing on a
stand-in with transformers' module tree (tests/fake_transformers_vision.py) and, where transformers is installed,
against the built-in implementation on tiny checkpoints.
"""
from __future__ import annotations

import importlib
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InputError
from ..hf_transformers import functional_call
from ..learner_model import transformers_usable
from . import dinov2, dinov3
from .vit import HeadConfig, Params, Vit, VitConfig

BackboneConfig = Union[dinov2.Dinov2Config, dinov3.Dinov3Config]
# transformers' model class for each accepted model_type
CLASSES = {"dinov2": "Dinov2Model", "dinov2_with_registers": "Dinov2WithRegistersModel", dinov3.MODEL_TYPE: "DINOv3ViTModel"}


def model_type(c: BackboneConfig) -> str:
    if isinstance(c, dinov3.Dinov3Config):
        return dinov3.MODEL_TYPE
    return "dinov2_with_registers" if c.registers_layout else "dinov2"


def class_name(c: BackboneConfig) -> str:
    return CLASSES[model_type(c)]


def usable(c: BackboneConfig) -> bool:
    """transformers imports at a version hf_transformers_vision drives (≥ 4.48) and has the family's model class."""
    if not transformers_usable():
        return False
    return hasattr(importlib.import_module("transformers"), class_name(c))


def version() -> str:
    return str(getattr(importlib.import_module("transformers"), "__version__", "?"))


def parameter_names(c: BackboneConfig) -> List[str]:
    """The tensors the parameter dictionary holds for the backbone (the checkpoint's names)."""
    return list(dinov3.parameter_shapes(c) if isinstance(c, dinov3.Dinov3Config) else dinov2.parameter_shapes(c))


def attention_for(device: torch.device) -> str:
    """transformers' attention implementation: SDPA on CUDA, written out elsewhere (as the built-in's block)."""
    return "sdpa" if device.type == "cuda" and hasattr(F, "scaled_dot_product_attention") else "eager"


def config_dict(c: BackboneConfig, folder: Optional[Path]) -> Dict[str, Any]:
    """config.json as written (the folder's), or, without a folder, the parsed config under transformers' keys."""
    if folder is not None and (folder / "config.json").exists():
        raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            return raw
    d = asdict(c)
    d.pop("architecture", None)
    d.pop("registers_layout", None)
    d.update({"model_type": model_type(c), "architectures": [c.architecture]})
    if isinstance(c, dinov2.Dinov2Config):
        d.update({"hidden_act": "gelu", "qkv_bias": True, "use_swiglu_ffn": False})
    return d


def build_model(c: BackboneConfig, folder: Optional[Path], device: torch.device) -> nn.Module:
    """transformers' model for `c` (random initial weights, released below by TransformersVit) on `device`."""
    transformers = importlib.import_module("transformers")
    raw = config_dict(c, folder)
    conf = transformers.AutoConfig.for_model(model_type(c), **{k: v for k, v in raw.items() if k != "model_type"})
    model: nn.Module = transformers.AutoModel.from_config(conf, attn_implementation=attention_for(device))
    name = type(model).__name__
    if name != class_name(c):
        raise InputError(f"transformers built a {name} for model_type {model_type(c)!r}, not a {class_name(c)}")
    return model


def set_attention(model: Any, impl: str) -> None:
    """The attention implementation transformers' layers read from the (shared) config at each call."""
    try:
        model.config._attn_implementation = impl
    except (AttributeError, TypeError, ValueError):
        model.set_attn_implementation(impl)


def release(model: nn.Module, names: List[str]) -> None:
    """Replace the model's own parameters `names` by empty tensors (functional_call supplies them at each call)."""
    for n in names:
        path, _, leaf = n.rpartition(".")
        owner = model.get_submodule(path) if path else model
        if leaf not in owner._parameters:
            raise InputError(f"transformers' {type(model).__name__} has no parameter '{n}'")
        owner._parameters[leaf] = nn.Parameter(torch.empty(0), requires_grad=False)


def locate(model: nn.Module, c: BackboneConfig) -> Dict[str, str]:
    """Paths of the embeddings, the list of blocks, the final LayerNorm and (DINOv3) the RoPE module inside
    transformers' model, found by their kind rather than fixed names (transformers' versions nest them differently)."""
    name = type(model).__name__
    mods = list(model.named_modules())

    def one(what: str, found: List[str]) -> str:
        if len(found) != 1:
            raise InputError(f"transformers' {name}: expected one {what}, found {len(found)} ({', '.join(found) or 'none'})")
        return found[0]

    layers = one(f"list of {c.num_hidden_layers} blocks", [n for n, m in mods if isinstance(m, nn.ModuleList) and len(m) == c.num_hidden_layers])
    inside = (layers + ".", "embeddings.")
    at = {
        "layers": layers,
        "embeddings": one("embeddings module", [n for n, _ in mods if n.rsplit(".", 1)[-1] == "embeddings"]),
        "norm": one("final LayerNorm", [n for n, m in mods if isinstance(m, nn.LayerNorm) and n.rsplit(".", 1)[-1] in ("norm", "layernorm")
                                         and not any(n.startswith(p) or ("." + p) in n for p in inside)]),
    }
    if isinstance(c, dinov3.Dinov3Config):
        at["rope"] = one("RoPE module", [n for n, m in mods if "Rope" in type(m).__name__ and not n.startswith(layers + ".")])
    return at


class TransformersVit(Vit):
    """transformers' DINOv2 / DINOv3 model, driven piece by piece over a parameter dictionary, with vit.Vit's
    interface (embed, block, final_norm; the rest inherited)."""

    def __init__(self, model: nn.Module, c: BackboneConfig, crop: int, head: HeadConfig, device: torch.device) -> None:
        if crop % c.patch_size:
            raise InputError(f"model.imageSize {crop} is not a multiple of the backbone's patch_size {c.patch_size}")
        super().__init__(VitConfig(crop, c.patch_size, c.num_channels, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, 1), head, device)
        self.hf = c
        self.model = model
        self.prefix = 1 + c.num_register_tokens
        self.v3 = isinstance(c, dinov3.Dinov3Config)
        at = locate(model, c)
        self.embeddings: Any = model.get_submodule(at["embeddings"])
        self.layers: Any = model.get_submodule(at["layers"])
        self.norm: Any = model.get_submodule(at["norm"])
        if self.v3:
            self.rope: Any = model.get_submodule(at["rope"])
        # The checkpoint's names (the dictionary's) against the module paths of this transformers, which may nest
        # or rename the containers (the blocks' list, the final norm): (checkpoint prefix, module prefix) pairs.
        ck_layers, ck_norm = ("layer", "norm") if self.v3 else ("encoder.layer", "layernorm")
        groups = [("embeddings.", at["embeddings"] + "."), *((f"{ck_layers}.{i}.", f"{at['layers']}.{i}.") for i in range(c.num_hidden_layers)),
                  (ck_norm + ".", at["norm"] + ".")]
        own = {n for n, _ in model.named_parameters()}
        supplied = parameter_names(c)
        module_name: Dict[str, str] = {}
        for n in supplied:
            m = next((mod + n[len(ck):] for ck, mod in groups if n.startswith(ck)), n)
            if m not in own:
                block0 = sorted(k[len(at["layers"]) + 3:] for k in own if k.startswith(at["layers"] + ".0."))
                raise InputError(f"transformers' {type(model).__name__} has no parameter '{m}' for the checkpoint's '{n}' "
                                 f"(its first block holds {', '.join(block0)})")
            module_name[n] = m
        self.embed_keys = self.keys(supplied, "embeddings.")
        self.layer_keys = [self.keys(supplied, f"{ck_layers}.{i}.") for i in range(c.num_hidden_layers)]
        self.norm_keys = self.keys(supplied, ck_norm + ".")
        release(model, list(module_name.values()))
        model.to(device)
        model.eval()
        set_attention(model, attention_for(device))
        self._tables: Dict[Tuple[int, torch.dtype, torch.device], Tuple[torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def keys(names: List[str], prefix: str) -> List[Tuple[str, str]]:
        """(dictionary name, the module's own name) of the parameters under `prefix`."""
        return [(n, n[len(prefix):]) for n in names if n.startswith(prefix)]

    @staticmethod
    def tensors(params: Params, keys: List[Tuple[str, str]]) -> Dict[str, torch.Tensor]:
        """The dictionary's tensors for one module (names it lacks, e.g. the never-read mask token, stay the model's)."""
        return {local: params[name] for name, local in keys if name in params}

    def embed(self, params: Params, images: torch.Tensor) -> torch.Tensor:
        S = images.shape[1]
        if S % self.cfg.patchSize or images.shape[2] != S:
            raise ValueError(f"input {S}×{images.shape[2]} is not a square multiple of patch {self.cfg.patchSize}")
        pixels = images.permute(0, 3, 1, 2)  # [B, C, S, S], as transformers takes them
        return functional_call(self.embeddings, self.tensors(params, self.embed_keys), (pixels,))  # type: ignore[no-any-return]

    @torch.no_grad()
    def rope_tables(self, g: int, dtype: torch.dtype, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """DINOv3's (cos, sin) [g², d] from the model's own rope_embeddings, for a g×g grid of patches."""
        key = (g, dtype, device)
        if key not in self._tables:
            S = g * self.cfg.patchSize
            shape_only = torch.zeros((), dtype=dtype, device=device).expand(1, self.cfg.channels, S, S)
            cos, sin = self.rope(shape_only)
            self._tables[key] = (cos, sin)
        return self._tables[key]

    def block(self, params: Params, i: int, x: torch.Tensor) -> torch.Tensor:
        kw: Dict[str, Any] = {}
        if self.v3:
            g = math.isqrt(x.shape[1] - self.prefix)
            kw = {"attention_mask": None, "position_embeddings": self.rope_tables(g, x.dtype, x.device)}
        out = functional_call(self.layers[i], self.tensors(params, self.layer_keys[i]), (x,), kw)
        return out[0] if isinstance(out, tuple) else out  # type: ignore[no-any-return]

    def final_norm(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.norm, self.tensors(params, self.norm_keys), (x,))  # type: ignore[no-any-return]


def transformers_vit(c: BackboneConfig, crop: int, head: HeadConfig, device: torch.device, folder: Optional[Path] = None) -> TransformersVit:
    return TransformersVit(build_model(c, folder, device), c, crop, head, device)
