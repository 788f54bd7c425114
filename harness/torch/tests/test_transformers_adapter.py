"""hf_transformers.py's plumbing on a stand-in for transformers' model classes (fake_transformers.py), where
transformers is not installed: the layers called one by one through functional_call with the dictionary's tensors,
S replaced by other tensors, the tied head's alias, forward-mode AD through the written-out attention, decoding
through the model's own cache, training() mode, and the engine's LoRA modules put in place of nn.Linear. Each is
compared with the built-in implementation on the same weights, in float64 (to 1e-10)."""
import sys
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import torch

from fake_transformers import ForCausalLM
from hf_tiny import config, write_hf
from vpt_torch.batches import Batch, masked_rows
from vpt_torch.generate import generate_greedy
from vpt_torch.hf_checkpoint import load_weights
from vpt_torch.hf_config import HfConfig, module_path, read_config, weight_files
from vpt_torch.hf_model import EMBED, HEAD, HfLm
from vpt_torch.hf_transformers import TransformersLm, attach_lora
from vpt_torch.inputs import Subset
from vpt_torch.learner_model import choose_subset
from vpt_torch.lora import LoraSpec, init_adapters
from vpt_torch.runtime import make_runtime
from vpt_torch.value import Directional, with_subset

Pair = Tuple[HfLm, Dict[str, torch.Tensor], TransformersLm, Dict[str, torch.Tensor], HfConfig]


def pair(tmp_path: Path, family: str) -> Pair:
    write_hf(tmp_path / family, config(family), seed=4)
    cfg, _ = read_config(tmp_path / family)
    w = load_weights(cfg, weight_files(tmp_path / family), lambda n, t: t.double())
    model = ForCausalLM(cfg).double()
    model.load_state_dict(w, strict=not cfg.tied)
    model.eval()
    pt = dict(model.named_parameters())  # tied: the embedding named once, as transformers' models do
    assert (HEAD in pt) == (not cfg.tied)
    return HfLm(cfg), dict(w), TransformersLm(model, cfg), pt, cfg


def ids_of(B: int, T: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(5).integers(0, 16, (B, T)))


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama"])
def test_forwards_match_the_built_in_ones(tmp_path: Path, family: str) -> None:
    lb, pb, lt, pt, cfg = pair(tmp_path, family)
    ids = ids_of(2, 7)
    B, T = ids.shape
    full = lb.forward(pb, ids)
    assert torch.allclose(lt.forward(pt, ids), full, atol=1e-10)
    rows = torch.tensor([1, 4, 8, 13])
    cands = torch.tensor([[1, 2], [3, 0], [5, 9], [7, 7]])
    for start in range(cfg.num_layers + 1):
        h = lt.hidden_below(pt, ids, start)
        assert torch.allclose(h, lb.hidden_below(pb, ids, start), atol=1e-10)
        assert torch.allclose(lt.forward_from(pt, h, B, T, start), full, atol=1e-10)
        if start < cfg.num_layers:
            assert torch.allclose(lt.forward_from_at_rows(pt, h, B, T, start, rows), full[rows], atol=1e-10)
            last = lt.last_hidden_at_rows(pt, h, B, T, start, rows)
            assert torch.allclose(lt.head_at_columns(pt, last, cands), full[rows].gather(1, cands), atol=1e-10)
    assert torch.allclose(lt.written_out().forward(pt, ids), full, atol=1e-10)
    assert lt.model.config._attn_implementation == "sdpa"  # switched back after the written-out calls


