"""Greedy decoding with a key/value cache (harness/language/model/generate.ts). Prompts (already cut to fit by the
harness) are left-padded with end-of-text; each row gets its own positions and a key mask over its padding, so
every row sees exactly what it would see alone. A row stops at end-of-text (not kept), at a stop-id sequence
(cut off), at `max_new` tokens, or when the context is full. The harness cuts the decoded text at its stop strings.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .gpt import MASK_VALUE, Gpt, Params, attend, causal_mask, sdpa
from .runtime import Runtime

Cache = List[Tuple[torch.Tensor, torch.Tensor]]


def _attention(gpt: Gpt, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if gpt.sdpa:
        return sdpa(q, k, v, mask)
    return attend(q, k, v, mask)


def _step_blocks(gpt: Gpt, p: Params, x: torch.Tensor, B: int, Tq: int, mask: torch.Tensor, caches: Cache) -> torch.Tensor:
    """x [B*Tq, D] (positions embedded) through every block, attending to the cache and the new keys."""
    for layer in range(gpt.cfg.nLayer):
        q, k, v = gpt.attention_inputs(p, layer, x, B, Tq)
        if layer < len(caches):
            k = torch.cat([caches[layer][0], k], dim=2)
            v = torch.cat([caches[layer][1], v], dim=2)
            caches[layer] = (k, v)
        else:
            caches.append((k, v))
        x = gpt.block_output(p, layer, x, gpt.merge_heads(_attention(gpt, q, k, v, mask)))
    return x


def _embed_at(p: Params, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    return p["wte"][ids.reshape(-1)] + p["wpe"][pos.reshape(-1)]


def _ends_with(seq: Sequence[int], stop: Sequence[int]) -> bool:
    return 0 < len(stop) <= len(seq) and list(seq[len(seq) - len(stop):]) == list(stop)


def generate_greedy(rt: Runtime, gpt: Gpt, p: Params, prompts: Sequence[np.ndarray], max_new: int, eos_id: int, stop_ids: Sequence[Sequence[int]],
                    batch_size: int, on_batch: Optional[Callable[[int, int], None]] = None) -> List[List[int]]:
    ctx = gpt.cfg.blockSize
    out: List[List[int]] = []
    n_batches = (len(prompts) + batch_size - 1) // batch_size
    for k_batch, start in enumerate(range(0, len(prompts), batch_size)):
        seqs = [np.asarray(s, dtype=np.int64) for s in prompts[start:start + batch_size]]
        B = len(seqs)
        lens = [int(s.size) for s in seqs]
        T = max(lens)
        ids = np.full((B, T), eos_id, dtype=np.int64)
        pos = np.zeros((B, T), dtype=np.int64)
        key_mask = np.zeros((B, T), dtype=np.float32)
        for i, s in enumerate(seqs):
            pad = T - s.size
            ids[i, pad:] = s
            pos[i] = np.maximum(0, np.arange(T) - pad)
            key_mask[i, :pad] = MASK_VALUE
        generated: List[List[int]] = [[] for _ in seqs]
        done = [False] * B
        caches: Cache = []
        with torch.no_grad(), rt.autocast():
            km = rt.upload(key_mask)
            mask = causal_mask(T, rt.device) + km.reshape(B, 1, 1, T)
            x = _step_blocks(gpt, p, _embed_at(p, rt.upload(ids), rt.upload(pos)), B, T, mask, caches)
            last = x.reshape(B, T, -1)[:, T - 1]
            nxt = torch.argmax(gpt.head_logits(p, last).float(), dim=-1).cpu().tolist()
            for k in range(max_new):
                for i in range(B):
                    if done[i]:
                        continue
                    tok = int(nxt[i])
                    if tok == eos_id:
                        done[i] = True
                        continue
                    generated[i].append(tok)
                    hit = next((s for s in stop_ids if _ends_with(generated[i], s)), None)
                    if hit is not None:
                        del generated[i][len(generated[i]) - len(hit):]
                    if hit is not None or lens[i] + k + 1 >= ctx:
                        done[i] = True
                if all(done) or k == max_new - 1:
                    break
                feed = np.array([eos_id if done[i] else int(nxt[i]) for i in range(B)], dtype=np.int64)
                feed_pos = np.array([min(ctx - 1, lens[i] + k) for i in range(B)], dtype=np.int64)
                km = torch.cat([km, torch.zeros(B, 1, device=km.device)], dim=1)
                x = _step_blocks(gpt, p, _embed_at(p, rt.upload(feed), rt.upload(feed_pos)), B, 1, km.reshape(B, 1, 1, -1), caches)
                nxt = torch.argmax(gpt.head_logits(p, x).float(), dim=-1).cpu().tolist()
        out.extend(generated)
        if on_batch is not None:
            on_batch(k_batch + 1, n_batches)
    return out
