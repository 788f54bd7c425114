"""A language cell end to end (harness/language/task.ts runLanguageCell, the engine's part): load the learner,
make the arm's rule, track the validation answer NLL before training and after each logged update, train, then
the test set's teacher-forced NLL and greedy decodings. Timings are raw: the harness takes the tracking
(`timing.trackMs`) and the probe (`diagnostics.measure_ms`) out of the training time itself.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List

from .checkpoint import load_params
from .designer_rule import DesignerRule
from .evaluate import answer_nll
from .generate import generate_greedy
from .gpt import Gpt
from .inputs import CellInputs
from .rules import FixedSmoothingRule, OneHotRule, OracleGateRule, ScheduleRule, TargetRule
from .runtime import Runtime, peak_memory
from .trainer import Learner, cycle_steps, train

Emit = Callable[[Dict[str, Any]], None]


def make_rule(rt: Runtime, gpt: Gpt, params: Dict[str, Any], cell: CellInputs, steps: int, calibrating: bool = False) -> TargetRule:
    d = cell.design
    if cell.rule == "onehot":
        return OneHotRule()
    if cell.rule == "uniform-topk":
        return FixedSmoothingRule(d.topK, d.alphaMax, uniform=True)
    if cell.rule == "self-distill":
        return FixedSmoothingRule(d.topK, d.alphaMax, uniform=False)
    if cell.rule == "oracle-gate":
        return OracleGateRule(steps, rt.device, d.topK, d.alphaMax)
    if cell.rule == "schedule":
        return ScheduleRule(steps, rt.device, d.topK, cell.alpha_schedule)
    return DesignerRule(rt, gpt, params, cell, steps, cyclic_draws=calibrating)


def run_cell(rt: Runtime, cell: CellInputs, emit: Emit) -> Dict[str, Any]:
    gpt = Gpt(cell.model.gpt, sdpa=rt.sdpa)
    params = load_params(cell.model.dir, cell.model.gpt, rt.device)
    steps = cell.train.steps
    rule = make_rule(rt, gpt, params, cell, steps)
    learner = Learner(rt, gpt, params, cell.train.optim)
    downstream: List[Dict[str, float]] = []
    track_ms = 0.0

    def track(updates: int) -> float:
        if cell.validation is None or cell.validation.rows == 0:
            return 0.0
        t = time.perf_counter()
        downstream.append({"step": updates, "nll": answer_nll(rt, gpt, params, cell.validation, cell.eval.batchSize).value})
        return (time.perf_counter() - t) * 1000.0

    track(0)  # before training: not inside the loop's wall time

    def on_log(point: Dict[str, float]) -> None:
        nonlocal track_ms
        track_ms += track(int(point["step"]) + 1)
        emit({"type": "progress", "phase": "train", "done": int(point["step"]) + 1, "total": steps})

    trained = train(learner, cell.train_rows, cell.batches, steps, cell.train.logEvery, rule, on_log)
    diagnostics = rule.summary(trained.timing.metaMs)
    curves = rule.curves()
    memory = peak_memory(rt)

    # Eval in two parts: the test set's teacher-forced NLL, then greedy decoding.
    t_eval = time.perf_counter()
    emit({"type": "progress", "phase": "eval", "done": 0, "total": 2})
    test = answer_nll(rt, gpt, params, cell.test, cell.eval.batchSize) if cell.test is not None and cell.test.rows else None
    emit({"type": "progress", "phase": "eval", "done": 1, "total": 2})
    generations = generate_greedy(rt, gpt, params, cell.prompts, cell.eval.maxNewTokens, cell.eval.eosId, cell.eval.stopIds, cell.eval.batchSize) if cell.prompts else []
    emit({"type": "progress", "phase": "eval", "done": 2, "total": 2})
    eval_ms = (time.perf_counter() - t_eval) * 1000.0

    tokens = steps * cell.train.batchSize * cell.train.seqLen
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


def calibrate_cell(rt: Runtime, cell: CellInputs) -> Dict[str, Any]:
    """Per-step cost at the arm's cadence (harness/language/calibrate.ts): cycles of metaEvery learner steps counted
    from burnIn (so each cycle of a designer arm holds one meta step), warm-up cycles untimed."""
    gpt = Gpt(cell.model.gpt, sdpa=rt.sdpa)
    params = load_params(cell.model.dir, cell.model.gpt, rt.device)
    r = max(1, cell.design.metaEvery)
    cycles, warmup = cell.calibrate.cycles, cell.calibrate.warmupCycles
    steps = cell.design.burnIn + (cycles + warmup) * r
    rule = make_rule(rt, gpt, params, cell, steps, calibrating=True)
    learner = Learner(rt, gpt, params, cell.train.optim)
    if cell.batches.shape[0] == 0:
        raise ValueError("calibration needs at least one row in 'batches'")
    samples: List[float] = []
    step = cell.design.burnIn
    for k in range(warmup + cycles):
        rt.synchronize()
        t0 = time.perf_counter()
        cycle_steps(learner, cell.train_rows, cell.batches, rule, step, r, k * r)
        ms = (time.perf_counter() - t0) * 1000.0
        step += r
        if k >= warmup:
            samples.append(ms / r)
    return {"type": "calibration", "samples": samples, "cycleSteps": r}
