"""A Hugging Face decoder's config.json, read into what the engine's own implementation needs (hf_model.py), and the
parameter names and shapes a checkpoint of it holds. Families: Qwen2ForCausalLM (Qwen2, Qwen2.5: q/k/v biases),
Qwen3ForCausalLM (q/k RMSNorm, `attention_bias`), LlamaForCausalLM (Llama 2 and 3: `attention_bias`, `mlp_bias`,
`rope_scaling` linear / dynamic / llama3). Defaults are those of transformers' config classes for each family.
Every refusal names the file and the key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from .errors import InputError

ARCHITECTURES: Dict[str, str] = {"Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3", "LlamaForCausalLM": "llama"}
MODEL_TYPES: Dict[str, str] = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "llama": "LlamaForCausalLM"}
ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")
LINEAR_MODULES = ATTENTION_MODULES + MLP_MODULES
ROPE_KINDS = ("default", "linear", "dynamic", "llama3")


@dataclass(frozen=True)
class RopeConfig:
    theta: float
    kind: str = "default"  # one of ROPE_KINDS
    factor: float = 1.0
    low_freq_factor: float = 1.0  # llama3
    high_freq_factor: float = 4.0  # llama3
    original_max: int = 0  # llama3 (and dynamic): the context the frequencies were trained for


@dataclass(frozen=True)
class HfConfig:
    architecture: str
    family: str  # qwen2 | qwen3 | llama
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    max_position: int
    rms_eps: float
    rope: RopeConfig
    tied: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    qk_norm: bool
    initializer_range: float = 0.02
    storage: str = ""  # torch_dtype as config.json gives it ("" when absent)

    def module_names(self) -> List[str]:
        """The linear modules of each layer, in the order of a layer's parameters."""
        return list(LINEAR_MODULES)

    def module_shape(self, module: str) -> Tuple[int, int]:
        """[out, in] of a layer's linear module."""
        D, I, H, K, dh = self.hidden_size, self.intermediate_size, self.num_heads, self.num_kv_heads, self.head_dim
        return {"q_proj": (H * dh, D), "k_proj": (K * dh, D), "v_proj": (K * dh, D), "o_proj": (D, H * dh),
                "gate_proj": (I, D), "up_proj": (I, D), "down_proj": (D, I)}[module]

    def has_bias(self, module: str) -> bool:
        if module in ("q_proj", "k_proj", "v_proj"):
            return self.qkv_bias
        if module == "o_proj":
            return self.o_bias
        return self.mlp_bias


def layer_prefix(i: int) -> str:
    return f"model.layers.{i}."


def module_path(i: int, module: str) -> str:
    """model.layers.{i}.self_attn.q_proj, ....mlp.down_proj."""
    return layer_prefix(i) + ("self_attn." if module in ATTENTION_MODULES else "mlp.") + module


def layer_subset_order(cfg: HfConfig, i: int) -> List[str]:
    """Layer i's parameters in the order S lists them (the tfjs engine's decoderShapes order): input norm, the
    projections' weights, their biases, Qwen3's q/k norms, the post-attention norm."""
    p = layer_prefix(i)
    out = [p + "input_layernorm.weight"] + [module_path(i, m) + ".weight" for m in LINEAR_MODULES]
    out += [module_path(i, m) + ".bias" for m in LINEAR_MODULES if cfg.has_bias(m)]
    if cfg.qk_norm:
        out += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
    return out + [p + "post_attention_layernorm.weight"]


