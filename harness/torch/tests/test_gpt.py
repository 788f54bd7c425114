"""The GPT against an independent float64 implementation written from the description (pre-LN, erf GELU, causal
softmax attention per head, LayerNorm eps 1e-5), and its partial forwards against the full one."""
import math

import numpy as np
import pytest
import torch

from tiny import TINY, init_gpt
from vpt_torch.gpt import Gpt, has_sdpa, parameter_shapes, subset_names
from vpt_torch.inputs import GptConfig

CFG = GptConfig(vocabSize=11, blockSize=8, nLayer=3, nHead=2, nEmbd=8)


def params64(cfg: GptConfig = CFG, seed: int = 0) -> dict:
    return {k: torch.from_numpy(v.astype(np.float64)) for k, v in init_gpt(cfg, seed).items()}


def reference_logits(p: dict, ids: np.ndarray, cfg: GptConfig) -> np.ndarray:
    """Plain numpy, one sequence and one head at a time."""
    P = {k: v.numpy() for k, v in p.items()}
    D, H = cfg.nEmbd, cfg.nHead
    dh = D // H

    def ln(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * g + b

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))
    out = []
    for row in ids:
        T = len(row)
        x = P["wte"][row] + P["wpe"][:T]
        for i in range(cfg.nLayer):
            g = lambda n: P[f"h.{i}.{n}"]  # noqa: E731
            a = ln(x, g("ln1.g"), g("ln1.b"))
            q, k, v = a @ g("attn.wq"), a @ g("attn.wk"), a @ g("attn.wv")
            y = np.zeros_like(x)
            for h in range(H):
                sl = slice(h * dh, (h + 1) * dh)
                for t in range(T):
                    s = np.array([q[t, sl] @ k[j, sl] / math.sqrt(dh) for j in range(t + 1)])
                    w = np.exp(s - s.max())
                    w /= w.sum()
                    y[t, sl] = w @ v[: t + 1, sl]
            x = x + y @ g("attn.wo") + g("attn.bo")
            m = ln(x, g("ln2.g"), g("ln2.b"))
            x = x + gelu(m @ g("mlp.w1") + g("mlp.b1")) @ g("mlp.w2") + g("mlp.b2")
        out.append(ln(x, P["ln_f.g"], P["ln_f.b"]) @ P["head.w"])
    return np.concatenate(out)


def ids_of(B: int = 2, T: int = 6, seed: int = 1) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, CFG.vocabSize, (B, T)))


def test_forward_matches_the_reference() -> None:
    p, ids = params64(), ids_of()
    got = Gpt(CFG).forward(p, ids).numpy()
    assert got.shape == (12, CFG.vocabSize)
    assert np.allclose(got, reference_logits(p, ids.numpy(), CFG), rtol=0, atol=1e-10)


def test_partial_forwards_agree_with_the_full_one() -> None:
    g, p, ids = Gpt(CFG), params64(), ids_of()
    B, T = ids.shape
    full = g.forward(p, ids)
    for start in range(CFG.nLayer + 1):
        assert torch.allclose(g.forward_from(p, g.hidden_below(p, ids, start), B, T, start), full, atol=1e-12)
    rows = torch.tensor([0, 3, 5, 7, 11])
    for start in range(CFG.nLayer):
        hidden = g.hidden_below(p, ids, start)
        assert torch.allclose(g.forward_from_at_rows(p, hidden, B, T, start, rows), full[rows], atol=1e-12)
        last = g.last_hidden_at_rows(p, hidden, B, T, start, rows)
        cands = torch.tensor([[1, 2, 3], [0, 4, 10], [5, 6, 7], [9, 8, 1], [2, 2, 3]])
        assert torch.allclose(g.head_at_columns(p, last, cands), full[rows].gather(1, cands), atol=1e-12)


def test_causal() -> None:
    g, p = Gpt(CFG), params64()
    a = ids_of(1, 7)
    b = a.clone()
    b[0, 4:] = (b[0, 4:] + 1) % CFG.vocabSize
    la, lb = g.forward(p, a), g.forward(p, b)
    assert torch.allclose(la[:4], lb[:4], atol=1e-12) and not torch.allclose(la[4:], lb[4:])


def test_fused_attention_agrees_with_the_written_out_one() -> None:
    if not has_sdpa():
        pytest.skip(f"torch {torch.__version__} has no scaled_dot_product_attention (the written-out attention runs)")
    p, ids = params64(), ids_of()
    assert torch.allclose(Gpt(CFG, sdpa=True).forward(p, ids), Gpt(CFG, sdpa=False).forward(p, ids), atol=1e-10)


def test_shapes_and_subset_names() -> None:
    shapes = parameter_shapes(TINY)
    assert shapes["wte"] == (16, 16) and shapes["head.w"] == (16, 16) and shapes["h.1.mlp.w1"] == (16, 64)
    assert subset_names(CFG, 1) == [n for n in parameter_shapes(CFG) if n.startswith("h.2.")] + ["ln_f.g", "ln_f.b", "head.w"]
    assert len(subset_names(CFG, 5)) == len(parameter_shapes(CFG)) - 2  # all but wte and wpe
    with pytest.raises(ValueError, match="blockSize"):
        Gpt(CFG).embed(params64(), torch.zeros(1, 9, dtype=torch.long))
