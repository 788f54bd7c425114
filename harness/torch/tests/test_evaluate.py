"""Answer NLL per problem and pooled, against a direct computation on the untrimmed rows, for any batch size."""
import numpy as np
import torch

from test_gpt import CFG, params64
from tiny import padded_rows
from vpt_torch.evaluate import answer_nll
from vpt_torch.gpt import Gpt
from vpt_torch.inputs import TokenRows
from vpt_torch.runtime import make_runtime


def rows() -> TokenRows:
    g = np.random.default_rng(0)
    r = padded_rows(5, CFG.blockSize, g, min_len=3)
    r["inputs"] %= CFG.vocabSize
    r["targets"] %= CFG.vocabSize
    r["mask"][4] = 0  # a problem without answer tokens: its per-item NLL is 0/1
    return TokenRows(r["inputs"], r["targets"], r["mask"], np.zeros_like(r["inputs"], dtype=np.uint8))


def test_answer_nll() -> None:
    gpt, p, r = Gpt(CFG), params64(seed=1), rows()
    logp = torch.log_softmax(gpt.forward(p, torch.from_numpy(r.inputs).long()), -1).reshape(5, CFG.blockSize, -1)
    nll = -logp.gather(2, torch.from_numpy(r.targets).long().unsqueeze(-1)).squeeze(-1).numpy() * r.mask
    rt = make_runtime("cpu", "float32", 1, "exact")
    for bs in (1, 2, 5):
        got = answer_nll(rt, gpt, p, r, bs)
        assert np.allclose(got.perItem, nll.sum(1) / np.maximum(1, r.mask.sum(1)), atol=1e-12)
        assert np.isclose(got.sum, nll.sum(), atol=1e-12) and got.count == r.mask.sum()
        assert np.isclose(got.value, nll.sum() / r.mask.sum(), atol=1e-12)
