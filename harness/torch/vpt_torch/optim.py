"""AdamW with global-norm clipping and the warmup + cosine schedule (harness/optim/adamw.ts).

- Decoupled weight decay on matrices only (ndim ≥ 2: wte, wpe, every weight matrix, the head), none on norms
  and biases.
- The gradient norm is taken before clipping and returned as a device tensor (read at log points only); the
  clip scale min(1, clip / (norm + 1e-6)) stays on the device too, so a step never waits for the host.
- The learning rate of step t (0-based count of updates so far) is `scheduled_lr(cfg, t)`; bias corrections use
  t + 1, as the TypeScript increments its counter first.
torch.optim.AdamW computes the same update, x ← x·(1 − lr·wd) − lr·(m/bc1)/(√(v/bc2) + eps), written
x − (lr/bc1)·m/(√v/√bc2 + eps): the same arithmetic up to rounding.
- With several processes and `launch.shardOptimizer`, torch's ZeroRedundancyOptimizer (ZeRO stage 1) wraps that
  AdamW: each process keeps the moments of its share of the parameters (partitioned by size), updates that share
  from the all-reduced gradients and broadcasts it, so the moments take 1/N of the memory on each device and the
  update is the one a single process makes.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

import torch

from .distributed import Dist
from .errors import InputError

from .inputs import OptimConfig
from .losses import wide


def scheduled_lr(cfg: OptimConfig, step: int) -> float:
    """Linear warmup to lr, then cosine down to lr·minLrRatio over totalSteps (step 0-based)."""
    if cfg.warmupSteps > 0 and step < cfg.warmupSteps:
        return cfg.lr * (step + 1) / cfg.warmupSteps
    span = max(1, cfg.totalSteps - cfg.warmupSteps)
    t = min(1.0, (step - cfg.warmupSteps) / span)
    low = cfg.lr * cfg.minLrRatio
    return low + 0.5 * (cfg.lr - low) * (1 + math.cos(math.pi * t))


def global_norm(ts: List[torch.Tensor]) -> torch.Tensor:
    """√(Σ ‖t‖²) as a device scalar, in float32."""
    if hasattr(torch, "_foreach_norm") and ts and ts[0].is_cuda:
        return torch.linalg.vector_norm(torch.stack([wide(n) for n in torch._foreach_norm(ts)]))
    return torch.sqrt(sum((wide(t).square().sum() for t in ts), torch.zeros((), device=ts[0].device, dtype=wide(ts[0]).dtype)))


class LearnerAdamW:
    """The learner's optimiser: clipping by the global norm, then AdamW at the scheduled learning rate."""

    def __init__(self, cfg: OptimConfig, params: Mapping[str, torch.Tensor], shard_over: Optional[Dist] = None) -> None:
        """`shard_over`: the processes over which to shard the moments (ZeRO stage 1); None keeps them whole."""
        self.cfg = cfg
        self.params = dict(params)
        decay = [p for p in self.params.values() if p.dim() >= 2]
        plain = [p for p in self.params.values() if p.dim() < 2]
        groups = [g for g in ({"params": decay, "weight_decay": cfg.weightDecay}, {"params": plain, "weight_decay": 0.0}) if g["params"]]
        kw: Dict[str, Any] = {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "eps": cfg.eps}
        self.opt: torch.optim.Optimizer
        if shard_over is not None and shard_over.active:
            from torch.distributed.optim import ZeroRedundancyOptimizer

            self.opt = ZeroRedundancyOptimizer(groups, optimizer_class=torch.optim.AdamW, **kw)
            self.local: torch.optim.Optimizer = self.opt.optim  # this process's share, and its moments
        else:
            self.opt = torch.optim.AdamW(groups, **kw)
            self.local = self.opt
        self.step_count = 0

    def moment_elements(self) -> int:
        """Elements of the AdamW moments this process holds (all of them unless sharded)."""
        return sum(t.numel() for s in self.local.state.values() for k, t in s.items() if k in ("exp_avg", "exp_avg_sq"))

    def next_lr(self) -> float:
        return scheduled_lr(self.cfg, self.step_count)

    def restore(self, m: Mapping[str, torch.Tensor], v: Mapping[str, torch.Tensor], updates: int) -> None:
        """Continues an AdamW state saved by the harness (vpt's optimizer.safetensors): the moments and the bias
        correction's update count carry on; the schedule (step_count) starts at this stage's step 0."""
        owned = {id(p) for g in self.local.param_groups for p in g["params"]}  # sharded: this process's share
        for n, p in self.params.items():
            if n not in m or n not in v:
                raise InputError(f"optimiser state: no moments for parameter {n}")
            if m[n].numel() != p.numel() or v[n].numel() != p.numel():
                raise InputError(f"optimiser state: moments of {n} hold {m[n].numel()} values, the parameter {p.numel()}")
            if id(p) not in owned:
                continue
            self.local.state[p] = {
                "step": torch.tensor(float(updates)),
                "exp_avg": m[n].reshape(p.shape).to(p.device, torch.float32).clone(),
                "exp_avg_sq": v[n].reshape(p.shape).to(p.device, torch.float32).clone(),
            }

    def apply(self, grads: Dict[str, torch.Tensor]) -> torch.Tensor:
        """One update from `grads` (every parameter; clipped in place). Returns the pre-clip norm (a device scalar)."""
        names = list(self.params)
        gs = [grads[n] for n in names]
        norm = global_norm(gs)
        if self.cfg.gradClip > 0:
            scale = torch.clamp(self.cfg.gradClip / (norm + 1e-6), max=1.0)
            for g in gs:
                g.mul_(scale.to(g.dtype))
        lr = self.next_lr()
        for group in self.opt.param_groups:
            group["lr"] = lr
        for n, g in zip(names, gs):
            self.params[n].grad = g
        self.opt.step()
        for p in self.params.values():
            p.grad = None
        self.step_count += 1
        return norm


class DesignerAdam:
    """The designer's optimiser: Adam (β 0.9/0.999, ε 1e-7 unless design.designerEps says: tfjs's defaults), constant
    lr, no decay, no clipping."""

    def __init__(self, lr: float, params: Mapping[str, torch.Tensor], eps: float = 1e-7) -> None:
        self.params = dict(params)
        self.opt = torch.optim.Adam(list(self.params.values()), lr=lr, betas=(0.9, 0.999), eps=eps)

    def apply(self, grads: Mapping[str, torch.Tensor]) -> None:
        # A parameter without a gradient is left alone (its moments too), as the TypeScript updates only those given.
        for n, p in self.params.items():
            p.grad = grads.get(n)
        self.opt.step()
        for p in self.params.values():
            p.grad = None
