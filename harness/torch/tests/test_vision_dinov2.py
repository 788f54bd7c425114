"""Backbones in the Hugging Face Dinov2Model layout: tiny random checkpoints written here (patch 14 and 16, layer
scale, register tokens) against an independent float64 computation written out below (explicit convolution,
LayerNorm, attention and erf GELU), against transformers' Dinov2Model with interpolated position embeddings where
transformers imports, through the engine as a vision cell's learner, and folders that do not match their config."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch

from test_vision import HEAD, lines, run_engine, write_cell
from vpt_torch import safetensors_io
from vpt_torch.vision.dinov2 import Dinov2Vit, load_weights, parameter_shapes, read_config, subset_names
from vpt_torch.vision.vit import HeadConfig, head_parameter_shapes


def write_dinov2(folder: Path, patch: int = 14, image: int = 28, registers: int = 2, layers: int = 2, width: int = 8, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = {
        "architectures": ["Dinov2WithRegistersModel" if registers else "Dinov2Model"],
        "model_type": "dinov2_with_registers" if registers else "dinov2",
        "hidden_size": width, "num_hidden_layers": layers, "num_attention_heads": 2, "mlp_ratio": 2, "patch_size": patch,
        "image_size": image, "num_channels": 3, "layer_norm_eps": 1e-6, "hidden_act": "gelu", "qkv_bias": True,
        "layerscale_value": 1.0, "use_swiglu_ffn": False, "num_register_tokens": registers,
    }
    (folder / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(seed)
    arrays = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in parameter_shapes(read_config(folder)).items()}
    arrays["embeddings.mask_token"] = np.zeros((1, width), dtype=np.float32)  # as save_pretrained writes it (never read)
    safetensors_io.write(folder / "model.safetensors", arrays)
    return folder


def reference_tokens(w: Dict[str, np.ndarray], cfg: Dict, images: np.ndarray) -> np.ndarray:
    """Dinov2's last hidden state in float64, written independently: NCHW convolution by explicit patch sums."""
    p, D, H = cfg["patch_size"], cfg["hidden_size"], cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    B, S = images.shape[0], images.shape[1]
    g = S // p
    x = images.astype(np.float64).transpose(0, 3, 1, 2)  # NCHW
    k = w["embeddings.patch_embeddings.projection.weight"].astype(np.float64)
    tokens = np.zeros((B, g * g, D))
    for r in range(g):
        for c in range(g):
            patch = x[:, :, r * p:(r + 1) * p, c * p:(c + 1) * p]
            tokens[:, r * g + c] = np.einsum("bcij,dcij->bd", patch, k) + w["embeddings.patch_embeddings.projection.bias"]
    pos = w["embeddings.position_embeddings"][0].astype(np.float64)
    assert pos.shape[0] == 1 + g * g, "the reference computes at the checkpoint's own grid"
    cls = np.broadcast_to(w["embeddings.cls_token"].reshape(1, 1, D), (B, 1, D))
    h = np.concatenate([cls, tokens], axis=1) + pos
    if cfg["num_register_tokens"]:
        reg = np.broadcast_to(w["embeddings.register_tokens"], (B, cfg["num_register_tokens"], D))
        h = np.concatenate([h[:, :1], reg, h[:, 1:]], axis=1)

    def ln(t: np.ndarray, a: str) -> np.ndarray:
        mu = t.mean(-1, keepdims=True)
        var = ((t - mu) ** 2).mean(-1, keepdims=True)
        return (t - mu) / np.sqrt(var + eps) * w[a + ".weight"] + w[a + ".bias"]

    def lin(t: np.ndarray, a: str) -> np.ndarray:
        return t @ w[a + ".weight"].astype(np.float64).T + w[a + ".bias"]

    erf = np.vectorize(math.erf)
    T = h.shape[1]
    dh = D // H
    for i in range(cfg["num_hidden_layers"]):
        b = f"encoder.layer.{i}."
        a = ln(h, b + "norm1")
        q, kk, v = (lin(a, b + f"attention.attention.{n}").reshape(B, T, H, dh).transpose(0, 2, 1, 3) for n in ("query", "key", "value"))
        s = q @ kk.transpose(0, 1, 3, 2) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ v
        h = h + lin(o.transpose(0, 2, 1, 3).reshape(B, T, D), b + "attention.output.dense") * w[b + "layer_scale1.lambda1"]
        m = lin(ln(h, b + "norm2"), b + "mlp.fc1")
        m = 0.5 * m * (1 + erf(m / math.sqrt(2)))
        h = h + lin(m, b + "mlp.fc2") * w[b + "layer_scale2.lambda1"]
    return ln(h, "layernorm")


