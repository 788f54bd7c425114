"""The engine's own implementation of the Hugging Face decoder families (hf_config.py), written functionally over a
dictionary keyed by the checkpoint's own parameter names, as gpt.py is for the vpt GPT, so the same code runs on the
trainable tensors, on perturbed or dual copies of S, and from a cached hidden state.

Per layer (transformers' LlamaDecoderLayer / Qwen2DecoderLayer / Qwen3DecoderLayer): x + o_proj(attn(RMSNorm(x))),
then x + down_proj(silu(gate_proj(m)) · up_proj(m)), m = RMSNorm(x). Attention: q/k/v projections (biases per
family), Qwen3's RMSNorm of each q and k head, rotary embeddings (rotate-half form, θ and scaling from the config),
grouped-query heads repeated, causal softmax(q·kᵀ/√dh)·v. Final RMSNorm; the head is 'lm_head.weight' (the embedding
when the dictionary has no 'lm_head.weight': tied). RMSNorm as transformers computes it: in float32 (or
wider), scaled by the weight after the cast back. LoRA adapters, where the dictionary holds them
('<module>.lora_A' [r, in], '<module>.lora_B' [out, r]), add (α/r)·B·A·dropout(x) to their module.

Mixed precision: a weight is used in the activations' dtype unless autocast casts both (so bf16 frozen weights run
in float32 where autocast is off: the designer's and the value's float32 passes).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F

from .gpt import attend, candidate_scores, causal_mask, sdpa
from .hf_config import HfConfig, RopeConfig, layer_prefix, module_path
from .lm import Params

EMBED = "model.embed_tokens.weight"
HEAD = "lm_head.weight"
NORM = "model.norm.weight"


def autocasting(x: torch.Tensor) -> bool:
    return bool(x.is_cuda and torch.is_autocast_enabled())


def autocast_dtype() -> torch.dtype:
    get = getattr(torch, "get_autocast_dtype", None)  # torch ≥ 2.4; before, get_autocast_gpu_dtype
    return get("cuda") if get is not None else torch.get_autocast_gpu_dtype()  # type: ignore[no-any-return]


def like(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """w in x's dtype, unless autocast will cast both."""
    if w.dtype == x.dtype or autocasting(x):
        return w
    return w.to(x.dtype)


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    """transformers' RMSNorm: normalised in float32 (float64 stays), cast back, then scaled by the weight."""
    dt = x.dtype
    h = x if dt in (torch.float32, torch.float64) else x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(dt)


def inverse_frequencies(rope: RopeConfig, head_dim: int, seq_len: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """θ^(−2i/dh) with the config's scaling, computed as transformers' rope init functions do (in float32, or in
    float64 for the float64 checks). `seq_len` (1 + the largest position) matters for dynamic scaling only."""
    dim = head_dim
    base = rope.theta
    if rope.kind == "dynamic":
        original = rope.original_max
        seq = seq_len if seq_len > original else original
        base = base * ((rope.factor * seq / original) - (rope.factor - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64, device=device).to(dtype) / dim))
    if rope.kind == "linear":
        return inv / rope.factor
    if rope.kind == "llama3":
        low_wavelen = rope.original_max / rope.low_freq_factor
        high_wavelen = rope.original_max / rope.high_freq_factor
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / rope.factor, inv)
        smooth = (rope.original_max / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor)
        smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    return inv


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x: torch.Tensor, n: int) -> torch.Tensor:
    """[B, K, T, dh] -> [B, K·n, T, dh], each key/value head serving n query heads."""
    if n == 1:
        return x
    B, K, T, dh = x.shape
    return x[:, :, None].expand(B, K, n, T, dh).reshape(B, K * n, T, dh)


