"""The Hugging Face learners on CUDA, where a GPU is present (skipped elsewhere): no learner step waits for the host
(torch's sync debug mode turns a synchronising call into an error) for full-parameter (a tied head) and LoRA (bf16
frozen weights, float32 adapters) learners, baseline and v-pretraining, with accumulated microbatches; float32 on
the GPU agrees with the CPU; a bench on CUDA times steps with events and reports bf16 frozen weights."""
import json
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import torch

from hf_tiny import write_hf_cell
from tiny import CellSpec, result_of, run_engine
from vpt_torch.batches import step_batches
from vpt_torch.cell import learner_of, make_rule
from vpt_torch.inputs import parse
from vpt_torch.learner_model import load_learner
from vpt_torch.runtime import make_runtime

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")

LORA = {"r": 4, "alpha": 8, "dropout": 0.05, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}


def folder_of(tmp_path: Path, rule: str, lora: Optional[Dict[str, Any]], device: str = "cuda", **kw: Any) -> Path:
    spec = CellSpec(rule=rule, arm="v-pretraining" if rule == "designer" else "baseline", burn_in=1, meta_every=1, extra={"device": device}, **kw)
    return write_hf_cell(tmp_path, spec, "qwen2", lora, blocks=2, model_over={"implementation": "built-in"})


@pytest.mark.parametrize("rule", ["onehot", "designer"])
@pytest.mark.parametrize("lora", [None, LORA], ids=["full", "lora"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_hf_learner_steps_never_wait_for_the_host(tmp_path: Path, rule: str, lora: Optional[Dict[str, Any]], dtype: str) -> None:
    c = parse(folder_of(tmp_path, rule, lora))
    rt = make_runtime("cuda", dtype, 1, "exact")
    m = load_learner(rt, c)
    c.subset = m.subset
    r = make_rule(rt, m.lm, m.params, c, c.train.steps)
    learner = learner_of(rt, c, m)
    learner.step_batches(step_batches(rt, c.train_rows, c.batches, 0, 1), r, 0)  # lazy initialisation may sync once
    torch.cuda.synchronize()
    micro = [step_batches(rt, c.train_rows, c.batches.reshape(-1, 4), s, 2) for s in range(1, 4)]  # two microbatches of 4
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for s, mb in enumerate(micro, start=1):
            learner.step_batches(mb, r, s)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    r.sync()


def test_float32_on_the_gpu_agrees_with_the_cpu(tmp_path: Path) -> None:
    losses = {}
    for device in ("cpu", "cuda"):
        rc, lines, err = run_engine(["run", str(folder_of(tmp_path / device, "designer", None, device, log_every=1))])
        assert rc == 0, err
        res = result_of(lines)
        assert res is not None
        losses[device] = [p["loss"] for p in res["curve"]]
    assert losses["cpu"] == pytest.approx(losses["cuda"], rel=1e-5)


def test_a_lora_bench_on_cuda(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, "designer", LORA, dtype="bfloat16")
    doc = json.loads((folder / "inputs.json").read_text())
    doc["bench"] = {"steps": 4, "warmup": 2}
    (folder / "inputs.json").write_text(json.dumps(doc))
    rc, lines, err = run_engine(["bench", str(folder)])
    assert rc == 0, err
    hello, out = lines[0]["engine"], lines[1]
    assert hello["paths"]["weights"] == "bfloat16" and hello["paths"]["autocast"] == "bfloat16"
    assert len(out["learnerMs"]) == len(out["metaMs"]) == 4 and out["peakBytes"] > 0 and out["flopsPerStep"] > 0
