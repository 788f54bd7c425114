"""Hugging Face checkpoints as inputs: sharded and single files load the same tensors, BF16 / F16 / F32 storage,
random init from a config, and every bad input refused before training with one line naming the file or key
(exit status 2 through the command line)."""
import json
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest
import torch

from hf_tiny import config, encode, write_hf, write_hf_cell
from tiny import CellSpec, run_engine
from vpt_torch.hf_checkpoint import load_weights, random_weights
from vpt_torch.hf_config import parameter_shapes, parse_config, read_config, weight_files
from vpt_torch.inputs import InputError, parse


def loaded(folder: Path) -> Dict[str, np.ndarray]:
    cfg, _ = read_config(folder)
    return {k: v.float().numpy() for k, v in load_weights(cfg, weight_files(folder), lambda n, t: t).items()}


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F32"])
def test_sharded_and_single_files_load_the_stored_values(tmp_path: Path, dtype: str) -> None:
    cfg = config("qwen3")
    want = write_hf(tmp_path / "one", cfg, seed=3, dtype=dtype)
    write_hf(tmp_path / "three", cfg, seed=3, dtype=dtype, shards=3)
    assert len(weight_files(tmp_path / "three")) == 3
    one, three = loaded(tmp_path / "one"), loaded(tmp_path / "three")
    assert list(one) == list(parameter_shapes(parse_config(cfg, "c")))  # transformers' order
    for k in want:
        assert np.array_equal(one[k], want[k]) and np.array_equal(three[k], want[k]), k
    stored = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[dtype]
    c, _ = read_config(tmp_path / "one")
    assert load_weights(c, weight_files(tmp_path / "one"), lambda n, t: t)["model.norm.weight"].dtype == stored


def test_tied_checkpoints_may_hold_the_head_and_old_ones_rotary_buffers(tmp_path: Path) -> None:
    cfg = config("qwen2")  # tied
    extra = {"lm_head.weight": np.zeros((16, 16), np.float32), "model.layers.0.self_attn.rotary_emb.inv_freq": np.ones(2, np.float32)}
    write_hf(tmp_path, cfg, extra=extra)
    assert "lm_head.weight" not in loaded(tmp_path)


def test_random_init_from_a_config() -> None:
    cfg = parse_config(config("llama"), "c")
    a = random_weights(cfg, 5, lambda n, t: t, torch.device("cpu"))
    b = random_weights(cfg, 5, lambda n, t: t, torch.device("cpu"))
    assert list(a) == list(parameter_shapes(cfg)) and all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(a["model.norm.weight"], torch.ones(16)) and torch.equal(a["model.layers.0.mlp.up_proj.bias"], torch.zeros(24))
    w = a["model.layers.1.mlp.down_proj.weight"]
    assert abs(float(w.std()) - 0.02) < 0.005


def cell(tmp_path: Path, **kw: Any) -> Path:
    return write_hf_cell(tmp_path / "cell", CellSpec(), **kw)