@pytest.mark.parametrize("patch,image,registers", [(14, 28, 2), (16, 32, 0)])
def test_built_in_dinov2_matches_an_independent_float64_forward(tmp_path: Path, patch: int, image: int, registers: int) -> None:
    folder = write_dinov2(tmp_path / "ck", patch, image, registers)
    cfg = read_config(folder)
    w = load_weights(folder, cfg)
    vit = Dinov2Vit(cfg, image, HeadConfig(**HEAD), torch.device("cpu"))
    params = {k: torch.from_numpy(v).double() for k, v in w.items()}
    images = np.random.default_rng(1).standard_normal((2, image, image, 3))
    ours = vit.tokens(params, torch.from_numpy(images)).numpy()
    ref = reference_tokens(w, json.loads((folder / "config.json").read_text()), images)
    assert ours.shape == (2, 1 + registers + (image // patch) ** 2, 8)
    assert np.abs(ours - ref).max() < 1e-10
    assert vit.prefix == 1 + registers
    # S: the last layer and the final norm, in checkpoint order.
    names = subset_names(cfg, 1)
    assert names[0] == "encoder.layer.1.norm1.weight" and names[-2:] == ["layernorm.weight", "layernorm.bias"]


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed here (the GPU machine has it)")
@pytest.mark.parametrize("registers", [0, 2])
def test_built_in_dinov2_matches_transformers_with_interpolated_positions(tmp_path: Path, registers: int) -> None:
    import transformers

    folder = write_dinov2(tmp_path / "ck", 14, 28, registers)
    cls = transformers.Dinov2WithRegistersModel if registers else transformers.Dinov2Model
    model = cls.from_pretrained(str(folder)).double().eval()
    cfg = read_config(folder)
    params = {k: torch.from_numpy(v).double() for k, v in load_weights(folder, cfg).items()}
    for crop in (28, 42, 56):  # the checkpoint's grid, then 3×3 and 4×4 interpolated
        vit = Dinov2Vit(cfg, crop, HeadConfig(**HEAD), torch.device("cpu"))
        images = torch.from_numpy(np.random.default_rng(crop).standard_normal((2, crop, crop, 3)))
        with torch.no_grad():
            theirs = model(pixel_values=images.permute(0, 3, 1, 2)).last_hidden_state
        ours = vit.tokens(params, images)
        assert float((ours - theirs).abs().max()) < 1e-6, crop


def test_a_dinov2_backbone_trains_as_a_vision_cell(tmp_path: Path) -> None:
    """The designer arm on a tiny Dinov2-with-registers learner (patch 14, crops of 28 with 14-px local crops)."""
    folder = write_dinov2(tmp_path / "ck", 14, 28, 2)
    cfg = read_config(folder)
    rng = np.random.default_rng(3)
    head = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in head_parameter_shapes(cfg.hidden_size, HeadConfig(**HEAD)).items()}
    cell = write_cell(tmp_path / "cell", "designer", hf=str(folder), head_arrays=head, crop=28, local=14, subset={"blocks": 1})
    p = run_engine(cell)
    assert p.returncode == 0, p.stderr[-3000:]
    msgs = lines(p.stdout)
    hello, result = msgs[0], msgs[-1]
    assert hello["engine"]["architecture"] == "Dinov2WithRegistersModel"
    assert hello["engine"]["subset"][-1] == "layernorm.bias" and hello["engine"]["subset"][0].startswith("encoder.layer.1.")
    assert [c["step"] for c in result["curve"]] == [0, 1, 2] and all(np.isfinite(c["loss"]) for c in result["curve"])
    assert len(result["curves"]["designer"]) == 2
    out = safetensors_io.read(cell / "outputs.safetensors").arrays
    assert out["features.0.2.patch"].shape == (5, 4, 16)


def test_a_folder_that_does_not_match_its_config_is_one_line(tmp_path: Path) -> None:
    folder = write_dinov2(tmp_path / "ck", 14, 28, 0, layers=2)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["num_hidden_layers"] = 3
    (folder / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(3)
    head = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in head_parameter_shapes(8, HeadConfig(**HEAD)).items()}
    p = run_engine(write_cell(tmp_path / "cell", "standard", hf=str(folder), head_arrays=head, crop=28, local=14, subset={"blocks": 1}))
    msgs = lines(p.stdout)
    assert p.returncode == 2 and len(msgs) == 1 and msgs[0]["type"] == "error", (p.stdout, p.stderr[-2000:])
    assert "no tensor 'encoder.layer.2.norm1.weight'" in msgs[0]["message"] and "config.json" in msgs[0]["message"]
    p = run_engine(write_cell(tmp_path / "cell2", "standard", hf=str(write_dinov2(tmp_path / "ck2")), head_arrays=head, crop=30, local=14, subset={"blocks": 1}))
    msgs = lines(p.stdout)
    assert p.returncode == 2 and "'model.imageSize' 30 is not a multiple of the backbone's patch_size 14" in msgs[0]["message"], msgs
