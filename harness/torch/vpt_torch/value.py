"""The value estimator (harness/language/designer/value.ts). With S the last blocks + final norm + head:
V(φ) = g_downᵀ g_pre(φ) = −(1/M) Σ_t m_t Σ_c q_φ(t,c)·D(t,c), D(t,c) = g_downᵀ∇_θS log p_θ(c|t), which does not
depend on φ. D is the directional derivative along g_down, computed here

- exactly, by forward-mode AD (`torch.func.jvp`, or `torch.autograd.forward_ad` dual numbers on torch 1.13), or
- by the tfjs engine's differences: central (log p(θ+εĝ) − log p(θ−εĝ))/2ε·‖g‖ or, given the centre from the
  learner's own forward, forward (log p(θ+εĝ) − centre)/ε·‖g‖, with ĝ = g/‖g‖ the unit direction.

Only S moves, so S runs from the hidden state entering it, and only at the rows whose mask counts (the rest of D
is 0). The dot value needs D only up to a per-row constant: `directional_logits` differentiates the candidates'
logits (the head at K columns) instead of their log-probabilities.
"""
from __future__ import annotations

import importlib

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from .batches import Batch
from .lm import LanguageModel, Params
from .inputs import Subset
from .losses import Targets, masked_nll, soft_cross_entropy, wide
from .optim import global_norm
from .rng import Rng

Grads = Dict[str, torch.Tensor]
At = Callable[[Params, Optional[torch.Tensor], torch.Tensor], torch.Tensor]


