"""A deliberately broken storage backend, ``tornfile:///dir``: its ``put`` writes the final file in place.

Everything else keeps the store contract (sha256 names, verified reads, typed errors naming the
store, listing, stat, delete), so the conformance kit must fail it on atomicity alone: a reader
can see the first half of an asset while it is being written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrender import hookimpl
from mmrender.errors import AssetNotFoundError, UnsafeLocatorError
from mmrender.storage import (
    SHA256_RE,
    AssetStat,
    StorageBackend,
    Store,
    StoredAsset,
    check_asset_name,
    sha256_hex,
    verify,
)

SCHEME = "tornfile"
#: The pause between the two halves of a write: the window in which readers see a torn asset.
PAUSE = 0.05


class TornStore(Store):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = f"{SCHEME}://{self.root.as_posix()}"

    def put(self, data: bytes, *, mime: str | None = None, sha256: str | None = None) -> StoredAsset:
        sha = check_asset_name(sha256 or sha256_hex(data))
        self.root.mkdir(parents=True, exist_ok=True)
        half = len(data) // 2
        with open(self.root / sha, "wb") as f:  # the bug: no temp file + rename
            f.write(data[:half])
            f.flush()
            time.sleep(PAUSE)
            f.write(data[half:])
        return StoredAsset(sha256=sha, raw_uri=f"{self.url}/{sha}", raw_image_id=sha)

    def _name(self, locator: str) -> str:
        if SHA256_RE.fullmatch(locator):
            return locator
        parent, _, name = locator.rpartition("/")
        if parent != self.url:
            raise UnsafeLocatorError(f"{locator[:80]} is not a location in store {self.url}")
        return check_asset_name(name)

    def get(self, locator: str) -> bytes:
        sha = self._name(locator)
        return verify(self.read_unverified(sha), sha, f"asset {self.url}/{sha}")

    def read_unverified(self, sha256: str) -> bytes:
        try:
            return (self.root / check_asset_name(sha256)).read_bytes()
        except FileNotFoundError as exc:
            raise AssetNotFoundError(f"asset {sha256} is not in store {self.url}") from exc

    def iter_assets(self) -> Iterator[str]:
        if self.root.is_dir():
            yield from sorted(n for n in os.listdir(self.root) if SHA256_RE.fullmatch(n))

    def stat(self, sha256: str) -> AssetStat:
        try:
            info = (self.root / check_asset_name(sha256)).stat()
        except FileNotFoundError as exc:
            raise AssetNotFoundError(f"asset {sha256} is not in store {self.url}") from exc
        return AssetStat(size=info.st_size, mtime=info.st_mtime)

    def delete(self, sha256: str) -> None:
        (self.root / check_asset_name(sha256)).unlink(missing_ok=True)


class TornBackend(StorageBackend):
    schemes = (SCHEME,)

    def open_store(self, url: str, **options: Any) -> Store:
        return TornStore(Path(url.split("://", 1)[1]))

    def read(self, uri: str, **options: Any) -> bytes:
        root, _, name = uri.rpartition("/")
        return TornBackend().open_store(root).get(name)


@hookimpl
def register_storage_backends(register: Any) -> None:
    register(TornBackend())
