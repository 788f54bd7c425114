"""Batches on the device, with what steps read of them kept on the host (the TypeScript's host copy of the mask):
the rows whose mask counts are found once when the batch is made, so no step reads the device to find them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from .inputs import TokenRows
from .runtime import Runtime


@dataclass
class Batch:
    ids: torch.Tensor  # [B, T] int64
    targets: torch.Tensor  # [B*T] int64
    mask: torch.Tensor  # [B*T] float32
    wrong: torch.Tensor  # [B*T] float32
    mask_host: np.ndarray  # [B*T] float32
    rows: Optional[torch.Tensor]  # int64 indices of the positions whose mask is not 0; None when all or none count
    denom: Optional[float] = None  # the loss's token count when this is a share of what it is taken over (else Σ mask)
    whole: Optional[float] = None  # this microbatch's token count over every rank, when this is one rank's share

    @property
    def shape(self) -> tuple:
        return tuple(self.ids.shape)


def masked_rows(mask: np.ndarray) -> Optional[np.ndarray]:
    """Indices of the mask's nonzero entries; None when every entry or none counts (nothing to skip)."""
    idx = np.flatnonzero(mask != 0)
    return None if idx.size == 0 or idx.size == mask.size else idx


def trim_padding(r: TokenRows) -> TokenRows:
    """Drops the columns after the last one any row's loss reads (feedback.ts trimPadding): with causal
    attention trailing padding changes nothing before it."""
    cols = np.flatnonzero((r.mask != 0).any(axis=0))
    length = int(cols[-1]) + 1 if cols.size else 0
    if length <= 0 or length == r.seq_len:
        return r
    return TokenRows(r.inputs[:, :length], r.targets[:, :length], r.mask[:, :length], r.wrong[:, :length])


def to_batch(rt: Runtime, r: TokenRows, denom: Optional[float] = None, whole: Optional[float] = None) -> Batch:
    mask = np.ascontiguousarray(r.mask.reshape(-1), dtype=np.float32)
    rows = masked_rows(mask)
    return Batch(
        ids=rt.upload(r.inputs, torch.int64),
        targets=rt.upload(r.targets.reshape(-1), torch.int64),
        mask=rt.upload(mask),
        wrong=rt.upload(r.wrong.reshape(-1), torch.float32),
        mask_host=mask,
        rows=None if rows is None else rt.upload(rows, torch.int64),
        denom=denom,
        whole=whole,
    )


def token_count(r: TokenRows) -> float:
    """Σ mask (exact in float64: the mask is 0/1 or small weights)."""
    return float(np.asarray(r.mask, dtype=np.float64).sum())


def shared_batch(rt: Runtime, r: TokenRows, total: Optional[float] = None) -> Batch:
    """This rank's contiguous share of the rows `r`, normalised over `total` tokens (default: all of r's) when it
    is a share (several processes) or `total` is given (accumulated microbatches); trailing padding not trimmed."""
    d = rt.dist
    if not d.active and total is None:
        return to_batch(rt, r)
    lo, hi = d.share(r.rows)
    count = token_count(r)
    return to_batch(rt, r.select(np.arange(lo, hi)), count if total is None else total, count if d.active else None)


def step_batches(rt: Runtime, rows: TokenRows, batches: np.ndarray, step: int, accum: int) -> List[Batch]:
    """The microbatches of optimiser step `step` (batches[step·accum + k], k < accum), each this rank's share; the
    loss is normalised over the tokens of all of them on every rank (one microbatch on one process: as before).
    A meta step reads one microbatch: its values are per token of that microbatch (`meta_view`)."""
    picks = [rows.select(batches[step * accum + k]) for k in range(accum)]
    if accum == 1 and not rt.dist.active:
        return [to_batch(rt, picks[0])]
    total = sum(token_count(r) for r in picks)
    return [shared_batch(rt, r, total) for r in picks]


def meta_view(b: Batch) -> Batch:
    """The batch as the meta step normalises it: over this microbatch's own tokens (on every rank), not the
    accumulated step's, so V on one microbatch estimates V per token of the whole step."""
    if b.denom is None or b.denom == b.whole:
        return b
    return Batch(b.ids, b.targets, b.mask, b.wrong, b.mask_host, b.rows, b.whole, b.whole)