def edit_json(path: Path, fn: Callable[[Dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def bad_config(key: str, value: Any) -> Callable[[Path], None]:
    def go(folder: Path) -> None:
        edit_json(folder / "hf" / "config.json", lambda d: d.update({key: value}))
    return go


def drop_tensor(name: str, dtype: str = "BF16") -> Callable[[Path], None]:
    def go(folder: Path) -> None:
        w = write_hf(folder / "hf", config("qwen2"), dtype="F32")
        w.pop(name)
        (folder / "hf" / "model.safetensors").write_bytes(encode(w, dtype))
    return go


def change_tensor(name: str, value: np.ndarray) -> Callable[[Path], None]:
    def go(folder: Path) -> None:
        w = write_hf(folder / "hf", config("qwen2"), dtype="F32")
        w[name] = value
        (folder / "hf" / "model.safetensors").write_bytes(encode(w, "F32"))
    return go


def i8_tensor(folder: Path) -> None:
    path = folder / "hf" / "model.safetensors"
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["model.norm.weight"]["dtype"] = "I8"
    header["model.norm.weight"]["data_offsets"][1] = header["model.norm.weight"]["data_offsets"][0] + 16
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])


def missing_shard(folder: Path) -> None:
    (folder / "hf" / "model.safetensors").unlink()
    write_hf(folder / "hf", config("qwen2"), shards=2)
    (folder / "hf" / "model-00002-of-00002.safetensors").unlink()


def set_model(**kw: Any) -> Callable[[Path], None]:
    return lambda folder: edit_json(folder / "inputs.json", lambda d: d["model"].update(kw))


BAD: Dict[str, Any] = {
    "no config.json": (lambda f: (f / "hf" / "config.json").unlink(), "config.json: no such file"),
    "no folder": (set_model(dir="/nonexistent/model"), "/nonexistent/model: no such folder"),
    "no weights": (lambda f: (f / "hf" / "model.safetensors").unlink(), "no model.safetensors"),
    "missing shard": (missing_shard, "shard 'model-00002-of-00002.safetensors' is missing"),
    "unknown architecture": (bad_config("architectures", ["GPT2LMHeadModel"]), "architecture \"GPT2LMHeadModel\" is not one vpt_torch runs"),
    "unknown rope scaling": (bad_config("rope_scaling", {"rope_type": "yarn", "factor": 4.0}), "'rope_scaling.rope_type' \"yarn\""),
    "sliding window": (bad_config("use_sliding_window", True), "'use_sliding_window'"),
    "other activation": (bad_config("hidden_act", "gelu"), "'hidden_act'"),
    "heads": (bad_config("num_key_value_heads", 3), "'num_key_value_heads' 3"),
    "missing parameter": (drop_tensor("model.layers.1.mlp.up_proj.weight"), "lacks parameter 'model.layers.1.mlp.up_proj.weight'"),
    "unexpected tensor": (change_tensor("model.layers.0.self_attn.o_proj.bias", np.zeros(16, np.float32)), "'model.layers.0.self_attn.o_proj.bias' is not a parameter"),
    "wrong shape": (change_tensor("model.norm.weight", np.ones(15, np.float32)), "'model.norm.weight' has shape [15]"),
    "stored dtype": (i8_tensor, "'model.norm.weight' is stored as I8"),
    "lora target": (set_model(trainable={"lora": {"r": 2, "alpha": 4, "targets": ["q_proj", "qkv_proj"]}}), "LoRA target 'qkv_proj' is not a module"),
    "lora rank": (set_model(trainable={"lora": {"r": 0, "alpha": 4, "targets": ["q_proj"]}}), "'model.trainable.lora.r'"),
    "trainable": (set_model(trainable="half"), "'model.trainable'"),
    "weights dtype": (set_model(weightsDtype="float16"), "'model.weightsDtype'"),
    "vocabulary": (bad_config("vocab_size", 12), "'model.embed_tokens.weight' has shape [16, 16], config.json implies [12, 16]"),
    "token ids": (lambda f: edit_json(f / "inputs.json", lambda d: d.update(model={"kind": "hf", "init": "random", "config": config("qwen2", vocab_size=12)})),
                  "'train.inputs' holds token ids outside [0, 12)"),
    "fsdp": (lambda f: edit_json(f / "inputs.json", lambda d: d.update(launch={"nproc": 1, "fsdp": True})), "'launch.fsdp'"),
    "nproc": (lambda f: edit_json(f / "inputs.json", lambda d: d.update(launch={"nproc": 3})), "not divisible by launch.nproc 3"),
    "subset": (lambda f: edit_json(f / "inputs.json", lambda d: d.update(subset={"blocks": 4})), "'subset.blocks' 4 is outside [1, 3]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_name_the_file_or_key(tmp_path: Path, case: str) -> None:
    folder = cell(tmp_path)
    change, message = BAD[case]
    change(folder)
    with pytest.raises(InputError) as e:
        parse(folder)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_bad_checkpoint_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = cell(tmp_path)
    drop_tensor("model.norm.weight")(folder)
    rc, lines, _ = run_engine(["run", str(folder)])
    assert rc == 2 and [x["type"] for x in lines] == ["error"]
    assert "lacks parameter 'model.norm.weight'" in lines[0]["message"]
