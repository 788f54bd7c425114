"""Vision cells on the engine, without the harness: a tiny ViT checkpoint and crops written here, run through the CLI
(baseline and designer arms, features out), iBOT's patch masks laid out as the TypeScript lays them, V's designer
gradient by double backward against central differences, and bad inputs as one line with exit status 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

from vpt_torch import safetensors_io
from vpt_torch.vision.dino import DinoConfig, patch_mask, student_loss_from_hidden
from vpt_torch.vision.masks import UNetShape, unet_parameter_shapes
from vpt_torch.vision.vit import HeadConfig, Vit, VitConfig, head_parameter_shapes, subset_names, vit_parameter_shapes

ROOT = Path(__file__).resolve().parents[1]
VIT = {"imageSize": 8, "patchSize": 4, "channels": 3, "width": 8, "depth": 2, "heads": 2, "mlpRatio": 2}
HEAD = {"hidden": 8, "bottleneck": 4, "out": 16, "norm": "batch", "pool": "cls"}
DESIGN: Dict[str, Any] = {
    "subsetBlocks": 1, "burnIn": 1, "metaEvery": 1, "metaBatch": 2, "downMomentum": 0, "valueAfter": False, "feedbackBatch": 2,
    "designerWidth": 4, "designerLevels": 2, "designerScale": 1, "designerLr": 0.05, "fdEpsilon": 0.05, "valueWeight": 1,
    "keepPenalty": "quadratic", "keepWeight": 1, "keepCentering": True, "keepTarget": 0.5, "tvWeight": 0, "maskBlurSigma": 1,
    "maskStrength": 1, "segWeight": 1, "depthWeight": 1, "headSteps": 2, "headLr": 0.01, "headRefitSteps": 1, "probeBatches": 0, "probeLr": 1,
}
OPTIM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.04, "gradClip": 3, "warmupSteps": 1, "totalSteps": 3, "minLrRatio": 0.1}


def write_cell(folder: Path, rule: str = "standard", **over: Any) -> Path:
    """A 3-step cell of a 2-block ViT on 8-px crops (B = 2, two 4-px local crops), with a random base checkpoint; with
    `hf` (a Dinov2Model folder), `head_arrays`, `crop` and `local`, a cell whose learner starts from that backbone."""
    rng = np.random.default_rng(0)
    hf = over.pop("hf", None)
    S, s_loc = over.pop("crop", 8), over.pop("local", 4)
    patch = VIT["patchSize"] if hf is None else json.loads((Path(hf) / "config.json").read_text())["patch_size"]
    P = (S // patch) ** 2
    folder.mkdir(parents=True, exist_ok=True)
    if hf is None:
        vit = VitConfig(**VIT)
        shapes = {**vit_parameter_shapes(vit), **head_parameter_shapes(vit.width, HeadConfig(**HEAD))}
        ck: Dict[str, np.ndarray] = {}
        for name, shape in shapes.items():
            a = (rng.standard_normal(shape) * 0.2).astype(np.float32)
            if name.endswith(".g"):
                a = np.ones(shape, dtype=np.float32)
            ck["student." + name] = a
            ck["teacher." + name] = a.copy()
        ck["center"] = np.zeros(HEAD["out"], dtype=np.float32)
        model_dir = folder / "base"
        model_dir.mkdir(parents=True, exist_ok=True)
        safetensors_io.write(model_dir / "model.safetensors", over.pop("checkpoint", ck))
        model: Dict[str, Any] = {"kind": "vpt-dino-vit", "dir": str(model_dir), "vit": over.pop("vit", VIT), "head": HEAD}
        subset: Dict[str, Any] = {"from": 1, "names": subset_names(vit, 1)}
    else:
        model = {"kind": "hf-dinov2", "dir": hf, "imageSize": S, "head": HEAD}
        subset = over.pop("subset")
    steps, B = 3, 2
    arrays: Dict[str, np.ndarray] = {
        "crops.global": rng.standard_normal((steps, 2 * B, S, S, 3)).astype(np.float32),
        "crops.local": rng.standard_normal((steps, 2 * B, s_loc, s_loc, 3)).astype(np.float32),
        "ibot": (rng.random((steps, 2 * B, P)) < 0.3).astype(np.uint8),
        "eval.0.images": rng.standard_normal((5, S, S, 3)).astype(np.float32),
        **over.pop("head_arrays", {}),
    }
    extra: Dict[str, Any] = {}
    if rule == "designer":
        for name, shape in unet_parameter_shapes(UNetShape(4, 2, 3)).items():
            arrays[f"designer.{name}"] = (rng.standard_normal(shape) * 0.3).astype(np.float32)
        arrays["feedback.0.images"] = rng.standard_normal((6, S, S, 3)).astype(np.float32)
        arrays["feedback.0.seg"] = rng.integers(0, 3, (6, 8, 8)).astype(np.uint8)
        arrays["feedback.0.seg"][0, 0, :4] = 255
        arrays["feedback.0.depth"] = rng.uniform(0.5, 3, (6, 8, 8)).astype(np.float32)
        arrays["feedback_draws"] = np.array([[0, 1], [2, 3]], dtype=np.int32)
        arrays["feedback_source"] = np.zeros(2, dtype=np.int32)
        arrays["head_fit"] = np.array([[4, 5], [0, -1]], dtype=np.int32)
        arrays["head_fit_source"] = np.zeros(2, dtype=np.int32)
        arrays["meta_ibot"] = (rng.random((2, 4, P)) < 0.3).astype(np.uint8)
        extra = {"feedback": "true", "feedbackSources": [{"seg": True, "depth": True, "labelSize": 8}], "numClasses": 3, "ignoreLabel": 255, "metaSteps": [1, 2]}
    arrays.update(over.pop("arrays", {}))
    inputs = {
        "protocol": 1, "task": "vision", "cell": "test/vision", "mode": "run", "device": "cpu", "dtype": "float32", "threads": 1,
        "directional": over.pop("directional", "differences"), "model": model,
        "train": {"steps": steps, "batchSize": B, "logEvery": 1, "optim": OPTIM},
        "dino": {"ibotWeight": 1.0, "koleoWeight": 0.1},
        "arm": {"name": rule, "version": 1, "rule": rule}, "design": DESIGN, "subset": subset, "seed": 1,
        "eval": {"backbone": "teacher", "sets": [{"index": 0, "layers": [1, 2]}]}, **extra, **over,
    }
    (folder / "inputs.json").write_text(json.dumps(inputs))
    safetensors_io.write(folder / "inputs.safetensors", arrays)
    return folder


def run_engine(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpt_torch", "run", str(folder)], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}, timeout=300)


def lines(out: str) -> list:
    return [json.loads(x[len("@@vpt "):]) for x in out.splitlines() if x.startswith("@@vpt ")]


def test_baseline_and_designer_cells_train_and_write_features(tmp_path: Path) -> None:
    for rule in ("standard", "designer"):
        folder = write_cell(tmp_path / rule, rule)
        p = run_engine(folder)
        assert p.returncode == 0, p.stderr[-2000:]
        msgs = lines(p.stdout)
        assert msgs[0]["type"] == "hello" and msgs[0]["engine"]["paths"]["directional"] == "finite-differences"
        result = msgs[-1]
        assert result["type"] == "result" and [c["step"] for c in result["curve"]] == [0, 1, 2]
        assert all(np.isfinite(c["loss"]) for c in result["curve"])
        out = safetensors_io.read(folder / "outputs.safetensors").arrays
        assert out["features.0.1.cls"].shape == (5, 8) and out["features.0.2.patch"].shape == (5, 4, 16)
        if rule == "designer":
            d = result["curves"]["designer"]
            assert [p["step"] for p in d] == [1, 2] and all(np.isfinite(p["value"]) for p in d)
            assert 0 < result["diagnostics"]["keep_ratio"] < 1 and result["diagnostics"]["meta_steps"] == 2


def test_ibot_patch_mask_blanks_the_pixels_of_its_patch() -> None:
    vit = Vit(VitConfig(**VIT), HeadConfig(**HEAD), torch.device("cpu"))
    mask = np.zeros((1, 4), dtype=np.uint8)
    mask[0, 1] = 1  # grid row 0, column 1 of a 2×2 grid of 4-px patches
    m = patch_mask(vit, mask, torch.device("cpu"))
    keep = m.keep[0, :, :, 0]
    assert keep[:4, 4:].sum() == 0 and keep.sum() == 64 - 16
    assert m.rows.tolist() == [2]  # token 1 + t of view 0 (CLS first)


def test_double_backward_value_matches_central_differences() -> None:
    """V̂'s designer gradient by second-order autograd against central differences at a small ε (float64)."""
    torch.manual_seed(0)
    cfg = VitConfig(**VIT)
    vit = Vit(cfg, HeadConfig(**HEAD), torch.device("cpu"))
    shapes = {**vit_parameter_shapes(cfg), **head_parameter_shapes(cfg.width, HeadConfig(**HEAD))}
    params = {n: (torch.randn(s, dtype=torch.float64) * 0.3 if not n.endswith(".g") else torch.ones(s, dtype=torch.float64)) for n, s in shapes.items()}
    names = subset_names(cfg, 1)
    unit = {n: torch.randn(params[n].shape, dtype=torch.float64) for n in names}
    norm = torch.sqrt(sum((u * u).sum() for u in unit.values()))
    unit = {n: u / norm for n, u in unit.items()}
    x = torch.randn(4, 8, 8, 3, dtype=torch.float64, requires_grad=True)
    targets = torch.softmax(torch.randn(4, 16, dtype=torch.float64), dim=1)
    dino = DinoConfig(koleoWeight=0.1)

    def loss(p: Dict[str, torch.Tensor], h: torch.Tensor) -> torch.Tensor:
        return student_loss_from_hidden(vit, p, h, None, 1, targets, 2, dino, None, None)

    h = vit.hidden_below(params, x, 1)
    p = dict(params)
    leaves = [params[n].clone().requires_grad_(True) for n in names]
    p.update(zip(names, leaves))
    gs = torch.autograd.grad(loss(p, h), leaves, create_graph=True)
    exact = sum((unit[n] * g).sum() for n, g in zip(names, gs))
    (gx_exact,) = torch.autograd.grad(exact, x)
    eps = 1e-4
    h2 = vit.hidden_below(params, x, 1)
    plus = dict(params, **{n: params[n] + eps * unit[n] for n in names})
    minus = dict(params, **{n: params[n] - eps * unit[n] for n in names})
    fd = (loss(plus, h2) - loss(minus, h2)) / (2 * eps)
    (gx_fd,) = torch.autograd.grad(fd, x)
    assert abs(float(exact) - float(fd)) <= 1e-6 * max(1.0, abs(float(exact)))
    assert float((gx_exact - gx_fd).norm() / gx_exact.norm()) < 1e-5


