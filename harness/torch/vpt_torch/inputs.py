"""A language cell's inputs (docs/TRAINER-PROTOCOL.md, "Inputs"): inputs.json and inputs.safetensors, checked
and turned into dataclasses. Every error names the key or array at fault (InputError: exit status 2).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import PROTOCOL, safetensors_io
from .errors import InputError
from .hf_checkpoint import index_weights
from .hf_config import HfConfig, parse_config, read_config, weight_files
from .lora import LoraSpec, check_given, check_targets

RULES = ("onehot", "uniform-topk", "self-distill", "oracle-gate", "schedule", "designer")
FEEDBACK_KINDS = ("true", "random", "shuffled")


@dataclass(frozen=True)
class GptConfig:
    vocabSize: int
    blockSize: int
    nLayer: int
    nHead: int
    nEmbd: int


@dataclass(frozen=True)
class OptimConfig:
    lr: float
    beta1: float
    beta2: float
    eps: float
    weightDecay: float
    gradClip: float
    warmupSteps: int
    totalSteps: int
    minLrRatio: float


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    batchSize: int  # rows of one microbatch (all processes together)
    seqLen: int
    logEvery: int
    optim: OptimConfig
    accum: int = 1  # microbatches per optimiser step: step s trains on batches[s·accum .. s·accum + accum − 1]


@dataclass(frozen=True)
class DesignConfig:
    topK: int
    alphaMax: float
    metaEvery: int
    burnIn: int
    subsetBlocks: int
    feedbackBatch: int
    value: str
    fdEpsilon: float
    fdScheme: str
    designerWidth: int
    designerLayers: int
    designerHeads: int
    designerLr: float
    designerSteps: int
    probeBatches: int
    probeLr: float
    probePoints: int
    # Options of issue 24 (absent in inputs.json: the paper's designer).
    rSupport: str = "candidates"
    gateFeatures: bool = False
    labelFeature: bool = False
    designerEps: float = 1e-7
    freshFeedback: bool = False


@dataclass(frozen=True)
class EvalConfig:
    maxNewTokens: int
    eosId: int
    stopIds: List[List[int]]
    batchSize: int


@dataclass(frozen=True)
class HfSpec:
    """model.kind 'hf': the decoder's config, where its weights come from, what trains and how frozen weights are kept."""

    config: HfConfig
    raw: Dict[str, Any]  # config.json as written (for transformers)
    init: str  # checkpoint | random
    files: List[Path]  # the weight files (init checkpoint)
    lora: Optional[LoraSpec]  # None: full-parameter training
    weightsDtype: str  # auto | float32 | bfloat16: storage of frozen weights
    implementation: str  # auto | built-in | transformers
    seed: int  # random init, adapters' A, dropout


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    dir: Optional[Path]
    gpt: Optional[GptConfig] = None  # kind vpt-gpt
    hf: Optional[HfSpec] = None  # kind hf

    @property
    def vocab_size(self) -> int:
        return self.gpt.vocabSize if self.gpt is not None else self.hf.config.vocab_size if self.hf is not None else 0

    @property
    def block_size(self) -> int:
        return self.gpt.blockSize if self.gpt is not None else self.hf.config.max_position if self.hf is not None else 0

    @property
    def n_layer(self) -> int:
        return self.gpt.nLayer if self.gpt is not None else self.hf.config.num_layers if self.hf is not None else 0


@dataclass(frozen=True)
class LaunchConfig:
    nproc: int = 1  # data-parallel processes (the engine runs under torch.distributed.run when > 1)
    fsdp: bool = False
    shard_optimizer: bool = False  # AdamW's moments sharded over the processes (ZeRO stage 1)


@dataclass(frozen=True)
class BenchConfig:
    steps: int = 10
    warmup: int = 3


@dataclass(frozen=True)
class Subset:
    """S: the block it starts at and its parameter names, in the order V, norms and the random direction use.
    (kind 'hf': the engine chooses S from `subset.blocks`; until the model is loaded start is −1 and names empty.)"""

    start: int
    names: List[str]


@dataclass(frozen=True)
class CalibrateConfig:
    cycles: int = 5
    warmupCycles: int = 1


