"""How dataset workers start: forked with the parent's renderer while that is safe, spawned otherwise.

Each case runs in a fresh interpreter: the test process itself may have threads left by other tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import MODELS

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")

PROBE = """
import sys, threading
from mmrender.chunk_worker import JobSpec
from mmrender.job_executors import ProcessExecutor
stop = threading.Event()
if sys.argv[2] == "thread":
    threading.Thread(target=stop.wait).start()
executor = ProcessExecutor(JobSpec(command="lengths", model=sys.argv[1]), 2)
print(executor.start_method)
executor.close()
stop.set()
"""


def start_method(*, thread: bool = False, env: dict[str, str] | None = None) -> str:
    argv = [sys.executable, "-c", PROBE, MODELS["qwen3_vl"], "thread" if thread else "alone"]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@linux_only
def test_a_single_threaded_job_forks_its_workers() -> None:
    assert start_method() == "fork"


@linux_only
def test_another_thread_running_means_spawn() -> None:
    """Forking beside a running thread could copy a lock that thread holds into the worker."""
    assert start_method(thread=True) == "spawn"


def test_the_environment_can_ask_for_spawn() -> None:
    assert start_method(env={"MMRENDER_WORKER_START": "spawn"}) == "spawn"
