"""Run a dataset job (render, lengths, samples) chunk by chunk on worker processes, in input order.

Each worker process has its own renderers (never pickled: forked with them, or built there); the
reading process keeps at most a few chunks in flight, so memory stays flat however large the dataset,
and writes results in input order, so the output is byte-identical whatever the number of workers.
With ``resume`` every finished chunk is also kept in a folder beside the output, and a rerun renders
only what is missing.
"""

from __future__ import annotations

import itertools
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import attrs

from .chunk_worker import COMMANDS, ChunkResult, ChunkWorker, JobSpec
from .datasets import CHUNK_SIZE, Chunk, RowSink, count_records, read_chunks
from .errors import MMRenderError
from .job_executors import InlineExecutor, ProcessExecutor, default_workers
from .resolve import build_options, resolve
from .resume import ResumeState

__all__ = [
    "COMMANDS",
    "ChunkResult",
    "ChunkWorker",
    "InlineExecutor",
    "JobSpec",
    "JobSummary",
    "ProcessExecutor",
    "default_workers",
    "run_job",
]


@attrs.define
class JobSummary:
    conversations: int = 0
    tokens: int = 0
    images: int = 0
    videos: int = 0
    skipped: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    output: str = "-"
    store: str = ""
    errors: str | None = None


def _peeked(chunks: Iterator[Chunk]) -> tuple[list[Chunk], Iterator[Chunk]]:
    first = [c for _, c in zip(range(2), chunks, strict=False)]
    return first, chunks


def _checked(result: ChunkResult) -> ChunkResult:
    if result.fatal is not None:
        raise MMRenderError(result.fatal)
    if result.failure is not None:
        raise result.failure
    return result


def _progress_bar(input_path: str, enabled: bool) -> Any:
    from tqdm import tqdm

    show = enabled and sys.stderr.isatty()
    total = count_records(input_path) if show else None
    return tqdm(total=total, unit="rec", file=sys.stderr, disable=not show, dynamic_ncols=True)


def run_job(
    input_path: str,
    spec: JobSpec,
    *,
    output: str = "-",
    errors: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> JobSummary:
    """Run ``spec`` over the dataset; the output (and errors file) appear only when every chunk is done."""
    started = time.monotonic()
    workers = workers or default_workers()
    _check_model(spec)
    summary = JobSummary(output=output, store=spec.store or "", errors=errors)
    state = ResumeState.open(output, input_path, spec, chunk_size) if resume else None
    sink, error_sink = RowSink(output), None
    executor: InlineExecutor | ProcessExecutor | None = None
    try:
        error_sink = RowSink(errors, error_rows=True) if errors else None
        first, rest = _peeked(read_chunks(input_path, chunk_size))
        todo = [c for c in first if state is None or not state.done(c.index)]
        inline = workers <= 1 or (len(first) < 2 and len(todo) <= 1)
        executor = InlineExecutor(spec) if inline else ProcessExecutor(spec, workers)
        with _progress_bar(input_path, progress) as bar, DeferredSignals() as signals:
            chunks = itertools.chain(first, rest)
            for result in _ordered(executor, chunks, state, in_flight=2 * workers + 2, signals=signals):
                result = _checked(result)
                sink.write_lines(result.lines)
                if error_sink is not None:
                    error_sink.write_lines(result.errors)
                summary.conversations += result.records
                summary.tokens += result.tokens
                summary.images += result.images
                summary.videos += result.videos
                summary.skipped += len(result.errors)
                bar.update(result.records + len(result.errors))
                elapsed = max(time.monotonic() - started, 1e-9)
                bar.set_postfix_str(f"{summary.images / elapsed:.1f} img/s", refresh=False)
        executor.close()
        sink.commit()
        if error_sink is not None:
            error_sink.commit()
        if state is not None:
            summary.resumed_chunks = state.reused
            state.remove()
    except BrokenProcessPool as exc:
        _abort(executor, sink, error_sink)
        hint = "; rerun the same command to continue" if state is not None else ""
        raise MMRenderError(f"a worker process died ({exc}){hint}") from exc
    except BaseException:
        _abort(executor, sink, error_sink)
        raise
    summary.seconds = time.monotonic() - started
    return summary


def _check_model(spec: JobSpec) -> None:
    """A mistyped ``--model`` or ``--option`` fails the job up front, not every record into ``--errors``."""
    if spec.model:
        family, _ = resolve(spec.model)
        build_options(family, dict(spec.options))


def _abort(executor: InlineExecutor | ProcessExecutor | None, sink: RowSink, error_sink: RowSink | None) -> None:
    if executor is not None:
        executor.close(abort=True)
    sink.discard()
    if error_sink is not None:
        error_sink.discard()


class DeferredSignals:
    """SIGINT/SIGTERM noted while the job runs and re-raised at a safe point by :meth:`check`.

    Why: an interrupt raised inside ``concurrent.futures`` (or half-way through writing a chunk file)
    can leave a lock held or a file torn; raised between steps, the job unwinds cleanly, through the
    handler that was installed before (Ctrl-C's ``KeyboardInterrupt``, the CLI's SIGTERM handler).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.pending: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> DeferredSignals:
        try:
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._note)
        except ValueError:  # not the main thread: signals stay as they are
            self.previous = {}
        return self

    def _note(self, signum: int, _frame: Any) -> None:
        if self.pending is not None:  # a second Ctrl-C does not wait for the safe point
            self.restore()
            signal.raise_signal(signum)
            return
        self.pending = signum

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def check(self) -> None:
        """Deliver a noted signal now, to the handler it would have reached."""
        if self.pending is not None:
            signum, self.pending = self.pending, None
            self.restore()
            signal.raise_signal(signum)

    def __exit__(self, *exc: object) -> None:
        self.restore()


def _ordered(
    executor: InlineExecutor | ProcessExecutor,
    chunks: Any,
    state: ResumeState | None,
    in_flight: int,
    signals: DeferredSignals,
) -> Iterator[ChunkResult]:
    """Results in input order, at most ``in_flight`` chunks rendering or waiting their turn.

    With a resume state, a chunk is saved the moment it finishes (not when its turn comes), so an
    interruption loses only chunks still rendering; saved chunks are read back instead of rendered.
    """
    pending: dict[Future[ChunkResult], int] = {}
    ready: dict[int, ChunkResult] = {}
    next_index = 0

    def collect(block: bool) -> None:
        done: set[Future[ChunkResult]] = set()
        while pending and not done:
            signals.check()
            done, _ = wait(list(pending), timeout=0.1 if block else 0, return_when=FIRST_COMPLETED)
            if not block:
                break
        for future in done:
            index = pending.pop(future)
            result = future.result()
            if state is not None and result.failure is None and result.fatal is None:
                state.save(result)
            ready[index] = result
        signals.check()

    def flush() -> Iterator[ChunkResult]:
        nonlocal next_index
        while next_index in ready:
            yield ready.pop(next_index)
            next_index += 1

    for chunk in chunks:
        if state is not None and state.done(chunk.index):
            ready[chunk.index] = state.load(chunk.index)
        else:
            while len(pending) + len(ready) >= in_flight:
                collect(block=True)
                yield from flush()
            pending[executor.submit(chunk)] = chunk.index
        collect(block=False)
        yield from flush()
    while pending:
        collect(block=True)
        yield from flush()
    yield from flush()
