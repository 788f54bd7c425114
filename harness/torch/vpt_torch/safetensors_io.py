"""safetensors files as numpy arrays: the `safetensors` library when importable, else a built-in reader and
writer of the same format (u64-LE header length, a JSON header of {dtype, shape, data_offsets}, raw LE bytes).

Dtypes: F32, I32, U8 (the protocol's), BF16 and F16 (widened to float32 when read, as the harness does), BOOL
(read as uint8). Arrays come back as numpy, so the reader does not care which device they go to.
"""
from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

_READ_DTYPES: Dict[str, np.dtype] = {
    "F32": np.dtype("<f4"),
    "I32": np.dtype("<i4"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}

_WRITE_DTYPES: Dict[np.dtype, str] = {
    np.dtype("float32"): "F32",
    np.dtype("int32"): "I32",
    np.dtype("uint8"): "U8",
}


@dataclass(frozen=True)
class Loaded:
    """Named arrays and the header's metadata."""

    arrays: Dict[str, np.ndarray]
    metadata: Dict[str, str]


def library_available() -> bool:
    try:
        importlib.import_module("safetensors.numpy")
    except ImportError:
        return False
    return True


def _widen(raw: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return raw.astype(np.float32)
    return raw


def _dtypes(path: os.PathLike | str) -> set:
    """The dtypes a file's header names (reads the header only)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
    return {e["dtype"] for k, e in header.items() if k != "__metadata__"}


def read_builtin(path: os.PathLike | str) -> Loaded:
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    n = int.from_bytes(data[:8], "little")
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    arrays: Dict[str, np.ndarray] = {}
    metadata: Dict[str, str] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            metadata = dict(entry or {})
            continue
        dtype = entry["dtype"]
        if dtype not in _READ_DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype}; vpt_torch reads {', '.join(_READ_DTYPES)}")
        start, end = entry["data_offsets"]
        if base + end > len(data):
            raise ValueError(f"{path}: tensor '{name}' runs past the end of the file (truncated?)")
        shape: Tuple[int, ...] = tuple(int(s) for s in entry["shape"])
        raw = np.frombuffer(data, dtype=_READ_DTYPES[dtype], count=(end - start) // _READ_DTYPES[dtype].itemsize, offset=base + start)
        arrays[name] = _widen(raw, dtype).reshape(shape).copy()
    return Loaded(arrays, metadata)


def read_library(path: os.PathLike | str) -> Loaded:
    safe_open = importlib.import_module("safetensors").safe_open

    arrays: Dict[str, np.ndarray] = {}
    with safe_open(str(path), framework="numpy") as f:
        metadata = dict(f.metadata() or {})
        for name in f.keys():
            # np.asarray keeps a 0-d tensor 0-d (np.ascontiguousarray returns at least 1-d).
            arrays[name] = np.asarray(f.get_tensor(name), order="C")
    return Loaded(arrays, metadata)


def read(path: os.PathLike | str, use_library: Optional[bool] = None) -> Loaded:
    """Every array in the file (BF16/F16 widened to float32; BOOL as uint8)."""
    if use_library is None:
        use_library = library_available()
    # numpy has no bfloat16, so the library cannot hand BF16 tensors to numpy: the built-in reader widens them.
    if not use_library or "BF16" in _dtypes(path):
        return read_builtin(path)
    loaded = read_library(path)
    out = {k: (v.astype(np.uint8) if v.dtype == np.bool_ else v) for k, v in loaded.arrays.items()}
    return Loaded({k: (v.astype(np.float32) if v.dtype == np.float16 else v) for k, v in out.items()}, loaded.metadata)


def encode(arrays: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """The built-in writer: names sorted, header padded to 8 bytes (as harness/engine/safetensors.ts writes)."""
    names = sorted(arrays)
    header: Dict[str, object] = {"__metadata__": dict(metadata or {})}
    blobs = []
    offset = 0
    for name in names:
        a = np.asarray(arrays[name])
        a = a if a.flags.c_contiguous else a.copy()  # (ascontiguousarray would turn a 0-d array into 1-d)
        if a.dtype not in _WRITE_DTYPES:
            raise ValueError(f"tensor '{name}': dtype {a.dtype} (vpt_torch writes float32, int32, uint8)")
        blob = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _WRITE_DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text.encode("utf-8"))) % 8) % 8)
    head = text.encode("utf-8")
    return len(head).to_bytes(8, "little") + head + b"".join(blobs)


def write(path: os.PathLike | str, arrays: Mapping[str, np.ndarray], metadata: Optional[Mapping[str, str]] = None, use_library: Optional[bool] = None) -> None:
    """Writes atomically (a temporary file renamed into place)."""
    if use_library is None:
        use_library = library_available()
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    if use_library:
        save_file = importlib.import_module("safetensors.numpy").save_file

        save_file({k: np.array(v, order="C") for k, v in arrays.items()}, str(tmp), metadata=dict(metadata or {}))
    else:
        tmp.write_bytes(encode(arrays, metadata))
    os.replace(tmp, path)
