"""The Hugging Face families through transformers' own classes (AutoModelForCausalLM), when transformers ≥ 4.48
imports: the embedding, each decoder layer and the final norm are transformers' modules, called one by one through
torch.func.functional_call with the tensors of the parameter dictionary (so S can be replaced by perturbed or dual
copies, and the layers below S skipped), the head a plain product with 'lm_head.weight' as transformers' lm_head is.
Decoding runs the whole model with its own key/value cache. LoRA through peft when it imports (its adapters kept in
float32), else the engine's adapters (lora.py) put in place of the target nn.Linear modules.

A layer is called as transformers' own model calls it: hidden states [B, T, D], position_ids, the rotary
(cos, sin) where the model still computes them once for all layers (`model.rotary_emb`), and attention_mask None
for SDPA (causal) or an additive [B, 1, T, T] mask for the written-out ('eager') attention that forward-mode AD
needs. A layer's output is a tensor (transformers ≥ 4.54) or a tuple whose first element it is.

Not run on this engine's CI (no transformers there): tests/test_transformers.py compares this path's logits and
partial forwards with the built-in implementation's where transformers is installed.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, ContextManager, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import InputError
from .gpt import candidate_scores, causal_mask
from .hf_config import ATTENTION_MODULES, HfConfig, layer_prefix
from .hf_model import EMBED, HEAD, NORM, autocasting, like
from .inputs import CellInputs, HfSpec, Subset
from .learner_model import Learnable, choose_subset
from .lm import Params
from .lora import LoraSpec, init_adapters
from .runtime import Runtime


def functional_call(module: nn.Module, tensors: Dict[str, torch.Tensor], args: Tuple[Any, ...], kwargs: Optional[Dict[str, Any]] = None) -> Any:
    try:
        fn = importlib.import_module("torch.func").functional_call
    except (ImportError, AttributeError):  # torch < 2.0
        fn = importlib.import_module("torch.nn.utils.stateless").functional_call
    return fn(module, tensors, args, kwargs or {})


class LoraLinear(nn.Module):
    """The engine's adapter around a frozen nn.Linear: parameters 'base_layer.weight' (and bias), 'lora_A' [r, in],
    'lora_B' [out, r] (so the adapters' names are the built-in implementation's)."""

    def __init__(self, base: nn.Linear, spec: LoraSpec, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Parameter(a.detach().clone())
        self.lora_B = nn.Parameter(b.detach().clone())
        self.drop = nn.Dropout(spec.dropout) if spec.dropout > 0 else nn.Identity()
        self.scale = spec.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base_layer(x)
        xi = self.drop(x)
        a: torch.Tensor = self.lora_A
        b: torch.Tensor = self.lora_B
        if not autocasting(xi):
            a, b = like(a, xi), like(b, xi)
        z = F.linear(F.linear(xi, a), b) * self.scale
        return y + z.to(y.dtype)


@dataclass
class _Mode:
    eager: bool = False


@dataclass
class TransformersLm:
    model: Any  # a transformers *ForCausalLM (LoRA layers inside it, peft's or ours)
    cfg: HfConfig
    mode: _Mode = field(default_factory=_Mode)
    keys: List[List[Tuple[str, str]]] = field(default_factory=list)  # per layer: (dictionary name, the layer's own name)

    def __post_init__(self) -> None:
        if not self.keys:
            names = [n for n, _ in self.model.named_parameters()]
            for i in range(self.cfg.num_layers):
                pre = layer_prefix(i)
                self.keys.append([(n, n[len(pre):]) for n in names if n.startswith(pre)])
        inner: Any = self.model.model
        self.layers: Any = inner.layers
        self.norm: Any = inner.norm
        self.embedding: Any = inner.embed_tokens
        self.rotary: Optional[nn.Module] = getattr(inner, "rotary_emb", None)
        takes = inspect.signature(self.layers[0].forward).parameters
        self.pass_rotary = self.rotary is not None and ("position_embeddings" in takes or any(p.kind == p.VAR_KEYWORD for p in takes.values()))

    @property
    def vocab_size(self) -> int:
        return self.cfg.vocab_size

    @property
    def block_size(self) -> int:
        return self.cfg.max_position

    @property
    def n_layer(self) -> int:
        return self.cfg.num_layers

    def written_out(self) -> "TransformersLm":
        return TransformersLm(self.model, self.cfg, _Mode(eager=True), self.keys)

    @contextlib.contextmanager
    def training(self) -> Iterator[None]:
        self.model.train()
        try:
            yield
        finally:
            self.model.eval()

    def attention(self) -> ContextManager[Any]:
        return set_attention(self.model, "eager") if self.mode.eager else contextlib.nullcontext()

    # -- pieces ------------------------------------------------------------------------------------------------------
    def embed(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        if T > self.cfg.max_position:
            raise ValueError(f"sequence length {T} exceeds max_position_embeddings {self.cfg.max_position}")
        x = functional_call(self.embedding, {"weight": p[EMBED]}, (ids,))
        return x.reshape(B * T, -1)

    def layer_kwargs(self, x3: torch.Tensor, B: int, T: int) -> Dict[str, Any]:
        pos = torch.arange(T, device=x3.device)[None].expand(B, T)
        kw: Dict[str, Any] = {"position_ids": pos}
        if self.mode.eager:
            kw["attention_mask"] = causal_mask(T, x3.device, x3.dtype)[None, None].expand(B, 1, T, T)
        else:
            kw["attention_mask"] = None
        if self.pass_rotary:
            assert self.rotary is not None
            kw["position_embeddings"] = self.rotary(x3, pos)
        return kw

    def call_layer(self, p: Params, i: int, x3: torch.Tensor, kw: Dict[str, Any]) -> torch.Tensor:
        out = functional_call(self.layers[i], {local: p[name] for name, local in self.keys[i]}, (x3,), kw)
        return out[0] if isinstance(out, tuple) else out

    def final_norm(self, p: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.norm, {"weight": p[NORM]}, (x,))  # type: ignore[no-any-return]

    @staticmethod
    def head_weight(p: Params) -> torch.Tensor:
        return p[HEAD] if HEAD in p else p[EMBED]

    # -- the interface (lm.py) ---------------------------------------------------------------------------------------
    def run_blocks(self, p: Params, x: torch.Tensor, B: int, T: int, start: int, stop: int) -> torch.Tensor:
        if start >= stop:
            return x
        x3 = x.reshape(B, T, -1)
        with self.attention():
            kw = self.layer_kwargs(x3, B, T)
            for i in range(start, stop):
                x3 = self.call_layer(p, i, x3, kw)
        return x3.reshape(B * T, -1)

    def head_logits(self, p: Params, x: torch.Tensor) -> torch.Tensor:
        h = self.final_norm(p, x)
        return F.linear(h, like(self.head_weight(p), h))

    def head_at_columns(self, p: Params, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        u = self.final_norm(p, x)
        return candidate_scores(u, like(self.head_weight(p), u), ids)

    def forward(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        return self.head_logits(p, self.run_blocks(p, self.embed(p, ids), B, T, 0, self.n_layer))

    def hidden_below(self, p: Params, ids: torch.Tensor, up_to: int) -> torch.Tensor:
        B, T = ids.shape
        return self.run_blocks(p, self.embed(p, ids), B, T, 0, up_to)

    def forward_from(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int) -> torch.Tensor:
        return self.head_logits(p, self.run_blocks(p, hidden, B, T, start, self.n_layer))

    def last_hidden_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        # transformers' layer is one module: the last layer runs at every position, then the rows are taken.
        return self.run_blocks(p, hidden, B, T, start, self.n_layer).index_select(0, rows)

    def forward_from_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        return self.head_logits(p, self.last_hidden_at_rows(p, hidden, B, T, start, rows))

    def decode_logits(self, p: Params, ids: torch.Tensor, pos: torch.Tensor, seq_len: int, key_mask: torch.Tensor, cache: Optional[Any]) -> Tuple[torch.Tensor, Any]:
        """The whole model with its cache (DynamicCache); the parameters are the model's own (evaluation)."""
        attention = (key_mask == 0).to(torch.long)
        out = self.model.model(input_ids=ids, attention_mask=attention, position_ids=pos, past_key_values=cache, use_cache=True)
        last = out.last_hidden_state[:, -1]
        return F.linear(last, like(self.head_weight(p), last)), out.past_key_values


