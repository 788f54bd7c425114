"""The designer arms' target rule (harness/language/arms/designer-arms.ts DesignerRule): v-pretraining (g_down from
the feedback set), random-feedback (a same-norm Gaussian direction, fresh each meta step) and shuffled-feedback
(the harness hands the feedback rows with answers already permuted).

Cadence: after `burnIn` learner steps, every `metaEvery` steps a meta step computes g_down on the next feedback
draw and the directional term D once, and the designer takes `designerSteps` Adam steps on −V; the targets of that
same batch are then built by the updated φ, and the learner steps on them. V before/after and cos(g_down, g_pre)
use the learner's own gradient over S of that step. Nothing is read from the device inside a step: each meta
step's values wait on the device until `sync` at the next log point.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from .batches import Batch, meta_view, to_batch, token_count, trim_padding
from .designer import DesignerOutput, DesignerShape, LmDesigner
from .gate_trace import GateTrace, GateWindow
from .lm import LanguageModel
from .inputs import CellInputs, InputError, TokenRows
from .losses import Targets
from .optim import DesignerAdam, global_norm
from .probe import ProbeStep, probe_one_step
from .rng import Rng
from .rules import TargetRule, View
from .runtime import Runtime, to_host
from .topk import Candidates, top_k_candidates
from .value import CosineLoss, Directional, Grads, dot, downstream_grad, pretrain_grad, random_like, value_of_weights

MIN_PROBE_BATCHES = 5


@dataclass
class PendingPoint:
    """A meta step whose device values are not read yet."""

    step: int
    window: GateWindow
    updates: int
    values: Optional[torch.Tensor] = None  # [V before, V after]
    cos: Optional[torch.Tensor] = None

    def tensors(self) -> List[torch.Tensor]:
        return [t for t in (self.values, self.cos) if t is not None]


@dataclass
class _Current:
    view: View
    c: Candidates
    logp: torch.Tensor
    entropy: Optional[torch.Tensor] = None  # the learner's, for a gate that reads it


class DesignerRule(TargetRule):
    def __init__(self, rt: Runtime, gpt: LanguageModel, params: Mapping[str, torch.Tensor], cell: CellInputs, steps: int, cyclic_draws: bool = False) -> None:
        d = cell.design
        self.rt, self.gpt, self.params, self.design = rt, gpt, params, d
        self.feedback = cell.feedback
        self.subset = cell.subset
        self.hidden_at = cell.subset.start
        for n in self.subset.names:
            if n not in params:
                raise InputError(f"inputs.json: 'subset.names' names '{n}', which the model does not have")
        # The designer reads contexts as long as the learner's rows; a pretrained learner's context is far longer than
        # the designer's positions need be, so there the designer's own position table says how long it is.
        block = gpt.block_size if cell.model.kind == "vpt-gpt" or "wpe" not in cell.designer_init else int(cell.designer_init["wpe"].shape[0])
        shape = DesignerShape(gpt.vocab_size, block, d.designerWidth, d.designerLayers, d.designerHeads, d.alphaMax, d.rSupport, d.gateFeatures, d.labelFeature)
        self.designer = LmDesigner(shape, cell.designer_init, rt.device, rt.sdpa)
        self.opt = DesignerAdam(d.designerLr, self.designer.params, d.designerEps)
        assert cell.feedback_rows is not None and cell.feedback_draws is not None
        self.feedback_rows: TokenRows = cell.feedback_rows
        self.draws: np.ndarray = cell.feedback_draws
        self.next_draw = 0
        self.cyclic_draws = cyclic_draws
        self.noise_rng = Rng.with_native(cell.noise_seed)
        self.directional = Directional(gpt, cell.subset, rt.directional, rt.jvp)
        self.trace = GateTrace(steps, rt.device, rt.dist)
        self.dist = rt.dist
        self.values: List[float] = []
        self.points: List[Dict[str, Any]] = []
        self.probes: List[Dict[str, Any]] = []
        self.pending: List[PendingPoint] = []
        self.updates = 0
        self.measure_ms = 0.0
        probing = cell.probe_rows is not None and cell.probe_feedback is not None and d.probeBatches >= MIN_PROBE_BATCHES
        self.probe_at = set(cell.probe_steps) if probing else set()
        self.probe_rows = cell.probe_rows
        self.probe_feedback = cell.probe_feedback
        self.snapshot: Optional[List[torch.Tensor]] = None
        self.cos_down: Optional[Grads] = None
        self.value_term: Optional[Tuple[torch.Tensor, torch.Tensor]] = None  # (D′, V′ before)
        self.value_shift: Optional[Tuple[torch.Tensor, torch.Tensor]] = None  # (V′ before, V′ after)
        self.current: Optional[_Current] = None

    # -- candidates and targets -------------------------------------------------------------------------------
    def is_meta_step(self, step: int) -> bool:
        return step >= self.design.burnIn and (step - self.design.burnIn) % self.design.metaEvery == 0

    def candidates(self, view: View, targets: torch.Tensor) -> _Current:
        """C_t and the learner's candidate log-probabilities from the step's detached logits (once per view)."""
        if self.current is None or self.current.view is not view:
            with torch.no_grad():
                c = top_k_candidates(view.logits, targets, self.design.topK)
                lse = torch.logsumexp(view.logits, dim=-1, keepdim=True)
                logp = c.logits - lse
                entropy = None
                if self.design.gateFeatures:
                    logits = view.logits.float()
                    entropy = lse.reshape(-1).float() - (torch.softmax(logits, dim=-1) * logits).sum(dim=-1)
            self.current = _Current(view, c, logp, entropy)
        return self.current

    def prepare(self, b: Batch, view: View) -> None:
        self.candidates(view, b.targets)

    def designer_output(self, b: Batch, cur: _Current) -> DesignerOutput:
        with self.rt.float32():
            return self.designer.apply(self.designer.params, b.ids, b.targets, cur.c, cur.logp, cur.entropy, b.wrong if self.design.labelFeature else None)

    def build_targets(self, b: Batch, view: View) -> Tuple[Targets, DesignerOutput]:
        cur = self.candidates(view, b.targets)
        with torch.no_grad():
            out = self.designer_output(b, cur)
        return Targets(cur.c.ids, out.weights), out

    def targets(self, b: Batch, step: int, view: View) -> Targets:
        q, out = self.build_targets(b, view)
        self.current = None
        if self.value_term is not None:
            # V′ at the updated φ from the weights these targets are built from: no designer forward of its own.
            D, before = self.value_term
            self.value_term = None
            with torch.no_grad():
                m = meta_view(b)
                self.value_shift = (before, self.dist.summed(value_of_weights(out.weights, D, m.mask, m.denom)))
        self.trace.record(step, out.alpha, b)
        return q

    # -- the meta step -------------------------------------------------------------------------------------------
    def _feedback_batch(self) -> Batch:
        if self.next_draw >= self.draws.shape[0]:
            if not self.cyclic_draws or self.draws.shape[0] == 0:
                raise InputError(f"inputs.safetensors: 'feedback_draws' has {self.draws.shape[0]} rows; meta step {self.next_draw + 1} needs another")
            self.next_draw = 0
        idx = self.draws[self.next_draw]
        self.next_draw += 1
        if not self.dist.active:
            return to_batch(self.rt, trim_padding(self.feedback_rows.select(idx)))
        # This rank's contiguous share of the draw, normalised over the whole draw's answer tokens.
        lo, hi = self.dist.share(idx.size)
        return to_batch(self.rt, trim_padding(self.feedback_rows.select(idx[lo:hi])), token_count(self.feedback_rows.select(idx)))

    def g_down(self) -> Grads:
        """g_down of the next feedback draw (summed over the ranks' shares), or the random-feedback control's
        same-norm Gaussian stand-in (the same draw on every rank: one seed)."""
        _, grads = downstream_grad(self.gpt, self.params, self.subset, self._feedback_batch())
        self.dist.sum_([grads[n] for n in self.subset.names])
        if self.feedback != "random":
            return grads
        return random_like(grads, self.subset.names, self.noise_rng, self.rt.upload)

    def meta_step(self, b: Batch, step: int, view: View) -> bool:
        if not self.is_meta_step(step):
            return False
        d = self.design
        if view.hidden is None:
            raise RuntimeError("the designer needs the hidden state entering S in the learner view")
        hidden = view.hidden
        b = meta_view(b)
        window = self.trace.mark()
        g_down = self.g_down()
        cur = self.candidates(view, b.targets)
        forward = d.fdScheme == "forward"

        def directional(g: Grads) -> torch.Tensor:
            with self.rt.float32():
                if d.value == "dot":
                    return self.directional.logits(self.params, hidden, b, cur.c.ids, g, d.fdEpsilon, cur.c.logits if forward else None)
                return self.directional.logp(self.params, hidden, b, cur.c.ids, g, d.fdEpsilon, cur.logp if forward else None)

        D = directional(g_down)
        first: Optional[torch.Tensor] = None
        names = list(self.designer.params)
        for k in range(d.designerSteps):
            if k > 0 and d.freshFeedback:
                # A fresh feedback batch for this designer step: g_down and D anew.
                g_down = self.g_down()
                D = directional(g_down)
            cosine: Optional[CosineLoss] = None
            if d.value != "dot":
                with torch.no_grad():
                    w0 = self.designer_output(b, cur).weights
                g_pre = pretrain_grad(self.gpt, self.params, self.subset, b, hidden, Targets(cur.c.ids, w0))
                self.dist.sum_([g_pre[n] for n in self.subset.names])
                with self.rt.float32():
                    Dp = self.directional.logp(self.params, hidden, b, cur.c.ids, g_pre, d.fdEpsilon, cur.logp if forward else None)
                    cosine = CosineLoss(w0, D, Dp, b.mask, global_norm(list(g_down.values())), global_norm([g_pre[n] for n in self.subset.names]),
                                        b.denom, self.dist.summed)
            with torch.enable_grad():
                w = self.designer_output(b, cur).weights
                objective = -value_of_weights(w, D, b.mask, b.denom) if cosine is None else cosine.loss(w)
                grads = torch.autograd.grad(objective, [self.designer.params[n] for n in names], allow_unused=True)
            used = {n: g for n, g in zip(names, grads) if g is not None}
            self.dist.sum_(list(used.values()))  # ∇φV over the whole batch: the same update on every rank
            self.opt.apply(used)
            # V before pairs with V after on one g_down: with fresh feedback, the last update's batch.
            if k == 0 or d.freshFeedback:
                value = (-objective if cosine is None else cosine.cosine).detach()
                first = self.dist.summed(value) if cosine is None else value
        assert first is not None
        self.updates += d.designerSteps
        point = PendingPoint(step=step, window=window, updates=self.updates)
        if d.value == "dot":
            self.value_term = (D, first)
        else:
            point.values = torch.stack([first.reshape(()), torch.full((), math.nan, device=first.device)])
        self.pending.append(point)
        self.cos_down = g_down
        return True

    def wants_gradient(self, name: str) -> bool:
        return self.cos_down is not None and name in self.subset.names

    def after_gradients(self, grads: Mapping[str, torch.Tensor], step: int) -> None:
        """cos(g_down, g_pre) with g_pre the learner's own gradient over S; for the dot value also V after
        (= g_downᵀg_pre) and V before (V after less what the designer's updates added to the estimator's V′)."""
        g_down = self.cos_down
        if g_down is None:
            return
        self.cos_down = None
        shift = self.value_shift
        self.value_shift = None
        with torch.no_grad():
            g_pre = {n: grads[n] for n in self.subset.names}
            v = dot(g_down, g_pre)
            cos = v / (global_norm([g_down[n] for n in self.subset.names]) * global_norm([g_pre[n] for n in self.subset.names]))
            values = torch.stack([(v - shift[1]) + shift[0], v]) if shift is not None else None
        last = self.pending[-1] if self.pending else None
        if last is not None and last.cos is None:
            last.cos = cos
            if values is not None:
                last.values = values

    def sync(self) -> None:
        """Reads the pending meta steps' values (one transfer) and the gate sums; appends their points."""
        pending, self.pending = self.pending, []
        self.trace.flush()
        if not pending:
            return
        x = to_host([t for p in pending for t in p.tensors()])
        i = 0
        for p in pending:
            v = v_after = c = math.nan
            if p.values is not None:
                v, v_after = x[i], x[i + 1]
                i += 2
            if p.cos is not None:
                c = x[i]
                i += 1
            self.values.append(v)
            self.points.append({
                "step": p.step, "value": finite_or_none(v), "valueAfter": finite_or_none(v_after), "cos": finite_or_none(c),
                **self.trace.window_means(p.window), "updates": p.updates,
            })

    # -- the probe ------------------------------------------------------------------------------------------------
    def after_step(self, step: int) -> None:
        """Probe points: keep θ_S before the update a point measures; after it, probe at that update's size."""
        if not self.probe_at:
            return
        t0 = time.perf_counter()
        if step in self.probe_at and self.snapshot is not None:
            with torch.no_grad():
                diff = [self.params[n].detach() - s for n, s in zip(self.subset.names, self.snapshot)]
                update_norm = float(global_norm(diff).item())
            # That read waited for the learner's queued work (training, not measurement).
            t0 = time.perf_counter()
            self.snapshot = None
            with self.rt.autocast():
                matched, first = self.probe([ProbeStep(norm=update_norm), ProbeStep(eta=self.design.probeLr)])
            self.probes.append({
                "step": step, "updateNorm": update_norm, "eta": sum(matched.eta) / max(1, len(matched.eta)),
                "r": matched.r, "slope": matched.slope, "rFirstOrder": first.r, "slopeFirstOrder": first.slope,
                "predicted": matched.predicted, "realised": matched.realised,
                **({"alphaR": matched.alpha.r, "alphaSlope": matched.alpha.slope, "alphaRFirstOrder": first.alpha.r, "alphaSlopeFirstOrder": first.alpha.slope,
                    "alphaPredicted": matched.alpha.predicted, "alphaRealised": matched.alpha.realised}
                   if matched.alpha is not None and first.alpha is not None else {}),
            })
        if step + 1 in self.probe_at:
            self.snapshot = [self.params[n].detach().clone() for n in self.subset.names]
        self.rt.synchronize()
        self.measure_ms += (time.perf_counter() - t0) * 1000.0

    def probe(self, steps: Sequence[ProbeStep]) -> List[Any]:
        rows, fb = self.probe_rows, self.probe_feedback
        assert rows is not None and fb is not None
        batches = self.design.probeBatches
        bs = max(1, rows.rows // batches)
        held = [to_batch(self.rt, rows.select(np.arange(j * bs, (j + 1) * bs))) for j in range(batches) if (j + 1) * bs <= rows.rows]
        fb_batch = to_batch(self.rt, trim_padding(fb))

        def targets_of(b: Batch, view: View) -> Targets:
            q, _ = self.build_targets(b, view)
            self.current = None
            return q

        return probe_one_step(self.gpt, self.params, self.subset, held, fb_batch, targets_of, steps, lambda b: Targets.one_hot(b.targets))

    # -- after training ---------------------------------------------------------------------------------------------
    def summary(self, meta_ms: Sequence[float]) -> Dict[str, float]:
        self.sync()
        gate = self.trace.diagnostics()
        # α on the meta steps' own batches (targets built right after the designer updated on their D).
        meta = self.trace.totals_where(self.is_meta_step)
        last = self.probes[-1] if self.probes else None
        return {
            "value_mean": mean(self.values), **gate, "gate_wrong_meta": meta["gateWrong"], "gate_other_meta": meta["gateOther"],
            "meta_steps": float(len(self.values)), "designer_updates": float(self.updates),
            "meta_ms_mean": mean(list(meta_ms)),
            "probe_r": last["r"] if last else math.nan, "probe_slope": last["slope"] if last else math.nan,
            "probe_r_first_order": last["rFirstOrder"] if last else math.nan, "probe_eta": last["eta"] if last else math.nan,
            "probe_alpha_r": last.get("alphaR", math.nan) if last else math.nan, "probe_alpha_slope": last.get("alphaSlope", math.nan) if last else math.nan,
            "probe_alpha_r_first_order": last.get("alphaRFirstOrder", math.nan) if last else math.nan,
            "measure_ms": self.measure_ms,
        }

    def curves(self) -> Dict[str, List[Any]]:
        self.sync()
        window = self.trace.take_window()
        points = list(self.points)
        last_step = self.trace.last_step()
        if last_step is not None and math.isfinite(window["gate"]):
            points.append({"step": last_step + 1, "value": None, "valueAfter": None, "cos": None, **window, "updates": self.updates})
        out: Dict[str, List[Any]] = {"designer": points, "alpha": list(self.trace.steps)}
        if self.probes:
            out["probe"] = self.probes
        return out


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def finite_or_none(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None
