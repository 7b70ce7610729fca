"""``Store.put_file`` (how videos are stored): the asset ``put`` of the bytes gives, written whole and once,
damaged copies rewritten, and on the local store never the whole file in memory; local and S3 (SeaweedFS)."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fsspec
import pytest
from mmrender.dispatch import open_store
from mmrender.errors import AssetIntegrityError, StorageError
from mmrender.storage import Store, sha256_hex
from mmrender.testing.store_concurrency_checks import poll_whole
from mmrender_storage.remote import RemoteStore


def _file(tmp_path: Path, size: int, seed: int = 0) -> tuple[Path, bytes]:
    data = (seed.to_bytes(4, "big") + os.urandom(16)) * (size // 20)
    path = tmp_path / f"source-{seed}.bin"
    path.write_bytes(data)
    return path, data


@pytest.fixture(params=["local", "s3"])
def store_and_damage(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, Callable[[str, bytes], None]]:
    """A local or S3 store, and how to overwrite one of its assets behind its back."""
    if request.param == "local":
        root = tmp_path / "store"
        root.mkdir()
        return open_store(str(root)), lambda sha, data: (root / sha).write_bytes(data)
    s3_url, options = request.getfixturevalue("s3_url"), request.getfixturevalue("s3_options")
    store = open_store(s3_url, **options)
    assert isinstance(store, RemoteStore)
    return store, lambda sha, data: store.fs.pipe_file(f"{store.root}/{sha}", data)


def test_put_file_gives_the_asset_put_gives(store_and_damage: Any, tmp_path: Path) -> None:
    store, _ = store_and_damage
    path, data = _file(tmp_path, 300_000)
    asset = store.put_file(path, mime="video/mp4")
    assert asset.sha256 == asset.raw_image_id == sha256_hex(data)
    assert store.get(asset.raw_uri) == store.get(asset.sha256) == data
    assert store.put_file(path, mime="video/mp4", sha256=asset.sha256) == asset
    assert store.put(data) == asset
    other, other_data = _file(tmp_path, 1000, seed=1)
    first = store.put(other_data)
    assert store.put_file(other) == first and store.get(first.raw_uri) == other_data


@pytest.mark.parametrize("damage", ["short", "same size"])
def test_put_file_rewrites_a_damaged_asset(store_and_damage: Any, tmp_path: Path, damage: str) -> None:
    store, overwrite = store_and_damage
    path, data = _file(tmp_path, 200_000)
    sha = sha256_hex(data)
    overwrite(sha, data[:1000] if damage == "short" else data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(AssetIntegrityError):
        store.get(sha)
    assert store.put_file(path).sha256 == sha
    assert store.get(sha) == data


def test_concurrent_put_files_land_whole_once(store_and_damage: Any, tmp_path: Path) -> None:
    """Writers of the same file get one asset; readers meanwhile see it whole or not at all; no temporaries."""
    store, _ = store_and_damage
    path, data = _file(tmp_path, 4_000_000)
    sha = sha256_hex(data)
    stop, anomalies = threading.Event(), []
    readers = [
        threading.Thread(target=poll_whole, args=(store, sha, data, stop, anomalies), daemon=True) for _ in range(2)
    ]
    for reader in readers:
        reader.start()
    try:
        with ThreadPoolExecutor(6) as pool:
            assets = list(pool.map(lambda _: store.put_file(path, sha256=sha), range(6)))
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not anomalies, anomalies[:3]
    assert len(set(assets)) == 1 and store.get(sha) == data
    assert list(store.iter_temporaries()) == []


def test_local_put_file_writes_once_and_never_holds_the_file(tmp_path: Path) -> None:
    """A 32 MB file is hashed, compared and copied in chunks: Python's allocations peak far below its size."""
    store = open_store(str(tmp_path / "store"))
    path, data = _file(tmp_path, 32 * 2**20)
    sha = sha256_hex(data)
    del data
    tracemalloc.start()
    try:
        asset = store.put_file(path)  # hashed, then copied
        target = tmp_path / "store" / sha
        before = target.stat()
        assert store.put_file(path, sha256=sha) == asset  # compared, not rewritten
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    after = target.stat()
    assert asset.sha256 == sha and (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert oct(after.st_mode & 0o777) == "0o644" and after.st_size == path.stat().st_size
    assert peak < 8 * 2**20, f"put_file allocated up to {peak / 2**20:.1f} MB for a 32 MB file"
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [sha]


def test_s3_put_file_uploads_once_with_its_media_type(s3_url: str, s3_options: dict[str, Any], tmp_path: Path) -> None:
    store = open_store(s3_url, **s3_options)
    assert isinstance(store, RemoteStore)
    calls: list[str] = []
    store.fs.connect()
    store.fs.s3.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: calls.append("put"))
    path, data = _file(tmp_path, 100_000)
    asset = store.put_file(path, mime="video/mp4")
    for _ in range(2):
        assert store.put_file(path, mime="video/mp4") == asset
    assert store.put(data) == asset
    assert calls == ["put"]
    store.fs.invalidate_cache()
    assert store.fs.info(f"{store.root}/{asset.sha256}")["ContentType"] == "video/mp4"


def test_put_file_of_a_missing_file_names_it(store_and_damage: Any, tmp_path: Path) -> None:
    store, _ = store_and_damage
    with pytest.raises(StorageError, match=r"nope\.mp4"):
        store.put_file(tmp_path / "nope.mp4")


def test_non_atomic_protocols_put_files_via_temp_and_move(tmp_path: Path) -> None:
    store = RemoteStore(fsspec.filesystem("file"), str(tmp_path / "remote-root"))
    assert not store.atomic
    moves: list[tuple[str, str]] = []
    original_mv = store.fs.mv
    store.fs.mv = lambda a, b, **kw: (moves.append((a, b)), original_mv(a, b, **kw))[1]  # observe only
    path, data = _file(tmp_path, 5000)
    asset = store.put_file(path)
    assert len(moves) == 1 and Path(moves[0][0]).name.startswith(".tmp-") and moves[0][1].endswith(asset.sha256)
    assert store.get(asset.sha256) == data and list(store.iter_temporaries()) == []
