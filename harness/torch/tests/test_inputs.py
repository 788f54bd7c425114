"""inputs.json and inputs.safetensors are read as the protocol says, and bad inputs are refused naming the key,
the array or the file."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny import CellSpec, write_cell
from vpt_torch import safetensors_io
from vpt_torch.checkpoint import load_params
from vpt_torch.inputs import InputError, parse


def edit(folder: Path, fn) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((folder / "inputs.json").read_text())
    fn(doc)
    (folder / "inputs.json").write_text(json.dumps(doc))


def edit_arrays(folder: Path, fn) -> None:  # type: ignore[no-untyped-def]
    arrays = safetensors_io.read(folder / "inputs.safetensors").arrays
    fn(arrays)
    safetensors_io.write(folder / "inputs.safetensors", arrays, use_library=False)


def test_reads_a_designer_cell(tmp_path: Path) -> None:
    c = parse(write_cell(tmp_path, CellSpec(rule="designer", arm="v-pretraining", probe_steps=[11, 23])))
    assert c.rule == "designer" and c.feedback == "true" and c.directional == "exact"  # as tiny.py writes it
    assert c.train.optim.beta2 == 0.95 and c.design.fdScheme == "central"
    assert c.subset.start == 1 and c.subset.names[-1] == "head.w"
    assert c.train_rows.inputs.shape == (64, 16) and c.batches.shape == (24, 8)
    assert c.feedback_draws is not None and c.feedback_draws.shape[1] == 4
    assert c.probe_rows is not None and c.probe_feedback is not None
    assert len(c.prompts) == 3 and all(p.dtype == np.int32 for p in c.prompts)
    assert "query.ctx" in c.designer_init and c.eval.stopIds == [[3, 4]]
    params = load_params(c.model.dir, c.model.gpt, torch.device("cpu"))
    assert params["wte"].shape == (16, 16) and params["wte"].requires_grad


@pytest.mark.parametrize("change,message", [
    (lambda d: d["train"]["optim"].pop("lr"), "'train.optim.lr'"),
    (lambda d: d.update(protocol=2), "protocol 2"),
    (lambda d: d["arm"].update(rule="nope"), "'arm.rule'"),
    (lambda d: d["design"].update(topK=17), "'design.topK'"),
    (lambda d: d["train"].update(steps=25), "'batches' has 24 rows"),
    (lambda d: d.update(directional="approx"), "'directional'"),
    (lambda d: d["model"]["gpt"].update(nHead=3), "nHead"),
    (lambda d: d["design"].update(value="both"), "'design.value'"),
])
def test_bad_json_names_the_key(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    folder = write_cell(tmp_path, CellSpec())
    edit(folder, change)
    with pytest.raises(InputError, match=message):
        parse(folder)


@pytest.mark.parametrize("change,message", [
    (lambda a: a.pop("train.mask"), "'train.mask'"),
    (lambda a: a.update({"batches": a["batches"] + 100}), "'batches'"),
    (lambda a: a.update({"train.inputs": a["train.inputs"].astype(np.float32)}), "'train.inputs' is float32"),
    (lambda a: a.update({"prompts.offsets": a["prompts.offsets"][::-1].copy()}), "'prompts.offsets'"),
    (lambda a: a.update({"test.targets": a["test.targets"] + 16}), "outside"),
])
def test_bad_arrays_name_the_array(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    folder = write_cell(tmp_path, CellSpec())
    edit_arrays(folder, change)
    with pytest.raises(InputError, match=message):
        parse(folder)


def test_designer_arrays_are_required(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec(rule="designer", arm="v-pretraining"))
    edit_arrays(folder, lambda a: [a.pop(k) for k in [k for k in a if k.startswith("designer.")]])
    with pytest.raises(InputError, match="designer"):
        parse(folder)


def test_model_config_must_match(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec())
    c = parse(folder)
    conf = json.loads((c.model.dir / "config.json").read_text())
    conf["gpt"]["nLayer"] = 3
    (c.model.dir / "config.json").write_text(json.dumps(conf))
    with pytest.raises(InputError, match="differs"):
        load_params(c.model.dir, c.model.gpt, torch.device("cpu"))
