"""Process hygiene: die with the parent (Linux PR_SET_PDEATHSIG), and leave promptly on SIGTERM or SIGINT with an
error line, so no engine outlives its cell."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from types import FrameType
from typing import Optional

from .protocol import emit_raw

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, sig): the kernel sends sig when the parent exits (Linux only; True where it took)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except OSError:
        return False


def die_with_parent() -> bool:
    """Asks the kernel for SIGTERM when the parent exits; True where it took (Linux only)."""
    if not set_parent_death_signal(signal.SIGTERM):
        return False
    # The parent may have died before the request: then nobody would send the signal.
    if os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    emit_raw(1, {"type": "error", "message": f"terminated by {signal.Signals(signum).name}"})
    os._exit(128 + signum)


def exit_on_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
