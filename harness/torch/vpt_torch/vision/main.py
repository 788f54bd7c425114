"""`python -m vpt_torch run|calibrate <dir>` for a vision cell (inputs.json `task: "vision"`)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

from .. import PROTOCOL
from ..errors import InputError
from ..protocol import Emitter


def is_vision(folder: Path) -> bool:
    """Whether the inputs in `folder` are a vision cell's (a missing or malformed file is left to the parser)."""
    try:
        return json.loads((folder / "inputs.json").read_text(encoding="utf-8")).get("task") == "vision"
    except (OSError, ValueError, AttributeError):
        return False


def run_vision(folder: Path, mode: str, emitter: Emitter, nproc: Optional[int] = None) -> int:
    from ..runtime import make_runtime
    from .cell import directional_path, run
    from .inputs import load_model_arrays, parse

    if mode not in ("run", "calibrate", "bench"):
        raise InputError(f"vision cells run in modes run, calibrate and bench, not {mode!r}")
    cell = parse(folder, mode)
    rt = make_runtime(cell.device, cell.dtype, cell.threads, cell.directional)
    engine = rt.engine_info()
    engine["paths"]["directional"] = directional_path(rt)
    if cell.hf is not None:
        from .hf_backbone import paths

        engine["paths"].update(paths(cell.hf, cell.implementation))
    arrays = load_model_arrays(cell)
    n = sum(int(math.prod(a.shape)) for k, a in arrays.items() if k.startswith("student."))
    arch = cell.hf.architecture if cell.hf is not None else "vpt-dino-vit"
    engine.update({"subset": cell.subset, "params": n, "trainableParams": n, "architecture": arch, "task": "vision"})
    emitter.emit({"type": "hello", "protocol": PROTOCOL, "cell": cell.cell, "mode": mode, "engine": engine})
    emitter.emit(run(rt, cell, mode, emitter.emit, arrays))
    return 0
