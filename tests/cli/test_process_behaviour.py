"""How ``mmrender render`` behaves as a Unix process: signals, closed pipes, the umask (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
COMMAND = [sys.executable, "-m", "mmrender", "render"]


def big_dataset(path: Path, records: int = 20000) -> Path:
    """Enough text conversations that a render runs for many seconds (and writes far more than a pipe holds)."""
    text = " ".join(f"word{i}" for i in range(60))
    line = json.dumps({"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": text}]})
    path.write_text((line + "\n") * records, encoding="utf-8")
    return path


def env_with_store(store: Path) -> dict[str, str]:
    return {**os.environ, "MMRENDER_STORE": str(store)}


def wait_for_rendered_lines(out_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 240.0) -> None:
    """Until the part file holds rendered lines: the signal then lands in the middle of the render loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        parts = list(out_dir.glob(".mmrender-*.jsonl.part"))
        if parts and parts[0].exists() and parts[0].stat().st_size > 0:
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the render never wrote a line")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_render_removes_the_part_file_and_says_so(tmp_path: Path, signum: signal.Signals) -> None:
    data, out_dir = big_dataset(tmp_path / "big.jsonl"), tmp_path / "out"
    proc = subprocess.Popen(
        [*COMMAND, str(data), "-m", MODEL, "-o", str(out_dir / "out.jsonl"), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_with_store(tmp_path / "store"),
    )
    wait_for_rendered_lines(out_dir, proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum  # the shell's convention, as for Ctrl-C before
    assert stderr.decode().splitlines() == [f"mmrender: interrupted by {signum.name}"]
    assert sorted(p.name for p in out_dir.iterdir()) == [], "neither a part file nor a partial output remains"


def test_a_reader_that_leaves_early_ends_the_render_quietly(tmp_path: Path) -> None:
    data = big_dataset(tmp_path / "big.jsonl")
    render = subprocess.Popen(
        [*COMMAND, str(data), "-m", MODEL, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_with_store(tmp_path / "store"),
    )
    head = subprocess.run(["head", "-n", "1"], stdin=render.stdout, capture_output=True, timeout=240)
    render.stdout.close()  # only head holds the read end now; it has exited
    stderr = render.stderr.read()
    render.wait(timeout=60)
    assert json.loads(head.stdout)["token_ids"]
    assert (render.returncode, stderr.decode()) == (0, "")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_output_file_mode_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    conv, out = tmp_path / "conv.json", tmp_path / "out.jsonl"
    conv.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    proc = subprocess.run(
        ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", *COMMAND, str(conv), "-m", MODEL, "-o", str(out)],
        capture_output=True,
        text=True,
        env=env_with_store(tmp_path / "store"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(mode)
