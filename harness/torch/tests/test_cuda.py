"""The CUDA path, where a GPU is present (skipped elsewhere): no learner step of any rule synchronises with the
host (torch's sync debug mode turns any synchronising call into an error), float32 on the GPU agrees with the
CPU (TF32 off), and a bf16 run completes with autocast on."""
from pathlib import Path
from typing import Dict

import pytest
import torch

from tiny import CellSpec, result_of, run_engine, write_cell
from vpt_torch.batches import to_batch
from vpt_torch.cell import make_rule
from vpt_torch.checkpoint import load_params
from vpt_torch.gpt import Gpt
from vpt_torch.inputs import CellInputs, parse
from vpt_torch.runtime import make_runtime
from vpt_torch.trainer import Learner

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")

RULES: Dict[str, str] = {"baseline": "onehot", "uniform-topk": "uniform-topk", "self-distill": "self-distill", "oracle-gate": "oracle-gate",
                         "schedule-matched": "schedule", "v-pretraining": "designer", "random-feedback": "designer"}


def cell(tmp_path: Path, arm: str, **kw) -> CellInputs:  # type: ignore[no-untyped-def]
    spec = CellSpec(rule=RULES[arm], arm=arm, feedback="random" if arm == "random-feedback" else "true", burn_in=1, meta_every=1,
                    alpha_schedule=[0.2] * 24, **kw)
    return parse(write_cell(tmp_path / arm, spec))


@pytest.mark.parametrize("arm", list(RULES))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_learner_steps_never_wait_for_the_host(tmp_path: Path, arm: str, dtype: str) -> None:
    c = cell(tmp_path, arm)
    rt = make_runtime("cuda", dtype, 1, "exact")
    gpt = Gpt(c.model.gpt, sdpa=rt.sdpa)
    params = load_params(c.model.dir, c.model.gpt, rt.device)
    rule = make_rule(rt, gpt, params, c, c.train.steps)
    learner = Learner(rt, gpt, params, c.train.optim)
    learner.step(to_batch(rt, c.train_rows.select(c.batches[0])), rule, 0)  # lazy initialisation may sync once
    torch.cuda.synchronize()
    batches = [to_batch(rt, c.train_rows.select(c.batches[s])) for s in range(1, 4)]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for s, b in enumerate(batches, start=1):
            learner.step(b, rule, s)  # steps 1..3 are meta steps for the designer arms
    finally:
        torch.cuda.set_sync_debug_mode("default")
    rule.sync()


def test_float32_on_the_gpu_agrees_with_the_cpu(tmp_path: Path) -> None:
    losses = {}
    for device in ("cpu", "cuda"):
        folder = write_cell(tmp_path / device, CellSpec(rule="designer", arm="v-pretraining", log_every=1, extra={"device": device}))
        rc, lines, err = run_engine(["run", str(folder)])
        assert rc == 0, err
        res = result_of(lines)
        assert res is not None
        losses[device] = [p["loss"] for p in res["curve"]]
    assert losses["cpu"] == pytest.approx(losses["cuda"], rel=1e-5)


def test_bf16_run_completes(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec(rule="designer", arm="v-pretraining", dtype="bfloat16", probe_steps=[11, 23], extra={"device": "cuda"}))
    rc, lines, err = run_engine(["run", str(folder)])
    assert rc == 0, err
    hello = lines[0]["engine"]
    assert hello["device"] == "cuda" and hello["paths"]["autocast"] == "bfloat16" and hello["paths"]["tf32"] == "on"
    res = result_of(lines)
    assert res is not None and res["curve"][-1]["loss"] < res["curve"][0]["loss"] and res["memory"]["peakBytes"] > 0
