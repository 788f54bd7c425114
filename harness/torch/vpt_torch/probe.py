"""The one-step probe (harness/language/designer/probe.ts): on held-out stream batches, the decrease of the
downstream loss the value predicts for a plain step θ_S ← θ_S − η·g_pre (η·V, V = g_downᵀg_pre) against the
decrease realised after that step, at a fixed η and at the size the learner really moved. With a reference rule
(one-hot), also the α-dependent part: predicted η·g_downᵀ(g_pre − g_ref) against realised L(θ − η·g_ref) −
L(θ − η·g_pre). Measurement, not training: it reads the device once per batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch

from .batches import Batch
from .lm import LanguageModel, Params
from .inputs import Subset
from .losses import Targets, masked_nll, wide
from .optim import global_norm
from .rules import View
from .value import dot, pretrain_grad, subset_grad, with_subset


@dataclass(frozen=True)
class ProbeStep:
    """A fixed η, or η chosen per batch so that ‖η·g_pre‖ = norm."""

    eta: Optional[float] = None
    norm: Optional[float] = None


@dataclass
class ProbeSeries:
    predicted: List[float] = field(default_factory=list)
    realised: List[float] = field(default_factory=list)
    eta: List[float] = field(default_factory=list)
    r: float = math.nan
    slope: float = math.nan
    alpha: Optional["ProbeSeries"] = None  # the α-dependent part (its eta list stays empty)


def centred_sums(x: Sequence[float], y: Sequence[float]) -> tuple:
    """Means and centred sums (harness/engine/moments.ts), in the same order of additions."""
    n = len(x)
    mx = sum(x) / n
    my = sum(y) / n
    sxx = syy = sxy = 0.0
    for a, b in zip(x, y):
        dx, dy = a - mx, b - my
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    return sxx, syy, sxy


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    if not x:
        return math.nan
    sxx, syy, sxy = centred_sums(x, y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def slope_of(x: Sequence[float], y: Sequence[float]) -> float:
    if not x:
        return math.nan
    sxx, _, sxy = centred_sums(x, y)
    return sxy / sxx if sxx > 0 else math.nan


def view_of(gpt: LanguageModel, params: Params, ids: torch.Tensor, hidden_at: int) -> View:
    with torch.no_grad():
        B, T = ids.shape
        hidden = gpt.hidden_below(params, ids, hidden_at)
        logits = gpt.forward_from(params, hidden, B, T, hidden_at)
    return View(wide(logits), hidden)


def probe_one_step(gpt: LanguageModel, params: Params, s: Subset, batches: Sequence[Batch], fb: Batch, targets_of: Callable[[Batch, View], Targets],
                   steps: Sequence[ProbeStep], reference: Optional[Callable[[Batch], Targets]] = None) -> List[ProbeSeries]:
    B, T = fb.shape
    with torch.no_grad():
        hidden = gpt.hidden_below(params, fb.ids, s.start)
    rows = fb.rows
    targets = fb.targets.index_select(0, rows) if rows is not None else fb.targets
    mask = torch.ones(targets.shape[0], device=targets.device) if rows is not None else fb.mask

    def logits_at(p: Params) -> torch.Tensor:
        return gpt.forward_from_at_rows(p, hidden, B, T, s.start, rows) if rows is not None else gpt.forward_from(p, hidden, B, T, s.start)

    def loss_at(p: Params) -> torch.Tensor:
        return masked_nll(logits_at(p), targets, mask)

    def token_nll(raw: torch.Tensor) -> torch.Tensor:
        # Per position, so the α part's small difference is taken before the mean (rounding ~ulp(loss)/√N).
        logits = wide(raw)
        return (torch.logsumexp(logits, dim=-1) - logits.gather(1, targets.reshape(-1, 1).long()).reshape(-1)) * mask

    before, g_down = subset_grad(params, s, loss_at)
    out = [ProbeSeries(alpha=ProbeSeries() if reference is not None else None) for _ in steps]
    for b in batches:
        view = view_of(gpt, params, b.ids, s.start)
        assert view.hidden is not None
        g_pre = pretrain_grad(gpt, params, s, b, view.hidden, targets_of(b, view))
        g_ref = pretrain_grad(gpt, params, s, b, view.hidden, reference(b)) if reference is not None else None
        with torch.no_grad():
            v = dot(g_down, g_pre)
            norm = global_norm([g_pre[n] for n in s.names])
            per = []
            for st in steps:
                eta = torch.full((), st.eta, device=v.device) if st.eta is not None else float(st.norm or 0.0) / norm
                stepped = {n: params[n].detach() - g_pre[n] * eta for n in s.names}
                # One forward of S at θ − η·g_pre serves the whole's loss and the α part's per-position NLL.
                stepped_logits = logits_at(with_subset(params, s, stepped))
                after = masked_nll(stepped_logits, targets, mask)
                whole = [eta * v, before - after, eta]
                if g_ref is not None:
                    ref = {n: params[n].detach() - g_ref[n] * eta for n in s.names}
                    realised = (token_nll(logits_at(with_subset(params, s, ref))) - token_nll(stepped_logits)).sum() / mask.sum()
                    whole += [eta * (v - dot(g_down, g_ref)), realised]
                per.append(torch.stack([torch.as_tensor(t, device=v.device).reshape(()) for t in whole]))
            x = torch.stack(per).cpu().tolist()
        for k, row in enumerate(x):
            out[k].predicted.append(row[0])
            out[k].realised.append(row[1])
            out[k].eta.append(row[2])
            a = out[k].alpha
            if a is not None:
                a.predicted.append(row[3])
                a.realised.append(row[4])
    for o in out:
        o.r = pearson(o.predicted, o.realised)
        o.slope = slope_of(o.predicted, o.realised)
        if o.alpha is not None:
            o.alpha.r = pearson(o.alpha.predicted, o.alpha.realised)
            o.alpha.slope = slope_of(o.alpha.predicted, o.alpha.realised)
    return out
