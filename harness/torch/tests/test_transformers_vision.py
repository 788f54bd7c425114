"""hf_transformers_vision.py (transformers' DINOv2 / DINOv3 classes driven over the parameter dictionary) against the
built-in dinov2.py / dinov3.py on tiny random checkpoints: on a stand-in with transformers' module trees and call
conventions (fake_transformers_vision.py) wherever transformers is absent, in float64 to 1e-10: the tokens at the
checkpoint's grid and another (Dinov2's resized positions, DINOv3's RoPE), hidden_below / forward_from at every split,
the multi-layer features, the DINO loss's gradients over S with S replaced by perturbed copies, and the designer's
double backward through S to the images; the model keeps no weights of its own; the choice of implementation
(hf_backbone.which_implementation / paths / backbone_vit) with a stand-in `transformers` module in sys.modules, an
older one, and none. Against real transformers only where it imports (skipped here, saying why)."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest
import torch

import fake_transformers_vision as fake
from test_vision import HEAD, ROOT, lines, write_cell
from test_vision_dinov2 import write_dinov2
from test_vision_dinov3 import write_dinov3
from vpt_torch.errors import InputError
from vpt_torch.learner_model import transformers_usable
from vpt_torch.vision import hf_backbone
from vpt_torch.vision.dino import DinoConfig, student_loss_from_hidden
from vpt_torch.vision.hf_transformers_vision import TransformersVit
from vpt_torch.vision.inputs import VisionCell
from vpt_torch.vision.vit import HeadConfig, Params, Vit, head_parameter_shapes

CPU = torch.device("cpu")
ATOL = 1e-10  # float64, the stand-in's arithmetic vs the built-in's (both exact up to the order of operations)
# case: (writer of the folder, crops: the checkpoint's grid, then another)
CASES: Dict[str, Tuple[Callable[[Path], Any], Tuple[int, ...]]] = {
    "dinov2": (lambda f: write_dinov2(f, 14, 28, registers=0, layers=3), (28, 42)),
    "dinov2-registers": (lambda f: write_dinov2(f, 14, 28, registers=2, layers=3), (28, 56)),
    "dinov3": (lambda f: write_dinov3(f, num_hidden_layers=3), (32, 48)),
    "dinov3-gated-silu": (lambda f: write_dinov3(f, num_hidden_layers=3, use_gated_mlp=True, hidden_act="silu",
                                                  num_register_tokens=0, key_bias=True), (32, 64)),
}


def folder_of(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / case
    CASES[case][0](folder)
    return folder


def weights(folder: Path, dtype: torch.dtype = torch.float64) -> Tuple[hf_backbone.HfConfig, Params]:
    c = hf_backbone.read_config(folder)
    w = {k: torch.from_numpy(v).to(dtype) for k, v in hf_backbone.load_weights(folder, c).items()}
    rng = np.random.default_rng(7)
    for k, s in head_parameter_shapes(c.hidden_size, HeadConfig(**HEAD)).items():
        w[k] = torch.from_numpy(rng.standard_normal(s) * 0.3).to(dtype)
    return c, w


def pair(folder: Path, crop: int) -> Tuple[Vit, TransformersVit, hf_backbone.HfConfig, Params]:
    """The built-in ViT and the stand-in driven by hf_transformers_vision, over the same float64 dictionary."""
    c, w = weights(folder)
    raw = json.loads((folder / "config.json").read_text())
    model = fake.model_for(raw.pop("model_type"), **raw).double()
    built_in = hf_backbone.backbone_vit(c, crop, HeadConfig(**HEAD), CPU, "built-in")
    assert not isinstance(built_in, TransformersVit)
    return built_in, TransformersVit(model, c, crop, HeadConfig(**HEAD), CPU), c, w


def images(crop: int, n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed + crop).standard_normal((n, crop, crop, 3)))


def gap(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max())


@pytest.mark.parametrize("case", list(CASES))
def test_tokens_and_every_split_match_the_built_in(tmp_path: Path, case: str) -> None:
    folder = folder_of(tmp_path, case)
    worst = 0.0
    for crop in CASES[case][1]:
        b, t, c, w = pair(folder, crop)
        assert t.prefix == b.prefix == 1 + c.num_register_tokens
        x = images(crop)
        with torch.no_grad():
            full = b.tokens(w, x)
            assert full.shape == (2, b.prefix + (crop // c.patch_size) ** 2, c.hidden_size)
            gaps = [gap(t.tokens(w, x), full), gap(t.embed(w, x), b.embed(w, x))]
            for start in range(c.num_hidden_layers + 1):
                h = t.hidden_below(w, x, start)
                gaps += [gap(h, b.hidden_below(w, x, start)), gap(t.forward_from(w, h, start), full)]
            for layers in (1, 2):
                for ours, theirs in zip(t.layer_features(w, x, layers), b.layer_features(w, x, layers)):
                    gaps.append(gap(ours, theirs))
            gaps.append(gap(t.pooled_from(w, t.embed(w, x), 0), b.pooled_from(w, b.embed(w, x), 0)))
        worst = max(worst, *gaps)
        calls = t.model.config.calls  # type: ignore[union-attr]
        assert calls["eager"] > 0 and calls["sdpa"] == 0  # on the CPU: transformers' written-out attention, as built in
    print(f"{case}: largest difference {worst:.1e}")
    assert worst < ATOL


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_over_s_and_the_designers_double_backward(tmp_path: Path, case: str) -> None:
    """The DINO student loss from the hidden state below S (the last 2 layers and the final norm): its value with S
    replaced by perturbed copies, its gradient over S, and the gradient of ĝᵀ∇_S L (double backward) to the images."""
    folder = folder_of(tmp_path, case)
    crop = CASES[case][1][-1]
    b, t, c, w = pair(folder, crop)
    names = hf_backbone.subset_names(c, 2)
    start = c.num_hidden_layers - 2
    g = torch.Generator().manual_seed(3)
    unit = {n: torch.randn(w[n].shape, generator=g, dtype=torch.float64) for n in names}
    moved = dict(w, **{n: w[n] + 0.1 * unit[n] for n in names})
    targets = torch.softmax(torch.randn(4, HEAD["out"], generator=g, dtype=torch.float64), dim=1)
    dino = DinoConfig(koleoWeight=0.1)
    out: Dict[str, List[torch.Tensor]] = {}
    for label, vit in (("built-in", b), ("transformers", t)):
        x = images(crop, 4, seed=1).requires_grad_(True)
        h = vit.hidden_below(w, x, start)

        def loss(p: Params) -> torch.Tensor:
            return student_loss_from_hidden(vit, p, h, None, start, targets, 2, dino, None, None)

        p = dict(moved)
        leaves = [moved[n].clone().requires_grad_(True) for n in names]
        p.update(zip(names, leaves))
        value = loss(p)
        gs = torch.autograd.grad(value, leaves, create_graph=True)
        slope = sum(((unit[n] * gn).sum() for n, gn in zip(names, gs)), torch.zeros((), dtype=torch.float64))
        (gx,) = torch.autograd.grad(slope, x)
        out[label] = [value.detach(), loss(w).detach(), *[gn.detach() for gn in gs], gx]
    gaps = [gap(a, bb) for a, bb in zip(out["transformers"], out["built-in"])]
    print(f"{case}: loss, gradients over S, d(ĝᵀ∇L)/dx: largest difference {max(gaps):.1e}")
    assert max(gaps) < 1e-9
    assert abs(float(out["built-in"][0] - out["built-in"][1])) > 1e-6  # S's perturbation matters
    assert float(out["built-in"][-1].abs().max()) > 0


def test_the_dictionary_supplies_every_weight(tmp_path: Path) -> None:
    """The model's own copies of the checkpoint's tensors are released: a dictionary that lacks one fails loudly
    instead of running on transformers' random initial weights; the mask token (never read) stays the model's."""
    folder = folder_of(tmp_path, "dinov3")
    b, t, c, w = pair(folder, 32)
    own = dict(t.model.named_parameters())
    supplied = hf_backbone.parameter_shapes(c)
    assert all(own[n].numel() == 0 for n in supplied)
    assert own["embeddings.mask_token"].numel() == c.hidden_size
    x = images(32)
    short = {k: v for k, v in w.items() if k != "layer.1.mlp.up_proj.weight"}
    with pytest.raises(RuntimeError):
        t.tokens(short, x)
    rope = t.model.rope_embeddings  # type: ignore[union-attr]
    calls = rope.calls
    t.tokens(w, x)
    t.tokens(w, x)
    assert rope.calls == calls  # the RoPE tables: computed once per grid and dtype
    assert not t.model.training


def test_choice_with_a_transformers_module_in_sys_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto` and `transformers` build transformers' class from the folder's config.json and run it over the float32
    dictionary (as the learner holds it); `built-in` the built-in; paths say which."""
    module = fake.transformers_module("4.56.1")
    monkeypatch.setitem(sys.modules, "transformers", module)
    assert transformers_usable()
    head = HeadConfig(**HEAD)
    for case in ("dinov2-registers", "dinov3"):
        folder = folder_of(tmp_path, case)
        c, w32 = weights(folder, torch.float32)
        assert hf_backbone.which_implementation(c, "auto") == hf_backbone.which_implementation(c, "transformers") == "transformers"
        assert hf_backbone.paths(c, "auto") == {"models": "transformers", "transformers": "4.56.1"}
        assert hf_backbone.paths(c, "built-in") == {"models": "built-in"}
        crop = CASES[case][1][-1]
        vit = hf_backbone.backbone_vit(c, crop, head, CPU, "auto", folder)
        assert isinstance(vit, TransformersVit) and type(vit.model).__name__ == hf_backbone.hf_transformers_vision.class_name(c)
        assert vit.model is module.built[-1]  # type: ignore[attr-defined]
        built_in = hf_backbone.backbone_vit(c, crop, head, CPU, "built-in", folder)
        assert not isinstance(built_in, TransformersVit)
        x = images(crop).float()
        with torch.no_grad():
            worst = gap(vit.tokens(w32, x), built_in.tokens(w32, x))
        print(f"{case}, float32: largest difference {worst:.1e}")
        assert worst < 1e-5
        # without a folder: the parsed config under transformers' keys
        again = hf_backbone.backbone_vit(c, crop, head, CPU, "transformers")
        with torch.no_grad():
            assert gap(again.tokens(w32, x), vit.tokens(w32, x)) == 0.0
    assert not isinstance(hf_backbone.backbone_vit(c, 32, head, CPU), TransformersVit)  # the default: built-in


