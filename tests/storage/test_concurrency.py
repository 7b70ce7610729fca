"""8 processes × 500 offloads of overlapping content into one store: every asset once, whole, verified."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mmrender.dispatch import open_store
from offload_worker import pool_image, slice_of
from storage_helpers import HERE

WORKERS = 8
PER_WORKER = 500
POOL = 1000  # each image is offloaded by exactly 4 of the 8 workers


def run_writers(url: str, env: dict[str, str]) -> list[list[list[str]]]:
    """Start all writers, release them at once, return each one's ``[sha, raw_uri, raw_image_id]`` list."""
    full_env = {**os.environ, "MMRENDER_PLUGINS": "mmrender-storage", **env}
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "offload_worker.py"), url, str(w), str(PER_WORKER), str(POOL)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        for w in range(WORKERS)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", p.stderr.read() if p.stderr else line
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def check_results(results: list[list[list[str]]], store: Any) -> set[str]:
    expected = {k: hashlib.sha256(pool_image(k)).hexdigest() for k in range(POOL)}
    for worker, rows in enumerate(results):
        assert [r[0] for r in rows] == [expected[k] for k in slice_of(worker, PER_WORKER, POOL)]
        for sha, raw_uri, raw_image_id in rows:
            assert raw_image_id == sha and raw_uri == f"{store.url}/{sha}"
    names = list(store.iter_assets())
    assert len(names) == len(set(names)) == POOL
    assert set(names) == set(expected.values())
    by_sha = {sha: k for k, sha in expected.items()}
    for sha in names:
        assert store.get(sha) == pool_image(by_sha[sha])  # whole and verified
    assert list(store.iter_temporaries()) == []
    return set(names)


def test_local_store_many_writers(tmp_path: Path) -> None:
    root = tmp_path / "shared-store"
    start = time.monotonic()
    results = run_writers(str(root), {})
    elapsed = time.monotonic() - start
    store = open_store(str(root))
    check_results(results, store)
    assert sorted(os.listdir(root)) == sorted(store.iter_assets())  # nothing but assets: no temp files
    print(f"local: {WORKERS}x{PER_WORKER} offloads in {elapsed:.1f}s")


def test_s3_store_many_writers(s3_server: Any, s3_url: str, s3_options: dict[str, Any]) -> None:
    start = time.monotonic()
    results = run_writers(s3_url, s3_server.env())
    elapsed = time.monotonic() - start
    store = open_store(s3_url, **s3_options)
    check_results(results, store)
    fs = store.fs
    fs.invalidate_cache()
    keys = fs.find(store.root)
    assert len(keys) == POOL  # nothing but assets under the prefix
    uploads = fs.call_s3("list_multipart_uploads", Bucket=s3_server.bucket, Prefix=store.root.split("/", 1)[1])
    assert not uploads.get("Uploads")
    print(f"s3: {WORKERS}x{PER_WORKER} offloads in {elapsed:.1f}s")


def test_same_bytes_from_many_threads_in_one_process(tmp_path: Path) -> None:
    """Threads share a process (and s3fs's event loop in remote stores): still one whole asset."""
    from concurrent.futures import ThreadPoolExecutor

    store = open_store(str(tmp_path / "threads"))
    data = pool_image(7)
    with ThreadPoolExecutor(16) as pool:
        assets = list(pool.map(lambda _: store.put(data), range(192)))
    assert len({a.sha256 for a in assets}) == 1
    assert list(store.iter_assets()) == [assets[0].sha256]
    assert os.listdir(store.root) == [assets[0].sha256]
