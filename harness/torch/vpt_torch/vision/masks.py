"""The mask designer and what masks do to views (harness/vision/designer/unet.ts, masks.ts, views.ts): a small U-Net
(3×3 convolutions whose weights are stored [9·Cin, Cout] in (row, column, channel) order, GELU, 2×2 average pooling
down, nearest-neighbour up, a linear output), run on the image average-pooled by `scale` with its logits resized
bilinearly (half-pixel centres) back; optional centring of each mask's logits on logit(keep target); masked views
μ⊙v + (1−μ)⊙Blur(v) with a reflected-border Gaussian blur; keep-ratio penalty, total variation, mask statistics.
Tensors are channels-last [N, S, S, C] at the boundary, as the harness writes them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

Params = Dict[str, torch.Tensor]


@dataclass(frozen=True)
class UNetShape:
    width: int
    levels: int
    channels: int
    scale: int = 1
    centre: Optional[float] = None


def unet_parameter_shapes(s: UNetShape) -> Dict[str, List[int]]:
    def ch(level: int) -> int:
        return s.width * 2 ** level

    out: Dict[str, List[int]] = {}
    for lv in range(s.levels):
        cin = s.channels if lv == 0 else ch(lv - 1)
        out.update({f"enc.{lv}.a.w": [9 * cin, ch(lv)], f"enc.{lv}.a.b": [ch(lv)], f"enc.{lv}.b.w": [9 * ch(lv), ch(lv)], f"enc.{lv}.b.b": [ch(lv)]})
    for lv in range(s.levels - 2, -1, -1):
        cin = ch(lv + 1) + ch(lv)
        out.update({f"dec.{lv}.a.w": [9 * cin, ch(lv)], f"dec.{lv}.a.b": [ch(lv)], f"dec.{lv}.b.w": [9 * ch(lv), ch(lv)], f"dec.{lv}.b.b": [ch(lv)]})
    out.update({"out.w": [ch(0), 1], "out.b": [1]})
    return out


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[out, in]: output i samples the input at (i + 0.5)·in/out − 0.5, clamped (probes/upsample.ts)."""
    m = np.zeros((n_out, n_in), dtype=np.float32)
    scale = n_in / n_out
    for i in range(n_out):
        src = max(0.0, (i + 0.5) * scale - 0.5)
        lo = min(n_in - 1, math.floor(src))
        hi = min(n_in - 1, lo + 1)
        f = src - lo
        m[i, lo] += 1 - f
        m[i, hi] += f
    return m


class Resizer:
    """Bilinear resizing of square channels-last grids by fixed per-axis matrices, kept per size pair."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._m: Dict[tuple, torch.Tensor] = {}

    def matrix(self, n_in: int, n_out: int) -> torch.Tensor:
        key = (n_in, n_out)
        m = self._m.get(key)
        if m is None:
            m = torch.from_numpy(bilinear_matrix(n_in, n_out)).to(self.device)
            self._m[key] = m
        return m

    def up(self, x: torch.Tensor, size: int) -> torch.Tensor:
        """x [N, a, a, C] -> [N, size, size, C]."""
        M = self.matrix(x.shape[1], size)
        return torch.einsum("ia,nabc,jb->nijc", M, x, M)


def gaussian_taps(sigma: float) -> np.ndarray:
    r = max(1, math.ceil(3 * sigma))
    k = np.arange(-r, r + 1, dtype=np.float64)
    taps = np.exp(-k * k / (2 * sigma * sigma))
    return (taps / taps.sum()).astype(np.float32)


def blur_batch(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [N, S, S, C] with reflected borders (views.ts blurBatch); no gradient needed."""
    taps = torch.from_numpy(gaussian_taps(sigma)).to(x.device)
    r = (taps.numel() - 1) // 2
    C = x.shape[3]
    y = F.pad(x.permute(0, 3, 1, 2), (r, r, r, r), mode="reflect")
    y = F.conv2d(y, taps.reshape(1, 1, 1, -1).expand(C, 1, 1, 2 * r + 1), groups=C)
    y = F.conv2d(y, taps.reshape(1, 1, -1, 1).expand(C, 1, 2 * r + 1, 1), groups=C)
    return y.permute(0, 2, 3, 1)


