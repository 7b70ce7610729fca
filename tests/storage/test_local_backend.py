"""The ``file`` backend: idempotent atomic writes, self-healing of damaged assets, verified reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mmrender.dispatch import open_store, read_uri
from mmrender.errors import AssetIntegrityError, AssetNotFoundError, StorageError, UnsafeLocatorError
from mmrender.storage import sha256_hex
from storage_helpers import png_bytes


def test_put_get_and_locators(tmp_path: Path) -> None:
    store = open_store((tmp_path / "s").as_uri())
    data = png_bytes(1)
    asset = store.put(data, mime="image/png")
    assert asset.raw_image_id == asset.sha256 == sha256_hex(data)
    assert asset.raw_uri == (tmp_path / "s" / asset.sha256).as_uri()
    assert store.get(asset.raw_uri) == store.get(asset.sha256) == read_uri(asset.raw_uri) == data
    assert oct((tmp_path / "s" / asset.sha256).stat().st_mode & 0o777) == "0o644"


def test_second_write_does_not_rewrite(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    asset = store.put(b"once")
    path = tmp_path / "s" / asset.sha256
    before = path.stat()
    store.put(b"once")
    after = path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_a_damaged_asset_of_wrong_size_is_rewritten(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    data = png_bytes(2)
    path = tmp_path / "s" / sha256_hex(data)
    path.parent.mkdir()
    path.write_bytes(data[:10])
    with pytest.raises(AssetIntegrityError):
        store.get(path.name)
    store.put(data)
    assert store.get(path.name) == data


def test_a_damaged_asset_of_the_same_size_is_rewritten(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    data = png_bytes(3)
    path = tmp_path / "s" / store.put(data).sha256
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # flipped bits, same size
    with pytest.raises(AssetIntegrityError):
        store.get(path.name)
    store.put(data)
    assert store.get(path.name) == data


def test_a_missing_store_directory_cannot_be_listed(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        list(open_store(str(tmp_path / "nowhere")).iter_assets())


def test_missing_and_unreadable_assets(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    with pytest.raises(AssetNotFoundError):
        store.get("a" * 64)
    (tmp_path / "s" / ("b" * 64)).mkdir(parents=True)
    with pytest.raises(StorageError, match="not a regular file"):
        store.get("b" * 64)


def test_file_read_of_a_sha_named_file_is_verified(tmp_path: Path) -> None:
    path = tmp_path / ("c" * 64)
    path.write_bytes(b"not c's content")
    with pytest.raises(AssetIntegrityError):
        read_uri(path.as_uri())


def test_temporaries_are_listed_and_only_they_can_be_deleted(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    asset = store.put(b"x")
    (tmp_path / "s" / ".tmp-abc.part").write_bytes(b"partial")
    assert [name for name, _ in store.iter_temporaries()] == [".tmp-abc.part"]
    assert list(store.iter_assets()) == [asset.sha256]
    for bad in (asset.sha256, "../x.part", ".tmp-../../x.part"):
        with pytest.raises(UnsafeLocatorError):
            store.delete_temporary(bad)
    store.delete_temporary(".tmp-abc.part")
    assert os.listdir(tmp_path / "s") == [asset.sha256]


def test_file_backend_rejects_unknown_options(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"only the option 'fsync'.*endpoint_url"):
        open_store(str(tmp_path), endpoint_url="x")


def test_fsync_is_opt_in_and_writes_the_same_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd))[1])
    plain = open_store(str(tmp_path / "a")).put(b"x" * 100)
    assert calls == []
    durable = open_store(str(tmp_path / "b"), fsync=True).put(b"x" * 100)
    assert len(calls) == 1 and durable.sha256 == plain.sha256
    monkeypatch.setenv("MMRENDER_STORE_FSYNC", "1")
    open_store(str(tmp_path / "c")).put(b"y")
    assert len(calls) == 2


def test_inline_store_keeps_the_image_media_type() -> None:
    store = open_store("data:")
    data = png_bytes(3)
    assert store.put(data).raw_uri.startswith("data:image/png;base64,")
    assert store.put(data, mime="application/octet-stream").raw_uri.startswith("data:image/png;base64,")
    assert store.get(store.put(data).raw_uri) == data
