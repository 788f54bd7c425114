"""The harness's seeded RNG (harness/engine/rng.ts), ported exactly: sfc32 seeded through splitmix32.

Only the random-feedback direction is drawn here (the harness makes every draw that is data), but the whole
class is ported so that tests can check it number for number against TypeScript. `normals` of large sizes
runs on a small C loop (./native_rng.py) when a C compiler is at hand: the same arithmetic, in the same order.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, TypeVar

import numpy as np

from .native_rng import NativeNormals, load_native_normals

T = TypeVar("T")

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """Math.imul followed by >>> 0: the low 32 bits of the product, unsigned."""
    return (a * b) & _M32


class Rng:
    """sfc32 through splitmix32; every method draws the same numbers as its TypeScript namesake."""

    def __init__(self, seed: int, native: Optional[NativeNormals] = None) -> None:
        self.seed = seed & _M32
        s = self.seed

        def nxt() -> int:
            nonlocal s
            s = (s + 0x9E3779B9) & _M32
            z = s
            z = _imul(z ^ (z >> 16), 0x85EBCA6B)
            z = _imul(z ^ (z >> 13), 0xC2B2AE35)
            return (z ^ (z >> 16)) & _M32

        self._a = nxt()
        self._b = nxt()
        self._c = nxt()
        self._d = nxt()
        for _ in range(12):
            self.next_uint32()
        self._native = native

    def next_uint32(self) -> int:
        a, b, c, d = self._a, self._b, self._c, self._d
        t = (((a + b) & _M32) + d) & _M32
        self._d = (d + 1) & _M32
        self._a = b ^ (b >> 9)
        self._b = (c + (c << 3)) & _M32
        c = ((c << 21) | (c >> 11)) & _M32
        self._c = (c + t) & _M32
        return t

    def next(self) -> float:
        """Uniform in [0, 1)."""
        return self.next_uint32() / 4294967296.0

    def integer(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi] inclusive (TypeScript's `int`)."""
        return lo + math.floor(self.next() * (hi - lo + 1))

    def pick(self, xs: Sequence[T]) -> T:
        if len(xs) == 0:
            raise ValueError("pick from an empty list")
        return xs[math.floor(self.next() * len(xs))]

    def normal(self) -> float:
        """Standard normal (Box-Muller), as the TypeScript evaluates it."""
        u = 1 - self.next()
        v = self.next()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)

    def shuffle(self, xs: List[T]) -> List[T]:
        """In-place Fisher-Yates shuffle."""
        for i in range(len(xs) - 1, 0, -1):
            j = math.floor(self.next() * (i + 1))
            xs[i], xs[j] = xs[j], xs[i]
        return xs

    def sample(self, n: int, k: int) -> List[int]:
        """k distinct indices from [0, n)."""
        return self.shuffle(list(range(n)))[: min(k, n)]

    def fork(self, label: str) -> "Rng":
        """An independent stream keyed by a label (FNV-1a over UTF-16 code units, as charCodeAt reads them)."""
        h = 0x811C9DC5 ^ self.seed
        units = label.encode("utf-16-le")
        for i in range(0, len(units), 2):
            code = units[i] | (units[i + 1] << 8)
            h = _imul(h ^ code, 0x01000193)
        return Rng(h & _M32, self._native)

    def normals(self, n: int, std: float) -> np.ndarray:
        """Float32 array of N(0, std²) values (each double rounded to float32, as a Float32Array stores it)."""
        if self._native is not None and n > 0:
            state = [self._a, self._b, self._c, self._d]
            out = self._native.normals(state, n, std)
            self._a, self._b, self._c, self._d = state
            return out
        out = np.empty(n, dtype=np.float32)
        for i in range(n):
            out[i] = self.normal() * std
        return out

    @staticmethod
    def with_native(seed: int) -> "Rng":
        """An Rng whose `normals` uses the C loop when it can be built (else the Python loop)."""
        return Rng(seed, load_native_normals())
