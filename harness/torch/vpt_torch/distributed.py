"""Data parallelism over N processes (docs/TRAINER-PROTOCOL.md, "several processes"): the engine runs under
`python -m torch.distributed.run --standalone --nproc_per_node N` (gloo on CPU, NCCL on CUDA), every rank holds the
whole model, takes a contiguous share of each batch, and sums what must be global with all-reduce:

- the learner's gradients (each rank's loss is its share's sum over the global batch's token count, which every
  rank knows from the host copy of the masks, so the sum of the ranks' gradients is the global gradient);
- g_down (each rank takes its share of the feedback batch, normalised the same way);
- the designer's gradient ∇φV (each rank's share of V), so every rank applies the same Adam update: one designer;
- the few scalars that are reported (loss, V, the gate sums).

Gradients are summed explicitly rather than by DistributedDataParallel: the engine takes gradients with
torch.autograd.grad over a dictionary of tensors (no nn.Module, no .grad accumulation for DDP's hooks to watch),
and the meta step needs the summed gradient of S at a point DDP does not expose. The sums run once per optimiser
step (after the microbatches of an accumulated step), in buckets, as DDP's no_sync would.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

BUCKET_ELEMENTS = 1 << 25  # 32 Mi elements (128 MiB in float32) per all-reduce


@dataclass(frozen=True)
class Dist:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> Tuple[int, int]:
        """This rank's contiguous share [lo, hi) of n items (the first n % world ranks take one more)."""
        base, extra = divmod(n, self.world)
        lo = self.rank * base + min(self.rank, extra)
        return lo, lo + base + (1 if self.rank < extra else 0)

    def sum_(self, tensors: Sequence[torch.Tensor]) -> None:
        """All-reduce (sum) in place, bucketed by dtype; nothing on one process."""
        if not self.active or not tensors:
            return
        import torch.distributed as dist

        buckets: List[List[torch.Tensor]] = []
        size = 0
        for t in tensors:
            if buckets and buckets[-1][0].dtype == t.dtype and size + t.numel() <= BUCKET_ELEMENTS:
                buckets[-1].append(t)
                size += t.numel()
            else:
                buckets.append([t])
                size = t.numel()
        for bucket in buckets:
            if len(bucket) == 1:
                dist.all_reduce(bucket[0])
                continue
            flat = torch.cat([t.reshape(-1) for t in bucket])
            dist.all_reduce(flat)
            offset = 0
            for t in bucket:
                t.copy_(flat[offset:offset + t.numel()].view_as(t))
                offset += t.numel()

    def summed(self, t: torch.Tensor) -> torch.Tensor:
        """A copy of t summed over the ranks (t itself on one process)."""
        if not self.active:
            return t
        out = t.detach().clone()
        self.sum_([out])
        return out

    def gather(self, obj: Any) -> List[Any]:
        """Every rank's obj, in rank order (host objects; one process: [obj])."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out: List[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def sharded(self, n: int, fn: Callable[[int, int], List[Any]]) -> List[Any]:
        """fn over this rank's share of n items, the ranks' lists joined in order (work split, same answer)."""
        lo, hi = self.share(n)
        mine = fn(lo, hi) if hi > lo else []
        return [x for part in self.gather(mine) for x in part]

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()


def under_launcher() -> bool:
    """Started by torch.distributed.run (it sets WORLD_SIZE, RANK, LOCAL_RANK and the rendezvous)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def init(cuda: bool) -> Dist:
    """Joins the process group of torch.distributed.run or `launch` (gloo on CPU, NCCL on CUDA); one process otherwise."""
    if not under_launcher():
        return Dist()
    world, rank, local = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return Dist(world=world, rank=rank, local_rank=local)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(args: List[str], nproc: int, env: Dict[str, str], preexec: Optional[Callable[[], Any]] = None) -> int:
    """`python <args>` as nproc processes on this machine with torch.distributed.run's environment (WORLD_SIZE,
    RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), their stdout and stderr this process's. When one fails the others
    are stopped (they would wait in a collective); the first failure's exit status is returned, else 0.
    (torch.distributed.run itself works as well; torch 1.13's fails to start under Python 3.11.)"""
    port = free_port()
    procs = []
    for rank in range(nproc):
        e = {**env, "WORLD_SIZE": str(nproc), "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc),
             "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, *args], env=e, preexec_fn=preexec))
    status = 0
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c is not None and c != 0]
            if failed:
                status = int(failed[0])
                break
            if all(c == 0 for c in codes):
                break
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return status


def shutdown(d: Optional[Dist]) -> None:
    if d is not None and d.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
