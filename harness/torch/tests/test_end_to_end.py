"""Every arm end to end as the harness runs it: `python -m vpt_torch run <dir>` as a subprocess on a tiny cell of
a learnable toy stream. Checks the lines in order, the result's shape and keys, and that the loss falls."""
import math
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from tiny import CellSpec, result_of, run_engine, write_cell

STEPS, LOG_EVERY = 24, 4
LOG_POINTS = [s for s in range(STEPS) if s % LOG_EVERY == 0 or s == STEPS - 1]
ARMS: Dict[str, Tuple[str, str]] = {
    "baseline": ("onehot", "true"),
    "uniform-topk": ("uniform-topk", "true"),
    "self-distill": ("self-distill", "true"),
    "oracle-gate": ("oracle-gate", "true"),
    "schedule-matched": ("schedule", "true"),
    "v-pretraining": ("designer", "true"),
    "random-feedback": ("designer", "random"),
    "shuffled-feedback": ("designer", "shuffled"),
}
GATE_KEYS = {"gate_mean", "gate_wrong", "gate_other"}
DESIGNER_KEYS = {"value_mean", *GATE_KEYS, "meta_steps", "designer_updates", "meta_ms_mean", "probe_r", "probe_slope",
                 "probe_r_first_order", "probe_eta", "measure_ms", "gate_wrong_meta", "gate_other_meta",
                 "probe_alpha_r", "probe_alpha_slope", "probe_alpha_r_first_order"}


def run_arm(tmp_path: Path, arm: str, **kw: Any) -> Dict[str, Any]:
    rule, feedback = ARMS[arm]
    spec = CellSpec(rule=rule, arm=arm, feedback=feedback, steps=STEPS, log_every=LOG_EVERY, probe_steps=[11, 23] if rule == "designer" else [],
                    alpha_schedule=[0.05 + 0.01 * i for i in range(STEPS)], **kw)
    rc, lines, err = run_engine(["run", str(write_cell(tmp_path / arm, spec))])
    assert rc == 0, err
    types = [x["type"] for x in lines]
    assert types[0] == "hello" and types[-1] == "result" and set(types[1:-1]) == {"progress"}
    exact = kw.get("directional", "exact") == "exact"
    assert lines[0]["protocol"] == 1 and (lines[0]["engine"]["paths"]["directional"] in ("torch.func", "forward_ad")) == exact
    res = result_of(lines)
    assert res is not None
    return res


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    """Each arm's result, run once for the module (runs take seconds each)."""

    class Lazy(dict):
        def __missing__(self, arm: str) -> Dict[str, Any]:
            self[arm] = run_arm(tmp_path_factory.mktemp(arm), arm)
            return self[arm]

    return Lazy()


@pytest.mark.parametrize("arm", list(ARMS))
def test_arm(results: Dict[str, Dict[str, Any]], arm: str) -> None:
    res = results[arm]
    assert set(res) == {"type", "curve", "downstream", "diagnostics", "curves", "timing", "memory", "testNll", "generations"}
    curve = res["curve"]
    assert [p["step"] for p in curve] == LOG_POINTS
    assert all(set(p) == {"step", "loss", "lr", "gradNorm"} for p in curve)
    assert curve[-1]["loss"] < 0.6 * curve[0]["loss"], [p["loss"] for p in curve]  # a learnable stream: the loss falls
    assert [d["step"] for d in res["downstream"]] == [0] + [s + 1 for s in LOG_POINTS]
    assert res["downstream"][-1]["nll"] < res["downstream"][0]["nll"]
    t = res["timing"]
    assert len(t["learnerMs"]) == STEPS and t["wallMs"] > 0 and t["tokensPerSecond"] > 0 and t["trackMs"] >= 0 and t["evalMs"] > 0
    assert res["memory"]["peakBytes"] > 0 and res["memory"]["rssPeakBytes"] > 0
    assert len(res["testNll"]["perItem"]) == 5 and res["testNll"]["count"] > 0
    assert len(res["generations"]) == 3 and all(isinstance(g, list) for g in res["generations"])
    rule = ARMS[arm][0]
    diag, curves = res["diagnostics"], res["curves"]
    if rule in ("onehot", "uniform-topk", "self-distill"):
        assert diag == {} and curves == {} and t["metaMs"] == []
    elif rule in ("oracle-gate", "schedule"):
        assert set(diag) == GATE_KEYS and set(curves) == {"alpha"}
        assert [a["step"] for a in curves["alpha"]] == list(range(STEPS))
        if rule == "schedule":
            assert [a["alpha"] for a in curves["alpha"]] == pytest.approx([0.05 + 0.01 * i for i in range(STEPS)])
        else:
            assert diag["gate_other"] == 0 and diag["gate_wrong"] == pytest.approx(0.5)
    else:
        assert set(diag) == DESIGNER_KEYS and set(curves) == {"designer", "alpha", "probe"}
        metas = [s for s in range(STEPS) if s >= 2 and (s - 2) % 2 == 0]
        assert t["metaSteps"] == metas and len(t["metaMs"]) == len(metas)
        assert diag["meta_steps"] == len(metas) == diag["designer_updates"]
        points = curves["designer"]
        assert [p["step"] for p in points] == metas + [STEPS]
        assert all(math.isfinite(p["value"]) and math.isfinite(p["valueAfter"]) and -1 <= p["cos"] <= 1 for p in points[:-1])
        assert points[-1]["value"] is None and points[-1]["updates"] == len(metas)
        assert [p["step"] for p in curves["probe"]] == [11, 23]
        assert len(curves["probe"][0]["predicted"]) == 5 and math.isfinite(diag["probe_r"])


def test_dot_value_variants(tmp_path: Path) -> None:
    """Cosine value, forward differences, several designer steps: the run completes with finite values."""
    for i, kw in enumerate([{"value": "cosine", "designer_steps": 2}, {"directional": "differences", "fd_scheme": "forward", "fd_epsilon": 1e-2}]):
        res = run_arm(tmp_path / str(i), "v-pretraining", **kw)
        points = res["curves"]["designer"][:-1]
        assert all(p["value"] is not None and p["cos"] is not None for p in points)
        if kw.get("value") == "cosine":
            assert all(p["valueAfter"] is None and -1 <= p["value"] <= 1 for p in points)
            assert res["diagnostics"]["designer_updates"] == 2 * res["diagnostics"]["meta_steps"]


def test_feedback_kinds_differ(results: Dict[str, Dict[str, Any]]) -> None:
    """The same cell with true, random and shuffled feedback: the designer's values differ."""
    runs = {arm: results[arm] for arm in ("v-pretraining", "random-feedback", "shuffled-feedback")}
    values = {arm: [p["value"] for p in r["curves"]["designer"][:-1]] for arm, r in runs.items()}
    assert values["v-pretraining"] != values["random-feedback"] != values["shuffled-feedback"]
    # The first meta step (step 2) sees the same learner in every run: only g_down differs there.
    assert runs["v-pretraining"]["curve"][0] == runs["random-feedback"]["curve"][0]
