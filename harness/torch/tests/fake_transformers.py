"""A stand-in for a transformers *ForCausalLM, for checking hf_transformers.py's plumbing where transformers is not
installed: the same module tree and parameter names (model.embed_tokens, model.layers[i].self_attn.q_proj, ...,
model.norm, lm_head, model.rotary_emb), decoder layers called as transformers ≥ 4.48 calls them (hidden states
[B, T, D], attention_mask None for causal or an additive mask, position_ids, position_embeddings), a config whose
_attn_implementation the layers read per call, and a base model that takes input_ids, a 2-D attention mask,
position_ids and a cache. Its arithmetic is written here from the families' description (not the engine's)."""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vpt_torch.hf_config import HfConfig
from vpt_torch.hf_model import inverse_frequencies


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if x.dtype == torch.float64 else x.float()  # (transformers: float32; float64 kept for tight checks)
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


class Rotary(nn.Module):
    def __init__(self, cfg: HfConfig) -> None:
        super().__init__()
        self.cfg = cfg

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        wide = torch.float64 if x.dtype == torch.float64 else torch.float32
        inv = inverse_frequencies(self.cfg.rope, self.cfg.head_dim, int(position_ids.max()) + 1, x.device, wide)
        f = position_ids.to(wide)[..., None] * inv
        emb = torch.cat([f, f], -1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rot(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Attention(nn.Module):
    def __init__(self, cfg: HfConfig, config: Any) -> None:
        super().__init__()
        D, H, K, dh = cfg.hidden_size, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        self.cfg, self.config = cfg, config
        self.q_proj = nn.Linear(D, H * dh, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(D, K * dh, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(D, K * dh, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(H * dh, D, bias=cfg.o_bias)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(dh, cfg.rms_eps)
            self.k_norm = RMSNorm(dh, cfg.rms_eps)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor], cos: torch.Tensor, sin: torch.Tensor, cache: Optional[List[Any]], i: int) -> torch.Tensor:
        c = self.cfg
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, -1, c.head_dim)
        k = self.k_proj(x).view(B, T, -1, c.head_dim)
        v = self.v_proj(x).view(B, T, -1, c.head_dim).transpose(1, 2)
        if c.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cs, sn = cos[:, None], sin[:, None]
        q, k = q * cs + rot(q) * sn, k * cs + rot(k) * sn
        if cache is not None:
            if len(cache) > i:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
        n = c.num_heads // c.num_kv_heads
        k, v = k.repeat_interleave(n, 1), v.repeat_interleave(n, 1)
        s = q @ k.transpose(-1, -2) / math.sqrt(c.head_dim)
        if mask is None:
            assert self.config._attn_implementation == "sdpa", "eager attention needs a mask"
            s = s + torch.triu(torch.full((T, T), -1e9, dtype=s.dtype), 1)
        else:
            s = s + mask
        y = torch.softmax(s if s.dtype == torch.float64 else s.float(), -1).to(q.dtype) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class Mlp(nn.Module):
    def __init__(self, cfg: HfConfig) -> None:
        super().__init__()
        D, I, b = cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias
        self.gate_proj, self.up_proj, self.down_proj = nn.Linear(D, I, bias=b), nn.Linear(D, I, bias=b), nn.Linear(I, D, bias=b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg: HfConfig, config: Any, i: int) -> None:
        super().__init__()
        self.i = i
        self.self_attn = Attention(cfg, config)
        self.mlp = Mlp(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_eps)

    def forward(self, hidden_states: torch.Tensor, attention_mask: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                past_key_values: Optional[List[Any]] = None, position_embeddings: Optional[Tuple[torch.Tensor, torch.Tensor]] = None, **kw: Any) -> Tuple[torch.Tensor]:
        assert position_embeddings is not None
        x = hidden_states
        x = x + self.self_attn(self.input_layernorm(x), attention_mask, *position_embeddings, past_key_values, self.i)
        return (x + self.mlp(self.post_attention_layernorm(x)),)  # a tuple, as transformers < 4.54 returns


class Base(nn.Module):
    def __init__(self, cfg: HfConfig, config: Any) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Layer(cfg, config, i) for i in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_eps)
        self.rotary_emb = Rotary(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor, past_key_values: Optional[List[Any]] = None,
                use_cache: bool = True) -> Any:
        cache: List[Any] = [] if past_key_values is None else past_key_values
        x = self.embed_tokens(input_ids)
        B, T = input_ids.shape
        Tk = attention_mask.shape[1]
        keys = torch.zeros(B, 1, T, Tk, dtype=x.dtype).masked_fill(attention_mask[:, None, None, :] == 0, -1e9)
        causal = torch.triu(torch.full((T, T), -1e9, dtype=x.dtype), 1)
        keys[..., Tk - T:] = keys[..., Tk - T:] + causal
        pe = self.rotary_emb(x, position_ids)
        for layer in self.layers:
            x = layer(x, attention_mask=keys, position_ids=position_ids, past_key_values=cache, position_embeddings=pe)[0]
        return SimpleNamespace(last_hidden_state=self.norm(x), past_key_values=cache)


class ForCausalLM(nn.Module):
    def __init__(self, cfg: HfConfig) -> None:
        super().__init__()
        self.config = SimpleNamespace(_attn_implementation="sdpa")
        self.model = Base(cfg, self.config)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tied:
            self.lm_head.weight = self.model.embed_tokens.weight
