"""The learner step's invariants: the baseline step is the ordinary masked cross-entropy AdamW step; α = 0
smoothing is the baseline; with the designer, given the targets it built, the learner's update is exactly the
ordinary soft cross-entropy update (feedback reaches the learner only through the designer); log points."""
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from tiny import CellSpec, write_cell
from vpt_torch.batches import to_batch
from vpt_torch.cell import make_rule
from vpt_torch.checkpoint import load_params
from vpt_torch.gpt import Gpt
from vpt_torch.inputs import CellInputs, parse
from vpt_torch.losses import Targets, soft_cross_entropy
from vpt_torch.optim import LearnerAdamW, scheduled_lr
from vpt_torch.rules import FixedSmoothingRule, OneHotRule, TargetRule
from vpt_torch.runtime import make_runtime
from vpt_torch.trainer import Learner, train


def cell(tmp_path: Path, **kw) -> CellInputs:
    return parse(write_cell(tmp_path / "cell", CellSpec(**kw)))


def fresh(c: CellInputs) -> Dict[str, torch.Tensor]:
    return load_params(c.model.dir, c.model.gpt, torch.device("cpu"))


def manual_step(c: CellInputs, params: Dict[str, torch.Tensor], opt: LearnerAdamW, step: int, q: Targets) -> None:
    rt = make_runtime("cpu", "float32", 1, "exact")
    b = to_batch(rt, c.train_rows.select(c.batches[step]))
    loss = soft_cross_entropy(Gpt(c.model.gpt).forward(params, b.ids), q, b.mask)
    names = list(params)
    opt.apply(dict(zip(names, torch.autograd.grad(loss, [params[n] for n in names]))))


def test_baseline_step_is_plain_cross_entropy(tmp_path: Path) -> None:
    c = cell(tmp_path)
    rt = make_runtime("cpu", "float32", 1, "exact")
    a = fresh(c)
    learner = Learner(rt, Gpt(c.model.gpt), a, c.train.optim)
    b_params = fresh(c)
    opt = LearnerAdamW(c.train.optim, b_params)
    for step in range(3):
        batch = to_batch(rt, c.train_rows.select(c.batches[step]))
        learner.step(batch, OneHotRule(), step)
        manual_step(c, b_params, opt, step, Targets.one_hot(batch.targets))
    for n in a:
        assert torch.equal(a[n], b_params[n]), n


def test_zero_alpha_smoothing_is_the_baseline(tmp_path: Path) -> None:
    c = cell(tmp_path)
    rt = make_runtime("cpu", "float32", 1, "exact")
    runs = []
    for rule in (OneHotRule(), FixedSmoothingRule(4, 0.0, uniform=True)):
        p = fresh(c)
        learner = Learner(rt, Gpt(c.model.gpt), p, c.train.optim)
        losses = [learner.step(to_batch(rt, c.train_rows.select(c.batches[s])), rule, s).loss.item() for s in range(3)]
        runs.append((losses, p))
    assert np.allclose(runs[0][0], runs[1][0], rtol=1e-7, atol=0)
    assert all(torch.allclose(runs[0][1][n], runs[1][1][n], rtol=0, atol=1e-7) for n in runs[0][1])


class Recording(TargetRule):
    """Wraps a rule and keeps the targets it returned."""

    def __init__(self, inner: TargetRule) -> None:
        self.inner = inner
        self.hidden_at = inner.hidden_at
        self.seen: List[Targets] = []

    def prepare(self, b, view) -> None:  # type: ignore[no-untyped-def]
        self.inner.prepare(b, view)

    def meta_step(self, b, step, view) -> bool:  # type: ignore[no-untyped-def]
        return self.inner.meta_step(b, step, view)

    def targets(self, b, step, view) -> Targets:  # type: ignore[no-untyped-def]
        q = self.inner.targets(b, step, view)
        self.seen.append(Targets(q.ids.clone(), q.weights.clone()))
        return q

    def after_gradients(self, grads, step) -> None:  # type: ignore[no-untyped-def]
        self.inner.after_gradients(grads, step)


def test_designer_update_is_the_ordinary_update_on_its_targets(tmp_path: Path) -> None:
    c = cell(tmp_path, rule="designer", arm="v-pretraining", burn_in=1, meta_every=1, designer_steps=2)
    rt = make_runtime("cpu", "float32", 1, "exact")
    a = fresh(c)
    gpt = Gpt(c.model.gpt)
    rule = Recording(make_rule(rt, gpt, a, c, c.train.steps))
    learner = Learner(rt, gpt, a, c.train.optim)
    b_params = fresh(c)
    opt = LearnerAdamW(c.train.optim, b_params)
    metas = []
    for step in range(3):
        out = learner.step(to_batch(rt, c.train_rows.select(c.batches[step])), rule, step)
        metas.append(out.meta is not None)
        manual_step(c, b_params, opt, step, rule.seen[-1])
    assert metas == [False, True, True]
    assert rule.seen[1].weights[:, 1:].abs().sum() > 0  # soft targets, not one-hot
    for n in a:
        assert torch.equal(a[n], b_params[n]), n


def test_log_points_and_learning_rates(tmp_path: Path) -> None:
    c = cell(tmp_path, steps=10, log_every=4)
    rt = make_runtime("cpu", "float32", 1, "exact")
    learner = Learner(rt, Gpt(c.model.gpt), fresh(c), c.train.optim)
    logged: List[int] = []
    res = train(learner, c.train_rows, c.batches, 10, 4, OneHotRule(), lambda pt: logged.append(int(pt["step"])))
    assert [pt["step"] for pt in res.curve] == [0, 4, 8, 9] == logged
    assert [pt["lr"] for pt in res.curve] == [scheduled_lr(c.train.optim, s) for s in (0, 4, 8, 9)]
    assert len(res.timing.learnerMs) == 10 and res.timing.metaMs == []
