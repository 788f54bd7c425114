"""D = dirᵀ∇_θS (candidate logits or log-probabilities): forward-mode AD against a double-backward reference,
both forward-mode paths against each other, and the finite differences against the exact value at their
truncation orders (central O(ε²), forward O(ε)), in float64 so rounding does not hide the orders."""
import numpy as np
import pytest
import torch

from test_gpt import CFG, params64
from vpt_torch.batches import Batch, masked_rows
from vpt_torch.gpt import Gpt, subset_names
from vpt_torch.inputs import Subset
from vpt_torch.value import Directional, candidate_logp, jvp

S = Subset(start=CFG.nLayer - 1, names=subset_names(CFG, 1))
B, T, K = 2, 6, 3


def make_case(seed: int = 0, dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(seed)
    p = {k: v.to(dtype) for k, v in params64(seed=seed).items()}
    ids = torch.randint(0, CFG.vocabSize, (B, T), generator=g)
    mask = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0], dtype=np.float32)
    rows = masked_rows(mask)
    b = Batch(ids, ids.reshape(-1), torch.from_numpy(mask), torch.zeros(B * T), mask, torch.from_numpy(rows))
    cands = torch.stack([torch.randperm(CFG.vocabSize, generator=g)[:K] for _ in range(B * T)])
    direction = {n: torch.randn(p[n].shape, generator=g, dtype=dtype) for n in S.names}
    gpt = Gpt(CFG)
    hidden = gpt.hidden_below(p, ids, S.start)
    return gpt, p, b, cands, direction, hidden


def full_logp(gpt: Gpt, p: dict, hidden: torch.Tensor, cands: torch.Tensor) -> torch.Tensor:
    return candidate_logp(gpt.forward_from(p, hidden, B, T, S.start), cands)


def full_logits(gpt: Gpt, p: dict, hidden: torch.Tensor, cands: torch.Tensor) -> torch.Tensor:
    return gpt.forward_from(p, hidden, B, T, S.start).gather(1, cands)


def double_backward(f, p: dict, direction: dict) -> torch.Tensor:
    """JVP by two reverse passes: ∂/∂u [ (∂(uᵀy)/∂θ) · dir ]."""
    xs = {n: p[n].detach().clone().requires_grad_(True) for n in S.names}
    y = f({**p, **xs})
    u = torch.zeros_like(y, requires_grad=True)
    gs = torch.autograd.grad((u * y).sum(), [xs[n] for n in S.names], create_graph=True)
    inner = sum((g * direction[n]).sum() for g, n in zip(gs, S.names))
    return torch.autograd.grad(inner, u)[0]


@pytest.mark.parametrize("kind", ["logits", "logp"])
def test_exact_matches_double_backward(kind: str) -> None:
    gpt, p, b, cands, direction, hidden = make_case()
    f = (lambda q: full_logits(gpt, q, hidden, cands)) if kind == "logits" else (lambda q: full_logp(gpt, q, hidden, cands))
    ref = double_backward(f, p, direction)
    keep = torch.from_numpy(b.mask_host).unsqueeze(1).to(ref.dtype)
    d = Directional(gpt, S, "exact", "forward_ad")
    got = getattr(d, kind)(p, hidden, b, cands, direction, 1e-3)
    assert torch.allclose(got, ref * keep, rtol=0, atol=1e-12)  # 0 on the rows whose mask is 0
    assert got.abs().sum() > 0


def test_both_forward_mode_paths_agree() -> None:
    gpt, p, b, cands, direction, hidden = make_case(1)
    try:
        func = Directional(gpt, S, "exact", "torch.func").logp(p, hidden, b, cands, direction, 1e-3)
    except ImportError:
        pytest.skip("neither torch.func nor functorch here")
    dual = Directional(gpt, S, "exact", "forward_ad").logp(p, hidden, b, cands, direction, 1e-3)
    assert torch.allclose(func, dual, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", ["logits", "logp"])
def test_differences_converge_at_their_orders(kind: str) -> None:
    gpt, p, b, cands, direction, hidden = make_case(2)
    exact = getattr(Directional(gpt, S, "exact", "forward_ad"), kind)(p, hidden, b, cands, direction, 0.0)
    diff = getattr(Directional(gpt, S, "differences", ""), kind)
    centre = full_logits(gpt, p, hidden, cands) if kind == "logits" else full_logp(gpt, p, hidden, cands)
    err = {}
    for eps in (1e-2, 1e-3):
        err["central", eps] = (diff(p, hidden, b, cands, direction, eps) - exact).abs().max().item()
        err["forward", eps] = (diff(p, hidden, b, cands, direction, eps, centre) - exact).abs().max().item()
    assert 60 < err["central", 1e-2] / err["central", 1e-3] < 160  # O(ε²)
    assert 6 < err["forward", 1e-2] / err["forward", 1e-3] < 16  # O(ε)
    assert err["central", 1e-3] < 1e-5 * exact.abs().max().item()


def test_float32_exact_and_differences_agree() -> None:
    """What the engines compare: float32, central differences at ε = 1e-3 against exact D."""
    gpt, p, b, cands, direction, hidden = make_case(3, torch.float32)
    exact = Directional(gpt, S, "exact", "forward_ad").logits(p, hidden, b, cands, direction, 1e-3)
    central = Directional(gpt, S, "differences", "").logits(p, hidden, b, cands, direction, 1e-3)
    assert (central - exact).abs().max() < 1e-3 * exact.abs().max()


def test_jvp_of_a_function_that_ignores_the_direction() -> None:
    x = {"a": torch.ones(3, dtype=torch.float64)}
    out = jvp(lambda xs: torch.full((2,), 5.0, dtype=torch.float64), x, {"a": torch.ones(3, dtype=torch.float64)}, "forward_ad")
    assert out.tolist() == [0.0, 0.0]
