"""The continued-pretraining loop shared by every arm (harness/language/train/trainer.ts). Each learner step runs
ONE forward; the rule builds its targets from detached views of that forward (so they carry no gradient), then
one AdamW step on the masked soft cross-entropy against them. Scalars are read only at log points (every
`logEvery` steps and the last); the step's timings are stamps resolved there too (CUDA events on a GPU).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from .batches import Batch, to_batch
from .gpt import Gpt
from .inputs import OptimConfig, TokenRows
from .losses import soft_cross_entropy, wide
from .optim import LearnerAdamW
from .rules import TargetRule, View
from .runtime import Clock, Runtime, Stamp, to_host


@dataclass
class StepOutput:
    loss: torch.Tensor
    grad_norm: torch.Tensor
    meta: Optional[Tuple[Stamp, Stamp]]  # the meta step's start and end, when one ran


@dataclass
class Timing:
    learnerMs: List[float] = field(default_factory=list)  # each step, its meta step excluded
    metaMs: List[float] = field(default_factory=list)  # each meta step, in order
    metaSteps: List[int] = field(default_factory=list)  # steps that ran one


@dataclass
class TrainResult:
    curve: List[Dict[str, float]]
    wall_ms: float
    timing: Timing


class Learner:
    """The learner's parameters, optimiser and step."""

    def __init__(self, rt: Runtime, gpt: Gpt, params: Dict[str, torch.Tensor], optim: OptimConfig) -> None:
        self.rt, self.gpt, self.params = rt, gpt, params
        self.opt = LearnerAdamW(optim, params)
        self.clock = Clock(rt)

    def step(self, b: Batch, rule: TargetRule, step: int) -> StepOutput:
        """One update on `b`: forward, the rule's prepare / meta step / targets on detached views, the loss, its
        gradient, after_gradients, AdamW. Returns device tensors: nothing here waits for the device."""
        rt, gpt, p = self.rt, self.gpt, self.params
        B, T = b.shape
        with rt.autocast():
            if rule.hidden_at is None:
                logits = gpt.forward(p, b.ids)
                hidden = None
            else:
                hidden = gpt.hidden_below(p, b.ids, rule.hidden_at)
                logits = gpt.forward_from(p, hidden, B, T, rule.hidden_at)
            view = View(wide(logits.detach()), None if hidden is None else hidden.detach())
            # Off the tape: the targets are constants to this gradient, and the meta step takes gradients of its own.
            with torch.no_grad():
                rule.prepare(b, view)
                m0 = self.clock.stamp()
                did_meta = rule.meta_step(b, step, view)
                m1 = self.clock.stamp()
                q = rule.targets(b, step, view)
            loss = soft_cross_entropy(logits, q, b.mask)
        names = list(p)
        grads = dict(zip(names, torch.autograd.grad(loss, [p[n] for n in names])))
        rule.after_gradients(grads, step)
        norm = self.opt.apply(grads)
        return StepOutput(loss.detach(), norm, (m0, m1) if did_meta else None)


def train(learner: Learner, rows: TokenRows, batches: np.ndarray, steps: int, log_every: int, rule: TargetRule,
          on_log: Optional[Callable[[Dict[str, float]], None]] = None) -> TrainResult:
    """Runs `steps` learner steps on rows batches[step]; log points at step % log_every == 0 and the last."""
    curve: List[Dict[str, float]] = []
    timing = Timing()
    pending: List[Tuple[int, Stamp, Stamp, Optional[Tuple[Stamp, Stamp]]]] = []
    clock = learner.clock
    t0 = time.perf_counter()
    for step in range(steps):
        b = to_batch(learner.rt, rows.select(batches[step]))
        lr = learner.opt.next_lr()
        s0 = clock.stamp()
        out = learner.step(b, rule, step)
        s1 = clock.stamp()
        pending.append((step, s0, s1, out.meta))
        rule.after_step(step)  # outside the step: measurement (the probe)
        if step % log_every == 0 or step == steps - 1:
            rule.sync()
            loss, norm = to_host([out.loss, out.grad_norm])
            resolve(pending, timing)
            pending = []
            point = {"step": step, "loss": loss, "lr": lr, "gradNorm": norm}
            curve.append(point)
            if on_log is not None:
                on_log(point)
    resolve(pending, timing)
    learner.rt.synchronize()
    return TrainResult(curve, (time.perf_counter() - t0) * 1000.0, timing)


def resolve(pending: List[Tuple[int, Stamp, Stamp, Optional[Tuple[Stamp, Stamp]]]], timing: Timing) -> None:
    """Turns the steps' stamps into milliseconds (on CUDA: after their events completed)."""
    for step, s0, s1, meta in pending:
        meta_ms = Clock.ms(meta[0], meta[1]) if meta is not None else 0.0
        timing.learnerMs.append(Clock.ms(s0, s1) - meta_ms)
        if meta is not None:
            timing.metaSteps.append(step)
            timing.metaMs.append(meta_ms)


def cycle_steps(learner: Learner, rows: TokenRows, batches: np.ndarray, rule: TargetRule, first_step: int, count: int, batch_offset: int) -> None:
    """`count` learner steps from rule step `first_step` on batches taken cyclically from `batch_offset`, ending
    with a read of the last loss and the rule's sync (as a log point does): one calibration cycle."""
    last: Optional[torch.Tensor] = None
    for k in range(count):
        b = to_batch(learner.rt, rows.select(batches[(batch_offset + k) % batches.shape[0]]))
        last = learner.step(b, rule, first_step + k).loss
    if last is not None:
        to_host([last])
    rule.sync()
