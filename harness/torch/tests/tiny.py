"""Tiny synthetic cells for the tests: a GPT checkpoint folder, a learnable toy stream and every protocol array,
written into a folder as the harness would write them."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from vpt_torch import safetensors_io
from vpt_torch.designer import DesignerShape
from vpt_torch.gpt import parameter_shapes, subset_names
from vpt_torch.inputs import GptConfig

ROOT = Path(__file__).resolve().parents[1]  # harness/torch
PYTHON = sys.executable

# The engine's environment: ours (CUDA's variables, where there are any) with this package first and one thread.
ENGINE_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

TINY = GptConfig(vocabSize=16, blockSize=16, nLayer=2, nHead=2, nEmbd=16)
EOS = 15


def init_gpt(cfg: GptConfig, seed: int) -> Dict[str, np.ndarray]:
    """GPT-2 style initial values (N(0, 0.02²), residual projections by 1/√(2L)), scaled up a little so a tiny
    model's logits are not all ties."""
    g = np.random.default_rng(seed)
    out: Dict[str, np.ndarray] = {}
    for name, shape in parameter_shapes(cfg).items():
        if name.endswith(".g"):
            out[name] = np.ones(shape, np.float32)
        elif name.endswith((".b", ".bo", ".b1", ".b2")):
            out[name] = (0.01 * g.standard_normal(shape)).astype(np.float32)
        else:
            std = 0.2 / math.sqrt(2 * cfg.nLayer) if name.endswith(("attn.wo", "mlp.w2")) else 0.2
            out[name] = (std * g.standard_normal(shape)).astype(np.float32)
    return out


def init_designer(shape: DesignerShape, seed: int) -> Dict[str, np.ndarray]:
    g = np.random.default_rng(seed)
    out: Dict[str, np.ndarray] = {}
    for name, s in shape.shapes().items():
        if name.endswith(".g"):
            out[name] = np.ones(s, np.float32)
        elif name in ("score.logp",):
            out[name] = np.ones(s, np.float32)
        elif name in ("score.true",):
            out[name] = np.zeros(s, np.float32)
        elif name == "gate.b":
            out[name] = np.full(s, -1.0, np.float32)
        elif name.endswith((".b", ".bo", ".b1", ".b2")):
            out[name] = np.zeros(s, np.float32)
        else:
            out[name] = (0.3 * g.standard_normal(s)).astype(np.float32)
    return out


def write_checkpoint(folder: Path, cfg: GptConfig = TINY, seed: int = 0) -> Dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    params = init_gpt(cfg, seed)
    safetensors_io.write(folder / "model.safetensors", params, {"format": "vpt-gpt"}, use_library=False)
    (folder / "config.json").write_text(json.dumps({"architecture": "vpt-gpt", "gpt": asdict(cfg)}))
    return params


