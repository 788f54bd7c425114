"""Teacher-forced answer NLL (harness/language/eval/evaluate.ts answerNll): per problem the mean NLL of its answer
tokens, and pooled over the set (Σ nll / Σ answer tokens). Rows are right-padded; each batch is cut after the last
column any of its rows' loss reads (causal attention: the padding after it changes nothing before it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np
import torch

from .batches import trim_padding
from .lm import LanguageModel, Params
from .inputs import TokenRows
from .runtime import Runtime


ROWS = 8192  # positions whose log-softmax is taken at once


@dataclass
class AnswerNll:
    perItem: List[float]
    sum: float
    count: float
    sums: List[float] = field(default_factory=list)  # per problem: Σ NLL over its answer tokens
    counts: List[float] = field(default_factory=list)  # per problem: its answer tokens

    @property
    def value(self) -> float:
        return self.sum / max(1.0, self.count)

    def items(self) -> List[tuple]:
        """(NLL, its sum, its answer tokens) per problem, so shares of a set can be joined."""
        return list(zip(self.perItem, self.sums, self.counts))


def answer_nll(rt: Runtime, gpt: LanguageModel, params: Params, rows: TokenRows, batch_size: int, on_batch: Optional[Callable[[int, int], None]] = None) -> AnswerNll:
    per_item: List[float] = []
    sums: List[float] = []
    counts: List[float] = []
    total = 0.0
    count = 0.0
    n_batches = (rows.rows + batch_size - 1) // batch_size
    for k, s in enumerate(range(0, rows.rows, batch_size)):
        r = trim_padding(rows.select(np.arange(s, min(rows.rows, s + batch_size))))
        n, T = r.inputs.shape
        with torch.no_grad(), rt.autocast():
            ids = rt.upload(r.inputs, torch.int64)
            targets = rt.upload(r.targets.reshape(-1), torch.int64)
            mask = rt.upload(np.ascontiguousarray(r.mask.reshape(-1)))
            logits = gpt.forward(params, ids)
            # log-softmax a block of rows at a time: a large vocabulary's float32 copy of every row would not fit
            picked = torch.cat([torch.log_softmax(logits[i:i + ROWS].float(), dim=-1).gather(1, targets[i:i + ROWS].reshape(-1, 1))
                                for i in range(0, logits.shape[0], ROWS)])
            nll = (-picked.reshape(-1) * mask).reshape(n, T)
            both = torch.stack([nll.sum(-1), mask.reshape(n, T).sum(-1)]).cpu().numpy().astype(np.float64)
        for i in range(n):
            per_item.append(float(both[0, i] / max(1.0, both[1, i])))
            sums.append(float(both[0, i]))
            counts.append(float(both[1, i]))
            total += float(both[0, i])
            count += float(both[1, i])
        if on_batch is not None:
            on_batch(k + 1, n_batches)
    return AnswerNll(per_item, total, count, sums, counts)
