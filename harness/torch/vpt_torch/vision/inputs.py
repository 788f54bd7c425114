"""A vision cell's inputs (docs/TRAINER-PROTOCOL.md, "Vision cells"): inputs.json and inputs.safetensors checked
and turned into dataclasses; every error names the key or array at fault (InputError: exit status 2).
"""
from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Type, TypeVar

import numpy as np

from .. import PROTOCOL, safetensors_io
from ..errors import InputError
from ..inputs import OptimConfig
from .dino import DinoConfig
from .masks import unet_parameter_shapes, UNetShape
from .hf_backbone import IMPLEMENTATIONS, HfConfig, load_weights, parameter_shapes, read_config
from .hf_backbone import subset_names as hf_subset
from .vit import HeadConfig, VitConfig, check_shapes, head_parameter_shapes, vit_parameter_shapes
from .vit import subset_names as vpt_subset

RULES = ("standard", "designer", "masks")
T = TypeVar("T")


@dataclass(frozen=True)
class VisionTrain:
    steps: int
    batchSize: int
    logEvery: int
    optim: OptimConfig
    optimizerState: Optional[str] = None  # the base stage's AdamW state to continue (train.optimizer 'continued')


@dataclass(frozen=True)
class VisionDesign:
    subsetBlocks: int
    burnIn: int
    metaEvery: int
    metaBatch: int
    downMomentum: float
    valueAfter: bool
    feedbackBatch: int
    designerWidth: int
    designerLevels: int
    designerScale: int
    designerLr: float
    fdEpsilon: float
    valueWeight: float
    keepPenalty: str
    keepWeight: float
    keepCentering: bool
    keepTarget: float
    tvWeight: float
    maskBlurSigma: float
    maskStrength: float
    segWeight: float
    depthWeight: float
    headSteps: int
    headLr: float
    headRefitSteps: int
    probeBatches: int
    probeLr: float


@dataclass(frozen=True)
class SourceInfo:
    seg: bool
    depth: bool
    labelSize: int


@dataclass(frozen=True)
class EvalSet:
    """Images `eval.<index>.images` whose features are wanted for each layer count in `layers`."""

    index: int
    layers: List[int]


@dataclass
class VisionCell:
    folder: Path
    cell: str
    mode: str
    device: str
    dtype: str
    threads: int
    directional: str
    model_dir: Path
    vit: VitConfig
    hf: Optional[HfConfig]  # a backbone in a Hugging Face layout, DINOv2 or DINOv3 (model.kind 'hf-dinov2'; hf_backbone.py)
    head: HeadConfig
    train: VisionTrain
    dino: DinoConfig
    arm: str
    rule: str
    feedback: str
    design: VisionDesign
    subset_from: int
    subset: List[str]
    seed: int
    sources: List[SourceInfo]
    num_classes: int
    ignore_label: int
    meta_steps: List[int]
    probe_batches: int
    backbone: str
    eval_sets: List[EvalSet]
    calibrate_cycle: int
    arrays: Dict[str, np.ndarray]
    init: str = "checkpoint"  # 'random': weights drawn here at the config's shape (benchmarks)
    bench_warmup: int = 0
    implementation: str = "auto"  # model.implementation: auto | built-in | transformers (hf_backbone.which_implementation)

    def array(self, name: str, dtype: Optional[type] = None) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None:
            raise InputError(f"inputs.safetensors: missing array '{name}'")
        if dtype is not None and a.dtype != dtype:
            raise InputError(f"inputs.safetensors: '{name}' is {a.dtype}, expected {np.dtype(dtype)}")
        return a


