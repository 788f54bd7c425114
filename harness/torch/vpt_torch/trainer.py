"""The continued-pretraining loop shared by every arm (harness/language/train/trainer.ts). Each learner step runs
ONE forward; the rule builds its targets from detached views of that forward (so they carry no gradient), then
one AdamW step on the masked soft cross-entropy against them. Scalars are read only at log points (every
`logEvery` steps and the last); the step's timings are stamps resolved there too (CUDA events on a GPU).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from .batches import Batch, step_batches
from .inputs import OptimConfig, TokenRows
from .lm import LanguageModel
from .losses import soft_cross_entropy, wide
from .optim import LearnerAdamW
from .rules import TargetRule, View
from .runtime import Clock, Runtime, Stamp, to_host


@dataclass
class StepOutput:
    loss: torch.Tensor  # this rank's part of the step's loss (the ranks' parts sum to it)
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
    """The learner's parameters, optimiser and step.

    `params` holds every tensor the forward reads; `trainable` names those the optimiser updates (all of them by
    default; a LoRA learner's adapters). `aliases` maps a name the forward reads to the trainable tensor it is a use
    of (a tied head: 'lm_head.weight' -> the embedding). Inside a step the forward reads it as a view of that
    tensor: AdamW gets the tensor's whole gradient, and a rule that asks for the tensor's gradient (S holds the tied
    embedding as the head) gets the view's part, the head's.
    """

    def __init__(self, rt: Runtime, gpt: LanguageModel, params: Dict[str, torch.Tensor], optim: OptimConfig,
                 trainable: Optional[Sequence[str]] = None, aliases: Optional[Mapping[str, str]] = None,
                 shard_optimizer: bool = False) -> None:
        self.rt, self.gpt, self.params = rt, gpt, params
        self.trainable = list(params) if trainable is None else list(trainable)
        self.aliases = dict(aliases or {})
        self.opt = LearnerAdamW(optim, {n: params[n] for n in self.trainable}, rt.dist if shard_optimizer else None)
        self.clock = Clock(rt)

    def step(self, b: Batch, rule: TargetRule, step: int) -> StepOutput:
        """One update on `b` (see step_batches)."""
        return self.step_batches([b], rule, step)

    def step_batches(self, micro: Sequence[Batch], rule: TargetRule, step: int) -> StepOutput:
        """One update from the microbatches `micro`: per microbatch a forward, the rule's prepare / meta step (first
        microbatch only) / targets on detached views, the loss and its gradient, summed; then the sum over the ranks,
        after_gradients, AdamW. Returns device tensors: nothing here waits for the device."""
        rt, gpt = self.rt, self.gpt
        grads: Dict[str, torch.Tensor] = {}
        names: List[str] = []
        loss_sum: Optional[torch.Tensor] = None
        meta: Optional[Tuple[Stamp, Stamp]] = None
        wanted: List[str] = []  # aliases whose part of the gradient the rule asked for
        for k, b in enumerate(micro):
            p: Dict[str, torch.Tensor] = self.params
            views: Dict[str, torch.Tensor] = {}
            if self.aliases:
                p = dict(p)
                for a, src in self.aliases.items():
                    views[a] = p[a] = self.params[src].view_as(self.params[src])
            B, T = b.shape
            with rt.autocast():
                with gpt.training():
                    if rule.hidden_at is None:
                        logits = gpt.forward(p, b.ids)
                        hidden = None
                    else:
                        hidden = gpt.hidden_below(p, b.ids, rule.hidden_at)
                        logits = gpt.forward_from(p, hidden, B, T, rule.hidden_at)
                view = View(logits.detach(), None if hidden is None else wide(hidden.detach()))
                # Off the tape: the targets are constants to this gradient, and the meta step takes gradients of its own.
                with torch.no_grad():
                    rule.prepare(b, view)
                    if k == 0:
                        m0 = self.clock.stamp()
                        did_meta = rule.meta_step(b, step, view)
                        m1 = self.clock.stamp()
                        meta = (m0, m1) if did_meta else None
                        wanted = [a for a in views if rule.wants_gradient(self.aliases[a])]
                    q = rule.targets(b, step, view)
                loss = soft_cross_entropy(logits, q, b.mask, b.denom)
            names = self.trainable + [f"{a}@view" for a in wanted]
            gs = torch.autograd.grad(loss, [p[n] for n in self.trainable] + [views[a] for a in wanted])
            if k == 0:
                grads = dict(zip(names, gs))
                loss_sum = loss.detach()
            else:
                for n, g in zip(names, gs):
                    grads[n].add_(g)
                assert loss_sum is not None
                loss_sum = loss_sum + loss.detach()
        assert loss_sum is not None
        rt.dist.sum_([grads[n] for n in names])
        if wanted:
            for_rule = {n: grads[n] for n in self.trainable}
            for_rule.update({self.aliases[a]: grads[f"{a}@view"] for a in wanted})
            rule.after_gradients(for_rule, step)
            norm = self.opt.apply({n: grads[n] for n in self.trainable})
        else:
            rule.after_gradients(grads, step)
            norm = self.opt.apply(grads)
        return StepOutput(loss_sum, norm, meta)


def train(learner: Learner, rows: TokenRows, batches: np.ndarray, steps: int, log_every: int, rule: TargetRule,
          on_log: Optional[Callable[[Dict[str, float]], None]] = None, accum: int = 1) -> TrainResult:
    """Runs `steps` learner steps, step s on the rows of batches[s·accum + k] (k < accum); log points at
    step % log_every == 0 and the last (the loss there summed over the ranks)."""
    curve: List[Dict[str, float]] = []
    timing = Timing()
    pending: List[Tuple[int, Stamp, Stamp, Optional[Tuple[Stamp, Stamp]]]] = []
    clock = learner.clock
    rt = learner.rt
    t0 = time.perf_counter()
    for step in range(steps):
        micro = step_batches(rt, rows, batches, step, accum)
        lr = learner.opt.next_lr()
        s0 = clock.stamp()
        out = learner.step_batches(micro, rule, step)
        s1 = clock.stamp()
        pending.append((step, s0, s1, out.meta))
        rule.after_step(step)  # outside the step: measurement (the probe)
        if step % log_every == 0 or step == steps - 1:
            rule.sync()
            loss, norm = to_host([rt.dist.summed(out.loss), out.grad_norm])
            resolve(pending, timing)
            pending = []
            point = {"step": step, "loss": loss, "lr": lr, "gradNorm": norm}
            curve.append(point)
            if on_log is not None:
                on_log(point)
    resolve(pending, timing)
    rt.synchronize()
    return TrainResult(curve, (time.perf_counter() - t0) * 1000.0, timing)


def resolve(pending: List[Tuple[int, Stamp, Stamp, Optional[Tuple[Stamp, Stamp]]]], timing: Timing) -> None:
    """Turns the steps' stamps into milliseconds (on CUDA: after their events completed)."""
    for step, s0, s1, meta in pending:
        meta_ms = Clock.ms(meta[0], meta[1]) if meta is not None else 0.0
        timing.learnerMs.append(Clock.ms(s0, s1) - meta_ms)
        if meta is not None:
            timing.metaSteps.append(step)
            timing.metaMs.append(meta_ms)


def cyclic_batches(rt: Runtime, rows: TokenRows, batches: np.ndarray, index: int, accum: int) -> List[Batch]:
    """The microbatches of step `index` taken cyclically over the steps `batches` holds."""
    available = max(1, batches.shape[0] // accum)
    return step_batches(rt, rows, batches, index % available, accum)


def cycle_steps(learner: Learner, rows: TokenRows, batches: np.ndarray, rule: TargetRule, first_step: int, count: int, batch_offset: int, accum: int = 1) -> None:
    """`count` learner steps from rule step `first_step` on batches taken cyclically from `batch_offset`, ending
    with a read of the last loss and the rule's sync (as a log point does): one calibration cycle."""
    last: Optional[torch.Tensor] = None
    for k in range(count):
        last = learner.step_batches(cyclic_batches(learner.rt, rows, batches, batch_offset + k, accum), rule, first_step + k).loss
    if last is not None:
        to_host([last])
    rule.sync()
