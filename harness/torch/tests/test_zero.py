"""AdamW's moments sharded over the processes (`launch.shardOptimizer`, ZeRO stage 1 through torch's
ZeroRedundancyOptimizer): each of 2 gloo processes holds only its share of the moments, and the parameters after
three updates are the ones one process computes (same AdamW arithmetic on each tensor: equal to float32 rounding);
a v-pretraining cell run as 2 processes with the moments sharded gives what 1 process gives (the tolerances of
test_ddp.py); and a request the engine cannot honour is one line."""
import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

from ddp_cell import close, needs_gloo, run
from hf_tiny import write_hf_cell
from tiny import PYTHON, CellSpec, run_engine

pytestmark = needs_gloo
WORKER = Path(__file__).resolve().parent / "zero_worker.py"


def updates(tmp_path: Path, world: int) -> Dict[int, Dict[str, np.ndarray]]:
    store = tmp_path / f"store-{world}"
    procs = [subprocess.Popen([PYTHON, str(WORKER), str(r), str(world), str(store), str(tmp_path / f"out-{world}-{r}.npz")],
                              stderr=subprocess.PIPE, text=True) for r in range(world)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    return {r: dict(np.load(tmp_path / f"out-{world}-{r}.npz")) for r in range(world)}


def test_each_process_holds_a_share_of_the_moments_and_updates_as_one_process_does(tmp_path: Path) -> None:
    whole = updates(tmp_path, 1)[0]
    shards = updates(tmp_path, 2)
    held = [int(shards[r].pop("moments")) for r in (0, 1)]
    total = int(whole.pop("moments"))
    assert total == 2 * sum(int(np.prod(v.shape)) for v in whole.values())  # m and v of every parameter
    assert sum(held) == total and all(0 < h < total for h in held), (held, total)
    for r in (0, 1):
        for n, v in whole.items():
            assert np.allclose(shards[r][n], v, rtol=1e-6, atol=1e-7), n


def test_a_sharded_cell_gives_what_one_process_gives(tmp_path: Path) -> None:
    one, two = run(tmp_path, 1), run(tmp_path, 2, shardOptimizer=True)  # run() checks the hello line says zero-1
    assert [p["step"] for p in one["curve"]] == [p["step"] for p in two["curve"]] and len(one["curves"]["designer"]) == len(two["curves"]["designer"]) == 5
    for key in ("loss", "gradNorm", "lr"):
        assert all(close(a[key], b[key]) for a, b in zip(one["curve"], two["curve"])), key
    for key in ("value", "valueAfter", "cos"):
        assert all(close(a[key], b[key]) for a, b in zip(one["curves"]["designer"], two["curves"]["designer"])), key
    assert all(close(a, b) for a, b in zip(one["testNll"]["perItem"], two["testNll"]["perItem"]))


def errors_with_launch(tmp_path: Path, launch: Dict[str, Any]) -> Tuple[int, List[Dict[str, Any]]]:
    """The exit status and error lines of a tiny cell run with inputs.json's `launch` replaced."""
    folder = write_hf_cell(tmp_path / "c", CellSpec(steps=2), "qwen2")
    doc = json.loads((folder / "inputs.json").read_text())
    doc["launch"] = launch
    (folder / "inputs.json").write_text(json.dumps(doc))
    rc, lines, _ = run_engine(["run", str(folder)])
    return rc, [x for x in lines if x["type"] == "error"]


def test_sharding_on_one_process_is_refused_in_one_line(tmp_path: Path) -> None:
    rc, errors = errors_with_launch(tmp_path, {"nproc": 1, "shardOptimizer": True})
    assert rc != 0
    assert len(errors) == 1 and "'launch.shardOptimizer'" in errors[0]["message"] and "nproc is 1" in errors[0]["message"]


@pytest.mark.parametrize("value", ["yes", 1])
def test_a_shard_flag_that_is_not_a_boolean_names_the_key(tmp_path: Path, value: object) -> None:
    rc, errors = errors_with_launch(tmp_path, {"nproc": 2, "shardOptimizer": value})
    assert rc != 0 and any("launch.shardOptimizer" in x.get("message", "") for x in errors)
