"""A language cell end to end (harness/language/cell.ts runOnTfjs, the engine's part): load the learner,
make the arm's rule, track the validation answer NLL before training and after each logged update, train, then
the test set's teacher-forced NLL and greedy decodings. Timings are raw: the harness takes the tracking
(`timing.trackMs`) and the probe (`diagnostics.measure_ms`) out of the training time itself.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .designer_rule import DesignerRule
from .evaluate import AnswerNll, answer_nll
from .generate import generate_greedy
from .inputs import CellInputs, TokenRows
from .learner_model import Learnable, load_learner
from .lm import LanguageModel
from .rules import FixedSmoothingRule, OneHotRule, OracleGateRule, ScheduleRule, TargetRule
from .runtime import Runtime, peak_memory
from .trainer import Learner, cycle_steps, train

Emit = Callable[[Dict[str, Any]], None]


def make_rule(rt: Runtime, gpt: LanguageModel, params: Dict[str, Any], cell: CellInputs, steps: int, calibrating: bool = False) -> TargetRule:
    d = cell.design
    if cell.rule == "onehot":
        return OneHotRule()
    if cell.rule == "uniform-topk":
        return FixedSmoothingRule(d.topK, d.alphaMax, uniform=True)
    if cell.rule == "self-distill":
        return FixedSmoothingRule(d.topK, d.alphaMax, uniform=False)
    if cell.rule == "oracle-gate":
        return OracleGateRule(steps, rt.device, d.topK, d.alphaMax, rt.dist)
    if cell.rule == "schedule":
        return ScheduleRule(steps, rt.device, d.topK, cell.alpha_schedule, rt.dist)
    return DesignerRule(rt, gpt, params, cell, steps, cyclic_draws=calibrating)


def injected_failure(cell_id: str) -> Optional[int]:
    """The step at which to raise, for tests of how a failing engine is recorded: VPT_TORCH_FAIL=<cell id
    substring>@<step> fails the cells whose id contains the substring at their first log point from that step."""
    spec = os.environ.get("VPT_TORCH_FAIL", "")
    if "@" not in spec:
        return None
    part, _, step = spec.rpartition("@")
    return int(step) if part in cell_id else None


def learner_of(rt: Runtime, cell: CellInputs, model: Learnable) -> Learner:
    return Learner(rt, model.lm, model.params, cell.train.optim, model.trainable, model.aliases, cell.launch.shard_optimizer)


def nll_of(rt: Runtime, gpt: LanguageModel, params: Dict[str, Any], rows: TokenRows, batch_size: int) -> AnswerNll:
    """The answer NLL of `rows`; with several processes each takes a contiguous share of the rows (same answer)."""
    d = rt.dist
    if not d.active:
        return answer_nll(rt, gpt, params, rows, batch_size)
    per = d.sharded(rows.rows, lambda lo, hi: answer_nll(rt, gpt, params, rows.select(np.arange(lo, hi)), batch_size).items())
    return AnswerNll([x[0] for x in per], sum(x[1] for x in per), sum(x[2] for x in per))


def run_cell(rt: Runtime, cell: CellInputs, emit: Emit, model: Optional[Learnable] = None) -> Dict[str, Any]:
    model = model or load_learner(rt, cell)
    cell.subset = model.subset
    gpt, params = model.lm, model.params
    steps = cell.train.steps
    rule = make_rule(rt, gpt, params, cell, steps)
    learner = learner_of(rt, cell, model)
    downstream: List[Dict[str, float]] = []
    track_ms = 0.0

    def track(updates: int) -> float:
        if cell.validation is None or cell.validation.rows == 0:
            return 0.0
        t = time.perf_counter()
        downstream.append({"step": updates, "nll": nll_of(rt, gpt, params, cell.validation, cell.eval.batchSize).value})
        return (time.perf_counter() - t) * 1000.0

    track(0)  # before training: not inside the loop's wall time

    fail_at = injected_failure(cell.cell)

    def on_log(point: Dict[str, float]) -> None:
        nonlocal track_ms
        track_ms += track(int(point["step"]) + 1)
        emit({"type": "progress", "phase": "train", "done": int(point["step"]) + 1, "total": steps})
        if fail_at is not None and int(point["step"]) >= fail_at:
            raise RuntimeError(f"injected failure at step {int(point['step'])} (VPT_TORCH_FAIL)")

    trained = train(learner, cell.train_rows, cell.batches, steps, cell.train.logEvery, rule, on_log, cell.train.accum)
    diagnostics = rule.summary(trained.timing.metaMs)
    curves = rule.curves()
    memory = peak_memory(rt)

    # Eval in two parts: the test set's teacher-forced NLL, then greedy decoding.
    t_eval = time.perf_counter()
    emit({"type": "progress", "phase": "eval", "done": 0, "total": 2})
    test = nll_of(rt, gpt, params, cell.test, cell.eval.batchSize) if cell.test is not None and cell.test.rows else None
    emit({"type": "progress", "phase": "eval", "done": 1, "total": 2})
    ev = cell.eval
    generations = rt.dist.sharded(len(cell.prompts), lambda lo, hi: generate_greedy(
        rt, gpt, params, cell.prompts[lo:hi], ev.maxNewTokens, ev.eosId, ev.stopIds, ev.batchSize)) if cell.prompts else []
    emit({"type": "progress", "phase": "eval", "done": 2, "total": 2})
    eval_ms = (time.perf_counter() - t_eval) * 1000.0

    tokens = steps * cell.train.accum * cell.train.batchSize * cell.train.seqLen
    wall = trained.wall_ms
    return {
        "type": "result",
        "curve": trained.curve,
        "downstream": downstream,
        "diagnostics": diagnostics,
        "curves": curves,
        "timing": {
            "wallMs": wall, "msPerStep": wall / max(1, steps), "tokensPerSecond": tokens / wall * 1000.0 if wall > 0 else 0.0,
            "trackMs": track_ms, "evalMs": eval_ms, "learnerMs": trained.timing.learnerMs, "metaMs": trained.timing.metaMs, "metaSteps": trained.timing.metaSteps,
        },
        "memory": memory,
        "testNll": {"perItem": test.perItem if test else [], "sum": test.sum if test else 0.0, "count": test.count if test else 0.0},
        "generations": generations,
    }


def calibrate_cell(rt: Runtime, cell: CellInputs, model: Optional[Learnable] = None) -> Dict[str, Any]:
    """Per-step cost at the arm's cadence (harness/language/calibrate.ts): cycles of metaEvery learner steps counted
    from burnIn (so each cycle of a designer arm holds one meta step), warm-up cycles untimed."""
    model = model or load_learner(rt, cell)
    cell.subset = model.subset
    gpt, params = model.lm, model.params
    r = max(1, cell.design.metaEvery)
    cycles, warmup = cell.calibrate.cycles, cell.calibrate.warmupCycles
    steps = cell.design.burnIn + (cycles + warmup) * r
    rule = make_rule(rt, gpt, params, cell, steps, calibrating=True)
    learner = learner_of(rt, cell, model)
    if cell.batches.shape[0] == 0:
        raise ValueError("calibration needs at least one row in 'batches'")
    samples: List[float] = []
    step = cell.design.burnIn
    for k in range(warmup + cycles):
        rt.synchronize()
        t0 = time.perf_counter()
        cycle_steps(learner, cell.train_rows, cell.batches, rule, step, r, k * r, cell.train.accum)
        ms = (time.perf_counter() - t0) * 1000.0
        step += r
        if k >= warmup:
            samples.append(ms / r)
    return {"type": "calibration", "samples": samples, "cycleSteps": r}
