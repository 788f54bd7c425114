"""Top-K candidate sets and the soft targets built on them (harness/language/arms/topk.ts):
C_t = {w_t} ∪ top-(K−1) of the detached learner logits with w_t excluded (column 0 is w_t), and candidate
weights (1 − α_t)·e_0 + α_t·r_t for a distribution r_t over C_t.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple, Union

import torch


@dataclass
class Candidates:
    """ids [N, K] int64 (column 0 the true next token) and the detached learner logits there [N, K]."""

    ids: torch.Tensor
    logits: torch.Tensor


def top_k_excluding(x: torch.Tensor, exclude: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of each row other than column exclude[n], descending. Ties go to the lower column
    (a stable sort) except on CUDA, where topk's order among exact ties is unspecified and a full sort of a
    large vocabulary per row would cost more than the step."""
    masked = x.scatter(1, exclude.reshape(-1, 1), float("-inf"))
    if x.is_cuda:
        values, indices = torch.topk(masked, k, dim=1)
        return values, indices
    values, indices = torch.sort(masked, dim=1, descending=True, stable=True)
    return values[:, :k], indices[:, :k]


def top_k_candidates(logits: torch.Tensor, targets: torch.Tensor, k: int) -> Candidates:
    V = logits.shape[1]
    if k > V:
        raise ValueError(f"topK {k} exceeds the vocabulary size {V}")
    truth = targets.reshape(-1, 1).long()
    values, indices = top_k_excluding(logits, truth, k - 1)
    return Candidates(torch.cat([truth, indices], 1), torch.cat([logits.gather(1, truth), values], 1))


def mix_weights(alpha: Union[torch.Tensor, float], r: torch.Tensor) -> torch.Tensor:
    """(1 − α)·e_0 + α·r for α [N] (or one number) and r [N, K] rows summing to 1."""
    N, K = r.shape
    e0 = torch.zeros(N, K, device=r.device, dtype=r.dtype)
    e0[:, 0] = 1.0
    if isinstance(alpha, torch.Tensor):
        a = alpha.reshape(-1, 1)
        return (1 - a) * e0 + a * r
    # A host number stays a kernel argument (a tensor made from it on CUDA would be a synchronous copy).
    return (1 - float(alpha)) * e0 + float(alpha) * r
