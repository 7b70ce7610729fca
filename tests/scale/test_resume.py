"""``--resume`` after Ctrl-C and after a killed worker: finished chunks are kept, the rerun renders only the
rest, and the final output is byte-identical to an uninterrupted run (real subprocesses and signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import MODELS, mixed_corpus, mmrender, write_images, write_jsonl

ARGS = ["-m", MODELS["qwen3_vl"], "--store", "store", "--chunk-size", "8"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``data.jsonl`` and ``reference.jsonl``, its uninterrupted single-process render."""
    folder = tmp_path_factory.mktemp("resume")
    write_jsonl(folder / "data.jsonl", mixed_corpus(write_images(folder / "images"), 1200, seed=5))
    ref = mmrender("render", "data.jsonl", "-o", "reference.jsonl", "--workers", "1", "-q", *ARGS, cwd=folder)
    assert ref.returncode == 0, ref.stderr
    return folder


def start(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mmrender",
            "render",
            "data.jsonl",
            "-o",
            "out.jsonl",
            "--resume",
            "--workers",
            "2",
            *ARGS,
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_chunks(folder: Path, proc: subprocess.Popen[str], at_least: int = 3) -> Path:
    """Until the resume folder holds finished chunks: the interruption then lands mid-job."""
    resume = folder / ".out.jsonl.mmrender-resume"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if resume.is_dir() and len(list(resume.glob("0*.jsonl"))) >= at_least:
            return resume
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no chunk finished")


def workers_of(pid: int) -> list[int]:
    """The pool's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


def resume_and_compare(folder: Path, kept: int) -> None:
    rerun = mmrender("render", "data.jsonl", "-o", "out.jsonl", "--resume", "--workers", "2", *ARGS, cwd=folder)
    assert rerun.returncode == 0, rerun.stderr
    assert f"; {kept} chunk(s) kept from the interrupted run" in rerun.stderr, "finished chunks were rendered again"
    assert (folder / "out.jsonl").read_bytes() == (folder / "reference.jsonl").read_bytes()
    assert not (folder / ".out.jsonl.mmrender-resume").exists(), "the resume folder is removed once done"
    (folder / "out.jsonl").unlink()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_resume_after_ctrl_c(dataset: Path) -> None:
    proc = start(dataset)
    resume = wait_for_chunks(dataset, proc)
    workers = workers_of(proc.pid)
    assert workers, "the job runs on worker processes"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.splitlines() == ["mmrender: interrupted by SIGINT"], "workers stay quiet on Ctrl-C"
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not (dataset / "out.jsonl").exists() and not list(dataset.glob(".mmrender-*"))
    assert not list(resume.glob(".*.tmp")), "no torn chunk file"
    resume_and_compare(dataset, len(list(resume.glob("0*.jsonl"))))


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_resume_after_a_killed_worker(dataset: Path) -> None:
    proc = start(dataset)
    resume = wait_for_chunks(dataset, proc)
    os.kill(workers_of(proc.pid)[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert stderr.startswith("mmrender: error: a worker process died") and "rerun the same command" in stderr
    assert not (dataset / "out.jsonl").exists() and not list(dataset.glob(".mmrender-*"))
    resume_and_compare(dataset, len(list(resume.glob("0*.jsonl"))))
