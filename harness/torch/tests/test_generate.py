"""Greedy decoding with the cache and left padding against a naive decoder (each prompt alone, a full forward per
new token), with stops at end-of-text, at a stop-id sequence and at a full context."""
from typing import List, Sequence

import numpy as np
import torch

from test_gpt import CFG, params64
from vpt_torch.generate import generate_greedy
from vpt_torch.gpt import Gpt
from vpt_torch.runtime import make_runtime


def naive(gpt: Gpt, p: dict, prompt: Sequence[int], max_new: int, eos: int, stops: Sequence[Sequence[int]]) -> List[int]:
    seq, out = list(prompt), []
    for _ in range(max_new):
        nxt = int(torch.argmax(gpt.forward(p, torch.tensor([seq]))[-1]))
        if nxt == eos:
            break
        out.append(nxt)
        seq.append(nxt)
        stop = next((s for s in stops if out[-len(s):] == list(s)), None)
        if stop is not None:
            return out[: len(out) - len(stop)]
        if len(seq) >= gpt.cfg.blockSize:
            break
    return out


PROMPTS = [np.array([1, 2, 3], np.int32), np.array([4], np.int32), np.array([5, 6, 7, 8, 9, 0], np.int32), np.array([2, 2], np.int32)]


def run(eos: int, stops: List[List[int]], max_new: int = 6, batch: int = 3) -> None:
    gpt, p = Gpt(CFG), params64(seed=3)
    rt = make_runtime("cpu", "float32", 1, "exact")
    got = generate_greedy(rt, gpt, p, PROMPTS, max_new, eos, stops, batch)
    want = [naive(gpt, p, pr.tolist(), max_new, eos, stops) for pr in PROMPTS]
    assert got == want


def free_runs() -> List[List[int]]:
    gpt, p = Gpt(CFG), params64(seed=3)
    return [naive(gpt, p, pr.tolist(), 6, -1, []) for pr in PROMPTS]


def unused_token() -> int:
    """A token no prompt's continuation holds: as end-of-text it only pads."""
    seen = {t for run in free_runs() for t in run}
    return min(set(range(CFG.vocabSize)) - seen)


def test_matches_the_naive_decoder() -> None:
    run(eos=unused_token(), stops=[])


def test_context_full_stops() -> None:
    gpt, p = Gpt(CFG), params64(seed=3)
    out = generate_greedy(make_runtime("cpu", "float32", 1, "exact"), gpt, p, [PROMPTS[2]], 10, unused_token(), [], 4)
    assert len(out[0]) == CFG.blockSize - PROMPTS[2].size


def test_end_of_text_and_stop_sequences() -> None:
    long = max(free_runs(), key=len)
    run(eos=long[2], stops=[])  # stops where that token first comes
    run(eos=unused_token(), stops=[[long[1], long[2]], [12345]])
    run(eos=unused_token(), stops=[[long[0]]], batch=1)
