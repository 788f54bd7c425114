"""Soft cross-entropy over candidates against the dense definition −Σ m Σ_v q log softmax / max(Σm, 1), its
gradient against the closed form (softmax·Σq − q)·m/M, and the one-hot NLL against torch's cross_entropy."""
import torch
import torch.nn.functional as F

from vpt_torch.losses import Targets, masked_nll, soft_cross_entropy


def case(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    N, V, K = 6, 9, 3
    logits = torch.randn(N, V, generator=g, dtype=torch.float64)
    ids = torch.stack([torch.randperm(V, generator=g)[:K] for _ in range(N)])
    w = torch.rand(N, K, generator=g, dtype=torch.float64)
    w = w / w.sum(-1, keepdim=True)
    mask = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.float64)
    return logits, Targets(ids, w), mask


def test_value_equals_the_dense_form() -> None:
    logits, q, mask = case()
    dense = q.dense(logits.shape[1])
    want = -(mask * (dense * torch.log_softmax(logits, -1)).sum(-1)).sum() / mask.sum()
    assert torch.allclose(soft_cross_entropy(logits, q, mask), want, atol=1e-14)


def test_gradient_is_the_closed_form() -> None:
    logits, q, mask = case(1)
    x = logits.clone().requires_grad_(True)
    soft_cross_entropy(x, q, mask).backward()
    dense = q.dense(logits.shape[1])
    want = (torch.softmax(logits, -1) * dense.sum(-1, keepdim=True) - dense) * (mask / mask.sum()).unsqueeze(1)
    assert torch.allclose(x.grad, want, atol=1e-14)


def test_mask_normaliser_is_at_least_one() -> None:
    logits, q, _ = case(2)
    zero = torch.zeros(logits.shape[0], dtype=torch.float64)
    assert soft_cross_entropy(logits, q, zero).item() == 0.0
    half = torch.full((logits.shape[0],), 0.25, dtype=torch.float64)  # Σm = 1.5: divides by 1.5, not by N
    dense = q.dense(logits.shape[1])
    per = -(dense * torch.log_softmax(logits, -1)).sum(-1)
    assert torch.allclose(soft_cross_entropy(logits, q, half), (per * 0.25).sum() / 1.5, atol=1e-14)


def test_one_hot_nll_is_cross_entropy() -> None:
    logits, _, mask = case(3)
    targets = torch.tensor([0, 8, 3, 3, 1, 5])
    ce = F.cross_entropy(logits, targets, reduction="none")
    assert torch.allclose(masked_nll(logits, targets, mask), (ce * mask).sum() / mask.sum(), atol=1e-14)


def test_repeated_candidates_add() -> None:
    ids = torch.tensor([[2, 2, 1]])
    w = torch.tensor([[0.5, 0.25, 0.25]])
    assert Targets(ids, w).dense(4).tolist() == [[0.0, 0.25, 0.75, 0.0]]
