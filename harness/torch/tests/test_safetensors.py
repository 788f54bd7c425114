"""The built-in safetensors reader and writer: round trips, a file written by hand byte for byte as the format
specifies, 16-bit floats widened, and the library (when importable) reading what the built-in writes."""
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from vpt_torch import safetensors_io


def arrays() -> dict:
    g = np.random.default_rng(0)
    return {
        "w": g.standard_normal((3, 4)).astype(np.float32),
        "ids": np.arange(6, dtype=np.int32).reshape(2, 3) - 2,
        "flags": np.array([0, 1, 1, 0, 255], dtype=np.uint8),
        "scalar": np.array(2.5, dtype=np.float32),
    }


def test_round_trip_builtin(tmp_path: Path) -> None:
    a = arrays()
    safetensors_io.write(tmp_path / "x.safetensors", a, {"format": "vpt-gpt"}, use_library=False)
    back = safetensors_io.read(tmp_path / "x.safetensors", use_library=False)
    assert back.metadata == {"format": "vpt-gpt"}
    assert set(back.arrays) == set(a)
    for k, v in a.items():
        assert back.arrays[k].dtype == v.dtype and back.arrays[k].shape == v.shape
        assert np.array_equal(back.arrays[k], v)


def test_header_layout(tmp_path: Path) -> None:
    """8-byte little-endian length, a JSON header padded to 8 bytes, names sorted, offsets contiguous."""
    blob = safetensors_io.encode(arrays())
    n = struct.unpack("<Q", blob[:8])[0]
    assert (8 + n) % 8 == 0
    header = json.loads(blob[8:8 + n])
    names = [k for k in header if k != "__metadata__"]
    assert names == sorted(names)
    end = 0
    for k in names:
        start, stop = header[k]["data_offsets"]
        assert start == end
        end = stop
    assert len(blob) == 8 + n + end


def test_reads_a_hand_written_file_with_16_bit_floats(tmp_path: Path) -> None:
    values = np.array([1.0, -2.5, 0.15625, 384.0], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()  # exact: these values fit in bfloat16
    f16 = values.astype("<f2").tobytes()
    header = {"a": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}, "b": {"dtype": "F16", "shape": [2, 2], "data_offsets": [8, 16]},
              "c": {"dtype": "BOOL", "shape": [2], "data_offsets": [16, 18]}}
    text = json.dumps(header).encode()
    (tmp_path / "h.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + bf16 + f16 + bytes([1, 0]))
    got = safetensors_io.read(tmp_path / "h.safetensors", use_library=False).arrays
    assert got["a"].dtype == np.float32 and got["a"].tolist() == values.tolist()
    assert got["b"].tolist() == values.reshape(2, 2).tolist()
    assert got["c"].tolist() == [1, 0]


def test_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x01")
    with pytest.raises(ValueError, match="too short"):
        safetensors_io.read(p, use_library=False)
    p.write_bytes(struct.pack("<Q", 1000) + b"{}")
    with pytest.raises(ValueError, match="runs past the end"):
        safetensors_io.read(p, use_library=False)
    with pytest.raises(ValueError, match="dtype"):
        safetensors_io.encode({"x": np.zeros(2, dtype=np.float64)})


def test_library_reads_the_builtin_writer_and_back(tmp_path: Path) -> None:
    if not safetensors_io.library_available():
        pytest.skip("the safetensors library is not importable here (the built-in reader and writer run)")
    a = arrays()
    safetensors_io.write(tmp_path / "x.safetensors", a, use_library=False)
    lib = safetensors_io.read(tmp_path / "x.safetensors", use_library=True).arrays
    safetensors_io.write(tmp_path / "y.safetensors", a, use_library=True)
    builtin = safetensors_io.read(tmp_path / "y.safetensors", use_library=False).arrays
    for k, v in a.items():
        assert np.array_equal(lib[k], v) and np.array_equal(builtin[k], v)
