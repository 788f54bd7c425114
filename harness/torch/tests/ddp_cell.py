"""A data-parallel v-pretraining cell for the tests of several processes (test_ddp.py, test_zero.py): a tied Qwen2
learner, full-parameter, two accumulated microbatches per step, the probe on, run as `nproc` processes."""
import json
import math
from pathlib import Path
from typing import Any, Dict

import pytest
import torch.distributed as dist

from hf_tiny import write_hf_cell
from tiny import CellSpec, result_of, run_engine

REL = 2e-5

# for the test files: skip where this torch has no gloo
needs_gloo = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed with gloo is not built into this torch")


def close(a: Any, b: Any, abs_tol: float = 1e-7) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL, abs_tol=abs_tol)


def run(tmp_path: Path, nproc: int, **launch: Any) -> Dict[str, Any]:
    """The cell's result; `launch` adds keys to inputs.json's launch (e.g. shardOptimizer=True)."""
    spec = CellSpec(rule="designer", arm="v-pretraining", steps=10, log_every=3, batch=4, probe_steps=[9])
    folder = write_hf_cell(tmp_path / "-".join([str(nproc), *launch]), spec, "qwen2", blocks=2)
    doc = json.loads((folder / "inputs.json").read_text())
    # two microbatches of 4 rows per step: the 20 batches of 4 tiny.py drew make 10 steps
    doc["train"].update(accum=2, steps=10)
    doc["launch"] = {"nproc": nproc, **launch}
    (folder / "inputs.json").write_text(json.dumps(doc))
    _extend_batches(folder)
    rc, lines, err = run_engine(["run", str(folder)], timeout=300)
    assert rc == 0, err
    assert [x["type"] for x in lines].count("hello") == 1 and lines[-1]["type"] == "result"  # rank 0 alone prints
    if nproc > 1:
        engine = lines[0]["engine"]
        assert engine["paths"]["parallel"] == "all-reduce" and engine["world"] == nproc
        assert engine["paths"]["optimizer"] == ("zero-1" if launch.get("shardOptimizer") else "replicated")
    res = result_of(lines)
    assert res is not None
    return res


def _extend_batches(folder: Path) -> None:
    """tiny.py writes one batch per step; with accum 2 each step needs two."""
    import numpy as np

    from vpt_torch import safetensors_io

    arrays = safetensors_io.read(folder / "inputs.safetensors").arrays
    b = arrays["batches"]
    g = np.random.default_rng(7)
    arrays["batches"] = np.concatenate([b, np.stack([g.permutation(64)[: b.shape[1]] for _ in range(b.shape[0])]).astype(np.int32)])
    safetensors_io.write(folder / "inputs.safetensors", arrays, use_library=False)
