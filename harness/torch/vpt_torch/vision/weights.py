"""A pretrained backbone's tensors checked against the shapes its config implies, shared by the DINOv2 and DINOv3
families: a missing, misshapen or unexpected tensor is one line naming the file and the tensor."""
from __future__ import annotations

from pathlib import Path
from typing import Collection, Dict, List, Mapping

import numpy as np

from ..errors import InputError


def checked_weights(f: Path, config: Path, named: Mapping[str, np.ndarray], shapes: Mapping[str, List[int]], what: str,
                    ignored: Collection[str] = ()) -> Dict[str, np.ndarray]:
    """The arrays of `shapes` from `named` as float32; tensors in `ignored` and task heads (`classifier.*`,
    `pooler.*`) may be present and are not read. `what` describes the model for the messages."""
    for name, shape in shapes.items():
        a = named.get(name)
        if a is None:
            raise InputError(f"{f}: no tensor '{name}', which {config} implies ({what})")
        if list(a.shape) != shape:
            raise InputError(f"{f}: tensor '{name}' has shape {list(a.shape)}, {config} implies {shape}")
    extra = sorted(k for k in named if k not in shapes and k not in ignored and not k.startswith(("classifier.", "pooler.")))
    if extra:
        raise InputError(f"{f}: unexpected tensor '{extra[0]}' for {what} as {config} describes it")
    return {k: np.asarray(named[k], dtype=np.float32) for k in shapes}
