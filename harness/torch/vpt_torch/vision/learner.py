"""The DINO learner on the torch engine (harness/vision/trainer.ts dinoStep): the student (trainable backbone +
head), its EMA teacher and the centre, from the tfjs engine's checkpoint layout (student.*, teacher.*, center).
One step: the teacher's targets on the teacher's views (no gradient), the student's loss on its views (iBOT's
masked patches blanked when on) and the local crops, AdamW with global-norm clipping, the teacher EMA at the
scheduled momentum, the centre update. Nothing is read on the host inside a step.
"""
from __future__ import annotations

from dataclasses import dataclass
import contextlib
from typing import Any, Callable, ContextManager, Dict, List, Optional

import numpy as np
import torch

from .. import safetensors_io
from ..errors import InputError
from ..optim import LearnerAdamW
from .dino import DinoConfig, PatchMask, dino_targets, mean_entropy, student_loss_from_hidden, teacher_side, updated_center
from .inputs import VisionCell
from .hf_backbone import backbone_vit
from .vit import Params, Vit


@dataclass
class StepOut:
    loss: torch.Tensor
    grad_norm: torch.Tensor
    entropy: torch.Tensor


class DinoLearner:
    def __init__(self, cell: VisionCell, arrays: Dict[str, np.ndarray], device: torch.device,
                 autocast: Callable[[], ContextManager[Any]] = contextlib.nullcontext) -> None:
        self.cell = cell
        self.autocast = autocast  # bf16 autocast of the learner's forward on CUDA (parameters, state and designer float32)
        self.vit: Vit = (backbone_vit(cell.hf, cell.vit.imageSize, cell.head, device, cell.implementation, cell.model_dir)
                         if cell.hf is not None else Vit(cell.vit, cell.head, device))
        self.dino: DinoConfig = cell.dino
        names = [k[len("student."):] for k in arrays if k.startswith("student.")]
        self.names = names
        self.student: Params = {n: torch.from_numpy(np.array(arrays["student." + n], dtype=np.float32)).to(device).requires_grad_(True) for n in names}
        self.teacher: Params = {n: torch.from_numpy(np.array(arrays["teacher." + n], dtype=np.float32)).to(device) for n in names}
        self.center = torch.from_numpy(np.array(arrays["center"], dtype=np.float32)).to(device)
        self.opt = LearnerAdamW(cell.train.optim, self.student)
        if cell.train.optimizerState:
            self.continue_optimizer(cell.train.optimizerState, device)

    def continue_optimizer(self, path: str, device: torch.device) -> None:
        """The base stage's AdamW state (train.optimizer 'continued'), as the harness saved it beside the checkpoint."""
        try:
            st = safetensors_io.read(path)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file (the base checkpoint's optimiser state)") from None
        updates = st.metadata.get("updates", "")
        if st.metadata.get("format") != "vpt-adamw" or not updates.isdigit():
            raise InputError(f"{path}: not a vpt AdamW state (metadata format {st.metadata.get('format')!r}, updates {updates!r})")
        moments = {w: {k[2:]: torch.from_numpy(np.array(a, dtype=np.float32)).to(device) for k, a in st.arrays.items() if k.startswith(w + ".")} for w in ("m", "v")}
        self.opt.restore(moments["m"], moments["v"], int(updates))

    def const(self) -> Params:
        """The student's current values without gradient tracking (the designer's and the probe's θ)."""
        return {n: t.detach() for n, t in self.student.items()}

    def targets(self, views: torch.Tensor, mask: Optional[PatchMask]) -> tuple:
        cls, patch = teacher_side(self.vit, self.teacher, views, mask, self.dino)
        return cls, dino_targets(cls, self.center, self.dino), patch

    def loss(self, params: Params, student_views: torch.Tensor, local: torch.Tensor, targets: torch.Tensor, B: int,
             mask: Optional[PatchMask], patch: Optional[torch.Tensor]) -> torch.Tensor:
        """The learner's full-forward loss (the student's views already carry iBOT's blanking when on)."""
        g = self.vit.embed(params, student_views)
        h = self.vit.embed(params, local) if local.shape[0] > 0 else None
        return student_loss_from_hidden(self.vit, params, g, h, 0, targets, B, self.dino, mask, patch)

    def step(self, student_views: torch.Tensor, teacher_views: torch.Tensor, local: torch.Tensor, B: int,
             mask: Optional[PatchMask], momentum: float) -> StepOut:
        with self.autocast():
            t_cls, targets, patch = self.targets(teacher_views, mask if self.dino.ibot else None)
            views = student_views * mask.keep if (self.dino.ibot and mask is not None) else student_views
            loss = self.loss(self.student, views, local, targets, B, mask if self.dino.ibot else None, patch)
        t_cls, targets = t_cls.float(), targets.float()
        grads = torch.autograd.grad(loss, [self.student[n] for n in self.names])
        norm = self.opt.apply({n: g for n, g in zip(self.names, grads)})
        with torch.no_grad():
            t = [self.teacher[n] for n in self.names]
            s = [self.student[n] for n in self.names]
            torch._foreach_mul_(t, momentum)
            torch._foreach_add_(t, s, alpha=1 - momentum)
            self.center = updated_center(self.center, t_cls, self.dino.centerMomentum)
            entropy = mean_entropy(targets)
        return StepOut(loss.detach(), norm, entropy)

    def arrays(self) -> Dict[str, np.ndarray]:
        out: Dict[str, np.ndarray] = {}
        for n in self.names:
            out["student." + n] = self.student[n].detach().cpu().numpy()
            out["teacher." + n] = self.teacher[n].cpu().numpy()
        out["center"] = self.center.cpu().numpy()
        return out


def first_images(x: torch.Tensor, B: int, m: int) -> torch.Tensor:
    """Rows of the first m images of every view of a view-major batch [V·B, ...]."""
    if m == B:
        return x
    V = x.shape[0] // B
    return x.reshape(V, B, *x.shape[1:])[:, :m].reshape(V * m, *x.shape[1:])


def subset_list(params: Params, names: List[str]) -> List[torch.Tensor]:
    return [params[n] for n in names]