def _need(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise InputError(f"inputs.json: missing key '{where}{key}'")
    return obj[key]


def _dataclass(cls: Type[T], obj: Mapping[str, Any], where: str) -> T:
    """`cls` from the keys of `obj`; a field without a default that `obj` lacks is an error naming the key."""
    kw = {f.name: _need(obj, f.name, where) for f in fields(cls) if f.name in obj or f.default is MISSING}  # type: ignore[arg-type]
    return cls(**kw)


def read_json(folder: Path) -> Dict[str, Any]:
    f = folder / "inputs.json"
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{f}: no such file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{f}: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{f}: expected a JSON object")
    return raw


def parse(folder: Path, mode: str) -> VisionCell:
    j = read_json(folder)
    if j.get("protocol") != PROTOCOL:
        raise InputError(f"inputs.json: protocol {j.get('protocol')!r}, this engine speaks {PROTOCOL}")
    if j.get("task") != "vision":
        raise InputError(f"inputs.json: task {j.get('task')!r} is not 'vision'")
    model = _need(j, "model", "")
    kind = model.get("kind")
    head = HeadConfig(**{k: v for k, v in _need(model, "head", "model.").items() if k in ("hidden", "bottleneck", "out", "norm", "pool")})
    hf: Optional[HfConfig] = None
    if kind == "hf-dinov2":
        hf = read_config(Path(_need(model, "dir", "model.")))
        crop = int(_need(model, "imageSize", "model."))
        if crop % hf.patch_size:
            raise InputError(f"inputs.json: 'model.imageSize' {crop} is not a multiple of the backbone's patch_size {hf.patch_size} ({Path(model['dir']) / 'config.json'})")
        vit = VitConfig(crop, hf.patch_size, hf.num_channels, hf.hidden_size, hf.num_hidden_layers, hf.num_attention_heads, 1)
    elif kind == "vpt-dino-vit":
        vit = _dataclass(VitConfig, _need(model, "vit", "model."), "model.vit.")
        if vit.imageSize % vit.patchSize:
            raise InputError(f"inputs.json: 'model.vit.patchSize' {vit.patchSize} does not divide 'model.vit.imageSize' {vit.imageSize}")
    else:
        raise InputError(f"inputs.json: 'model.kind' {kind!r} is not 'vpt-dino-vit' or 'hf-dinov2'")
    implementation = str(model.get("implementation", "auto"))
    if implementation not in IMPLEMENTATIONS:
        raise InputError(f"inputs.json: 'model.implementation' should be one of {', '.join(IMPLEMENTATIONS)}, got {json.dumps(implementation)}")
    tr = _need(j, "train", "")
    train = VisionTrain(int(_need(tr, "steps", "train.")), int(_need(tr, "batchSize", "train.")), int(_need(tr, "logEvery", "train.")),
                        _dataclass(OptimConfig, _need(tr, "optim", "train."), "train.optim."),
                        str(tr["optimizerState"]) if tr.get("optimizerState") else None)
    dj = _need(j, "dino", "")
    dino = DinoConfig(**{f.name: dj[f.name] for f in fields(DinoConfig) if f.name in dj})
    arm = _need(j, "arm", "")
    rule = _need(arm, "rule", "arm.")
    if rule not in RULES:
        raise InputError(f"inputs.json: 'arm.rule' {rule!r} is not one of {', '.join(RULES)}")
    design = _dataclass(VisionDesign, _need(j, "design", ""), "design.")
    sub = _need(j, "subset", "")
    ev = _need(j, "eval", "")
    folder_model = Path(_need(model, "dir", "model."))
    st = folder / "inputs.safetensors"
    try:
        arrays = safetensors_io.read(st).arrays
    except FileNotFoundError:
        raise InputError(f"{st}: no such file") from None
    cell = VisionCell(
        folder=folder, cell=str(j.get("cell", "?")), mode=mode, device=str(j.get("device", "auto")), dtype=str(j.get("dtype", "auto")),
        threads=int(j.get("threads", 1)), directional=str(j.get("directional", "auto")), model_dir=folder_model, vit=vit, hf=hf, head=head,
        train=train, dino=dino, arm=str(_need(arm, "name", "arm.")), rule=rule, feedback=str(j.get("feedback", "true")), design=design,
        subset_from=int(sub["from"]) if "from" in sub else max(0, vit.depth - int(_need(sub, "blocks", "subset."))),
        subset=list(sub["names"]) if "names" in sub else (hf_subset(hf, int(sub["blocks"])) if hf else vpt_subset(vit, int(_need(sub, "blocks", "subset.")))),
        seed=int(_need(j, "seed", "")),
        sources=[SourceInfo(bool(s["seg"]), bool(s["depth"]), int(s["labelSize"])) for s in j.get("feedbackSources", [])],
        num_classes=int(j.get("numClasses", 1)), ignore_label=int(j.get("ignoreLabel", 255)),
        meta_steps=[int(x) for x in j.get("metaSteps", [])], probe_batches=int(j.get("probeBatches", 0)),
        backbone=str(ev.get("backbone", "teacher")), eval_sets=[EvalSet(int(s["index"]), [int(x) for x in s["layers"]]) for s in ev.get("sets", [])],
        calibrate_cycle=int(j.get("calibrateCycle", 0)), arrays=arrays, init=str(model.get("init", "checkpoint")),
        bench_warmup=int(j.get("bench", {}).get("warmup", 0)), implementation=implementation,
    )
    check(cell)
    return cell


def check(c: VisionCell) -> None:
    """Shapes of everything the cell reads, before any training: one line naming the array at fault."""
    B, S, steps = c.train.batchSize, c.vit.imageSize, c.train.steps
    g = c.array("crops.global", np.float32)
    if g.shape[0] < steps or tuple(g.shape[1:]) != (2 * B, S, S, c.vit.channels):
        raise InputError(f"inputs.safetensors: 'crops.global' has shape {list(g.shape)}, expected [≥{steps}, {2 * B}, {S}, {S}, {c.vit.channels}]")
    loc = c.array("crops.local", np.float32)
    if loc.shape[0] < steps or (loc.shape[1] and loc.shape[2] % c.vit.patchSize):
        raise InputError(f"inputs.safetensors: 'crops.local' has shape {list(loc.shape)}: its side must be a multiple of patch {c.vit.patchSize}")
    if c.dino.ibot:
        P = (S // c.vit.patchSize) ** 2
        m = c.array("ibot", np.uint8)
        if m.shape[0] < steps or tuple(m.shape[1:]) != (2 * B, P):
            raise InputError(f"inputs.safetensors: 'ibot' has shape {list(m.shape)}, expected [≥{steps}, {2 * B}, {P}]")
    if c.rule == "masks":
        m = c.array("masks", np.float32)
        if m.shape[0] < steps or tuple(m.shape[1:]) != (2 * B, S, S):
            raise InputError(f"inputs.safetensors: 'masks' has shape {list(m.shape)}, expected [≥{steps}, {2 * B}, {S}, {S}]")
    if c.rule == "designer":
        d = c.design
        shape = UNetShape(d.designerWidth, d.designerLevels, c.vit.channels)
        for name, sh in unet_parameter_shapes(shape).items():
            a = c.array(f"designer.{name}", np.float32)
            if list(a.shape) != sh:
                raise InputError(f"inputs.safetensors: 'designer.{name}' has shape {list(a.shape)}, the U-Net expects {sh}")
        if not c.sources:
            raise InputError("inputs.json: 'feedbackSources' is empty: a designer arm needs labelled feedback images")
        for i, s in enumerate(c.sources):
            c.array(f"feedback.{i}.images", np.float32)
            if s.seg:
                seg = c.array(f"feedback.{i}.seg", np.uint8)
                bad = seg[(seg != c.ignore_label) & (seg >= c.num_classes)]
                if bad.size:
                    raise InputError(f"inputs.safetensors: 'feedback.{i}.seg' holds class {int(bad[0])}, outside [0, {c.num_classes}) (inputs.json 'numClasses')")
            if s.depth:
                c.array(f"feedback.{i}.depth", np.float32)
        fd = c.array("feedback_draws", np.int32)
        need = len(c.meta_steps) + c.probe_batches
        if fd.shape[0] < need:
            raise InputError(f"inputs.safetensors: 'feedback_draws' has {fd.shape[0]} rows, the cell's meta steps and probe batches need {need}")
        c.array("feedback_source", np.int32)
        c.array("head_fit", np.int32)
        c.array("head_fit_source", np.int32)
        known = parameter_shapes(c.hf) if c.hf else vit_parameter_shapes(c.vit)
        unknown = [n for n in c.subset if n not in known]
        if unknown:
                raise InputError(f"inputs.json: 'subset.names' names '{unknown[0]}', which the backbone does not have")
    for e in c.eval_sets:
        c.array(f"eval.{e.index}.images", np.float32)
        for L in e.layers:
            if not 1 <= L <= c.vit.depth:
                raise InputError(f"inputs.json: 'eval.sets' asks for the last {L} blocks of a {c.vit.depth}-block ViT")


def load_model_arrays(c: VisionCell) -> Dict[str, np.ndarray]:
    """The learner's starting state (student.*, teacher.*, center), checked against the config: the tfjs engine's base
    checkpoint, or a Hugging Face backbone folder (DINOv2 or DINOv3) with the harness-drawn projection head (`head.*`), teacher = student, centre 0."""
    head_shapes = head_parameter_shapes(c.vit.width, c.head)
    if c.init == "random":
        return random_arrays(c, {**vit_parameter_shapes(c.vit), **head_shapes})
    if c.hf is not None:
        backbone = load_weights(c.model_dir, c.hf)
        for name, shape in head_shapes.items():
            a = c.array(name, np.float32)
            if list(a.shape) != shape:
                raise InputError(f"inputs.safetensors: '{name}' has shape {list(a.shape)}, the head expects {shape}")
        start = {**backbone, **{n: c.arrays[n] for n in head_shapes}}
        out = {"student." + k: v for k, v in start.items()}
        out.update({"teacher." + k: v.copy() for k, v in start.items()})
        out["center"] = np.zeros(c.head.out, dtype=np.float32)
        return out
    f = c.model_dir / "model.safetensors"
    if not f.exists():
        raise InputError(f"{f}: no such file (inputs.json 'model.dir')")
    arrays = safetensors_io.read(f).arrays
    shapes = {**vit_parameter_shapes(c.vit), **head_shapes}
    for prefix in ("student.", "teacher."):
        problem = check_shapes(arrays, shapes, prefix, str(f))
        if problem:
            raise InputError(problem)
    if "center" not in arrays or list(arrays["center"].shape) != [c.head.out]:
        raise InputError(f"{f}: tensor 'center' missing or not of shape [{c.head.out}]")
    return {k: arrays[k] for k in ["student." + n for n in shapes] + ["teacher." + n for n in shapes] + ["center"]}


def random_arrays(c: VisionCell, shapes: Dict[str, List[int]]) -> Dict[str, np.ndarray]:
    """A learner at the config's shape with random weights (benchmarks: speed and memory do not depend on values):
    matrices N(0, 0.02²), LayerNorm gains 1, biases 0; teacher = student, centre 0."""
    rng = np.random.default_rng(0)
    out: Dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name.endswith(".g"):
            a = np.ones(shape, dtype=np.float32)
        elif len(shape) == 1:
            a = np.zeros(shape, dtype=np.float32)
        else:
            a = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        out["student." + name] = a
    out.update({"teacher." + k[len("student."):]: v.copy() for k, v in list(out.items())})
    out["center"] = np.zeros(c.head.out, dtype=np.float32)
    return out
