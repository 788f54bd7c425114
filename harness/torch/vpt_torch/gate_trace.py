"""The gate α a target rule applied, step by step (harness/language/arms/gate-trace.ts): per learner step the six
sums Σα·m, Σm, Σα·m·w, Σm·w, Σα·m·(1−w), Σm·(1−w) go into one device buffer row, read only at `flush` (the
trainer's log points): no step reads the device. Means are taken over float64 sums of the float32 rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from .batches import Batch
from .distributed import Dist

SUMS = 6


@dataclass(frozen=True)
class GateWindow:
    """Recorded steps [start, stop), by record order."""

    start: int
    stop: int


def means(s: Sequence[float]) -> Dict[str, float]:
    return {
        "gate": s[0] / s[1] if s[1] > 0 else math.nan,
        "gateWrong": s[2] / s[3] if s[3] > 0 else math.nan,
        "gateOther": s[4] / s[5] if s[5] > 0 else math.nan,
    }


class GateTrace:
    """`dist`: with several processes each rank records its share's sums, added over the ranks at `flush`."""

    def __init__(self, capacity: int, device: torch.device, dist: Optional[Dist] = None) -> None:
        self.dist = dist or Dist()
        self.buffer = torch.zeros(max(1, capacity), SUMS, device=device)
        self.steps: List[Dict[str, float]] = []  # {step, alpha} per flushed step, in record order
        self._pending: List[tuple] = []  # (step, α given or None)
        self._total = np.zeros(SUMS, dtype=np.float64)
        self._sums: List[np.ndarray] = []
        self._marked = 0

    def record(self, step: int, alpha: Union[torch.Tensor, float], b: Batch) -> None:
        """Records the gate of learner step `step`: α per position [N] or one α for every position (the sums of a
        step's microbatches add up)."""
        if step >= self.buffer.shape[0]:
            grow = max(step + 1, 2 * self.buffer.shape[0]) - self.buffer.shape[0]
            self.buffer = torch.cat([self.buffer, torch.zeros(grow, SUMS, device=self.buffer.device)])
        with torch.no_grad():
            a = alpha.float() if isinstance(alpha, torch.Tensor) else torch.full_like(b.mask, float(alpha))
            mw = b.mask * b.wrong
            mo = b.mask - mw
            sums = torch.stack([(a * b.mask).sum(), b.mask.sum(), (a * mw).sum(), mw.sum(), (a * mo).sum(), mo.sum()])
            self.buffer[step].add_(sums)
        if not self._pending or self._pending[-1][0] != step:
            self._pending.append((step, None if isinstance(alpha, torch.Tensor) else float(alpha)))

    def flush(self) -> None:
        """Reads the buffer (one device read) and appends every pending step."""
        if not self._pending:
            return
        if self.dist.active:
            idx = torch.tensor([s for s, _ in self._pending], device=self.buffer.device)
            rows = self.buffer.index_select(0, idx)
            self.dist.sum_([rows])
            self.buffer.index_copy_(0, idx, rows)
        v = self.buffer.detach().cpu().numpy().astype(np.float64)
        for step, given in self._pending:
            s = v[step].copy()
            self._total += s
            self._sums.append(s)
            self.steps.append({"step": step, "alpha": given if given is not None else means(list(s))["gate"]})
        self._pending = []

    def mark(self) -> GateWindow:
        """The steps recorded since the previous mark (then a new window starts); reads nothing."""
        w = GateWindow(self._marked, len(self._sums) + len(self._pending))
        self._marked = w.stop
        return w

    def window_means(self, w: GateWindow) -> Dict[str, float]:
        if w.stop > len(self._sums):
            raise RuntimeError(f"gate window [{w.start}, {w.stop}) read before its steps were flushed ({len(self._sums)} are)")
        acc = np.zeros(SUMS, dtype=np.float64)
        for k in range(w.start, w.stop):
            acc += self._sums[k]
        return means(list(acc))

    def take_window(self) -> Dict[str, float]:
        w = self.mark()
        self.flush()
        return self.window_means(w)

    def totals_where(self, which: Callable[[int], bool]) -> Dict[str, float]:
        """Means over the recorded steps `which` picks (e.g. the meta steps)."""
        self.flush()
        acc = np.zeros(SUMS, dtype=np.float64)
        for rec, s in zip(self.steps, self._sums):
            if which(int(rec["step"])):
                acc += s
        return means(list(acc))

    def diagnostics(self) -> Dict[str, float]:
        self.flush()
        t = means(list(self._total))
        return {"gate_mean": t["gate"], "gate_wrong": t["gateWrong"], "gate_other": t["gateOther"]}

    def last_step(self) -> Optional[int]:
        return int(self.steps[-1]["step"]) if self.steps else None
