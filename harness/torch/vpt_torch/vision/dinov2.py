"""Backbones in the Hugging Face Dinov2Model layout (config.json + model.safetensors, as `save_pretrained` writes
them; Dinov2WithRegistersModel too): the built-in implementation, functional over the checkpoint's own parameter
names, with the interface of vit.Vit so the learner, the designer's value and the features run on it unchanged.

- Patch embedding: a p×p convolution `embeddings.patch_embeddings.projection` (p = config patch_size: 14 or 16)
  computed as a matmul over (row, column, channel)-flattened patches.
- Position embeddings `embeddings.position_embeddings` [1, 1 + N0, D] laid out for config image_size; for another
  grid the patch part is resized bicubically (align_corners False) to the new grid, as transformers does: without
  antialiasing for Dinov2Model, with it for Dinov2WithRegistersModel (the two modeling files differ there).
- Tokens [CLS, registers (`embeddings.register_tokens`, no position), patches]; pre-LayerNorm blocks (eps config
  layer_norm_eps) with q/k/v biases, layer scale (`layer_scale1/2.lambda1`), GELU MLP; final `layernorm`.
- Refused in one line: SwiGLU feed-forward (giant), an activation other than GELU, qkv without bias.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .. import safetensors_io
from ..errors import InputError
from .vit import HeadConfig, Params, Vit, VitConfig
from .weights import checked_weights

ARCHITECTURES = ("Dinov2Model", "Dinov2WithRegistersModel")


@dataclass(frozen=True)
class Dinov2Config:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    mlp_ratio: float
    patch_size: int
    image_size: int
    num_channels: int
    layer_norm_eps: float
    num_register_tokens: int
    architecture: str
    registers_layout: bool  # model_type dinov2_with_registers (its position resizing antialiases)

    @property
    def intermediate(self) -> int:
        return int(self.hidden_size * self.mlp_ratio)


def read_config(folder: Path) -> Dinov2Config:
    f = folder / "config.json"
    try:
        raw: Dict[str, Any] = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{f}: no such file (a Dinov2Model folder holds config.json and model.safetensors)") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{f}: not JSON ({e.msg})") from None
    archs = raw.get("architectures") or []
    arch = str(archs[0]) if archs else ("Dinov2WithRegistersModel" if raw.get("model_type") == "dinov2_with_registers" else "Dinov2Model")
    if raw.get("model_type") not in ("dinov2", "dinov2_with_registers"):
        raise InputError(f"{f}: model_type {raw.get('model_type')!r} is not 'dinov2' or 'dinov2_with_registers'")
    if raw.get("use_swiglu_ffn"):
        raise InputError(f"{f}: use_swiglu_ffn (the giant model's SwiGLU feed-forward) is not supported")
    if raw.get("hidden_act", "gelu") != "gelu":
        raise InputError(f"{f}: hidden_act {raw.get('hidden_act')!r} is not 'gelu'")
    if raw.get("qkv_bias", True) is not True:
        raise InputError(f"{f}: qkv_bias false is not supported")
    try:
        cfg = Dinov2Config(
            int(raw["hidden_size"]), int(raw["num_hidden_layers"]), int(raw["num_attention_heads"]), float(raw.get("mlp_ratio", 4)),
            int(raw["patch_size"]), int(raw["image_size"]), int(raw.get("num_channels", 3)), float(raw.get("layer_norm_eps", 1e-6)),
            int(raw.get("num_register_tokens", 0)), arch, raw.get("model_type") == "dinov2_with_registers",
        )
    except KeyError as e:
        raise InputError(f"{f}: missing key {e.args[0]!r}") from None
    if cfg.hidden_size % cfg.num_attention_heads:
        raise InputError(f"{f}: num_attention_heads {cfg.num_attention_heads} does not divide hidden_size {cfg.hidden_size}")
    if cfg.image_size % cfg.patch_size:
        raise InputError(f"{f}: patch_size {cfg.patch_size} does not divide image_size {cfg.image_size}")
    return cfg


def parameter_shapes(c: Dinov2Config) -> Dict[str, List[int]]:
    D, Fh, p, C = c.hidden_size, c.intermediate, c.patch_size, c.num_channels
    n0 = (c.image_size // p) ** 2
    shapes: Dict[str, List[int]] = {
        "embeddings.cls_token": [1, 1, D], "embeddings.position_embeddings": [1, 1 + n0, D],
        "embeddings.patch_embeddings.projection.weight": [D, C, p, p], "embeddings.patch_embeddings.projection.bias": [D],
    }
    if c.num_register_tokens:
        shapes["embeddings.register_tokens"] = [1, c.num_register_tokens, D]
    for i in range(c.num_hidden_layers):
        b = f"encoder.layer.{i}."
        shapes.update({
            b + "norm1.weight": [D], b + "norm1.bias": [D],
            b + "attention.attention.query.weight": [D, D], b + "attention.attention.query.bias": [D],
            b + "attention.attention.key.weight": [D, D], b + "attention.attention.key.bias": [D],
            b + "attention.attention.value.weight": [D, D], b + "attention.attention.value.bias": [D],
            b + "attention.output.dense.weight": [D, D], b + "attention.output.dense.bias": [D],
            b + "layer_scale1.lambda1": [D],
            b + "norm2.weight": [D], b + "norm2.bias": [D],
            b + "mlp.fc1.weight": [Fh, D], b + "mlp.fc1.bias": [Fh], b + "mlp.fc2.weight": [D, Fh], b + "mlp.fc2.bias": [D],
            b + "layer_scale2.lambda1": [D],
        })
    shapes.update({"layernorm.weight": [D], "layernorm.bias": [D]})
    return shapes


def subset_names(c: Dinov2Config, n_blocks: int) -> List[str]:
    """S: the last n layers' parameters and the final layernorm, in checkpoint order."""
    start = max(0, c.num_hidden_layers - n_blocks)
    return [n for n in parameter_shapes(c) if (n.startswith("encoder.layer.") and int(n.split(".")[2]) >= start) or n.startswith("layernorm.")]