def with_subset(params: Params, s: Subset, xs: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    p = dict(params)
    for n in s.names:
        p[n] = xs[n]
    return p


def subset_grad(params: Params, s: Subset, loss: Callable[[Params], torch.Tensor]) -> Tuple[torch.Tensor, Grads]:
    """∇_θS of loss(params), detached; the loss value too."""
    with torch.enable_grad():
        xs = {n: params[n].detach().requires_grad_(True) for n in s.names}
        value = loss(with_subset(params, s, xs))
        grads = torch.autograd.grad(value, [xs[n] for n in s.names])
    return value.detach(), {n: g.detach() for n, g in zip(s.names, grads)}


def downstream_grad(gpt: LanguageModel, params: Params, s: Subset, fb: Batch) -> Tuple[torch.Tensor, Grads]:
    """g_down: the gradient over S of the teacher-forced answer NLL of a feedback batch (head at answer rows only).
    On a share of the batch (fb.denom set) the share's part: the ranks' parts sum to the whole batch's."""
    B, T = fb.shape
    with torch.no_grad():
        hidden = gpt.hidden_below(params, fb.ids, s.start)
    rows = fb.rows
    if rows is not None:
        at: torch.Tensor = rows
        targets = fb.targets.index_select(0, at)
        ones = torch.ones(targets.shape[0], device=targets.device)
        return subset_grad(params, s, lambda p: masked_nll(gpt.forward_from_at_rows(p, hidden, B, T, s.start, at), targets, ones, fb.denom))
    return subset_grad(params, s, lambda p: masked_nll(gpt.forward_from(p, hidden, B, T, s.start), fb.targets, fb.mask, fb.denom))


def pretrain_grad(gpt: LanguageModel, params: Params, s: Subset, b: Batch, hidden: torch.Tensor, q: Targets) -> Grads:
    """g_pre: the gradient over S of the learner's loss against fixed targets q (a share's part, as g_down's)."""
    B, T = b.shape
    return subset_grad(params, s, lambda p: soft_cross_entropy(gpt.forward_from(p, hidden, B, T, s.start), q, b.mask, b.denom))[1]


def candidate_logp(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """log p at the candidates ids [N, K] from logits [N, V]."""
    z = wide(logits)
    return z.gather(1, ids) - torch.logsumexp(z, dim=-1, keepdim=True)


def dot(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.stack([(wide(a[k]) * wide(b[k])).sum() for k in a]).sum()


def random_like(g: Mapping[str, torch.Tensor], names: List[str], rng: Rng, upload: Callable[[np.ndarray], torch.Tensor]) -> Grads:
    """A Gaussian direction with the global norm of g: rng.normals(size, 1) per parameter in `names` order."""
    noise = {n: upload(rng.normals(g[n].numel(), 1.0)).reshape(g[n].shape) for n in names}
    scale = global_norm([g[n] for n in names]) / global_norm([noise[n] for n in names])
    return {n: noise[n] * scale for n in names}


def optional_attr(modules: Sequence[str], attr: str) -> Callable[..., Any]:
    """`attr` of the first of `modules` that imports and has it (optional APIs, by name: no stubs needed)."""
    for m in modules:
        try:
            fn = getattr(importlib.import_module(m), attr, None)
        except ImportError:
            continue
        if fn is not None:
            return fn  # type: ignore[no-any-return]
    raise ImportError(f"none of {', '.join(modules)} has {attr}")


def jvp(fn: Callable[[Dict[str, torch.Tensor]], torch.Tensor], primals: Dict[str, torch.Tensor], tangents: Mapping[str, torch.Tensor], path: str) -> torch.Tensor:
    """The directional derivative of fn at `primals` along `tangents` (forward-mode AD, exact)."""
    names = list(primals)
    if path == "torch.func":
        func_jvp = optional_attr(("torch.func", "functorch"), "jvp")  # functorch: torch 1.13's same function

        def f(*xs: torch.Tensor) -> torch.Tensor:
            return fn(dict(zip(names, xs)))

        return func_jvp(f, tuple(primals[n] for n in names), tuple(tangents[n].to(primals[n].dtype) for n in names))[1]
    if path == "forward_ad":
        import torch.autograd.forward_ad as fwad

        with fwad.dual_level():
            duals = {n: fwad.make_dual(primals[n], tangents[n].to(primals[n].dtype)) for n in names}
            tangent = fwad.unpack_dual(fn(duals)).tangent
            if tangent is None:  # the output does not depend on S
                tangent = torch.zeros_like(fn(primals))
            return tangent
    raise ValueError(f"no forward-mode AD path '{path}'")


class Directional:
    """D along a direction over S, by forward-mode AD (`exact`: path 'torch.func' or 'forward_ad') or by the
    tfjs engine's finite differences ('differences')."""

    def __init__(self, gpt: LanguageModel, s: Subset, method: str, path: str) -> None:
        self.gpt = gpt.written_out() if method == "exact" else gpt
        self.s = s
        self.method = method
        self.path = path

    def _at_logp(self, hidden: torch.Tensor, B: int, T: int) -> At:
        def at(p: Params, rows: Optional[torch.Tensor], cands: torch.Tensor) -> torch.Tensor:
            g = self.gpt
            logits = g.forward_from_at_rows(p, hidden, B, T, self.s.start, rows) if rows is not None else g.forward_from(p, hidden, B, T, self.s.start)
            return candidate_logp(logits, cands)

        return at

    def _at_logits(self, hidden: torch.Tensor, B: int, T: int) -> At:
        def at(p: Params, rows: Optional[torch.Tensor], cands: torch.Tensor) -> torch.Tensor:
            g = self.gpt
            if rows is not None:
                out = g.last_hidden_at_rows(p, hidden, B, T, self.s.start, rows)
            else:
                out = g.run_blocks(p, hidden, B, T, self.s.start, g.n_layer)
            return wide(g.head_at_columns(p, out, cands))

        return at

    def logp(self, params: Params, hidden: torch.Tensor, b: Batch, cand_ids: torch.Tensor, direction: Mapping[str, torch.Tensor], eps: float, center: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D[n,k] = dirᵀ∇_θS log p_θ(c_k | n) at the rows whose mask counts (0 elsewhere)."""
        B, T = b.shape
        return self._run(params, self._at_logp(hidden, B, T), b.rows, cand_ids, direction, eps, center)

    def logits(self, params: Params, hidden: torch.Tensor, b: Batch, cand_ids: torch.Tensor, direction: Mapping[str, torch.Tensor], eps: float, center: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D′[n,k] = dirᵀ∇_θS z_θ(c_k | n), the candidates' logits (D less a per-row term the value does not see)."""
        B, T = b.shape
        return self._run(params, self._at_logits(hidden, B, T), b.rows, cand_ids, direction, eps, center)

    def _run(self, params: Params, at: At, rows: Optional[torch.Tensor], cand_ids: torch.Tensor, direction: Mapping[str, torch.Tensor], eps: float, center: Optional[torch.Tensor]) -> torch.Tensor:
        cands = cand_ids.index_select(0, rows) if rows is not None else cand_ids
        with torch.no_grad():
            if self.method == "exact":
                base = {n: params[n].detach() for n in self.s.names}
                D = jvp(lambda xs: at(with_subset(params, self.s, xs), rows, cands), base, direction, self.path)
            else:
                D = self._differences(params, at, rows, cands, direction, eps, center)
            if rows is None:
                return D
            out = torch.zeros(cand_ids.shape[0], cand_ids.shape[1], device=D.device, dtype=D.dtype)
            return out.index_copy_(0, rows, D)

    def _differences(self, params: Params, at: At, rows: Optional[torch.Tensor], cands: torch.Tensor, direction: Mapping[str, torch.Tensor], eps: float, center: Optional[torch.Tensor]) -> torch.Tensor:
        norm = global_norm([direction[n] for n in self.s.names])

        def shifted(sign: float) -> torch.Tensor:
            step = (sign * eps) / norm
            moved = {n: params[n].detach() + direction[n] * step for n in self.s.names}
            return at(with_subset(params, self.s, moved), rows, cands)

        if center is not None:
            c = center.index_select(0, rows) if rows is not None else center
            return (shifted(1.0) - c) / eps * norm
        return (shifted(1.0) - shifted(-1.0)) / (2 * eps) * norm


def value_of_weights(w: torch.Tensor, D: torch.Tensor, mask: torch.Tensor, denom: Optional[float] = None) -> torch.Tensor:
    """V(w) = −(1/M) Σ_n m_n Σ_k w[n,k]·D[n,k] (M = denom when the rows are a share of the batch)."""
    per_token = (w * D).sum(-1)
    if denom is not None:
        return -((per_token * mask).sum() / max(1.0, denom))
    return -((per_token * mask).sum() / mask.sum().clamp(min=1.0))


class CosineLoss:
    """−cos(g_down, g_pre(w)) as a function of candidate weights w, exact in value and gradient at w0:
    ∇cos = ∇V/(‖g_d‖‖g_p‖) − V·∇(ḡ_pᵀg_p)/(‖g_d‖‖g_p‖³), ḡ_p = g_pre(w0) detached (value.ts cosineLoss)."""

    def __init__(self, w0: torch.Tensor, D: torch.Tensor, Dpre: torch.Tensor, mask: torch.Tensor, norm_down: torch.Tensor, norm_pre: torch.Tensor,
                 denom: Optional[float] = None, total: Callable[[torch.Tensor], torch.Tensor] = lambda v: v) -> None:
        """`denom`, `total`: on a share of the batch, its token count and the sum over the shares (V at w0 is global)."""
        v0 = total(value_of_weights(w0, D, mask, denom))
        self.D, self.Dpre, self.mask, self.denom = D, Dpre, mask, denom
        self.a = 1 / (norm_down * norm_pre)
        self.b = v0 / (norm_down * norm_pre.pow(3))
        self.cosine = v0 * self.a

    def loss(self, w: torch.Tensor) -> torch.Tensor:
        return -(value_of_weights(w, self.D, self.mask, self.denom) * self.a - value_of_weights(w, self.Dpre, self.mask, self.denom) * self.b)
