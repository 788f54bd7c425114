"""LoRA on the built-in decoders: B = 0 at the start gives the base model's logits exactly; only the adapters train
(the base stays bit for bit); an adapter adds (α/r)·B·A·x to its module; A is drawn as peft draws it; dropout acts
inside training() only; S is the last n layers' adapters, in order; the harness's initial adapters are taken as given and checked."""
import math
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch

from hf_tiny import write_hf_cell
from tiny import CellSpec
from vpt_torch.batches import to_batch
from vpt_torch.hf_config import module_path
from vpt_torch.inputs import CellInputs, parse
from vpt_torch.learner_model import Learnable, load_learner
from vpt_torch.rules import OneHotRule
from vpt_torch.runtime import make_runtime
from vpt_torch.trainer import Learner

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
RT = make_runtime("cpu", "float32", 1, "exact")


def cell(tmp_path: Path, name: str, lora: Any, family: str = "qwen3", blocks: int = 2) -> CellInputs:
    return parse(write_hf_cell(tmp_path / name, CellSpec(), family, lora, blocks=blocks))


def learner(c: CellInputs) -> Learnable:
    m = load_learner(RT, c)
    c.subset = m.subset
    return m


def lora(r: int = 4, alpha: float = 8.0, dropout: float = 0.0, targets: List[str] = TARGETS) -> Dict[str, Any]:
    return {"r": r, "alpha": alpha, "dropout": dropout, "targets": targets}


def test_zero_b_gives_the_base_models_logits(tmp_path: Path) -> None:
    base = learner(cell(tmp_path, "full", None))
    with_lora = learner(cell(tmp_path, "lora", lora()))
    ids = torch.randint(0, 16, (2, 9), generator=torch.Generator().manual_seed(0))
    assert torch.equal(base.lm.forward(base.params, ids), with_lora.lm.forward(with_lora.params, ids))


def test_only_the_adapters_train(tmp_path: Path) -> None:
    c = cell(tmp_path, "lora", lora(targets=["q_proj", "down_proj"]))
    m = learner(c)
    frozen = {n: t.detach().clone() for n, t in m.params.items() if n not in m.trainable}
    assert all(n.endswith((".lora_A", ".lora_B")) for n in m.trainable)
    assert len(m.trainable) == 2 * 2 * 3  # two modules, A and B, three layers
    assert not any(m.params[n].requires_grad for n in frozen) and all(m.params[n].requires_grad for n in m.trainable)
    before = {n: m.params[n].detach().clone() for n in m.trainable}
    lrn = Learner(RT, m.lm, m.params, c.train.optim, m.trainable, m.aliases)
    for step in range(2):
        lr = lrn.opt.next_lr()
        lrn.step(to_batch(RT, c.train_rows.select(c.batches[step])), OneHotRule(), step)
        if step == 0:  # ∂L/∂A = 0 while B = 0: on the first step A only decays
            decay = 1 - lr * c.train.optim.weightDecay
            assert all(torch.allclose(m.params[n], before[n] * decay, rtol=1e-6, atol=0) for n in m.trainable if n.endswith("lora_A"))
    assert all(not torch.equal(m.params[n], before[n]) for n in m.trainable)
    assert all(torch.equal(m.params[n], frozen[n]) for n in frozen)


def test_an_adapter_adds_its_scaled_product(tmp_path: Path) -> None:
    m = learner(cell(tmp_path, "lora", lora(r=3, alpha=7.0)))
    path = module_path(1, "up_proj")
    p = dict(m.params)
    g = torch.Generator().manual_seed(2)
    B = torch.randn(p[path + ".lora_B"].shape, generator=g)
    p[path + ".lora_B"] = B
    x = torch.randn(5, 16, generator=g)
    A, W = p[path + ".lora_A"], p[path + ".weight"]
    want = x @ W.t() + (7.0 / 3.0) * (x @ A.t() @ B.t())
    assert torch.allclose(m.lm.linear(p, path, x), want, atol=1e-6)  # type: ignore[attr-defined]


def test_a_is_drawn_as_peft_draws_it(tmp_path: Path) -> None:
    m = learner(cell(tmp_path, "lora", lora(r=8)))
    for n in m.trainable:
        t = m.params[n].detach()
        if n.endswith("lora_A"):
            bound = 1 / math.sqrt(t.shape[1])  # kaiming-uniform with a = √5
            assert t.abs().max() <= bound and t.abs().max() > 0.8 * bound
        else:
            assert torch.equal(t, torch.zeros_like(t))
    again = learner(cell(tmp_path, "again", lora(r=8)))  # the same seed: the same A on every process
    assert all(torch.equal(m.params[n], again.params[n]) for n in m.trainable)


def test_dropout_acts_in_training_only(tmp_path: Path) -> None:
    m = learner(cell(tmp_path, "lora", lora(dropout=0.5)))
    for n in m.trainable:
        if n.endswith("lora_B"):
            with torch.no_grad():
                m.params[n].normal_()
    ids = torch.randint(0, 16, (2, 9), generator=torch.Generator().manual_seed(0))
    a, b = m.lm.forward(m.params, ids), m.lm.forward(m.params, ids)
    with m.lm.training():
        c, d = m.lm.forward(m.params, ids), m.lm.forward(m.params, ids)
    assert torch.equal(a, b) and not torch.equal(c, d) and not torch.equal(a, c)


@pytest.mark.parametrize("blocks", [1, 2])
def test_s_is_the_last_layers_adapters(tmp_path: Path, blocks: int) -> None:
    m = learner(cell(tmp_path, "lora", lora(targets=["v_proj", "q_proj", "up_proj"]), blocks=blocks))
    want = []
    for i in range(3 - blocks, 3):
        for mod in ("v_proj", "q_proj", "up_proj"):  # the targets' order (as the tfjs engine lists them)
            want += [module_path(i, mod) + ".lora_A", module_path(i, mod) + ".lora_B"]
    assert m.subset.start == 3 - blocks and m.subset.names == want


def test_the_harness_initial_adapters(tmp_path: Path) -> None:
    """`lora.<name>` arrays (the tfjs engine's draw) are the adapters' starting values; a missing or misshapen one is
    one line naming it."""
    import numpy as np

    from vpt_torch import safetensors_io
    from vpt_torch.inputs import InputError

    spec = lora(targets=["k_proj", "gate_proj"])
    folder = write_hf_cell(tmp_path / "c", CellSpec(), "llama", spec)
    m0 = learner(parse(folder))
    given = {f"lora.{n}": (np.full(t.shape, 0.01 * k, np.float32)) for k, (n, t) in enumerate(m0.params.items()) if n in m0.trainable}
    arrays = safetensors_io.read(folder / "inputs.safetensors").arrays
    safetensors_io.write(folder / "inputs.safetensors", {**arrays, **given}, use_library=False)
    m = learner(parse(folder))
    assert all(torch.equal(m.params[n[5:]], torch.from_numpy(a)) for n, a in given.items())
    for change, message in ((lambda g: g.pop(next(iter(g))), "is missing"), (lambda g: g.update({"lora.x.lora_A": np.zeros((1, 1), np.float32)}), "'lora.x.lora_A' is not an adapter"),
                            (lambda g: g.update({k: np.zeros((1, 1), np.float32) for k in list(g)[:1]}), "has shape [1, 1]")):
        bad = dict(given)
        change(bad)
        safetensors_io.write(folder / "inputs.safetensors", {**arrays, **bad}, use_library=False)
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse(folder)
