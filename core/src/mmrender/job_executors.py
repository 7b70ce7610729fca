"""Where a dataset job's chunks run: in the command's own process, or on a pool of worker processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor, wait

from .chunk_worker import ChunkResult, ChunkWorker, JobSpec
from .datasets import Chunk
from .errors import MMRenderError

__all__ = ["ABORT_GRACE_SECONDS", "InlineExecutor", "ProcessExecutor", "default_workers"]

_WORKER: ChunkWorker | None = None


def _init_worker(spec: JobSpec, prebuilt: ChunkWorker | None = None) -> None:
    """Ctrl-C reaches the whole process group: only the main process reacts, and it ends the workers.

    ``prebuilt`` is the reading process's worker, inherited by a forked process (its renderer built once).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    global _WORKER
    _WORKER = prebuilt if prebuilt is not None else ChunkWorker(spec)


def _ready() -> None:
    """A no-op task: submitting it starts every worker of a fork pool at once."""


def _run_chunk(chunk: Chunk) -> ChunkResult:
    assert _WORKER is not None
    try:
        return _WORKER.run(chunk)
    except MMRenderError as exc:  # a job-level error: its text crosses the process boundary, not its class
        return ChunkResult(chunk.index, [], [], fatal=str(exc))


class InlineExecutor:
    """Runs chunks in this process (``--workers 1``, or a dataset of one chunk): no start-up cost."""

    def __init__(self, spec: JobSpec) -> None:
        self.worker = ChunkWorker(spec)

    def submit(self, chunk: Chunk) -> Future[ChunkResult]:
        future: Future[ChunkResult] = Future()
        future.set_result(self.worker.run(chunk))
        return future

    def close(self, *, abort: bool = False) -> None:
        pass


class ProcessExecutor:
    """``workers`` processes, forked with a renderer already built where that is safe, else spawned."""

    def __init__(self, spec: JobSpec, workers: int) -> None:
        prebuilt = _forkable_worker(spec)
        #: ``"fork"`` (workers inherit a built renderer) or ``"spawn"``.
        self.start_method = "spawn" if prebuilt is None else "fork"
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_init_worker,
            initargs=(spec, prebuilt),
        )
        self.pending: set[Future[ChunkResult]] = set()
        if prebuilt is not None:  # fork now, while this process still runs one thread
            self.pool.submit(_ready).result()

    def submit(self, chunk: Chunk) -> Future[ChunkResult]:
        future = self.pool.submit(_run_chunk, chunk)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)
        return future

    def close(self, *, abort: bool = False) -> None:
        """Stop the pool; on abort, queued chunks are cancelled and running ones get a grace period.

        Why not terminate at once: a worker killed while it writes its result leaves half a message
        in the result pipe, and the pool's manager thread then waits on it forever, so the process
        never exits (seen with ``mmrender render … | head``). Only a worker still busy after the
        grace period is terminated.
        """
        if not abort:
            self.pool.shutdown(wait=True)
            return
        processes = list((getattr(self.pool, "_processes", None) or {}).values())  # 3.14 has terminate_workers()
        self.pool.shutdown(wait=False, cancel_futures=True)
        wait(list(self.pending), timeout=ABORT_GRACE_SECONDS)
        for proc in processes:
            proc.join(timeout=ABORT_GRACE_SECONDS)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)


def _forkable_worker(spec: JobSpec) -> ChunkWorker | None:
    """A worker with the job's renderer built, for forked processes to inherit, or None to spawn them.

    Why fork: a spawned process spends ~0.6 s importing and building its renderer, a fixed cost that
    a dataset of a few thousand records does not amortise; a forked one starts with this process's
    renderer. Only on Linux and only while this process runs a single thread: forking a process with
    other threads can copy a lock another thread holds (``MMRENDER_WORKER_START=spawn`` opts out).
    """
    if sys.platform != "linux" or os.environ.get("MMRENDER_WORKER_START") == "spawn":
        return None
    if threading.active_count() > 1:
        return None
    worker = ChunkWorker(spec)
    if spec.model:
        worker.renderer(spec.model)
    return worker if threading.active_count() == 1 else None


#: How long an aborted job waits for running chunks before terminating their workers.
ABORT_GRACE_SECONDS = 5.0


def default_workers() -> int:
    """All cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
