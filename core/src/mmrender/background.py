"""Shared worker threads for work that runs with the GIL released, overlapped with the caller's.

Two users: a render's text batch is tokenized (Rust, GIL released) while the caller reads and
hashes its images, and stores that declare ``Store.background_puts`` upload on these threads
while the caller hashes the next image.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Jobs in flight at once per process; uploads wait on the network, so more than the cores.
MAX_WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def submit(fn: Callable[[], T]) -> Future[T]:
    """Run ``fn`` on the shared worker threads (started on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="mmrender-worker")
        pool = _pool
    return pool.submit(fn)


def _forget_pool_in_child() -> None:
    """A forked child inherits the executor object but none of its threads: start afresh."""
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)
