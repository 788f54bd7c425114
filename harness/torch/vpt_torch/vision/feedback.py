"""Dense downstream feedback for the mask designer (harness/vision/designer/feedback.ts): linear segmentation and
depth heads on the learner's standardised patch tokens (statistics frozen at the first fit), logits resized
bilinearly to the label size; L_down = α_seg·CE (ignore label skipped) + α_dep·L1 (valid pixels). The heads are
fitted with the backbone frozen, then follow it with a few Adam steps per meta step. The feedback images, their
labels and every batch's indices come from the harness.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from ..errors import InputError
from ..optim import DesignerAdam
from .masks import Resizer
from .vit import Params, Vit


@dataclass
class FeedbackSource:
    """One labelled split: normalised images [n, S, S, 3], segmentation ids [n, L, L] (−1 = ignored) and/or depth."""

    images: torch.Tensor
    labelSize: int
    seg: Optional[torch.Tensor]
    depth: Optional[torch.Tensor]

    @property
    def n(self) -> int:
        return int(self.images.shape[0])


@dataclass
class FeedbackBatch:
    images: torch.Tensor
    labelSize: int
    seg: Optional[torch.Tensor]  # int64 ids [B·L·L], −1 ignored
    depth: Optional[torch.Tensor]  # [B·L·L], 0 missing

    @property
    def B(self) -> int:
        return int(self.images.shape[0])


def feedback_batch(src: FeedbackSource, idx: torch.Tensor) -> FeedbackBatch:
    return FeedbackBatch(
        src.images[idx], src.labelSize,
        src.seg[idx].reshape(-1) if src.seg is not None else None,
        src.depth[idx].reshape(-1) if src.depth is not None else None,
    )


class FeedbackHeads:
    def __init__(self, vit: Vit, seg_weight: float, depth_weight: float, num_classes: int, lr: float, sources: List[FeedbackSource]) -> None:
        self.vit = vit
        self.seg_weight = seg_weight
        self.depth_weight = depth_weight
        self.C = num_classes
        self.sources = sources
        D = vit.cfg.width
        dev = vit.device
        self.params: Params = {}
        if any(s.seg is not None for s in sources):
            self.params["seg.w"] = torch.zeros(D, num_classes, device=dev, requires_grad=True)
            self.params["seg.b"] = torch.zeros(num_classes, device=dev, requires_grad=True)
        if any(s.depth is not None for s in sources):
            self.params["depth.w"] = torch.zeros(D, 1, device=dev, requires_grad=True)
            self.params["depth.b"] = torch.zeros(1, device=dev, requires_grad=True)
        self.opt = DesignerAdam(lr, self.params)
        self.mean: Optional[torch.Tensor] = None
        self.inv_std: Optional[torch.Tensor] = None
        self.resizer = Resizer(dev)

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def loss(self, tokens: torch.Tensor, b: FeedbackBatch, heads: Optional[Params] = None) -> torch.Tensor:
        """L_down of batch `b` from the backbone's output tokens [B, T, D]."""
        if self.mean is None or self.inv_std is None:
            raise RuntimeError("feedback heads used before their first fit")
        h = self.params if heads is None else heads
        D = self.vit.cfg.width
        B = b.B
        k = self.vit.prefix
        g = int(round((tokens.shape[1] - k) ** 0.5))
        x = (tokens[:, k:].reshape(B * g * g, D) - self.mean) * self.inv_std
        L = b.labelSize
        terms = []
        if b.seg is not None and "seg.w" in h:
            z = (x @ h["seg.w"] + h["seg.b"]).reshape(B, g, g, self.C)
            logp = torch.log_softmax(self.resizer.up(z, L).reshape(-1, self.C), dim=1)
            valid = b.seg >= 0
            picked = logp.gather(1, b.seg.clamp(min=0).unsqueeze(1)).squeeze(1)
            n = torch.clamp(valid.sum(), min=1).to(logp.dtype)
            terms.append(-(picked * valid.to(logp.dtype)).sum() / n * self.seg_weight)
        if b.depth is not None and "depth.w" in h:
            z = (x @ h["depth.w"] + h["depth.b"]).reshape(B, g, g, 1)
            pred = self.resizer.up(z, L).reshape(-1)
            valid = (b.depth > 0).to(pred.dtype)
            n = torch.clamp(valid.sum(), min=1)
            terms.append(((pred - b.depth).abs() * valid).sum() / n * self.depth_weight)
        if not terms:
            raise RuntimeError("feedback batch has no labels the heads read")
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def step(self, tokens: torch.Tensor, b: FeedbackBatch, steps: int) -> None:
        """Adam steps of the heads on fixed tokens (the backbone frozen)."""
        tokens = tokens.detach()
        names = list(self.params)
        for _ in range(steps):
            loss = self.loss(tokens, b)
            used = [n for n in names if self.params[n].requires_grad]
            grads = torch.autograd.grad(loss, [self.params[n] for n in used], allow_unused=True)
            self.opt.apply({n: g for n, g in zip(used, grads) if g is not None})

    def fit(self, params: Params, steps: int, draws: List[np.ndarray], draw_sources: np.ndarray,
            head_images: Optional[List[Optional[np.ndarray]]] = None) -> None:
        """The first fit: standardisation statistics over the patch tokens of the heads' feedback images under
        `params` (every image of a source unless `head_images` lists them: design.metaFraction), float64 sums,
        population variance, eps 1e-5; then one Adam step per harness-drawn minibatch."""
        D = self.vit.cfg.width
        stored: List[torch.Tensor] = []
        with torch.no_grad():
            for src in self.sources:
                chunks = [self.vit.tokens(params, src.images[a:a + 64]) for a in range(0, src.n, 64)]
                stored.append(torch.cat(chunks))
            picked = [t if head_images is None or head_images[i] is None else t[torch.from_numpy(head_images[i]).to(t.device)]
                      for i, t in enumerate(stored)]
            rows = torch.cat([t[:, self.vit.prefix:].reshape(-1, D) for t in picked]).double()
            mean = rows.mean(dim=0)
            var = torch.clamp((rows * rows).mean(dim=0) - mean * mean, min=0)
            self.mean = mean.float()
            self.inv_std = (1 / torch.sqrt(var + 1e-5)).float()
        for t, idx in enumerate(draws):
            si = int(draw_sources[t])
            src = self.sources[si]
            sel = torch.from_numpy(idx.astype(np.int64)).to(src.images.device)
            b = feedback_batch(src, sel)
            self.step(stored[si][sel], b, 1)


def labels_tensor(seg: np.ndarray, ignore: int, num_classes: int, name: str, device: torch.device) -> torch.Tensor:
    """Segmentation ids as int64 with the ignore label as −1; a class outside [0, C) is an input error."""
    ids = seg.astype(np.int64)
    ids[seg == ignore] = -1
    bad = ids >= num_classes
    if bad.any():
        raise InputError(f"inputs.safetensors: '{name}' holds class {int(ids[bad][0])}, outside [0, {num_classes})")
    return torch.from_numpy(ids).to(device)

