"""`python -m vpt_torch run|calibrate <inputs-dir>` and `python -m vpt_torch probe` (docs/TRAINER-PROTOCOL.md)."""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import ENGINE_NAME, ENGINE_VERSION, PROTOCOL
from .hygiene import die_with_parent, exit_on_signals
from .inputs import InputError
from .protocol import Emitter, finite


def probe_info(device: str, dtype: str, threads: int, directional: str) -> Dict[str, Any]:
    """What this interpreter offers (torch, its CUDA devices, which optional libraries import) and the engine as a
    cell's hello line would describe it on the device, dtype and threads asked for."""
    import torch

    from .runtime import make_runtime

    cuda = bool(torch.cuda.is_available())
    try:
        engine: Dict[str, Any] = make_runtime(device, dtype, threads, directional).engine_info()
    except InputError as e:  # e.g. cuda asked for and absent: the harness reads `cuda` and says so itself
        engine = {"name": ENGINE_NAME, "version": ENGINE_VERSION, "torch": torch.__version__, "unavailable": str(e)}
    # No key `python`: the harness records the interpreter's path under that name.
    return {
        "type": "probe", "protocol": PROTOCOL, "torch": torch.__version__, "pythonVersion": sys.version.split()[0],
        "cuda": cuda, "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "libraries": {name: importlib.util.find_spec(name) is not None for name in ("transformers", "peft", "safetensors")},
        "engine": engine,
    }


def relaunch(folder: Path, mode: str, nproc: int) -> int:
    """The same command as nproc data-parallel processes (distributed.launch; inputs already checked here, so bad
    inputs are still exit 2 and one line); the first failing process's exit status, else 0. They die with this one."""
    import os
    import signal

    from .distributed import launch
    from .hygiene import set_parent_death_signal

    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    return launch(["-m", "vpt_torch", mode, str(folder)], nproc, env, lambda: set_parent_death_signal(signal.SIGTERM))


def run(folder: Path, mode: str, emitter: Emitter) -> int:
    from .cell import calibrate_cell, run_cell
    from .distributed import shutdown, under_launcher
    from .inputs import parse
    from .learner_model import load_learner
    from .runtime import make_runtime

    from .vision.main import is_vision, run_vision

    if is_vision(folder):
        return run_vision(folder, mode, emitter)
    cell = parse(folder, mode)
    nproc = cell.launch.nproc
    if nproc > 1 and not under_launcher():
        return relaunch(folder, mode, nproc)
    rt = make_runtime(cell.device, cell.dtype, cell.threads, cell.directional, distributed=nproc > 1)
    try:
        if rt.dist.world != nproc:
            raise InputError(f"inputs.json: 'launch.nproc' is {nproc}, and torch.distributed.run started {rt.dist.world} processes")
        out = emitter if rt.dist.main else Emitter(None)
        model = load_learner(rt, cell)
        cell.subset = model.subset
        engine = rt.engine_info()
        engine["paths"].update(model.info.get("paths", {}))
        if rt.dist.active:  # AdamW's moments: whole on every process, or sharded over them (ZeRO stage 1)
            engine["paths"]["optimizer"] = "zero-1" if cell.launch.shard_optimizer else "replicated"
        engine.update({k: v for k, v in model.info.items() if k != "paths"}, **model.counts())
        out.emit({"type": "hello", "protocol": PROTOCOL, "cell": cell.cell, "mode": mode, "engine": engine})
        if mode == "calibrate":
            out.emit(calibrate_cell(rt, cell, model))
        elif mode == "bench":
            from .bench import bench_cell

            out.emit(bench_cell(rt, cell, model))
        else:
            out.emit(run_cell(rt, cell, out.emit, model))
    finally:
        shutdown(rt.dist)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vpt_torch", description="vpt's PyTorch training engine (trainer protocol 1)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("run", "train and evaluate one cell"), ("calibrate", "per-step cost at the arm's cadence"),
                       ("bench", "time learner and meta steps of the arm (docs/TRAINER-PROTOCOL.md, Benchmarks)")):
        p = sub.add_parser(name, help=what)
        p.add_argument("inputs", type=Path, help="folder with inputs.json and inputs.safetensors")
    pr = sub.add_parser("probe", help="one JSON line (no prefix): protocol, torch, devices, optional libraries, the engine")
    pr.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    pr.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), default="auto")
    pr.add_argument("--threads", type=int, default=1)
    pr.add_argument("--directional", choices=("auto", "exact", "differences"), default="auto")
    args = parser.parse_args(argv)
    emitter = Emitter(sys.stdout)
    die_with_parent()
    exit_on_signals()
    try:
        if args.command == "probe":
            print(json.dumps(finite(probe_info(args.device, args.dtype, args.threads, args.directional))), flush=True)
        else:
            return run(args.inputs, args.command, emitter)
    except InputError as e:
        emitter.emit({"type": "error", "message": str(e)})
        return 2
    except Exception as e:  # noqa: BLE001 - every failure becomes the protocol's error line
        traceback.print_exc(file=sys.stderr)
        emitter.emit({"type": "error", "message": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