@dataclass
class TokenRows:
    """Rows of token ids: inputs[t] predicts targets[t]; mask 1 on tokens whose loss counts; wrong 1 on marked tokens."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    wrong: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.inputs.shape[1])

    def select(self, idx: np.ndarray) -> "TokenRows":
        return TokenRows(self.inputs[idx], self.targets[idx], self.mask[idx], self.wrong[idx])


@dataclass
class CellInputs:
    protocol: int
    task: str
    cell: str
    mode: str
    device: str
    dtype: str
    threads: int
    model: ModelSpec
    train: TrainConfig
    arm_name: str
    arm_version: int
    rule: str
    feedback: str
    design: DesignConfig
    subset: Subset
    noise_seed: int
    alpha_schedule: List[float]
    probe_steps: List[int]
    eval: EvalConfig
    directional: str
    calibrate: CalibrateConfig
    train_rows: TokenRows
    batches: np.ndarray
    feedback_rows: Optional[TokenRows] = None
    feedback_draws: Optional[np.ndarray] = None
    probe_rows: Optional[TokenRows] = None
    probe_feedback: Optional[TokenRows] = None
    validation: Optional[TokenRows] = None
    test: Optional[TokenRows] = None
    prompts: List[np.ndarray] = field(default_factory=list)
    designer_init: Dict[str, np.ndarray] = field(default_factory=dict)
    lora_init: Dict[str, np.ndarray] = field(default_factory=dict)  # `lora.<name>`: the adapters' initial values
    subset_blocks: int = 0
    launch: LaunchConfig = field(default_factory=LaunchConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)


def _get(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise InputError(f"inputs.json: missing key '{where}{key}'")
    return obj[key]


def _num(obj: Mapping[str, Any], key: str, where: str, integer: bool = False) -> Any:
    v = _get(obj, key, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and (not float(v).is_integer())):
        raise InputError(f"inputs.json: '{where}{key}' should be {'an integer' if integer else 'a number'}, got {json.dumps(v)}")
    return int(v) if integer else float(v)


def _str(obj: Mapping[str, Any], key: str, where: str, choices: Optional[Tuple[str, ...]] = None) -> str:
    v = _get(obj, key, where)
    if not isinstance(v, str) or (choices is not None and v not in choices):
        want = f"one of {', '.join(choices)}" if choices else "a string"
        raise InputError(f"inputs.json: '{where}{key}' should be {want}, got {json.dumps(v)}")
    return v


# What an absent design key means (docs/TRAINER-PROTOCOL.md): the harness writes the options only when a suite sets them.
DESIGN_DEFAULTS: Dict[str, Any] = {
    "fdScheme": "central", "rSupport": "candidates", "gateFeatures": False, "labelFeature": False, "designerEps": 1e-7, "freshFeedback": False,
}


def _dataclass_from(cls: Any, obj: Mapping[str, Any], where: str, defaults: Optional[Mapping[str, Any]] = None) -> Any:
    """Fills a dataclass of numbers and strings from `obj` by its field names and annotations."""
    values: Dict[str, Any] = {}
    for name, f in cls.__dataclass_fields__.items():
        if defaults and name in defaults and (not isinstance(obj, Mapping) or name not in obj):
            values[name] = defaults[name]
        elif f.type in ("int", int):
            values[name] = _num(obj, name, where, integer=True)
        elif f.type in ("float", float):
            values[name] = _num(obj, name, where)
        elif f.type in ("str", str):
            values[name] = _str(obj, name, where)
        elif f.type in ("bool", bool):
            v = _get(obj, name, where)
            if not isinstance(v, bool):
                raise InputError(f"inputs.json: '{where}{name}' must be true or false, got {v!r}")
            values[name] = v
        else:
            values[name] = _get(obj, name, where)
    return cls(**values)


def parse_gpt(obj: Mapping[str, Any], where: str) -> GptConfig:
    cfg: GptConfig = _dataclass_from(GptConfig, obj, where)
    if cfg.nEmbd % cfg.nHead != 0:
        raise InputError(f"inputs.json: '{where}nHead' {cfg.nHead} does not divide nEmbd {cfg.nEmbd}")
    return cfg


def _array(arrays: Mapping[str, np.ndarray], name: str, dtype: str, ndim: Optional[int] = None) -> np.ndarray:
    if name not in arrays:
        raise InputError(f"inputs.safetensors: missing array '{name}'")
    a = arrays[name]
    if a.dtype != np.dtype(dtype):
        raise InputError(f"inputs.safetensors: '{name}' is {a.dtype}, expected {dtype}")
    if ndim is not None and a.ndim != ndim:
        raise InputError(f"inputs.safetensors: '{name}' has shape {list(a.shape)}, expected {ndim} dimensions")
    return a


def _rows(arrays: Mapping[str, np.ndarray], prefix: str, vocab: int, with_wrong: bool = False) -> TokenRows:
    inputs = _array(arrays, f"{prefix}.inputs", "int32", 2)
    targets = _array(arrays, f"{prefix}.targets", "int32", 2)
    mask = _array(arrays, f"{prefix}.mask", "float32", 2)
    wrong = _array(arrays, f"{prefix}.wrong", "uint8", 2) if with_wrong else np.zeros(inputs.shape, dtype=np.uint8)
    for name, a in (("targets", targets), ("mask", mask), ("wrong", wrong)):
        if a.shape != inputs.shape:
            raise InputError(f"inputs.safetensors: '{prefix}.{name}' has shape {list(a.shape)}, '{prefix}.inputs' {list(inputs.shape)}")
    for name, a in (("inputs", inputs), ("targets", targets)):
        if a.size and (a.min() < 0 or a.max() >= vocab):
            raise InputError(f"inputs.safetensors: '{prefix}.{name}' holds token ids outside [0, {vocab})")
    return TokenRows(inputs, targets, mask, wrong)


def _has_rows(arrays: Mapping[str, np.ndarray], prefix: str) -> bool:
    return f"{prefix}.inputs" in arrays


def _int_list(v: Any, where: str) -> List[int]:
    if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise InputError(f"inputs.json: '{where}' should be a list of integers")
    return [int(x) for x in v]


MODES = ("run", "calibrate", "bench")
WEIGHTS_DTYPES = ("auto", "float32", "bfloat16")
IMPLEMENTATIONS = ("auto", "built-in", "transformers")


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    v = obj.get(key, default) if isinstance(obj, Mapping) else default
    if not isinstance(v, bool):
        raise InputError(f"inputs.json: '{where}{key}' should be true or false, got {json.dumps(v)}")
    return v


def parse_lora(obj: Any, cfg: HfConfig) -> Optional[LoraSpec]:
    """model.trainable: "full" or {"lora": {r, alpha, dropout, targets}}."""
    if obj == "full":
        return None
    if not isinstance(obj, Mapping) or "lora" not in obj:
        raise InputError(f"inputs.json: 'model.trainable' should be \"full\" or {{\"lora\": {{...}}}}, got {json.dumps(obj)}")
    lo = obj["lora"]
    w = "model.trainable.lora."
    targets = _get(lo, "targets", w)
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise InputError(f"inputs.json: '{w}targets' should be a non-empty list of module names")
    spec = LoraSpec(r=_num(lo, "r", w, integer=True), alpha=_num(lo, "alpha", w), dropout=_num(lo, "dropout", w) if "dropout" in lo else 0.0,
                    targets=tuple(targets))
    if spec.r <= 0:
        raise InputError(f"inputs.json: '{w}r' should be a positive integer, got {spec.r}")
    if not 0.0 <= spec.dropout < 1.0:
        raise InputError(f"inputs.json: '{w}dropout' should be in [0, 1), got {spec.dropout}")
    check_targets(cfg, spec, f"inputs.json: '{w}targets'")
    return spec


def parse_model(model_obj: Mapping[str, Any], folder: Path) -> ModelSpec:
    kind = _str(model_obj, "kind", "model.", ("vpt-gpt", "hf"))
    model_dir: Optional[Path] = None
    if kind == "vpt-gpt" or "dir" in model_obj:
        model_dir = Path(_str(model_obj, "dir", "model."))
        if not model_dir.is_absolute():
            model_dir = (folder / model_dir).resolve()
    if kind == "vpt-gpt":
        return ModelSpec(kind, model_dir, gpt=parse_gpt(_get(model_obj, "gpt", "model."), "model.gpt."))
    init = str(model_obj.get("init", "checkpoint"))
    if init not in ("checkpoint", "random"):
        raise InputError(f"inputs.json: 'model.init' should be checkpoint or random, got {json.dumps(init)}")
    files: List[Path] = []
    if model_dir is not None:
        cfg, raw = read_config(model_dir)
        if init == "checkpoint":
            files = weight_files(model_dir)
            index_weights(cfg, files)  # the headers: every parameter there, in a dtype and shape the engine runs
    elif init == "random" and "config" in model_obj:
        raw = dict(model_obj["config"]) if isinstance(model_obj["config"], Mapping) else {}
        cfg = parse_config(model_obj["config"], "inputs.json: 'model.config'")
    else:
        raise InputError("inputs.json: missing key 'model.dir' (or, with init random, 'model.config')")
    weights = str(model_obj.get("weightsDtype", "auto"))
    if weights not in WEIGHTS_DTYPES:
        raise InputError(f"inputs.json: 'model.weightsDtype' should be one of {', '.join(WEIGHTS_DTYPES)}, got {json.dumps(weights)}")
    impl = str(model_obj.get("implementation", "auto"))
    if impl not in IMPLEMENTATIONS:
        raise InputError(f"inputs.json: 'model.implementation' should be one of {', '.join(IMPLEMENTATIONS)}, got {json.dumps(impl)}")
    seed = _num(model_obj, "seed", "model.", integer=True) if "seed" in model_obj else 0
    lora = parse_lora(model_obj.get("trainable", "full"), cfg)
    return ModelSpec(kind, model_dir, hf=HfSpec(cfg, raw, init, files, lora, weights, impl, seed))


def parse(folder: Path, mode: Optional[str] = None) -> CellInputs:
    """Reads and checks `folder`/inputs.json and `folder`/inputs.safetensors."""
    path = folder / "inputs.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e})") from e
    protocol = _num(doc, "protocol", "", integer=True)
    if protocol != PROTOCOL:
        raise InputError(f"inputs.json: protocol {protocol}; this engine speaks protocol {PROTOCOL}")
    task = _str(doc, "task", "")
    if task != "language":
        raise InputError(f"inputs.json: task '{task}'; vpt_torch trains the language task only")

    mode = mode or _str(doc, "mode", "", MODES)
    model = parse_model(_get(doc, "model", ""), folder)
    V, context, layers = model.vocab_size, model.block_size, model.n_layer

    train_obj = _get(doc, "train", "")
    optim: OptimConfig = _dataclass_from(OptimConfig, _get(train_obj, "optim", "train."), "train.optim.")
    train = TrainConfig(
        steps=_num(train_obj, "steps", "train.", integer=True),
        batchSize=_num(train_obj, "batchSize", "train.", integer=True),
        seqLen=_num(train_obj, "seqLen", "train.", integer=True),
        logEvery=max(1, _num(train_obj, "logEvery", "train.", integer=True)),
        optim=optim,
        accum=_num(train_obj, "accum", "train.", integer=True) if "accum" in train_obj else 1,
    )
    if train.accum < 1:
        raise InputError(f"inputs.json: 'train.accum' should be at least 1, got {train.accum}")
    launch_obj = doc.get("launch", {})
    launch = LaunchConfig(nproc=_num(launch_obj, "nproc", "launch.", integer=True) if "nproc" in launch_obj else 1,
                          fsdp=_bool(launch_obj, "fsdp", "launch.", False),
                          shard_optimizer=_bool(launch_obj, "shardOptimizer", "launch.", False))
    if launch.nproc < 1:
        raise InputError(f"inputs.json: 'launch.nproc' should be at least 1, got {launch.nproc}")
    if launch.fsdp:
        raise InputError("inputs.json: 'launch.fsdp': vpt_torch has no FSDP (every process holds the whole model; "
                         "use LoRA, launch.shardOptimizer to shard AdamW's moments over the processes, or a model whose "
                         "parameters, gradients and AdamW state fit one device)")
    if launch.shard_optimizer and launch.nproc < 2:
        raise InputError("inputs.json: 'launch.shardOptimizer' shards AdamW's moments over several processes, and launch.nproc is 1")
    if train.batchSize % launch.nproc:
        raise InputError(f"inputs.json: 'train.batchSize' {train.batchSize} is not divisible by launch.nproc {launch.nproc}")
    bench_obj = doc.get("bench", {})
    bench = BenchConfig(steps=_num(bench_obj, "steps", "bench.", integer=True) if "steps" in bench_obj else 10,
                        warmup=_num(bench_obj, "warmup", "bench.", integer=True) if "warmup" in bench_obj else 3)
    arm = _get(doc, "arm", "")
    rule = _str(arm, "rule", "arm.", RULES)
    design: DesignConfig = _dataclass_from(DesignConfig, _get(doc, "design", ""), "design.", DESIGN_DEFAULTS)
    if design.value not in ("dot", "cosine"):
        raise InputError(f"inputs.json: 'design.value' should be dot or cosine, got {json.dumps(design.value)}")
    if design.fdScheme not in ("central", "forward"):
        raise InputError(f"inputs.json: 'design.fdScheme' should be central or forward, got {json.dumps(design.fdScheme)}")
    if design.topK > V:
        raise InputError(f"inputs.json: 'design.topK' {design.topK} exceeds the vocabulary size {V}")
    subset_obj = doc.get("subset", {}) if model.kind == "hf" else _get(doc, "subset", "")
    if model.kind == "hf":
        blocks = _num(subset_obj, "blocks", "subset.", integer=True) if "blocks" in subset_obj else design.subsetBlocks
        if not 1 <= blocks <= layers:
            raise InputError(f"inputs.json: 'subset.blocks' {blocks} is outside [1, {layers}] (the model's layers)")
        subset = Subset(start=-1, names=[])
    else:
        names = _get(subset_obj, "names", "subset.")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
            raise InputError("inputs.json: 'subset.names' should be a non-empty list of parameter names")
        subset = Subset(start=_num(subset_obj, "from", "subset.", integer=True), names=list(names))
        if not 0 <= subset.start <= layers:
            raise InputError(f"inputs.json: 'subset.from' {subset.start} is outside [0, {layers}]")
        blocks = layers - subset.start
    eval_obj = _get(doc, "eval", "")
    stop_ids = _get(eval_obj, "stopIds", "eval.")
    if not isinstance(stop_ids, list):
        raise InputError("inputs.json: 'eval.stopIds' should be a list of lists of token ids")
    ev = EvalConfig(
        maxNewTokens=_num(eval_obj, "maxNewTokens", "eval.", integer=True),
        eosId=_num(eval_obj, "eosId", "eval.", integer=True),
        stopIds=[_int_list(s, f"eval.stopIds.{i}") for i, s in enumerate(stop_ids)],
        batchSize=max(1, _num(eval_obj, "batchSize", "eval.", integer=True)),
    )
    directional = doc.get("directional", "auto")
    if directional not in ("exact", "differences", "auto"):
        raise InputError(f"inputs.json: 'directional' should be exact, differences or auto, got {json.dumps(directional)}")
    cal_obj = doc.get("calibrate", {})
    calibrate = CalibrateConfig(
        cycles=_num(cal_obj, "cycles", "calibrate.", integer=True) if "cycles" in cal_obj else 5,
        warmupCycles=_num(cal_obj, "warmupCycles", "calibrate.", integer=True) if "warmupCycles" in cal_obj else 1,
    )
    feedback = _str(doc, "feedback", "", FEEDBACK_KINDS) if rule == "designer" else str(doc.get("feedback", "true"))
    schedule = doc.get("alphaSchedule", [])
    if not isinstance(schedule, list) or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in schedule):
        raise InputError("inputs.json: 'alphaSchedule' should be a list of numbers")
    if rule == "schedule" and not schedule:
        raise InputError("inputs.json: 'alphaSchedule' is empty; the schedule-matched rule needs the per-step α of a v-pretraining cell")

    st = folder / "inputs.safetensors"
    if not st.exists():
        raise InputError(f"{st}: no such file")
    try:
        arrays = safetensors_io.read(st).arrays
    except (ValueError, KeyError) as e:
        raise InputError(f"{st}: {e}") from e
    train_rows = _rows(arrays, "train", V, with_wrong=True)
    if train_rows.seq_len != train.seqLen:
        raise InputError(f"inputs.safetensors: 'train.inputs' rows have {train_rows.seq_len} tokens, train.seqLen is {train.seqLen}")
    if train.seqLen > context:
        raise InputError(f"inputs.json: 'train.seqLen' {train.seqLen} exceeds the model's context {context}")
    batches = _array(arrays, "batches", "int32", 2)
    if batches.shape[1] != train.batchSize or (batches.size and (batches.min() < 0 or batches.max() >= train_rows.rows)):
        raise InputError(f"inputs.safetensors: 'batches' should be [steps·accum, {train.batchSize}] row indices of train.* ({train_rows.rows} rows)")
    if batches.shape[0] < train.steps * train.accum and mode == "run":
        raise InputError(f"inputs.safetensors: 'batches' has {batches.shape[0]} rows, train.steps × train.accum is {train.steps * train.accum}")
    if batches.shape[0] < train.accum:
        raise InputError(f"inputs.safetensors: 'batches' has {batches.shape[0]} rows, fewer than one step's {train.accum} microbatches")

    cell = CellInputs(
        protocol=protocol, task=task, cell=str(doc.get("cell", "")), mode=mode,
        device=_str(doc, "device", "", ("cpu", "cuda", "auto")), dtype=_str(doc, "dtype", "", ("float32", "bfloat16", "auto")),
        threads=max(1, _num(doc, "threads", "", integer=True)), model=model, train=train,
        arm_name=_str(arm, "name", "arm."), arm_version=_num(arm, "version", "arm.", integer=True), rule=rule, feedback=feedback,
        design=design, subset=subset, noise_seed=int(doc.get("noiseSeed", 0)), alpha_schedule=[float(a) for a in schedule],
        probe_steps=_int_list(doc.get("probeSteps", []), "probeSteps"), eval=ev, directional=directional, calibrate=calibrate,
        train_rows=train_rows, batches=batches, subset_blocks=blocks, launch=launch, bench=bench,
    )
    if rule == "designer":
        cell.feedback_rows = _rows(arrays, "feedback", V)
        cell.feedback_draws = _array(arrays, "feedback_draws", "int32", 2)
        draws = cell.feedback_draws
        if draws.size and (draws.min() < 0 or draws.max() >= cell.feedback_rows.rows):
            raise InputError(f"inputs.safetensors: 'feedback_draws' holds rows outside feedback.* ({cell.feedback_rows.rows} rows)")
        if cell.feedback_rows.seq_len > context:
            raise InputError(f"inputs.safetensors: 'feedback.inputs' rows have {cell.feedback_rows.seq_len} tokens, more than the model's context {context}")
        if draws.shape[1] < launch.nproc:
            raise InputError(f"inputs.safetensors: 'feedback_draws' batches have {draws.shape[1]} rows, fewer than launch.nproc {launch.nproc}")
        cell.designer_init = {k[len("designer."):]: v for k, v in arrays.items() if k.startswith("designer.")}
        if not cell.designer_init:
            raise InputError("inputs.safetensors: no 'designer.<name>' arrays (the designer's initial parameters)")
        wpe = cell.designer_init.get("wpe")
        if model.kind == "hf" and wpe is not None and wpe.ndim == 2 and wpe.shape[0] < train.seqLen:
            raise InputError(f"inputs.safetensors: 'designer.wpe' has {wpe.shape[0]} positions, fewer than train.seqLen {train.seqLen}")
        if cell.probe_steps and cell.mode == "run":  # (the bench runs no probe)
            cell.probe_rows = _rows(arrays, "probe", V)
            cell.probe_feedback = _rows(arrays, "probe_feedback", V)
    lora_init = {k[len("lora."):]: v for k, v in arrays.items() if k.startswith("lora.")}
    if model.hf is not None and model.hf.lora is not None and lora_init:
        check_given(model.hf.config, model.hf.lora, lora_init)
        cell.lora_init = lora_init
    if rule == "oracle-gate" and not train_rows.wrong.any():
        raise InputError("inputs.safetensors: 'train.wrong' marks no token; the oracle-gate rule reads the wrong-token labels")
    if _has_rows(arrays, "validation"):
        cell.validation = _rows(arrays, "validation", V)
    if _has_rows(arrays, "test"):
        cell.test = _rows(arrays, "test", V)
    for name in ("validation", "test", "probe"):
        rows = getattr(cell, name if name != "probe" else "probe_rows")
        if rows is not None and rows.seq_len > context:
            raise InputError(f"inputs.safetensors: '{name}.inputs' rows have {rows.seq_len} tokens, more than the model's context {context}")
    if "prompts.ids" in arrays:
        ids = _array(arrays, "prompts.ids", "int32", 1)
        offsets = _array(arrays, "prompts.offsets", "int32", 1)
        if offsets.size == 0 or offsets[0] != 0 or offsets[-1] != ids.size or np.any(np.diff(offsets) <= 0):
            raise InputError("inputs.safetensors: 'prompts.offsets' should rise strictly from 0 to the length of 'prompts.ids'")
        cell.prompts = [ids[offsets[i] : offsets[i + 1]] for i in range(offsets.size - 1)]
        for i, p in enumerate(cell.prompts):
            if p.size > context:
                raise InputError(f"inputs.safetensors: prompt {i} has {p.size} tokens, more than the model's context {context} (the harness cuts prompts to fit)")
            if p.min() < 0 or p.max() >= V:
                raise InputError(f"inputs.safetensors: prompt {i} holds token ids outside [0, {V})")
    return cell