def parameter_shapes(cfg: HfConfig) -> Dict[str, Tuple[int, ...]]:
    """Every parameter a checkpoint of `cfg` holds, in transformers' order (lm_head only when untied)."""
    D = cfg.hidden_size
    shapes: Dict[str, Tuple[int, ...]] = {"model.embed_tokens.weight": (cfg.vocab_size, D)}
    for i in range(cfg.num_layers):
        p = layer_prefix(i)
        for m in ATTENTION_MODULES:
            shapes[module_path(i, m) + ".weight"] = cfg.module_shape(m)
            if cfg.has_bias(m):
                shapes[module_path(i, m) + ".bias"] = (cfg.module_shape(m)[0],)
        if cfg.qk_norm:
            shapes[p + "self_attn.q_norm.weight"] = (cfg.head_dim,)
            shapes[p + "self_attn.k_norm.weight"] = (cfg.head_dim,)
        for m in MLP_MODULES:
            shapes[module_path(i, m) + ".weight"] = cfg.module_shape(m)
            if cfg.has_bias(m):
                shapes[module_path(i, m) + ".bias"] = (cfg.module_shape(m)[0],)
        shapes[p + "input_layernorm.weight"] = (D,)
        shapes[p + "post_attention_layernorm.weight"] = (D,)
    shapes["model.norm.weight"] = (D,)
    if not cfg.tied:
        shapes["lm_head.weight"] = (cfg.vocab_size, D)
    return shapes


def _int(obj: Mapping[str, Any], key: str, where: str, default: Any = None) -> int:
    v = obj.get(key, default)
    if v is None and default is not None:
        v = default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer() or v <= 0:
        raise InputError(f"{where}: '{key}' should be a positive integer, got {json.dumps(v)}")
    return int(v)


def _float(obj: Mapping[str, Any], key: str, where: str, default: float) -> float:
    v = obj.get(key, default)
    if v is None:
        v = default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise InputError(f"{where}: '{key}' should be a positive number, got {json.dumps(v)}")
    return float(v)


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    v = obj.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise InputError(f"{where}: '{key}' should be true or false, got {json.dumps(v)}")
    return v


def architecture_of(obj: Mapping[str, Any], where: str) -> str:
    archs = obj.get("architectures")
    if isinstance(archs, list) and archs:
        arch = archs[0]
        if arch not in ARCHITECTURES:
            raise InputError(f"{where}: architecture {json.dumps(arch)} is not one vpt_torch runs ({', '.join(ARCHITECTURES)})")
        return str(arch)
    mt = obj.get("model_type")
    if mt in MODEL_TYPES:
        return MODEL_TYPES[str(mt)]
    raise InputError(f"{where}: no 'architectures' and model_type {json.dumps(mt)} is not one vpt_torch runs ({', '.join(ARCHITECTURES)})")


def parse_rope(obj: Mapping[str, Any], where: str, max_position: int, head_dim: int) -> RopeConfig:
    """rope_theta and rope_scaling (transformers 4) or rope_parameters (transformers 5)."""
    params = obj.get("rope_parameters")
    scaling = params if isinstance(params, Mapping) else obj.get("rope_scaling")
    key = "rope_parameters" if isinstance(params, Mapping) else "rope_scaling"
    theta_src: Mapping[str, Any] = params if isinstance(params, Mapping) and "rope_theta" in params else obj
    theta = _float(theta_src, "rope_theta", where, 10000.0)
    if obj.get("partial_rotary_factor", 1.0) not in (1, 1.0, None):
        raise InputError(f"{where}: 'partial_rotary_factor' {obj['partial_rotary_factor']}: vpt_torch rotates whole heads only")
    if head_dim % 2:
        raise InputError(f"{where}: head_dim {head_dim} is odd; rotary embeddings need an even head size")
    if scaling is None:
        return RopeConfig(theta)
    if not isinstance(scaling, Mapping):
        raise InputError(f"{where}: '{key}' should be an object or null, got {json.dumps(scaling)}")
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind not in ROPE_KINDS:
        raise InputError(f"{where}: '{key}.rope_type' {json.dumps(kind)} is not one vpt_torch runs ({', '.join(ROPE_KINDS)})")
    if kind == "default":
        return RopeConfig(theta)
    w = f"{where}: {key}"
    factor = _float(scaling, "factor", w, 0.0) if "factor" in scaling else None
    if factor is None:
        raise InputError(f"{where}: '{key}.factor' is missing (rope type {kind})")
    if kind == "linear":
        return RopeConfig(theta, kind, factor)
    if kind == "dynamic":  # as transformers: scaled past max_position_embeddings (so never inside the context)
        return RopeConfig(theta, kind, factor, original_max=max_position)
    if "original_max_position_embeddings" not in scaling:
        raise InputError(f"{where}: '{key}.original_max_position_embeddings' is missing (rope type llama3)")
    return RopeConfig(theta, kind, factor, _float(scaling, "low_freq_factor", w, 1.0), _float(scaling, "high_freq_factor", w, 4.0),
                      _int(scaling, "original_max_position_embeddings", w))


