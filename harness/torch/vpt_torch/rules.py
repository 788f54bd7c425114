"""How an arm turns a batch into a prediction problem (harness/language/train/trainer.ts TargetRule) and the rules
without a designer: one-hot (baseline), uniform-topk, self-distill, oracle-gate, schedule-matched
(harness/language/arms/{baseline,fixed-smoothing,gate-controls}.ts).

Every rule sees a detached view of the learner step's one forward pass; the targets it returns carry no gradient.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch

from .batches import Batch
from .distributed import Dist
from .gate_trace import GateTrace
from .losses import Targets, wide
from .topk import mix_weights, top_k_candidates


class View:
    """The learner's forward on the batch, detached: logits [B*T, V] (widened to float32 when a rule first reads
    them: the baseline never does, and a bf16 copy of a large vocabulary's logits is not free), and the hidden state
    entering block `TargetRule.hidden_at` when the rule asks for it."""

    def __init__(self, logits: torch.Tensor, hidden: Optional[torch.Tensor] = None) -> None:
        self.raw = logits
        self.hidden = hidden
        self._wide: Optional[torch.Tensor] = None

    @property
    def logits(self) -> torch.Tensor:
        if self._wide is None:
            self._wide = wide(self.raw)
        return self._wide


class TargetRule:
    """The hooks a learner step calls, in order: prepare, meta_step, targets (off the tape), after_gradients;
    then after_step outside the step, sync at log points, summary and curves after training."""

    hidden_at: Optional[int] = None

    def prepare(self, b: Batch, view: View) -> None:
        """Target building every step needs and a meta step reuses (timed as target building)."""

    def meta_step(self, b: Batch, step: int, view: View) -> bool:
        """The designer's meta step; True when it updated the designer on this step."""
        return False

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        raise NotImplementedError

    def wants_gradient(self, name: str) -> bool:
        """Whether after_gradients of the current step reads the gradient of `name` where it is not a trainable
        tensor of its own (a tied head's part of the embedding's gradient): asked after the meta step."""
        return False

    def after_gradients(self, grads: Mapping[str, torch.Tensor], step: int) -> None:
        """Sees the learner's gradient of this step (before clipping and the update; summed over the ranks)."""

    def after_step(self, step: int) -> None:
        """After the update of `step`, outside the step (measurement: the probe)."""

    def sync(self) -> None:
        """Reads what the rule keeps on the device (at log points and after the last step)."""

    def summary(self, meta_ms: Sequence[float]) -> Dict[str, float]:
        return {}

    def curves(self) -> Dict[str, List[Any]]:
        return {}


class OneHotRule(TargetRule):
    """The baseline: one-hot next-token targets."""

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        return Targets.one_hot(b.targets)


class FixedSmoothingRule(TargetRule):
    """q = (1 − α_max)·onehot + α_max·r over the top-K candidates; r uniform or the renormalised learner."""

    def __init__(self, top_k: int, alpha_max: float, uniform: bool) -> None:
        self.top_k, self.alpha_max, self.uniform = top_k, alpha_max, uniform

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        c = top_k_candidates(view.logits, b.targets, self.top_k)
        K = c.ids.shape[1]
        r = torch.full(c.ids.shape, 1.0 / K, device=c.logits.device) if self.uniform else torch.softmax(c.logits, dim=-1)
        return Targets(c.ids, mix_weights(self.alpha_max, r))


class GatedRule(TargetRule):
    """A rule whose gate is fixed per step; records what it applied (diagnostics gate_*, curve `alpha`)."""

    def __init__(self, steps: int, device: torch.device, dist: Optional[Dist] = None) -> None:
        self.trace = GateTrace(steps, device, dist)

    def sync(self) -> None:
        self.trace.flush()

    def summary(self, meta_ms: Sequence[float]) -> Dict[str, float]:
        return self.trace.diagnostics()

    def curves(self) -> Dict[str, List[Any]]:
        self.trace.flush()
        return {"alpha": list(self.trace.steps)}


class OracleGateRule(GatedRule):
    """α = α_max on the tokens marked wrong, 0 elsewhere; the mass to the learner's top-K without the marked token."""

    def __init__(self, steps: int, device: torch.device, top_k: int, alpha_max: float, dist: Optional[Dist] = None) -> None:
        super().__init__(steps, device, dist)
        self.top_k, self.alpha_max = top_k, alpha_max

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        c = top_k_candidates(view.logits, b.targets, self.top_k)
        # −∞ at the true token (column 0), 0 elsewhere, built on the device (no host-to-device copy of a scalar).
        K = c.ids.shape[1]
        others = torch.zeros(1, K, device=c.logits.device).masked_fill(torch.arange(K, device=c.logits.device) == 0, -math.inf)
        r = torch.softmax(c.logits + others, dim=-1)
        alpha = b.wrong * self.alpha_max
        self.trace.record(step, alpha, b)
        return Targets(c.ids, mix_weights(alpha, r))


def scheduled_alpha(schedule: Sequence[float], step: int, steps: int) -> float:
    """α at learner step `step` of `steps`: the recorded value of that step when the schedule has as many steps,
    else the value at the same fraction of training (gate-controls.ts scheduledAlpha)."""
    i = step if len(schedule) == steps else (step * len(schedule)) // max(1, steps)
    return float(schedule[min(len(schedule) - 1, max(0, i))])


class ScheduleRule(GatedRule):
    """Self-distillation with V-pretraining's per-step mean α (the harness passes `alphaSchedule`)."""

    def __init__(self, steps: int, device: torch.device, top_k: int, schedule: Sequence[float], dist: Optional[Dist] = None) -> None:
        super().__init__(steps, device, dist)
        self.steps, self.top_k, self.schedule = steps, top_k, list(schedule)

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        alpha = scheduled_alpha(self.schedule, step, self.steps)
        c = top_k_candidates(view.logits, b.targets, self.top_k)
        self.trace.record(step, alpha, b)
        return Targets(c.ids, mix_weights(alpha, torch.softmax(c.logits, dim=-1)))
