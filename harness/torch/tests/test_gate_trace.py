"""Gate sums per step against numpy, windows between marks, means, the given α of a scheduled rule, growth."""
import math

import numpy as np
import torch

from vpt_torch.batches import Batch
from vpt_torch.gate_trace import GateTrace


def batch(mask, wrong) -> Batch:
    m = np.array(mask, np.float32)
    return Batch(torch.zeros(1, len(mask), dtype=torch.long), torch.zeros(len(mask), dtype=torch.long), torch.from_numpy(m),
                 torch.tensor(wrong, dtype=torch.float32), m, None)


def test_sums_means_and_windows() -> None:
    tr = GateTrace(2, torch.device("cpu"))
    b = batch([1, 1, 0, 1], [1, 0, 1, 0])
    tr.record(0, torch.tensor([0.5, 0.1, 0.9, 0.3]), b)
    w0 = tr.mark()
    tr.record(1, 0.2, b)
    tr.record(4, torch.tensor([0.0, 0.4, 0.0, 0.2]), b)  # past the capacity: the buffer grows
    tr.flush()
    assert [s["step"] for s in tr.steps] == [0, 1, 4]
    assert math.isclose(tr.steps[0]["alpha"], (0.5 + 0.1 + 0.3) / 3, rel_tol=1e-6)
    assert tr.steps[1]["alpha"] == 0.2  # a given α is recorded as given
    assert math.isclose(tr.window_means(w0)["gate"], 0.3, rel_tol=1e-6)
    rest = tr.take_window()
    assert math.isclose(rest["gate"], (0.6 + 0.6) / 6, rel_tol=1e-6)
    assert math.isclose(rest["gateWrong"], (0.2 + 0.0) / 2, rel_tol=1e-6)
    assert math.isclose(rest["gateOther"], (0.2 + 0.2 + 0.4 + 0.2) / 4, rel_tol=1e-6)
    d = tr.diagnostics()
    assert math.isclose(d["gate_mean"], (0.9 + 0.6 + 0.6) / 9, rel_tol=1e-6)


def test_no_wrong_tokens_gives_nan() -> None:
    tr = GateTrace(1, torch.device("cpu"))
    tr.record(0, 0.1, batch([1, 1], [0, 0]))
    d = tr.diagnostics()
    assert math.isnan(d["gate_wrong"]) and math.isclose(d["gate_other"], 0.1, rel_tol=1e-6)
