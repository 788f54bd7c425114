"""DINO's objective and DINOv2's two additions (harness/vision/dino.ts, objective.ts): teacher targets (EMA centre
or Sinkhorn-Knopp), the multi-crop cross-entropy over (teacher global view, other student view) pairs, the centre
and teacher-momentum updates, the iBOT masked-patch loss on harness-drawn patch masks, and KoLeo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from .vit import Params, Vit


@dataclass(frozen=True)
class DinoConfig:
    studentTemp: float = 0.1
    teacherTemp: float = 0.04
    centerMomentum: float = 0.9
    teacherMomentum: float = 0.996
    centering: str = "ema"
    ibotWeight: float = 0.0
    ibotMaskProb: float = 0.5
    koleoWeight: float = 0.0

    @property
    def ibot(self) -> bool:
        return self.ibotWeight > 0

    @property
    def extended(self) -> bool:
        return self.ibot or self.koleoWeight > 0


def teacher_momentum_at(base: float, step: int, total: int) -> float:
    t = min(1.0, step / total) if total > 0 else 1.0
    return 1 - (1 - base) * (math.cos(math.pi * t) + 1) / 2


def sinkhorn_targets(logits: torch.Tensor, temp: float, iters: int = 3) -> torch.Tensor:
    N, K = logits.shape
    q = torch.exp((logits - logits.max()) / temp)
    q = q / q.sum()
    for _ in range(iters):
        q = q / q.sum(dim=0, keepdim=True) / K
        q = q / q.sum(dim=1, keepdim=True) / N
    return q * N


def dino_targets(logits: torch.Tensor, center: torch.Tensor, dino: DinoConfig) -> torch.Tensor:
    if dino.centering == "sinkhorn":
        return sinkhorn_targets(logits, dino.teacherTemp)
    return torch.softmax((logits - center) / dino.teacherTemp, dim=1)


def dino_loss(student: torch.Tensor, targets: torch.Tensor, B: int, temp: float) -> torch.Tensor:
    """Mean over (teacher global view i, student view v ≠ i) and images of −Σ q_i log p_v; rows view-major."""
    K = student.shape[1]
    n_views = student.shape[0] // B
    logp = torch.log_softmax(student / temp, dim=1).reshape(n_views, B, K)
    others = logp.sum(dim=0, keepdim=True) - logp[:2]
    return -(targets.reshape(2, B, K) * others).sum() / (2 * (n_views - 1) * B)


def updated_center(center: torch.Tensor, teacher_logits: torch.Tensor, momentum: float) -> torch.Tensor:
    return center * momentum + teacher_logits.mean(dim=0) * (1 - momentum)


def mean_entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p + 1e-12)).sum(dim=1).mean()


def masked_patch_loss(student: torch.Tensor, targets: torch.Tensor, temp: float) -> torch.Tensor:
    return -(targets * torch.log_softmax(student / temp, dim=1)).sum() / student.shape[0]


def koleo_loss(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """−mean log distance of each L2-normalised row to its nearest other row (the neighbour chosen without gradient)."""
    N = x.shape[0]
    if N < 2:
        return x.new_zeros(())
    z = x / torch.clamp(torch.sqrt(x.square().sum(dim=1, keepdim=True)), min=1e-12)
    with torch.no_grad():
        sim = z @ z.t() - 4 * torch.eye(N, device=x.device, dtype=x.dtype)
        nn = sim.argmax(dim=1)
    d = torch.sqrt((z - z[nn]).square().sum(dim=1) + 1e-12)
    return -torch.log(d + eps).mean()


@dataclass
class PatchMask:
    """One step's iBOT masking of the 2·B global views: flat row indices into the [2B·T] tokens of the blanked
    patches, and the pixel multiplier [2B, S, S, 1] that blanks them in the student's (normalised) views."""

    rows: torch.Tensor
    keep: torch.Tensor


def patch_mask(vit: Vit, mask: np.ndarray, device: torch.device) -> PatchMask:
    """From a harness-drawn mask [2B, P] (1 = blanked)."""
    n, P = mask.shape
    G = int(round(math.sqrt(P)))
    p = vit.cfg.patchSize
    T = P + vit.prefix
    v, t = np.nonzero(mask)
    rows = torch.from_numpy((v * T + vit.prefix + t).astype(np.int64)).to(device)
    keep = np.ones((n, G, G, p, p), dtype=np.float32)
    keep[mask.reshape(n, G, G).astype(bool)] = 0  # every pixel of a masked patch (row r, column c)
    keep_t = torch.from_numpy(np.ascontiguousarray(keep.transpose(0, 1, 3, 2, 4)).reshape(n, G * p, G * p, 1)).to(device)
    return PatchMask(rows, keep_t)


def teacher_side(vit: Vit, teacher: Params, views: torch.Tensor, mask: Optional[PatchMask], dino: DinoConfig) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Teacher CLS logits [2B, K] and, with iBOT, Sinkhorn targets [M, K] of the masked tokens (no gradient)."""
    with torch.no_grad():
        tokens = vit.tokens(teacher, views)
        if vit.head_cfg.pool == "mean" and mask is None:
            cls = vit.head(teacher, tokens[:, vit.prefix:].mean(dim=1))
        else:
            cls = vit.head(teacher, tokens[:, 0])
        if mask is None:
            return cls, None
        D = tokens.shape[-1]
        patch = sinkhorn_targets(vit.head(teacher, tokens.reshape(-1, D)[mask.rows]), dino.teacherTemp)
        return cls, patch


def student_loss_from_hidden(vit: Vit, params: Params, global_h: torch.Tensor, local_h: Optional[torch.Tensor], start: int,
                             targets: torch.Tensor, B: int, dino: DinoConfig, mask: Optional[PatchMask], patch_targets: Optional[torch.Tensor]) -> torch.Tensor:
    """The learner's loss from the hidden states entering block `start` (start 0 with embedded tokens: the full
    forward): DINO's on [global ‖ local] (each group through the head on its own, as the head's batch statistics
    see them), plus λ_p·iBOT on the masked tokens and λ_k·KoLeo on each global view's CLS features."""
    tokens = vit.forward_from(params, global_h, start)
    if vit.head_cfg.pool == "mean":
        if dino.extended:
            raise ValueError("dino.ibotWeight / dino.koleoWeight need model.headPool 'cls'")
        g_feat = tokens[:, vit.prefix:].mean(dim=1)
    else:
        g_feat = tokens[:, 0]
    parts = [vit.head(params, g_feat)]
    if local_h is not None and local_h.shape[0] > 0:
        parts.append(vit.head(params, vit.pooled_from(params, local_h, start)))
    loss = dino_loss(torch.cat(parts) if len(parts) > 1 else parts[0], targets, B, dino.studentTemp)
    if dino.ibot and mask is not None and patch_targets is not None:
        D = tokens.shape[-1]
        s_patch = vit.head(params, tokens.reshape(-1, D)[mask.rows])
        loss = loss + masked_patch_loss(s_patch, patch_targets, dino.studentTemp) * dino.ibotWeight
    if dino.koleoWeight > 0:
        loss = loss + (koleo_loss(g_feat[:B]) + koleo_loss(g_feat[B:])) / 2 * dino.koleoWeight
    return loss
