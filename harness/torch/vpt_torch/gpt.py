"""The learner GPT of harness/language/model/gpt.ts, written functionally over a parameter dictionary so that the
same code runs on the trainable tensors, on perturbed or dual copies (the directional term) and from a cached
hidden state (activations below S reused).

Pre-LayerNorm blocks (eps 1e-5), bias-free q/k/v, causal softmax attention, output projection with bias, exact
(erf) GELU MLP D -> 4D -> D with biases, final LayerNorm, untied bias-free head [D, V]; learned positions `wpe`.
Hidden states are [B*T, D] as in the TypeScript, so rows can be gathered and scattered by index.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, replace
from typing import Any, ContextManager, Dict, List, Mapping, Optional, Tuple


import torch
import torch.nn.functional as F

from .inputs import GptConfig

Params = Mapping[str, torch.Tensor]

LN_EPS = 1e-5
MASK_VALUE = -1e9


def parameter_shapes(cfg: GptConfig) -> Dict[str, Tuple[int, ...]]:
    V, T, L, D = cfg.vocabSize, cfg.blockSize, cfg.nLayer, cfg.nEmbd
    shapes: Dict[str, Tuple[int, ...]] = {"wte": (V, D), "wpe": (T, D)}
    for i in range(L):
        p = f"h.{i}."
        shapes.update({
            p + "ln1.g": (D,), p + "ln1.b": (D,),
            p + "attn.wq": (D, D), p + "attn.wk": (D, D), p + "attn.wv": (D, D),
            p + "attn.wo": (D, D), p + "attn.bo": (D,),
            p + "ln2.g": (D,), p + "ln2.b": (D,),
            p + "mlp.w1": (D, 4 * D), p + "mlp.b1": (4 * D,),
            p + "mlp.w2": (4 * D, D), p + "mlp.b2": (D,),
        })
    shapes.update({"ln_f.g": (D,), "ln_f.b": (D,), "head.w": (D, V)})
    return shapes


def subset_names(cfg: GptConfig, n_blocks: int) -> List[str]:
    """S: the last `n_blocks` blocks plus the final norm and the head (harness subsetNames)."""
    start = max(0, cfg.nLayer - n_blocks)
    out = []
    for n in parameter_shapes(cfg):
        if n.startswith("h."):
            if int(n.split(".")[1]) >= start:
                out.append(n)
        elif n.startswith("ln_f.") or n.startswith("head."):
            out.append(n)
    return out


def has_sdpa() -> bool:
    return hasattr(F, "scaled_dot_product_attention")


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """PyTorch's fused attention (torch ≥ 2.0): causal when no mask is given, else with the additive mask."""
    fn = getattr(F, "scaled_dot_product_attention")
    return fn(q, k, v, is_causal=True) if mask is None else fn(q, k, v, attn_mask=mask.to(q.dtype))


