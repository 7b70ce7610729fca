"""Store checks under concurrency: writers of the same bytes in threads and in processes, readers watching.

A store's ``put`` must be whole-or-nothing: a reader sees no asset or all of it, never a prefix, even
while several writers store the same content. Readers poll ``get`` during the writes; any read that
is neither AssetNotFoundError nor the whole bytes fails the check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import background
from ..errors import AssetNotFoundError
from ..storage import sha256_hex
from .images import noise_png
from .registry import NotApplicable, store_check
from .store_context import StoreContext

#: Side of the large noise PNG written concurrently (about 0.8 MB: long enough for a reader to see a torn write).
BIG_SIDE = 512
WRITER_THREADS = 8
READER_THREADS = 2
WRITER_PROCESSES = 2
PROCESS_TIMEOUT = 180


def poll_whole(store: Any, locator: str, data: bytes, stop: threading.Event, anomalies: list[str]) -> None:
    """Read ``locator`` until ``stop``; note in ``anomalies`` every read that is neither "not found" nor ``data``
    whole (a reader thread's loop while writers store ``data``)."""
    while not stop.is_set():
        try:
            got = store.get(locator)
        except AssetNotFoundError:
            stop.wait(0.001)
            continue
        except Exception as exc:
            anomalies.append(f"{type(exc).__name__}: {exc}")
            continue
        if got != data:
            anomalies.append(f"read {len(got)} bytes, not the {len(data)} being stored")


def _temporaries(ctx: StoreContext) -> set[str]:
    return {name for name, _ in ctx.store.iter_temporaries()}


@store_check
def check_put_atomic_threads(ctx: StoreContext) -> None:
    """Threads putting the same bytes get one asset, and readers meanwhile see it whole or not at all."""
    data = noise_png(BIG_SIDE, BIG_SIDE)
    sha = sha256_hex(data)
    locator = next(iter(ctx.locators_for(sha).values()), None)
    before = _temporaries(ctx)
    barrier = threading.Barrier(WRITER_THREADS)
    stop, anomalies = threading.Event(), []

    def write(_: int) -> Any:
        barrier.wait()
        return ctx.put(data)

    readers = [
        threading.Thread(target=poll_whole, args=(ctx.store, locator, data, stop, anomalies), daemon=True)
        for _ in range(READER_THREADS if locator else 0)
    ]
    for reader in readers:
        reader.start()
    try:
        with ThreadPoolExecutor(WRITER_THREADS) as pool:
            assets = list(pool.map(write, range(WRITER_THREADS)))
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not anomalies, (
        f"a reader saw a partial or corrupt asset while threads put it (put is not atomic): {anomalies[0]}"
    )
    assert len(set(assets)) == 1, f"threads putting the same bytes got {len(set(assets))} different StoredAssets"
    for field, loc in ctx.locators(assets[0]).items():
        assert ctx.store.get(loc) == data, f"get({field}) after the concurrent puts returned other bytes"
    left = _temporaries(ctx) - before
    assert not left, f"the concurrent puts left temporaries behind: {sorted(left)[:3]}"


def _spawn(config: dict[str, Any]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmrender.testing.store_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(config) + "\n")
    proc.stdin.flush()
    return proc


def _ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        _, err = proc.communicate(timeout=PROCESS_TIMEOUT)
        raise AssertionError(f"a store worker process did not start: {line.strip()} {err.strip()[-2000:]}")


def _tell(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(f"a store worker process failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _blobs(ctx: StoreContext) -> list[bytes]:
    blobs = [noise_png(BIG_SIDE, BIG_SIDE)] + [noise_png(16, 16) for _ in range(3)]
    for k, blob in enumerate(blobs):
        (ctx.tmp / f"blob-{k}.png").write_bytes(blob)
        ctx.written.add(sha256_hex(blob))
    return blobs


@store_check
def check_put_atomic_processes(ctx: StoreContext) -> str:
    """Processes putting the same bytes by the store URL agree on every asset, and a reader process never sees a part."""
    if not ctx.reopenable:
        raise NotApplicable("the store was given as an object: other processes cannot open it by URL")
    try:
        options = json.loads(json.dumps(ctx.options))
    except (TypeError, ValueError) as exc:
        raise NotApplicable(f"the store options cannot be sent to another process as JSON: {exc}") from exc
    blobs = _blobs(ctx)
    paths = [str(ctx.tmp / f"blob-{k}.png") for k in range(len(blobs))]
    locators = [next(iter(ctx.locators_for(sha256_hex(b)).values()), None) for b in blobs]
    base = {"url": ctx.url, "options": options, "blobs": paths, "locators": locators}
    n = len(blobs)
    writers = [
        _spawn({**base, "role": "writer", "order": [(w + k) % n for k in range(n)]}) for w in range(WRITER_PROCESSES)
    ]
    readers = [_spawn({**base, "role": "reader"})] if any(locators) else []
    procs = writers + readers
    try:
        for proc in procs:
            _ready(proc)
        for proc in procs:
            _tell(proc, "go")
        results = [_result(proc) for proc in writers]
        for proc in readers:
            _tell(proc, "stop")
        seen = [_result(proc) for proc in readers]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    errors = [e for r in results for e in r["errors"]]
    assert not errors, f"a writer process failed: {errors[0]}"
    anomalies = [a for r in seen for a in r["anomalies"]]
    assert not anomalies, f"a reader process saw a partial or corrupt asset (put is not atomic): {anomalies[0]}"
    for k, blob in enumerate(blobs):
        views = {tuple(r["assets"][k]) for r in results}
        assert len(views) == 1, f"blob {k}: writer processes got different StoredAssets {sorted(views)[:2]}"
        assert next(iter(views))[0] == sha256_hex(blob), f"blob {k}: a writer process got another sha256"
    return _shared_view(ctx, blobs, [r for r in results[0]["assets"]])


def _shared_view(ctx: StoreContext, blobs: list[bytes], assets: list[list[Any]]) -> str:
    """What this process sees of the other processes' writes: all of it whole, or (a process-local store) none."""
    visible = []
    for blob, (_, raw_uri, _) in zip(blobs, assets, strict=True):
        try:
            got = ctx.store.get(raw_uri)
        except AssetNotFoundError:
            continue
        assert got == blob, "an asset written by another process reads back with other bytes"
        visible.append(blob)
    if not visible:
        return "the store is process-local: other processes' assets are not visible here"
    assert len(visible) == len(blobs), (
        f"only {len(visible)} of the {len(blobs)} assets other processes wrote are visible"
    )
    return f"{WRITER_PROCESSES} writer processes and {len(blobs)} assets agree"


@store_check
def check_background_puts(ctx: StoreContext) -> str:
    """Puts of distinct assets on the renderers' worker threads, while the caller reads, all land whole."""
    flag = ctx.store.background_puts
    assert isinstance(flag, bool), f"Store.background_puts is {flag!r}, not a bool"
    blobs = [noise_png(16, 16) for _ in range(12)]
    futures = [background.submit(lambda b=blob: ctx.put(b)) for blob in blobs]
    for future, blob in zip(futures, blobs, strict=True):  # the caller reads each back as soon as it lands
        asset = future.result()
        assert asset.sha256 == sha256_hex(blob), "a put on a worker thread returned another sha256"
        assert ctx.store.get(asset.raw_uri) == blob, "an asset put on a worker thread reads back with other bytes"
    return f"background_puts={flag}"