def masked_views(v: torch.Tensor, blurred: torch.Tensor, mu: torch.Tensor, strength: float) -> torch.Tensor:
    m = mu if strength == 1 else 1 - strength * (1 - mu)
    return m * v + (1 - m) * blurred


def total_variation(mu: torch.Tensor) -> torch.Tensor:
    N, S, W = mu.shape[0], mu.shape[1], mu.shape[2]
    dy = (mu[:, 1:] - mu[:, :-1]).abs().sum()
    dx = (mu[:, :, 1:] - mu[:, :, :-1]).abs().sum()
    return (dy + dx) / (N * ((S - 1) * W + S * (W - 1)))


def mask_entropy(mu: torch.Tensor) -> torch.Tensor:
    p = torch.clamp(mu, 1e-6, 1 - 1e-6)
    q = 1 - p
    return -(p * torch.log(p) + q * torch.log(q)).mean()


def mask_stats(mu: torch.Tensor) -> torch.Tensor:
    """[keep ratio, entropy, TV] of masks [N, S, S, 1]."""
    return torch.stack([mu.mean(), mask_entropy(mu), total_variation(mu)])


def keep_penalty(mu: torch.Tensor, kind: str, weight: float, target: float) -> torch.Tensor:
    m = mu.reshape(mu.shape[0], -1).mean(dim=1)
    per = 1 / torch.sin(m * math.pi) if kind == "sine" else (m - target).square()
    return per.mean() * weight


class MaskDesigner:
    """The U-Net's parameters (float32 leaves that require grad) and the soft masks they make."""

    def __init__(self, shape: UNetShape, params: Params) -> None:
        self.shape = shape
        expected = unet_parameter_shapes(shape)
        for name, sh in expected.items():
            t = params.get(name)
            if t is None:
                raise ValueError(f"inputs.safetensors lacks 'designer.{name}'")
            if list(t.shape) != sh:
                raise ValueError(f"inputs.safetensors: 'designer.{name}' has shape {list(t.shape)}, the U-Net expects {sh}")
        self.params = {k: params[k].detach().clone().float().requires_grad_(True) for k in expected}
        self.resizer = Resizer(next(iter(self.params.values())).device)

    def _conv(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        w = self.params[prefix + ".w"]
        cin = w.shape[0] // 9
        weight = w.reshape(3, 3, cin, w.shape[1]).permute(3, 2, 0, 1)
        return F.gelu(F.conv2d(x, weight, self.params[prefix + ".b"], padding=1))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """[N, H, W, 1] logits of channels-last images."""
        s = self.shape
        if images.shape[1] % 2 ** (s.levels - 1):
            raise ValueError(f"designer: image side {images.shape[1]} is not divisible by 2^(levels−1) = {2 ** (s.levels - 1)}")
        x = images.permute(0, 3, 1, 2)
        skips = []
        for lv in range(s.levels):
            if lv > 0:
                x = F.avg_pool2d(x, 2, 2)
            x = self._conv(self._conv(x, f"enc.{lv}.a"), f"enc.{lv}.b")
            skips.append(x)
        for lv in range(s.levels - 2, -1, -1):
            skip = skips[lv]
            up = F.interpolate(x, size=skip.shape[2:], mode="nearest")
            x = self._conv(self._conv(torch.cat([up, skip], dim=1), f"dec.{lv}.a"), f"dec.{lv}.b")
        x = x.permute(0, 2, 3, 1)
        return x @ self.params["out.w"] + self.params["out.b"]

    def _centred(self, z: torch.Tensor) -> torch.Tensor:
        c = self.shape.centre
        if c is None:
            return z
        return z - z.mean(dim=(1, 2, 3), keepdim=True) + math.log(c / (1 - c))

    def masks(self, images: torch.Tensor) -> torch.Tensor:
        """μ [N, S, S, 1] of normalised channels-last images."""
        k = self.shape.scale
        if k == 1:
            return torch.sigmoid(self._centred(self.logits(images)))
        S = images.shape[1]
        small = self.logits(F.avg_pool2d(images.permute(0, 3, 1, 2), k, k).permute(0, 2, 3, 1))
        return torch.sigmoid(self.resizer.up(self._centred(small), S))
