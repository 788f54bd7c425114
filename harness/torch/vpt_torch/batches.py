"""Batches on the device, with what steps read of them kept on the host (the TypeScript's host copy of the mask):
the rows whose mask counts are found once when the batch is made, so no step reads the device to find them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

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


def to_batch(rt: Runtime, r: TokenRows) -> Batch:
    mask = np.ascontiguousarray(r.mask.reshape(-1), dtype=np.float32)
    rows = masked_rows(mask)
    return Batch(
        ids=rt.upload(r.inputs, torch.int64),
        targets=rt.upload(r.targets.reshape(-1), torch.int64),
        mask=rt.upload(mask),
        wrong=rt.upload(r.wrong.reshape(-1), torch.float32),
        mask_host=mask,
        rows=None if rows is None else rt.upload(rows, torch.int64),
    )
