"""Training a Hugging Face learner: a tied head's gradient is split as S needs it (the head's own part for the rule,
the whole for AdamW); accumulated microbatches give the step of the whole batch; and end to end through the command
line, full-parameter and LoRA learners on the baseline and v-pretraining rules (the loss falls, the designer's values
are finite, hello names S)."""
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping

import numpy as np
import pytest
import torch

from hf_tiny import write_hf_cell
from tiny import CellSpec, result_of, run_engine
from vpt_torch import safetensors_io
from vpt_torch.batches import to_batch
from vpt_torch.hf_model import EMBED, HEAD
from vpt_torch.inputs import CellInputs, parse
from vpt_torch.learner_model import load_learner
from vpt_torch.losses import Targets, soft_cross_entropy
from vpt_torch.rules import OneHotRule
from vpt_torch.runtime import make_runtime
from vpt_torch.trainer import Learner, train

RT = make_runtime("cpu", "float32", 1, "exact")


class Wants(OneHotRule):
    """One-hot targets; asks for the tied head's gradient and keeps what after_gradients saw."""

    def __init__(self) -> None:
        self.seen: Dict[str, torch.Tensor] = {}

    def wants_gradient(self, name: str) -> bool:
        return name == EMBED

    def after_gradients(self, grads: Mapping[str, torch.Tensor], step: int) -> None:
        self.seen = {k: v.clone() for k, v in grads.items()}


def test_a_tied_heads_gradient(tmp_path: Path) -> None:
    c = parse(write_hf_cell(tmp_path / "c", CellSpec(), "qwen2"))  # Qwen2 config here: tied
    m = load_learner(RT, c)
    assert m.aliases == {HEAD: EMBED} and m.subset.names[0] == EMBED and HEAD not in m.params  # S: the embedding as the head
    b = to_batch(RT, c.train_rows.select(c.batches[0]))
    # By hand: the same loss with the embedding and the head as two tensors.
    p = {k: v.detach().clone().requires_grad_(True) for k, v in m.params.items() if k != HEAD}
    head = p[EMBED].detach().clone().requires_grad_(True)
    loss = soft_cross_entropy(m.lm.forward({**p, HEAD: head}, b.ids), Targets.one_hot(b.targets), b.mask)
    g_embed, g_head = torch.autograd.grad(loss, [p[EMBED], head])
    before = m.params[EMBED].detach().clone()
    rule = Wants()
    lrn = Learner(RT, m.lm, m.params, c.train.optim, m.trainable, m.aliases)
    total = {"seen": None}
    opt_apply = lrn.opt.apply

    def spy(grads):  # type: ignore[no-untyped-def]
        total["seen"] = grads[EMBED].clone()
        return opt_apply(grads)

    lrn.opt.apply = spy  # type: ignore[assignment]
    lrn.step(b, rule, 0)
    assert torch.allclose(rule.seen[EMBED], g_head, atol=1e-6)  # the head's own part, for S
    assert torch.allclose(total["seen"], g_embed + g_head, atol=1e-6)  # the whole, for AdamW
    assert not torch.equal(m.params[EMBED], before)
    rule2 = OneHotRule()
    lrn.step(to_batch(RT, c.train_rows.select(c.batches[1])), rule2, 1)  # not asked for: not computed


