"""The view rules of the vision arms on the torch engine (harness/vision/views.ts, designer/rule.ts,
designer/random-rule.ts): the standard crops (baseline), harness-drawn random masks (random-masks), and the mask
designer (v-pretraining, random-feedback) with its meta step:
  g_down on a harness-drawn feedback batch after the heads' refit steps (or a same-norm Gaussian, drawn here from
  the harness RNG's 'random-feedback' stream), its unit direction ĝ, and one Adam step of the U-Net on
  −w·V̂ + keep-ratio penalty + λ_tv·TV, V̂ = ĝᵀ∇_θS L_pre(θ; μ_φ⊙v + (1−μ_φ)⊙Blur(v)), L_pre the learner's own loss
  (DINO + iBOT + KoLeo as the suite sets them) on the first metaBatch images of the step's crops.
V̂'s designer gradient: by double backward (`directional` exact) or by the tfjs engine's central difference
along ĝ with step design.fdEpsilon (`differences`, what the agreement test uses). Only S is perturbed, so the
activations below S are computed once per meta step.
"""
from __future__ import annotations

import math

import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..optim import DesignerAdam, global_norm
from ..runtime import to_host
from ..rng import Rng
from .dino import patch_mask, student_loss_from_hidden
from .feedback import FeedbackBatch, FeedbackHeads, FeedbackSource, feedback_batch, labels_tensor
from .inputs import VisionCell
from .learner import DinoLearner, first_images
from .masks import MaskDesigner, UNetShape, blur_batch, keep_penalty, mask_stats, masked_views, total_variation
from .vit import Params

Grads = Dict[str, torch.Tensor]


def dot(a: Grads, b: Grads) -> torch.Tensor:
    return sum(((a[k] * b[k]).sum() for k in a), torch.zeros((), device=next(iter(a.values())).device))