def test_choice_where_transformers_lacks_the_class_or_is_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v2 = hf_backbone.read_config(folder_of(tmp_path, "dinov2"))
    v3 = hf_backbone.read_config(folder_of(tmp_path, "dinov3"))
    monkeypatch.setitem(sys.modules, "transformers", fake.transformers_module("4.50.0", ("Dinov2Model", "Dinov2WithRegistersModel")))
    assert hf_backbone.which_implementation(v2, "auto") == "transformers"
    assert hf_backbone.which_implementation(v3, "auto") == "built-in"
    with pytest.raises(InputError) as e:
        hf_backbone.which_implementation(v3, "transformers")
    assert "DINOv3ViTModel" in str(e.value) and "\n" not in str(e.value)
    monkeypatch.setitem(sys.modules, "transformers", fake.transformers_module("4.47.1"))
    assert hf_backbone.paths(v2, "auto") == {"models": "built-in"}
    monkeypatch.setitem(sys.modules, "transformers", None)  # not importable
    assert not transformers_usable()
    for c in (v2, v3):
        assert hf_backbone.which_implementation(c, "auto") == "built-in"
        with pytest.raises(InputError):
            hf_backbone.which_implementation(c, "transformers")
    with pytest.raises(InputError) as e:
        hf_backbone.which_implementation(v2, "timm")
    assert "'model.implementation'" in str(e.value)


