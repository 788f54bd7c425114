"""Tiny random checkpoints in the Hugging Face layout, written the way transformers' save_pretrained writes them
(config.json; model.safetensors, or shards and model.safetensors.index.json; bf16 by default), with a safetensors
writer of the tests' own (BF16 rounded to nearest even), and a cell of the protocol whose model is one of them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from tiny import EOS, CellSpec, write_cell

VOCAB = 16  # the toy stream's tokens (tiny.py): the checkpoints' vocabulary matches it


def config(family: str, **over: Any) -> Dict[str, Any]:
    """A tiny config.json of `family` (qwen2, qwen3, llama): grouped-query attention (4 heads, 2 key/value heads)."""
    base: Dict[str, Any] = {
        "vocab_size": VOCAB, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
        "torch_dtype": "bfloat16", "initializer_range": 0.02,
    }
    if family == "qwen2":
        base.update({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "tie_word_embeddings": True, "use_sliding_window": False})
    elif family == "qwen3":
        base.update({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "tie_word_embeddings": False, "head_dim": 8,
                     "attention_bias": False})
    elif family == "llama":
        base.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "tie_word_embeddings": False, "rope_theta": 500000.0,
                     "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 16}, "attention_bias": True, "mlp_bias": True})
    else:
        raise ValueError(family)
    base.update(over)
    return base


def names_and_shapes(cfg: Dict[str, Any]) -> Dict[str, tuple]:
    """The parameters a checkpoint of cfg holds, written out from transformers' module layout (tests' own list)."""
    arch = cfg["architectures"][0]
    D, I, H = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"]
    K = cfg.get("num_key_value_heads") or H
    dh = cfg.get("head_dim") or D // H
    bias_qkv = arch == "Qwen2ForCausalLM" or cfg.get("attention_bias", False)
    bias_o = arch != "Qwen2ForCausalLM" and cfg.get("attention_bias", False)
    bias_mlp = arch == "LlamaForCausalLM" and cfg.get("mlp_bias", False)
    out: Dict[str, tuple] = {"model.embed_tokens.weight": (cfg["vocab_size"], D)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for m, shape, b in (("q_proj", (H * dh, D), bias_qkv), ("k_proj", (K * dh, D), bias_qkv), ("v_proj", (K * dh, D), bias_qkv),
                            ("o_proj", (D, H * dh), bias_o)):
            out[p + f"self_attn.{m}.weight"] = shape
            if b:
                out[p + f"self_attn.{m}.bias"] = (shape[0],)
        if arch == "Qwen3ForCausalLM":
            out[p + "self_attn.q_norm.weight"] = (dh,)
            out[p + "self_attn.k_norm.weight"] = (dh,)
        for m, shape in (("gate_proj", (I, D)), ("up_proj", (I, D)), ("down_proj", (D, I))):
            out[p + f"mlp.{m}.weight"] = shape
            if bias_mlp:
                out[p + f"mlp.{m}.bias"] = (shape[0],)
        out[p + "input_layernorm.weight"] = (D,)
        out[p + "post_attention_layernorm.weight"] = (D,)
    out["model.norm.weight"] = (D,)
    if not cfg.get("tie_word_embeddings", False):
        out["lm_head.weight"] = (cfg["vocab_size"], D)
    return out


def to_bf16(a: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits (uint16), rounded to nearest even."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16(u: np.ndarray) -> np.ndarray:
    return (u.astype(np.uint32) << 16).view(np.float32)


def encode(tensors: Dict[str, np.ndarray], dtype: str) -> bytes:
    """safetensors bytes (names sorted, header padded to 8) of float32 arrays stored as BF16, F16 or F32."""
    header: Dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs: List[bytes] = []
    off = 0
    for name in sorted(tensors):
        a = tensors[name]
        raw = {"BF16": lambda x: to_bf16(x), "F16": lambda x: x.astype("<f2"), "F32": lambda x: x.astype("<f4")}[dtype](a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def stored(a: np.ndarray, dtype: str) -> np.ndarray:
    """The float32 values a tensor has after storage in dtype."""
    return {"BF16": lambda x: from_bf16(to_bf16(x)), "F16": lambda x: x.astype(np.float16).astype(np.float32), "F32": lambda x: x}[dtype](a)


def random_weights(cfg: Dict[str, Any], seed: int, scale: float = 0.3) -> Dict[str, np.ndarray]:
    """Weights large enough that a tiny model's logits differ: N(0, scale²/fan-in-ish); norms near 1; biases small."""
    g = np.random.default_rng(seed)
    out: Dict[str, np.ndarray] = {}
    for name, shape in names_and_shapes(cfg).items():
        if name.endswith("norm.weight"):
            out[name] = (1.0 + 0.1 * g.standard_normal(shape)).astype(np.float32)
        elif name.endswith(".bias"):
            out[name] = (0.1 * g.standard_normal(shape)).astype(np.float32)
        else:
            std = scale if len(shape) == 2 and name.endswith("embed_tokens.weight") else scale * 2.0 / np.sqrt(shape[-1])
            out[name] = (std * g.standard_normal(shape)).astype(np.float32)
    return out


def write_hf(folder: Path, cfg: Dict[str, Any], seed: int = 0, dtype: str = "BF16", shards: int = 1,
             extra: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
    """Writes the checkpoint; returns its weights as stored (float32 values after the dtype's rounding)."""
    folder.mkdir(parents=True, exist_ok=True)
    w = random_weights(cfg, seed)
    if extra:
        w.update(extra)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    names = list(w)
    if shards == 1:
        (folder / "model.safetensors").write_bytes(encode(w, dtype))
    else:
        parts = np.array_split(np.arange(len(names)), shards)
        weight_map = {}
        for k, idx in enumerate(parts):
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            (folder / fname).write_bytes(encode({names[i]: w[names[i]] for i in idx}, dtype))
            weight_map.update({names[i]: fname for i in idx})
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return {k: stored(v, dtype) for k, v in w.items()}


def write_hf_cell(folder: Path, spec: CellSpec, family: str = "qwen2", lora: Optional[Dict[str, Any]] = None, seed: int = 0,
                  blocks: int = 1, cfg_over: Optional[Dict[str, Any]] = None, model_over: Optional[Dict[str, Any]] = None) -> Path:
    """A protocol cell (tiny.py's arrays) whose model is a tiny checkpoint of `family` in folder/hf."""
    write_cell(folder, spec, seed=seed)
    cfg = config(family, **(cfg_over or {}))
    write_hf(folder / "hf", cfg, seed)
    doc = json.loads((folder / "inputs.json").read_text())
    model: Dict[str, Any] = {"kind": "hf", "dir": str(folder / "hf"), "trainable": {"lora": lora} if lora else "full", "implementation": "built-in"}
    model.update(model_over or {})
    doc["model"] = model
    doc["subset"] = {"blocks": blocks}
    (folder / "inputs.json").write_text(json.dumps(doc))
    return folder


__all__ = ["EOS", "VOCAB", "config", "write_hf", "write_hf_cell", "names_and_shapes", "stored", "encode"]
