"""The built-in Hugging Face decoders against an independent float64 numpy implementation written from the
families' descriptions (one sequence, one head at a time): Qwen2 (q/k/v biases, tied head), Qwen3 (q/k RMSNorm, a
head size other than hidden/heads), Llama 3 (llama3 RoPE scaling, attention and MLP biases), Llama with linear and
dynamic scaling, grouped-query attention throughout. Then the partial forwards against the full one, and greedy
decoding with the cache against a naive decoder. Weights are the bf16 values of the checkpoints the tests write."""
import math
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
import torch

from hf_tiny import config, write_hf
from vpt_torch.generate import generate_greedy
from vpt_torch.hf_checkpoint import load_weights
from vpt_torch.hf_config import RopeConfig, read_config, weight_files
from vpt_torch.hf_model import HfLm, inverse_frequencies
from vpt_torch.runtime import make_runtime

VARIANTS: Dict[str, Dict[str, Any]] = {
    "qwen2": config("qwen2"),
    "qwen3": config("qwen3"),
    "llama3": config("llama"),
    "llama-linear": config("llama", rope_scaling={"type": "linear", "factor": 3.0}, attention_bias=False, mlp_bias=False,
                           tie_word_embeddings=True, rope_theta=100.0),
    "llama-dynamic": config("llama", rope_scaling={"type": "dynamic", "factor": 2.0}, max_position_embeddings=12, rope_theta=100.0),
    "llama2-mha": config("llama", rope_scaling=None, num_key_value_heads=4, attention_bias=False, mlp_bias=False),
}