def causal_mask(T: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[T, T] additive mask: -1e9 above the diagonal (as the TypeScript's causalMask)."""
    return torch.triu(torch.full((T, T), MASK_VALUE, device=device, dtype=dtype), diagonal=1)


def layer_norm(x: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), g, b, LN_EPS)


def linear(x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor] = None) -> torch.Tensor:
    y = x @ w
    return y if b is None else y + b


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax(q·kᵀ/√dh + mask)·v with an additive mask broadcast to [B, H, Tq, Tk] (written out: any mask)."""
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1])) + mask.to(q.dtype)
    return torch.softmax(scores, dim=-1) @ v


@dataclass(frozen=True)
class Gpt:
    """The forward pass of a GPT of shape `cfg`. `sdpa`: causal attention by PyTorch's fused kernel when it
    exists (training), else written out with the -1e9 mask as the TypeScript does (forward-mode AD needs that)."""

    cfg: GptConfig
    sdpa: bool = False

    @property
    def vocab_size(self) -> int:
        return self.cfg.vocabSize

    @property
    def block_size(self) -> int:
        return self.cfg.blockSize

    @property
    def n_layer(self) -> int:
        return self.cfg.nLayer

    def written_out(self) -> "Gpt":
        """The same network with attention written out (forward-mode AD has no rule for the fused kernels)."""
        return replace(self, sdpa=False)

    def training(self) -> ContextManager[Any]:
        return contextlib.nullcontext()  # no dropout

    def embed(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        """Token + position embeddings: ids [B, T] -> [B*T, D]."""
        B, T = ids.shape
        if T > self.cfg.blockSize:
            raise ValueError(f"sequence length {T} exceeds blockSize {self.cfg.blockSize}")
        x = p["wte"][ids] + p["wpe"][:T]
        return x.reshape(B * T, self.cfg.nEmbd)

    def attention_inputs(self, p: Params, i: int, x: torch.Tensor, B: int, T: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v [B, H, T, dh] of block i."""
        H = self.cfg.nHead
        dh = self.cfg.nEmbd // H
        a = layer_norm(x, p[f"h.{i}.ln1.g"], p[f"h.{i}.ln1.b"])

        def heads(w: str) -> torch.Tensor:
            return linear(a, p[f"h.{i}.attn.{w}"]).reshape(B, T, H, dh).transpose(1, 2)

        return heads("wq"), heads("wk"), heads("wv")

    def causal_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.sdpa:
            return sdpa(q, k, v)
        return attend(q, k, v, causal_mask(q.shape[2], q.device))

    @staticmethod
    def merge_heads(y: torch.Tensor) -> torch.Tensor:
        B, H, T, dh = y.shape
        return y.transpose(1, 2).reshape(B * T, H * dh)

    def block_output(self, p: Params, i: int, x: torch.Tensor, merged: torch.Tensor) -> torch.Tensor:
        """Output projection, residual, and the MLP half of block i."""
        g = f"h.{i}."
        x = x + linear(merged, p[g + "attn.wo"], p[g + "attn.bo"])
        m = layer_norm(x, p[g + "ln2.g"], p[g + "ln2.b"])
        h = F.gelu(linear(m, p[g + "mlp.w1"], p[g + "mlp.b1"]))
        return x + linear(h, p[g + "mlp.w2"], p[g + "mlp.b2"])

    def block(self, p: Params, i: int, x: torch.Tensor, B: int, T: int) -> torch.Tensor:
        q, k, v = self.attention_inputs(p, i, x, B, T)
        return self.block_output(p, i, x, self.merge_heads(self.causal_attention(q, k, v)))

    def run_blocks(self, p: Params, x: torch.Tensor, B: int, T: int, start: int, stop: int) -> torch.Tensor:
        """Blocks [start, stop) on hidden [B*T, D]."""
        for i in range(start, stop):
            x = self.block(p, i, x, B, T)
        return x

    @staticmethod
    def final_norm(p: Params, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, p["ln_f.g"], p["ln_f.b"])

    def head_logits(self, p: Params, x: torch.Tensor) -> torch.Tensor:
        """Final norm and head: [N, D] -> logits [N, V]."""
        return linear(self.final_norm(p, x), p["head.w"])

    def forward(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> logits [B*T, V]."""
        B, T = ids.shape
        return self.head_logits(p, self.run_blocks(p, self.embed(p, ids), B, T, 0, self.cfg.nLayer))

    def hidden_below(self, p: Params, ids: torch.Tensor, up_to: int) -> torch.Tensor:
        """Hidden state entering block `up_to` (the activations below S)."""
        B, T = ids.shape
        return self.run_blocks(p, self.embed(p, ids), B, T, 0, up_to)

    def forward_from(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int) -> torch.Tensor:
        """Logits from the hidden state entering block `start`."""
        return self.head_logits(p, self.run_blocks(p, hidden, B, T, start, self.cfg.nLayer))

    def last_hidden_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        """The last block's output at `rows` only: attention over every position, then its position-wise half
        (projection, MLP) at those rows (the same values there as a full forward)."""
        last = self.cfg.nLayer - 1
        if start > last:
            raise ValueError(f"last_hidden_at_rows: block {start} is past the last block {last}")
        x = self.run_blocks(p, hidden, B, T, start, last)
        q, k, v = self.attention_inputs(p, last, x, B, T)
        merged = self.merge_heads(self.causal_attention(q, k, v))
        return self.block_output(p, last, x.index_select(0, rows), merged.index_select(0, rows))

    def forward_from_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        return self.head_logits(p, self.last_hidden_at_rows(p, hidden, B, T, start, rows))

    def head_at_columns(self, p: Params, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Final norm and the head's columns `ids` [N, K] only: logits [N, K] of each row's own candidates."""
        return candidate_scores(self.final_norm(p, x), p["head.w"].t(), ids)

    # -- incremental decoding (harness/language/model/generate.ts) ------------------------------------------------
    def decode_logits(self, p: Params, ids: torch.Tensor, pos: torch.Tensor, seq_len: int, key_mask: torch.Tensor, cache: Optional[Any]) -> Tuple[torch.Tensor, Any]:
        B, Tq = ids.shape
        caches: List[Tuple[torch.Tensor, torch.Tensor]] = [] if cache is None else cache
        if Tq > 1:
            mask = causal_mask(Tq, ids.device) + key_mask.reshape(B, 1, 1, Tq)
        else:
            mask = key_mask.reshape(B, 1, 1, -1)
        x = p["wte"][ids.reshape(-1)] + p["wpe"][pos.reshape(-1)]
        for layer in range(self.cfg.nLayer):
            q, k, v = self.attention_inputs(p, layer, x, B, Tq)
            if layer < len(caches):
                k = torch.cat([caches[layer][0], k], dim=2)
                v = torch.cat([caches[layer][1], v], dim=2)
                caches[layer] = (k, v)
            else:
                caches.append((k, v))
            y = sdpa(q, k, v, mask) if self.sdpa else attend(q, k, v, mask)
            x = self.block_output(p, layer, x, self.merge_heads(y))
        last = x.reshape(B, Tq, -1)[:, Tq - 1]
        return self.head_logits(p, last), caches


def candidate_scores(u: torch.Tensor, table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """u_n · table[ids[n, k]] -> [N, K] (the K candidate rows gathered: N·K·d work)."""
    rows = table[ids]  # [N, K, d]
    return (rows @ u.unsqueeze(-1)).squeeze(-1)
