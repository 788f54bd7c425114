"""Greedy decoding with a key/value cache (harness/language/model/generate.ts). Prompts (already cut to fit by the
harness) are left-padded with end-of-text; each row gets its own positions and a key mask over its padding, so
every row sees exactly what it would see alone. A row stops at end-of-text (not kept), at a stop-id sequence
(cut off), at `max_new` tokens, or when the context is full. The harness cuts the decoded text at its stop strings.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np
import torch

from .gpt import MASK_VALUE
from .lm import LanguageModel, Params
from .runtime import Runtime


def _ends_with(seq: Sequence[int], stop: Sequence[int]) -> bool:
    return 0 < len(stop) <= len(seq) and list(seq[len(seq) - len(stop):]) == list(stop)


def generate_greedy(rt: Runtime, lm: LanguageModel, p: Params, prompts: Sequence[np.ndarray], max_new: int, eos_id: int, stop_ids: Sequence[Sequence[int]],
                    batch_size: int, on_batch: Optional[Callable[[int, int], None]] = None) -> List[List[int]]:
    ctx = lm.block_size
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
        cache: Any = None
        with torch.no_grad(), rt.autocast():
            km = rt.upload(key_mask)
            logits, cache = lm.decode_logits(p, rt.upload(ids), rt.upload(pos), int(pos.max()) + 1, km, cache)
            nxt = torch.argmax(logits.float(), dim=-1).cpu().tolist()
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
                logits, cache = lm.decode_logits(p, rt.upload(feed.reshape(B, 1)), rt.upload(feed_pos.reshape(B, 1)), int(feed_pos.max()) + 1, km, cache)
                nxt = torch.argmax(logits.float(), dim=-1).cpu().tolist()
        out.extend(generated)
        if on_batch is not None:
            on_batch(k_batch + 1, n_batches)
    return out