def parse_config(obj: Mapping[str, Any], where: str) -> HfConfig:
    """`where`: the file (or key) to name in errors."""
    if not isinstance(obj, Mapping):
        raise InputError(f"{where}: should be a JSON object (a config.json)")
    arch = architecture_of(obj, where)
    family = ARCHITECTURES[arch]
    act = obj.get("hidden_act", "silu")
    if act != "silu":
        raise InputError(f"{where}: 'hidden_act' {json.dumps(act)}: the {arch} vpt_torch runs uses silu")
    if obj.get("use_sliding_window"):
        raise InputError(f"{where}: 'use_sliding_window' is true; vpt_torch runs full causal attention only")
    D = _int(obj, "hidden_size", where)
    H = _int(obj, "num_attention_heads", where)
    K = _int(obj, "num_key_value_heads", where, H)
    if H % K:
        raise InputError(f"{where}: 'num_key_value_heads' {K} does not divide num_attention_heads {H}")
    default_dh = 128 if family == "qwen3" else D // H
    if family != "qwen3" and D % H and obj.get("head_dim") is None:
        raise InputError(f"{where}: num_attention_heads {H} does not divide hidden_size {D} and there is no 'head_dim'")
    dh = _int(obj, "head_dim", where, default_dh)
    max_position = _int(obj, "max_position_embeddings", where, 2048 if family == "llama" else 32768 if family == "qwen2" else 40960)
    attention_bias = _bool(obj, "attention_bias", where, False)
    dtype = obj.get("torch_dtype", obj.get("dtype", ""))
    return HfConfig(
        architecture=arch, family=family,
        vocab_size=_int(obj, "vocab_size", where), hidden_size=D, intermediate_size=_int(obj, "intermediate_size", where),
        num_layers=_int(obj, "num_hidden_layers", where), num_heads=H, num_kv_heads=K, head_dim=dh, max_position=max_position,
        rms_eps=_float(obj, "rms_norm_eps", where, 1e-6), rope=parse_rope(obj, where, max_position, dh),
        tied=_bool(obj, "tie_word_embeddings", where, False),
        qkv_bias=True if family == "qwen2" else attention_bias, o_bias=False if family == "qwen2" else attention_bias,
        mlp_bias=_bool(obj, "mlp_bias", where, False) if family == "llama" else False, qk_norm=family == "qwen3",
        initializer_range=_float(obj, "initializer_range", where, 0.02), storage=str(dtype or ""),
    )


def read_config(folder: Path) -> Tuple[HfConfig, Dict[str, Any]]:
    """The folder's config.json, parsed, and its raw contents."""
    path = folder / "config.json"
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (model.dir should be a checkpoint folder in the Hugging Face layout)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file (a Hugging Face checkpoint folder holds config.json)") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e})") from e
    return parse_config(raw, str(path)), raw


def weight_files(folder: Path) -> List[Path]:
    """model.safetensors, or the shards model.safetensors.index.json lists (each checked to exist)."""
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            doc = json.loads(index.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"{index}: not JSON ({e})") from e
        wm = doc.get("weight_map") if isinstance(doc, Mapping) else None
        if not isinstance(wm, Mapping) or not wm:
            raise InputError(f"{index}: missing key 'weight_map'")
        shards = sorted(set(str(v) for v in wm.values()))
        for s in shards:
            if not (folder / s).exists():
                raise InputError(f"{index}: shard '{s}' is missing from {folder}")
        return [folder / s for s in shards]
    if single.exists():
        return [single]
    raise InputError(f"{folder}: no model.safetensors and no model.safetensors.index.json (weights in the Hugging Face layout)")