STAND_IN_PACKAGE = """import fake_transformers_vision as _f
_m = _f.transformers_module("4.56.1")
__version__ = _m.__version__
AutoConfig, AutoModel = _m.AutoConfig, _m.AutoModel
Dinov2Model, Dinov2WithRegistersModel, DINOv3ViTModel = _f.Dinov2Model, _f.Dinov2WithRegistersModel, _f.DINOv3ViTModel
"""


@pytest.mark.skipif("implementation" not in {f.name for f in fields(VisionCell)},
                    reason="vision/inputs.py does not read model.implementation yet: the learner and the hello line do not "
                           "reach hf_backbone's choice (the wiring is three small changes to inputs.py, learner.py, main.py)")
def test_a_cell_records_which_implementation_ran(tmp_path: Path) -> None:
    """Through the engine, with the stand-in importable as `transformers`: model.implementation 'transformers' and
    'auto' run it and say so in paths.models / paths.transformers, 'built-in' the built-in; the step-0 loss agrees
    (float32); 'transformers' where it does not import is one line, exit 2."""
    site = tmp_path / "site"
    (site / "transformers").mkdir(parents=True)
    (site / "transformers" / "__init__.py").write_text(STAND_IN_PACKAGE)
    folder = tmp_path / "ck"
    write_dinov3(folder)
    c = hf_backbone.read_config(folder)
    rng = np.random.default_rng(3)
    head = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in head_parameter_shapes(c.hidden_size, HeadConfig(**HEAD)).items()}
    env = {"PYTHONPATH": f"{ROOT}:{site}:{ROOT / 'tests'}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    first = {}
    for impl in ("built-in", "transformers", "auto"):
        cell = write_cell(tmp_path / impl, "designer", hf=str(folder), head_arrays=head, crop=32, local=16, subset={"blocks": 1})
        j = json.loads((cell / "inputs.json").read_text())
        j["model"]["implementation"] = impl
        (cell / "inputs.json").write_text(json.dumps(j))
        p = subprocess.run([sys.executable, "-m", "vpt_torch", "run", str(cell)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        msgs = lines(p.stdout)
        ran = "built-in" if impl == "built-in" else "transformers"
        assert msgs[0]["engine"]["paths"]["models"] == ran
        assert msgs[0]["engine"]["paths"].get("transformers") == (None if ran == "built-in" else "4.56.1")
        first[impl] = msgs[-1]["curve"][0]["loss"]
    assert abs(first["transformers"] - first["built-in"]) <= 1e-5 * abs(first["built-in"]) and first["auto"] == first["transformers"]
    p = subprocess.run([sys.executable, "-m", "vpt_torch", "run", str(tmp_path / "transformers")], cwd=ROOT, capture_output=True, text=True,
                       env=dict(env, PYTHONPATH=str(ROOT)), timeout=300)
    errors = [m["message"] for m in lines(p.stdout) if m["type"] == "error"]
    if not transformers_usable():  # (where real transformers is installed, it runs instead)
        assert p.returncode == 2 and "'model.implementation' is transformers" in errors[0], (p.returncode, errors, p.stderr[-2000:])


# -- real transformers ------------------------------------------------------------------------------------------------
def real_class_or_skip(c: hf_backbone.HfConfig) -> None:
    if not hf_backbone.hf_transformers_vision.usable(c):
        pytest.skip(f"this transformers has no {hf_backbone.hf_transformers_vision.class_name(c)}")


@pytest.mark.skipif(
    not transformers_usable(),
    reason="transformers >= 4.48 does not import in this interpreter: the engine runs its built-in dinov2.py / dinov3.py "
           "here (test_vision_dinov2.py / test_vision_dinov3.py check them against independent float64 forwards; the tests "
           "above check hf_transformers_vision on a stand-in); this comparison runs where transformers is installed")
@pytest.mark.parametrize("case", list(CASES))
def test_real_transformers_against_the_built_in(tmp_path: Path, case: str) -> None:
    """float64 dictionaries; to 1e-5 (transformers' eager attention takes its softmax in float32 and DINOv3's RoPE
    angles are float32)."""
    folder = folder_of(tmp_path, case)
    c, w = weights(folder)
    real_class_or_skip(c)
    head = HeadConfig(**HEAD)
    worst = 0.0
    for crop in CASES[case][1]:
        t = hf_backbone.backbone_vit(c, crop, head, CPU, "transformers", folder)
        b = hf_backbone.backbone_vit(c, crop, head, CPU, "built-in", folder)
        assert isinstance(t, TransformersVit)
        x = images(crop)
        names = hf_backbone.subset_names(c, 1)
        start = c.num_hidden_layers - 1
        full = b.tokens(w, x).detach()
        gaps = [gap(t.tokens(w, x).detach(), full)]
        for s in range(c.num_hidden_layers + 1):
            h = t.hidden_below(w, x, s)
            gaps += [gap(h.detach(), b.hidden_below(w, x, s).detach()), gap(t.forward_from(w, h, s).detach(), full)]
        grads = []
        for vit in (b, t):
            leaves = [w[n].clone().requires_grad_(True) for n in names]
            p = dict(w, **dict(zip(names, leaves)))
            y = vit.forward_from(p, vit.hidden_below(w, x, start), start)
            grads.append(torch.autograd.grad((y * torch.sin(y.detach())).sum(), leaves))
        gaps += [gap(gt, gb) for gb, gt in zip(*grads)]
        worst = max(worst, *gaps)
    print(f"{case}: transformers {hf_backbone.hf_transformers_vision.version()} vs built-in, largest difference {worst:.1e}")
    assert worst < 1e-5
