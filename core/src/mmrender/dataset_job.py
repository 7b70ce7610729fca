"""Run a dataset job (render, lengths, samples) chunk by chunk on worker processes, in input order.

Each worker process has its own renderers (never pickled: forked with them, or built there); the
reading process keeps at most a few chunks in flight, so memory stays flat however large the dataset,
and writes results in input order, so the output is byte-identical whatever the number of workers.
With ``resume`` every finished chunk is also kept in a folder beside the output, and a rerun renders
only what is missing.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs

from .datasets import CHUNK_SIZE, Chunk, RowSink, chunk_records, count_records, read_chunks
from .errors import ConversationError, MMRenderError
from .records import BadRecordError, error_row, guarded, length_record, parse_record, render_record, sample_record
from .renderer import Renderer
from .resolve import build_options, get_renderer, resolve
from .resume import ResumeState

COMMANDS = ("render", "lengths", "samples")


@attrs.frozen(kw_only=True)
class JobSpec:
    """Everything a worker needs to turn records into rows; also the ``--resume`` key (with the input)."""

    command: str = attrs.field(validator=attrs.validators.in_(COMMANDS))
    model: str | None = None
    store: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    add_generation_prompt: bool = False
    max_length: int | None = None
    base: str | None = None
    skip_errors: bool = False


@attrs.frozen
class ChunkResult:
    """One chunk's rows (JSON text lines), error rows, counts, and the failure that stopped it, if any."""

    index: int
    lines: list[str]
    errors: list[str]
    records: int = 0
    tokens: int = 0
    images: int = 0
    failure: BadRecordError | None = None
    fatal: str | None = None


@attrs.define
class JobSummary:
    conversations: int = 0
    tokens: int = 0
    images: int = 0
    skipped: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    output: str = "-"
    store: str = ""
    errors: str | None = None


def _dumps(row: Mapping[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def _images(row: Mapping[str, Any]) -> int:
    mm = row.get("multi_modal_data") or {}
    return sum(len(v) for v in (mm.get("mm_hashes") or {}).values())


class ChunkWorker:
    """Turns chunks into rows with one renderer per model, built on first use in this process."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.renderers: dict[str, Renderer] = {}
        self.base = Path(spec.base) if spec.base else None

    def renderer(self, name: str) -> Renderer:
        renderer = self.renderers.get(name)
        if renderer is None:
            store = "data:" if self.spec.command == "lengths" else self.spec.store  # lengths store nothing
            renderer = self.renderers[name] = get_renderer(name, store=store, **dict(self.spec.options))
        return renderer

    def row(self, index: int, label: str, raw: Any, text: str | None) -> dict[str, Any]:
        if text is not None:
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadRecordError(label, f"not valid JSON: {exc}", index, None, type(exc).__name__) from exc
        record = parse_record(raw, index, label=label, from_arrow=text is None and not isinstance(raw, list))
        name = record.model or self.spec.model
        if not name:
            raise ConversationError(f"{label}: no model given (pass --model or put 'model' in the record)")
        renderer, spec = self.renderer(name), self.spec
        if spec.command == "lengths":
            return length_record(renderer, record, add_generation_prompt=spec.add_generation_prompt, base=self.base)
        if spec.command == "samples":
            return sample_record(renderer, record, max_length=spec.max_length, base=self.base)
        return render_record(renderer, record, add_generation_prompt=spec.add_generation_prompt, base=self.base)

    def run(self, chunk: Chunk) -> ChunkResult:
        """Rows of every record; the first bad one ends the chunk unless ``skip_errors``."""
        result = ChunkResult(chunk.index, [], [])
        records = tokens = images = 0
        for index, label, raw, text in chunk_records(chunk):
            record_id = raw.get("id") if isinstance(raw, Mapping) else _id_of(text)
            try:
                row = guarded(index, label, record_id, lambda: self.row(index, label, raw, text))  # noqa: B023
            except BadRecordError as exc:
                if not self.spec.skip_errors:
                    return attrs.evolve(result, records=records, tokens=tokens, images=images, failure=exc)
                result.errors.append(_dumps(error_row(exc)))
                continue
            records += 1
            tokens += int(row["num_tokens"]) if "num_tokens" in row else len(row.get("token_ids", ()))
            images += _images(row)
            result.lines.append(_dumps(row))
        return attrs.evolve(result, records=records, tokens=tokens, images=images)


def _id_of(text: str | None) -> Any:
    """A bad line's ``id`` for its error row, when the line at least parses."""
    try:
        value = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return None
    return value.get("id") if isinstance(value, Mapping) else None


# -- worker processes ----------------------------------------------------------------------------
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
