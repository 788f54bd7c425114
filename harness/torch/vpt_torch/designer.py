"""The language task designer φ (harness/language/designer/lm-designer.ts): a small causal transformer trunk (a GPT
without head) reads the context; with the embedding of the true next token it forms a query
u_t = tanh(ln_f(h_t)·Wc + E[w_t]·Wn + b); candidate scores u_t·E[c] + score.logp·log p_θ(c) + score.true·[c = w_t];
gate α_t = α_max·sigmoid(u_t·g + b_g). Output: candidate weights (1 − α_t)·e_0 + α_t·softmax(scores). Float32.
Options (issue 24), as lm-designer.ts has them: r over C_t without w_t (rSupport 'others'), gate features read from
the learner (log p(w_t), entropy; weights gate.feat) and the generator's wrong-token label (weight gate.label).
Its initial parameters come from the harness (`designer.<name>` arrays), so both engines start from the same φ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional

import numpy as np
import torch

from .gpt import Gpt, Params, candidate_scores, layer_norm, linear, parameter_shapes
from .inputs import GptConfig, InputError
from .topk import Candidates, mix_weights


# Added to w_t's score when r spans the other candidates only: its softmax weight is exactly 0 in float32.
EXCLUDED = -1e9


@dataclass(frozen=True)
class DesignerShape:
    vocabSize: int
    blockSize: int
    width: int
    layers: int
    heads: int
    alphaMax: float
    rSupport: str = "candidates"
    gateFeatures: bool = False
    labelFeature: bool = False

    def trunk(self) -> GptConfig:
        return GptConfig(vocabSize=self.vocabSize, blockSize=self.blockSize, nLayer=self.layers, nHead=self.heads, nEmbd=self.width)

    def shapes(self) -> Dict[str, tuple]:
        d = self.width
        out = {k: v for k, v in parameter_shapes(self.trunk()).items() if k != "head.w"}
        out.update({"query.ctx": (d, d), "query.next": (d, d), "query.b": (d,), "score.logp": (), "score.true": (), "gate.w": (d, 1), "gate.b": (1,)})
        if self.gateFeatures:
            out["gate.feat"] = (2, 1)
        if self.labelFeature:
            out["gate.label"] = ()
        return out


@dataclass
class DesignerOutput:
    weights: torch.Tensor  # [N, K], rows sum to 1, column 0 the true token
    alpha: torch.Tensor  # [N]
    r: torch.Tensor  # [N, K] the designer's distribution over the candidates


class LmDesigner:
    def __init__(self, shape: DesignerShape, init: Mapping[str, np.ndarray], device: torch.device, sdpa: bool) -> None:
        if shape.width % shape.heads != 0:
            raise InputError(f"inputs.json: 'design.designerHeads' {shape.heads} does not divide designerWidth {shape.width}")
        self.shape = shape
        self.trunk = Gpt(shape.trunk(), sdpa=sdpa)
        self.params: Dict[str, torch.Tensor] = {}
        for name, want in shape.shapes().items():
            if name not in init:
                raise InputError(f"inputs.safetensors: missing array 'designer.{name}'")
            a = init[name]
            if tuple(a.shape) != tuple(want) and not (want == () and a.size == 1):
                raise InputError(f"inputs.safetensors: 'designer.{name}' has shape {list(a.shape)}, the designer expects {list(want)}")
            if a.dtype != np.float32:
                raise InputError(f"inputs.safetensors: 'designer.{name}' is {a.dtype}, expected float32")
            self.params[name] = torch.from_numpy(a.reshape(want).copy()).to(device).requires_grad_(True)

    def apply(self, p: Params, ids: torch.Tensor, targets: torch.Tensor, c: Candidates, logp: torch.Tensor,
              entropy: Optional[torch.Tensor] = None, wrong: Optional[torch.Tensor] = None) -> DesignerOutput:
        """Candidate weights and gate for the batch ids [B, T] with next tokens `targets` [B*T]; `entropy` and `wrong`
        [N] are what the optional gate inputs read."""
        B, T = ids.shape
        h = self.trunk.run_blocks(p, self.trunk.embed(p, ids), B, T, 0, self.shape.layers)
        ctx = layer_norm(h, p["ln_f.g"], p["ln_f.b"])
        nxt = p["wte"][targets.reshape(-1)]
        u = torch.tanh(ctx @ p["query.ctx"] + nxt @ p["query.next"] + p["query.b"])
        K = c.ids.shape[1]
        picked = candidate_scores(u, p["wte"], c.ids)
        # 1 at the true next token (column 0), built on the device: writing a Python scalar into a CUDA tensor
        # is a host-to-device copy that waits for the stream.
        is_true = (torch.arange(K, device=u.device) == 0).to(u.dtype).unsqueeze(0)
        scores = picked + logp * p["score.logp"] + is_true * p["score.true"]
        if self.shape.rSupport == "others":
            scores = scores + is_true * EXCLUDED
        z = linear(u, p["gate.w"], p["gate.b"])
        if self.shape.gateFeatures:
            if entropy is None:
                raise RuntimeError("the designer's gate features need the learner's entropy")
            z = z + torch.stack([logp[:, 0], entropy], dim=1) @ p["gate.feat"]
        if self.shape.labelFeature:
            if wrong is None:
                raise RuntimeError("the labels-as-feature designer needs the wrong-token labels")
            z = z + wrong.reshape(-1, 1) * p["gate.label"]
        alpha = (torch.sigmoid(z) * self.shape.alphaMax).reshape(-1)
        r = torch.softmax(scores, dim=-1)
        return DesignerOutput(mix_weights(alpha, r), alpha, r)