def test_bad_inputs_are_one_line_before_training(tmp_path: Path) -> None:
    bad_vit = dict(VIT, patchSize=3)
    cases = {
        "patch": ({"vit": bad_vit}, "'model.vit.patchSize' 3 does not divide 'model.vit.imageSize' 8"),
        "crops": ({"arrays": {"crops.global": np.zeros((3, 4, 8, 8, 1), dtype=np.float32)}}, "'crops.global' has shape"),
        "class": ({"arrays": {"feedback.0.seg": np.full((6, 8, 8), 7, dtype=np.uint8)}}, "'feedback.0.seg' holds class 7"),
    }
    for name, (over, want) in cases.items():
        folder = write_cell(tmp_path / name, "designer", **over)
        p = run_engine(folder)
        msgs = lines(p.stdout)
        assert p.returncode == 2, (name, p.stdout, p.stderr[-1000:])
        assert len(msgs) == 1 and msgs[0]["type"] == "error" and want in msgs[0]["message"], (name, msgs)
    ck_folder = tmp_path / "checkpoint"
    wrong = {"student.patch.w": np.zeros((1, 1), dtype=np.float32)}
    p = run_engine(write_cell(ck_folder, checkpoint=wrong))
    msgs = lines(p.stdout)
    assert p.returncode == 2 and len(msgs) == 1 and msgs[0]["type"] == "error", (p.stdout, p.stderr[-1000:])
    assert "model.safetensors" in msgs[0]["message"] and "'student.patch.w'" in msgs[0]["message"], msgs
