"""`python -m vpt_torch run|calibrate <inputs-dir>` and `python -m vpt_torch probe` (docs/TRAINER-PROTOCOL.md)."""
from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import ENGINE_NAME, ENGINE_VERSION, PROTOCOL
from .hygiene import die_with_parent, exit_on_signals
from .inputs import InputError
from .protocol import Emitter


def probe_info() -> Dict[str, Any]:
    """What this interpreter offers: torch and its devices, and which optional libraries import."""
    import torch

    from .runtime import jvp_path
    from .gpt import has_sdpa

    cuda = bool(torch.cuda.is_available())
    return {
        "type": "probe", "protocol": PROTOCOL, "engine": {"name": ENGINE_NAME, "version": ENGINE_VERSION},
        "python": sys.version.split()[0], "executable": sys.executable, "torch": torch.__version__,
        "cuda": {"available": cuda, "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []},
        "jvp": jvp_path(), "sdpa": has_sdpa(),
        "libraries": {name: importlib.util.find_spec(name) is not None for name in ("transformers", "peft", "safetensors")},
    }


def run(folder: Path, mode: str, emitter: Emitter) -> None:
    from .cell import calibrate_cell, run_cell
    from .inputs import parse
    from .runtime import make_runtime

    cell = parse(folder, mode)
    rt = make_runtime(cell.device, cell.dtype, cell.threads, cell.directional)
    emitter.emit({"type": "hello", "protocol": PROTOCOL, "cell": cell.cell, "mode": mode, "engine": rt.engine_info(cell.directional)})
    if mode == "calibrate":
        emitter.emit(calibrate_cell(rt, cell))
    else:
        emitter.emit(run_cell(rt, cell, emitter.emit))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vpt_torch", description="vpt's PyTorch training engine (trainer protocol 1)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("run", "train and evaluate one cell"), ("calibrate", "per-step cost at the arm's cadence")):
        p = sub.add_parser(name, help=what)
        p.add_argument("inputs", type=Path, help="folder with inputs.json and inputs.safetensors")
    sub.add_parser("probe", help="one JSON line: protocol, torch, devices, optional libraries")
    args = parser.parse_args(argv)
    emitter = Emitter(sys.stdout)
    die_with_parent()
    exit_on_signals()
    try:
        if args.command == "probe":
            emitter.emit(probe_info())
        else:
            run(args.inputs, args.command, emitter)
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
