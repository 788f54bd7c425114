"""`python -m vpt_torch bench <dir>` (docs/TRAINER-PROTOCOL.md, "Benchmarks"): `bench.warmup` untimed learner steps,
then `bench.steps` timed ones of the arm, on the rows of `batches` taken cyclically, with a meta step on every step
for designer arms (burn-in 0, cadence 1: the harness spreads the meta step's time over the suite's cadence). Each
step's time is stamped without waiting (CUDA events on a GPU, read after the last step), the meta step's apart.

flopsPerStep counts the learner step's model FLOPs, for MFU: per token 2·N forward over the weights the step
multiplies by (every layer's projections and the head; embeddings are lookups), 2·N backward to the activations,
2·N_trainable backward to the weights (so 6·N for full-parameter training, ≈ 4·N + 6·N_adapters for LoRA), plus
attention's 12·L·T·(heads·head size) (q·kᵀ and the weighted sum forward and backward, the whole T×T as PaLM counts
it, not halved for the causal mask).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

from .cell import learner_of, make_rule
from .hf_config import HfConfig
from .inputs import CellInputs
from .learner_model import Learnable
from .runtime import Clock, Runtime, Stamp, peak_memory
from .trainer import cyclic_batches


def matmul_weights(cell: CellInputs) -> Tuple[int, int, int]:
    """(N: weights multiplied per token, L, heads·head size) of the learner."""
    g = cell.model.gpt
    if g is not None:
        D = g.nEmbd
        return g.nLayer * 12 * D * D + D * g.vocabSize, g.nLayer, D
    assert cell.model.hf is not None
    c: HfConfig = cell.model.hf.config
    per_layer = sum(o * i for o, i in (c.module_shape(m) for m in c.module_names()))
    return c.num_layers * per_layer + c.vocab_size * c.hidden_size, c.num_layers, c.num_heads * c.head_dim


def flops_per_token(cell: CellInputs, model: Learnable, T: int) -> float:
    n, layers, width = matmul_weights(cell)
    attention = 12.0 * layers * T * width
    if cell.model.hf is None or cell.model.hf.lora is None:
        return 6.0 * n + attention
    adapters = sum(model.params[name].numel() for name in model.trainable)
    return 4.0 * n + 6.0 * adapters + attention


def bench_cell(rt: Runtime, cell: CellInputs, model: Learnable) -> Dict[str, Any]:
    warmup, steps = max(0, cell.bench.warmup), max(1, cell.bench.steps)
    total = warmup + steps
    timed = replace(cell, design=replace(cell.design, burnIn=0, metaEvery=1), probe_steps=[])
    gpt, params = model.lm, model.params
    rule = make_rule(rt, gpt, params, timed, total, calibrating=True)
    learner = learner_of(rt, timed, model)
    clock = learner.clock
    stamps: List[Tuple[Stamp, Stamp, Optional[Tuple[Stamp, Stamp]]]] = []
    for step in range(total):
        micro = cyclic_batches(rt, cell.train_rows, cell.batches, step, cell.train.accum)
        s0 = clock.stamp()
        out = learner.step_batches(micro, rule, step)
        s1 = clock.stamp()
        if step >= warmup:
            stamps.append((s0, s1, out.meta))
    rt.synchronize()
    rule.sync()
    learner_ms: List[float] = []
    meta_ms: List[float] = []
    for s0, s1, meta in stamps:
        m = Clock.ms(meta[0], meta[1]) if meta is not None else 0.0
        learner_ms.append(Clock.ms(s0, s1) - m)
        if meta is not None:
            meta_ms.append(m)
    tokens = cell.train.accum * cell.train.batchSize * cell.train.seqLen
    memory = peak_memory(rt)
    return {
        "type": "bench", "learnerMs": learner_ms, "metaMs": meta_ms, "tokensPerStep": tokens, **model.counts(),
        "flopsPerStep": flops_per_token(cell, model, cell.train.seqLen) * tokens,
        "peakBytes": memory["peakBytes"], "rssPeakBytes": memory["rssPeakBytes"],
    }