@contextlib.contextmanager
def set_attention(model: Any, impl: str) -> Iterator[None]:
    """transformers' attention implementation switched for a while: its layers read it from the (shared) config at
    each call. The config's attribute where it can be set, else the model's set_attn_implementation."""
    cfg: Any = model.config
    was = getattr(cfg, "_attn_implementation", None)

    def put(value: Any) -> None:
        try:
            cfg._attn_implementation = value
        except (AttributeError, TypeError, ValueError):
            model.set_attn_implementation(value)

    put(impl)
    try:
        yield
    finally:
        put(was)


def _attention_implementation() -> str:
    return "sdpa" if hasattr(F, "scaled_dot_product_attention") else "eager"


def load_transformers(rt: Runtime, cell: CellInputs, spec: HfSpec, frozen: torch.dtype) -> Learnable:
    transformers = importlib.import_module("transformers")
    cfg = spec.config
    full = spec.lora is None
    dtype = torch.float32 if full else frozen
    impl = _attention_implementation()
    torch.manual_seed(spec.seed)  # transformers' random init, peft's A, dropout: the same on every process
    if spec.init == "checkpoint" and cell.model.dir is not None:
        # `dtype` from transformers 4.56 (`torch_dtype` before, deprecated since); the parameters are cast below anyway
        version = tuple(int(x) for x in str(transformers.__version__).split(".")[:2] if x.isdigit())
        kw = {"dtype": dtype} if version >= (4, 56) else {"torch_dtype": dtype}
        model = transformers.AutoModelForCausalLM.from_pretrained(str(cell.model.dir), attn_implementation=impl, **kw)
    else:
        raw = {k: v for k, v in spec.raw.items() if k != "model_type"}
        conf = transformers.AutoConfig.for_model(str(spec.raw.get("model_type", cfg.family)), **raw)
        model = transformers.AutoModelForCausalLM.from_config(conf, attn_implementation=impl)
    model.to(device=rt.device)
    for t in model.parameters():  # parameters only: the rotary buffers stay float32
        t.data = t.data.to(dtype)
        t.requires_grad_(full)
    model.eval()
    lora_path = "none"
    if spec.lora is not None:
        lora_path = attach_lora(model, cfg, spec.lora, spec.seed, rt.device, cell.lora_init)
    params: Dict[str, torch.Tensor] = dict(model.named_parameters())  # tied: the embedding only (named once)
    trainable = [n for n, t in params.items() if t.requires_grad]
    aliases = {HEAD: EMBED} if cfg.tied and full else {}
    if not cfg.tied and HEAD not in params:
        raise InputError(f"{cell.model.dir}: transformers' model has no '{HEAD}' although config.json does not tie it")
    subset = choose_subset(cfg, spec, cell.subset_blocks)
    if spec.lora is not None:  # the adapters by the names peft or the engine gave them, in S's order
        by_name = {peft_name(n): n for n in trainable}
        subset = Subset(subset.start, [by_name[n] for n in subset.names])
    lm = TransformersLm(model, cfg)
    info = {
        "paths": {"models": "transformers", "lora": lora_path, "weights": str(dtype).replace("torch.", ""),
                  "transformers": str(getattr(transformers, "__version__", "?"))},
        "subset": list(subset.names),
        "architecture": cfg.architecture,
    }
    return Learnable(lm, params, trainable, subset, aliases, info)


