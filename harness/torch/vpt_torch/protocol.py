"""The engine's output lines: `@@vpt ` and one JSON object each, flushed at once. Non-finite numbers become null
(JSON has no NaN, and the harness's JSON.parse refuses it; the tfjs engine's records hold null there too).
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Optional, TextIO

PREFIX = "@@vpt "


def finite(x: Any) -> Any:
    """x with every non-finite float replaced by None (recursively through lists and dicts)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def line(obj: Any) -> str:
    return PREFIX + json.dumps(finite(obj), allow_nan=False, separators=(",", ":"))


class Emitter:
    """Writes protocol lines to a text stream (stdout), one flushed write per line; none without a stream (the
    ranks after the first of several processes)."""

    def __init__(self, out: Optional[TextIO]) -> None:
        self.out = out

    def emit(self, obj: Any) -> None:
        if self.out is None:
            return
        self.out.write(line(obj) + "\n")
        self.out.flush()


def emit_raw(fd: int, obj: Any) -> None:
    """One line straight to a file descriptor: safe inside a signal handler (no buffered stream to re-enter)."""
    try:
        os.write(fd, (line(obj) + "\n").encode("utf-8"))
    except OSError:
        pass
