"""Backbones in the Hugging Face DINOv3ViTModel layout (model_type dinov3_vit): tiny random checkpoints written here
(FP32 and BF16 safetensors, register tokens, layer scale, the plain and the gated MLP) against an independent float64
forward written out below (explicit convolution, LayerNorm, RoPE as per-pair 2×2 rotations of each patch's centre,
attention, erf GELU / SiLU) at several grids, RoPE on a hand-worked case, against transformers' DINOv3ViTModel where
it imports, through the engine as a vision cell's learner, and config or weights that the engine refuses in one line."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest
import torch

from test_vision import HEAD, lines, run_engine, write_cell
from vpt_torch import safetensors_io
from vpt_torch.errors import InputError
from vpt_torch.vision import hf_backbone
from vpt_torch.vision.dinov3 import Dinov3Vit, apply_rope, load_weights, parameter_shapes, parse_config, read_config, rope_tables, subset_names
from vpt_torch.vision.vit import HeadConfig, head_parameter_shapes


def dinov3_config(**over: Any) -> Dict[str, Any]:
    """config.json of a tiny DINOv3ViTModel: width 16, 2 heads (head dim 8), patch 16, 4 registers, no key bias."""
    cfg: Dict[str, Any] = {
        "architectures": ["DINOv3ViTModel"], "model_type": "dinov3_vit", "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 2, "patch_size": 16, "image_size": 32, "num_channels": 3,
        "hidden_act": "gelu", "layer_norm_eps": 1e-5, "rope_theta": 100.0, "num_register_tokens": 4, "layerscale_value": 1.0,
        "query_bias": True, "key_bias": False, "value_bias": True, "proj_bias": True, "mlp_bias": True, "use_gated_mlp": False,
        "pos_embed_shift": None, "pos_embed_jitter": None, "pos_embed_rescale": 2.0, "drop_path_rate": 0.0,
    }
    cfg.update(over)
    return cfg


def to_bf16(a: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bit patterns (uint16), rounded to nearest even."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path: Path, arrays: Dict[str, np.ndarray], dtype: str) -> None:
    """A safetensors file of F32 or BF16 tensors, written out here (vpt_torch's writer has no BF16)."""
    header: Dict[str, Any] = {}
    blobs, offset = [], 0
    for name in sorted(arrays):
        a = arrays[name]
        blob = (to_bf16(a) if dtype == "BF16" else a.astype("<f4")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def write_dinov3(folder: Path, dtype: str = "F32", seed: int = 0, **over: Any) -> Dict[str, np.ndarray]:
    """A DINOv3ViTModel folder of random weights (layer scales random too, so they matter); returns the weights as
    the file holds them (BF16 rounded), float64."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = dinov3_config(**over)
    (folder / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(seed)
    arrays = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in parameter_shapes(read_config(folder)).items()}
    D = cfg["hidden_size"]
    arrays["embeddings.mask_token"] = np.zeros((1, 1, D), dtype=np.float32)  # as save_pretrained writes them
    if not cfg["num_register_tokens"]:
        arrays["embeddings.register_tokens"] = np.zeros((1, 0, D), dtype=np.float32)
    write_safetensors(folder / "model.safetensors", arrays, dtype)
    if dtype == "BF16":
        return {k: (to_bf16(v).astype(np.uint32) << 16).view(np.float32).astype(np.float64) for k, v in arrays.items()}
    return {k: v.astype(np.float64) for k, v in arrays.items()}


def reference_tokens(w: Dict[str, np.ndarray], cfg: Dict[str, Any], images: np.ndarray) -> np.ndarray:
    """DINOv3ViTModel's last hidden state (eval mode) in float64, written independently of vpt_torch."""
    p, D, H = cfg["patch_size"], cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps, R = D // H, cfg["layer_norm_eps"], cfg["num_register_tokens"]
    B, S = images.shape[0], images.shape[1]
    g = S // p
    x = images.astype(np.float64).transpose(0, 3, 1, 2)  # NCHW
    k = w["embeddings.patch_embeddings.weight"]
    patches = np.zeros((B, g * g, D))
    for r in range(g):
        for c in range(g):
            patches[:, r * g + c] = np.einsum("bcij,dcij->bd", x[:, :, r * p:(r + 1) * p, c * p:(c + 1) * p], k) + w["embeddings.patch_embeddings.bias"]
    parts = [np.broadcast_to(w["embeddings.cls_token"].reshape(1, 1, D), (B, 1, D))]
    if R:
        parts.append(np.broadcast_to(w["embeddings.register_tokens"], (B, R, D)))
    h = np.concatenate(parts + [patches], axis=1)
    T, prefix = h.shape[1], 1 + R

    # Each patch's rotation: channel pair (i, i + dh/2) turns by 2π·coord·theta^(-4j/dh), coord = the centre's y for
    # the first dh/4 pairs (j = i) and its x for the next dh/4 (j = i - dh/4), centres normalised to [-1, 1].
    rot = np.zeros((g * g, dh, dh))
    for r in range(g):
        for c in range(g):
            y, xx = -1 + (2 * r + 1) / g, -1 + (2 * c + 1) / g
            m = np.zeros((dh, dh))
            for i in range(dh // 2):
                coord, j = (y, i) if i < dh // 4 else (xx, i - dh // 4)
                a = 2 * math.pi * coord * cfg["rope_theta"] ** (-4 * j / dh)
                m[i, i], m[i, i + dh // 2] = math.cos(a), -math.sin(a)
                m[i + dh // 2, i], m[i + dh // 2, i + dh // 2] = math.sin(a), math.cos(a)
            rot[r * g + c] = m

    def ln(t: np.ndarray, a: str) -> np.ndarray:
        mu = t.mean(-1, keepdims=True)
        return (t - mu) / np.sqrt(((t - mu) ** 2).mean(-1, keepdims=True) + eps) * w[a + ".weight"] + w[a + ".bias"]

    def lin(t: np.ndarray, a: str) -> np.ndarray:
        out = t @ w[a + ".weight"].T
        return out + w[a + ".bias"] if a + ".bias" in w else out

    def heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(B, T, H, dh).transpose(0, 2, 1, 3)

    def turn(t: np.ndarray) -> np.ndarray:
        out = t.copy()
        out[:, :, prefix:] = np.einsum("nij,bhnj->bhni", rot, t[:, :, prefix:])
        return out

    act = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))) if cfg["hidden_act"] == "gelu" else (lambda v: v / (1 + np.exp(-v)))
    for i in range(cfg["num_hidden_layers"]):
        b = f"layer.{i}."
        a = ln(h, b + "norm1")
        q, kk, v = turn(heads(lin(a, b + "attention.q_proj"))), turn(heads(lin(a, b + "attention.k_proj"))), heads(lin(a, b + "attention.v_proj"))
        s = q @ kk.transpose(0, 1, 3, 2) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ v
        h = h + lin(o.transpose(0, 2, 1, 3).reshape(B, T, D), b + "attention.o_proj") * w[b + "layer_scale1.lambda1"]
        m = ln(h, b + "norm2")
        m = act(lin(m, b + "mlp.gate_proj")) * lin(m, b + "mlp.up_proj") if cfg["use_gated_mlp"] else act(lin(m, b + "mlp.up_proj"))
        h = h + lin(m, b + "mlp.down_proj") * w[b + "layer_scale2.lambda1"]
    return ln(h, "norm")


CASES = {
    "fp32-registers": ("F32", {}),
    "bf16-gated-silu-key-bias": ("BF16", {"use_gated_mlp": True, "hidden_act": "silu", "key_bias": True, "mlp_bias": False}),
    "fp32-no-registers": ("F32", {"num_register_tokens": 0, "proj_bias": False, "rope_theta": 7.5}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_built_in_dinov3_matches_an_independent_float64_forward_at_every_grid(tmp_path: Path, case: str) -> None:
    dtype, over = CASES[case]
    folder = tmp_path / "ck"
    w = write_dinov3(folder, dtype, **over)
    raw = json.loads((folder / "config.json").read_text())
    cfg = hf_backbone.read_config(folder)
    loaded = load_weights(folder, cfg)
    assert set(loaded) == set(parameter_shapes(cfg))
    assert max(float(np.abs(loaded[k] - w[k]).max()) for k in loaded) == 0.0  # BF16 widened exactly
    params = {k: torch.from_numpy(v).double() for k, v in loaded.items()}
    worst = 0.0
    for crop in (32, 48, 64):  # the config's image_size, then 3×3 and 4×4 grids: RoPE needs no interpolation
        vit = hf_backbone.backbone_vit(cfg, crop, HeadConfig(**HEAD), torch.device("cpu"))
        assert isinstance(vit, Dinov3Vit) and vit.prefix == 1 + raw["num_register_tokens"]
        images = np.random.default_rng(crop).standard_normal((2, crop, crop, 3))
        ours = vit.tokens(params, torch.from_numpy(images)).detach().numpy()
        ref = reference_tokens(w, raw, images)
        assert ours.shape == (2, 1 + raw["num_register_tokens"] + (crop // 16) ** 2, 16)
        worst = max(worst, float(np.abs(ours - ref).max()))
    print(f"{case}: max |built-in - reference| = {worst:.3g}")
    assert worst < 1e-10
    # float32 (the learner's dtype) agrees to rounding.
    vit = Dinov3Vit(cfg, 32, HeadConfig(**HEAD), torch.device("cpu"))
    images = np.random.default_rng(5).standard_normal((2, 32, 32, 3))
    ours32 = vit.tokens({k: torch.from_numpy(v) for k, v in loaded.items()}, torch.from_numpy(images).float()).detach().numpy()
    assert np.abs(ours32 - reference_tokens(w, raw, images)).max() < 1e-4
    # S: the last layer and the final norm, in checkpoint order.
    names = subset_names(cfg, 1)
    assert names[0] == "layer.1.norm1.weight" and names[-2:] == ["norm.weight", "norm.bias"]
    assert not any(n.startswith("layer.0.") for n in names)


def test_rope_on_a_hand_worked_case() -> None:
    """Head dim 8, theta 16 (frequencies 1 and 16^(-1/2) = 1/4), a 2×2 grid: centres ±1/2. Patch (row 0, column 1)
    sits at y = -1/2, x = +1/2, so pairs (0,4), (1,5), (2,6), (3,7) turn by 2π·(-1/2)·1 = -π, 2π·(-1/2)/4 = -π/4,
    2π·(1/2)·1 = π and π/4: (1, 0) goes to (cos a, sin a)."""
    cos, sin = (torch.from_numpy(t) for t in rope_tables(8, 16.0, 2))
    r = math.sqrt(0.5)
    x = torch.zeros(1, 1, 2 + 4, 8, dtype=torch.float64)
    x[0, 0, :2] = torch.arange(16, dtype=torch.float64).reshape(2, 8)  # CLS and one register: never rotated
    x[0, 0, 2 + 1, :4] = 1.0
    x[0, 0, 2 + 2, 4:] = 1.0  # patch (1, 0): y = +1/2, x = -1/2; (0, 1) goes to (-sin a, cos a)
    out = apply_rope(x, cos, sin, prefix=2)[0, 0]
    assert torch.equal(out[:2], x[0, 0, :2])
    want = torch.tensor([-1, r, -1, r, 0, -r, 0, r], dtype=torch.float64)
    assert float((out[2 + 1] - want).abs().max()) < 1e-15
    want = torch.tensor([0, -r, 0, r, -1, r, -1, r], dtype=torch.float64)
    assert float((out[2 + 2] - want).abs().max()) < 1e-15
    # Scores depend on the offset between patches only: (0,0)·(1,1) equals (1,1)·(2,2) on a 4×4 grid.
    cos, sin = (torch.from_numpy(t) for t in rope_tables(8, 100.0, 4))
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    qs = apply_rope(q.expand(1, 1, 16, 8), cos, sin, 0)[0, 0]
    ks = apply_rope(k.expand(1, 1, 16, 8), cos, sin, 0)[0, 0]
    assert abs(float(qs[0] @ ks[5]) - float(qs[5] @ ks[10])) < 1e-12
    assert abs(float(qs[0] @ ks[5]) - float(q @ k)) > 1e-3  # (and the rotation does move it)


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed here")
@pytest.mark.parametrize("case", list(CASES))
def test_built_in_dinov3_matches_transformers(tmp_path: Path, case: str) -> None:
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "DINOv3ViTModel"):
        pytest.skip(f"transformers {transformers.__version__} has no DINOv3ViTModel")
    dtype, over = CASES[case]
    folder = tmp_path / "ck"
    write_dinov3(folder, dtype, **over)
    model = transformers.DINOv3ViTModel.from_pretrained(str(folder), torch_dtype=torch.float32).double().eval()
    cfg = read_config(folder)
    params = {k: torch.from_numpy(v).double() for k, v in load_weights(folder, cfg).items()}
    for crop in (32, 48, 64):
        vit = Dinov3Vit(cfg, crop, HeadConfig(**HEAD), torch.device("cpu"))
        images = torch.from_numpy(np.random.default_rng(crop).standard_normal((2, crop, crop, 3)))
        with torch.no_grad():
            theirs = model(pixel_values=images.permute(0, 3, 1, 2)).last_hidden_state
        ours = vit.tokens(params, images)
        assert float((ours - theirs).abs().max()) < 1e-5, crop  # transformers computes RoPE's angles in float32


def bad(tmp_path: Path, name: str, edit: Dict[str, Any]) -> str:
    """The engine's message for a written folder whose config.json then gets `edit` (None deletes a key)."""
    folder = tmp_path / name
    write_dinov3(folder)
    raw = json.loads((folder / "config.json").read_text())
    raw.update(edit)
    for k in [k for k, v in edit.items() if v is None]:
        del raw[k]
    (folder / "config.json").write_text(json.dumps(raw))
    with pytest.raises(InputError) as e:
        load_weights(folder, hf_backbone.read_config(folder))
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_config_and_weights_the_engine_refuses_are_one_line_each(tmp_path: Path) -> None:
    cfg_file = "config.json"
    cases = [
        ({"model_type": "dinov4"}, "model_type \"dinov4\" is not one of 'dinov2', 'dinov2_with_registers', 'dinov3_vit'"),
        ({"hidden_act": "relu"}, "hidden_act 'relu' is not one of 'gelu', 'silu'"),
        ({"use_swiglu_ffn": True}, "use_swiglu_ffn is a pre-release DINOv3 key"),
        ({"intermediate_size": None}, "missing key 'intermediate_size'"),
        ({"hidden_size": "16"}, "'hidden_size' is \"16\", not an integer"),
        ({"key_bias": 1}, "'key_bias' is 1, not a boolean"),
        ({"hidden_size": 24, "num_attention_heads": 4}, "head dim 6 (hidden_size / num_attention_heads) is not a multiple of 4, which 2-D RoPE needs"),
        ({"key_bias": True}, "no tensor 'layer.0.attention.k_proj.bias', which"),
        ({"use_gated_mlp": True}, "no tensor 'layer.0.mlp.gate_proj.weight'"),
        ({"mlp_bias": False}, "unexpected tensor 'layer.0.mlp.down_proj.bias'"),
        ({"num_hidden_layers": 1}, "unexpected tensor 'layer.1."),
        ({"num_register_tokens": 2}, "tensor 'embeddings.register_tokens' has shape [1, 4, 16], "),
        ({"intermediate_size": 32}, "tensor 'layer.0.mlp.up_proj.weight' has shape [24, 16], "),
    ]
    for i, (edit, want) in enumerate(cases):
        msg = bad(tmp_path, f"case{i}", edit)
        assert want in msg and cfg_file in msg, (edit, msg)


def test_a_dinov3_backbone_trains_as_a_vision_cell(tmp_path: Path) -> None:
    """The designer arm on a tiny DINOv3 learner with registers (patch 16, crops of 32 with 16-px local crops)."""
    folder = tmp_path / "ck"
    write_dinov3(folder, "BF16")
    cfg = read_config(folder)
    rng = np.random.default_rng(3)
    head = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in head_parameter_shapes(cfg.hidden_size, HeadConfig(**HEAD)).items()}
    cell = write_cell(tmp_path / "cell", "designer", hf=str(folder), head_arrays=head, crop=32, local=16, subset={"blocks": 1})
    p = run_engine(cell)
    assert p.returncode == 0, p.stderr[-3000:]
    msgs = lines(p.stdout)
    hello, result = msgs[0], msgs[-1]
    assert hello["engine"]["architecture"] == "DINOv3ViTModel"
    assert hello["engine"]["subset"][-1] == "norm.bias" and hello["engine"]["subset"][0].startswith("layer.1.")
    assert [c["step"] for c in result["curve"]] == [0, 1, 2] and all(np.isfinite(c["loss"]) for c in result["curve"])
    assert len(result["curves"]["designer"]) == 2
    out = safetensors_io.read(cell / "outputs.safetensors").arrays
    assert out["features.0.2.patch"].shape == (5, 4, 32)


def test_the_engine_refuses_a_dinov3_folder_that_does_not_match_its_config_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    write_dinov3(folder)
    raw = json.loads((folder / "config.json").read_text())
    raw["num_hidden_layers"] = 3
    (folder / "config.json").write_text(json.dumps(raw))
    rng = np.random.default_rng(3)
    head = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in head_parameter_shapes(16, HeadConfig(**HEAD)).items()}
    p = run_engine(write_cell(tmp_path / "cell", "standard", hf=str(folder), head_arrays=head, crop=32, local=16, subset={"blocks": 1}))
    msgs = lines(p.stdout)
    assert p.returncode == 2 and len(msgs) == 1 and msgs[0]["type"] == "error", (p.stdout, p.stderr[-2000:])
    assert "no tensor 'layer.2.norm1.weight'" in msgs[0]["message"] and "config.json" in msgs[0]["message"]
    raw["num_hidden_layers"], raw["model_type"] = 2, "dinov3"
    (folder / "config.json").write_text(json.dumps(raw))
    p = run_engine(write_cell(tmp_path / "cell2", "standard", hf=str(folder), head_arrays=head, crop=32, local=16, subset={"blocks": 1}))
    msgs = lines(p.stdout)
    assert p.returncode == 2 and "model_type \"dinov3\" is not one of 'dinov2', 'dinov2_with_registers', 'dinov3_vit'" in msgs[0]["message"], msgs


def test_parse_config_reads_rope_theta_from_rope_parameters() -> None:
    raw = dinov3_config(rope_theta=None, rope_parameters={"rope_type": "default", "rope_theta": 50.0})
    assert parse_config(raw, Path("config.json")).rope_theta == 50.0
    assert parse_config(dinov3_config(rope_theta=None), Path("config.json")).rope_theta == 100.0
