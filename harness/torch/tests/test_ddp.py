"""Data parallelism: the same v-pretraining cell (a tied Qwen2 learner, full-parameter, two accumulated microbatches
per step, the probe on) run as 2 CPU processes (gloo) and as 1, on the same global batches. The losses, the
designer's V before and after, cos, α per step, the tracked and test NLLs and the probe's predictions agree to
float32 rounding of sums taken in another order (relative 2e-5; measured: about 1e-6; the probe's realised
decreases, differences of two losses, to an absolute 2e-6), and the greedy decodings are equal."""
import json
from pathlib import Path
from typing import Dict, List

from ddp_cell import close, needs_gloo, run
from hf_tiny import write_hf_cell
from tiny import CellSpec

pytestmark = needs_gloo


def test_two_processes_give_what_one_gives(tmp_path: Path) -> None:
    one, two = run(tmp_path, 1), run(tmp_path, 2)
    assert [p["step"] for p in one["curve"]] == [p["step"] for p in two["curve"]]
    for key in ("loss", "gradNorm", "lr"):
        assert all(close(a[key], b[key]) for a, b in zip(one["curve"], two["curve"])), key
    d1, d2 = one["curves"]["designer"], two["curves"]["designer"]
    assert len(d1) == len(d2) == 5  # meta steps 2, 4, 6, 8 and the closing window
    for key in ("value", "valueAfter", "cos", "gate", "gateWrong", "gateOther"):
        assert all(close(a[key], b[key]) for a, b in zip(d1, d2)), (key, [a[key] for a in d1], [b[key] for b in d2])
    a1: List[Dict[str, float]] = one["curves"]["alpha"]
    assert [a["step"] for a in a1] == list(range(10)) and all(close(a["alpha"], b["alpha"]) for a, b in zip(a1, two["curves"]["alpha"]))
    assert all(close(a["nll"], b["nll"]) for a, b in zip(one["downstream"], two["downstream"]))
    assert all(close(a, b) for a, b in zip(one["testNll"]["perItem"], two["testNll"]["perItem"]))
    assert close(one["testNll"]["sum"], two["testNll"]["sum"]) and one["testNll"]["count"] == two["testNll"]["count"]
    assert one["generations"] == two["generations"]
    p1, p2 = one["curves"]["probe"][0], two["curves"]["probe"][0]
    assert all(close(a, b) for a, b in zip(p1["predicted"], p2["predicted"]))
    # realised decreases are differences of two losses of about 1.5: float32 leaves them an absolute 2e-6
    assert all(close(a, b, abs_tol=2e-6) for a, b in zip(p1["realised"], p2["realised"]))
    for key in ("value_mean", "gate_mean", "probe_r", "meta_steps", "designer_updates"):
        assert close(one["diagnostics"][key], two["diagnostics"][key]), key


def test_a_failing_process_fails_the_run(tmp_path: Path) -> None:
    """Every rank raises at step 2 (VPT_TORCH_FAIL): the run exits 1 with rank 0's error line, and no process is left."""
    import os
    import subprocess

    from tiny import ENGINE_ENV, PYTHON, ROOT

    folder = write_hf_cell(tmp_path / "c", CellSpec(steps=6, log_every=1), "qwen2")
    doc = json.loads((folder / "inputs.json").read_text())
    doc["launch"] = {"nproc": 2}
    (folder / "inputs.json").write_text(json.dumps(doc))
    proc = subprocess.run([PYTHON, "-m", "vpt_torch", "run", str(folder)], cwd=str(ROOT), env={**ENGINE_ENV, "VPT_TORCH_FAIL": "tiny@2"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    errors = [json.loads(x[6:]) for x in proc.stdout.splitlines() if x.startswith("@@vpt ") and '"error"' in x]
    assert errors and "injected failure at step 2" in errors[0]["message"]
    assert "RuntimeError" in proc.stderr
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _runs(p, str(folder))]


def _runs(pid: str, folder: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return folder.encode() in f.read()
    except OSError:
        return False