def reference_inv_freq(c: Dict[str, Any], seq_len: int) -> np.ndarray:
    """θ^(−2j/dh), then the scaling, written from transformers' documentation of each rope type."""
    dh = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    theta = float(c.get("rope_theta", 10000.0))
    sc = c.get("rope_scaling") or {}
    kind = sc.get("rope_type", sc.get("type", "default"))
    if kind == "dynamic" and seq_len > c["max_position_embeddings"]:
        f, L = sc["factor"], c["max_position_embeddings"]
        theta = theta * ((f * seq_len / L) - (f - 1)) ** (dh / (dh - 2))
    inv = np.array([theta ** (-2.0 * j / dh) for j in range(dh // 2)])
    if kind == "linear":
        return inv / sc["factor"]
    if kind == "llama3":
        f, lo, hi, L = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"], sc["original_max_position_embeddings"]
        out = []
        for w in inv:
            wavelen = 2 * math.pi / w
            if wavelen < L / hi:
                out.append(w)
            elif wavelen > L / lo:
                out.append(w / f)
            else:
                s = (L / wavelen - lo) / (hi - lo)
                out.append((1 - s) * w / f + s * w)
        return np.array(out)
    return inv


def reference_logits(c: Dict[str, Any], W: Dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """One sequence ids [T] -> logits [T, V], in float64."""
    P = {k: v.astype(np.float64) for k, v in W.items()}
    D, H = c["hidden_size"], c["num_attention_heads"]
    K = c.get("num_key_value_heads") or H
    dh = c.get("head_dim") or D // H
    eps = c["rms_norm_eps"]
    T = len(ids)
    inv = reference_inv_freq(c, T)
    half = dh // 2

    def rms(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * w

    def lin(x: np.ndarray, name: str) -> np.ndarray:
        y = x @ P[name + ".weight"].T
        return y + P[name + ".bias"] if name + ".bias" in P else y

    def rotate(v: np.ndarray, t: int) -> np.ndarray:  # v [dh] at position t: pairs (j, j + dh/2) turned by t·inv[j]
        out = v.copy()
        for j in range(half):
            a = t * inv[j]
            out[j] = v[j] * math.cos(a) - v[j + half] * math.sin(a)
            out[j + half] = v[j + half] * math.cos(a) + v[j] * math.sin(a)
        return out

    x = P["model.embed_tokens.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms(x, P[p + "input_layernorm.weight"])
        q = lin(a, p + "self_attn.q_proj").reshape(T, H, dh)
        k = lin(a, p + "self_attn.k_proj").reshape(T, K, dh)
        v = lin(a, p + "self_attn.v_proj").reshape(T, K, dh)
        if p + "self_attn.q_norm.weight" in P:
            q = rms(q, P[p + "self_attn.q_norm.weight"])
            k = rms(k, P[p + "self_attn.k_norm.weight"])
        y = np.zeros((T, H, dh))
        for h in range(H):
            g = h // (H // K)  # the key/value head this query head shares
            for t in range(T):
                qt = rotate(q[t, h], t)
                s = np.array([qt @ rotate(k[j, g], j) / math.sqrt(dh) for j in range(t + 1)])
                w = np.exp(s - s.max())
                w /= w.sum()
                y[t, h] = w @ v[: t + 1, g]
        x = x + lin(y.reshape(T, H * dh), p + "self_attn.o_proj")
        m = rms(x, P[p + "post_attention_layernorm.weight"])
        gate = lin(m, p + "mlp.gate_proj")
        x = x + lin(gate / (1 + np.exp(-gate)) * lin(m, p + "mlp.up_proj"), p + "mlp.down_proj")
    head = P.get("lm_head.weight", P["model.embed_tokens.weight"])
    return rms(x, P["model.norm.weight"]) @ head.T


def load(folder: Path, dtype: torch.dtype = torch.float64) -> Tuple[HfLm, Dict[str, torch.Tensor]]:
    cfg, _ = read_config(folder)
    params = load_weights(cfg, weight_files(folder), lambda n, t: t.to(dtype))
    if cfg.tied:
        params["lm_head.weight"] = params["model.embed_tokens.weight"]
    return HfLm(cfg), params


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Tuple[Path, Dict[str, np.ndarray]]]:
    root = tmp_path_factory.mktemp("hf")
    return {name: (root / name, write_hf(root / name, c, seed=k)) for k, (name, c) in enumerate(VARIANTS.items())}


def ids_of(B: int, T: int, seed: int = 1) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 16, (B, T)))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_logits_match_the_reference(checkpoints, variant: str) -> None:  # type: ignore[no-untyped-def]
    folder, weights = checkpoints[variant]
    lm, p = load(folder)
    ids = ids_of(2, 10)
    got = lm.forward(p, ids).numpy().reshape(2, 10, -1)
    for b in range(2):
        want = reference_logits(VARIANTS[variant], weights, ids[b].numpy())
        assert np.allclose(got[b], want, rtol=0, atol=1e-10), np.abs(got[b] - want).max()
    assert np.abs(got).max() > 0.5  # not a degenerate model


def test_float32_and_bfloat16_storage(checkpoints) -> None:  # type: ignore[no-untyped-def]
    """Loaded as float32 (full-parameter on a CPU) the logits are the float64 ones to float32 rounding; kept as
    bf16 and computed in float32 (frozen weights where autocast is off) the same, since bf16 → float32 is exact."""
    folder, weights = checkpoints["qwen3"]
    ids = ids_of(1, 12)
    want = reference_logits(VARIANTS["qwen3"], weights, ids[0].numpy())
    lm, p32 = load(folder, torch.float32)
    assert np.allclose(lm.forward(p32, ids).numpy(), want, rtol=0, atol=2e-5)
    _, pb = load(folder, torch.bfloat16)
    hidden = lm.hidden_below(pb, ids, 0).float()  # the embedding's rows (bf16) widened: float32 from there on
    assert np.allclose(lm.forward_from(pb, hidden, 1, 12, 0).numpy(), want, rtol=0, atol=2e-5)


def test_rope_scaling_frequencies() -> None:
    """inverse_frequencies against the reference for each kind, dynamic beyond the context too."""
    for name, c in VARIANTS.items():
        cfg, _ = None, None
        from vpt_torch.hf_config import parse_config

        cfg = parse_config(c, name)
        for seq in (8, 40):
            got = inverse_frequencies(cfg.rope, cfg.head_dim, seq, torch.device("cpu"), torch.float64).numpy()
            assert np.allclose(got, reference_inv_freq(c, seq), rtol=1e-12), (name, seq)
    dyn = RopeConfig(theta=100.0, kind="dynamic", factor=2.0, original_max=12)
    assert not torch.allclose(inverse_frequencies(dyn, 4, 40, torch.device("cpu")), inverse_frequencies(dyn, 4, 12, torch.device("cpu")))


@pytest.mark.parametrize("variant", ["qwen2", "qwen3"])
def test_partial_forwards_agree_with_the_full_one(checkpoints, variant: str) -> None:  # type: ignore[no-untyped-def]
    lm, p = load(checkpoints[variant][0])
    ids = ids_of(2, 7)
    B, T = ids.shape
    full = lm.forward(p, ids)
    rows = torch.tensor([0, 3, 5, 8, 13])
    cands = torch.tensor([[1, 2, 3], [0, 4, 10], [5, 6, 7], [9, 8, 1], [2, 2, 3]])
    for start in range(lm.n_layer + 1):
        hidden = lm.hidden_below(p, ids, start)
        assert torch.allclose(lm.forward_from(p, hidden, B, T, start), full, atol=1e-12)
        if start < lm.n_layer:
            assert torch.allclose(lm.forward_from_at_rows(p, hidden, B, T, start, rows), full[rows], atol=1e-12)
            last = lm.last_hidden_at_rows(p, hidden, B, T, start, rows)
            assert torch.allclose(lm.head_at_columns(p, last, cands), full[rows].gather(1, cands), atol=1e-12)
    assert torch.allclose(lm.written_out().forward(p, ids), full, atol=1e-12)


def naive(lm: HfLm, p: Dict[str, torch.Tensor], prompt: List[int], max_new: int, eos: int) -> List[int]:
    seq, out = list(prompt), []
    for _ in range(max_new):
        nxt = int(torch.argmax(lm.forward(p, torch.tensor([seq]))[-1]))
        if nxt == eos:
            break
        out.append(nxt)
        seq.append(nxt)
    return out


@pytest.mark.parametrize("variant", ["qwen2", "llama3"])
def test_greedy_decoding_with_the_cache(checkpoints, variant: str) -> None:  # type: ignore[no-untyped-def]
    """Left-padded batches, rotary positions per row, the cache with grouped key/value heads: as each prompt alone."""
    lm, p = load(checkpoints[variant][0])
    prompts = [np.array(x, np.int32) for x in ([1, 2, 3], [4], [5, 6, 7, 8, 9, 0], [2, 2])]
    rt = make_runtime("cpu", "float32", 1, "exact")
    free = [naive(lm, p, pr.tolist(), 6, -1) for pr in prompts]
    eos = min(set(range(16)) - {t for r in free for t in r}) if len({t for r in free for t in r}) < 16 else 15
    got = generate_greedy(rt, lm, p, prompts, 6, eos, [], 3)
    assert got == [naive(lm, p, pr.tolist(), 6, eos) for pr in prompts]