@dataclass
class _State:
    training: bool = False
    rope: Dict[Tuple[Any, ...], Tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


@dataclass(frozen=True)
class HfLm:
    """A decoder of shape `cfg`. `sdpa`: causal attention by PyTorch's fused kernel (else written out, for
    forward-mode AD). `lora_scale`, `lora_dropout`: the adapters' α/r and dropout (applied inside `training()`)."""

    cfg: HfConfig
    sdpa: bool = False
    lora_scale: float = 1.0
    lora_dropout: float = 0.0
    state: _State = field(default_factory=_State, compare=False, repr=False)

    @property
    def vocab_size(self) -> int:
        return self.cfg.vocab_size

    @property
    def block_size(self) -> int:
        return self.cfg.max_position

    @property
    def n_layer(self) -> int:
        return self.cfg.num_layers

    def written_out(self) -> "HfLm":
        return replace(self, sdpa=False)

    @contextlib.contextmanager
    def training(self) -> Iterator[None]:
        was = self.state.training
        self.state.training = True
        try:
            yield
        finally:
            self.state.training = was

    # -- pieces ------------------------------------------------------------------------------------------------------
    def linear(self, p: Params, path: str, x: torch.Tensor) -> torch.Tensor:
        w = p[path + ".weight"]
        b = p.get(path + ".bias")
        y = F.linear(x, like(w, x), None if b is None else like(b, x))
        a = p.get(path + ".lora_A")
        if a is not None:
            bm = p[path + ".lora_B"]
            xi = F.dropout(x, self.lora_dropout, training=True) if self.state.training and self.lora_dropout > 0 else x
            y = y + F.linear(F.linear(xi, like(a, xi)), like(bm, xi)) * self.lora_scale
        return y

    def rope(self, pos: torch.Tensor, seq_len: int, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        """cos, sin [P, T, dh] for positions pos [P, T], in `dtype` (computed in float32, or float64 for float64)."""
        calc = torch.float64 if dtype == torch.float64 else torch.float32
        inv = inverse_frequencies(self.cfg.rope, self.cfg.head_dim, seq_len, pos.device, calc)
        freqs = pos.to(calc)[..., None] * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def rope_for(self, T: int, device: torch.device, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        """cos, sin [1, T, dh] at positions 0..T−1 (training rows), kept per (T, device, dtype)."""
        key = (T, str(device), dtype)
        got = self.state.rope.get(key)
        if got is None:
            with torch.no_grad():
                got = self.rope(torch.arange(T, device=device)[None], T, dtype)
            self.state.rope[key] = got
        return got

    def embed(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        if T > self.cfg.max_position:
            raise ValueError(f"sequence length {T} exceeds max_position_embeddings {self.cfg.max_position}")
        return p[EMBED][ids.reshape(-1)]

    def attention_inputs(self, p: Params, i: int, x: torch.Tensor, B: int, T: int, cos: torch.Tensor, sin: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q [B, H, T, dh], k and v [B, K, T, dh] of layer i (rotary applied); x [B*T, D]."""
        c = self.cfg
        pre = layer_prefix(i)
        a = rms_norm(x, p[pre + "input_layernorm.weight"], c.rms_eps)
        q = self.linear(p, module_path(i, "q_proj"), a).reshape(B, T, c.num_heads, c.head_dim)
        k = self.linear(p, module_path(i, "k_proj"), a).reshape(B, T, c.num_kv_heads, c.head_dim)
        v = self.linear(p, module_path(i, "v_proj"), a).reshape(B, T, c.num_kv_heads, c.head_dim)
        if c.qk_norm:
            q = rms_norm(q, p[pre + "self_attn.q_norm.weight"], c.rms_eps)
            k = rms_norm(k, p[pre + "self_attn.k_norm.weight"], c.rms_eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        cs, sn = cos.unsqueeze(1), sin.unsqueeze(1)  # in the hidden state's dtype, as transformers has them
        return q * cs + rotate_half(q) * sn, k * cs + rotate_half(k) * sn, v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Causal when mask is None, else with the additive mask; heads merged: [B*Tq, H*dh]."""
        n = self.cfg.num_heads // self.cfg.num_kv_heads
        k, v = repeat_kv(k, n), repeat_kv(v, n)
        if self.sdpa and autocasting(q):  # the rotated q, k are float32 here: the fused kernels want bf16
            dt = autocast_dtype()
            q, k, v = q.to(dt), k.to(dt), v.to(dt)
        if mask is None:
            y = sdpa(q, k, v) if self.sdpa else attend(q, k, v, causal_mask(q.shape[2], q.device))
        else:
            y = sdpa(q, k, v, mask) if self.sdpa else attend(q, k, v, mask)
        B, H, T, dh = y.shape
        return y.transpose(1, 2).reshape(B * T, H * dh)

    def layer_output(self, p: Params, i: int, x: torch.Tensor, merged: torch.Tensor) -> torch.Tensor:
        """o_proj, residual, and the MLP half of layer i (position-wise: any rows of x and merged)."""
        c = self.cfg
        x = x + self.linear(p, module_path(i, "o_proj"), merged)
        m = rms_norm(x, p[layer_prefix(i) + "post_attention_layernorm.weight"], c.rms_eps)
        h = F.silu(self.linear(p, module_path(i, "gate_proj"), m)) * self.linear(p, module_path(i, "up_proj"), m)
        return x + self.linear(p, module_path(i, "down_proj"), h)

    def layer(self, p: Params, i: int, x: torch.Tensor, B: int, T: int) -> torch.Tensor:
        cos, sin = self.rope_for(T, x.device, x.dtype)
        q, k, v = self.attention_inputs(p, i, x, B, T, cos, sin)
        return self.layer_output(p, i, x, self.attend(q, k, v, None))

    # -- the interface (lm.py) ---------------------------------------------------------------------------------------
    def run_blocks(self, p: Params, x: torch.Tensor, B: int, T: int, start: int, stop: int) -> torch.Tensor:
        for i in range(start, stop):
            x = self.layer(p, i, x, B, T)
        return x

    def final_norm(self, p: Params, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, p[NORM], self.cfg.rms_eps)

    @staticmethod
    def head_weight(p: Params) -> torch.Tensor:
        return p[HEAD] if HEAD in p else p[EMBED]

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
        last = self.n_layer - 1
        if start > last:
            raise ValueError(f"last_hidden_at_rows: layer {start} is past the last layer {last}")
        x = self.run_blocks(p, hidden, B, T, start, last)
        cos, sin = self.rope_for(T, x.device, x.dtype)
        q, k, v = self.attention_inputs(p, last, x, B, T, cos, sin)
        merged = self.attend(q, k, v, None)
        return self.layer_output(p, last, x.index_select(0, rows), merged.index_select(0, rows))

    def forward_from_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        return self.head_logits(p, self.last_hidden_at_rows(p, hidden, B, T, start, rows))

    def decode_logits(self, p: Params, ids: torch.Tensor, pos: torch.Tensor, seq_len: int, key_mask: torch.Tensor, cache: Optional[Any]) -> Tuple[torch.Tensor, Any]:
        B, Tq = ids.shape
        caches: List[Tuple[torch.Tensor, torch.Tensor]] = [] if cache is None else cache
        mask = causal_mask(Tq, ids.device) + key_mask.reshape(B, 1, 1, Tq) if Tq > 1 else key_mask.reshape(B, 1, 1, -1)
        x = p[EMBED][ids.reshape(-1)]
        cos, sin = self.rope(pos, seq_len, x.dtype)
        for i in range(self.n_layer):
            q, k, v = self.attention_inputs(p, i, x, B, Tq, cos, sin)
            if i < len(caches):
                k = torch.cat([caches[i][0], k], dim=2)
                v = torch.cat([caches[i][1], v], dim=2)
                caches[i] = (k, v)
            else:
                caches.append((k, v))
            x = self.layer_output(p, i, x, self.attend(q, k, v, mask))
        last = x.reshape(B, Tq, -1)[:, Tq - 1]
        return self.head_logits(p, last), caches
