"""The schedule and AdamW against numbers printed by harness/optim/adamw.ts (tfjs, float32), and the update
against the formula written out: decay on matrices only, clipping by the pre-clip global norm."""
import math

import numpy as np
import torch

from vpt_torch.inputs import OptimConfig
from vpt_torch.optim import DesignerAdam, LearnerAdamW, global_norm, scheduled_lr

CFG = OptimConfig(lr=0.1, beta1=0.9, beta2=0.95, eps=1e-8, weightDecay=0.1, gradClip=1.0, warmupSteps=2, totalSteps=6, minLrRatio=0.1)

# From TypeScript: scheduledLr(cfg, s) for s = 0..7, and two AdamW.apply steps on {w: [[0.5, -0.25], [1, 2]],
# b: [0.1, -0.3]} with the gradients below (the returned norm, then the variables).
TS_LR = [0.05, 0.1, 0.1, 0.08681980515339463, 0.055, 0.023180194846605363, 0.010000000000000002, 0.010000000000000002]
GRADS = [([[3, -4], [0, 1]], [2, 0]), ([[0.1, 0.2], [-0.3, 0.05]], [0.0, 0.1])]
TS_STEPS = [
    {"norm": 5.4772257804870605, "w": [0.44749999046325684, -0.19875000417232513, 0.9950000047683716, 1.940000057220459], "b": [0.05000000074505806, -0.30000001192092896]},
    {"norm": 0.39051249623298645, "w": [0.36278867721557617, -0.15130849182605743, 1.0585460662841797, 1.8353846073150635], "b": [-0.017864767462015152, -0.37349599599838257]},
]
TS_DESIGNER = [0.9806782007217407, 2.0126633644104004]  # Adam lr 0.01, β 0.9/0.999, ε 1e-7: grads [0.5, -2] then [0.25, 1]


def test_schedule_matches_typescript() -> None:
    assert [scheduled_lr(CFG, s) for s in range(8)] == TS_LR


def test_learner_adamw_matches_typescript() -> None:
    params = {"w": torch.tensor([[0.5, -0.25], [1.0, 2.0]], requires_grad=True), "b": torch.tensor([0.1, -0.3], requires_grad=True)}
    opt = LearnerAdamW(CFG, params)
    for (gw, gb), want in zip(GRADS, TS_STEPS):
        norm = opt.apply({"w": torch.tensor(gw, dtype=torch.float32), "b": torch.tensor(gb, dtype=torch.float32)})
        assert math.isclose(norm.item(), want["norm"], rel_tol=1e-7)
        # Within two float32 ulps at these magnitudes (≤ 2): the same arithmetic, in another order.
        assert np.allclose(params["w"].detach().numpy().ravel(), want["w"], rtol=0, atol=3e-8)
        assert np.allclose(params["b"].detach().numpy().ravel(), want["b"], rtol=0, atol=3e-8)


def test_learner_adamw_is_the_formula() -> None:
    """Float64, by hand: clip scale min(1, c/(‖g‖+1e-6)); m, v; x·(1 − lr·wd) on matrices only; bias corrections t."""
    cfg = OptimConfig(lr=0.05, beta1=0.8, beta2=0.9, eps=1e-6, weightDecay=0.3, gradClip=0.5, warmupSteps=0, totalSteps=4, minLrRatio=0.5)
    g = torch.Generator().manual_seed(0)
    x = {"m": torch.randn(3, 2, generator=g, dtype=torch.float64), "v": torch.randn(4, generator=g, dtype=torch.float64)}
    params = {k: t.clone().requires_grad_(True) for k, t in x.items()}
    opt = LearnerAdamW(cfg, params)
    m = {k: torch.zeros_like(t) for k, t in x.items()}
    v = {k: torch.zeros_like(t) for k, t in x.items()}
    for t in range(1, 4):
        grads = {k: torch.randn(p.shape, generator=g, dtype=torch.float64) for k, p in x.items()}
        norm = math.sqrt(sum(float((gr ** 2).sum()) for gr in grads.values()))
        scale = min(1.0, cfg.gradClip / (norm + 1e-6))
        lr = scheduled_lr(cfg, t - 1)
        for k in x:
            gr = grads[k] * scale
            m[k] = cfg.beta1 * m[k] + (1 - cfg.beta1) * gr
            v[k] = cfg.beta2 * v[k] + (1 - cfg.beta2) * gr * gr
            upd = (m[k] / (1 - cfg.beta1 ** t)) / (torch.sqrt(v[k] / (1 - cfg.beta2 ** t)) + cfg.eps)
            decay = 1 - lr * cfg.weightDecay if x[k].dim() >= 2 else 1.0
            x[k] = x[k] * decay - lr * upd
        got = opt.apply({k: gr.clone() for k, gr in grads.items()})
        assert math.isclose(got.item(), norm, rel_tol=1e-12)
        for k in x:
            assert torch.allclose(params[k].detach(), x[k], atol=1e-12)
    assert opt.step_count == 3


def test_designer_adam_matches_typescript() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = DesignerAdam(0.01, {"x": x})
    opt.apply({"x": torch.tensor([0.5, -2.0])})
    opt.apply({"x": torch.tensor([0.25, 1.0])})
    assert np.allclose(x.detach().numpy(), TS_DESIGNER, rtol=1e-7, atol=0)


def test_global_norm() -> None:
    ts = [torch.tensor([3.0, 0.0]), torch.tensor([[4.0]])]
    assert global_norm(ts).item() == 5.0


def test_learner_adamw_continues_a_restored_state() -> None:
    """restore(m, v, updates): the moments and the bias correction carry on, so the continued optimiser takes the
    updates the original would have taken (constant lr: its schedule restarts at step 0); zero moments do not."""
    cfg = OptimConfig(lr=0.05, beta1=0.9, beta2=0.99, eps=1e-8, weightDecay=0.1, gradClip=0.0, warmupSteps=0, totalSteps=100, minLrRatio=1.0)

    def grads(t: int) -> dict:
        return {"w": torch.tensor([[math.sin(t), 0.3], [-0.7 * t, math.cos(2 * t)]]), "b": torch.tensor([0.1 * t, -0.2])}

    a = {"w": torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True), "b": torch.tensor([0.1, -0.3], requires_grad=True)}
    opt_a = LearnerAdamW(cfg, a)
    for t in range(5):
        opt_a.apply(grads(t))
    m = {n: opt_a.opt.state[p]["exp_avg"].clone().reshape(-1) for n, p in a.items()}
    v = {n: opt_a.opt.state[p]["exp_avg_sq"].clone().reshape(-1) for n, p in a.items()}
    b = {n: p.detach().clone().requires_grad_(True) for n, p in a.items()}
    f = {n: p.detach().clone().requires_grad_(True) for n, p in a.items()}
    opt_b, opt_f = LearnerAdamW(cfg, b), LearnerAdamW(cfg, f)
    opt_b.restore(m, v, 5)
    for t in range(5, 9):
        for o in (opt_a, opt_b, opt_f):
            o.apply(grads(t))
    for n in a:
        assert torch.equal(b[n], a[n]), n
    assert (f["w"] - a["w"]).abs().max().item() > 1e-3
    try:
        LearnerAdamW(cfg, {"u": torch.zeros(2, requires_grad=True)}).restore(m, v, 5)
    except Exception as e:  # noqa: BLE001 - the message is what is checked
        assert "no moments for parameter u" in str(e)
    else:
        raise AssertionError("a state without the parameter was accepted")
