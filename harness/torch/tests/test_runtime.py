"""Settings resolved as documented: dtype and directional 'auto', the hello's engine description, uploads, clock."""
import time

import numpy as np
import torch

from vpt_torch.runtime import Clock, jvp_path, make_runtime, to_host


def test_auto_settings_on_the_cpu() -> None:
    rt = make_runtime("auto" if not torch.cuda.is_available() else "cpu", "auto", 1, "auto")
    assert rt.device.type == "cpu" and rt.dtype == "float32"  # no autocast on the CPU: float32
    assert rt.directional == ("exact" if jvp_path() != "finite-differences" else "differences")
    info = rt.engine_info()
    assert {"name", "version", "torch", "device", "dtype", "threads", "paths"} <= set(info)
    assert info["paths"]["directional"] == (rt.jvp if rt.directional == "exact" else "finite-differences")
    assert all(isinstance(v, str) for v in info["paths"].values())
    assert make_runtime("cpu", "float32", 1, "differences").engine_info()["paths"]["directional"] == "finite-differences"


def test_upload_clock_and_reads() -> None:
    rt = make_runtime("cpu", "float32", 1, "auto")
    t = rt.upload(np.arange(3, dtype=np.int32), torch.int64)
    assert t.dtype == torch.int64 and t.tolist() == [0, 1, 2]
    clock = Clock(rt)
    a = clock.stamp()
    time.sleep(0.01)
    assert Clock.ms(a, clock.stamp()) >= 9
    assert to_host([torch.tensor(1.5), torch.tensor([2.0])]) == [1.5, 2.0]
