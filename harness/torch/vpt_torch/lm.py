"""The learner as the rest of the engine sees it: a causal language model written functionally over a dictionary of
named tensors, with the partial forwards the value, the probe and the designer need. Two kinds implement it: the vpt
GPT (gpt.py, the tfjs engine's model) and the Hugging Face decoder families (hf_model.py built in, hf_transformers.py
through transformers' own classes).

Hidden states are [B*T, D] rows (a batch's rows flattened), so positions can be gathered and scattered by index.
`start`/`stop` count decoder layers; `hidden_below(p, ids, k)` is the state entering layer k (the activations below
S when k is S's first layer), and `forward_from` runs on from there.
"""
from __future__ import annotations

from typing import Any, ContextManager, Mapping, Optional, Protocol, Tuple

import torch

Params = Mapping[str, torch.Tensor]


class LanguageModel(Protocol):
    @property
    def vocab_size(self) -> int: ...

    @property
    def block_size(self) -> int:
        """The longest context a row may have (inputs are checked against it)."""
        ...

    @property
    def n_layer(self) -> int: ...

    def written_out(self) -> "LanguageModel":
        """The same network with attention written out (forward-mode AD has no rule for the fused kernels)."""
        ...

    def training(self) -> ContextManager[Any]:
        """Inside: dropout where the model has any (LoRA adapters' input); outside, none."""
        ...

    def forward(self, p: Params, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> logits [B*T, V]."""
        ...

    def hidden_below(self, p: Params, ids: torch.Tensor, up_to: int) -> torch.Tensor: ...

    def run_blocks(self, p: Params, x: torch.Tensor, B: int, T: int, start: int, stop: int) -> torch.Tensor: ...

    def forward_from(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int) -> torch.Tensor: ...

    def last_hidden_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor:
        """The last layer's output at `rows` only (attention over every position, the position-wise rest at those rows)."""
        ...

    def forward_from_at_rows(self, p: Params, hidden: torch.Tensor, B: int, T: int, start: int, rows: torch.Tensor) -> torch.Tensor: ...

    def head_logits(self, p: Params, x: torch.Tensor) -> torch.Tensor:
        """Final norm and head: [N, D] -> [N, V]."""
        ...

    def head_at_columns(self, p: Params, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Final norm and the head's columns ids [N, K] only: [N, K]."""
        ...

    def decode_logits(self, p: Params, ids: torch.Tensor, pos: torch.Tensor, seq_len: int, key_mask: torch.Tensor, cache: Optional[Any]) -> Tuple[torch.Tensor, Any]:
        """Incremental decoding: ids [B, Tq] at positions pos [B, Tq] (seq_len: 1 + the largest of them, known on the
        host), attending to the cache and to themselves;
        key_mask [B, Tk] is 0 on the keys a row may see and MASK_VALUE on its left padding (every key so far, these
        included). Tq > 1 only for the first call (the prompts; Tk = Tq, causal). Returns the logits of each row's last
        position [B, V] and the cache to pass next time (None the first time)."""
        ...
