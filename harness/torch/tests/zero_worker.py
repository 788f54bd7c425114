"""One process of test_zero.py's optimiser check: `python zero_worker.py RANK WORLD STORE OUT`. Joins a gloo group
through the file STORE, builds the same parameters and gradients on every rank (seeded), takes three AdamW updates
(sharded over the group when WORLD > 1) and writes the final parameters and the moments this rank holds to OUT."""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vpt_torch.distributed import Dist  # noqa: E402
from vpt_torch.inputs import OptimConfig  # noqa: E402
from vpt_torch.optim import LearnerAdamW  # noqa: E402

SHAPES = {"wte": (32, 8), "h.0.attn.w": (8, 24), "h.0.ln.g": (8,), "h.1.mlp.w": (8, 32), "h.1.mlp.b": (32,), "head": (8, 32)}


def main(rank: int, world: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    g = torch.Generator().manual_seed(0)
    params = {n: torch.randn(s, generator=g, dtype=torch.float32).requires_grad_(True) for n, s in SHAPES.items()}
    cfg = OptimConfig(lr=1e-2, warmupSteps=1, totalSteps=3, minLrRatio=0.1, weightDecay=0.1, beta1=0.9, beta2=0.95, eps=1e-8, gradClip=1.0)
    opt = LearnerAdamW(cfg, params, Dist(world=world, rank=rank, local_rank=rank) if world > 1 else None)
    for _ in range(3):
        opt.apply({n: torch.randn(p.shape, generator=g) for n, p in params.items()})
    arrays = {n: p.detach().numpy() for n, p in params.items()}
    np.savez(out, moments=np.array(opt.moment_elements()), **arrays)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
