"""The one-step probe: Pearson r and slope against numpy; at a tiny η the realised decrease is the predicted η·V;
the matched step moves θ_S by the given norm; the realised decrease against an independent evaluation."""
import math

import numpy as np
import torch

from test_directional import B, S, T, make_case
from vpt_torch.batches import Batch
from vpt_torch.losses import Targets, masked_nll
from vpt_torch.probe import ProbeStep, pearson, probe_one_step, slope_of
from vpt_torch.rules import View
from vpt_torch.topk import top_k_candidates
from vpt_torch.value import pretrain_grad


def test_moments() -> None:
    x, y = [1.0, 2.0, 4.0, 7.0], [0.5, 1.5, 1.0, 3.0]
    assert math.isclose(pearson(x, y), np.corrcoef(x, y)[0, 1], rel_tol=1e-12)
    assert math.isclose(slope_of(x, y), np.polyfit(x, y, 1)[0], rel_tol=1e-12)
    assert math.isnan(pearson([1.0, 1.0], [2.0, 3.0])) and math.isnan(slope_of([], []))


def test_probe() -> None:
    gpt, p, fb, _, _, _ = make_case(7)
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(5):
        ids = torch.randint(0, gpt.cfg.vocabSize, (B, T), generator=g)
        m = np.ones(B * T, np.float32)
        m[:3] = 0
        batches.append(Batch(ids, torch.roll(ids.reshape(-1), -1), torch.from_numpy(m).double(), torch.zeros(B * T), m, torch.from_numpy(np.flatnonzero(m))))

    def targets_of(b: Batch, view) -> Targets:
        c = top_k_candidates(view.logits, b.targets, 3)
        return Targets(c.ids, 0.7 * torch.eye(3, dtype=torch.float64)[0].expand(B * T, 3) + 0.3 * torch.softmax(c.logits, -1))

    first, matched = probe_one_step(gpt, p, S, batches, fb, targets_of, [ProbeStep(eta=1e-6), ProbeStep(norm=0.05)])
    assert len(first.predicted) == 5
    assert np.allclose(first.realised, first.predicted, rtol=1e-4)  # first order
    assert math.isclose(first.slope, 1.0, rel_tol=1e-3) and first.r > 0.999
    # The matched step, by hand for the first batch.
    b = batches[0]
    hidden = gpt.hidden_below(p, b.ids, S.start)
    view_logits = gpt.forward_from(p, hidden, B, T, S.start)
    g_pre = pretrain_grad(gpt, p, S, b, hidden, targets_of(b, View(view_logits, hidden)))
    norm = math.sqrt(sum(float((t ** 2).sum()) for t in g_pre.values()))
    eta = 0.05 / norm
    assert math.isclose(matched.eta[0], eta, rel_tol=1e-9)
    stepped = {**p, **{n: p[n] - eta * g_pre[n] for n in S.names}}
    loss = lambda q: masked_nll(gpt.forward(q, fb.ids), fb.targets, fb.mask.double())  # noqa: E731
    assert math.isclose(matched.realised[0], float(loss(p) - loss(stepped)), rel_tol=1e-8)
