"""Where transformers is installed (the GPU machines): its model classes, as hf_transformers.py drives them, against
the built-in implementation on the same tiny bf16 checkpoints: logits, the partial forwards, decoding; peft's LoRA
against the built-in adapters; and a cell end to end on the default path (transformers). Float32 on the CPU, to
2e-5 (the two differ in the order of float32 operations only). Skipped where transformers does not import."""
import json
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pytest
import torch

from hf_tiny import write_hf_cell
from tiny import CellSpec, result_of, run_engine
from vpt_torch.generate import generate_greedy
from vpt_torch.inputs import parse
from vpt_torch.learner_model import Learnable, load_learner, transformers_usable
from vpt_torch.runtime import make_runtime

pytestmark = pytest.mark.skipif(
    not transformers_usable(),
    reason="transformers >= 4.48 does not import in this interpreter: the engine runs its built-in implementation here "
           "(test_hf_model.py checks it against a float64 reference; test_transformers_adapter.py checks the transformers "
           "adapter on a stand-in); this comparison runs where transformers is installed")

RT = make_runtime("cpu", "float32", 1, "exact")
ATOL = 2e-5


def both(tmp_path: Path, family: str, lora: Any = None) -> Tuple[Learnable, Learnable]:
    out = []
    for impl in ("built-in", "transformers"):
        folder = write_hf_cell(tmp_path / impl, CellSpec(), family, lora, blocks=2, model_over={"implementation": impl})
        c = parse(folder)
        m = load_learner(RT, c)
        assert m.info["paths"]["models"] == impl
        out.append(m)
    return out[0], out[1]


def family_or_skip(family: str) -> None:
    import transformers

    if family == "qwen3" and not hasattr(transformers, "Qwen3ForCausalLM"):
        pytest.skip(f"transformers {transformers.__version__} has no Qwen3")


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama"])
def test_logits_and_partial_forwards(tmp_path: Path, family: str) -> None:
    family_or_skip(family)
    b, t = both(tmp_path, family)
    ids = torch.from_numpy(np.random.default_rng(0).integers(0, 16, (2, 9)))
    full = b.lm.forward(b.params, ids)
    assert torch.allclose(t.lm.forward(t.params, ids), full, atol=ATOL)
    assert torch.allclose(t.lm.written_out().forward(t.params, ids), full, atol=ATOL)
    rows = torch.tensor([0, 5, 11, 17])
    for start in range(4):
        h = t.lm.hidden_below(t.params, ids, start)
        assert torch.allclose(h, b.lm.hidden_below(b.params, ids, start), atol=ATOL)
        assert torch.allclose(t.lm.forward_from(t.params, h, 2, 9, start), full, atol=ATOL)
        if start < 3:
            assert torch.allclose(t.lm.forward_from_at_rows(t.params, h, 2, 9, start, rows), full[rows], atol=ATOL)
    assert t.subset.names == b.subset.names  # full-parameter: transformers' parameter names are the checkpoint's
    prompts = [np.array(x, np.int32) for x in ([1, 2, 3], [4], [5, 6, 7, 8, 9, 0])]
    assert generate_greedy(RT, t.lm, t.params, prompts, 5, 15, [], 2) == generate_greedy(RT, b.lm, b.params, prompts, 5, 15, [], 2)


def test_peft_lora_against_the_built_in_adapters(tmp_path: Path) -> None:
    pytest.importorskip("peft", reason="peft is not installed: transformers runs with the engine's own adapters")
    lora = {"r": 2, "alpha": 4, "dropout": 0.0, "targets": ["q_proj", "v_proj", "down_proj"]}
    b, t = both(tmp_path, "qwen2", lora)
    assert t.info["paths"]["lora"] == "peft"
    ids = torch.from_numpy(np.random.default_rng(1).integers(0, 16, (2, 9)))
    assert torch.allclose(t.lm.forward(t.params, ids), b.lm.forward(b.params, ids), atol=ATOL)  # B = 0: the base model
    mapping: Dict[str, str] = {n: n[: n.index(".default.")] for n in t.trainable}  # peft's names -> the built-in ones
    assert sorted(mapping.values()) == sorted(b.trainable)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for tn, bn in mapping.items():
            value = torch.randn(b.params[bn].shape, generator=g) * 0.3
            t.params[tn].copy_(value)
            b.params[bn].copy_(value)
    assert torch.allclose(t.lm.forward(t.params, ids), b.lm.forward(b.params, ids), atol=ATOL)
    assert [mapping[n] for n in t.subset.names] == b.subset.names


def test_a_cell_on_the_default_path(tmp_path: Path) -> None:
    folder = write_hf_cell(tmp_path / "c", CellSpec(rule="designer", arm="v-pretraining", steps=8, log_every=4), "qwen2", blocks=2,
                           model_over={"implementation": "auto"})
    rc, lines, err = run_engine(["run", str(folder)], timeout=600)
    assert rc == 0, err
    assert lines[0]["engine"]["paths"]["models"] == "transformers"
    res = result_of(lines)
    assert res is not None and all(p["value"] is not None for p in res["curves"]["designer"][:-1])
    json.dumps(res)
