"""The value estimator: V(w) from D equals g_downᵀ g_pre(w) by autograd; D′ (logits) shifts V by a constant
independent of w; the cosine loss's value and gradient equal those of cos(g_down, g_pre(w)) by double backward;
g_down at the answer rows equals the full masked loss's gradient; the random direction's norm and draws."""
import numpy as np
import torch

from test_directional import B, S, T, make_case
from vpt_torch.batches import Batch
from vpt_torch.losses import Targets, masked_nll, soft_cross_entropy
from vpt_torch.optim import global_norm
from vpt_torch.rng import Rng
from vpt_torch.value import CosineLoss, Directional, downstream_grad, random_like, value_of_weights, with_subset


def g_pre_of(gpt, p, hidden, b, cands, w, create_graph=False):
    xs = {n: p[n].detach().clone().requires_grad_(True) for n in S.names}
    loss = soft_cross_entropy(gpt.forward_from(with_subset(p, S, xs), hidden, B, T, S.start), Targets(cands, w), b.mask.double())
    return dict(zip(S.names, torch.autograd.grad(loss, [xs[n] for n in S.names], create_graph=create_graph)))


def weights(seed: int, n: int, k: int) -> torch.Tensor:
    w = torch.rand(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return w / w.sum(-1, keepdim=True)


def dot(a, b):
    return sum((a[n] * b[n]).sum() for n in S.names)


def test_value_of_weights_is_the_gradient_dot_product() -> None:
    gpt, p, b, cands, g_down, hidden = make_case(4)
    d = Directional(gpt, S, "exact", "forward_ad")
    D = d.logp(p, hidden, b, cands, g_down, 0.0)
    Dz = d.logits(p, hidden, b, cands, g_down, 0.0)
    mask = b.mask.double()
    shifts = []
    for seed in (0, 1):
        w = weights(seed, B * T, cands.shape[1])
        exact = dot(g_down, g_pre_of(gpt, p, hidden, b, cands, w))
        assert torch.allclose(value_of_weights(w, D, mask), exact, rtol=1e-10)
        shifts.append(value_of_weights(w, Dz, mask) - exact)
    assert torch.allclose(shifts[0], shifts[1], rtol=1e-9)  # V′ = V − C, C independent of w


def test_cosine_loss_value_and_gradient() -> None:
    gpt, p, b, cands, g_down, hidden = make_case(5)
    mask = b.mask.double()
    w0 = weights(2, B * T, cands.shape[1])
    g0 = g_pre_of(gpt, p, hidden, b, cands, w0)
    d = Directional(gpt, S, "exact", "forward_ad")
    D = d.logp(p, hidden, b, cands, g_down, 0.0)
    Dp = d.logp(p, hidden, b, cands, g0, 0.0)
    norm_d, norm_p = global_norm(list(g_down.values())), global_norm(list(g0.values()))
    cos = CosineLoss(w0, D, Dp, mask, norm_d, norm_p)
    assert torch.allclose(cos.cosine, dot(g_down, g0) / (norm_d * norm_p), rtol=1e-10)
    # The exact gradient of −cos(g_down, g_pre(w)) at w0, through g_pre(w) (double backward), only at counted rows.
    w = w0.clone().requires_grad_(True)
    gp = g_pre_of(gpt, p, hidden, b, cands, w, create_graph=True)
    target = -dot(g_down, gp) / (norm_d * torch.sqrt(dot(gp, gp)))
    want = torch.autograd.grad(target, w)[0]
    w1 = w0.clone().requires_grad_(True)
    got = torch.autograd.grad(cos.loss(w1), w1)[0]
    assert torch.allclose(got, want, rtol=1e-8, atol=1e-12)


def test_g_down_at_answer_rows_is_the_full_masked_gradient() -> None:
    gpt, p, b, _, _, _ = make_case(6)
    _, got = downstream_grad(gpt, p, S, b)
    xs = {n: p[n].detach().clone().requires_grad_(True) for n in S.names}
    loss = masked_nll(gpt.forward(with_subset(p, S, xs), b.ids), b.targets, b.mask.double())
    want = torch.autograd.grad(loss, [xs[n] for n in S.names])
    for n, w in zip(S.names, want):
        assert torch.allclose(got[n], w, atol=1e-13)
    # With every row counted the full forward runs (rows None): the same gradient.
    allm = np.ones(B * T, dtype=np.float32)
    full = Batch(b.ids, b.targets, torch.ones(B * T, dtype=torch.float64), b.wrong, allm, None)
    _, g_all = downstream_grad(gpt, p, S, full)
    ref = torch.autograd.grad(masked_nll(gpt.forward(with_subset(p, S, xs), b.ids), b.targets, full.mask), [xs[n] for n in S.names])
    assert all(torch.allclose(g_all[n], r, atol=1e-13) for n, r in zip(S.names, ref))


def test_random_direction() -> None:
    g = {"a": torch.full((2, 3), 2.0), "b": torch.full((4,), -1.0)}
    out = random_like(g, ["a", "b"], Rng(9), torch.from_numpy)
    assert torch.allclose(global_norm(list(out.values())), global_norm(list(g.values())))
    raw = Rng(9)
    na, nb = torch.from_numpy(raw.normals(6, 1.0)), torch.from_numpy(raw.normals(4, 1.0))
    scale = global_norm(list(g.values())) / torch.sqrt((na ** 2).sum() + (nb ** 2).sum())
    assert torch.allclose(out["a"].reshape(-1), na * scale) and torch.allclose(out["b"], nb * scale)
