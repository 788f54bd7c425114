"""Backbones in the Hugging Face DINOv3ViTModel layout (model_type dinov3_vit; config.json + model.safetensors as
`save_pretrained` writes them): the built-in implementation, functional over the checkpoint's own parameter names,
with the interface of vit.Vit so the learner, the designer's value and the features run on it unchanged.

- Patch embedding: a p×p convolution `embeddings.patch_embeddings` (p = config patch_size, 16 for the published
  models) computed as a matmul over (row, column, channel)-flattened patches.
- Tokens [CLS, registers (`embeddings.register_tokens`), patches]; no learned position table: positions are 2-D RoPE
  on the patch tokens' queries and keys (CLS and registers are not rotated). A patch's centre (y, x) is normalised to
  [-1, 1] per axis, so every crop the patch size divides works without interpolation. With head dim d and
  f_j = rope_theta^(-4j/d), j < d/4: channel pair (i, i + d/2) is rotated by 2π·y·f_i for i < d/4 and by
  2π·x·f_(i-d/4) for d/4 ≤ i < d/2. DINOv3's coordinate augmentations (pos_embed_shift/jitter/rescale) belong to its
  own pretraining and are never applied here: the learner and the probes see the eval-mode positions.
- Pre-LayerNorm blocks (eps config layer_norm_eps): separate q/k/v/o projections (`attention.{q,k,v,o}_proj`), each
  with a bias as config query_bias/key_bias/value_bias/proj_bias say (the published models: no key bias), layer scale
  (`layer_scale1/2.lambda1`), an MLP `mlp.up_proj` → act → `mlp.down_proj`, or with use_gated_mlp the gated one
  `down_proj(act(gate_proj(x)) · up_proj(x))` (biases as mlp_bias), act = hidden_act ('gelu', exact, or 'silu');
  final `norm`.
- Refused in one line: another hidden_act, a head dim that 4 does not divide (RoPE splits it in four), the
  pre-release key use_swiglu_ffn.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .. import safetensors_io
from ..errors import InputError
from .vit import HeadConfig, Params, Vit, VitConfig
from .weights import checked_weights

ARCHITECTURE = "DINOv3ViTModel"
MODEL_TYPE = "dinov3_vit"
ACTIVATIONS: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"gelu": F.gelu, "silu": F.silu}
# Never read: the mask token (iBOT blanks pixels, as on tfjs), RoPE's frequencies (recomputed from rope_theta).
IGNORED = ("embeddings.mask_token", "rope_embeddings.inv_freq")


@dataclass(frozen=True)
class Dinov3Config:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    patch_size: int
    image_size: int
    num_channels: int
    layer_norm_eps: float
    rope_theta: float
    num_register_tokens: int
    query_bias: bool
    key_bias: bool
    value_bias: bool
    proj_bias: bool
    mlp_bias: bool
    use_gated_mlp: bool
    hidden_act: str
    architecture: str = ARCHITECTURE

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


def _value(raw: Mapping[str, Any], f: Path, key: str, kind: type, default: Any) -> Any:
    """raw[key] (or the default where it is absent or null) as `kind`; otherwise one line naming the key."""
    v = raw.get(key)
    if v is None:
        v = default
    if v is None:
        raise InputError(f"{f}: missing key {key!r}")
    if kind is bool:
        ok = isinstance(v, bool)
    else:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or float(v).is_integer())
    if not ok:
        what = {bool: "a boolean", int: "an integer"}.get(kind, "a number")
        raise InputError(f"{f}: {key!r} is {json.dumps(v)}, not {what}")
    return kind(v)


def parse_config(raw: Mapping[str, Any], f: Path) -> Dinov3Config:
    """The config of a dinov3_vit config.json's object (defaults as transformers' DINOv3ViTConfig has them)."""
    if raw.get("model_type") != MODEL_TYPE:
        raise InputError(f"{f}: model_type {raw.get('model_type')!r} is not {MODEL_TYPE!r}")
    if raw.get("use_swiglu_ffn"):
        raise InputError(f"{f}: use_swiglu_ffn is a pre-release DINOv3 key; transformers' layout names the gated MLP use_gated_mlp")
    act = raw.get("hidden_act", "gelu")
    if act not in ACTIVATIONS:
        raise InputError(f"{f}: hidden_act {act!r} is not one of {', '.join(repr(a) for a in ACTIVATIONS)}")

    def get(key: str, kind: type, default: Any = None) -> Any:
        return _value(raw, f, key, kind, default)

    rope_parameters = raw.get("rope_parameters")  # where newer transformers may keep rope_theta
    rope: Mapping[str, Any] = rope_parameters if isinstance(rope_parameters, dict) else {}
    archs = raw.get("architectures") or [ARCHITECTURE]
    cfg = Dinov3Config(
        get("hidden_size", int), get("num_hidden_layers", int), get("num_attention_heads", int), get("intermediate_size", int),
        get("patch_size", int), get("image_size", int, 224), get("num_channels", int, 3), get("layer_norm_eps", float, 1e-5),
        get("rope_theta", float, rope.get("rope_theta", 100.0)), get("num_register_tokens", int, 0),
        get("query_bias", bool, True), get("key_bias", bool, False), get("value_bias", bool, True), get("proj_bias", bool, True),
        get("mlp_bias", bool, True), get("use_gated_mlp", bool, False), str(act), str(archs[0]),
    )
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size"):
        if getattr(cfg, key) < 1:
            raise InputError(f"{f}: {key!r} is {getattr(cfg, key)}, not a positive integer")
    if cfg.hidden_size % cfg.num_attention_heads:
        raise InputError(f"{f}: num_attention_heads {cfg.num_attention_heads} does not divide hidden_size {cfg.hidden_size}")
    if cfg.head_dim % 4:
        raise InputError(f"{f}: head dim {cfg.head_dim} (hidden_size / num_attention_heads) is not a multiple of 4, which 2-D RoPE needs")
    return cfg


def read_config(folder: Path) -> Dinov3Config:
    f = folder / "config.json"
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{f}: no such file (a DINOv3ViTModel folder holds config.json and model.safetensors)") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{f}: not JSON ({e.msg})") from None
    return parse_config(raw, f)


def parameter_shapes(c: Dinov3Config) -> Dict[str, List[int]]:
    D, Fh, p, C = c.hidden_size, c.intermediate_size, c.patch_size, c.num_channels
    shapes: Dict[str, List[int]] = {
        "embeddings.cls_token": [1, 1, D],
        "embeddings.patch_embeddings.weight": [D, C, p, p], "embeddings.patch_embeddings.bias": [D],
    }
    if c.num_register_tokens:
        shapes["embeddings.register_tokens"] = [1, c.num_register_tokens, D]
    biases = {"q_proj": c.query_bias, "k_proj": c.key_bias, "v_proj": c.value_bias, "o_proj": c.proj_bias}
    mlp = ("gate_proj", "up_proj", "down_proj") if c.use_gated_mlp else ("up_proj", "down_proj")
    for i in range(c.num_hidden_layers):
        b = f"layer.{i}."
        shapes.update({b + "norm1.weight": [D], b + "norm1.bias": [D]})
        for name, bias in biases.items():
            shapes[b + f"attention.{name}.weight"] = [D, D]
            if bias:
                shapes[b + f"attention.{name}.bias"] = [D]
        shapes.update({b + "layer_scale1.lambda1": [D], b + "norm2.weight": [D], b + "norm2.bias": [D]})
        for name in mlp:
            shapes[b + f"mlp.{name}.weight"] = [D, Fh] if name == "down_proj" else [Fh, D]
            if c.mlp_bias:
                shapes[b + f"mlp.{name}.bias"] = [D] if name == "down_proj" else [Fh]
        shapes[b + "layer_scale2.lambda1"] = [D]
    shapes.update({"norm.weight": [D], "norm.bias": [D]})
    return shapes


def subset_names(c: Dinov3Config, n_blocks: int) -> List[str]:
    """S: the last n layers' parameters and the final norm, in checkpoint order."""
    start = max(0, c.num_hidden_layers - n_blocks)
    return [n for n in parameter_shapes(c) if (n.startswith("layer.") and int(n.split(".")[1]) >= start) or n.startswith("norm.")]