def load_weights(folder: Path, c: Dinov2Config) -> Dict[str, np.ndarray]:
    """The checkpoint's arrays under Dinov2Model's names (a `dinov2.` prefix, as task models save it, is dropped),
    checked against the config from the headers: a missing, misshapen or unexpected tensor is one line."""
    f = folder / "model.safetensors"
    if not f.exists():
        raise InputError(f"{f}: no such file (a Dinov2Model folder holds config.json and model.safetensors)")
    arrays = safetensors_io.read(f).arrays
    named = {k[len("dinov2."):] if k.startswith("dinov2.") else k: v for k, v in arrays.items()}
    # The mask token (absent with use_mask_token false) is never read: iBOT blanks pixels, as on tfjs.
    return checked_weights(f, folder / "config.json", named, parameter_shapes(c), f"{c.architecture}, {c.num_hidden_layers} layers",
                           ignored=("embeddings.mask_token",))


class Dinov2Vit(Vit):
    """Dinov2Model's forward over its own parameter names, with vit.Vit's interface."""

    def __init__(self, c: Dinov2Config, crop: int, head: HeadConfig, device: torch.device) -> None:
        if crop % c.patch_size:
            raise InputError(f"model.imageSize {crop} is not a multiple of the backbone's patch_size {c.patch_size}")
        super().__init__(VitConfig(crop, c.patch_size, c.num_channels, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, 1), head, device)
        self.hf = c
        self.prefix = 1 + c.num_register_tokens
        self._pos: Dict[int, Optional[torch.Tensor]] = {}

    def positions(self, params: Params, g: int) -> torch.Tensor:
        """[1 + g², D]: the table, its patch part resized to a g×g grid when the checkpoint's grid differs."""
        table = params["embeddings.position_embeddings"][0]
        n0 = table.shape[0] - 1
        G = int(round(math.sqrt(n0)))
        if g == G:
            return table
        D = table.shape[1]
        grid = table[1:].reshape(1, G, G, D).permute(0, 3, 1, 2)
        resized = F.interpolate(grid.float(), size=(g, g), mode="bicubic", align_corners=False, antialias=self.hf.registers_layout)
        return torch.cat([table[:1], resized.permute(0, 2, 3, 1).reshape(g * g, D)])

    def embed(self, params: Params, images: torch.Tensor) -> torch.Tensor:
        B, S = images.shape[0], images.shape[1]
        p = self.cfg.patchSize
        if S % p:
            raise ValueError(f"input {S}×{S} is not a multiple of patch {p}")
        g = S // p
        w = params["embeddings.patch_embeddings.projection.weight"]  # [D, C, p, p]
        D = w.shape[0]
        flat = w.permute(2, 3, 1, 0).reshape(p * p * w.shape[1], D)  # (row, column, channel) × D
        patches = self.patchify(images) @ flat + params["embeddings.patch_embeddings.projection.bias"]
        cls = params["embeddings.cls_token"].reshape(1, 1, D).expand(B, 1, D)
        x = torch.cat([cls, patches], dim=1) + self.positions(params, g)
        if self.hf.num_register_tokens:
            reg = params["embeddings.register_tokens"].expand(B, -1, -1)
            x = torch.cat([x[:, :1], reg, x[:, 1:]], dim=1)
        return x

    def block(self, params: Params, i: int, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        H = self.cfg.heads
        dh = D // H
        pre = f"encoder.layer.{i}."
        eps = self.hf.layer_norm_eps

        def lin(t: torch.Tensor, name: str) -> torch.Tensor:
            return F.linear(t, params[pre + name + ".weight"], params[pre + name + ".bias"])

        a = F.layer_norm(x, (D,), params[pre + "norm1.weight"], params[pre + "norm1.bias"], eps=eps)
        q = lin(a, "attention.attention.query").reshape(B, T, H, dh).transpose(1, 2)
        k = lin(a, "attention.attention.key").reshape(B, T, H, dh).transpose(1, 2)
        v = lin(a, "attention.attention.value").reshape(B, T, H, dh).transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention") and x.is_cuda:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)), dim=-1) @ v
        x = x + lin(o.transpose(1, 2).reshape(B, T, D), "attention.output.dense") * params[pre + "layer_scale1.lambda1"]
        m = F.layer_norm(x, (D,), params[pre + "norm2.weight"], params[pre + "norm2.bias"], eps=eps)
        return x + lin(F.gelu(lin(m, "mlp.fc1")), "mlp.fc2") * params[pre + "layer_scale2.lambda1"]

    def final_norm(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), params["layernorm.weight"], params["layernorm.bias"], eps=self.hf.layer_norm_eps)
