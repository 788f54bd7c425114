"""The vision learner in torch, over the tfjs engine's parameter dictionaries (harness/vision/vit.ts, head.ts):
a ViT (patch embedding as one matmul over (row, column, channel)-flattened patches, a learned position table
area-resampled for smaller grids, CLS token, pre-LayerNorm blocks with q/k/v without bias, exact GELU, final
LayerNorm) and DINO's projection head (3-layer GELU MLP, optional batch statistics, L2 normalisation,
weight-normalised prototypes). Same names, shapes and arithmetic as the TypeScript, so a checkpoint written
by one engine is read by the other. Images are [N, S, S, C] (channels last), as the harness writes them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

Params = Dict[str, torch.Tensor]


@dataclass(frozen=True)
class VitConfig:
    imageSize: int
    patchSize: int
    channels: int
    width: int
    depth: int
    heads: int
    mlpRatio: int


@dataclass(frozen=True)
class HeadConfig:
    hidden: int
    bottleneck: int
    out: int
    norm: str = "none"  # 'none' | 'batch'
    pool: str = "cls"  # 'cls' | 'mean'


def grid_size(cfg: VitConfig) -> int:
    return cfg.imageSize // cfg.patchSize


def vit_parameter_shapes(cfg: VitConfig) -> Dict[str, List[int]]:
    p, C, D, L = cfg.patchSize, cfg.channels, cfg.width, cfg.depth
    G = grid_size(cfg)
    Fh = cfg.mlpRatio * D
    shapes: Dict[str, List[int]] = {"patch.w": [p * p * C, D], "patch.b": [D], "cls": [1, D], "pos": [1 + G * G, D]}
    for i in range(L):
        b = f"blk.{i}."
        shapes.update({
            b + "ln1.g": [D], b + "ln1.b": [D],
            b + "attn.wq": [D, D], b + "attn.wk": [D, D], b + "attn.wv": [D, D], b + "attn.wo": [D, D], b + "attn.bo": [D],
            b + "ln2.g": [D], b + "ln2.b": [D],
            b + "mlp.w1": [D, Fh], b + "mlp.b1": [Fh], b + "mlp.w2": [Fh, D], b + "mlp.b2": [D],
        })
    shapes.update({"norm.g": [D], "norm.b": [D]})
    return shapes


def head_parameter_shapes(in_dim: int, h: HeadConfig) -> Dict[str, List[int]]:
    return {
        "head.w1": [in_dim, h.hidden], "head.b1": [h.hidden],
        "head.w2": [h.hidden, h.hidden], "head.b2": [h.hidden],
        "head.w3": [h.hidden, h.bottleneck], "head.b3": [h.bottleneck],
        "head.v": [h.bottleneck, h.out],
    }


def subset_start(cfg: VitConfig, n_blocks: int) -> int:
    return max(0, cfg.depth - n_blocks)


def subset_names(cfg: VitConfig, n_blocks: int) -> List[str]:
    """S: the last n blocks' parameters and the final norm, in the TypeScript's order."""
    start = subset_start(cfg, n_blocks)
    out = []
    for name in vit_parameter_shapes(cfg):
        if name.startswith("blk."):
            if int(name.split(".")[1]) >= start:
                out.append(name)
        elif name.startswith("norm."):
            out.append(name)
    return out


def area_weights(G: int, g: int) -> np.ndarray:
    """[g, G]: output cell i averages input cells over [i·G/g, (i+1)·G/g) (vit.ts areaWeights)."""
    w = np.zeros((g, G), dtype=np.float64)
    step = G / g
    for i in range(g):
        lo, hi = i * step, (i + 1) * step
        for j in range(G):
            w[i, j] = max(0.0, min(hi, j + 1) - max(lo, j)) / step
    return w


class Vit:
    """The functional ViT of one shape; keeps its small constant matrices (position resamplers) per device. Tokens are
    [CLS, `prefix` − 1 others (registers), patches in row-major grid order]."""

    prefix = 1

    def __init__(self, cfg: VitConfig, head: HeadConfig, device: torch.device) -> None:
        if cfg.imageSize % cfg.patchSize:
            raise ValueError(f"model.imageSize {cfg.imageSize} is not a multiple of model.patchSize {cfg.patchSize}")
        if cfg.width % cfg.heads:
            raise ValueError(f"model.width {cfg.width} is not divisible by model.heads {cfg.heads}")
        self.cfg = cfg
        self.head_cfg = head
        self.device = device
        self._resamplers: Dict[int, torch.Tensor] = {}

    def resampler(self, g: int) -> torch.Tensor:
        G = grid_size(self.cfg)
        m = self._resamplers.get(g)
        if m is None:
            w = area_weights(G, g)
            m = torch.from_numpy(np.einsum("ar,bc->abrc", w, w).reshape(g * g, G * G).astype(np.float32)).to(self.device)
            self._resamplers[g] = m
        return m

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        B, H, W, C = images.shape
        p = self.cfg.patchSize
        if H != W or H % p:
            raise ValueError(f"input {H}×{W} is not a square multiple of patch {p}")
        g = H // p
        return images.reshape(B, g, p, g, p, C).permute(0, 1, 3, 2, 4, 5).reshape(B, g * g, p * p * C)

    def embed(self, params: Params, images: torch.Tensor) -> torch.Tensor:
        """Tokens [B, T, D] (CLS first) of images [B, S, S, C]."""
        B, S = images.shape[0], images.shape[1]
        G = grid_size(self.cfg)
        g = S // self.cfg.patchSize
        D = self.cfg.width
        patches = self.patchify(images) @ params["patch.w"] + params["patch.b"]
        table = params["pos"]
        grid = table[1:]
        pos = grid if g == G else self.resampler(g) @ grid
        cls = (params["cls"] + table[:1]).reshape(1, 1, D).expand(B, 1, D)
        return torch.cat([cls, patches + pos], dim=1)

    def block(self, params: Params, i: int, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        H = self.cfg.heads
        dh = D // H
        pre = f"blk.{i}."
        a = F.layer_norm(x, (D,), params[pre + "ln1.g"], params[pre + "ln1.b"], eps=1e-5)
        q = (a @ params[pre + "attn.wq"]).reshape(B, T, H, dh).transpose(1, 2)
        k = (a @ params[pre + "attn.wk"]).reshape(B, T, H, dh).transpose(1, 2)
        v = (a @ params[pre + "attn.wv"]).reshape(B, T, H, dh).transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention") and x.is_cuda:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)), dim=-1) @ v
        x = x + o.transpose(1, 2).reshape(B, T, D) @ params[pre + "attn.wo"] + params[pre + "attn.bo"]
        m = F.layer_norm(x, (D,), params[pre + "ln2.g"], params[pre + "ln2.b"], eps=1e-5)
        hdn = F.gelu(m @ params[pre + "mlp.w1"] + params[pre + "mlp.b1"])
        return x + hdn @ params[pre + "mlp.w2"] + params[pre + "mlp.b2"]

    def blocks(self, params: Params, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        for i in range(start, stop):
            x = self.block(params, i, x)
        return x

    def final_norm(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), params["norm.g"], params["norm.b"], eps=1e-5)

    def hidden_below(self, params: Params, images: torch.Tensor, upto: int) -> torch.Tensor:
        return self.blocks(params, self.embed(params, images), 0, upto)

    def forward_from(self, params: Params, hidden: torch.Tensor, start: int) -> torch.Tensor:
        """Output tokens [B, T, D] (final norm) from the hidden state entering block `start`."""
        return self.final_norm(params, self.blocks(params, hidden, start, self.cfg.depth))

    def tokens(self, params: Params, images: torch.Tensor) -> torch.Tensor:
        return self.forward_from(params, self.embed(params, images), 0)

    def pooled_from(self, params: Params, hidden: torch.Tensor, start: int) -> torch.Tensor:
        """The head's input: the CLS token, or the mean patch token (`head.pool` 'mean')."""
        t = self.forward_from(params, hidden, start)
        return t[:, self.prefix:].mean(dim=1) if self.head_cfg.pool == "mean" else t[:, 0]

    def head(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """Prototype logits [N, K] of features [N, D]."""
        def bn(t: torch.Tensor) -> torch.Tensor:
            if self.head_cfg.norm != "batch":
                return t
            mean = t.mean(dim=0, keepdim=True)
            var = (t - mean).square().mean(dim=0, keepdim=True)
            return (t - mean) / torch.sqrt(var + 1e-5)
        h = F.gelu(bn(x @ params["head.w1"] + params["head.b1"]))
        h = F.gelu(bn(h @ params["head.w2"] + params["head.b2"]))
        z = h @ params["head.w3"] + params["head.b3"]
        z = z / torch.clamp(torch.sqrt(z.square().sum(dim=1, keepdim=True)), min=1e-12)
        v = params["head.v"]
        return z @ (v / torch.sqrt(v.square().sum(dim=0, keepdim=True)))

    def layer_features(self, params: Params, images: torch.Tensor, layers: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """CLS [B, D·layers] and patch tokens [B, P, D·layers] of the last `layers` blocks, each through the final
        norm, concatenated along features (harness/vision/features.ts)."""
        L = self.cfg.depth
        hidden = self.blocks(params, self.embed(params, images), 0, L - layers + 1)
        outs = [self.final_norm(params, hidden)]
        for i in range(L - layers + 1, L):
            hidden = self.block(params, i, hidden)
            outs.append(self.final_norm(params, hidden))
        t = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        return t[:, 0], t[:, self.prefix:]


def check_shapes(arrays: Dict[str, np.ndarray], shapes: Dict[str, List[int]], prefix: str, source: str) -> Optional[str]:
    """The first problem with `arrays` against the expected shapes (a missing tensor or a wrong shape), else None."""
    for name, shape in shapes.items():
        a = arrays.get(prefix + name)
        if a is None:
            return f"{source} lacks tensor '{prefix}{name}'"
        if list(a.shape) != list(shape):
            return f"{source}: tensor '{prefix}{name}' has shape {list(a.shape)}, config expects {list(shape)}"
    return None
