"""Where and how the engine computes: the device, bf16 autocast, which code paths exist in this torch (forward-mode
AD, fused attention), host-to-device uploads that never wait for the device, and a step clock that reads the
device's time only when asked (CUDA events), so no step synchronises with the host.
"""
from __future__ import annotations

import contextlib
import importlib
import resource
import time
from dataclasses import dataclass, field
from typing import Any, ContextManager, Dict, List, Optional, Union

import numpy as np
import torch

from . import ENGINE_NAME, ENGINE_VERSION, safetensors_io
from .distributed import Dist, init
from .gpt import has_sdpa
from .inputs import InputError
from .native_rng import load_native_normals


def jvp_path() -> str:
    """Which forward-mode AD this torch has: torch.func (≥ 2.0), torch.autograd.forward_ad (1.11+), or none."""
    try:
        if hasattr(importlib.import_module("torch.func"), "jvp"):
            return "torch.func"
    except ImportError:
        pass
    try:
        import torch.autograd.forward_ad as fwad

        if hasattr(fwad, "make_dual"):
            return "forward_ad"
    except ImportError:
        pass
    return "finite-differences"


@dataclass
class Runtime:
    device: torch.device
    dtype: str
    threads: int
    sdpa: bool
    jvp: str  # forward-mode AD here: torch.func, forward_ad or finite-differences (none)
    directional: str  # how D is computed: exact or differences
    dist: Dist = field(default_factory=Dist)  # the data-parallel group (one process: world 1)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self) -> ContextManager[Any]:
        """bf16 autocast for the learner's matmuls (parameters and optimiser state stay float32); none in float32."""
        if self.dtype == "bfloat16" and self.cuda:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def float32(self) -> ContextManager[Any]:
        """Autocast off: the designer and the directional term run in float32 (as in the paper and the tfjs engine)."""
        if self.dtype == "bfloat16" and self.cuda:
            return torch.autocast(device_type="cuda", enabled=False)
        return contextlib.nullcontext()

    def upload(self, a: np.ndarray, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """A host array on the device. On CUDA through pinned memory, non-blocking: a copy from pageable memory
        would wait for the device's queue, a host sync in the middle of a step."""
        t = torch.from_numpy(np.ascontiguousarray(a))
        if dtype is not None:
            t = t.to(dtype)
        if not self.cuda:
            return t
        return t.pin_memory().to(self.device, non_blocking=True)

    def synchronize(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def engine_info(self) -> Dict[str, Any]:
        """The engine as the hello line describes it; `paths` names the code path each part runs on (strings)."""
        info: Dict[str, Any] = {
            "name": ENGINE_NAME, "version": ENGINE_VERSION, "torch": torch.__version__,
            "device": self.device.type, "dtype": self.dtype, "threads": torch.get_num_threads(),
            "paths": {
                "directional": self.jvp if self.directional == "exact" else "finite-differences",
                "attention": "sdpa" if self.sdpa else "manual",
                "models": "built-in",
                "safetensors": "library" if safetensors_io.library_available() else "built-in",
                "autocast": "bfloat16" if self.dtype == "bfloat16" and self.cuda else "none",
                "tf32": "on" if self.cuda and torch.backends.cuda.matmul.allow_tf32 else "off",
                "rng": "c" if load_native_normals() is not None else "python",
                "parallel": "all-reduce" if self.dist.active else "none",
            },
        }
        if self.dist.active:
            info["world"] = self.dist.world
        if self.cuda:
            info["deviceName"] = torch.cuda.get_device_name(self.device)
        return info


class DeviceError(InputError):
    """A device or code path that was asked for and cannot be had."""


def make_runtime(device: str, dtype: str, threads: int, directional: str, distributed: bool = False) -> Runtime:
    """`distributed`: join the process group torch.distributed.run made (when it made one)."""
    torch.set_num_threads(max(1, threads))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("inputs.json asks for device 'cuda' and torch sees no CUDA device")
    dist = init(device == "cuda") if distributed else Dist()
    dev = torch.device(f"cuda:{dist.local_rank}" if device == "cuda" else "cpu")
    if dtype == "auto":  # bf16 autocast where the GPU has it; float32 elsewhere (no autocast on the CPU)
        dtype = "bfloat16" if dev.type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if dtype == "bfloat16" and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"inputs.json: 'dtype' bfloat16: {torch.cuda.get_device_name(dev)} has no bf16 (ask for float32 or auto)")
    if dev.type == "cuda":
        # TF32 only for bf16 runs: a float32 run is the agreement test, where TF32's 10-bit mantissa would show.
        torch.backends.cuda.matmul.allow_tf32 = dtype == "bfloat16"
        torch.backends.cudnn.allow_tf32 = dtype == "bfloat16"
        # The allocator's statistics exist once CUDA is initialised: torch 2.11 refuses the reset before that
        # ("Invalid device argument"), which a float32 run (no bf16 query above) would otherwise hit first.
        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats(dev)
    path = jvp_path()
    if directional == "exact" and path == "finite-differences":
        raise DeviceError(f"directional 'exact' needs forward-mode AD, which torch {torch.__version__} lacks; ask for 'differences'")
    if directional == "auto":  # exact where forward-mode AD exists
        directional = "differences" if path == "finite-differences" else "exact"
    return Runtime(device=dev, dtype=dtype, threads=threads, sdpa=has_sdpa(), jvp=path, directional=directional, dist=dist)


Stamp = Union[float, "torch.cuda.Event"]


class Clock:
    """Stamps on the host clock (CPU: ops run as called) or CUDA events (the device's own time, read later)."""

    def __init__(self, rt: Runtime) -> None:
        self.cuda = rt.cuda

    def stamp(self) -> Stamp:
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    @staticmethod
    def ms(a: Stamp, b: Stamp) -> float:
        """Milliseconds from a to b (on CUDA this waits for b: call it where the host reads anyway)."""
        if isinstance(a, float) and isinstance(b, float):
            return (b - a) * 1000.0
        assert not isinstance(a, float) and not isinstance(b, float)
        b.synchronize()
        return float(a.elapsed_time(b))


def peak_memory(rt: Runtime) -> Dict[str, int]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = int(torch.cuda.max_memory_allocated(rt.device)) if rt.cuda else rss
    return {"peakBytes": peak, "rssPeakBytes": rss}


def to_host(ts: List[torch.Tensor]) -> List[float]:
    """Several device scalars read with one transfer (a host sync: call at log points only)."""
    if not ts:
        return []
    return [float(x) for x in torch.cat([t.detach().reshape(-1).float() for t in ts]).cpu().tolist()]