def counting_rows(n: int, T: int, g: np.random.Generator, wrong_fraction: float = 0.1) -> Dict[str, np.ndarray]:
    """Packed rows of a learnable stream: x_{t+1} = x_t + 1 (mod 15); the last three quarters count (mask 1);
    a few answer targets are off by one and marked wrong."""
    start = g.integers(0, EOS, size=(n, 1))
    seq = (start + np.arange(T + 1)) % EOS
    inputs, targets = seq[:, :-1].astype(np.int32), seq[:, 1:].astype(np.int32)
    mask = np.zeros((n, T), np.float32)
    mask[:, T // 4:] = 1
    wrong = ((g.random((n, T)) < wrong_fraction) & (mask > 0)).astype(np.uint8)
    targets = np.where(wrong > 0, (targets + 1) % EOS, targets).astype(np.int32)
    return {"inputs": inputs, "targets": targets, "mask": mask, "wrong": wrong}


def padded_rows(n: int, T: int, g: np.random.Generator, min_len: int = 5) -> Dict[str, np.ndarray]:
    """Right-padded problems (end-of-text padding): a counting question, then its answer tokens (mask 1)."""
    inputs = np.full((n, T), EOS, np.int32)
    targets = np.full((n, T), EOS, np.int32)
    mask = np.zeros((n, T), np.float32)
    for i in range(n):
        length = int(g.integers(min_len, T - 2))
        s = int(g.integers(0, EOS))
        seq = (s + np.arange(length + 1)) % EOS
        seq[-1] = EOS
        inputs[i, :length] = seq[:-1]
        targets[i, :length] = seq[1:]
        mask[i, length // 2:length] = 1
    return {"inputs": inputs, "targets": targets, "mask": mask}


@dataclass
class CellSpec:
    rule: str = "onehot"
    arm: str = "baseline"
    feedback: str = "true"
    steps: int = 24
    batch: int = 8
    seq: int = 16
    log_every: int = 4
    lr: float = 1e-2
    value: str = "dot"
    fd_scheme: str = "central"
    fd_epsilon: float = 1e-3
    designer_steps: int = 1
    meta_every: int = 2
    burn_in: int = 2
    probe_steps: List[int] = field(default_factory=list)
    probe_batches: int = 5
    directional: str = "exact"
    dtype: str = "float32"
    alpha_schedule: List[float] = field(default_factory=list)
    n_prompts: int = 3
    extra: Dict[str, Any] = field(default_factory=dict)


def design_dict(spec: CellSpec) -> Dict[str, Any]:
    return {
        "topK": 4, "alphaMax": 0.5, "metaEvery": spec.meta_every, "burnIn": spec.burn_in, "subsetBlocks": 1,
        "feedbackSize": 12, "feedbackBatch": 4, "value": spec.value, "fdEpsilon": spec.fd_epsilon, "fdScheme": spec.fd_scheme,
        "designerWidth": 8, "designerLayers": 1, "designerHeads": 2, "designerLr": 1e-2, "designerSteps": spec.designer_steps,
        "probeBatches": spec.probe_batches, "probeLr": 1e-3, "probePoints": len(spec.probe_steps),
    }


def write_cell(folder: Path, spec: CellSpec, cfg: GptConfig = TINY, seed: int = 0) -> Path:
    """A complete inputs folder for `spec` (the checkpoint beside it, in folder/base)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_checkpoint(folder / "base", cfg, seed)
    g = np.random.default_rng(seed + 1)
    train = counting_rows(64, spec.seq, g)
    batches = np.stack([g.permutation(64)[: spec.batch] for _ in range(spec.steps)]).astype(np.int32)
    fb = padded_rows(12, cfg.blockSize, g)
    meta_steps = max(1, sum(1 for s in range(spec.steps) if s >= spec.burn_in and (s - spec.burn_in) % spec.meta_every == 0))
    draws = np.stack([g.permutation(12)[:4] for _ in range(meta_steps)]).astype(np.int32)
    probe = padded_rows(5 * 2, spec.seq, g)
    arrays: Dict[str, np.ndarray] = {
        **{f"train.{k}": v for k, v in train.items()}, "batches": batches,
        **{f"feedback.{k}": v for k, v in fb.items()}, "feedback_draws": draws,
        **{f"probe.{k}": v for k, v in probe.items()},
        **{f"probe_feedback.{k}": v[:4] for k, v in fb.items()},
        **{f"validation.{k}": v for k, v in padded_rows(6, cfg.blockSize, g).items()},
        **{f"test.{k}": v for k, v in padded_rows(5, cfg.blockSize, g).items()},
    }
    prompts = [((int(g.integers(0, EOS)) + np.arange(int(g.integers(2, 6)))) % EOS).astype(np.int32) for _ in range(spec.n_prompts)]
    if prompts:
        arrays["prompts.ids"] = np.concatenate(prompts)
        arrays["prompts.offsets"] = np.concatenate([[0], np.cumsum([p.size for p in prompts])]).astype(np.int32)
    d = design_dict(spec)
    shape = DesignerShape(cfg.vocabSize, cfg.blockSize, d["designerWidth"], d["designerLayers"], d["designerHeads"], d["alphaMax"])
    arrays.update({f"designer.{k}": v for k, v in init_designer(shape, seed + 2).items()})
    safetensors_io.write(folder / "inputs.safetensors", arrays, use_library=False)
    doc = {
        "protocol": 1, "task": "language", "cell": f"tiny/{spec.arm}/seed-{seed}", "mode": "run", "device": "cpu", "dtype": spec.dtype,
        "threads": 1, "model": {"kind": "vpt-gpt", "dir": str(folder / "base"), "gpt": asdict(cfg)},
        "train": {"steps": spec.steps, "batchSize": spec.batch, "seqLen": spec.seq, "logEvery": spec.log_every,
                  "optim": {"lr": spec.lr, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weightDecay": 0.1, "gradClip": 1.0,
                            "warmupSteps": 2, "totalSteps": spec.steps, "minLrRatio": 0.1}},
        "arm": {"name": spec.arm, "version": 1, "rule": spec.rule}, "feedback": spec.feedback, "design": d,
        "subset": {"from": cfg.nLayer - 1, "names": subset_names(cfg, 1)}, "noiseSeed": 1234,
        "alphaSchedule": spec.alpha_schedule, "probeSteps": spec.probe_steps, "directional": spec.directional,
        "eval": {"maxNewTokens": 6, "eosId": EOS, "stopIds": [[3, 4]], "batchSize": 4},
        **spec.extra,
    }
    (folder / "inputs.json").write_text(json.dumps(doc))
    return folder


def run_engine(args: List[str], timeout: float = 120) -> Tuple[int, List[Dict[str, Any]], str]:
    """Runs `python -m vpt_torch <args>`; returns the exit status, the protocol lines and stderr."""
    proc = subprocess.run([PYTHON, "-m", "vpt_torch", *args], cwd=str(ROOT), env=ENGINE_ENV, capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line[len("@@vpt "):]) for line in proc.stdout.splitlines() if line.startswith("@@vpt ")]
    return proc.returncode, lines, proc.stderr


def result_of(lines: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    return next((x for x in lines if x.get("type") == "result"), None)
