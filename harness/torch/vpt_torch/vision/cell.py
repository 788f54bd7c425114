"""A vision cell end to end on the torch engine (harness/vision/cell.ts, the engine's part): load the base
checkpoint, make the arm's view rule, train on the harness's crops, run the one-step probe, then write the frozen
backbone's features of every probe split (the harness fits and scores the probes on them, as it does for tfjs)
and the designer's masks of the preview images to `outputs.safetensors` beside the inputs.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from .. import safetensors_io
from ..runtime import Runtime, peak_memory, to_host
from .dino import patch_mask, teacher_momentum_at
from .inputs import VisionCell
from .learner import DinoLearner
from .rule import DesignerRule, GivenMasksRule, ViewRule

Emit = Callable[[Dict[str, Any]], None]


def make_rule(cell: VisionCell, learner: DinoLearner, rt: Runtime) -> ViewRule:
    if cell.rule == "designer":
        return DesignerRule(cell, learner, rt.device, exact=rt.directional == "exact")
    if cell.rule == "masks":
        return GivenMasksRule(cell, rt.upload)
    return ViewRule()


def directional_path(rt: Runtime) -> str:
    return "double-backward" if rt.directional == "exact" else "finite-differences"


class Loop:
    """The training loop over the harness's crops: the rule's meta step, the views, one DINO step."""

    def __init__(self, rt: Runtime, cell: VisionCell, learner: DinoLearner, rule: ViewRule) -> None:
        self.rt, self.cell, self.learner, self.rule = rt, cell, learner, rule
        self.glob = cell.array("crops.global")
        self.loc = cell.array("crops.local")
        self.ibot = cell.arrays.get("ibot") if cell.dino.ibot else None
        self.learner_ms: List[float] = []

    def crops(self, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.rt.upload(self.glob[step]), self.rt.upload(self.loc[step])

    def step(self, step: int, total: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
        g, loc = self.crops(step)
        self.rule.before_step(step, g, loc)
        t0 = time.perf_counter()
        lr = self.learner.opt.next_lr()
        momentum = teacher_momentum_at(self.cell.dino.teacherMomentum, step, total)
        student, teacher = self.rule.views(g, step)
        mask = patch_mask(self.learner.vit, self.ibot[step], self.rt.device) if self.ibot is not None else None
        out = self.learner.step(student, teacher, loc, self.cell.train.batchSize, mask, momentum)
        self.learner_ms.append((time.perf_counter() - t0) * 1000.0)
        return out.loss, out.grad_norm, out.entropy, lr


def probe_batches(cell: VisionCell, rt: Runtime) -> List[Tuple[torch.Tensor, torch.Tensor, Optional[np.ndarray]]]:
    if cell.probe_batches == 0:
        return []
    g, loc = cell.array("probe.global"), cell.array("probe.local")
    ib = cell.arrays.get("probe_ibot")
    return [(rt.upload(g[j]), rt.upload(loc[j]), ib[j] if ib is not None else None) for j in range(cell.probe_batches)]


def features(cell: VisionCell, learner: DinoLearner, rt: Runtime) -> Dict[str, np.ndarray]:
    """features.<set>.<layers>.cls [n, D·layers] and .patch [n, P, D·layers] of the probed backbone."""
    params = learner.teacher if cell.backbone == "teacher" else learner.const()
    out: Dict[str, np.ndarray] = {}
    with torch.no_grad():
        for s in cell.eval_sets:
            images = cell.array(f"eval.{s.index}.images")
            for L in s.layers:
                cls, patch = [], []
                for a in range(0, images.shape[0], 64):
                    c, p = learner.vit.layer_features(params, rt.upload(images[a:a + 64]), L)
                    cls.append(c.cpu().numpy())
                    patch.append(p.cpu().numpy())
                out[f"features.{s.index}.{L}.cls"] = np.concatenate(cls)
                out[f"features.{s.index}.{L}.patch"] = np.concatenate(patch)
    return out


def previews(cell: VisionCell, rule: ViewRule, rt: Runtime, name: str) -> Dict[str, np.ndarray]:
    imgs = cell.arrays.get("previews.images")
    if imgs is None or imgs.shape[0] == 0:
        return {}
    m = rule.masks_for(rt.upload(imgs))
    return {} if m is None else {f"previews.{name}": m.cpu().numpy()}


def run_cell(rt: Runtime, cell: VisionCell, emit: Emit, arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
    learner = DinoLearner(cell, arrays, rt.device, rt.autocast)
    rule = make_rule(cell, learner, rt)
    outputs: Dict[str, np.ndarray] = previews(cell, rule, rt, "initial")
    steps = cell.train.steps
    loop = Loop(rt, cell, learner, rule)
    curve: List[Dict[str, float]] = []
    t0 = time.perf_counter()
    for step in range(steps):
        loss, norm, entropy, lr = loop.step(step, steps)
        if step % cell.train.logEvery == 0 or step == steps - 1:
            lv, nv, ev = to_host([loss, norm, entropy])
            curve.append({"step": step, "loss": lv, "lr": lr, "gradNorm": nv, "momentum": teacher_momentum_at(cell.dino.teacherMomentum, step, steps), "teacherEntropy": ev})
            emit({"type": "progress", "phase": "train", "done": step + 1, "total": steps})
    rt.synchronize()
    wall = (time.perf_counter() - t0) * 1000.0
    measure_ms = 0.0
    if isinstance(rule, DesignerRule) and cell.probe_batches > 0:
        tp = time.perf_counter()
        rule.probe(probe_batches(cell, rt), cell.design.probeLr)
        measure_ms = (time.perf_counter() - tp) * 1000.0
    outputs.update(previews(cell, rule, rt, "final"))
    diagnostics = rule.summary()
    if measure_ms:
        diagnostics["measure_ms"] = measure_ms
    memory = peak_memory(rt)
    emit({"type": "progress", "phase": "eval", "done": 0, "total": 1})
    t_eval = time.perf_counter()
    outputs.update(features(cell, learner, rt))
    safetensors_io.write(cell.folder / "outputs.safetensors", outputs, {"format": "vpt-vision-outputs"})
    eval_ms = (time.perf_counter() - t_eval) * 1000.0
    emit({"type": "progress", "phase": "eval", "done": 1, "total": 1})
    B = cell.train.batchSize
    meta_ms = rule.meta_ms if isinstance(rule, DesignerRule) else []
    return {
        "type": "result",
        "curve": curve,
        "diagnostics": diagnostics,
        "curves": rule.curves(),
        "timing": {
            "wallMs": wall, "msPerStep": wall / max(1, steps), "imagesPerSecond": steps * B / wall * 1000.0 if wall > 0 else 0.0,
            "evalMs": eval_ms, "learnerMs": loop.learner_ms, "metaMs": meta_ms,
        },
        "memory": memory,
        "outputs": "outputs.safetensors",
    }


def calibrate_cell(rt: Runtime, cell: VisionCell, arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """Per-step cost at the arm's cadence: the harness wrote warm-up + timed cycles of `calibrateCycle` steps (burn-in
    0, so each cycle of a designer arm holds one meta step); the first cycle is untimed."""
    learner = DinoLearner(cell, arrays, rt.device, rt.autocast)
    rule = make_rule(cell, learner, rt)
    loop = Loop(rt, cell, learner, rule)
    r = max(1, cell.calibrate_cycle)
    steps = cell.train.steps
    samples: List[float] = []
    for k in range(steps // r):
        rt.synchronize()
        t0 = time.perf_counter()
        last = None
        for s in range(k * r, (k + 1) * r):
            last = loop.step(s, steps)[0]
        if last is not None:
            float(last)  # the cycle's last loss read, as tfjs's cycle ends
        ms = (time.perf_counter() - t0) * 1000.0
        if k >= 1:
            samples.append(ms / r)
    return {"type": "calibration", "samples": samples, "cycleSteps": r}


def bench_cell(rt: Runtime, cell: VisionCell, arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """`bench`: the harness wrote warmup + timed steps with a meta step before each (designer arms: burn-in 0, cadence
    1; the harness spreads the meta step over the suite's cadence). Learner and meta times apart, warm-up dropped."""
    learner = DinoLearner(cell, arrays, rt.device, rt.autocast)
    rule = make_rule(cell, learner, rt)
    loop = Loop(rt, cell, learner, rule)
    steps = cell.train.steps
    for s in range(steps):
        float(loop.step(s, steps)[0])  # each step read: its time is its own (CPU here; on CUDA the read waits)
    w = cell.bench_warmup
    meta = rule.meta_ms if isinstance(rule, DesignerRule) else []
    memory = peak_memory(rt)
    return {
        "type": "bench", "learnerMs": loop.learner_ms[w:], "metaMs": meta[w:], "headFitMs": rule.head_fit_ms if isinstance(rule, DesignerRule) else 0.0,
        "imagesPerStep": cell.train.batchSize, "params": sum(int(t.numel()) for t in learner.student.values()),
        "peakBytes": memory["peakBytes"], "rssPeakBytes": memory["rssPeakBytes"],
    }


def run(rt: Runtime, cell: VisionCell, mode: str, emit: Emit, arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """The cell's result line from the checked base checkpoint's arrays (inputs.load_model_arrays)."""
    if mode == "bench":
        return bench_cell(rt, cell, arrays)
    if mode == "calibrate":
        return calibrate_cell(rt, cell, arrays)
    return run_cell(rt, cell, emit, arrays)
