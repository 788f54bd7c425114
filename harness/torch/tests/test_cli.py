"""The command line: probe, error lines and exit statuses, calibration, and process hygiene (SIGTERM, and death
with the parent through PR_SET_PDEATHSIG)."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tiny import ENGINE_ENV, PYTHON, ROOT, CellSpec, run_engine, write_cell
from vpt_torch import __main__ as cli

ENV = ENGINE_ENV


def test_probe() -> None:
    """One plain JSON line (the harness reads the first line starting with '{'), the engine as a hello describes it."""
    out = subprocess.run([PYTHON, "-m", "vpt_torch", "probe", "--device", "cpu", "--dtype", "auto", "--threads", "1"],
                         cwd=str(ROOT), env=ENV, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("{")
    p = json.loads(lines[0])
    assert p["protocol"] == 1 and p["torch"] and isinstance(p["cuda"], bool) and isinstance(p["devices"], list)
    assert "python" not in p  # the harness keeps the interpreter's path under that key
    assert set(p["libraries"]) == {"transformers", "peft", "safetensors"}
    e = p["engine"]
    assert e["device"] == "cpu" and e["dtype"] == "float32" and e["threads"] == 1
    assert e["paths"]["directional"] in ("torch.func", "forward_ad") and all(isinstance(v, str) for v in e["paths"].values())


def test_probe_without_the_device_asked_for() -> None:
    out = subprocess.run([PYTHON, "-m", "vpt_torch", "probe", "--device", "cuda"], cwd=str(ROOT), env=ENV, capture_output=True, text=True, timeout=60)
    p = json.loads(out.stdout)
    assert out.returncode == 0 and (p["cuda"] or "unavailable" in p["engine"])


def test_bad_inputs_exit_2_with_an_error_line(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec())
    doc = json.loads((folder / "inputs.json").read_text())
    del doc["train"]["logEvery"]
    (folder / "inputs.json").write_text(json.dumps(doc))
    rc, lines, _ = run_engine(["run", str(folder)])
    assert rc == 2 and lines[-1]["type"] == "error" and "train.logEvery" in lines[-1]["message"]


def test_an_internal_error_exits_1_with_its_traceback(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    def boom(*_a: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "run", boom)
    monkeypatch.setattr(cli, "exit_on_signals", lambda: None)
    assert cli.main(["run", "/nonexistent"]) == 1
    out = capsys.readouterr()
    assert '@@vpt {"type":"error","message":"RuntimeError: kaboom"}' in out.out
    assert "Traceback" in out.err and "kaboom" in out.err


def test_calibrate(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec(rule="designer", arm="v-pretraining", meta_every=3, burn_in=1, extra={"calibrate": {"cycles": 2, "warmupCycles": 1}}))
    rc, lines, err = run_engine(["calibrate", str(folder)])
    assert rc == 0, err
    assert [x["type"] for x in lines] == ["hello", "calibration"]
    cal = lines[-1]
    assert cal["cycleSteps"] == 3 and len(cal["samples"]) == 2 and all(s > 0 for s in cal["samples"])


def start(folder: Path) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "vpt_torch", "run", str(folder)], cwd=str(ROOT), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_ends_the_engine_promptly(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec(steps=4000, log_every=1000))
    proc = start(folder)
    assert proc.stdout is not None
    assert '"type":"hello"' in proc.stdout.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM
    assert '"message":"terminated by SIGTERM"' in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_dies_with_its_parent(tmp_path: Path) -> None:
    folder = write_cell(tmp_path, CellSpec(steps=4000, log_every=1000))
    parent_code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([{PYTHON!r}, '-m', 'vpt_torch', 'run', {str(folder)!r}], stdout=subprocess.PIPE)\n"
        "print(p.pid, flush=True)\n"
        "p.stdout.readline()\n"  # the hello line: the engine is up (and has asked for the signal)
        "print('up', flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([PYTHON, "-c", parent_code], cwd=str(ROOT), env=ENV, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "up"
    parent.kill()
    parent.wait()
    deadline = time.time() + 20
    while time.time() < deadline and alive(pid):
        time.sleep(0.1)
    assert not alive(pid)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False

