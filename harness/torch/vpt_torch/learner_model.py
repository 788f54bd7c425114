"""The learner a cell names, ready to train: the model (lm.py's interface), every tensor its forward reads, which of
them the optimiser updates, S, and what the hello line says about it.

- kind 'vpt-gpt': the GPT of gpt.py from the harness's checkpoint; everything trains; S as `subset` names it.
- kind 'hf': a Hugging Face decoder (hf_config.py) from a checkpoint folder or drawn from its config; the engine's own
  implementation (hf_model.py) or transformers' classes (hf_transformers.py, when transformers imports and
  `model.implementation` allows). Full-parameter: every weight trains, in float32 (master weights: AdamW's state is
  float32 too, and CUDA runs the matmuls in bf16 under autocast); S = the last n layers, the final norm and the head
  (for a tied head, the embedding as the head uses it: the activations below S are held, and the rule sees the head's
  own part of the gradient). LoRA: the
  base frozen in `weightsDtype` (bf16 on CUDA by default), float32 adapters train; S = the last n layers' adapters.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Dict, List

import torch

from .checkpoint import load_params
from .errors import InputError
from .gpt import Gpt
from .hf_checkpoint import library_available, load_weights, random_weights
from .hf_config import HfConfig, layer_subset_order
from .hf_model import EMBED, HEAD, NORM, HfLm
from .inputs import CellInputs, HfSpec, Subset
from .lm import LanguageModel
from .lora import adapter_names, init_adapters
from .runtime import DeviceError, Runtime


@dataclass
class Learnable:
    lm: LanguageModel
    params: Dict[str, torch.Tensor]  # every tensor the forward reads, by name
    trainable: List[str]  # what the optimiser updates
    subset: Subset
    aliases: Dict[str, str] = field(default_factory=dict)  # a name the forward reads -> the trainable tensor it uses (Learner)
    info: Dict[str, Any] = field(default_factory=dict)  # for hello.engine: paths and facts

    def counts(self) -> Dict[str, int]:
        seen = {id(t): t for t in self.params.values()}
        return {"params": sum(t.numel() for t in seen.values()), "trainableParams": sum(self.params[n].numel() for n in self.trainable)}


def load_learner(rt: Runtime, cell: CellInputs) -> Learnable:
    m = cell.model
    if m.kind == "vpt-gpt":
        assert m.gpt is not None and m.dir is not None
        params = load_params(m.dir, m.gpt, rt.device)
        out = Learnable(Gpt(m.gpt, sdpa=rt.sdpa), params, list(params), cell.subset)
        out.info = {"paths": {"models": "built-in"}, "subset": list(cell.subset.names)}
        return out
    assert m.hf is not None
    if use_transformers(m.hf):
        from .hf_transformers import load_transformers

        return load_transformers(rt, cell, m.hf, frozen_dtype(rt, m.hf))
    return load_builtin(rt, cell, m.hf)


def transformers_usable() -> bool:
    """transformers imports, at a version whose layers take their attention mask and rotary inputs as hf_transformers
    passes them (4.48 and later)."""
    if importlib.util.find_spec("transformers") is None:
        return False
    try:
        import transformers
    except Exception:  # noqa: BLE001 - an installation that does not import counts as absent
        return False
    parts = str(getattr(transformers, "__version__", "0")).split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return False
    return (major, minor) >= (4, 48)


def use_transformers(spec: HfSpec) -> bool:
    if spec.implementation == "built-in":
        return False
    if spec.implementation == "transformers":
        if not transformers_usable():
            raise InputError("inputs.json: 'model.implementation' is transformers, and transformers ≥ 4.48 does not import here")
        return True
    return transformers_usable()


def frozen_dtype(rt: Runtime, spec: HfSpec) -> torch.dtype:
    """Storage of frozen weights: bf16 on CUDA by default, float32 on the CPU."""
    want = spec.weightsDtype
    if want == "auto":
        return torch.bfloat16 if rt.cuda and torch.cuda.is_bf16_supported() else torch.float32
    if want == "bfloat16" and rt.cuda and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"inputs.json: 'model.weightsDtype' bfloat16: {torch.cuda.get_device_name(rt.device)} has no bf16")
    return torch.bfloat16 if want == "bfloat16" else torch.float32


def choose_subset(cfg: HfConfig, spec: HfSpec, blocks: int) -> Subset:
    """S, in the tfjs engine's order (harness/language/model/decoder.ts decoderSubsetNames): full-parameter, the
    embedding when tied (as the head: the activations below S are held), the last `blocks` layers' parameters, the
    final norm, the head when untied; LoRA, the last layers' adapters."""
    start = cfg.num_layers - blocks
    if spec.lora is not None:
        return Subset(start, adapter_names(cfg, spec.lora, range(start, cfg.num_layers)))
    layers = [n for i in range(start, cfg.num_layers) for n in layer_subset_order(cfg, i)]
    return Subset(start, ([EMBED] if cfg.tied else []) + layers + [NORM] + ([] if cfg.tied else [HEAD]))


def load_builtin(rt: Runtime, cell: CellInputs, spec: HfSpec) -> Learnable:
    cfg = spec.config
    frozen = frozen_dtype(rt, spec)
    full = spec.lora is None

    def place(name: str, t: torch.Tensor) -> torch.Tensor:
        if full:
            return t.to(device=rt.device, dtype=torch.float32).requires_grad_(True)
        return t.to(device=rt.device, dtype=frozen)

    if spec.init == "random":
        params = random_weights(cfg, spec.seed, place, rt.device)
    else:
        params = load_weights(cfg, spec.files, place, use_library=library_available())
    trainable = list(params)
    if spec.lora is not None:
        adapters = init_adapters(cfg, spec.lora, spec.seed, rt.device, cell.lora_init)
        trainable = list(adapters)
        params.update(adapters)
    # A tied head is the embedding: inside a learner step the head reads it through a view (aliases), so the rule
    # gets the head's own part of its gradient when S holds it.
    aliases = {HEAD: EMBED} if cfg.tied and full else {}
    torch.manual_seed(spec.seed)  # the adapters' dropout
    lm = HfLm(cfg, sdpa=rt.sdpa, lora_scale=spec.lora.scale if spec.lora else 1.0, lora_dropout=spec.lora.dropout if spec.lora else 0.0)
    subset = choose_subset(cfg, spec, cell.subset_blocks)
    info = {
        "paths": {"models": "built-in", "lora": "built-in" if spec.lora else "none",
                  "weights": str(torch.float32 if full else frozen).replace("torch.", "")},
        "subset": list(subset.names),
        "architecture": cfg.architecture,
    }
    return Learnable(lm, params, trainable, subset, aliases, info)
