"""The designer's output against its formula written out for one position, and its parameter checks."""
import math

import numpy as np
import pytest
import torch

from tiny import init_designer
from vpt_torch.designer import DesignerShape, LmDesigner
from vpt_torch.gpt import layer_norm
from vpt_torch.inputs import InputError
from vpt_torch.topk import top_k_candidates

SHAPE = DesignerShape(vocabSize=10, blockSize=8, width=8, layers=1, heads=2, alphaMax=0.5)


def designer(seed: int = 0) -> LmDesigner:
    init = init_designer(SHAPE, seed)
    init["score.true"] = np.array(0.7, np.float32)
    init["gate.b"] = np.array([0.3], np.float32)
    return LmDesigner(SHAPE, init, torch.device("cpu"), sdpa=False)


def test_output_is_the_formula() -> None:
    d = designer()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 10, (2, 5), generator=g)
    targets = torch.randint(0, 10, (10,), generator=g)
    logits = torch.randn(10, 10, generator=g)
    c = top_k_candidates(logits, targets, 4)
    logp = c.logits - torch.logsumexp(logits, -1, keepdim=True)
    out = d.apply(d.params, ids, targets, c, logp)
    assert out.weights.shape == (10, 4) and out.alpha.shape == (10,)
    assert torch.allclose(out.weights.sum(-1), torch.ones(10), atol=1e-6)
    assert bool((out.alpha >= 0).all() and (out.alpha <= 0.5).all())
    p = {k: v.detach() for k, v in d.params.items()}
    h = d.trunk.run_blocks(p, d.trunk.embed(p, ids), 2, 5, 0, 1)
    n = 7  # one position, by hand
    ctx = layer_norm(h[n], p["ln_f.g"], p["ln_f.b"])
    u = torch.tanh(ctx @ p["query.ctx"] + p["wte"][targets[n]] @ p["query.next"] + p["query.b"])
    scores = torch.stack([u @ p["wte"][c.ids[n, k]] + p["score.logp"] * logp[n, k] + (p["score.true"] if k == 0 else 0.0) for k in range(4)])
    alpha = 0.5 / (1 + math.exp(-(float(u @ p["gate.w"][:, 0]) + 0.3)))
    r = torch.softmax(scores, 0)
    want = alpha * r + (1 - alpha) * torch.tensor([1.0, 0, 0, 0])
    assert math.isclose(out.alpha[n].item(), alpha, rel_tol=1e-6)
    assert torch.allclose(out.weights[n].detach(), want, atol=1e-6)


def test_every_parameter_gets_a_gradient() -> None:
    d = designer(1)
    ids = torch.randint(0, 10, (2, 5))
    targets = torch.randint(0, 10, (10,))
    logits = torch.randn(10, 10)
    c = top_k_candidates(logits, targets, 3)
    out = d.apply(d.params, ids, targets, c, c.logits - torch.logsumexp(logits, -1, keepdim=True))
    loss = (out.weights * torch.randn(10, 3)).sum() + out.alpha.sum()
    grads = torch.autograd.grad(loss, list(d.params.values()), allow_unused=True)
    assert all(g is not None and g.abs().sum() > 0 for g in grads), [n for n, g in zip(d.params, grads) if g is None]


def test_initial_parameters_are_checked() -> None:
    init = init_designer(SHAPE, 0)
    del init["gate.w"]
    with pytest.raises(InputError, match="designer.gate.w"):
        LmDesigner(SHAPE, init, torch.device("cpu"), sdpa=False)
    init = init_designer(SHAPE, 0)
    init["query.ctx"] = np.zeros((8, 7), np.float32)
    with pytest.raises(InputError, match="shape"):
        LmDesigner(SHAPE, init, torch.device("cpu"), sdpa=False)


def test_options_of_issue_24() -> None:
    """r over the other candidates gives w_t no mass; the gate's features and label enter its logit by their weights."""
    shape = DesignerShape(vocabSize=10, blockSize=8, width=8, layers=1, heads=2, alphaMax=0.5, rSupport="others", gateFeatures=True, labelFeature=True)
    init = init_designer(SHAPE, 2)
    init["gate.feat"] = np.array([[0.2], [-0.1]], np.float32)
    init["gate.label"] = np.array(1.5, np.float32)
    d = LmDesigner(shape, init, torch.device("cpu"), sdpa=False)
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 10, (2, 5), generator=g)
    targets = torch.randint(0, 10, (10,), generator=g)
    logits = torch.randn(10, 10, generator=g)
    c = top_k_candidates(logits, targets, 4)
    logp = c.logits - torch.logsumexp(logits, -1, keepdim=True)
    entropy = torch.rand(10, generator=g) * 2
    wrong = (torch.arange(10) % 3 == 0).float()
    out = d.apply(d.params, ids, targets, c, logp, entropy, wrong)
    assert bool((out.r[:, 0] == 0).all())
    assert torch.allclose(out.weights[:, 0], 1 - out.alpha, atol=1e-6)
    plain = LmDesigner(SHAPE, init_designer(SHAPE, 2), torch.device("cpu"), sdpa=False).apply(d.params, ids, targets, c, logp)
    z0 = torch.logit(plain.alpha / 0.5)
    want = 0.5 * torch.sigmoid(z0 + 0.2 * logp[:, 0] - 0.1 * entropy + 1.5 * wrong)
    assert torch.allclose(out.alpha, want, atol=1e-5)
    with pytest.raises(RuntimeError, match="needs the wrong-token labels"):
        d.apply(d.params, ids, targets, c, logp, entropy, None)