def test_s_replaced_by_other_tensors(tmp_path: Path) -> None:
    """With S (the last layer, the norm and the tied head) replaced, the layers below untouched: as built in."""
    lb, pb, lt, pt, cfg = pair(tmp_path, "qwen2")
    from vpt_torch.inputs import HfSpec

    spec = HfSpec(cfg, {}, "checkpoint", [], None, "auto", "built-in", 0)
    s = choose_subset(cfg, spec, 1)
    assert s.names[0] == EMBED  # tied: the embedding, as the head
    g = torch.Generator().manual_seed(3)
    moved = {n: pb[n].detach() + 0.1 * torch.randn(pb[n].shape, generator=g, dtype=torch.float64) for n in s.names}
    ids = ids_of(2, 6)
    hb, ht = lb.hidden_below(pb, ids, s.start), lt.hidden_below(pt, ids, s.start)
    want = lb.forward_from(with_subset(pb, s, moved), hb, 2, 6, s.start)
    got = lt.forward_from(with_subset(pt, s, moved), ht, 2, 6, s.start)
    assert torch.allclose(got, want, atol=1e-10) and not torch.allclose(got, lt.forward(pt, ids), atol=1e-3)
    # forward-mode AD through the layers' functional calls (the written-out attention): D as built in
    mask = np.array([0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1], np.float32)
    rows = masked_rows(mask)
    b = Batch(ids, ids.reshape(-1), torch.from_numpy(mask), torch.zeros(12), mask, torch.from_numpy(rows))
    cands = torch.randint(0, 16, (12, 3), generator=g)
    direction = {n: torch.randn(pb[n].shape, generator=g, dtype=torch.float64) for n in s.names}
    for kind in ("logits", "logp"):
        Db = getattr(Directional(lb, s, "exact", "forward_ad"), kind)(pb, hb, b, cands, direction, 0.0)
        Dt = getattr(Directional(lt, s, "exact", "forward_ad"), kind)(pt, ht, b, cands, direction, 0.0)
        assert torch.allclose(Dt, Db, atol=1e-10) and Db.abs().sum() > 0


def test_decoding_through_the_models_cache(tmp_path: Path) -> None:
    lb, pb, lt, pt, _ = pair(tmp_path, "llama")
    rt = make_runtime("cpu", "float32", 1, "exact")
    prompts = [np.array(x, np.int32) for x in ([1, 2, 3], [4], [5, 6, 7, 8, 9, 0], [2, 2])]
    assert generate_greedy(rt, lt, pt, prompts, 6, 15, [[3, 4]], 3) == generate_greedy(rt, lb, pb, prompts, 6, 15, [[3, 4]], 3)


def test_the_engines_lora_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without peft: the engine's adapters in place of the targets; names base_layer / lora_A / lora_B; the same A
    as the built-in adapters for one seed; outputs as built in once B is set; only adapters train; dropout in
    training() only."""
    monkeypatch.setitem(sys.modules, "peft", None)  # peft absent, also where it is installed (its import fails)
    lb, pb, lt, pt, cfg = pair(tmp_path, "qwen3")
    spec = LoraSpec(r=2, alpha=6.0, dropout=0.0, targets=("q_proj", "down_proj"))
    assert attach_lora(lt.model, cfg, spec, seed=9, device=torch.device("cpu")) == "built-in"
    lt.model.double()
    lt2 = TransformersLm(lt.model, cfg)
    names = [n for n, t in lt.model.named_parameters() if t.requires_grad]
    assert names == [n for n in init_adapters(cfg, spec, 9, torch.device("cpu"))]
    pt2 = dict(lt.model.named_parameters())
    assert module_path(0, "q_proj") + ".base_layer.weight" in pt2 and module_path(0, "q_proj") + ".weight" not in pt2
    assert module_path(2, "down_proj") + ".lora_B" in pt2  # the built-in implementation's names
    pb2 = dict(pb)
    g = torch.Generator().manual_seed(1)
    for n, a in init_adapters(cfg, spec, 9, torch.device("cpu")).items():
        assert torch.equal(pt2[n].detach().float(), a.detach())
        value = a.detach().double() if n.endswith("lora_A") else torch.randn(a.shape, generator=g, dtype=torch.float64)
        with torch.no_grad():
            pt2[n].copy_(value)
        pb2[n] = value
    lbl = HfLm(cfg, lora_scale=spec.scale)
    ids = ids_of(2, 5)
    assert torch.allclose(lt2.forward(pt2, ids), lbl.forward(pb2, ids), atol=1e-10)
    assert not torch.allclose(lbl.forward(pb2, ids), lbl.forward(pb, ids), atol=1e-3)
    with lt2.training():
        assert lt2.model.training
    assert not lt2.model.training
    s = Subset(2, [n for n in names if n.startswith("model.layers.2.")])
    assert len(s.names) == 4
