"""The token losses of harness/language/model/loss.ts, on targets held as candidates.

Every arm's target q_t is a distribution over a few candidate tokens (one for one-hot, K for the top-K arms), so
targets are kept as ids [N, K] and weights [N, K] instead of a dense [N, V]: −Σ_v q_v log p_v equals
lse·Σ_k w_k − Σ_k w_k·z[c_k], the same number and the same gradient ((softmax·Σw − q)·m/M) as the dense form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch


@dataclass
class Targets:
    """q over candidate ids [N, K] (int64) with weights [N, K] (float32); repeated ids would add, as in a scatter."""

    ids: torch.Tensor
    weights: torch.Tensor

    @staticmethod
    def one_hot(targets: torch.Tensor) -> "Targets":
        return Targets(targets.reshape(-1, 1), torch.ones(targets.numel(), 1, device=targets.device, dtype=torch.float32))

    def dense(self, vocab: int) -> torch.Tensor:
        """[N, V] (tests and small checks)."""
        q = torch.zeros(self.ids.shape[0], vocab, device=self.ids.device, dtype=self.weights.dtype)
        return q.scatter_add_(1, self.ids, self.weights)


def wide(x: torch.Tensor) -> torch.Tensor:
    """x in at least float32 (bf16/fp16 activations widened; float32 and float64 kept)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def masked_mean(per_token: torch.Tensor, mask: torch.Tensor, denom: Optional[float] = None) -> torch.Tensor:
    """Σ m·x / max(Σ m, 1) (no host read: the clamp is a tensor op). With `denom` (the token count of the whole
    batch this is a share of: several processes, accumulated microbatches), Σ m·x / denom: the shares' values and
    gradients then add up to the whole batch's."""
    if denom is not None:
        return (per_token * mask).sum() / max(1.0, denom)
    return (per_token * mask).sum() / mask.sum().clamp(min=1.0)


def soft_cross_entropy(logits: torch.Tensor, q: Targets, mask: torch.Tensor, denom: Optional[float] = None) -> torch.Tensor:
    """−Σ_n m_n Σ_v q[n,v]·log softmax(logits)[n,v] / max(Σ m, 1), in float32 whatever the logits' dtype."""
    z = wide(logits)
    lse = torch.logsumexp(z, dim=-1)
    w = wide(q.weights)
    per_token = lse * w.sum(-1) - (w * z.gather(1, q.ids)).sum(-1)
    return masked_mean(per_token, mask, denom)


def masked_nll(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, denom: Optional[float] = None) -> torch.Tensor:
    """Masked next-token NLL (one-hot cross-entropy), the downstream loss."""
    return soft_cross_entropy(logits, Targets.one_hot(targets), mask, denom)
