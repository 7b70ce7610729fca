"""Ray Data integration fixtures: one local Ray cluster for the whole session (startup costs seconds)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODEL = "Qwen/Qwen3-VL-8B-Instruct"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A 2-CPU local Ray cluster, started once (workers inherit this process's environment) and shut down."""
    import ray
    import ray.data

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """A Ray pipeline that cannot schedule (actors holding every CPU) waits forever: fail after 5 minutes."""
    import signal

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("Ray Data test still running after 300 s (a pipeline that cannot schedule?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(300)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
