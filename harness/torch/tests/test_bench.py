"""`python -m vpt_torch bench <dir>`: the hello line, then one bench line with the protocol's keys; a learner time per
timed step, a meta step on every step for a designer arm (none otherwise), and flopsPerStep by hand: per token
6·N (full-parameter) or 4·N + 6·N_adapters (LoRA) over the multiplied weights, plus 12·L·T·(heads·head size)."""
import json
from pathlib import Path
from typing import Any, Dict

from hf_tiny import config, write_hf_cell
from tiny import TINY, CellSpec, run_engine, write_cell
from vpt_torch import safetensors_io

KEYS = {"type", "learnerMs", "metaMs", "tokensPerStep", "params", "trainableParams", "flopsPerStep", "peakBytes", "rssPeakBytes"}


def bench(folder: Path, steps: int = 4, warmup: int = 1, **extra: Any) -> Dict[str, Any]:
    doc = json.loads((folder / "inputs.json").read_text())
    doc.update(bench={"steps": steps, "warmup": warmup}, **extra)
    (folder / "inputs.json").write_text(json.dumps(doc))
    rc, lines, err = run_engine(["bench", str(folder)])
    assert rc == 0, err
    assert [x["type"] for x in lines] == ["hello", "bench"] and lines[0]["mode"] == "bench"
    out = lines[1]
    assert set(out) == KEYS and out["peakBytes"] > 0 and out["rssPeakBytes"] > 0
    assert len(out["learnerMs"]) == steps and all(ms > 0 for ms in out["learnerMs"])
    return out


def test_the_vpt_gpt_baseline(tmp_path: Path) -> None:
    out = bench(write_cell(tmp_path, CellSpec(steps=2)))  # two batches: the bench takes them cyclically
    V, T, L, D = TINY.vocabSize, 16, TINY.nLayer, TINY.nEmbd
    n = L * 12 * D * D + D * V
    assert out["metaMs"] == [] and out["tokensPerStep"] == 8 * T
    assert out["params"] == out["trainableParams"] == V * D + TINY.blockSize * D + L * (12 * D * D + 10 * D) + 2 * D + D * V
    assert out["flopsPerStep"] == (6 * n + 12 * L * T * D) * 8 * T


def test_a_lora_designer_arm_at_a_configs_shape(tmp_path: Path) -> None:
    """Random init from a config (no weights), two accumulated microbatches, v-pretraining: a meta step every step."""
    lora = {"r": 2, "alpha": 4, "dropout": 0.0, "targets": ["q_proj", "v_proj"]}
    folder = write_hf_cell(tmp_path, CellSpec(rule="designer", arm="v-pretraining", steps=4), "qwen3", lora)
    doc = json.loads((folder / "inputs.json").read_text())
    doc["model"] = {"kind": "hf", "init": "random", "config": config("qwen3"), "trainable": {"lora": lora}}
    doc["train"].update(batchSize=4, accum=2)
    (folder / "inputs.json").write_text(json.dumps(doc))
    arrays = safetensors_io.read(folder / "inputs.safetensors").arrays
    arrays["batches"] = arrays["batches"].reshape(-1, 4)  # each batch of 8 as two microbatches of 4
    safetensors_io.write(folder / "inputs.safetensors", arrays, use_library=False)
    out = bench(folder, steps=3)
    assert len(out["metaMs"]) == 3 and all(ms > 0 for ms in out["metaMs"])
    assert out["tokensPerStep"] == 2 * 4 * 16
    c = config("qwen3")
    D, I, H, K, dh, L, V = 16, 24, 4, 2, 8, 3, 16
    n = L * (D * H * dh + 2 * D * K * dh + H * dh * D + 3 * D * I) + V * D
    adapters = L * (2 * (D + H * dh) + 2 * (D + K * dh))
    assert out["trainableParams"] == adapters and c["num_hidden_layers"] == L
    assert out["flopsPerStep"] == (4 * n + 6 * adapters + 12 * L * 16 * H * dh) * 2 * 4 * 16