def pearson(x: List[float], y: List[float]) -> float:
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def mean_of(xs: List[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


class ViewRule:
    """The baseline: both networks see the standard augmented global crops."""

    def views(self, crops: torch.Tensor, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        return crops, crops

    def before_step(self, step: int, crops: torch.Tensor, local: torch.Tensor) -> None:
        return None

    def summary(self) -> Dict[str, float]:
        return {}

    def curves(self) -> Dict[str, List[Dict[str, Any]]]:
        return {}

    def masks_for(self, images: torch.Tensor) -> Optional[torch.Tensor]:
        return None


class GivenMasksRule(ViewRule):
    """random-masks: the harness drew every step's masks (and reports their statistics itself)."""

    def __init__(self, cell: VisionCell, upload: Callable[[np.ndarray], torch.Tensor]) -> None:
        self.masks = cell.array("masks", np.float32)
        self.upload = upload
        self.sigma = cell.design.maskBlurSigma
        self.strength = cell.design.maskStrength

    def views(self, crops: torch.Tensor, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            mu = self.upload(self.masks[step]).unsqueeze(-1)
            return masked_views(crops, blur_batch(crops, self.sigma), mu, self.strength), crops


class DesignerRule(ViewRule):
    def __init__(self, cell: VisionCell, learner: DinoLearner, device: torch.device, exact: bool) -> None:
        self.cell = cell
        self.learner = learner
        self.device = device
        self.exact = exact
        d = cell.design
        shape = UNetShape(d.designerWidth, d.designerLevels, cell.vit.channels, d.designerScale, d.keepTarget if d.keepCentering else None)
        init = {k[len("designer."):]: torch.from_numpy(np.array(v)).to(device) for k, v in cell.arrays.items() if k.startswith("designer.")}
        self.designer = MaskDesigner(shape, init)
        self.initial = MaskDesigner(shape, {k: v.clone() for k, v in init.items()})  # the probe's V̂ under the untrained designer
        self.opt = DesignerAdam(d.designerLr, self.designer.params)
        self.sources: List[FeedbackSource] = []
        for i, s in enumerate(cell.sources):
            seg = labels_tensor(cell.array(f"feedback.{i}.seg"), cell.ignore_label, cell.num_classes, f"feedback.{i}.seg", device) if s.seg else None
            depth = torch.from_numpy(cell.array(f"feedback.{i}.depth")).to(device) if s.depth else None
            self.sources.append(FeedbackSource(torch.from_numpy(cell.array(f"feedback.{i}.images")).to(device), s.labelSize, seg, depth))
        self.heads = FeedbackHeads(learner.vit, d.segWeight, d.depthWeight, cell.num_classes, d.headLr, self.sources)
        self.fb_draws = cell.array("feedback_draws", np.int32)
        self.fb_sources = cell.array("feedback_source", np.int32)
        self.fb_turn = 0
        # design.metaFraction > 0: the heads refit on a harness-drawn batch of their own images before each g_down.
        self.refit_draws = cell.arrays.get("refit_draws")
        self.refit_sources = cell.arrays.get("refit_source")
        self.refit_turn = 0
        self.probe_slopes: Optional[Tuple[List[float], List[float]]] = None
        self.meta_ibot = cell.arrays.get("meta_ibot")
        self.meta_turn = 0
        self.meta_set = set(cell.meta_steps)
        self.noise = Rng.with_native(cell.seed).fork("arm").fork("random-feedback")
        self.names = cell.subset
        self.start = cell.subset_from
        self.sums = torch.zeros(4, device=device)
        self.pending: List[Dict[str, Any]] = []
        self._curve: List[Dict[str, Any]] = []
        self.meta_ms: List[float] = []
        self.head_fit_ms = 0.0
        self.down_avg: Optional[Grads] = None
        self.down_prev: Optional[Grads] = None
        self.value_grad_prev: Optional[Grads] = None
        self.probe_r = float("nan")

    # --- the learner's views ---------------------------------------------------------------------------------
    def views(self, crops: torch.Tensor, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            mu = self.designer.masks(crops)
            self.sums += torch.cat([mask_stats(mu), torch.ones(1, device=self.device)])
            return masked_views(crops, blur_batch(crops, self.cell.design.maskBlurSigma), mu, self.cell.design.maskStrength), crops

    def masks_for(self, images: torch.Tensor) -> Optional[torch.Tensor]:
        with torch.no_grad():
            return self.designer.masks(images)[..., 0]

    # --- feedback ------------------------------------------------------------------------------------------
    def ensure_heads(self) -> None:
        if self.heads.fitted:
            return
        t0 = time.perf_counter()
        hf = self.cell.array("head_fit", np.int32)
        draws = [row[row >= 0] for row in hf]
        heads = [self.cell.arrays.get(f"feedback.{i}.head") for i in range(len(self.sources))]
        self.heads.fit(self.learner.const(), len(draws), draws, self.cell.array("head_fit_source", np.int32),
                       [None if h is None else h.astype(np.int64) for h in heads])
        self.head_fit_ms += (time.perf_counter() - t0) * 1000.0

    def next_feedback(self) -> FeedbackBatch:
        k = self.fb_turn
        self.fb_turn += 1
        src = self.sources[int(self.fb_sources[k])]
        row = self.fb_draws[k]
        return feedback_batch(src, torch.from_numpy(row[row >= 0].astype(np.int64)).to(self.device))

    def refit_heads(self, steps: int) -> bool:
        """With separate head and meta sets: the heads' refit steps on the next drawn batch of their own images."""
        if self.refit_draws is None or self.refit_sources is None or steps <= 0:
            return False
        k = self.refit_turn
        self.refit_turn += 1
        src = self.sources[int(self.refit_sources[k])]
        row = self.refit_draws[k]
        b = feedback_batch(src, torch.from_numpy(row[row >= 0].astype(np.int64)).to(self.device))
        with torch.no_grad():
            tokens = self.learner.vit.tokens(self.learner.const(), b.images)
        self.heads.step(tokens, b, steps)
        return True

    def subset_params(self, base: Params) -> Tuple[Params, List[torch.Tensor]]:
        """`base` with S's tensors replaced by fresh leaves that require grad."""
        p = dict(base)
        leaves = []
        for n in self.names:
            t = base[n].detach().requires_grad_(True)
            p[n] = t
            leaves.append(t)
        return p, leaves

    def downstream_grad(self, b: FeedbackBatch, refit: int) -> Tuple[torch.Tensor, Grads]:
        vit = self.learner.vit
        base = self.learner.const()
        with torch.no_grad():
            hidden = vit.hidden_below(base, b.images, self.start)
        if refit > 0:
            with torch.no_grad():
                tokens = vit.forward_from(base, hidden, self.start)
            self.heads.step(tokens, b, refit)
        p, leaves = self.subset_params(base)
        heads = {k: v.detach() for k, v in self.heads.params.items()}
        loss = self.heads.loss(vit.forward_from(p, hidden, self.start), b, heads)
        grads = torch.autograd.grad(loss, leaves)
        return loss.detach(), {n: g for n, g in zip(self.names, grads)}

    def random_like(self, g: Grads) -> Grads:
        noise = {k: torch.from_numpy(self.noise.normals(t.numel(), 1.0)).to(self.device).reshape(t.shape) for k, t in g.items()}
        scale = global_norm(list(g.values())) / global_norm(list(noise.values()))
        return {k: t * scale for k, t in noise.items()}

    # --- the value -----------------------------------------------------------------------------------------
    def pretrain_batch(self, crops: torch.Tensor, local: torch.Tensor, ibot: Optional[np.ndarray]) -> Dict[str, Any]:
        """The first metaBatch images of a step's crops, their blur, the teacher's targets, the iBOT masking."""
        B = crops.shape[0] // 2
        k = min(self.cell.design.metaBatch, B)
        g = first_images(crops, B, k)
        loc = first_images(local, B, k) if local.shape[0] > 0 else local
        mask = patch_mask(self.learner.vit, ibot, self.device) if (self.learner.dino.ibot and ibot is not None) else None
        with torch.no_grad():
            _, targets, patch = self.learner.targets(g, mask)
            blurred = blur_batch(g, self.cell.design.maskBlurSigma)
        return {"m": k, "global": g, "blurred": blurred, "local": loc, "targets": targets, "mask": mask, "patch": patch}

    def ibot_views(self, views: torch.Tensor, b: Dict[str, Any]) -> torch.Tensor:
        return views * b["mask"].keep if b["mask"] is not None else views

    def slope(self, views: torch.Tensor, local_h: Optional[torch.Tensor], b: Dict[str, Any], unit: Grads) -> torch.Tensor:
        """V̂ = ĝᵀ∇_θS L_pre at the designer's views, differentiable in the views."""
        vit, eps = self.learner.vit, self.cell.design.fdEpsilon
        base = self.learner.const()
        h = vit.hidden_below(base, self.ibot_views(views, b), self.start)

        def loss(p: Params) -> torch.Tensor:
            return student_loss_from_hidden(vit, p, h, local_h, self.start, b["targets"], b["m"], self.learner.dino, b["mask"], b["patch"])

        if self.exact:
            p, leaves = self.subset_params(base)
            gs = torch.autograd.grad(loss(p), leaves, create_graph=True)
            return sum(((u * g).sum() for u, g in zip((unit[n] for n in self.names), gs)), torch.zeros((), device=self.device))

        def at(sign: float) -> torch.Tensor:
            p = dict(base)
            for n in self.names:
                p[n] = base[n] + unit[n] * (sign * eps)
            return loss(p)

        return (at(1.0) - at(-1.0)) / (2 * eps)

    def before_step(self, step: int, crops: torch.Tensor, local: torch.Tensor) -> None:
        if step in self.meta_set:
            self.meta_step(step, crops, local)

    def meta_step(self, step: int, crops: torch.Tensor, local: torch.Tensor) -> None:
        self.ensure_heads()
        t0 = time.perf_counter()
        d = self.cell.design
        refit = self.refit_heads(d.headRefitSteps)
        fb = self.next_feedback()
        down_loss, g = self.downstream_grad(fb, 0 if refit else d.headRefitSteps)
        if self.cell.feedback == "random":
            g = self.random_like(g)
        down_cos = dot(g, self.down_prev) / (global_norm(list(g.values())) * global_norm(list(self.down_prev.values()))) if self.down_prev else None
        direction = self.averaged_down(g)
        norm = global_norm(list(direction.values()))
        unit = {k: t / norm for k, t in direction.items()}
        ibot = self.meta_ibot[self.meta_turn] if self.meta_ibot is not None else None
        self.meta_turn += 1
        b = self.pretrain_batch(crops, local, ibot)
        vit = self.learner.vit
        with torch.no_grad():
            local_h = vit.hidden_below(self.learner.const(), b["local"], self.start) if b["local"].shape[0] > 0 else None
        phi = list(self.designer.params.values())
        mu = self.designer.masks(b["global"])
        views = masked_views(b["global"], b["blurred"], mu, d.maskStrength)
        slope = self.slope(views, local_h, b, unit)
        value_term = slope * (-d.valueWeight)
        gv = torch.autograd.grad(value_term, phi, allow_unused=True)
        mu2 = self.designer.masks(b["global"])
        reg = keep_penalty(mu2, d.keepPenalty, d.keepWeight, d.keepTarget) + total_variation(mu2) * d.tvWeight
        gr = torch.autograd.grad(reg, phi, allow_unused=True)
        names = list(self.designer.params)
        zeros = [torch.zeros_like(p) for p in phi]
        v_grads = {n: (x if x is not None else z) for n, x, z in zip(names, gv, zeros)}
        r_grads = {n: (x if x is not None else z) for n, x, z in zip(names, gr, zeros)}
        v_norm = global_norm(list(v_grads.values()))
        share = v_norm / (v_norm + global_norm(list(r_grads.values())))
        prev = self.value_grad_prev
        grad_cos = dot(v_grads, prev) / (v_norm * global_norm(list(prev.values()))) if prev else None
        self.value_grad_prev = v_grads
        self.opt.apply({n: v_grads[n] + r_grads[n] for n in names})
        after = None
        if d.valueAfter:
            with torch.no_grad() if not self.exact else torch.enable_grad():
                views_after = masked_views(b["global"], b["blurred"], self.designer.masks(b["global"]), d.maskStrength)
                after = self.slope(views_after, local_h, b, unit).detach()
        with torch.no_grad():
            st = mask_stats(mu.detach())
        self.down_prev = g
        # Device scalars, read on the host once after training (curves(), summary()): no sync in the loop.
        self.pending.append({
            "step": step, "value": slope.detach() * norm, "gate": None, "slope": slope.detach(),
            "keep": st[0], "entropy": st[1], "tv": st[2], "downLoss": down_loss,
            "objective": value_term.detach() + reg.detach(), "slopeAfter": after, "downCos": down_cos,
            "valueGradCos": grad_cos, "valueShare": share,
        })
        self.meta_ms.append((time.perf_counter() - t0) * 1000.0)

    def averaged_down(self, g: Grads) -> Grads:
        beta = self.cell.design.downMomentum
        if beta == 0:
            return g
        prev = self.down_avg
        nxt = {k: (prev[k] * beta + t * (1 - beta)) if prev else t.clone() for k, t in g.items()}
        self.down_avg = nxt
        return nxt

    # --- the one-step probe --------------------------------------------------------------------------------
    def probe(self, batches: List[Tuple[torch.Tensor, torch.Tensor, Optional[np.ndarray]]], eta: float) -> None:
        """Predicted decrease η·g_downᵀg_pre against the realised decrease of L_down after θ_S ← θ_S − η·g_pre."""
        self.ensure_heads()
        vit = self.learner.vit
        predicted: List[float] = []
        realised: List[float] = []
        final: List[float] = []
        initial: List[float] = []
        for crops, local, ibot in batches:
            fb = self.next_feedback()
            loss, g_down = self.downstream_grad(fb, 0)
            b = self.pretrain_batch(crops, local, ibot)
            with torch.no_grad():
                views = masked_views(b["global"], b["blurred"], self.designer.masks(b["global"]), self.cell.design.maskStrength)
            base = self.learner.const()
            p, leaves = self.subset_params(base)
            g_views = self.ibot_views(views, b)
            pre = self.learner.loss(p, g_views, b["local"], b["targets"], b["m"], b["mask"], b["patch"])
            g_pre = dict(zip(self.names, torch.autograd.grad(pre, leaves)))
            with torch.no_grad():
                views0 = masked_views(b["global"], b["blurred"], self.initial.masks(b["global"]), self.cell.design.maskStrength)
            p0, leaves0 = self.subset_params(base)
            pre0 = self.learner.loss(p0, self.ibot_views(views0, b), b["local"], b["targets"], b["m"], b["mask"], b["patch"])
            g_pre0 = dict(zip(self.names, torch.autograd.grad(pre0, leaves0)))
            with torch.no_grad():
                down_norm = global_norm(list(g_down.values()))
                final.append(float(dot(g_down, g_pre) / down_norm))
                initial.append(float(dot(g_down, g_pre0) / down_norm))
                shifted = dict(base)
                for n in self.names:
                    shifted[n] = base[n] - eta * g_pre[n]
                after = self.heads.loss(vit.tokens(shifted, fb.images), fb)
                predicted.append(float(dot(g_down, g_pre) * eta))
                realised.append(float(loss - after))
        self.probe_r = pearson(predicted, realised)
        self.probe_slopes = (final, initial)

    def designer_gain(self) -> Dict[str, float]:
        """The paired change of V̂ from the initial to the final designer on the probe's batches, its standard error,
        and V̂'s batch-to-batch sd (as the TypeScript rule reports them)."""
        if self.probe_slopes is None or len(self.probe_slopes[0]) < 2:
            return {}
        final, initial = self.probe_slopes
        n = len(final)
        diff = [a - b for a, b in zip(final, initial)]

        def sd(xs: List[float]) -> float:
            m = sum(xs) / len(xs)
            return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))

        return {"value_unit_final": mean_of(final), "value_unit_initial": mean_of(initial),
                "value_unit_designer_gain": mean_of(diff), "value_unit_gain_se": sd(diff) / math.sqrt(n),
                "value_unit_batch_sd": sd(initial)}

    @property
    def curve(self) -> List[Dict[str, Any]]:
        """`curves.designer`: the meta steps' records, their device scalars read here (one transfer)."""
        if self.pending:
            keys = [(i, k) for i, p in enumerate(self.pending) for k, v in p.items() if isinstance(v, torch.Tensor)]
            values = to_host([self.pending[i][k] for i, k in keys])
            for (i, k), v in zip(keys, values):
                self.pending[i][k] = v
            self._curve.extend(self.pending)
            self.pending = []
        return self._curve

    def summary(self) -> Dict[str, float]:
        s = self.sums.tolist()
        n = max(1.0, s[3])
        c = self.curve
        out = {
            "value_mean": mean_of([p["value"] for p in c]),
            "value_unit_mean": mean_of([p["slope"] for p in c]),
            "keep_ratio": s[0] / n, "mask_entropy": s[1] / n, "mask_tv": s[2] / n,
            "down_loss_first": c[0]["downLoss"] if c else float("nan"),
            "down_loss_last": c[-1]["downLoss"] if c else float("nan"),
            "value_grad_cos_mean": mean_of([p["valueGradCos"] for p in c if p["valueGradCos"] is not None]),
            "value_share_mean": mean_of([p["valueShare"] for p in c]),
            "down_cos_mean": mean_of([p["downCos"] for p in c if p["downCos"] is not None]),
            **self.designer_gain(),
            "meta_steps": float(len(c)),
            "meta_ms_mean": mean_of(self.meta_ms),
            "head_fit_ms": self.head_fit_ms,
            "probe_r": self.probe_r,
        }
        if self.cell.design.valueAfter:
            out["value_unit_gain_mean"] = mean_of([p["slopeAfter"] - p["slope"] for p in c])
        return out

    def curves(self) -> Dict[str, List[Dict[str, Any]]]:
        return {"designer": self.curve}