def accumulated(folder: Path, parts: int) -> CellInputs:
    """The same cell with each batch of B rows split into `parts` microbatches of B/parts rows."""
    c = parse(folder)
    c.batches = c.batches.reshape(c.batches.shape[0] * parts, -1)
    c.train = type(c.train)(**{**c.train.__dict__, "batchSize": c.train.batchSize // parts, "accum": parts})
    return c


@pytest.mark.parametrize("family", ["qwen2", "llama"])
def test_accumulated_microbatches_make_the_whole_batchs_step(tmp_path: Path, family: str) -> None:
    folder = write_hf_cell(tmp_path / "c", CellSpec(steps=4, log_every=1), family)
    curves, params = [], []
    for parts in (1, 2, 4):
        c = accumulated(folder, parts)
        m = load_learner(RT, c)
        res = train(Learner(RT, m.lm, m.params, c.train.optim, m.trainable, m.aliases), c.train_rows, c.batches, 4, 1, OneHotRule(), accum=parts)
        curves.append([pt["loss"] for pt in res.curve])
        params.append({n: m.params[n].detach() for n in m.trainable})
    # k_proj's bias shifts every score of a query alike: its gradient is 0 but for rounding, which Adam's
    # normalisation turns into lr-sized steps of either sign, so it is left out of the comparison.
    names = [n for n in params[0] if not n.endswith("k_proj.bias")]
    for k in (1, 2):
        assert np.allclose(curves[k], curves[0], rtol=1e-6, atol=0), (curves[k], curves[0])
        assert all(torch.allclose(params[k][n], params[0][n], rtol=0, atol=1e-6) for n in names)


LORA = {"r": 4, "alpha": 8, "dropout": 0.05, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
CASES: Dict[str, Dict[str, Any]] = {
    "qwen2-full-baseline": {"family": "qwen2", "rule": "onehot"},
    "qwen2-full-v-pretraining": {"family": "qwen2", "rule": "designer"},
    "qwen3-lora-baseline": {"family": "qwen3", "rule": "onehot", "lora": LORA},
    "llama-lora-v-pretraining": {"family": "llama", "rule": "designer", "lora": LORA},
}


@pytest.mark.parametrize("case", list(CASES))
def test_end_to_end(tmp_path: Path, case: str) -> None:
    k = CASES[case]
    designer = k["rule"] == "designer"
    spec = CellSpec(rule=k["rule"], arm="v-pretraining" if designer else "baseline", steps=16, log_every=5, lr=3e-2 if "lora" in k else 1e-2,
                    probe_steps=[15] if designer else [])
    folder = write_hf_cell(tmp_path / case, spec, k["family"], k.get("lora"), blocks=2)
    rc, lines, err = run_engine(["run", str(folder)])
    assert rc == 0, err
    hello, res = lines[0], result_of(lines)
    assert hello["type"] == "hello" and res is not None
    eng = hello["engine"]
    assert eng["paths"]["models"] == "built-in" and eng["paths"]["lora"] == ("built-in" if "lora" in k else "none")
    subset: List[str] = eng["subset"]
    if "lora" in k:
        assert len(subset) == 2 * 7 * 2 and all(".lora_" in n and n.startswith(("model.layers.1.", "model.layers.2.")) for n in subset)
        assert 0 < eng["trainableParams"] < eng["params"]
    else:
        assert subset[0] == "model.embed_tokens.weight" and subset[-1] == "model.norm.weight"  # Qwen2 here: tied
        assert subset[1:4] == ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight"]
        assert eng["trainableParams"] == eng["params"]
    losses = [p["loss"] for p in res["curve"]]
    assert losses[-1] < 0.8 * losses[0], losses
    assert res["downstream"][-1]["nll"] < res["downstream"][0]["nll"]
    assert len(res["generations"]) == 3 and len(res["testNll"]["perItem"]) == 5
    if designer:
        points = res["curves"]["designer"][:-1]
        assert points and all(math.isfinite(p["value"]) and math.isfinite(p["valueAfter"]) and -1 <= p["cos"] <= 1 for p in points)
        assert math.isfinite(res["diagnostics"]["probe_r"]) and 0 < res["diagnostics"]["gate_mean"] < 0.5


def test_a_random_init_learner_from_a_config_alone(tmp_path: Path) -> None:
    """init 'random' with the config in inputs.json and no folder (as the benchmarks at a model's shape use)."""
    folder = write_hf_cell(tmp_path / "c", CellSpec(steps=3, log_every=1, n_prompts=0), "qwen3")
    doc = json.loads((folder / "inputs.json").read_text())
    doc["model"] = {"kind": "hf", "init": "random", "config": json.loads((folder / "hf" / "config.json").read_text()), "trainable": "full"}
    (folder / "inputs.json").write_text(json.dumps(doc))
    arrays = safetensors_io.read(folder / "inputs.safetensors").arrays
    assert "prompts.ids" not in arrays
    rc, lines, err = run_engine(["run", str(folder)])
    assert rc == 0, err
    res = result_of(lines)
    assert res is not None and res["generations"] == [] and all(math.isfinite(p["loss"]) for p in res["curve"])


def test_a_meta_step_on_an_accumulated_step_is_per_token_of_its_microbatch(tmp_path: Path) -> None:
    """The meta step reads the step's first microbatch and normalises over that microbatch's tokens: its V is what
    the same microbatch alone gives (not scaled down by the microbatches that follow)."""
    from vpt_torch.batches import step_batches
    from vpt_torch.cell import make_rule
    from vpt_torch.rules import View

    folder = write_hf_cell(tmp_path / "c", CellSpec(rule="designer", arm="v-pretraining", burn_in=0, meta_every=1), "qwen3", blocks=2)
    firsts = []
    for parts in (1, 2):
        c = accumulated(folder, parts) if parts > 1 else parse(folder)
        if parts == 1:  # the first microbatch of the accumulated cell, alone
            c.batches = accumulated(folder, 2).batches[:1]
            c.train = type(c.train)(**{**c.train.__dict__, "batchSize": 4})
        m = load_learner(RT, c)
        c.subset = m.subset
        rule = make_rule(RT, m.lm, m.params, c, 4)
        b = step_batches(RT, c.train_rows, c.batches, 0, parts)[0]
        assert (b.denom is not None) == (parts > 1)
        with torch.no_grad():
            hidden = m.lm.hidden_below(m.params, b.ids, m.subset.start)
            view = View(m.lm.forward_from(m.params, hidden, *b.shape, m.subset.start), hidden)
            assert rule.meta_step(b, 0, view)
        firsts.append(float(rule.value_term[1]))  # type: ignore[attr-defined]
    assert firsts[1] == pytest.approx(firsts[0], rel=1e-6) and firsts[0] != 0