def load_weights(folder: Path, c: Dinov3Config) -> Dict[str, np.ndarray]:
    """The checkpoint's arrays (BF16, F16 or F32, widened to float32) under DINOv3ViTModel's names (a `dinov3_vit.`
    prefix, as task models save it, is dropped), checked against the config: a missing, misshapen or unexpected
    tensor is one line."""
    f = folder / "model.safetensors"
    if not f.exists():
        raise InputError(f"{f}: no such file (a DINOv3ViTModel folder holds config.json and model.safetensors)")
    arrays = safetensors_io.read(f).arrays
    named = {k[len("dinov3_vit."):] if k.startswith("dinov3_vit.") else k: v for k, v in arrays.items()}
    if not c.num_register_tokens and named.get("embeddings.register_tokens", np.zeros((1, 0, c.hidden_size))).size == 0:
        named.pop("embeddings.register_tokens", None)  # transformers keeps a [1, 0, D] parameter when there are none
    return checked_weights(f, folder / "config.json", named, parameter_shapes(c), f"{c.architecture}, {c.num_hidden_layers} layers",
                           ignored=IGNORED)


def rope_tables(head_dim: int, theta: float, g: int) -> Tuple[np.ndarray, np.ndarray]:
    """cos and sin [g², head_dim] (float64) of a g×g grid's patches in row-major order, laid out for `rotate_half`."""
    centres = (np.arange(g, dtype=np.float64) + 0.5) / g * 2.0 - 1.0
    y, x = np.meshgrid(centres, centres, indexing="ij")
    freqs = theta ** (-np.arange(0, head_dim // 4, dtype=np.float64) * 4.0 / head_dim)  # [d/4]
    half = np.concatenate([y.reshape(-1, 1) * freqs, x.reshape(-1, 1) * freqs], axis=1) * (2.0 * math.pi)  # [g², d/2]
    angles = np.concatenate([half, half], axis=1)
    return np.cos(angles), np.sin(angles)


def apply_rope(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, prefix: int) -> torch.Tensor:
    """Queries or keys [B, H, T, d] with the patch tokens (after the first `prefix`) rotated pairwise: (t_i, t_{i+d/2})
    by the angle of column i of the tables."""
    head, patches = t[..., :prefix, :], t[..., prefix:, :]
    h = t.shape[-1] // 2
    turned = torch.cat([-patches[..., h:], patches[..., :h]], dim=-1)
    return torch.cat([head, patches * cos + turned * sin], dim=-2)


class Dinov3Vit(Vit):
    """DINOv3ViTModel's forward (eval-mode positions) over its own parameter names, with vit.Vit's interface."""

    def __init__(self, c: Dinov3Config, crop: int, head: HeadConfig, device: torch.device) -> None:
        if crop % c.patch_size:
            raise InputError(f"model.imageSize {crop} is not a multiple of the backbone's patch_size {c.patch_size}")
        super().__init__(VitConfig(crop, c.patch_size, c.num_channels, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, 1), head, device)
        self.hf = c
        self.prefix = 1 + c.num_register_tokens
        self.act = ACTIVATIONS[c.hidden_act]
        self._rope: Dict[Tuple[int, torch.dtype, torch.device], Tuple[torch.Tensor, torch.Tensor]] = {}

    @torch.no_grad()
    def rope(self, g: int, dtype: torch.dtype, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """cos and sin [g², d] on `device` in `dtype` (computed once per grid in float64)."""
        key = (g, dtype, device)
        if key not in self._rope:
            cos, sin = rope_tables(self.hf.head_dim, self.hf.rope_theta, g)
            self._rope[key] = (torch.from_numpy(cos).to(device=device, dtype=dtype), torch.from_numpy(sin).to(device=device, dtype=dtype))
        return self._rope[key]

    def embed(self, params: Params, images: torch.Tensor) -> torch.Tensor:
        B, S = images.shape[0], images.shape[1]
        p = self.cfg.patchSize
        if S % p:
            raise ValueError(f"input {S}×{S} is not a multiple of patch {p}")
        w = params["embeddings.patch_embeddings.weight"]  # [D, C, p, p]
        D = w.shape[0]
        flat = w.permute(2, 3, 1, 0).reshape(p * p * w.shape[1], D)  # (row, column, channel) × D
        patches = self.patchify(images) @ flat + params["embeddings.patch_embeddings.bias"]
        parts = [params["embeddings.cls_token"].reshape(1, 1, D).expand(B, 1, D)]
        if self.hf.num_register_tokens:
            parts.append(params["embeddings.register_tokens"].expand(B, -1, -1))
        return torch.cat(parts + [patches], dim=1)

    def block(self, params: Params, i: int, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        H = self.cfg.heads
        dh = D // H
        g = math.isqrt(T - self.prefix)
        pre = f"layer.{i}."
        eps = self.hf.layer_norm_eps

        def lin(t: torch.Tensor, name: str) -> torch.Tensor:
            return F.linear(t, params[pre + name + ".weight"], params.get(pre + name + ".bias"))

        a = F.layer_norm(x, (D,), params[pre + "norm1.weight"], params[pre + "norm1.bias"], eps=eps)
        q, k, v = (lin(a, f"attention.{n}_proj").reshape(B, T, H, dh).transpose(1, 2) for n in ("q", "k", "v"))
        cos, sin = self.rope(g, q.dtype, q.device)
        q, k = apply_rope(q, cos, sin, self.prefix), apply_rope(k, cos, sin, self.prefix)
        if hasattr(F, "scaled_dot_product_attention") and x.is_cuda:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)), dim=-1) @ v
        x = x + lin(o.transpose(1, 2).reshape(B, T, D), "attention.o_proj") * params[pre + "layer_scale1.lambda1"]
        m = F.layer_norm(x, (D,), params[pre + "norm2.weight"], params[pre + "norm2.bias"], eps=eps)
        hidden = self.act(lin(m, "mlp.gate_proj")) * lin(m, "mlp.up_proj") if self.hf.use_gated_mlp else self.act(lin(m, "mlp.up_proj"))
        return x + lin(hidden, "mlp.down_proj") * params[pre + "layer_scale2.lambda1"]

    def final_norm(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), params["norm.weight"], params["norm.bias"], eps=self.hf.layer_norm_eps)
