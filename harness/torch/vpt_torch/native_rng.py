"""A C loop for Rng.normals: the random-feedback direction has as many values as S has parameters (millions
at the paper's scale), which a Python loop draws at about a microsecond each.

The C source is the TypeScript's arithmetic in the same order (sfc32 in uint32, Box-Muller in double, rounded to
float32 on store), compiled without FMA contraction or fast-math so every double operation rounds as JavaScript
rounds it. It is built once with the system C compiler into a cache folder and checked against the Python loop
before use; without a compiler (or if the check fails) Rng falls back to the Python loop.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

import numpy as np

_SOURCE = r"""
#include <stdint.h>
#include <math.h>

static uint32_t sfc32(uint32_t *s) {
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  uint32_t t = a + b + d;
  s[3] = d + 1u;
  s[0] = b ^ (b >> 9);
  s[1] = c + (c << 3);
  c = (c << 21) | (c >> 11);
  s[2] = c + t;
  return t;
}

void vpt_normals(uint32_t *s, float *out, long n, double std) {
  const double two_pi = 2.0 * 3.141592653589793;
  for (long i = 0; i < n; i++) {
    double u = 1.0 - (double)sfc32(s) / 4294967296.0;
    double v = (double)sfc32(s) / 4294967296.0;
    double z = sqrt(-2.0 * log(u)) * cos(two_pi * v);
    out[i] = (float)(z * std);
  }
}
"""


class NativeNormals:
    """The compiled loop: fills float32 normals and advances the caller's sfc32 state in place."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._fn = lib.vpt_normals
        self._fn.restype = None
        self._fn.argtypes = [ctypes.POINTER(ctypes.c_uint32), ctypes.c_void_p, ctypes.c_long, ctypes.c_double]

    def normals(self, state: List[int], n: int, std: float) -> np.ndarray:
        s = (ctypes.c_uint32 * 4)(*state)
        out = np.empty(n, dtype=np.float32)
        self._fn(s, out.ctypes.data, n, std)
        state[:] = [int(x) for x in s]
        return out


def _cache_dir() -> Path:
    root = os.environ.get("VPT_TORCH_CACHE") or os.path.join(tempfile.gettempdir(), f"vpt_torch-{os.getuid()}")
    return Path(root)


def _build(target: Path) -> bool:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    src = target.with_suffix(".c")
    src.write_text(_SOURCE)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.so")
    cmd = [cc, "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math", str(src), "-o", str(tmp), "-lm"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    os.replace(tmp, target)  # atomic: a concurrent engine sees the old file or the whole new one
    return True


def _agrees(native: NativeNormals) -> bool:
    """The compiled loop draws what the Python loop draws (a few seeds, bit for bit)."""
    from .rng import Rng

    for seed in (0, 1, 12345):
        a = Rng(seed)
        b = Rng(seed, native)
        if not np.array_equal(a.normals(257, 1.0), b.normals(257, 1.0)) or a.next_uint32() != b.next_uint32():
            return False
    return True


@functools.lru_cache(maxsize=1)
def load_native_normals() -> Optional[NativeNormals]:
    """The compiled loop, built on first use; None where it cannot be had (then the Python loop runs)."""
    result: Optional[NativeNormals] = None
    if os.environ.get("VPT_TORCH_NATIVE_RNG", "1") != "0":
        digest = hashlib.sha256(_SOURCE.encode()).hexdigest()[:16]
        target = _cache_dir() / f"vpt_rng_{digest}.so"
        try:
            if target.exists() or _build(target):
                candidate = NativeNormals(ctypes.CDLL(str(target)))
                result = candidate if _agrees(candidate) else None
        except OSError:
            result = None
    return result