def peft_name(name: str) -> str:
    """The built-in name of an adapter parameter: peft's '<module>.lora_A.default.weight' -> '<module>.lora_A'."""
    for ab in ("lora_A", "lora_B"):
        if f".{ab}." in name:
            return name[: name.index(f".{ab}.")] + f".{ab}"
    return name


def attach_lora(model: Any, cfg: HfConfig, spec: LoraSpec, seed: int, device: torch.device, given: Optional[Dict[str, Any]] = None) -> str:
    """peft's LoRA when it imports, else the engine's modules; the adapters start from the harness's values when
    given, else from the engine's draw for `seed` (both paths alike); float32, the only trainable tensors. Returns
    which LoRA runs."""
    init = init_adapters(cfg, spec, seed, device, given)
    try:
        peft = importlib.import_module("peft")
    except ImportError:
        peft = None
    if peft is not None:
        conf = peft.LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout, target_modules=list(spec.targets), bias="none")
        peft.get_peft_model(model, conf)  # injects the adapters into `model` in place
        for n, t in model.named_parameters():
            if "lora_" in n:
                t.data = init[peft_name(n)].detach().to(device=t.device, dtype=torch.float32).reshape(t.shape).clone()
        which = "peft"
    else:
        for i, layer in enumerate(model.model.layers):
            for m in spec.targets:
                attention = m in ATTENTION_MODULES
                parent = layer.self_attn if attention else layer.mlp
                path = f"{layer_prefix(i)}{'self_attn' if attention else 'mlp'}.{m}"
                setattr(parent, m, LoraLinear(getattr(parent, m), spec, init[path + ".lora_A"], init[path + ".lora_B"]))
        which = "built-in"
    for n, t in model.named_parameters():
        t.requires_grad_("lora_" in n)
    return which
